/**
 * @module Notices when the database file the gateway has open is deleted or replaced under it (issue 8 finding 6):
 * SQLite keeps using the old inode, so tokens the CLI writes into a new file would silently never reach it.
 */
import { statSync } from 'node:fs';
import type { Logger } from '../log.ts';

/** Which file a path names: device and inode. */
export interface FileIdentity {
  dev: number;
  ino: number;
}

/** The identity of the file at `path`, or undefined when there is none. */
export function fileIdentity(path: string): FileIdentity | undefined {
  try {
    const st = statSync(path);
    return { dev: st.dev, ino: st.ino };
  } catch {
    return undefined;
  }
}

/** What the admin socket's `GET /db-identity` answers: the database file the gateway has open. */
export interface DbIdentity extends FileIdentity {
  pid: number;
  path: string;
  /** Set when the path no longer names the open file. */
  problem?: string;
}

/** Why `path` no longer names the file opened as `opened`; undefined while it still does. */
export function databaseProblem(path: string, opened: FileIdentity): string | undefined {
  const now = fileIdentity(path);
  if (!now) return 'the database file was deleted while the gateway runs';
  if (now.dev !== opened.dev || now.ino !== opened.ino) return 'the database file was replaced while the gateway runs';
  return undefined;
}

export interface DatabaseWatch {
  readonly opened: FileIdentity;
  /** The current problem, if any (checked every `intervalMs`). */
  problem(): string | undefined;
  close(): void;
}

/** Checks every `intervalMs` that `path` still names the open database; logs an error when it stops doing so. */
export function watchDatabaseFile(path: string, opened: FileIdentity, opts: { intervalMs: number; log: Logger }): DatabaseWatch {
  let problem: string | undefined;
  const check = () => {
    const next = databaseProblem(path, opened);
    if (next && next !== problem) opts.log.error(`${next}; tokens created or revoked by the CLI do not reach it: restart the gateway`, { path });
    if (!next && problem) opts.log.info('the database file is back', { path });
    problem = next;
  };
  const timer = setInterval(check, opts.intervalMs);
  timer.unref?.();
  return { opened, problem: () => problem, close: () => clearInterval(timer) };
}
