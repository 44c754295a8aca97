/** @module Durations in gateway.yaml ("250ms", "30s", "1h30m", or a plain number of seconds) as milliseconds. */

const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const WHOLE = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+$/;
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/g;
const SECONDS = /^\d+(?:\.\d+)?$/;

/** Message for a value `parseDuration` refuses. */
export const DURATION_MESSAGE = 'must be a duration like 30s, 5m, 1h or 30d';

/**
 * Parses a duration into whole milliseconds: `"250ms"`, `"30s"`, `"5m"`, `"1h"`, `"30d"`, combinations
 * such as `"1h30m"`, or a number (or numeric string) of seconds. Returns undefined for anything else,
 * including negative or non-finite values.
 */
export function parseDuration(v: string | number): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) && v >= 0 ? Math.round(v * 1000) : undefined;
  const s = v.trim();
  if (SECONDS.test(s)) return Math.round(Number(s) * 1000);
  if (!WHOLE.test(s)) return undefined;
  let ms = 0;
  for (const [, amount, unit] of s.matchAll(PART)) ms += Number(amount) * UNIT_MS[unit];
  return Number.isFinite(ms) ? Math.round(ms) : undefined;
}
