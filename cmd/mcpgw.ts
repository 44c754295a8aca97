#!/usr/bin/env bun
/** @module Entry point for `bun build --compile`; the only file that calls process.exit. */
import { runCli } from './program.ts';

// No top-level await: the binary is compiled to bytecode, which needs a CommonJS-compatible entry.
void runCli(process.argv.slice(2)).then((code) => {
  if (code !== undefined) process.exit(code);
});
