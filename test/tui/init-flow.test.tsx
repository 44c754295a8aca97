import { describe, expect, test } from 'bun:test';
import { render } from 'ink-testing-library';
import { InitFlow, type InitAnswers, type InitField } from '../../src/tui/InitFlow.tsx';

const tick = () => new Promise((r) => setTimeout(r, 20));

/** Renders the flow and types into it; `answers` resolves when onDone fires. */
function flow(initial: Partial<InitAnswers> = {}, validate: (f: InitField, v: string) => string | undefined = () => undefined) {
  let done: InitAnswers | undefined;
  let cancelled = false;
  const view = render(<InitFlow initial={initial} validate={validate} onDone={(a) => (done = a)} onCancel={() => (cancelled = true)} />);
  return {
    view,
    frame: () => view.lastFrame() ?? '',
    async type(text: string) {
      view.stdin.write(text);
      await tick();
    },
    async answer(text: string) {
      if (text) await this.type(text);
      await this.type('\r');
    },
    done: () => done,
    cancelled: () => cancelled,
  };
}

const validate = (f: InitField, v: string) => {
  if (f === 'listen' && !/^[^:]+:\d+$/.test(v)) return 'listen: must be host:port, like 127.0.0.1:4444';
  if (f === 'password' && !v) return 'an empty password is refused';
  return undefined;
};

describe('InitFlow', () => {
  test('walks through every question; the password is never on screen', async () => {
    const f = flow({ listen: '127.0.0.1:4444' }, validate);
    await tick();
    expect(f.frame()).toMatchSnapshot('1 first question');
    await f.answer('https://gw.tail1234.ts.net');
    await f.answer('nonsense');
    expect(f.frame()).toMatchSnapshot('2 invalid listen');
    await f.answer('');
    await f.answer('');
    await f.type('hunter2 secret');
    expect(f.frame()).toMatchSnapshot('3 typing the password');
    expect(f.frame()).not.toContain('hunter2');
    await f.type('\r');
    await f.answer('hunter2 secret');
    await f.answer('files=npx -y @modelcontextprotocol/server-filesystem /srv');
    expect(f.frame()).toMatchSnapshot('4 done');
    expect(f.frame()).not.toContain('hunter2');
    expect(f.done()).toEqual({
      publicUrl: 'https://gw.tail1234.ts.net',
      listen: '127.0.0.1:4444',
      dataDir: '',
      password: 'hunter2 secret',
      backend: 'files=npx -y @modelcontextprotocol/server-filesystem /srv',
    });
    f.view.unmount();
  });

  test('a password mismatch asks for the password again', async () => {
    const f = flow({}, validate);
    await tick();
    for (const a of ['', '127.0.0.1:4444', '']) await f.answer(a);
    await f.answer('one');
    await f.answer('two');
    expect(f.frame()).toMatchSnapshot('mismatch');
    expect(f.frame()).toContain('? Consent password:\n✗ the passwords do not match');
    await f.answer('three');
    await f.answer('three');
    await f.answer('');
    expect(f.done()?.password).toBe('three');
    f.view.unmount();
  });

  test('an empty password is refused; backspace edits the answer', async () => {
    const f = flow({}, validate);
    await tick();
    await f.answer('https://x.example.comm');
    expect(f.done()).toBeUndefined();
    await f.answer('127.0.0.1:1');
    await f.answer('');
    await f.answer('');
    expect(f.frame()).toContain('✗ an empty password is refused');
    f.view.unmount();
    const g = flow({}, validate);
    await tick();
    await g.type('https://x.example.comm');
    await g.type('\u007f');
    expect(g.frame()).toContain('? Public URL: https://x.example.com');
    g.view.unmount();
  });

  test('a pasted line ending in a line break is submitted like Enter', async () => {
    const f = flow({ listen: '127.0.0.1:4444' }, validate);
    await tick();
    await f.type('https://gw.tail1234.ts.net\r');
    await f.type('\r');
    expect(f.frame()).toContain('✓ Public URL: https://gw.tail1234.ts.net\n✓ Listen address: 127.0.0.1:4444');
    f.view.unmount();
  });

  test('Esc cancels', async () => {
    const f = flow();
    await tick();
    await f.type('\u001b');
    await tick();
    expect(f.cancelled()).toBe(true);
    expect(f.done()).toBeUndefined();
    f.view.unmount();
  });
});
