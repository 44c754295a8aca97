/** @module Persistent counters: password-failure throttling and fixed-window rate limits (survive restarts). */
import type { Database } from 'bun:sqlite';

/** Failure state for one throttle key (`ip:<addr>` or `global`). */
export interface ThrottleState {
  failures: number;
  lastFailureAt: number;
  lockedUntil?: number;
}

/** The stored state for `key`, if any. */
export function getThrottle(db: Database, key: string): ThrottleState | undefined {
  const r = db.query('SELECT failures, last_failure_at, locked_until FROM login_throttle WHERE key = ?').get(key) as {
    failures: number;
    last_failure_at: number;
    locked_until: number | null;
  } | null;
  return r ? { failures: r.failures, lastFailureAt: r.last_failure_at, lockedUntil: r.locked_until ?? undefined } : undefined;
}

/** Stores the state for `key`. */
export function putThrottle(db: Database, key: string, s: ThrottleState): void {
  db.query(
    `INSERT INTO login_throttle (key, failures, last_failure_at, locked_until) VALUES (?, ?, ?, ?)
     ON CONFLICT (key) DO UPDATE SET failures = excluded.failures, last_failure_at = excluded.last_failure_at,
       locked_until = excluded.locked_until`,
  ).run(key, s.failures, s.lastFailureAt, s.lockedUntil ?? null);
}

/** Forgets the state for `key` (after a correct password). */
export function clearThrottle(db: Database, key: string): void {
  db.query('DELETE FROM login_throttle WHERE key = ?').run(key);
}

/**
 * Counts one hit against `key` in a fixed window of `windowMs`; refuses once `limit` hits were counted.
 * Returns the wait until the window resets when refused.
 */
export function hitRateLimit(
  db: Database,
  key: string,
  now: number,
  windowMs: number,
  limit: number,
): { allowed: true } | { allowed: false; retryAfterMs: number } {
  return db.transaction(() => {
    const r = db.query('SELECT window_start, count FROM rate_limits WHERE key = ?').get(key) as { window_start: number; count: number } | null;
    const fresh = !r || now - r.window_start >= windowMs;
    const start = fresh ? now : r.window_start;
    const count = fresh ? 0 : r.count;
    if (count >= limit) return { allowed: false as const, retryAfterMs: start + windowMs - now };
    db.query(
      `INSERT INTO rate_limits (key, window_start, count) VALUES (?, ?, ?)
       ON CONFLICT (key) DO UPDATE SET window_start = excluded.window_start, count = excluded.count`,
    ).run(key, start, count + 1);
    return { allowed: true as const };
  }).immediate();
}
