/** @module Password throttling for the consent page: per-address exponential back-off and a global ceiling for unknown addresses. */
import type { Database } from 'bun:sqlite';
import type { Clock } from '../deps.ts';
import type { Logger } from '../log.ts';
import { clearThrottle, getThrottle, hasSignedInBefore, putThrottle, rememberSignIn, type ThrottleState } from '../store/throttle.ts';
import type { AuthSettings } from './settings.ts';

const DAY = 24 * 60 * 60 * 1000;
/** Failures are forgotten after a day without one (a back-off still running is kept until it ends). */
export const FORGET_AFTER = DAY;
/** Attempts that may wait for a check slot per key; more are refused at once. */
const MAX_WAITERS = 64;
/** How long one attempt waits for a slot (real time: a password check takes milliseconds). */
const MAX_WAIT_MS = 10_000;
/** How many times one attempt re-decides after waiting before it gives up. */
const MAX_ROUNDS = 100;

/** A refusal; no password was checked and nothing was counted. */
export interface LoginRefusal {
  allowed: false;
  retryAfterMs: number;
  /** `address`: this address's back-off; `global`: the ceiling for addresses never signed in; `busy`: too many attempts at once. */
  scope: 'address' | 'global' | 'busy';
}

/** Permission to check one password; `finish` must be called exactly once with the result. */
export interface LoginTicket {
  allowed: true;
  finish(correct: boolean): void;
}

/** Back-off after `failures` consecutive failures: none for the first `free`, then 1 s doubling, capped at `cap`. Pure. */
export function backoffAfter(failures: number, free: number, cap: number): number {
  return failures < free ? 0 : Math.min(1000 * 2 ** Math.min(failures - free, 40), cap);
}

/** The state that still counts at `now`: a day without failures forgets them, unless a back-off is still running. Pure. */
export function liveState(s: ThrottleState | undefined, now: number): ThrottleState | undefined {
  if (!s) return undefined;
  if (s.blockedUntil !== undefined && now < s.blockedUntil) return s;
  return now - s.lastFailureAt >= FORGET_AFTER ? undefined : s;
}

/** Milliseconds left of the back-off at `now`, 0 when none runs. Pure. */
export function backoffLeft(s: ThrottleState | undefined, now: number): number {
  return s?.blockedUntil !== undefined && now < s.blockedUntil ? s.blockedUntil - now : 0;
}

/** State after one more (wrong-password) failure. Pure. */
export function addFailure(s: ThrottleState | undefined, now: number, free: number, cap: number): ThrottleState {
  const failures = (s?.failures ?? 0) + 1;
  const wait = backoffAfter(failures, free, cap);
  return { failures, lastFailureAt: now, blockedUntil: wait > 0 ? now + wait : undefined };
}

/**
 * How many checks may run at once for a key: the failures still free, so parallel guesses cannot outrun the
 * counter; one at a time once the free failures are used up. Pure.
 */
export function checkSlots(s: ThrottleState | undefined, free: number): number {
  return Math.max(1, free - (s?.failures ?? 0));
}

/** "in less than a minute", "in 1 minute", "in 15 minutes". Pure. */
export function formatWait(ms: number): string {
  if (ms < 60_000) return 'in less than a minute';
  const minutes = Math.ceil(ms / 60_000);
  return `in ${minutes} minute${minutes === 1 ? '' : 's'}`;
}

/** Throttle bound to the database (so back-offs survive restarts) plus in-memory counts of checks in flight. */
export interface LoginThrottle {
  /**
   * Asks to check a password from `address`. Refused during a back-off (not counted, the password is not
   * checked); otherwise waits until a check slot is free and returns a ticket.
   */
  begin(address: string): Promise<LoginTicket | LoginRefusal>;
}

