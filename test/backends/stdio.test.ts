import { expect, test } from 'bun:test';
import { backendEnv } from '../../src/backends/stdio.ts';

test('stdio backends get a minimal environment: PATH with the usual tool places, HOME, LANG, plus their env', () => {
  const env = backendEnv({ PATH: '/custom/bin', HOME: '/home/u', LANG: 'de_DE.UTF-8', SECRET_TOKEN: 'x', AWS_KEY: 'y' }, { API: 'k' }, '/opt/mcpgw');
  expect(Object.keys(env).sort()).toEqual(['API', 'HOME', 'LANG', 'PATH']);
  const path = env.PATH.split(':');
  for (const p of ['/custom/bin', '/opt/mcpgw', '/home/u/.local/bin', '/home/u/.npm-global/bin', '/usr/local/bin', '/usr/bin', '/bin']) expect(path).toContain(p);
  expect(new Set(path).size).toBe(path.length);
  expect(env.API).toBe('k');
  expect(backendEnv({}, {}).LANG).toBe('C.UTF-8');
});
