/** @module The injected seams (clock, fetch, random, spawn, log, env); built once by systemDeps() in cmd/. */
import { fstatSync } from 'node:fs';
import { createLogger, isJournalStream, type Logger } from './log.ts';
import { fdWriter, isTerminal } from './stdio-out.ts';

/** Milliseconds since the epoch; tests pass a manual clock. */
export interface Clock {
  now(): number;
}

/** A started child process: the parts of Bun's `Subprocess` the gateway uses (tests may wrap one). */
export interface Child {
  readonly pid: number;
  /** Present when spawned with `stdin: 'pipe'`. */
  readonly stdin: { write(chunk: string | Uint8Array): number | Promise<number>; flush(): number | Promise<number>; end(): number | Promise<number> } | null;
  readonly stdout: ReadableStream<Uint8Array>;
  readonly stderr: ReadableStream<Uint8Array>;
  /** Resolves with the exit code once the process has exited (a signal leaves `signalCode` set). */
  readonly exited: Promise<number>;
  readonly exitCode: number | null;
  readonly signalCode: string | null;
  kill(signal?: NodeJS.Signals | number): void;
}

/** How to start a child: stdout and stderr are always pipes. */
export interface SpawnOptions {
  cwd?: string;
  env: Record<string, string | undefined>;
  stdin: 'pipe' | 'ignore';
  /** Its own session and process group (setsid), so that the whole group can be ended. */
  detached?: boolean;
}

/**
 * Starts a child process; throws at once when it cannot be started (no such program, bad cwd). Bun's own
 * spawn: `serve` never loads node:child_process or node streams (issue 7, idle memory).
 */
export type SpawnFn = (argv: string[], options: SpawnOptions) => Child;

/** The real spawn. */
export const bunSpawn: SpawnFn = (argv, o) =>
  Bun.spawn(argv, { cwd: o.cwd, env: o.env, stdin: o.stdin, stdout: 'pipe', stderr: 'pipe', detached: o.detached }) as unknown as Child;

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
    spawn: bunSpawn,
    log: createLogger({ json: !isTerminal(1), journald: stdoutIsJournal(process.env.JOURNAL_STREAM), write: fdWriter(1) }),
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
