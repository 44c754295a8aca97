/**
 * issue 9 item 11: prompts on a real terminal (the compiled binary on a pseudo-terminal) edit lines with node:readline:
 * Ctrl-U, arrows, Ctrl-A, pasted text; a password is never echoed. The hand-written raw-mode reader had none of these.
 */
import { beforeAll, describe, expect, test } from 'bun:test';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfigText } from '../../src/config/load.ts';
import { ensureBinary } from '../helpers/cli.ts';
import { startInTerminal } from '../helpers/terminal.ts';

const KEY = { enter: '\r', ctrlU: '\u0015', ctrlA: '\u0001', ctrlC: '\u0003', ctrlD: '\u0004', left: '\u001b[D', right: '\u001b[C', backspace: '\u007f' };
const CONFIG = 'listen: 127.0.0.1:4444\nauth:\n  mode: oauth\nbackends: {}\n';

function tempDir(): { dir: string } & Disposable {
  const dir = mkdtempSync(join(tmpdir(), 'mcpgw-tty-'));
  return { dir, [Symbol.dispose]: () => rmSync(dir, { recursive: true, force: true }) };
}

function parsed(path: string) {
  const r = parseConfigText(readFileSync(path, 'utf8'), path, { HOME: '/home/x' });
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return r.config;
}

describe('issue 9 item 11: terminal prompts (compiled binary on a pty)', () => {
  beforeAll(() => ensureBinary());

  test('passwd: Ctrl-U clears, arrows move the cursor, a paste with its line break submits; nothing is echoed', async () => {
    using t = tempDir();
    const path = join(t.dir, 'gateway.yaml');
    writeFileSync(path, CONFIG);
    await using term = startInTerminal(['passwd', '--config', path]);
    await term.waitFor('New password: ');
    // A wrong start, wiped with Ctrl-U; then a typo mended in the middle with the left arrow.
    term.type('wrong start' + KEY.ctrlU + 'correct horse batery');
    term.type(KEY.left.repeat(3) + 't' + KEY.right.repeat(3) + KEY.enter);
    await term.waitFor('Repeat password: ');
    term.type('correct horse battery' + KEY.enter); // pasted: one write, ending in a line break
    expect(await term.exitCode()).toBe(0);
    await term.waitFor('password set');
    expect(await Bun.password.verify('correct horse battery', parsed(path).auth.password_hash!)).toBe(true);
    for (const secret of ['wrong', 'correct', 'horse', 'battery', 'batery', '*']) expect(term.output()).not.toContain(secret);
  });

  test('passwd: Ctrl-C at the prompt -> exit 130, nothing written', async () => {
    using t = tempDir();
    const path = join(t.dir, 'gateway.yaml');
    writeFileSync(path, CONFIG);
    await using term = startInTerminal(['passwd', '--config', path]);
    await term.waitFor('New password: ');
    term.type('half typed' + KEY.ctrlC);
    expect(await term.exitCode()).toBe(130);
    expect(readFileSync(path, 'utf8')).toBe(CONFIG);
    expect(term.output()).not.toContain('half');
  });

  test('passwd: Ctrl-D on an empty line is the end of input -> empty password refused', async () => {
    using t = tempDir();
    const path = join(t.dir, 'gateway.yaml');
    writeFileSync(path, CONFIG);
    await using term = startInTerminal(['passwd', '--config', path]);
    await term.waitFor('New password: ');
    term.type(KEY.ctrlD);
    expect(await term.exitCode()).toBe(1);
    await term.waitFor('error: empty password refused');
  });

  test('init: visible answers are edited in place (Ctrl-U, Ctrl-A, backspace), the password is hidden, the file is written', async () => {
    using t = tempDir();
    const path = join(t.dir, 'gateway.yaml');
    await using term = startInTerminal(['init', '--config', path, '--data-dir', join(t.dir, 'state')], { cwd: t.dir });
    await term.waitFor('? Public URL: ');
    term.type('https://typo.example' + KEY.ctrlU + 'https://gw.example.comm' + KEY.backspace + KEY.enter);
    await term.waitFor('? Listen address [127.0.0.1:4444]: ');
    term.type(KEY.enter);
    await term.waitFor('? Data directory [');
    term.type(KEY.enter);
    await term.waitFor('? Consent password: ');
    term.type('pasted password 42\r');
    await term.waitFor('? Repeat the password: ');
    term.type('pasted password 42\r');
    await term.waitFor('? First backend: ');
    term.type('=https://erp.lan/mcp' + KEY.ctrlA + 'erp' + KEY.enter);
    expect(await term.exitCode()).toBe(0);
    const config = parsed(path);
    expect(config.public_url).toBe('https://gw.example.com');
    expect(config.listen).toBe('127.0.0.1:4444');
    expect(config.backends.erp?.transport).toBeDefined();
    expect(await Bun.password.verify('pasted password 42', config.auth.password_hash!)).toBe(true);
    expect(term.output()).not.toContain('pasted');
    expect(term.output()).toContain('https://gw.example.com');
  });

  test('init: Ctrl-C at a question -> exit 130, cancelled, nothing written', async () => {
    using t = tempDir();
    const path = join(t.dir, 'gateway.yaml');
    await using term = startInTerminal(['init', '--config', path], { cwd: t.dir });
    await term.waitFor('? Public URL: ');
    term.type(KEY.ctrlC);
    expect(await term.exitCode()).toBe(130);
    await term.waitFor('cancelled; nothing was written');
    expect(existsSync(path)).toBe(false);
  });
});
