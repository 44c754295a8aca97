import { describe, expect, test } from 'bun:test';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findConfigPath, START_HINT } from '../../src/config/find.ts';

/** A temp dir with a fake home; removed at the end of the test's scope. */
function tempWorld() {
  const root = mkdtempSync(join(tmpdir(), 'mcpgw-find-'));
  const home = join(root, 'home');
  const cwd = join(root, 'work');
  mkdirSync(home);
  mkdirSync(cwd);
  return { root, home, cwd, [Symbol.dispose]: () => rmSync(root, { recursive: true, force: true }) };
}

function touch(path: string): string {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, 'listen: 127.0.0.1:0\n');
  return path;
}

describe('findConfigPath', () => {
  test('--config wins over everything, relative to cwd', () => {
    using w = tempWorld();
    const flagged = touch(join(w.cwd, 'conf', 'mine.yaml'));
    touch(join(w.cwd, 'gateway.yaml'));
    const env = { HOME: w.home, MCPGW_CONFIG: touch(join(w.root, 'env.yaml')) };
    expect(findConfigPath({ flag: 'conf/mine.yaml', env, cwd: w.cwd })).toEqual({ path: flagged });
  });

  test('--config naming a missing file -> error naming it, no fallback', () => {
    using w = tempWorld();
    touch(join(w.cwd, 'gateway.yaml'));
    const result = findConfigPath({ flag: 'nope.yaml', env: { HOME: w.home }, cwd: w.cwd });
    const missing = join(w.cwd, 'nope.yaml');
    expect(result).toEqual({ error: `config file not found: ${missing} (from --config)`, hint: `check the path, or ${START_HINT}`, tried: [missing] });
  });

  test('$MCPGW_CONFIG comes next, and a missing one is an error too', () => {
    using w = tempWorld();
    touch(join(w.cwd, 'gateway.yaml'));
    const fromEnv = touch(join(w.root, 'env.yaml'));
    expect(findConfigPath({ env: { HOME: w.home, MCPGW_CONFIG: fromEnv }, cwd: w.cwd })).toEqual({ path: fromEnv });
    const missing = findConfigPath({ env: { HOME: w.home, MCPGW_CONFIG: join(w.root, 'gone.yaml') }, cwd: w.cwd });
    expect('error' in missing && missing.error).toBe(`config file not found: ${join(w.root, 'gone.yaml')} (from $MCPGW_CONFIG)`);
  });

  test('./gateway.yaml before the XDG config dir', () => {
    using w = tempWorld();
    const local = touch(join(w.cwd, 'gateway.yaml'));
    touch(join(w.home, '.config', 'mcpgw', 'gateway.yaml'));
    expect(findConfigPath({ env: { HOME: w.home }, cwd: w.cwd })).toEqual({ path: local });
  });

  test('$XDG_CONFIG_HOME/mcpgw, defaulting to ~/.config/mcpgw', () => {
    using w = tempWorld();
    const underHome = touch(join(w.home, '.config', 'mcpgw', 'gateway.yaml'));
    expect(findConfigPath({ env: { HOME: w.home }, cwd: w.cwd })).toEqual({ path: underHome });
    const xdg = touch(join(w.root, 'xdg', 'mcpgw', 'gateway.yaml'));
    expect(findConfigPath({ env: { HOME: w.home, XDG_CONFIG_HOME: join(w.root, 'xdg') }, cwd: w.cwd })).toEqual({ path: xdg });
  });

  test('/etc/mcpgw/gateway.yaml last (through the exists seam)', () => {
    const exists = (p: string) => p === '/etc/mcpgw/gateway.yaml';
    expect(findConfigPath({ env: { HOME: '/home/u' }, cwd: '/work', exists })).toEqual({ path: '/etc/mcpgw/gateway.yaml' });
  });

  test('nothing found -> error listing every place looked, and how to start', () => {
    const tried: string[] = [];
    const exists = (p: string) => (tried.push(p), false);
    const result = findConfigPath({ env: { HOME: '/home/u', XDG_CONFIG_HOME: 'relative/ignored' }, cwd: '/work', exists });
    const places = ['/work/gateway.yaml', '/home/u/.config/mcpgw/gateway.yaml', '/etc/mcpgw/gateway.yaml'];
    expect(tried).toEqual(places);
    expect(result).toEqual({ error: `no config file found; looked in ${places.join(', ')}`, hint: START_HINT, tried: places });
    expect(START_HINT).toBe("copy gateway.example.yaml to ./gateway.yaml, or run 'mcpgw init'");
  });

  test('a directory named gateway.yaml is not a config file', () => {
    using w = tempWorld();
    mkdirSync(join(w.cwd, 'gateway.yaml'));
    const result = findConfigPath({ env: {}, cwd: w.cwd, exists: undefined });
    expect('error' in result && result.tried).toEqual([join(w.cwd, 'gateway.yaml'), '/etc/mcpgw/gateway.yaml']);
  });
});
