/** @module CLI output: data on stdout, messages on stderr, `error:`/`hint:` lines, colour only on a TTY without NO_COLOR. */

export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  isTTY: boolean;
  color: boolean;
}

/** The process's own streams. */
export function processIo(env: Readonly<Record<string, string | undefined>> = process.env): CliIo {
  const isTTY = Boolean(process.stdout.isTTY);
  return {
    out: (t) => void process.stdout.write(t.endsWith('\n') ? t : t + '\n'),
    err: (t) => void process.stderr.write(t.endsWith('\n') ? t : t + '\n'),
    isTTY,
    color: Boolean(process.stderr.isTTY) && !env.NO_COLOR,
  };
}

/** Prints `error: …` and optionally `hint: …` to stderr. */
export function printError(io: CliIo, message: string, hint?: string): void {
  const red = (s: string) => (io.color ? `\u001b[31m${s}\u001b[0m` : s);
  io.err(`${red('error:')} ${message}`);
  if (hint) io.err(`hint: ${hint}`);
}

/** Terminal columns a string takes (Bun.stringWidth: CJK and emoji count 2, combining marks and ANSI colours 0). */
export const displayWidth = (s: string): number => Bun.stringWidth(s);

/** Pads with spaces to `width` terminal columns (String.padEnd counts UTF-16 units, which misaligns wide characters). */
export function padEndWidth(s: string, width: number): string {
  return s + ' '.repeat(Math.max(0, width - displayWidth(s)));
}

/** A plain aligned text table (no colour, so it pipes cleanly); columns are measured in terminal cells. */
export function formatTable(headers: string[], rows: (string | number | undefined)[][]): string {
  const cells = [headers, ...rows.map((r) => r.map((c) => (c === undefined ? '-' : String(c))))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => displayWidth(r[i] ?? ''))));
  return cells.map((r) => r.map((c, i) => (i === r.length - 1 ? c : padEndWidth(c, widths[i]))).join('  ')).join('\n');
}

let graphemes: Intl.Segmenter | undefined; // created on first use: ICU set-up stays off the start-up path

/** Shortens text to `max` terminal columns with an ellipsis, never splitting a character (emoji with modifiers included). */
export function truncateText(s: string, max: number): string {
  const one = s.replace(/\s+/g, ' ').trim();
  if (displayWidth(one) <= max) return one;
  let out = '';
  let used = 0;
  for (const { segment } of (graphemes ??= new Intl.Segmenter(undefined, { granularity: 'grapheme' })).segment(one)) {
    const w = displayWidth(segment);
    if (used + w > max - 1) break;
    out += segment;
    used += w;
  }
  return `${out}…`;
}
