#!/usr/bin/env bun
/** @module Entry point for `bun build --compile`; the only file that calls process.exit. */
import { runCli } from './program.ts';

const code = await runCli(process.argv.slice(2));
if (code !== undefined) process.exit(code);
