/** @module What every command's action gets: output, dependencies (built lazily), and where to put the exit code. */
import type { Deps } from '../src/deps.ts';
import { errorMessage } from '../src/errors.ts';
import { printError, type CliIo } from './io.ts';

export interface CliContext {
  io: CliIo;
  deps: () => Deps;
  /** The action sets `code` (0 ok, 1 failed, 2 usage or invalid config). */
  result: { code: number };
  version: string;
}

/** Runs a command's action, storing its exit code; an unexpected error becomes `error: …` and exit 1. */
export async function runAction(ctx: CliContext, fn: () => number | Promise<number>): Promise<void> {
  try {
    ctx.result.code = await fn();
  } catch (err) {
    printError(ctx.io, errorMessage(err));
    ctx.result.code = 1;
  }
}
