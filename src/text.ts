/** @module Text measured in terminal cells (Bun.stringWidth: CJK and emoji take 2, combining marks and ANSI colours 0), for tables and the TUI. */

/** Terminal columns a string takes. */
export const displayWidth = (s: string): number => Bun.stringWidth(s);

/** Pads with spaces to `width` terminal columns (String.padEnd counts UTF-16 units, which misaligns wide characters). */
export function padEndWidth(s: string, width: number): string {
  return s + ' '.repeat(Math.max(0, width - displayWidth(s)));
}

let graphemes: Intl.Segmenter | undefined; // created on first use: ICU set-up stays off the start-up path

/** Cuts `s` to at most `max` terminal columns, ending in `…` when cut; never splits a character (emoji sequences included). */
export function cutToWidth(s: string, max: number): string {
  if (displayWidth(s) <= max) return s;
  let out = '';
  let used = 0;
  for (const { segment } of (graphemes ??= new Intl.Segmenter(undefined, { granularity: 'grapheme' })).segment(s)) {
    const w = displayWidth(segment);
    if (used + w > max - 1) break;
    out += segment;
    used += w;
  }
  return `${out}…`;
}
