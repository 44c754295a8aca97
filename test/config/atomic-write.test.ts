import { describe, expect, test } from 'bun:test';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from '../../src/config/atomic-write.ts';

function tempDir() {
  const dir = mkdtempSync(join(tmpdir(), 'mcpgw-atomic-'));
  return { dir, [Symbol.dispose]: () => rmSync(dir, { recursive: true, force: true }) };
}

describe('writeFileAtomic (issue 8: every CLI write is atomic)', () => {
  test('a new file gets the given mode from the first byte; no temp file is left', () => {
    using t = tempDir();
    const path = join(t.dir, 'a.yaml');
    writeFileAtomic(path, 'x: 1\n');
    expect(statSync(path).mode & 0o777).toBe(0o600);
    writeFileAtomic(join(t.dir, 'unit.service'), '[Unit]\n', { mode: 0o644 });
    expect(statSync(join(t.dir, 'unit.service')).mode & 0o777).toBe(0o644);
    expect(readdirSync(t.dir).sort()).toEqual(['a.yaml', 'unit.service']);
  });

  test('replacing keeps a deliberate mode (0640 for a service group), tightens a world-readable file to 0600; the inode changes (rename, not truncate)', () => {
    using t = tempDir();
    const path = join(t.dir, 'gateway.yaml');
    writeFileSync(path, 'old\n');
    chmodSync(path, 0o640);
    const before = statSync(path).ino;
    writeFileAtomic(path, 'new\n');
    expect(readFileSync(path, 'utf8')).toBe('new\n');
    expect(statSync(path).mode & 0o777).toBe(0o640);
    expect(statSync(path).ino).not.toBe(before);
    chmodSync(path, 0o664);
    writeFileAtomic(path, 'newer\n');
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  test('exclusive refuses an existing file and leaves it and the directory untouched', () => {
    using t = tempDir();
    const path = join(t.dir, 'key.json');
    writeFileAtomic(path, 'first', { exclusive: true });
    expect(() => writeFileAtomic(path, 'second', { exclusive: true })).toThrow(/EEXIST|exists/);
    expect(readFileSync(path, 'utf8')).toBe('first');
    expect(readdirSync(t.dir)).toEqual(['key.json']);
  });

  test('a failed write (missing directory) throws and leaves nothing behind', () => {
    using t = tempDir();
    expect(() => writeFileAtomic(join(t.dir, 'nope', 'x'), 'x')).toThrow(/ENOENT/);
    expect(readdirSync(t.dir)).toEqual([]);
  });
});
