/** `mcpgw --help/--version` and `mcpgw serve` config handling, through the compiled binary. */
import { describe, expect, test } from 'bun:test';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pkg from '../../package.json' with { type: 'json' };
import { BACKEND_PATH, connectV2, readEvents, spawnBackend } from '../helpers/clients.ts';
import { BINARY, ROOT, baseConfig, startGatewayProcess } from '../helpers/gateway-process.ts';
import { adminRequest } from '../../src/http/admin.ts';

function run(args: string[], opts: { env?: Record<string, string>; cwd?: string } = {}) {
  const p = Bun.spawnSync([BINARY, ...args], { cwd: opts.cwd ?? ROOT, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root', NO_COLOR: '1', ...opts.env }, stdout: 'pipe', stderr: 'pipe' });
  return { code: p.exitCode, stdout: p.stdout.toString(), stderr: p.stderr.toString() };
}

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'mcpgw-cli-'));
}

describe('mcpgw binary', () => {
  test('--help, serve --help and --version work', () => {
    const help = run(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: mcpgw');
    expect(help.stdout).toContain('serve');
    const serveHelp = run(['serve', '--help']);
    expect(serveHelp.code).toBe(0);
    expect(serveHelp.stdout).toContain('--config <file>');
    expect(serveHelp.stdout).toContain('Examples:');
    const version = run(['--version']);
    expect(version.code).toBe(0);
    expect(version.stdout.trim()).toBe(pkg.version);
  });

  test('an unknown command is a usage error: exit 2', () => {
    const r = run(['frobnicate']);
    expect(r.code).toBe(2);
    expect(r.stderr.split('\n')[0]).toContain("unknown command 'frobnicate'");
  });

  test('no config anywhere: says where it looked and how to start, exit 2', () => {
    const dir = tempDir();
    const r = run(['serve'], { cwd: dir, env: { HOME: dir, XDG_CONFIG_HOME: join(dir, 'cfg') } });
    expect(r.code).toBe(2);
    const [first, second] = r.stderr.split('\n');
    expect(first).toStartWith('error: no config file found; looked in ');
    expect(first).toContain(join(dir, 'gateway.yaml'));
    expect(first).toContain(join(dir, 'cfg/mcpgw/gateway.yaml'));
    expect(first).toContain('/etc/mcpgw/gateway.yaml');
    expect(second).toStartWith('hint: ');
    rmSync(dir, { recursive: true, force: true });
  });

  test('an invalid config reports every problem with path and line:col, exit 2', () => {
    const dir = tempDir();
    const file = join(dir, 'gateway.yaml');
    writeFileSync(
      file,
      ['listen: 127.0.0.1:0', 'auth:', '  mode: none', 'backends:', '  erp:', '    url: ftp://erp.lan/mcp', '    tols: {}', '  files:', '    command: npx', '    timeout: soon', ''].join('\n'),
    );
    const r = run(['serve', '--config', file]);
    expect(r.code).toBe(2);
    const lines = r.stderr.split('\n');
    expect(lines[0]).toBe(`error: invalid config ${file}: 3 problems`);
    expect(r.stderr).toContain('backends.erp.url: must be an http(s) URL (gateway.yaml:6:10)');
    expect(r.stderr).toContain('backends.erp.tols: unknown key (gateway.yaml:7:5)');
    expect(r.stderr).toContain('backends.files.timeout: must be a duration like 30s, 5m, 1h or 30d (gateway.yaml:10:14)');
    expect(r.stderr).not.toContain('    at ');
    rmSync(dir, { recursive: true, force: true });
  });

  test('auth.mode none on a non-loopback listen is refused, exit 2', () => {
    const dir = tempDir();
    const file = join(dir, 'gateway.yaml');
    writeFileSync(file, 'listen: 0.0.0.0:4444\npublic_url: https://gw.example.com\nauth:\n  mode: none\n');
    const r = run(['serve', '--config', file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('auth.mode: none is only allowed when listen is a loopback address (gateway.yaml:4:9)');
    rmSync(dir, { recursive: true, force: true });
  });

  test('$MCPGW_CONFIG is used; ${VAR} in headers reaches the backend; data_dir is created 0700', async () => {
    const dir = tempDir();
    await using beta = await spawnBackend({ http: true, name: 'beta', events: join(dir, 'events.jsonl') });
    const config = baseConfig(dir, { beta: { url: beta.url, headers: { 'X-Test': '${BETA_TOKEN}' } } });
    writeFileSync(join(dir, 'env.yaml'), (await import('yaml')).stringify(config));
    const proc = Bun.spawn([BINARY, 'serve'], { cwd: dir, env: { ...process.env, MCPGW_CONFIG: join(dir, 'env.yaml'), BETA_TOKEN: 'from-env' }, stdout: 'pipe', stderr: 'pipe' });
    try {
      let out = '';
      const reader = proc.stdout.getReader();
      const deadline = Date.now() + 15_000;
      while (!out.includes('"backend up"') && Date.now() < deadline) {
        const { value, done } = await reader.read();
        if (done) break;
        out += new TextDecoder().decode(value);
      }
      expect(out).toContain(`"config":"${join(dir, 'env.yaml')}"`);
      const url = JSON.parse(out.split('\n').find((l) => l.includes('"listening"'))!).mcp as string;
      await using c = await connectV2(url);
      await c.client.callTool({ name: 'beta_echo', arguments: { text: 'x' } });
      const http = (await readEvents(join(dir, 'events.jsonl'))).filter((e) => e.event === 'http') as { headers: Record<string, string> }[];
      expect(http.some((e) => e.headers['x-test'] === 'from-env')).toBe(true);
      expect(statSync(join(dir, 'state')).mode & 0o777).toBe(0o700);
    } finally {
      proc.kill('SIGTERM');
      await proc.exited;
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);

  test('serve runs with its runtime tuning, in the very process that was started, with its arguments (cmd/tuning.ts)', async () => {
    const environ = (pid: number) => new Map(readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
    await using gw = await startGatewayProcess((dir) => baseConfig(dir, { alpha: { command: process.execPath, args: [BACKEND_PATH, '--name', 'alpha'] } }));
    expect(environ(gw.pid).get('MIMALLOC_PURGE_DELAY')).toBe('1000');
    expect(environ(gw.pid).get('BUN_JSC_useFTLJIT')).toBe('0');
    // A stdio backend starts with the minimal environment: the gateway's own tuning is not passed on.
    const up = await gw.waitForLog((l) => l.msg === 'backend up');
    expect(up.backend).toBe('alpha');
    const child = Number(readFileSync(`/proc/${gw.pid}/task/${gw.pid}/children`, 'utf8').trim().split(/\s+/)[0]);
    expect(environ(child).get('PATH')).toBeDefined();
    expect(environ(child).has('MIMALLOC_PURGE_DELAY')).toBe(false);
    expect(environ(child).has('BUN_JSC_useFTLJIT')).toBe(false);
    expect(readFileSync(`/proc/${gw.pid}/cmdline`, 'utf8').split('\0').slice(1, 4)).toEqual(['serve', '--config', gw.configPath]);
    expect((await fetch(`${gw.url}/health`)).status).toBe(200);
    await using own = await startGatewayProcess((dir) => baseConfig(dir, {}), { env: { MIMALLOC_PURGE_DELAY: '50', BUN_JSC_useFTLJIT: '1' } });
    expect(environ(own.pid).get('MIMALLOC_PURGE_DELAY')).toBe('50');
    expect(environ(own.pid).get('BUN_JSC_useFTLJIT')).toBe('1');
  });

  test('serve logs JSON lines when stdout is not a TTY, one per event, without secrets', async () => {
    await using gw = await startGatewayProcess((d) => baseConfig(d, {}));
    const line = await gw.waitForLog((l) => l.msg === 'listening');
    expect(line).toMatchObject({ level: 'info', auth: 'none' });
    expect(typeof line.time).toBe('string');
    const res = await fetch(`${gw.url}/status`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ sessions: 0, backends: [], calls_per_minute: 0, recent_calls: [] });
  });

  test('the admin socket is in data_dir, mode 0600, and answers status and reload', async () => {
    await using gw = await startGatewayProcess((d) => baseConfig(d, {}));
    const sock = join(gw.dir, 'state', 'mcpgw.sock');
    expect(statSync(sock).mode & 0o777).toBe(0o600);
    expect(await adminRequest(join(gw.dir, 'state'), '/status')).toMatchObject({ version: pkg.version, backends: [] });
    expect(await adminRequest(join(gw.dir, 'state'), '/reload', 'POST')).toEqual({ reloaded: true });
    expect(await adminRequest(join(gw.dir, 'nowhere'), '/status')).toBeUndefined();
  });
});
