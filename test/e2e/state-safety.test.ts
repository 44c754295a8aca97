/**
 * Config and state cannot be lost by accident (issue 8 findings 5, 6, 7 and part of 8), through the compiled binary:
 * an empty config file never replaces the running one, one gateway per data_dir, a deleted database is noticed,
 * a failed start leaves no child behind, and shutdown answers calls it cuts off.
 */
import { describe, expect, test } from 'bun:test';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { startFailure, waitUntilStable } from '../../cmd/serve.ts';
import { BACKEND_PATH, backendArgs, connectV2, waitFor } from '../helpers/clients.ts';
import { BINARY, baseEnv, runBinary } from '../helpers/cli.ts';
import { baseConfig, startGatewayProcess } from '../helpers/gateway-process.ts';
import { alive, childProcesses } from '../helpers/procs.ts';

const backend = (name: string) => ({ command: process.execPath, args: [BACKEND_PATH, ...backendArgs({ name })], timeout: '5s' });

function tempDir() {
  const dir = mkdtempSync(join(tmpdir(), 'mcpgw-state-'));
  return { dir, [Symbol.dispose]: () => rmSync(dir, { recursive: true, force: true }) };
}

async function health(url: string): Promise<Record<string, unknown>> {
  return (await (await fetch(`${url}/health`)).json()) as Record<string, unknown>;
}

