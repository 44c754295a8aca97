/** @module Periodic cleanup of expired rows and never-used dynamically registered clients. */
import type { Database } from 'bun:sqlite';
import { deleteUnusedDcrClients } from './clients.ts';

const DAY = 24 * 60 * 60 * 1000;
/** An address that signed in stays exempt from the global sign-in ceiling this long after its last sign-in. */
const KNOWN_ADDRESS_TTL = 180 * DAY;

/** Counts of rows removed by one sweep. */
export interface SweepResult {
  clients: number;
  requests: number;
  codes: number;
  accessTokens: number;
  refreshTokens: number;
  counters: number;
}

/**
 * Deletes expired pending requests, codes, token records and stale counters, and DCR clients older than
 * `unusedClientTtl` that never obtained a token. Redeemed codes stay a day so a late replay still revokes.
 */
export function sweepStore(db: Database, now: number, opts: { unusedClientTtl: number; rateWindow: number; lockout: number }): SweepResult {
  return db.transaction(() => ({
    clients: deleteUnusedDcrClients(db, now - opts.unusedClientTtl),
    requests: db.query('DELETE FROM authorization_requests WHERE expires_at <= ?').run(now).changes,
    codes: db.query('DELETE FROM authorization_codes WHERE expires_at <= ?').run(now - DAY).changes,
    accessTokens: db.query('DELETE FROM access_tokens WHERE expires_at <= ?').run(now).changes,
    refreshTokens: db.query('DELETE FROM refresh_tokens WHERE expires_at <= ?').run(now).changes,
    counters:
      db.query('DELETE FROM rate_limits WHERE window_start <= ?').run(now - opts.rateWindow).changes +
      db
        .query('DELETE FROM login_throttle WHERE last_failure_at <= ? AND (locked_until IS NULL OR locked_until <= ?)')
        .run(now - Math.max(opts.lockout, DAY), now).changes +
      db.query('DELETE FROM login_known_addresses WHERE last_success_at <= ?').run(now - KNOWN_ADDRESS_TTL).changes,
  }))();
}
