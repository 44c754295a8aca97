/** `serve` re-executes itself once with mimalloc's purge delay set (cmd/allocator.ts); other commands never do. */
import { describe, expect, test } from 'bun:test';
import { PURGE_DELAY_MS, purgeDelayExec } from '../../cmd/allocator.ts';

describe('purgeDelayExec', () => {
  test('the compiled binary: same arguments after the executable, the environment plus the delay', () => {
    const r = purgeDelayExec(['bun', '/$bunfs/root/mcpgw', 'serve', '--config', 'a b.yaml'], { HOME: '/h', UNSET: undefined }, '/usr/local/bin/mcpgw');
    expect(r).toEqual({ file: '/usr/local/bin/mcpgw', args: ['/usr/local/bin/mcpgw', 'serve', '--config', 'a b.yaml'], env: { HOME: '/h', MIMALLOC_PURGE_DELAY: PURGE_DELAY_MS } });
  });

  test('from source (`bun [flags] cmd/mcpgw.ts serve`) nothing starts over: the runtime flags would be lost', () => {
    expect(purgeDelayExec(['/usr/bin/bun', '/src/cmd/mcpgw.ts', 'serve'], {}, '/usr/bin/bun')).toBeUndefined();
  });

  test("an operator's own value is kept, and commands other than serve never start over", () => {
    expect(purgeDelayExec(['bun', '/$bunfs/root/mcpgw', 'serve'], { MIMALLOC_PURGE_DELAY: '-1' }, '/m')).toBeUndefined();
    expect(purgeDelayExec(['bun', '/$bunfs/root/mcpgw', 'serve'], { MIMALLOC_PURGE_DELAY: '' }, '/m')).toBeUndefined();
    for (const args of [['tokens', 'list'], ['--version'], [], ['backends', 'add', 'serve']]) expect(purgeDelayExec(['bun', '/$bunfs/root/mcpgw', ...args], {}, '/m')).toBeUndefined();
  });
});
