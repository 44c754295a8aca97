#!/usr/bin/env bun
/** @module Entry point for `bun build --compile`; the only file that calls process.exit. */

// No top-level await: the binary is compiled to bytecode, which needs a CommonJS-compatible entry.
// `serve` loads only the serve command (issue 7): the binary is built with code splitting, so the chunks of the
// other commands (ink, react, yaml editing, …) are never read into memory by a running gateway.
import { tunedExec } from './tuning.ts';

const argv = process.argv.slice(2);
// `serve` starts over once in the same process with the runtime tuned for a long-running server (cmd/tuning.ts).
const reexec = tunedExec(process.argv, process.env, process.execPath);
if (reexec) {
  try {
    process.execve?.(reexec.file, reexec.args, reexec.env);
  } catch {
    // execve is unavailable or refused: serve with the runtime's defaults
  }
}
const run = argv[0] === 'serve' ? import('./cli-root.ts').then((m) => m.runServe(argv)) : import('./program.ts').then((m) => m.runCli(argv));
void run.then((code) => {
  if (code !== undefined) process.exit(code);
});
