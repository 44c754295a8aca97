/** @module The injected seams (clock, fetch, random, spawn, log, env); built once by systemDeps() in cmd/. */
import { spawn as nodeSpawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { fstatSync } from 'node:fs';
import { createLogger, isJournalStream, type Logger } from './log.ts';

/** Milliseconds since the epoch; tests pass a manual clock. */
export interface Clock {
  now(): number;
}

/** Starts a child process; the stdio backend calls it with `detached: true` so it owns a process group. */
export type SpawnFn = (command: string, args: string[], options: SpawnOptions) => ChildProcess;

/** Everything that varies between production and tests, passed down explicitly. */
export interface Deps {
  clock: Clock;
  fetch: typeof fetch;
  random: (bytes: number) => Uint8Array;
  spawn: SpawnFn;
  log: Logger;
  env: Readonly<Record<string, string | undefined>>;
}

/** The real clock. */
export const systemClock: Clock = { now: () => Date.now() };

/** A clock that only moves when told to; for tests. */
export function manualClock(start = Date.UTC(2026, 0, 1)): Clock & { advance(ms: number): void; set(ms: number): void } {
  let t = start;
  return { now: () => t, advance: (ms) => void (t += ms), set: (ms) => void (t = ms) };
}

/** Cryptographically secure random bytes. */
export function secureRandom(bytes: number): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(bytes));
}

/** Production dependencies. */
export function systemDeps(overrides: Partial<Deps> = {}): Deps {
  return {
    clock: systemClock,
    fetch: globalThis.fetch.bind(globalThis),
    random: secureRandom,
    spawn: (command, args, options) => nodeSpawn(command, args, options),
    log: createLogger({ json: !process.stdout.isTTY, journald: stdoutIsJournal(process.env.JOURNAL_STREAM), write: (line) => process.stdout.write(line) }),
    env: process.env,
    ...overrides,
  };
}

/** Whether fd 1 is the stream systemd connected to journald (JOURNAL_STREAM names its device and inode). */
function stdoutIsJournal(journalStream: string | undefined): boolean {
  if (!journalStream) return false;
  try {
    return isJournalStream(journalStream, fstatSync(1, { bigint: true }));
  } catch {
    return false;
  }
}
