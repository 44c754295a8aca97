/** @module After a CLI write to the database: does the running gateway see it? Asked over the admin socket (issue 8 finding 6). */
import { databasePath } from '../src/gateway.ts';
import { adminRequest } from '../src/http/admin.ts';
import { fileIdentity, type DbIdentity } from '../src/store/db-watch.ts';
import type { CliIo } from './io.ts';
import { ok } from './passwd.ts';

/**
 * Prints `✓ <done>; <liveEffect>` only when the gateway serving `dataDir` has the very database file the CLI wrote
 * open; otherwise says the gateway is not running, or warns that it uses another file and must be restarted.
 */
export async function reportLiveEffect(io: CliIo, dataDir: string, done: string, liveEffect: string): Promise<void> {
  const path = databasePath(dataDir);
  const mine = fileIdentity(path);
  const live = (await adminRequest(dataDir, '/db-identity')) as DbIdentity | undefined;
  if (!live) {
    io.err(ok(io, `${done} (no gateway is running on data_dir ${dataDir}; it reads this database when it starts)`));
    return;
  }
  if (mine && live.dev === mine.dev && live.ino === mine.ino && !live.problem) {
    io.err(ok(io, `${done}; ${liveEffect}`));
    return;
  }
  io.err(ok(io, `${done} in ${path}`));
  const yellow = (s: string) => (io.color ? `\u001b[33m${s}\u001b[0m` : s);
  const which = live.problem ?? `inode ${live.ino}, while ${path} is inode ${mine?.ino ?? 'missing'}`;
  io.err(`${yellow('warning:')} the running gateway (pid ${live.pid}) uses another database file (${which}); restart it`);
}
