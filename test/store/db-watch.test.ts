import { describe, expect, test } from 'bun:test';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { databaseProblem, fileIdentity } from '../../src/store/db-watch.ts';

describe('database file watch (issue 8 finding 6)', () => {
  test('the same file is fine; a replaced file and a deleted file are each named', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mcpgw-dbwatch-'));
    try {
      const path = join(dir, 'mcpgw.db');
      writeFileSync(path, 'a');
      const opened = fileIdentity(path)!;
      expect(databaseProblem(path, opened)).toBeUndefined();
      writeFileSync(join(dir, 'other'), 'b');
      renameSync(join(dir, 'other'), path);
      expect(databaseProblem(path, opened)).toBe('the database file was replaced while the gateway runs');
      rmSync(path);
      expect(databaseProblem(path, opened)).toBe('the database file was deleted while the gateway runs');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
