/** @module Opens the SQLite store (bun:sqlite): file mode 0600, WAL, busy timeout, numbered migrations. */
import { Database } from 'bun:sqlite';
import { chmodSync, closeSync, existsSync, openSync } from 'node:fs';
import { MIGRATIONS } from './migrations.ts';

export type { Database } from 'bun:sqlite';

/** Opens (creating if needed) the mcpgw database and applies pending migrations; see store/schema.md. */
export function openStore(path: string | ':memory:'): Database {
  if (path !== ':memory:') createPrivateFile(path);
  const db = new Database(path, { create: true, strict: true });
  // Another process (the CLI) may write the same file while the server runs: wait rather than fail.
  db.run('PRAGMA busy_timeout = 5000');
  if (path !== ':memory:') db.run('PRAGMA journal_mode = WAL');
  db.run('PRAGMA synchronous = NORMAL');
  db.run('PRAGMA foreign_keys = ON');
  migrate(db);
  return db;
}

/** Schema version the database is at (highest applied migration). */
export function schemaVersion(db: Database): number {
  const row = db.query('SELECT MAX(version) AS v FROM schema_migrations').get() as { v: number | null };
  return row.v ?? 0;
}

/** SQLite's `PRAGMA data_version`: changes whenever another connection (another process) commits to the file. */
export function dataVersion(db: Database): number {
  return (db.query('PRAGMA data_version').get() as { data_version: number }).data_version;
}

function createPrivateFile(path: string): void {
  // Secrets live here (hashes, but also grants and client data): owner-only from the first byte.
  // SQLite gives the -wal and -shm files the main file's mode.
  if (!existsSync(path)) closeSync(openSync(path, 'a', 0o600));
  chmodSync(path, 0o600);
}

function migrate(db: Database): void {
  db.run(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    applied_at INTEGER NOT NULL
  )`);
  // IMMEDIATE takes the write lock first, so two processes starting together do not both migrate.
  const apply = db.transaction(() => {
    const current = schemaVersion(db);
    for (const m of MIGRATIONS) {
      if (m.version <= current) continue;
      db.run(m.sql);
      db.query("INSERT INTO schema_migrations (version, applied_at) VALUES (?, CAST(unixepoch('subsec') * 1000 AS INTEGER))").run(m.version);
    }
  });
  apply.immediate();
}
