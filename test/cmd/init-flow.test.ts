/** The `mcpgw init` questions (cmd/init-flow.ts) driven through a scripted PromptInput; the terminal editing itself is in prompt-tty.test.ts. */
import { describe, expect, test } from 'bun:test';
import { MAX_TRIES, runInitFlow, type InitField } from '../../cmd/init-flow.ts';
import type { CliIo } from '../../cmd/io.ts';
import { scriptedInput } from '../helpers/cli.ts';

function captureIo(): CliIo & { text: () => string } {
  const lines: string[] = [];
  return { out: (t) => void lines.push(t), err: (t) => void lines.push(t), isTTY: true, color: false, text: () => lines.join('\n') };
}

const validate = (f: InitField, v: string) => {
  if (f === 'listen' && !/^[^:]+:\d+$/.test(v)) return 'listen: must be host:port, like 127.0.0.1:4444';
  if (f === 'password' && !v) return 'an empty password is refused';
  return undefined;
};

describe('init flow (line prompts)', () => {
  test('walks through every question; defaults in brackets; the password prompts are hidden and never printed', async () => {
    const io = captureIo();
    const input = scriptedInput(['https://gw.tail1234.ts.net', 'nonsense', '', '', 'hunter2 secret', 'hunter2 secret', 'files=npx -y @modelcontextprotocol/server-filesystem /srv'], { isTTY: true });
    const got = await runInitFlow(input, io, { initial: { listen: '127.0.0.1:4444' }, validate });
    expect(got).toEqual({
      publicUrl: 'https://gw.tail1234.ts.net',
      listen: '127.0.0.1:4444',
      dataDir: '',
      password: 'hunter2 secret',
      backend: 'files=npx -y @modelcontextprotocol/server-filesystem /srv',
    });
    expect(input.prompts).toEqual([
      '? Public URL: ',
      '? Listen address [127.0.0.1:4444]: ',
      '? Listen address [127.0.0.1:4444]: ',
      '? Data directory: ',
      '? Consent password: ',
      '? Repeat the password: ',
      '? First backend: ',
    ]);
    expect(input.hidden).toEqual([false, false, false, false, true, true, false]);
    expect(io.text()).toContain('✗ listen: must be host:port, like 127.0.0.1:4444');
    expect(io.text()).toContain('not shown while you type');
    expect(io.text()).not.toContain('hunter2');
  });

  test('a password mismatch asks for the password again, from the first copy', async () => {
    const io = captureIo();
    const input = scriptedInput(['', '127.0.0.1:4444', '', 'one', 'two', 'three', 'three', ''], { isTTY: true });
    const got = await runInitFlow(input, io, { initial: {}, validate });
    expect(got?.password).toBe('three');
    expect(input.prompts.slice(3, 7)).toEqual(['? Consent password: ', '? Repeat the password: ', '? Consent password: ', '? Repeat the password: ']);
    expect(io.text()).toContain('✗ the passwords do not match; type it again');
  });

  test('an empty password is refused and asked again; passwords are taken exactly as typed', async () => {
    const io = captureIo();
    const input = scriptedInput(['', '127.0.0.1:1', '', '', '  spaced pw  ', '  spaced pw  ', ''], { isTTY: true });
    const got = await runInitFlow(input, io, { initial: {}, validate });
    expect(io.text()).toContain('✗ an empty password is refused');
    expect(got?.password).toBe('  spaced pw  ');
  });

  test('Ctrl-D (end of input) or Ctrl-C at any question cancels', async () => {
    expect(await runInitFlow(scriptedInput(['https://x.example.com'], { isTTY: true }), captureIo(), { initial: {}, validate })).toBeNull();
    expect(await runInitFlow(scriptedInput(['', ''], { isTTY: true, interruptAt: 2 }), captureIo(), { initial: {}, validate })).toBeNull();
  });

  test(`a question gives up after ${MAX_TRIES} wrong answers (bounded, never loops forever)`, async () => {
    const input = scriptedInput(['', ...Array(MAX_TRIES + 5).fill('bad')], { isTTY: true });
    expect(await runInitFlow(input, captureIo(), { initial: {}, validate })).toBeNull();
    expect(input.prompts.filter((p) => p.startsWith('? Listen address'))).toHaveLength(MAX_TRIES);
  });
});
