/** Pure translation of other clients' MCP configs (issue 9 item 7). */
import { describe, expect, test } from 'bun:test';
import { parseJsonc, planImport, sanitizeBackendName, translateValue } from '../../src/config/import.ts';

const ctx = { file: '/home/me/proj/.vscode/mcp.json', env: { TOKEN: 't', HOME: '/home/me' } };

describe('config import', () => {
  test('sanitizeBackendName: spaces, dots, leading punctuation and length give a valid backend name', () => {
    expect(sanitizeBackendName('my server.v2')).toBe('my-server-v2');
    expect(sanitizeBackendName('@scope/pkg')).toBe('scope-pkg');
    expect(sanitizeBackendName('ü')).toBe('server');
    expect(sanitizeBackendName('x'.repeat(40))).toHaveLength(32);
  });

  test('parseJsonc: comments and trailing commas go, // inside strings stays', () => {
    expect(parseJsonc('{ // c\n "u": "https://a/b", /* d */ "l": [1,2,], }')).toEqual({ u: 'https://a/b', l: [1, 2] });
  });

  test('translateValue: each client syntax becomes an mcpgw reference or a literal; unresolvable ones are problems', () => {
    expect(translateValue('Bearer ${env:TOKEN}', ctx)).toEqual({ value: 'Bearer ${TOKEN}' });
    expect(translateValue('${userHome}/x', ctx)).toEqual({ value: '${HOME}/x' });
    expect(translateValue('${workspaceFolder}/a', ctx)).toEqual({ value: '/home/me/proj/a' });
    expect(translateValue('${NOPE:-fallback}', ctx)).toEqual({ value: 'fallback' });
    expect(translateValue('${NOPE}', ctx)).toEqual({ problem: expect.stringContaining('NOPE') });
    expect(translateValue('${input:key}', ctx)).toEqual({ problem: expect.stringContaining('${input:key}') });
  });

  test('planImport: names that sanitize alike get -2; an existing name is skipped', () => {
    const plan = planImport({ 'a b': { command: 'x' }, 'a.b': { command: 'y' }, old: { url: 'https://h/mcp' } }, new Set(['old']), ctx);
    expect(plan.map((c) => [c.name, c.skip ?? 'add'])).toEqual([
      ['a-b', 'add'],
      ['a-b-2', 'add'],
      ['old', "a backend named 'old' exists already"],
    ]);
  });
});
