/** @module The one way the CLI writes a file: temp file in the same directory, fsync, rename (issue 8 "config and state cannot be lost by accident"). */
import { chmodSync, chownSync, closeSync, fsyncSync, linkSync, openSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

export interface AtomicWriteOptions {
  /**
   * Mode of a new file (default 0600). An existing file keeps a deliberate mode (no "other" bits, e.g. 0640
   * root:mcpgw for the service user); a world-readable one (the umask default) becomes 0600, as it may now hold
   * secrets.
   */
  mode?: number;
  /** Fail with EEXIST instead of replacing an existing file (the new file is linked into place, never renamed). */
  exclusive?: boolean;
}

/**
 * Replaces `path` with `text` so that a reader (or a crash) sees either the old or the new content, never a
 * partial or empty file. The temp file has its final mode from the first byte; when root replaces a file another
 * user owns, that owner is kept.
 */
export function writeFileAtomic(path: string, text: string, opts: AtomicWriteOptions = {}): void {
  const existing = opts.exclusive ? undefined : statOrUndefined(path);
  const mode = existing ? keptMode(existing.mode) : (opts.mode ?? 0o600);
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`);
  try {
    const fd = openSync(tmp, 'wx', mode);
    try {
      writeSync(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    // The umask may have narrowed the mode openSync used.
    chmodSync(tmp, mode);
    if (existing && process.getuid?.() === 0) chownSync(tmp, existing.uid, existing.gid);
    if (opts.exclusive) {
      linkSync(tmp, path);
      rmSync(tmp, { force: true });
    } else {
      renameSync(tmp, path);
    }
    syncDirectory(dirname(path));
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

function keptMode(mode: number): number {
  return mode & 0o007 ? 0o600 : mode & 0o770;
}

function statOrUndefined(path: string): { mode: number; uid: number; gid: number } | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}

// The rename itself is durable only once the directory entry is on disk.
function syncDirectory(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // Some filesystems refuse fsync on a directory; the rename is still atomic.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