describe('issue 8 finding 5: an empty config file does not drop the backends', () => {
  test('a zero-byte gateway.yaml is rejected by the file-watch reload (backends and children stay, error names the file); a valid file then reloads', async () => {
    let config: Record<string, unknown> = {};
    await using gw = await startGatewayProcess((d) => (config = baseConfig(d, { alpha: backend('alpha') })));
    await gw.waitForLog((l) => l.msg === 'backend up', 20_000);
    const children = childProcesses(gw.pid).map((p) => p.pid);
    expect(children.length).toBe(1);

    writeFileSync(gw.configPath, '');
    const rejected = await gw.waitForLog((l) => l.msg === 'config reload rejected; the old config keeps serving', 10_000);
    expect(rejected.config).toBe(gw.configPath);
    expect(JSON.stringify(rejected.issues)).toContain('config file is empty');
    expect(await health(gw.url)).toEqual({ status: 'ok', backends: { up: 1, down: 0 } });
    for (const pid of children) expect(alive(pid)).toBe(true);
    expect(gw.logs.some((l) => l.msg === 'config reloaded')).toBe(false);

    gw.writeConfig({ ...config, backends: { alpha: backend('alpha'), beta: backend('beta') } });
    const reloaded = await gw.waitForLog((l) => l.msg === 'config reloaded', 10_000);
    expect(reloaded.added).toEqual(['beta']);
    await waitFor(async () => (await health(gw.url)).status === 'ok' && childProcesses(gw.pid).length === 2, { timeoutMs: 15_000, what: 'beta up' });
    for (const pid of children) expect(alive(pid)).toBe(true);
  }, 60_000);

  test('serve refuses an empty config file at start-up and says so', async () => {
    using t = tempDir();
    const path = join(t.dir, 'gateway.yaml');
    writeFileSync(path, '');
    const r = await runBinary(['serve', '--config', path]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('config file is empty');
  });

  test('the watch waits until the file holds still: a file still being written is not read', async () => {
    using t = tempDir();
    const path = join(t.dir, 'gateway.yaml');
    writeFileSync(path, 'a');
    let writes = 0;
    const timer = setInterval(() => writeFileSync(path, 'a'.repeat(++writes + 1)), 40);
    const started = Date.now();
    setTimeout(() => clearInterval(timer), 600);
    await waitUntilStable(path, 100, 30);
    clearInterval(timer);
    expect(Date.now() - started).toBeGreaterThanOrEqual(600);
    expect(readFileSync(path, 'utf8').length).toBe(writes + 1);
  });
});

describe('issue 8 finding 7: one gateway per data_dir', () => {
  test('a second serve on the same data_dir exits 1 naming the first PID and leaves its admin socket; status still reaches the first', async () => {
    await using gw = await startGatewayProcess((d) => baseConfig(d, {}));
    const second = await runBinary(['serve', '--config', gw.configPath], { timeoutMs: 10_000 });
    expect(second.code).toBe(1);
    expect(second.stderr).toContain(`error: another mcpgw (pid ${gw.pid}) is already serving data_dir ${join(gw.dir, 'state')}`);
    expect(existsSync(join(gw.dir, 'state', 'mcpgw.sock'))).toBe(true);
    const status = await runBinary(['status', '--json', '--config', gw.configPath]);
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toHaveProperty('backends');
  }, 30_000);
});

describe('issue 8 finding 6: a deleted database is noticed', () => {
  test('health degraded and an error logged; tokens revoke says the gateway uses another file instead of claiming it refuses the tokens', async () => {
    await using gw = await startGatewayProcess((d) => baseConfig(d, {}, { auth: { mode: 'oauth' } }), { env: { MCPGW_DB_CHECK_INTERVAL_MS: '100' } });
    const cli = (...args: string[]) => runBinary([...args, '--config', gw.configPath]);
    const created = await cli('tokens', 'create', '--name', 'one');
    expect(created.code).toBe(0);
    expect(created.stderr).toContain('the running gateway accepts it now');
    const before = await cli('tokens', 'revoke', '--all', '--yes');
    expect(before.stderr).toContain('revoked 1 grant; the running gateway refuses their tokens from now on');

    const db = join(gw.dir, 'state', 'mcpgw.db');
    for (const f of [db, `${db}-wal`, `${db}-shm`]) rmSync(f, { force: true });
    await gw.waitForLog((l) => String(l.msg).startsWith('the database file was deleted while the gateway runs'), 5_000);
    const h = await health(gw.url);
    expect(h.status).toBe('degraded');
    expect(JSON.stringify(h.problems)).toContain('database file was deleted');

    const createdAfter = await cli('tokens', 'create', '--name', 'two');
    expect(createdAfter.code).toBe(0);
    expect(createdAfter.stderr).not.toContain('accepts it now');
    expect(createdAfter.stderr).toContain(`warning: the running gateway (pid ${gw.pid}) uses another database file`);
    const after = await cli('tokens', 'revoke', '--all', '--yes');
    expect(after.stderr).not.toContain('refuses their tokens');
    // `tokens create` made a new file at the path, so the gateway now sees it as replaced.
    expect(after.stderr).toContain(`warning: the running gateway (pid ${gw.pid}) uses another database file (the database file was replaced while the gateway runs); restart it`);
    expect((await health(gw.url)).status).toBe('degraded');
  }, 30_000);
});

describe('issue 8 finding 8: failed starts and shutdown', () => {
  test('a start that fails on a port in use after spawning a stdio backend exits 1 with a matching hint and leaves no child', async () => {
    using t = tempDir();
    const busy = Bun.serve({ hostname: '127.0.0.1', port: 0, fetch: () => new Response('busy') });
    // A child that does not exit when its stdin closes (as `npx` wrappers often do not): only a kill ends it.
    // Its unique sleep argument finds it in /proc whatever its PID.
    const marker = `30.${Date.now() % 1_000_000}${process.pid}`;
    const strays = () => readdirSync('/proc').filter((e) => /^\d+$/.test(e)).flatMap((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes(marker) && alive(Number(pid)) ? [Number(pid)] : [];
      } catch {
        return [];
      }
    });
    try {
      const config = baseConfig(t.dir, { stuck: { command: 'sh', args: ['-c', `sleep ${marker}; exit 0`] } }, { listen: `127.0.0.1:${busy.port}` });
      writeFileSync(join(t.dir, 'gateway.yaml'), stringify(config));
      const r = await runBinary(['serve', '--config', join(t.dir, 'gateway.yaml')], { timeoutMs: 15_000 });
      expect(r.code).toBe(1);
      await Bun.sleep(300);
      expect(strays()).toEqual([]);
      expect(r.stderr).toContain(`hint: another process listens on 127.0.0.1:${busy.port}`);
    } finally {
      busy.stop(true);
      for (const pid of strays()) process.kill(pid, 'SIGKILL');
    }
  }, 30_000);

  test('a database file that is not SQLite: exit 1, the hint says it is not a mcpgw database', async () => {
    using t = tempDir();
    const config = baseConfig(t.dir, {}, { auth: { mode: 'oauth' } });
    writeFileSync(join(t.dir, 'gateway.yaml'), stringify(config));
    await Bun.write(join(t.dir, 'state', 'mcpgw.db'), 'this is a text file, not a database; '.repeat(200));
    const r = await runBinary(['serve', '--config', join(t.dir, 'gateway.yaml')], { timeoutMs: 15_000 });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`the database file ${join(t.dir, 'state', 'mcpgw.db')} is not a mcpgw database`);
    expect(r.stderr).not.toContain('another process');
  }, 30_000);

  // As root the binary runs as nobody (setpriv), so that permissions apply; otherwise as the current user.
  async function runUnprivileged(args: string[]): Promise<{ code: number; stderr: string }> {
    const prefix = process.getuid?.() === 0 ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'] : [];
    const proc = Bun.spawn([...prefix, BINARY, ...args], { cwd: '/', env: baseEnv({ HOME: '/nonexistent' }), stdout: 'ignore', stderr: 'pipe' });
    const timer = setTimeout(() => proc.kill('SIGKILL'), 15_000);
    const [stderr, code] = await Promise.all([new Response(proc.stderr).text(), proc.exited]);
    clearTimeout(timer);
    return { code, stderr };
  }

  function openDir(t: { dir: string }, config: Record<string, unknown>): string {
    chmodSync(t.dir, 0o755);
    const path = join(t.dir, 'gateway.yaml');
    writeFileSync(path, stringify(config), { mode: 0o644 });
    return path;
  }

  test('a data_dir this user may not write: exit 1, the error says so', async () => {
    using t = tempDir();
    mkdirSync(join(t.dir, 'locked'), { mode: 0o555 });
    const path = openDir(t, { listen: '127.0.0.1:0', data_dir: join(t.dir, 'locked', 'state'), auth: { mode: 'none' }, backends: {} });
    const r = await runUnprivileged(['serve', '--config', path]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`hint: data_dir ${join(t.dir, 'locked', 'state')} is not writable by this user`);
  }, 30_000);

  test('a port this user may not bind: exit 1, the hint is about permission, not another process', async () => {
    using t = tempDir();
    mkdirSync(join(t.dir, 'state'), { mode: 0o700 });
    if (process.getuid?.() === 0) chownSync(join(t.dir, 'state'), 65534, 65534);
    const path = openDir(t, { listen: '127.0.0.1:81', data_dir: join(t.dir, 'state'), auth: { mode: 'none' }, backends: {} });
    const r = await runUnprivileged(['serve', '--config', path]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('hint: this user may not listen on 127.0.0.1:81');
    expect(r.stderr).not.toContain('another process');
  }, 30_000);

  test('start-up hints match the error: address in use, permission to bind, corrupt database, unwritable data_dir', () => {
    const config = { listen: '127.0.0.1:80', data_dir: '/srv/mcpgw' };
    const hint = (err: object) => startFailure(Object.assign(new Error('boom'), err), config).hint ?? '';
    expect(hint({ code: 'EADDRINUSE' })).toContain('another process listens on 127.0.0.1:80');
    expect(hint({ code: 'EACCES' })).toContain('may not listen on 127.0.0.1:80');
    expect(hint({ code: 'SQLITE_CORRUPT' })).toContain('/srv/mcpgw/mcpgw.db is not a mcpgw database');
    expect(hint({ code: 'EACCES', path: '/srv/mcpgw/oauth-signing-key.json' })).toContain('data_dir /srv/mcpgw is not writable');
    expect(hint({ code: 'SQLITE_READONLY' })).toContain('not writable');
    expect(hint({ code: 'EWHATEVER' })).toBe('');
  });

  test('a call still running at the end of the shutdown grace gets a JSON-RPC error (-32603 gateway shutting down), not a reset', async () => {
    const gw = await startGatewayProcess((d) => baseConfig(d, { alpha: backend('alpha') }, { http: { shutdown_grace: '500ms' } }));
    try {
      await gw.waitForLog((l) => l.msg === 'backend up', 20_000);
      await using c = await connectV2(gw.mcpUrl);
      const call = c.client.callTool({ name: 'alpha_slow', arguments: { ms: 20_000, steps: 20 } }).then(
        (r) => ({ ok: r }),
        (err: { code?: number; message?: string }) => ({ code: err.code, message: err.message }),
      );
      await Bun.sleep(300);
      const exit = gw.stop('SIGTERM');
      const outcome = await call;
      expect(outcome).toMatchObject({ code: -32603 });
      expect((outcome as { message: string }).message).toContain('gateway shutting down');
      expect(await exit).toBe(0);
    } finally {
      await gw[Symbol.asyncDispose]();
    }
  }, 30_000);
});
