/** @module What every command's action gets: output, dependencies (built lazily), and where to put the exit code. */
import type { Deps } from '../src/deps.ts';
import type { CliIo } from './io.ts';

export interface CliContext {
  io: CliIo;
  deps: () => Deps;
  /** The action sets `code` (0 ok, 1 failed, 2 usage or invalid config). */
  result: { code: number };
  version: string;
}
