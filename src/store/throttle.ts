/** @module Persistent counters: password-failure back-off, addresses that signed in before, and fixed-window rate limits (survive restarts). */
import type { Database } from 'bun:sqlite';

/** Failure state for one throttle key (`ip:<addr>` or `global`). */
export interface ThrottleState {
  failures: number;
  lastFailureAt: number;
  /** End of the current back-off, if one is running. */
  blockedUntil?: number;
}

/** The stored state for `key`, if any. */
export function getThrottle(db: Database, key: string): ThrottleState | undefined {
  const r = db.query('SELECT failures, last_failure_at, locked_until FROM login_throttle WHERE key = ?').get(key) as {
    failures: number;
    last_failure_at: number;
    locked_until: number | null;
  } | null;
  return r ? { failures: r.failures, lastFailureAt: r.last_failure_at, blockedUntil: r.locked_until ?? undefined } : undefined;
}

/** Stores the state for `key`. */
export function putThrottle(db: Database, key: string, s: ThrottleState): void {
  db.query(
    `INSERT INTO login_throttle (key, failures, last_failure_at, locked_until) VALUES (?, ?, ?, ?)
     ON CONFLICT (key) DO UPDATE SET failures = excluded.failures, last_failure_at = excluded.last_failure_at,
       locked_until = excluded.locked_until`,
  ).run(key, s.failures, s.lastFailureAt, s.blockedUntil ?? null);
}

/** Forgets the state for `key` (after a correct password). */
export function clearThrottle(db: Database, key: string): void {
  db.query('DELETE FROM login_throttle WHERE key = ?').run(key);
}

/** One row of the password back-off, as `mcpgw auth unlock` reports it. */
export interface ThrottleRow extends ThrottleState {
  key: string;
}

/** Every stored back-off row. */
export function listThrottles(db: Database): ThrottleRow[] {
  const rows = db.query('SELECT key, failures, last_failure_at, locked_until FROM login_throttle ORDER BY key').all() as {
    key: string;
    failures: number;
    last_failure_at: number;
    locked_until: number | null;
  }[];
  return rows.map((r) => ({ key: r.key, failures: r.failures, lastFailureAt: r.last_failure_at, blockedUntil: r.locked_until ?? undefined }));
}

/** Clears the password back-off: every address and the global ceiling, or only `ip:<address>`. Returns the rows removed. */
export function clearLoginThrottle(db: Database, address?: string): number {
  if (address === undefined) return db.query('DELETE FROM login_throttle').run().changes;
  return db.query('DELETE FROM login_throttle WHERE key = ?').run(`ip:${address}`).changes;
}

/** Records that `address` signed in with the right password (such addresses are exempt from the global ceiling). */
export function rememberSignIn(db: Database, address: string, now: number): void {
  db.query(
    `INSERT INTO login_known_addresses (address, last_success_at) VALUES (?, ?)
     ON CONFLICT (address) DO UPDATE SET last_success_at = excluded.last_success_at`,
  ).run(address, now);
}

/** Whether `address` has signed in successfully before. */
export function hasSignedInBefore(db: Database, address: string): boolean {
  return db.query('SELECT 1 FROM login_known_addresses WHERE address = ?').get(address) !== null;
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