/** In-memory counts of password checks in flight per throttle key, and the attempts waiting for one to end. */
function createGates() {
  const gates = new Map<string, { inflight: number; waiters: (() => void)[] }>();
  const gate = (key: string) => {
    let g = gates.get(key);
    if (!g) gates.set(key, (g = { inflight: 0, waiters: [] }));
    return g;
  };
  return {
    inflight: (key: string) => gates.get(key)?.inflight ?? 0,
    waiting: (key: string) => gates.get(key)?.waiters.length ?? 0,
    acquire: (keys: string[]) => keys.forEach((k) => gate(k).inflight++),
    release(key: string) {
      const g = gate(key);
      g.inflight--;
      const woken = g.waiters.splice(0);
      if (g.inflight === 0) gates.delete(key);
      for (const wake of woken) wake();
    },
    /** Resolves true when a check for `key` ended, false after MAX_WAIT_MS. */
    wait: (key: string) =>
      new Promise<boolean>((resolve) => {
        const waiters = gate(key).waiters;
        const wake = () => {
          clearTimeout(timer);
          resolve(true);
        };
        const timer = setTimeout(() => {
          const i = waiters.indexOf(wake);
          if (i >= 0) waiters.splice(i, 1);
          resolve(false);
        }, MAX_WAIT_MS);
        timer.unref?.();
        waiters.push(wake);
      }),
  };
}

/** Creates the throttle from `auth.login` settings: `max_failures` free failures per address, back-off capped at `lockout`. */
export function createLoginThrottle(db: Database, cfg: AuthSettings['login'], clock: Clock, log: Logger): LoginThrottle {
  const gates = createGates();
  const free = (key: string) => (key === 'global' ? cfg.global_max_failures : cfg.max_failures);
  const live = (key: string, now: number) => liveState(getThrottle(db, key), now);

  const recordFailure = (address: string, now: number) => {
    const [perAddress, global] = db.transaction(() =>
      [`ip:${address}`, 'global'].map((key) => {
        const next = addFailure(live(key, now), now, free(key), cfg.lockout);
        putThrottle(db, key, next);
        return next;
      }),
    ).immediate();
    log.warn('wrong owner password', { ip: address, failures: perAddress!.failures, global_failures: global!.failures });
    const left = backoffLeft(perAddress, now);
    if (left > 0) log.warn('password back-off', { ip: address, failures: perAddress!.failures, retry_after_s: Math.ceil(left / 1000) });
    if (backoffLeft(global, now) > 0) log.warn('password back-off for unknown addresses', { global_failures: global!.failures });
  };
  const finish = (address: string, keys: string[], correct: boolean) => {
    const now = clock.now();
    try {
      if (!correct) return recordFailure(address, now);
      clearThrottle(db, `ip:${address}`);
      rememberSignIn(db, address, now);
    } finally {
      for (const key of keys) gates.release(key);
    }
  };
  const ticket = (address: string, keys: string[]): LoginTicket => {
    gates.acquire(keys);
    let done = false;
    return {
      allowed: true,
      finish(correct) {
        if (done) return;
        done = true;
        finish(address, keys, correct);
      },
    };
  };

  return {
    async begin(address) {
      // Addresses that signed in before are not held back by the global ceiling (nor hold a global slot).
      const keys = [`ip:${address}`, ...(hasSignedInBefore(db, address) ? [] : ['global'])];
      for (let round = 0; round < MAX_ROUNDS; round++) {
        const now = clock.now();
        for (const key of keys) {
          const left = backoffLeft(live(key, now), now);
          if (left > 0) return { allowed: false, retryAfterMs: left, scope: key === 'global' ? 'global' : 'address' };
        }
        const full = keys.find((k) => gates.inflight(k) >= checkSlots(live(k, now), free(k)));
        if (full === undefined) return ticket(address, keys);
        if (gates.waiting(full) >= MAX_WAITERS || !(await gates.wait(full))) break;
      }
      return { allowed: false, retryAfterMs: 1000, scope: 'busy' };
    },
  };
}
