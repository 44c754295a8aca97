/**
 * Issue 8 finding 2 through the compiled binary: a backend's `${VAR}` secret resolves only where the backend starts
 * (serve, backends test); every other command works in a shell without it, and serve starts the other backends.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { BACKEND_PATH } from '../helpers/clients.ts';
import { ensureBinary, firstLine, runBinary } from '../helpers/cli.ts';
import { baseConfig, startGatewayProcess } from '../helpers/gateway-process.ts';

const backends = {
  erp: { url: 'http://127.0.0.1:9/mcp', headers: { Authorization: 'Bearer ${ERP_TOKEN}' } },
  alpha: { command: process.execPath, args: [BACKEND_PATH, '--name', 'alpha'] },
};

let dir: string;
let configPath: string;
const cli = (...args: string[]) => runBinary([...args, '--config', configPath]);

beforeAll(() => {
  ensureBinary();
  dir = mkdtempSync(join(tmpdir(), 'mcpgw-secrets-'));
  configPath = join(dir, 'gateway.yaml');
  writeFileSync(configPath, stringify({ listen: '127.0.0.1:0', data_dir: join(dir, 'state'), backends }), { mode: 0o600 });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('issue 8 finding 2: secrets resolve only where they are used', () => {
  test('tokens create, tokens list and backends list work without ERP_TOKEN set', async () => {
    const created = await cli('tokens', 'create', '--name', 'phone', '--json');
    expect({ code: created.code, err: firstLine(created.stderr) }).toMatchObject({ code: 0 });
    const listed = await cli('tokens', 'list', '--json');
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain('phone');
    const b = await cli('backends', 'list', '--json');
    expect(b.code).toBe(0);
    expect(b.stdout).toContain('erp');
    // The template is shown, never a resolved secret.
    expect(b.stdout).not.toContain('environment variable');
    // status reads the config too: it reports the gateway as not running, not an invalid config.
    const st = await cli('status', '--json');
    expect({ code: st.code, first: firstLine(st.stderr) }).toEqual({ code: 1, first: `error: the gateway is not running (no answer on ${join(dir, 'state')}/mcpgw.sock)` });
  }, 30_000);

  test('backends test names the missing variable and the backend', async () => {
    const r = await cli('backends', 'test', 'erp');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('backends.erp.headers.Authorization: environment variable ERP_TOKEN is not set');
  }, 30_000);

  test('serve logs the missing variable with the backend name and still starts the other backends', async () => {
    const env = { ...process.env };
    delete env.ERP_TOKEN;
    await using gw = await startGatewayProcess((d) => baseConfig(d, backends), { env: env as Record<string, string> });
    const unresolved = await gw.waitForLog((l) => l.msg === 'backend config unresolved');
    expect(unresolved).toMatchObject({ level: 'error', backend: 'erp', error: 'backends.erp.headers.Authorization: environment variable ERP_TOKEN is not set' });
    await gw.waitForLog((l) => l.msg === 'backend up' && l.backend === 'alpha');
    expect(await (await fetch(`${gw.url}/health`)).json()).toEqual({ status: 'degraded', backends: { up: 1, down: 1 } });
    const live = await runBinary(['backends', 'list', '--json', '--config', gw.configPath]);
    const rows = (JSON.parse(live.stdout) as { backends: { name: string; state: string; last_error: string | null }[] }).backends;
    expect(rows.find((b) => b.name === 'erp')).toMatchObject({ state: 'down', last_error: 'backends.erp.headers.Authorization: environment variable ERP_TOKEN is not set' });
    expect(rows.find((b) => b.name === 'alpha')).toMatchObject({ state: 'up' });
  }, 30_000);
});

describe('issue 8 finding 8: personal tokens', () => {
  test('tokens create defaults to a 90-day lifetime; --ttl never is explicit', async () => {
    const before = Date.now();
    const r = await cli('tokens', 'create', '--name', 'default-ttl', '--json');
    expect(r.code).toBe(0);
    const expires = Date.parse((JSON.parse(r.stdout) as { expires: string }).expires);
    expect(Math.abs(expires - (before + 90 * 86_400_000))).toBeLessThan(60_000);
    const never = await cli('tokens', 'create', '--name', 'forever', '--ttl', 'never', '--json');
    expect(never.code).toBe(0);
    expect((JSON.parse(never.stdout) as { expires: unknown }).expires).toBeNull();
    const help = await runBinary(['tokens', 'create', '--help']);
    expect(help.stdout).toContain("or 'never' (default: 90d)");
  }, 30_000);
});
