/** `serve` re-executes itself once with its runtime tuning set (cmd/tuning.ts); other commands never do. */
import { describe, expect, test } from 'bun:test';
import { SERVE_TUNING, tunedExec } from '../../cmd/tuning.ts';

describe('tunedExec', () => {
  test('the compiled binary: same arguments after the executable, the environment plus the tuning', () => {
    const r = tunedExec(['bun', '/$bunfs/root/mcpgw', 'serve', '--config', 'a b.yaml'], { HOME: '/h', UNSET: undefined }, '/usr/local/bin/mcpgw');
    expect(r).toEqual({
      file: '/usr/local/bin/mcpgw',
      args: ['/usr/local/bin/mcpgw', 'serve', '--config', 'a b.yaml'],
      env: { HOME: '/h', MIMALLOC_PURGE_DELAY: '1000', BUN_JSC_useFTLJIT: '0' },
    });
  });

  test('from source (`bun [flags] cmd/mcpgw.ts serve`) nothing starts over: the runtime flags would be lost', () => {
    expect(tunedExec(['/usr/bin/bun', '/src/cmd/mcpgw.ts', 'serve'], {}, '/usr/bin/bun')).toBeUndefined();
  });

  test("an operator's own values are kept; with every variable set nothing starts over (so it never loops)", () => {
    expect(tunedExec(['bun', '/$bunfs/root/mcpgw', 'serve'], { MIMALLOC_PURGE_DELAY: '-1' }, '/m')?.env).toEqual({ MIMALLOC_PURGE_DELAY: '-1', BUN_JSC_useFTLJIT: '0' });
    expect(tunedExec(['bun', '/$bunfs/root/mcpgw', 'serve'], { BUN_JSC_useFTLJIT: '1' }, '/m')?.env).toEqual({ BUN_JSC_useFTLJIT: '1', MIMALLOC_PURGE_DELAY: '1000' });
    expect(tunedExec(['bun', '/$bunfs/root/mcpgw', 'serve'], { MIMALLOC_PURGE_DELAY: '', BUN_JSC_useFTLJIT: '' }, '/m')).toBeUndefined();
    const once = tunedExec(['bun', '/$bunfs/root/mcpgw', 'serve'], {}, '/m')!;
    expect(tunedExec(['bun', '/$bunfs/root/mcpgw', 'serve'], once.env, '/m')).toBeUndefined();
    expect(Object.keys(SERVE_TUNING).sort()).toEqual(['BUN_JSC_useFTLJIT', 'MIMALLOC_PURGE_DELAY']);
  });

  test('commands other than serve never start over', () => {
    for (const args of [['tokens', 'list'], ['--version'], [], ['backends', 'add', 'serve']]) expect(tunedExec(['bun', '/$bunfs/root/mcpgw', ...args], {}, '/m')).toBeUndefined();
  });
});
