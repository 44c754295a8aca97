/** @module store/db: file mode, WAL, migrations. */
import { describe, expect, test } from 'bun:test';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore, schemaVersion } from '../../src/store/db.ts';
import { MIGRATIONS } from '../../src/store/migrations.ts';

function tempDir(): string & Disposable {
  const dir = mkdtempSync(join(tmpdir(), 'mcpgw-store-'));
  return Object.assign(dir, { [Symbol.dispose]: () => rmSync(dir, { recursive: true, force: true }) }) as string & Disposable;
}

describe('openStore', () => {
  test('creates the file mode 0600 (and its WAL files), in WAL mode, with every migration applied', () => {
    using dir = tempDir();
    const path = join(dir, 'mcpgw.db');
    const db = openStore(path);
    db.query("INSERT INTO rate_limits (key, window_start, count) VALUES ('k', 1, 1)").run();
    expect(statSync(path).mode & 0o777).toBe(0o600);
    for (const suffix of ['-wal', '-shm']) if (existsSync(path + suffix)) expect(statSync(path + suffix).mode & 0o777).toBe(0o600);
    expect((db.query('PRAGMA journal_mode').get() as { journal_mode: string }).journal_mode).toBe('wal');
    expect((db.query('PRAGMA busy_timeout').get() as { timeout: number }).timeout).toBeGreaterThanOrEqual(1000);
    expect(schemaVersion(db)).toBe(MIGRATIONS.at(-1)!.version);
    const versions = db.query('SELECT version FROM schema_migrations ORDER BY version').all() as { version: number }[];
    expect(versions.map((v) => v.version)).toEqual(MIGRATIONS.map((m) => m.version));
    db.close();
  });

  test('reopening applies nothing twice and keeps data; a second connection sees writes at once', () => {
    using dir = tempDir();
    const path = join(dir, 'mcpgw.db');
    const a = openStore(path);
    const b = openStore(path);
    a.query("INSERT INTO rate_limits (key, window_start, count) VALUES ('k', 1, 7)").run();
    expect((b.query("SELECT count FROM rate_limits WHERE key = 'k'").get() as { count: number }).count).toBe(7);
    expect((b.query('SELECT COUNT(*) AS n FROM schema_migrations').get() as { n: number }).n).toBe(MIGRATIONS.length);
    a.close();
    b.close();
  });

  test('tightens a pre-existing database file to 0600', async () => {
    using dir = tempDir();
    const path = join(dir, 'mcpgw.db');
    await Bun.write(path, '');
    const { chmodSync } = await import('node:fs');
    chmodSync(path, 0o644);
    openStore(path).close();
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  test(':memory: works for unit tests', () => {
    const db = openStore(':memory:');
    expect(schemaVersion(db)).toBe(MIGRATIONS.length);
    db.close();
  });
});
