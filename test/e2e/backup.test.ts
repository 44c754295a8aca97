/**
 * `mcpgw backup` / `mcpgw restore` through the compiled binary (issue 9 item 8): an online copy of the database and
 * the config in one 0600 file; restore refuses while a gateway serves the data_dir, and brings back both.
 */
import { describe, expect, test } from 'bun:test';
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureBinary, runBinary } from '../helpers/cli.ts';
import { baseConfig, startGatewayProcess } from '../helpers/gateway-process.ts';

ensureBinary();

function tempDir() {
  const dir = mkdtempSync(join(tmpdir(), 'mcpgw-backup-'));
  return { dir, [Symbol.dispose]: () => rmSync(dir, { recursive: true, force: true }) };
}

async function tokenNames(configPath: string): Promise<string[]> {
  const r = await runBinary(['tokens', 'list', '--json', '--config', configPath]);
  expect(r.code).toBe(0);
  return (JSON.parse(r.stdout) as { grants: { client_name: string }[] }).grants.map((g) => g.client_name).sort();
}

describe('issue 9 item 8: backup and restore', () => {
  test('backup while the gateway runs; restore is refused until it stops, then brings back the database and the config', async () => {
    using t = tempDir();
    const file = join(t.dir, 'mcpgw.backup');
    const gw = await startGatewayProcess((d) => baseConfig(d, {}));
    try {
      const cli = (...args: string[]) => runBinary([...args, '--config', gw.configPath]);
      expect((await cli('tokens', 'create', '--name', 'before')).code).toBe(0);
      const original = readFileSync(gw.configPath, 'utf8');

      const b = await cli('backup', file);
      expect(b.code).toBe(0);
      expect(b.stderr.split('\n')[0]).toBe(`✓ backed up ${join(gw.dir, 'state', 'mcpgw.db')} and ${gw.configPath} to ${file} (mode 0600)`);
      expect(statSync(file).mode & 0o777).toBe(0o600);

      expect((await cli('tokens', 'create', '--name', 'after')).code).toBe(0);
      writeFileSync(gw.configPath, `${original}# changed after the backup\n`);
      const refused = await cli('restore', file, '--yes');
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain(`error: another mcpgw (pid ${gw.pid}) is already serving data_dir ${join(gw.dir, 'state')}; stop it before restoring`);
      expect(await tokenNames(gw.configPath)).toEqual(['after', 'before']);

      expect(await gw.stop()).toBe(0);
      expect((await cli('restore', file)).code).toBe(2); // no terminal, no --yes: nothing changes
      expect(await tokenNames(gw.configPath)).toEqual(['after', 'before']);
      const r = await cli('restore', file, '--yes');
      expect(r.code).toBe(0);
      expect(await tokenNames(gw.configPath)).toEqual(['before']);
      expect(readFileSync(gw.configPath, 'utf8')).toBe(original);
      expect(existsSync(join(gw.dir, 'state', 'mcpgw.db.before-restore'))).toBe(true);
      expect(statSync(join(gw.dir, 'state', 'mcpgw.db')).mode & 0o777).toBe(0o600);
    } finally {
      await gw[Symbol.asyncDispose]();
    }
  }, 60_000);

  test('restore --database-only keeps the config; a file that is no backup is refused', async () => {
    using t = tempDir();
    const file = join(t.dir, 'mcpgw.backup');
    const configPath = join(t.dir, 'gateway.yaml');
    writeFileSync(configPath, `data_dir: ${join(t.dir, 'state')}\nauth: { mode: none }\n`);
    const cli = (...args: string[]) => runBinary([...args, '--config', configPath]);
    expect((await cli('tokens', 'create', '--name', 'kept')).code).toBe(0);
    expect((await cli('backup', file)).code).toBe(0);
    writeFileSync(configPath, `data_dir: ${join(t.dir, 'state')}\nauth: { mode: none }\nlog_level: debug\n`);
    const r = await cli('restore', file, '--database-only', '--yes');
    expect(r.code).toBe(0);
    expect(readFileSync(configPath, 'utf8')).toContain('log_level: debug');
    expect(await tokenNames(configPath)).toEqual(['kept']);

    writeFileSync(join(t.dir, 'junk'), 'not a database at all, just text that is long enough to be read as a header');
    const bad = await cli('restore', join(t.dir, 'junk'), '--yes');
    expect(bad.code).toBe(1);
    expect(bad.stderr.split('\n')[0]).toMatch(/^error: .*junk is not an mcpgw backup/);
  }, 30_000);

  test.if(process.getuid?.() === 0)('root may not back up or restore a data_dir that belongs to the service user (it would leave root-owned files there)', async () => {
    using t = tempDir();
    const configPath = join(t.dir, 'gateway.yaml');
    const state = join(t.dir, 'state');
    writeFileSync(configPath, `data_dir: ${state}\nauth: { mode: none }\n`);
    expect((await runBinary(['tokens', 'create', '--name', 'x', '--config', configPath])).code).toBe(0);
    for (const f of ['', '/mcpgw.db']) chownSync(`${state}${f}`, 65534, 65534);
    const r = await runBinary(['backup', join(t.dir, 'b'), '--config', configPath]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`error: data_dir ${state} belongs to nobody; root must not create files there\nhint: run it as the service's user: sudo -u nobody mcpgw backup …\n`);
    expect(existsSync(join(t.dir, 'b'))).toBe(false);
  });
});
