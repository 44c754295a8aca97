/**
 * `mcpgw logs` through the compiled binary against a running `mcpgw serve` (issue 9 item 1): a failed and a
 * succeeded call, --json --errors, the table, --follow until SIGINT, the `audit` alias and bad input.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { BACKEND_PATH, waitFor } from '../helpers/clients.ts';
import { baseEnv, BINARY, firstLine, runBinary } from '../helpers/cli.ts';
import { freePort } from '../helpers/everything.ts';

type Json = Record<string, unknown>;
let dir = '';
let configPath = '';
let port = 0;
let serve: ReturnType<typeof Bun.spawn>;
let sid = '';
let seq = 0;

async function rpc(method: string, params: Json): Promise<Json> {
  const res = await fetch(`http://127.0.0.1:${port}/mcp`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-session-id': sid },
    body: JSON.stringify({ jsonrpc: '2.0', id: ++seq, method, params }),
  });
  return (await res.json()) as Json;
}

const logs = (...args: string[]) => runBinary(['logs', ...args, '--config', configPath]);

/** Runs `mcpgw logs` until its output satisfies `ok` (the gateway writes the audit log in 250 ms batches). */
async function logsUntil(args: string[], ok: (stdout: string) => boolean) {
  for (let i = 0; i < 40; i++) {
    const r = await logs(...args);
    if (ok(r.stdout)) return r;
    await Bun.sleep(100);
  }
  throw new Error(`mcpgw logs ${args.join(' ')} never showed what was expected`);
}

beforeAll(async () => {
  port = freePort();
  dir = mkdtempSync(join(tmpdir(), 'mcpgw-logs-'));
  configPath = join(dir, 'gateway.yaml');
  const config = {
    listen: `127.0.0.1:${port}`,
    data_dir: join(dir, 'state'),
    auth: { mode: 'none' },
    backends: { alpha: { command: process.execPath, args: [BACKEND_PATH, '--name', 'alpha'] } },
  };
  writeFileSync(configPath, stringify(config));
  serve = Bun.spawn([BINARY, 'serve', '--config', configPath], { env: baseEnv(), stdout: 'ignore', stderr: 'ignore' });
  await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/health`).catch(() => undefined))?.ok, { timeoutMs: 15_000, what: 'gateway up' });
  const init = await fetch(`http://127.0.0.1:${port}/mcp`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'logs-test', version: '1' } } }),
  });
  sid = init.headers.get('mcp-session-id') ?? '';
  await init.text();
  await waitFor(async () => JSON.stringify(await rpc('tools/list', {})).includes('alpha_echo'), { timeoutMs: 15_000, what: 'backend up' });
  expect(JSON.stringify(await rpc('tools/call', { name: 'alpha_echo', arguments: { text: 'fine' } }))).toContain('fine');
  const bad = await rpc('tools/call', { name: 'alpha_remove_tool', arguments: { name: 'ghost' } });
  expect((bad.result as Json).isError).toBe(true);
}, 60_000);

afterAll(async () => {
  if (serve && serve.exitCode === null) serve.kill('SIGTERM');
  await serve?.exited;
  rmSync(dir, { recursive: true, force: true });
});

