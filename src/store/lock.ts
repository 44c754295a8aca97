/**
 * @module One gateway per data_dir (issue 8 finding 7): `serve` holds a SQLite write lock on `mcpgw.lock` for as
 * long as it runs. The kernel drops the lock when the process dies, so a crash never leaves a stale lock; the
 * holder's PID is written next to it (`mcpgw.pid`) so the second `serve` can name it.
 */
import { Database } from 'bun:sqlite';
import { closeSync, openSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../config/atomic-write.ts';

/** Paths of the lock and PID files in a data dir. */
export function lockPaths(dataDir: string): { lock: string; pid: string } {
  return { lock: join(dataDir, 'mcpgw.lock'), pid: join(dataDir, 'mcpgw.pid') };
}

/** A held data-dir lock; `release` is idempotent. */
export interface DataDirLock {
  release(): void;
}

/** Another process holds the lock; `pid` is the holder's PID when it could be read. */
export class DataDirLockedError extends Error {
  readonly pid?: number;
  constructor(dataDir: string, pid?: number) {
    super(`another mcpgw${pid ? ` (pid ${pid})` : ''} is already serving data_dir ${dataDir}`);
    this.name = 'DataDirLockedError';
    this.pid = pid;
  }
}

/** Takes the data dir's lock for this process or throws DataDirLockedError; other errors (EACCES, EROFS) pass through. */
export function acquireDataDirLock(dataDir: string, pid: number = process.pid): DataDirLock {
  const paths = lockPaths(dataDir);
  closeSync(openSync(paths.lock, 'a', 0o600));
  const db = new Database(paths.lock);
  try {
    // Rollback journal, no waiting: BEGIN IMMEDIATE either takes the RESERVED lock now or fails with SQLITE_BUSY.
    db.run('PRAGMA busy_timeout = 0');
    db.run('PRAGMA journal_mode = DELETE');
    db.run('BEGIN IMMEDIATE');
  } catch (err) {
    db.close();
    if ((err as { code?: string }).code?.startsWith('SQLITE_BUSY')) throw new DataDirLockedError(dataDir, readPid(paths.pid));
    throw err;
  }
  writeFileAtomic(paths.pid, `${pid}\n`, { mode: 0o600 });
  let held = true;
  return {
    release() {
      if (!held) return;
      held = false;
      if (readPid(paths.pid) === pid) rmSync(paths.pid, { force: true });
      db.run('ROLLBACK');
      db.close();
    },
  };
}

function readPid(path: string): number | undefined {
  try {
    const n = Number(readFileSync(path, 'utf8').trim());
    return Number.isInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}
