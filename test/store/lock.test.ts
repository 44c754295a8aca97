import { describe, expect, test } from 'bun:test';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { acquireDataDirLock, DataDirLockedError, lockPaths } from '../../src/store/lock.ts';

function tempDir() {
  const dir = mkdtempSync(join(tmpdir(), 'mcpgw-lock-'));
  return { dir, [Symbol.dispose]: () => rmSync(dir, { recursive: true, force: true }) };
}

const HOLD = `
  const { acquireDataDirLock } = await import(${JSON.stringify(join(import.meta.dir, '../../src/store/lock.ts'))});
  globalThis.held = acquireDataDirLock(process.env.LOCK_DIR);
  console.log('held');
  setInterval(() => {}, 1000);
`;

describe('data dir lock (issue 8 finding 7)', () => {
  test('a second holder is refused naming the first PID; after release it can take the lock', () => {
    using t = tempDir();
    const first = acquireDataDirLock(t.dir, 4242);
    expect(readFileSync(lockPaths(t.dir).pid, 'utf8')).toBe('4242\n');
    let refused: unknown;
    try {
      acquireDataDirLock(t.dir, 5353);
    } catch (err) {
      refused = err;
    }
    expect(refused).toBeInstanceOf(DataDirLockedError);
    expect((refused as Error).message).toBe(`another mcpgw (pid 4242) is already serving data_dir ${t.dir}`);
    first.release();
    expect(existsSync(lockPaths(t.dir).pid)).toBe(false);
    acquireDataDirLock(t.dir, 5353).release();
  });

  test('a process killed with SIGKILL leaves no stale lock; while alive, it holds the lock against this process', async () => {
    using t = tempDir();
    const child = Bun.spawn([process.execPath, '-e', HOLD], { env: { ...process.env, LOCK_DIR: t.dir }, stdout: 'pipe', stderr: 'inherit' });
    try {
      const reader = child.stdout.getReader();
      let out = '';
      for (let i = 0; i < 20 && !out.includes('held'); i++) {
        const { value, done } = await reader.read();
        if (done) break;
        out += new TextDecoder().decode(value);
      }
      expect(out).toContain('held');
      expect(() => acquireDataDirLock(t.dir)).toThrow(`another mcpgw (pid ${child.pid})`);
      child.kill('SIGKILL');
      await child.exited;
      acquireDataDirLock(t.dir).release();
    } finally {
      child.kill('SIGKILL');
    }
  });
});