describe('mcpgw logs (issue 9 item 1)', () => {
  test('--json --errors prints the failed call only, one stable JSON object per line', async () => {
    const r = await logsUntil(['--json', '--errors'], (out) => out.includes('alpha_remove_tool'));
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Json);
    expect(lines.every((l) => l.outcome === 'error')).toBe(true);
    const call = lines.find((l) => l.kind === 'call')!;
    expect(Object.keys(call)).toEqual(['id', 'time', 'kind', 'event', 'outcome', 'grant_id', 'client_id', 'client_name', 'backend', 'tool', 'duration_ms', 'error', 'ip', 'detail']);
    expect(call).toMatchObject({ kind: 'call', event: 'tools/call', outcome: 'error', backend: 'alpha', tool: 'alpha_remove_tool', error: 'tool ghost does not exist' });
    expect(lines.some((l) => l.tool === 'alpha_echo')).toBe(false);
  });

  test('the table shows both calls with ✓ ok / ✗ error; filters by tool and backend; the audit alias works', async () => {
    const r = await logsUntil(['--backend', 'alpha'], (out) => out.includes('alpha_remove_tool') && out.includes('alpha_echo'));
    const [header, ...rows] = r.stdout.trim().split('\n');
    expect(header).toMatch(/^TIME\s+KIND\s+EVENT\s+OUTCOME\s+CLIENT\s+BACKEND\s+DURATION\s+DETAIL$/);
    expect(rows.find((l) => l.includes('alpha_echo'))).toContain('✓ ok');
    expect(rows.find((l) => l.includes('alpha_remove_tool'))).toMatch(/✗ error .*tool ghost does not exist/);
    expect(rows.some((l) => /\bbackend\s+up\b/.test(l))).toBe(true);
    const alias = await runBinary(['audit', '--tool', 'alpha_echo', '--json', '--config', configPath]);
    expect(alias.code).toBe(0);
    expect(alias.stdout.trim().split('\n').map((l) => (JSON.parse(l) as Json).tool)).toEqual(['alpha_echo']);
    const none = await logs('--client', 'nobody');
    expect([none.code, none.stdout, firstLine(none.stderr)]).toEqual([0, '', 'no matching events in the audit log']);
  });

  test('--since takes a duration or an ISO time; anything else is a usage error (exit 2)', async () => {
    expect((await logs('--since', '1h', '--json')).stdout).toContain('alpha_echo');
    expect((await logs('--since', '2999-01-01T00:00:00Z', '--json')).stdout).toBe('');
    const bad = await logs('--since', 'yesterday');
    expect(bad.code).toBe(2);
    expect(firstLine(bad.stderr)).toBe("error: --since must be a duration like 1h or 7d, or an ISO time like 2026-01-31T12:00:00Z; got 'yesterday'");
  });

  test('issue 9 item 6: mcpgw status (no terminal) shows the calls with their error and the backend history from the audit log', async () => {
    const r = await runBinary(['status', '--config', configPath]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('↳ tool ghost does not exist');
    expect(r.stdout).toMatch(/Backend history\nTIME\s+BACKEND\s+STATE\s+REASON\n\S+\s+alpha\s+✓ up/);
    expect(r.stdout).toContain('Sign-in attempts\nno sign-in attempts recorded');
  });

  test('--follow prints new events as they happen and ends on SIGINT with exit 0', async () => {
    const proc = Bun.spawn([BINARY, 'logs', '--follow', '--json', '--errors', '--limit', '1', '--interval', '100', '--config', configPath], { env: baseEnv(), stdout: 'pipe', stderr: 'pipe' });
    const killer = setTimeout(() => proc.kill('SIGKILL'), 20_000);
    try {
      const reader = proc.stdout.getReader();
      let out = '';
      const readUntil = async (needle: string) => {
        while (!out.includes(needle)) {
          const { value, done } = await reader.read();
          if (done) throw new Error(`logs --follow ended early: ${out}`);
          out += new TextDecoder().decode(value);
        }
      };
      await readUntil('ghost');
      await rpc('tools/call', { name: 'alpha_remove_tool', arguments: { name: 'phantom' } });
      await rpc('tools/call', { name: 'alpha_echo', arguments: { text: 'not an error' } });
      await readUntil('phantom');
      proc.kill('SIGINT');
      expect(await proc.exited).toBe(0);
      const lines = out.trim().split('\n').map((l) => JSON.parse(l) as Json);
      expect(lines.map((l) => l.error)).toEqual(['tool ghost does not exist', 'tool phantom does not exist']);
    } finally {
      clearTimeout(killer);
    }
  });
});
