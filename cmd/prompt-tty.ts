/**
 * @module One line from a terminal through node:readline, the platform's line editor: Ctrl-U/Ctrl-K/Ctrl-W, arrows,
 * Home/End, Ctrl-A/Ctrl-E and pasted text, with history off. Hidden answers go through the same editor with its
 * output muted, the technique of `read`/mute-stream (npm's password prompt) without the extra packages.
 * Loaded lazily by passwd.ts, only by a command that prompts on a terminal.
 */
import type { Writable } from 'node:stream';
import { PromptInterrupted } from './passwd.ts';

/** The editor's output: the terminal, or nothing at all while a hidden answer is typed. */
async function gatedOutput(terminal: NodeJS.WriteStream): Promise<Writable & { muted: boolean }> {
  const { Writable } = await import('node:stream');
  const out = new Writable({
    write(chunk, _encoding, callback) {
      if (!out.muted) terminal.write(chunk);
      callback();
    },
  }) as Writable & { muted: boolean; columns?: number; rows?: number };
  out.muted = false;
  // readline wraps long lines by these; a muted line is never drawn, so only the visible case needs them.
  out.columns = terminal.columns ?? 80;
  out.rows = terminal.rows ?? 24;
  return out;
}

/**
 * Reads one line: the prompt on `terminal` (stderr), the answer edited in raw mode and never echoed when `hidden`.
 * Enter (or a line break in pasted text) ends it; Ctrl-D on an empty line is the end of input (null); Ctrl-C throws
 * PromptInterrupted. The interface lives for one answer, so stdin is released between prompts.
 */
export async function readTtyLine(stdin: NodeJS.ReadStream, terminal: NodeJS.WriteStream, prompt: string, hidden: boolean): Promise<string | null> {
  // Imported here, not at the top: the single-file bundle hoists static imports of built-ins to start-up.
  const { createInterface } = await import('node:readline');
  const output = await gatedOutput(terminal);
  const rl = createInterface({ input: stdin, output, terminal: true, historySize: 0, prompt, tabSize: 4 });
  return new Promise<string | null>((resolve, reject) => {
    let settled = false;
    const finish = (settle: () => void, byEnter: boolean) => {
      if (settled) return;
      settled = true;
      output.muted = false;
      // readline ends a visible line itself; a hidden one, Ctrl-C and Ctrl-D leave the cursor after the prompt.
      if (hidden || !byEnter) terminal.write('\n');
      rl.close();
      stdin.pause();
      settle();
    };
    rl.on('line', (line) => finish(() => resolve(line), true));
    rl.on('SIGINT', () => finish(() => reject(new PromptInterrupted()), false));
    rl.on('close', () => finish(() => resolve(null), false));
    rl.prompt();
    // The prompt is drawn; from here on a hidden answer draws nothing (no characters, no asterisks, no length).
    output.muted = hidden;
  });
}
