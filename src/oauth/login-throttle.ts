/** @module Password throttling for the consent page: per-IP increasing delay then lockout, plus a global lockout. */
import type { Database } from 'bun:sqlite';
import type { Logger } from '../log.ts';
import { clearThrottle, getThrottle, putThrottle, type ThrottleState } from '../store/throttle.ts';
import type { AuthSettings } from './settings.ts';

/** Failures allowed before the per-IP delay starts. */
const FREE_FAILURES = 3;
const MAX_DELAY = 60_000;

/** Outcome of asking whether a password attempt may be checked now. */
export type LoginDecision = { allowed: true } | { allowed: false; retryAfterMs: number; reason: 'locked' | 'delay' };

/** Wait required after `failures` consecutive failures: 0 for the first three, then 1 s doubling up to 60 s. */
export function delayAfter(failures: number): number {
  return failures < FREE_FAILURES ? 0 : Math.min(1000 * 2 ** (failures - FREE_FAILURES), MAX_DELAY);
}

/** The state that still counts at `now`: failures older than the lockout period and expired lockouts are forgotten. */
export function liveState(s: ThrottleState | undefined, now: number, lockout: number): ThrottleState | undefined {
  if (!s) return undefined;
  if (s.lockedUntil !== undefined) return now < s.lockedUntil ? s : undefined;
  return now - s.lastFailureAt > lockout ? undefined : s;
}

/** Whether an attempt may be checked now. Pure. */
export function decideLogin(s: ThrottleState | undefined, now: number, useDelay: boolean): LoginDecision {
  if (!s) return { allowed: true };
  if (s.lockedUntil !== undefined && now < s.lockedUntil) return { allowed: false, retryAfterMs: s.lockedUntil - now, reason: 'locked' };
  const wait = useDelay ? s.lastFailureAt + delayAfter(s.failures) - now : 0;
  return wait > 0 ? { allowed: false, retryAfterMs: wait, reason: 'delay' } : { allowed: true };
}

/** State after one more failure; reaching `max` locks for `lockout` ms. Pure. */
export function addFailure(s: ThrottleState | undefined, now: number, max: number, lockout: number): ThrottleState {
  const failures = (s?.failures ?? 0) + 1;
  return { failures, lastFailureAt: now, lockedUntil: failures >= max ? now + lockout : undefined };
}

/** Throttle bound to the database, so counts survive restarts. */
export interface LoginThrottle {
  /**
   * Decides whether a password may be checked now. An allowed attempt is counted as a failure before the
   * (slow) password check, so parallel guesses cannot outrun the counter; `succeeded` undoes it.
   */
  begin(ip: string, now: number): LoginDecision;
  /** The attempt had a wrong password (already counted): log it. */
  failed(ip: string, now: number): void;
  /** The attempt had the right password: forget the failures. */
  succeeded(ip: string): void;
}

/** Creates the throttle from `auth.login` settings. */
export function createLoginThrottle(db: Database, cfg: AuthSettings['login'], log: Logger): LoginThrottle {
  const ipKey = (ip: string) => `ip:${ip}`;
  const live = (key: string, now: number) => liveState(getThrottle(db, key), now, cfg.lockout);
  const count = (key: string, now: number, max: number) => {
    const next = addFailure(live(key, now), now, max, cfg.lockout);
    putThrottle(db, key, next);
    return next;
  };
  return {
    begin(ip, now) {
      return db.transaction((): LoginDecision => {
        const global = decideLogin(live('global', now), now, false);
        if (!global.allowed) return global;
        const perIp = decideLogin(live(ipKey(ip), now), now, true);
        if (!perIp.allowed && perIp.reason === 'locked') return perIp;
        const next = count(ipKey(ip), now, cfg.max_failures);
        if (next.lockedUntil !== undefined && !perIp.allowed) {
          log.warn('password attempts locked out', { ip, failures: next.failures });
          return { allowed: false, retryAfterMs: next.lockedUntil - now, reason: 'locked' };
        }
        // Hammering during the delay is counted too, so rapid guessing reaches the lockout quickly.
        if (!perIp.allowed) return perIp;
        count('global', now, cfg.global_max_failures);
        return { allowed: true };
      }).immediate();
    },
    failed(ip, now) {
      const perIp = live(ipKey(ip), now);
      const global = live('global', now);
      log.warn('wrong owner password', { ip, failures: perIp?.failures, global_failures: global?.failures });
      if (perIp?.lockedUntil !== undefined) log.warn('password attempts locked out', { ip, failures: perIp.failures });
      if (global?.lockedUntil !== undefined) log.warn('password attempts locked out globally', { failures: global.failures });
    },
    succeeded(ip) {
      clearThrottle(db, ipKey(ip));
      clearThrottle(db, 'global');
    },
  };
}
