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

interface Gate {
  inflight: number;
  waiters: (() => void)[];
}

/** Creates the throttle from `auth.login` settings: `max_failures` free failures per address, back-off capped at `lockout`. */
export function createLoginThrottle(db: Database, cfg: AuthSettings['login'], clock: Clock, log: Logger): LoginThrottle {
  const gates = new Map<string, Gate>();
  const gate = (key: string) => {
    let g = gates.get(key);
    if (!g) gates.set(key, (g = { inflight: 0, waiters: [] }));
    return g;
  };
  const free = (key: string) => (key === 'global' ? cfg.global_max_failures : cfg.max_failures);
  const live = (key: string, now: number) => liveState(getThrottle(db, key), now);
  const release = (key: string) => {
    const g = gate(key);
    g.inflight--;
    const woken = g.waiters.splice(0);
    if (g.inflight === 0 && g.waiters.length === 0) gates.delete(key);
    for (const wake of woken) wake();
  };
  /** Resolves true when a check for `key` finished, false after MAX_WAIT_MS. */
  const wait = (key: string) =>
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
    });

  const finish = (address: string, keys: string[], correct: boolean) => {
    const now = clock.now();
    try {
      if (correct) {
        clearThrottle(db, keys[0]!);
        rememberSignIn(db, address, now);
      } else {
        const [perAddress, global] = db.transaction(() => {
          const next = keys.concat(keys.includes('global') ? [] : ['global']).map((k) => addFailure(live(k, now), now, free(k), cfg.lockout));
          putThrottle(db, keys[0]!, next[0]!);
          putThrottle(db, 'global', next[1]!);
          return next;
        }).immediate();
        log.warn('wrong owner password', { ip: address, failures: perAddress!.failures, global_failures: global!.failures });
        const left = backoffLeft(perAddress, now);
        if (left > 0) log.warn('password back-off', { ip: address, failures: perAddress!.failures, retry_after_s: Math.ceil(left / 1000) });
        if (backoffLeft(global, now) > 0) log.warn('password back-off for unknown addresses', { global_failures: global!.failures });
      }
    } finally {
      for (const key of keys) release(key);
    }
  };

  return {
    async begin(address) {
      const keys = [`ip:${address}`, ...(hasSignedInBefore(db, address) ? [] : ['global'])];
      for (;;) {
        const now = clock.now();
        for (const key of keys) {
          const left = backoffLeft(live(key, now), now);
          if (left > 0) return { allowed: false, retryAfterMs: left, scope: key === 'global' ? 'global' : 'address' };
        }
        const full = keys.find((k) => (gates.get(k)?.inflight ?? 0) >= checkSlots(live(k, now), free(k)));
        if (full === undefined) {
          for (const key of keys) gate(key).inflight++;
          let done = false;
          return {
            allowed: true,
            finish: (correct) => {
              if (done) return;
              done = true;
              finish(address, keys, correct);
            },
          };
        }
        if (gate(full).waiters.length >= MAX_WAITERS || !(await wait(full))) return { allowed: false, retryAfterMs: 1000, scope: 'busy' };
      }
    },
  };
}
