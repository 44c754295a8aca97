/**
 * `mcpgw doctor` through the compiled binary (issue 9 item 3): a healthy setup passes every check with exit 0; each
 * broken part (backend, password, data_dir, no gateway, config, clock) fails its own check with the fixing command.
 */
import { describe, expect, test } from 'bun:test';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { DoctorCheck } from '../../cmd/doctor-checks.ts';
import { BACKEND_PATH, backendArgs } from '../helpers/clients.ts';
import { BINARY, baseEnv, ensureBinary, runBinary } from '../helpers/cli.ts';
import { freePort } from '../helpers/everything.ts';
import { baseConfig, startGatewayProcess } from '../helpers/gateway-process.ts';
import { passwordHash } from '../helpers/oauth-world.ts';

ensureBinary();

const backend = (name: string) => ({ command: process.execPath, args: [BACKEND_PATH, ...backendArgs({ name })], timeout: '5s' });
const broken = { command: process.execPath, args: ['-e', 'console.error("no API key"); process.exit(3)'], connect_timeout: '5s' };

function tempDir() {
  const dir = mkdtempSync(join(tmpdir(), 'mcpgw-doctor-'));
  return { dir, [Symbol.dispose]: () => rmSync(dir, { recursive: true, force: true }) };
}

async function doctor(configPath: string, ...extra: string[]): Promise<{ code: number; checks: DoctorCheck[]; stderr: string }> {
  const r = await runBinary(['doctor', '--config', configPath, '--json', '--timeout', '5s', ...extra], { timeoutMs: 20_000 });
  return { code: r.code, checks: (JSON.parse(r.stdout) as { checks: DoctorCheck[] }).checks, stderr: r.stderr };
}

const byId = (checks: DoctorCheck[], id: string) => {
  const c = checks.find((x) => x.id === id);
  if (!c) throw new Error(`no check ${id} in ${JSON.stringify(checks.map((x) => x.id))}`);
  return c;
};

/** A gateway with OAuth on a fixed loopback port, so public_url (derived from listen) is where it really listens. */
async function oauthGateway(backends: Record<string, unknown>, auth: Record<string, unknown>) {
  const port = freePort();
  return startGatewayProcess((d) => ({ ...baseConfig(d, backends), listen: `127.0.0.1:${port}`, auth }));
}

