/**
 * Operator commands through the compiled binary against a running gateway (issue 4): backends
 * add/list/show/test/remove with comment-preserving edits and live pickup, tokens create/list/revoke,
 * status; confirmations and --json shapes.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BACKEND_PATH, connectV2, waitFor, type Connection } from '../helpers/clients.ts';
import { BINARY, runBinary } from '../helpers/cli.ts';
import { EVERYTHING, freePort } from '../helpers/everything.ts';
import type { Client } from '@modelcontextprotocol/client';
import { authorizeUrl, authParams, pkce, registerPublicClient } from '../helpers/oauth-client.ts';
import type { OAuthWorld } from '../helpers/oauth-world.ts';

let gw: { dir: string; configPath: string; proc?: ReturnType<typeof Bun.spawn>; stop(): Promise<void> };
let port: number;
let handWritten = '';
let token = '';
let client: Connection<Client>;
const cli = (...args: string[]) => {
  // --config goes before `--`, after which everything is the backend's command line
  const i = args.indexOf('--');
  return runBinary(i < 0 ? [...args, '--config', gw.configPath] : [...args.slice(0, i), '--config', gw.configPath, ...args.slice(i)]);
};

beforeAll(async () => {
  port = freePort();
  const dir = mkdtempSync(join(tmpdir(), 'mcpgw-ops-'));
  handWritten = [
    '# my homelab gateway',
    `listen: 127.0.0.1:${port}   # fixed port: tokens name this URL`,
    `data_dir: ${join(dir, 'state')}`,
    'auth:',
    '  mode: oauth  # connectors sign in',
    '',
    'backends:',
    '  # the reference server',
    '  everything:',
    '    command: node   # from npm',
    `    args: ["${EVERYTHING}", "stdio"]`,
    '',
    '# trailing comment stays',
    '',
  ].join('\n');
  const configPath = join(dir, 'gateway.yaml');
  writeFileSync(configPath, handWritten);
  const proc = Bun.spawn([BINARY, 'serve', '--config', configPath], { stdout: 'ignore', stderr: 'ignore' });
  gw = {
    dir,
    configPath,
    proc,
    stop: async () => {
      if (proc.exitCode === null) proc.kill('SIGTERM');
      await proc.exited;
    },
  };
  await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/health`).catch(() => undefined))?.ok, { timeoutMs: 15_000, what: 'gateway up' });
}, 60_000);

afterAll(async () => {
  await client?.close();
  await gw?.stop();
  rmSync(gw.dir, { recursive: true, force: true });
}, 60_000);

describe('operator CLI against a running gateway', () => {
  test('setup: serve the hand-written config and create a personal token', async () => {
    const created = await cli('tokens', 'create', '--name', 'e2e', '--json');
    expect(created.code).toBe(0);
    token = (JSON.parse(created.stdout) as { token: string }).token;
    expect(token).toStartWith('mcpgw_pat_');
    expect(created.stderr.split('\n')[0]).toContain("created personal token 'e2e'");
    client = await connectV2(`http://127.0.0.1:${port}/mcp`, { headers: { authorization: `Bearer ${token}` } });
    await waitFor(async () => (await client.client.listTools()).tools.some((t) => t.name === 'everything_echo'), { timeoutMs: 15_000 });
  }, 60_000);

  test('backends add: checks the connection, keeps every other byte, and the running gateway picks it up', async () => {
    const r = await cli('backends', 'add', 'alpha', '--', process.execPath, BACKEND_PATH, '--name', 'alpha');
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('connected over stdio: 17 tools');
    expect(r.stderr).toContain("added backend 'alpha'");
    const after = readFileSync(gw.configPath, 'utf8');
    const trailer = '\n# trailing comment stays\n';
    expect(after.startsWith(handWritten.slice(0, handWritten.indexOf(trailer)))).toBe(true);
    expect(after.endsWith(trailer) || after.includes(trailer)).toBe(true);
    expect(after).toContain('  alpha:');
    await waitFor(() => client.notifications.some((n) => n.method === 'notifications/tools/list_changed'), { timeoutMs: 10_000, what: 'list_changed' });
    await waitFor(async () => (await client.client.listTools()).tools.some((t) => t.name === 'alpha_echo'), { timeoutMs: 10_000 });
  }, 30_000);

  test('backends add refuses an existing name without --replace (exit 1) and a bad URL (exit 2, nothing written)', async () => {
    const before = readFileSync(gw.configPath, 'utf8');
    const dup = await cli('backends', 'add', 'alpha', 'http://127.0.0.1:1/mcp');
    expect(dup.code).toBe(1);
    expect(dup.stderr.split('\n')[0]).toBe("error: a backend named 'alpha' exists already");
    const bad = await cli('backends', 'add', 'broken', 'ftp://nowhere', '--no-check');
    expect(bad.code).toBe(2);
    expect(readFileSync(gw.configPath, 'utf8')).toBe(before);
  });

  test('backends list --json is live from the gateway; show and test report tools and timings', async () => {
    const list = await cli('backends', 'list', '--json');
    expect(list.code).toBe(0);
    const body = JSON.parse(list.stdout) as { source: string; backends: { name: string; state: string; tools: number; transport: string }[] };
    expect(body.source).toBe('gateway');
    expect(body.backends.find((b) => b.name === 'alpha')).toMatchObject({ state: 'up', transport: 'stdio', tools: 17, protocol_version: '2026-07-28' });
    const table = await cli('backends', 'list');
    expect(table.stdout.split('\n')[0]).toMatch(/^NAME\s+TRANSPORT\s+STATE/);
    expect(table.stdout).toContain('✓ up');
    const show = JSON.parse((await cli('backends', 'show', 'alpha', '--json')).stdout) as { tools: { exposed: string; original: string }[]; protocol_version: string };
    // issue 10 item 1: the revision spoken with the backend
    expect(show.protocol_version).toBe('2026-07-28');
    expect(show.tools).toContainEqual(expect.objectContaining({ exposed: 'alpha_admin_tools_list', original: 'admin.tools.list' }));
    const t = await cli('backends', 'test', 'everything', '--json');
    expect(t.code).toBe(0);
    expect(JSON.parse(t.stdout)).toMatchObject({ name: 'everything', ok: true, transport: 'stdio' });
  }, 30_000);

  test('status --json is one snapshot; without a TTY it prints the text view', async () => {
    const j = await cli('status', '--json');
    expect(j.code).toBe(0);
    const snap = JSON.parse(j.stdout) as { version: string; sessions: number; backends: { name: string }[]; recent_calls: unknown[]; calls_per_minute: number };
    expect(snap.backends.map((b) => b.name).sort()).toEqual(['alpha', 'everything']);
    expect(typeof snap.calls_per_minute).toBe('number');
    const text = await cli('status');
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('alpha');
    expect(text.stdout).toContain('q quit');
  });

  test('backends remove: no TTY and no --yes -> exit 2, nothing changed; --yes removes it and clients get list_changed', async () => {
    const before = readFileSync(gw.configPath, 'utf8');
    const refused = await cli('backends', 'remove', 'alpha');
    expect(refused.code).toBe(2);
    expect(refused.stderr.split('\n')[0]).toBe("error: refusing to remove 'alpha' without confirmation");
    expect(readFileSync(gw.configPath, 'utf8')).toBe(before);
    const seen = client.notifications.length;
    const r = await cli('backends', 'remove', 'alpha', '--yes');
    expect(r.code).toBe(0);
    expect(readFileSync(gw.configPath, 'utf8')).toBe(handWritten);
    await waitFor(() => client.notifications.slice(seen).some((n) => n.method === 'notifications/tools/list_changed'), { timeoutMs: 10_000 });
    await waitFor(async () => !(await client.client.listTools()).tools.some((t) => t.name.startsWith('alpha_')), { timeoutMs: 10_000 });
  }, 30_000);

  test('tokens list --json shows the personal token; revoke needs --yes without a TTY; revoked -> 401 within a second', async () => {
    const list = JSON.parse((await cli('tokens', 'list', '--json')).stdout) as { grants: { id: string; registered: string; client_name: string; backends: null; status: string }[] };
    const mine = list.grants.find((g) => g.client_name === 'e2e')!;
    expect(mine).toMatchObject({ registered: 'personal', backends: null, status: 'active' });
    expect(Object.keys(mine).sort()).toEqual(['backends', 'client_id', 'client_name', 'created', 'expires', 'id', 'last_used', 'registered', 'status'].sort());
    const refused = await cli('tokens', 'revoke', mine.id);
    expect(refused.code).toBe(2);
    const r = await cli('tokens', 'revoke', mine.id, '--yes');
    expect(r.code).toBe(0);
    const started = Date.now();
    await waitFor(
      async () => (await fetch(`http://127.0.0.1:${port}/mcp`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: '{"jsonrpc":"2.0","id":1,"method":"ping"}' })).status === 401,
      { timeoutMs: 1000, intervalMs: 50, what: '401 after tokens revoke' },
    );
    expect(Date.now() - started).toBeLessThan(1000);
    const again = await cli('tokens', 'revoke', mine.id, '--yes');
    expect(again.code).toBe(1);
  });

  test('passwd sets the consent password on the running gateway without a restart', async () => {
    const w = { url: `http://127.0.0.1:${port}`, resource: `http://127.0.0.1:${port}/mcp` } as unknown as OAuthWorld;
    const clientId = await registerPublicClient(w);
    const url = authorizeUrl(w, authParams(w, clientId, pkce().challenge));
    expect(await (await fetch(url)).text()).toContain('must run <code>mcpgw passwd</code>');
    const r = await runBinary(['passwd', '--config', gw.configPath], { stdin: 'a new secret password\n' });
    expect(r.code).toBe(0);
    expect(r.stderr.split('\n')[0]).toContain('password set');
    // Confirmed through the admin socket (issue 8: CLI writes say whether the running gateway sees them).
    expect(r.stderr).toContain('✓ the running gateway uses the new password now');
    expect(readFileSync(gw.configPath, 'utf8')).toMatch(/\n  password_hash: "?\$argon2id\$/);
    await waitFor(async () => (await (await fetch(url)).text()).includes('name="password"'), { timeoutMs: 5000, what: 'consent page asks for the password' });
  });

  test('commands that need the gateway say so when it is not running', async () => {
    await gw.stop();
    const s = await cli('status');
    expect(s.code).toBe(1);
    expect(s.stderr.split('\n')[0]).toStartWith('error: the gateway is not running');
    expect(s.stderr.split('\n')[1]).toStartWith('hint: mcpgw serve');
    const list = JSON.parse((await cli('backends', 'list', '--json')).stdout) as { source: string; backends: { state: string }[] };
    expect(list.source).toBe('config');
    expect(list.backends.every((b) => b.state === 'unknown')).toBe(true);
  });
});
