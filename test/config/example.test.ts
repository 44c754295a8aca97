import { describe, expect, test } from 'bun:test';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatIssue, parseConfigText } from '../../src/config/load.ts';
import { validateConfig } from '../../src/config/schema.ts';

const ROOT = join(import.meta.dir, '..', '..');
const EXAMPLE = join(ROOT, 'gateway.example.yaml');

function parseExample() {
  const result = parseConfigText(readFileSync(EXAMPLE, 'utf8'), EXAMPLE, { HOME: '/home/u' });
  if (!result.ok) throw new Error(result.issues.map((i) => formatIssue(i, EXAMPLE)).join('\n'));
  return result.config;
}

describe('gateway.example.yaml', () => {
  test('parses and validates: loopback, auth oauth (the default), state under .tmp, one stdio backend', () => {
    const c = parseExample();
    expect(c.listen).toBe('127.0.0.1:4444');
    expect(c.auth.mode).toBe('oauth');
    expect(c.data_dir).toBe(join(ROOT, '.tmp', 'state'));
    expect(Object.keys(c.backends)).toEqual(['everything']);
    expect(c.backends.everything).toMatchObject({ transport: 'stdio', command: 'node', cwd: ROOT, enabled: true, prefix: 'everything' });
  });

  test("the everything backend's entry point exists", () => {
    const b = parseExample().backends.everything;
    expect('args' in b && existsSync(join(b.cwd, b.args[0]))).toBe(true);
  });

  test('the values it documents are the schema defaults', () => {
    const c = parseExample();
    const defaults = validateConfig({}, { env: { HOME: '/home/u' }, configDir: ROOT });
    if (!defaults.ok) throw new Error('defaults must validate');
    const d = defaults.value;
    expect({ ...c.auth, mode: d.auth.mode }).toEqual(d.auth);
    expect([c.http, c.naming, c.backend_defaults, c.log_level, c.audit]).toEqual([d.http, d.naming, d.backend_defaults, d.log_level, d.audit]);
  });
});
