/** The pure parts of `mcpgw doctor` (issue 9 item 3): whose service it is, mode bits, clock skew, the database's owner. */
import { describe, expect, test } from 'bun:test';
import { chownSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkClock, checkDatabase, checkDataDir, clockSkew, parseUnit, serviceAccount, writableBy } from '../../cmd/doctor-checks.ts';
import { validateConfig } from '../../src/config/schema.ts';
import { manualClock, systemDeps } from '../../src/deps.ts';
import { silentLogger } from '../../src/log.ts';

function tempDir() {
  const dir = mkdtempSync(join(tmpdir(), 'mcpgw-doctor-unit-'));
  return { dir, [Symbol.dispose]: () => rmSync(dir, { recursive: true, force: true }) };
}

describe('issue 9 item 3: doctor checks', () => {
  test('parseUnit reads the --config of ExecStart= (quoted too) and User=', () => {
    expect(parseUnit('[Service]\nExecStart=/usr/bin/mcpgw serve --config "/etc/my gw/gateway.yaml"\nUser=mcpgw\n')).toEqual({ config: '/etc/my gw/gateway.yaml', user: 'mcpgw' });
    expect(parseUnit('ExecStart=/usr/bin/mcpgw serve\n')).toEqual({ config: undefined, user: undefined });
  });

  test('the service account is the User= of a unit that runs this config; another config\'s unit is ignored', () => {
    using t = tempDir();
    const config = join(t.dir, 'gateway.yaml');
    writeFileSync(config, '{}');
    const unit = join(t.dir, 'mcpgw.service');
    writeFileSync(unit, `[Service]\nExecStart=/usr/bin/mcpgw serve --config ${config}\nUser=nobody\n`);
    expect(serviceAccount(config, [unit])).toMatchObject({ name: 'nobody', uid: 65534, unit });
    const other = join(t.dir, 'other.service');
    writeFileSync(other, '[Service]\nExecStart=/usr/bin/mcpgw serve --config /etc/elsewhere.yaml\nUser=nobody\n');
    expect(serviceAccount(config, [other]).uid).toBe(process.getuid!());
  });

  test('writableBy follows owner, group and other bits; root writes anything', () => {
    const st = { uid: 10, gid: 20, mode: 0o40750 };
    expect(writableBy(st, { uid: 10, gid: 99 }, true)).toBe(true);
    expect(writableBy(st, { uid: 11, gid: 20 }, true)).toBe(false);
    expect(writableBy({ ...st, mode: 0o40770 }, { uid: 11, gid: 20 }, true)).toBe(true);
    expect(writableBy(st, { uid: 0, gid: 0 }, true)).toBe(true);
  });

  test('clockSkew compares with the middle of the Date header\'s second', () => {
    const at = Date.UTC(2026, 0, 1, 12, 0, 0);
    expect(clockSkew(at + 400, at + 600, new Date(at).toUTCString())).toBe(0);
    expect(clockSkew(at + 90_500, at + 90_500, new Date(at).toUTCString())).toBe(90_000);
    expect(clockSkew(at, at, 'not a date')).toBeUndefined();
  });

  test.if(process.getuid?.() === 0)('a root-owned -wal in the service user\'s data_dir fails the database check with a chown hint', () => {
    using t = tempDir();
    const state = join(t.dir, 'state');
    mkdirSync(state, { mode: 0o700 });
    chownSync(state, 65534, 65534);
    for (const f of ['mcpgw.db', 'mcpgw.db-wal']) writeFileSync(join(state, f), '', { mode: 0o600 });
    chownSync(join(state, 'mcpgw.db'), 65534, 65534);
    const nobody = { name: 'nobody', uid: 65534, gid: 65534, unit: '/etc/systemd/system/mcpgw.service' };
    expect(checkDataDir(state, nobody)).toMatchObject({ ok: true });
    const db = checkDatabase(state, nobody);
    expect(db).toMatchObject({ ok: false, hint: `sudo chown -R nobody: ${state}` });
    expect(db.detail).toContain(`${join(state, 'mcpgw.db-wal')} belongs to root`);
  });

  test('checkClock uses the injected clock and fetch: 90 s ahead fails, 3 s passes, no Date header is not compared', async () => {
    const at = Date.UTC(2026, 5, 1, 8, 0, 0);
    const clock = manualClock(at + 90_000);
    let date: string | undefined = new Date(at).toUTCString();
    const fetch = (async () => new Response('', { headers: date ? { date } : {} })) as unknown as typeof globalThis.fetch;
    const deps = systemDeps({ clock, fetch, log: silentLogger });
    const v = validateConfig({ data_dir: '/tmp/x' }, { env: {}, configDir: '/tmp' });
    if (!v.ok) throw new Error('config');
    const ahead = await checkClock(v.value, deps, ['https://time.example'], 1000);
    expect(ahead).toEqual({ id: 'clock', ok: false, title: 'clock', detail: "this clock is 90 s ahead of time.example's (more than 60 s; access tokens live 60 min)", hint: 'sudo timedatectl set-ntp true' });
    clock.set(at + 3_500);
    expect((await checkClock(v.value, deps, ['https://time.example'], 1000)).detail).toBe("within 3 s of time.example's clock (access tokens live 60 min)");
    date = undefined;
    expect(await checkClock(v.value, deps, ['https://time.example'], 1000)).toMatchObject({ ok: true, hint: 'timedatectl status' });
  });
});
