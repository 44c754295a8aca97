/**
 * Runs once before the suite: rebuilds dist/mcpgw when any source is newer than it, so the e2e tests
 * never exercise a stale binary (issue 7 fault 15), whether the suite is started by `npm test` or by
 * `bun test <file>` after an edit.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dir, '..');
const BINARY = join(ROOT, 'dist/mcpgw');

function newest(path: string): number {
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  let max = 0;
  for (const e of readdirSync(path)) max = Math.max(max, newest(join(path, e)));
  return max;
}

const sourcesAt = Math.max(newest(join(ROOT, 'src')), newest(join(ROOT, 'cmd')), newest(join(ROOT, 'package.json')));
if (!existsSync(BINARY) || statSync(BINARY).mtimeMs < sourcesAt) {
  const build = Bun.spawnSync([process.execPath, join(ROOT, 'cmd/build.ts')], { cwd: ROOT, stdout: 'inherit', stderr: 'inherit' });
  if (build.exitCode !== 0) throw new Error('test preload: building dist/mcpgw failed');
}
