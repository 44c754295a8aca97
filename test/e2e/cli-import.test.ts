/**
 * `mcpgw backends import FILE` through the compiled binary (issue 9 item 7): each client's config shape
 * (Claude Desktop, Claude Code .mcp.json, Cursor and VS Code mcp.json) becomes backends in gateway.yaml with
 * its comments kept; confirmation, --only, --dry-run/--json and the exit codes.
 */
import { afterEach, describe, expect, test } from 'bun:test';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';
import { BINARY, runBinary } from '../helpers/cli.ts';
import { BACKEND_PATH, waitFor } from '../helpers/clients.ts';
import { freePort } from '../helpers/everything.ts';
import { parseConfigText } from '../../src/config/load.ts';

const FIXTURES = resolve(import.meta.dir, '../fixtures/import');
const dirs: string[] = [];

const HAND_WRITTEN = [
  '# my homelab gateway',
  'listen: 127.0.0.1:0   # any port',
  'DATA_DIR_LINE',
  '',
  'backends:',
  '  # the one I wrote myself',
  '  everything:',
  '    command: node   # from npm',
  '    args: ["server.js"]',
  '',
  '# trailing comment stays',
  '',
].join('\n');

function world(): { config: string; before: string; run(...args: string[]): ReturnType<typeof runBinary>; yaml(): Record<string, Record<string, unknown>> } {
  const dir = mkdtempSync(join(tmpdir(), 'mcpgw-import-'));
  dirs.push(dir);
  const config = join(dir, 'gateway.yaml');
  const before = HAND_WRITTEN.replace('DATA_DIR_LINE', `data_dir: ${join(dir, 'state')}`);
  writeFileSync(config, before, { mode: 0o600 });
  return {
    config,
    before,
    run: (...args) => runBinary(['backends', 'import', ...args, '--config', config], { env: { SENTRY_TOKEN: 's3', NOTION_KEY: 'n0' } }),
    yaml: () => (parse(readFileSync(config, 'utf8')) as { backends: Record<string, Record<string, unknown>> }).backends,
  };
}

/** Every line of the original, comments included, is still there in order. */
function expectKept(before: string, after: string): void {
  let at = 0;
  for (const line of before.split('\n').filter((l) => l.trim())) {
    const i = after.indexOf(line, at);
    expect(i, `line kept: ${line}`).toBeGreaterThanOrEqual(0);
    at = i + line.length;
  }
}

afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('backends import (issue 9 item 7)', () => {
  test('Claude Desktop config: stdio servers added with env, comments kept, an existing name skipped, a literal token warned about', async () => {
    const w = world();
    const r = await w.run(join(FIXTURES, 'claude_desktop_config.json'), '--yes');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/add\s+filesystem\s/);
    expect(r.stdout).toMatch(/skip\s+everything\s.*exists already/);
    const after = readFileSync(w.config, 'utf8');
    expectKept(w.before, after);
    const b = w.yaml();
    expect(b.filesystem).toEqual({ command: 'npx', args: ['-y', '@modelcontextprotocol/server-filesystem', '/Users/me/Desktop'] });
    expect(b.github).toEqual({ command: 'npx', args: ['-y', '@modelcontextprotocol/server-github'], env: { GITHUB_PERSONAL_ACCESS_TOKEN: 'ghp_example0123456789', LOG_LEVEL: 'info' } });
    expect(b.everything).toEqual({ command: 'node', args: ['server.js'] });
    expect(r.stderr).toContain('warning: github: env.GITHUB_PERSONAL_ACCESS_TOKEN are now stored in');
    expect(r.stderr).not.toContain('LOG_LEVEL');
    expect(statSync(w.config).mode & 0o777).toBe(0o600);
    expect(r.stderr).toContain('the gateway is not running here');
    expect(parseConfigText(after, w.config, { HOME: '/tmp' }).ok).toBe(true);
  });

  test('without a terminal and without --yes: exit 2 and the config is unchanged', async () => {
    const w = world();
    const r = await w.run(join(FIXTURES, 'claude_desktop_config.json'));
    expect(r.code).toBe(2);
    expect(r.stderr.split('\n').find((l) => l.startsWith('error:'))).toContain('refusing to add 2 backend(s) without confirmation');
    expect(readFileSync(w.config, 'utf8')).toBe(w.before);
  });

  test('Claude Code .mcp.json: http and sse URLs with headers, ${VAR} kept as a reference, ${VAR:-default} resolved, --only', async () => {
    const w = world();
    const r = await w.run(join(FIXTURES, 'claude-code/.mcp.json'), '--only', 'sentry,db', '--yes');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/skip\s+linear\s.*not in --only/);
    const b = w.yaml();
    expect(b.sentry).toEqual({ url: 'https://mcp.sentry.dev/mcp', transport: 'streamable-http', headers: { Authorization: 'Bearer ${SENTRY_TOKEN}' } });
    expect(b.db).toEqual({ command: 'uvx', args: ['mcp-server-postgres', 'postgres://localhost/dev'], env: { PGPASSWORD: 'hunter2' } });
    expect(b.linear).toBeUndefined();
    // the header is a reference, so only the literal password is warned about
    expect(r.stderr).toContain('warning: db: env.PGPASSWORD');
    expect(r.stderr).not.toContain('warning: sentry');
    expectKept(w.before, readFileSync(w.config, 'utf8'));

    const again = await w.run(join(FIXTURES, 'claude-code/.mcp.json'), '--yes');
    expect(again.code).toBe(0);
    expect(w.yaml().linear).toEqual({ url: 'https://mcp.linear.app/sse', transport: 'sse' });
    expect(again.stdout).toMatch(/skip\s+sentry\s.*exists already/);
  });

  test('Cursor mcp.json: a URL without type is auto, ${env:VAR} becomes ${VAR}, ${workspaceFolder} the project, names sanitized', async () => {
    const w = world();
    const r = await w.run(join(FIXTURES, 'cursor/.cursor/mcp.json'), '--yes');
    expect(r.code).toBe(0);
    const b = w.yaml();
    expect(b.notion).toEqual({ url: 'https://mcp.notion.com/mcp', headers: { 'X-Api-Key': '${NOTION_KEY}' } });
    expect(b['local-tools']).toEqual({ command: 'python', args: [`${join(FIXTURES, 'cursor')}/tools/server.py`], env: { API_KEY: 'sk-live-abc' } });
    expect(r.stdout).toMatch(/add\s+local-tools\s+local tools\s/);
  });

  test('VS Code mcp.json (servers, JSONC): ${input:…} servers skipped with the reason; --dry-run --json shows the plan and changes nothing', async () => {
    const w = world();
    const r = await w.run(join(FIXTURES, 'vscode/.vscode/mcp.json'), '--dry-run', '--json');
    expect(r.code).toBe(0);
    const plan = JSON.parse(r.stdout) as { shape: string; backends: { name: string; source_name: string; action: string; reason: string | null; transport: string }[] };
    expect(plan.shape).toBe('servers');
    expect(plan.backends.map((x) => [x.name, x.action, x.transport])).toEqual([
      ['Perplexity', 'skip', 'stdio'],
      ['my-server-v2', 'add', 'streamable-http'],
      ['fetch', 'add', 'stdio'],
    ]);
    expect(plan.backends[0].reason).toContain('${input:perplexity-key}');
    expect(readFileSync(w.config, 'utf8')).toBe(w.before);

    const done = await w.run(join(FIXTURES, 'vscode/.vscode/mcp.json'), '--yes');
    expect(done.code).toBe(0);
    expect(w.yaml()['my-server-v2']).toEqual({ url: 'http://127.0.0.1:8931/mcp', transport: 'streamable-http' });
    expect(w.yaml().fetch).toEqual({ command: 'uvx', args: ['mcp-server-fetch', '--cwd', join(FIXTURES, 'vscode')] });
  });

  test('a file that is not an MCP client config, or an --only name it lacks -> exit 2, nothing changed', async () => {
    const w = world();
    const bad = join(dirs[0], 'settings.json');
    writeFileSync(bad, '{"editor.fontSize": 14}');
    const r = await w.run(bad, '--yes');
    expect(r.code).toBe(2);
    expect(r.stderr.split('\n')[0]).toContain('has no "mcpServers" or "servers" object');
    const missing = await w.run(join(FIXTURES, 'claude-code/.mcp.json'), '--only', 'nope', '--yes');
    expect(missing.code).toBe(2);
    expect(missing.stderr.split('\n')[0]).toContain('--only names servers that');
    expect(readFileSync(w.config, 'utf8')).toBe(w.before);
  });

  test('a running gateway reloads and serves the imported backend at once', async () => {
    const w = world();
    const port = freePort();
    writeFileSync(w.config, w.before.replace('listen: 127.0.0.1:0', `listen: 127.0.0.1:${port}`).replace('backends:', 'auth:\n  mode: none\nbackends:'));
    const source = join(dirs[0], 'claude_desktop_config.json');
    writeFileSync(source, JSON.stringify({ mcpServers: { alpha: { command: process.execPath, args: [BACKEND_PATH, '--name', 'alpha'] } } }));
    const proc = Bun.spawn([BINARY, 'serve', '--config', w.config], { stdout: 'ignore', stderr: 'ignore' });
    try {
      await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/health`).catch(() => undefined))?.ok, { timeoutMs: 15_000, what: 'gateway up' });
      const r = await w.run(source, '--yes');
      expect(r.code).toBe(0);
      expect(r.stderr).toContain('the running gateway reloaded its config');
      const list = async () => {
        const res = await fetch(`http://127.0.0.1:${port}/mcp`, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2025-11-25' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }) });
        return ((await res.json()) as { result: { tools: { name: string }[] } }).result.tools.map((t) => t.name);
      };
      await waitFor(async () => (await list()).includes('alpha_echo'), { timeoutMs: 15_000, what: 'alpha_echo listed' });
    } finally {
      proc.kill('SIGTERM');
      await proc.exited;
    }
  }, 60_000);
});
