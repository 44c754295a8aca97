/** Runs the compiled binary on a real pseudo-terminal (Bun.spawn's `terminal`), to type into prompts as a person would. */
import { BINARY, baseEnv, ROOT } from './cli.ts';

export interface TerminalSession extends AsyncDisposable {
  /** Everything the program wrote to the terminal so far (stdout and stderr share it), escape sequences included. */
  output(): string;
  /** Waits until `text` appears after the previous match; rejects after `timeoutMs` with the output so far. */
  waitFor(text: string, timeoutMs?: number): Promise<void>;
  /** Sends keys (raw bytes: '\r' is Enter, '\u0015' Ctrl-U, '\u001b[D' left arrow, '\u0003' Ctrl-C). */
  type(keys: string): void;
  /** Exit code; rejects after `timeoutMs`. */
  exitCode(timeoutMs?: number): Promise<number>;
}

interface PtyTerminal {
  write(data: string): void;
  close(): void;
}

/** Starts `mcpgw <args>` on an 80x24 pseudo-terminal with `baseEnv(env)`. Dispose ends it by its PID. */
export function startInTerminal(args: string[], opts: { cwd?: string; env?: Record<string, string | undefined> } = {}): TerminalSession {
  let text = '';
  let from = 0;
  const listeners = new Set<() => void>();
  const decoder = new TextDecoder();
  const proc = Bun.spawn([BINARY, ...args], {
    cwd: opts.cwd ?? ROOT,
    env: baseEnv(opts.env),
    terminal: {
      cols: 80,
      rows: 24,
      data(_t: unknown, chunk: Uint8Array) {
        text += decoder.decode(chunk, { stream: true });
        for (const l of listeners) l();
      },
    },
  } as unknown as Parameters<typeof Bun.spawn>[1]);
  const terminal = (proc as unknown as { terminal: PtyTerminal }).terminal;
  const bounded = <T>(p: Promise<T>, ms: number, what: string) =>
    new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${what} after ${ms} ms; terminal so far:\n${JSON.stringify(text)}`)), ms);
      p.then((v) => (clearTimeout(timer), resolve(v)), (e) => (clearTimeout(timer), reject(e)));
    });
  return {
    output: () => text,
    waitFor(needle, timeoutMs = 5000) {
      const found = new Promise<void>((resolve) => {
        const check = () => {
          const at = text.indexOf(needle, from);
          if (at < 0) return;
          from = at + needle.length;
          listeners.delete(check);
          resolve();
        };
        listeners.add(check);
        check();
      });
      return bounded(found, timeoutMs, `no ${JSON.stringify(needle)}`);
    },
    type: (keys) => terminal.write(keys),
    exitCode: (timeoutMs = 10_000) => bounded(proc.exited, timeoutMs, 'still running'),
    async [Symbol.asyncDispose]() {
      if (proc.exitCode === null) proc.kill('SIGKILL');
      await proc.exited;
      terminal.close();
    },
  };
}