describe('issue 9 item 3: mcpgw doctor', () => {
  test('a healthy setup: every check ✓, exit 0, the stable JSON shape', async () => {
    await using gw = await oauthGateway({ alpha: backend('alpha') }, { mode: 'oauth', password_hash: await passwordHash() });
    const r = await doctor(gw.configPath, '--time-url', gw.url);
    expect(r.checks.map((c) => c.id)).toEqual(['config', 'data_dir', 'database', 'gateway', 'password', 'backend:alpha', 'public_url', 'clock']);
    for (const c of r.checks) {
      expect(Object.keys(c).sort()).toEqual(['detail', 'hint', 'id', 'ok', 'title']);
      expect({ id: c.id, ok: c.ok, detail: c.detail }).toEqual({ id: c.id, ok: true, detail: c.detail });
    }
    expect(r.code).toBe(0);
    expect(byId(r.checks, 'gateway').detail).toContain(`pid ${gw.pid} serves data_dir`);
    expect(byId(r.checks, 'backend:alpha').detail).toMatch(/connected over stdio in \d+ ms: \d+ tools/);
    expect(byId(r.checks, 'public_url').detail).toContain('only on this machine');
    expect(byId(r.checks, 'clock').detail).toMatch(/^within \d+ s of 127\.0\.0\.1:\d+'s clock/);

    const text = await runBinary(['doctor', '--config', gw.configPath, '--time-url', gw.url], { timeoutMs: 20_000 });
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^✓ ok {6}config/);
    expect(text.stdout).not.toContain('✗');
    expect(text.stderr).toBe('all 8 checks passed\n');
    expect(r.stderr).toBe('all 8 checks passed\n');
  }, 60_000);

  test('a broken backend: its check ✗ with the backends test hint, the others ✓, exit 1', async () => {
    await using gw = await oauthGateway({ alpha: backend('alpha'), broken }, { mode: 'oauth', password_hash: await passwordHash() });
    const r = await doctor(gw.configPath, '--time-url', gw.url);
    expect(r.code).toBe(1);
    const bad = byId(r.checks, 'backend:broken');
    expect(bad.ok).toBe(false);
    expect(bad.detail).toMatch(/^failed after \d+ ms: .*(exit|3|closed the connection)/);
    expect(bad.hint).toBe(`mcpgw backends test broken --config ${gw.configPath}`);
    expect(r.checks.filter((c) => !c.ok).map((c) => c.id)).toEqual(['backend:broken']);
    expect(r.stderr).toBe('1 of 9 checks failed\n');
  }, 60_000);

  test('no consent password: ✗ with the passwd hint, exit 1', async () => {
    await using gw = await oauthGateway({}, { mode: 'oauth' });
    const r = await doctor(gw.configPath, '--time-url', gw.url);
    expect(r.code).toBe(1);
    expect(byId(r.checks, 'password')).toEqual({ id: 'password', ok: false, title: 'consent password', detail: 'no consent password: connectors cannot sign in', hint: `mcpgw passwd --config ${gw.configPath}` });
    expect(byId(r.checks, 'gateway').ok).toBe(true);
  }, 60_000);

  test('no running gateway: ✗ with the serve hint; public_url ✗ pointing at it; exit 1', async () => {
    using t = tempDir();
    const path = join(t.dir, 'gateway.yaml');
    writeFileSync(path, stringify({ ...baseConfig(t.dir, {}), listen: `127.0.0.1:${freePort()}`, auth: { mode: 'oauth', password_hash: await passwordHash() } }));
    const r = await doctor(path, '--time-url', 'http://127.0.0.1:1/');
    expect(r.code).toBe(1);
    expect(byId(r.checks, 'gateway')).toMatchObject({ ok: false, detail: `no gateway is running on data_dir ${join(t.dir, 'state')}`, hint: `mcpgw serve --config ${path}` });
    expect(byId(r.checks, 'public_url')).toMatchObject({ ok: false, hint: 'start the gateway first (see the gateway check)' });
    expect(byId(r.checks, 'public_url').detail).toMatch(/did not answer/);
  }, 30_000);

  test('a data_dir the running user cannot write (as nobody): data_dir ✗ with a chown hint, exit 1', async () => {
    using t = tempDir();
    chmodSync(t.dir, 0o755);
    const state = join(t.dir, 'state');
    mkdirSync(state, { mode: 0o555 });
    const path = join(t.dir, 'gateway.yaml');
    writeFileSync(path, stringify({ ...baseConfig(t.dir, {}), listen: `127.0.0.1:${freePort()}` }), { mode: 0o644 });
    // As root the binary runs as nobody (setpriv), so that permissions apply; otherwise as the current user.
    const root = process.getuid?.() === 0;
    const prefix = root ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'] : [];
    const proc = Bun.spawn([...prefix, BINARY, 'doctor', '--config', path, '--json', '--time-url', 'http://127.0.0.1:1/'], { cwd: '/', env: baseEnv({ HOME: '/nonexistent' }), stdout: 'pipe', stderr: 'pipe' });
    const timer = setTimeout(() => proc.kill('SIGKILL'), 15_000);
    const [stdout, code] = await Promise.all([new Response(proc.stdout).text(), proc.exited]);
    clearTimeout(timer);
    expect(code).toBe(1);
    const check = byId((JSON.parse(stdout) as { checks: DoctorCheck[] }).checks, 'data_dir');
    const who = root ? 'nobody' : (process.env.USER ?? '');
    expect(check.ok).toBe(false);
    expect(check.detail).toContain(`cannot write ${state}`);
    expect(check.hint).toBe(`sudo chown -R ${root ? 'nobody' : who}: ${state}`);
  }, 30_000);

  test.if(process.getuid?.() === 0)('a data_dir nobody cannot even look into: the gateway check says it cannot tell, and names the user to run doctor as', async () => {
    using t = tempDir();
    chmodSync(t.dir, 0o755);
    const state = join(t.dir, 'state');
    mkdirSync(state, { mode: 0o700 });
    const path = join(t.dir, 'gateway.yaml');
    writeFileSync(path, stringify({ ...baseConfig(t.dir, {}), listen: `127.0.0.1:${freePort()}` }), { mode: 0o644 });
    const proc = Bun.spawn(['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', BINARY, 'doctor', '--config', path, '--json', '--time-url', 'http://127.0.0.1:1/'], { cwd: '/', env: baseEnv({ HOME: '/nonexistent' }), stdout: 'pipe', stderr: 'pipe' });
    const timer = setTimeout(() => proc.kill('SIGKILL'), 15_000);
    const [stdout, code] = await Promise.all([new Response(proc.stdout).text(), proc.exited]);
    clearTimeout(timer);
    expect(code).toBe(1);
    const gateway = byId((JSON.parse(stdout) as { checks: DoctorCheck[] }).checks, 'gateway');
    expect(gateway).toMatchObject({ ok: false, hint: `run doctor as the service's user: sudo -u root mcpgw doctor --config ${path}` });
    expect(gateway.detail).toBe(`nobody cannot look into data_dir ${state} (its socket and lock): cannot tell whether a gateway runs`);
  }, 30_000);

  test('an invalid config: config ✗ naming the YAML path and line, nothing else checked, exit 1', async () => {
    using t = tempDir();
    const path = join(t.dir, 'gateway.yaml');
    writeFileSync(path, 'listen: 127.0.0.1:4444\nbackends:\n  x:\n    url: 42\n');
    const r = await doctor(path);
    expect(r.code).toBe(1);
    expect(r.checks).toHaveLength(1);
    expect(r.checks[0]).toMatchObject({ id: 'config', ok: false, hint: `edit ${path} (every key is documented in gateway.example.yaml)` });
    expect(r.checks[0].detail).toMatch(/backends\.x.*\(gateway\.yaml:\d+:\d+\)/);
  });

  test('a clock 5 minutes behind the reference server: clock ✗ with the NTP hint', async () => {
    using t = tempDir();
    const ahead = Bun.serve({ hostname: '127.0.0.1', port: 0, fetch: () => new Response(null, { headers: { date: new Date(Date.now() + 300_000).toUTCString() } }) });
    try {
      const path = join(t.dir, 'gateway.yaml');
      writeFileSync(path, stringify(baseConfig(t.dir, {})));
      const r = await doctor(path, '--time-url', `http://127.0.0.1:${ahead.port}/`);
      const clock = byId(r.checks, 'clock');
      expect(clock).toMatchObject({ ok: false, hint: 'sudo timedatectl set-ntp true' });
      expect(clock.detail).toMatch(/^this clock is 30\d s behind 127\.0\.0\.1:\d+'s/);
      expect(r.code).toBe(1);
    } finally {
      ahead.stop(true);
    }
  });
});
