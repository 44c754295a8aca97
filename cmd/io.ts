/** @module CLI output: data on stdout, messages on stderr, `error:`/`hint:` lines, colour only on a TTY without NO_COLOR. */
import { isTerminal } from '../src/stdio-out.ts';
import { cutToWidth, displayWidth, padEndWidth } from '../src/text.ts';

export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  isTTY: boolean;
  color: boolean;
}

/** The process's own streams. */
export function processIo(env: Readonly<Record<string, string | undefined>> = process.env): CliIo {
  // The streams are made on first output: `serve` writes here only when it fails to start (issue 7, memory).
  return {
    out: (t) => void process.stdout.write(t.endsWith('\n') ? t : t + '\n'),
    err: (t) => void process.stderr.write(t.endsWith('\n') ? t : t + '\n'),
    isTTY: isTerminal(1),
    color: isTerminal(2) && !env.NO_COLOR,
  };
}

/** Prints `error: …` and optionally `hint: …` to stderr. */
export function printError(io: CliIo, message: string, hint?: string): void {
  const red = (s: string) => (io.color ? `\u001b[31m${s}\u001b[0m` : s);
  io.err(`${red('error:')} ${message}`);
  if (hint) io.err(`hint: ${hint}`);
}

export { displayWidth, padEndWidth };

/** A plain aligned text table (no colour, so it pipes cleanly); columns are measured in terminal cells. */
export function formatTable(headers: string[], rows: (string | number | undefined)[][]): string {
  const cells = [headers, ...rows.map((r) => r.map((c) => (c === undefined ? '-' : String(c))))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => displayWidth(r[i] ?? ''))));
  return cells.map((r) => r.map((c, i) => (i === r.length - 1 ? c : padEndWidth(c, widths[i]))).join('  ')).join('\n');
}

/** Shortens text to `max` terminal columns with an ellipsis, never splitting a character; whitespace runs become one space. */
export function truncateText(s: string, max: number): string {
  return cutToWidth(s.replace(/\s+/g, ' ').trim(), max);
}
