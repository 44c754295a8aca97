/** @module The commander tree; runs in-process so tests can call it with captured io. */
import type { Command } from 'commander';
import { systemDeps, type Deps } from '../src/deps.ts';
import { processIo, type CliIo } from './io.ts';
import { createRoot, runProgram, VERSION } from './cli-root.ts';
import { registerAuth } from './auth.ts';
import { registerBackends } from './backends.ts';
import { registerBackup } from './backup.ts';
import { registerCompletion } from './completion.ts';
import { registerDoctor } from './doctor.ts';
import type { CliContext } from './context.ts';
import { registerFunnel } from './funnel.ts';
import { registerInit } from './init.ts';
import { registerLogs } from './logs.ts';
import { registerPasswd } from './passwd.ts';
import { registerStatus } from './status.ts';
import { registerSystemd } from './systemd.ts';
import { registerTokens } from './tokens.ts';

export { VERSION };

/** Builds the command tree; `result.code` receives the exit code of the action that ran. */
export function createProgram(io: CliIo, deps: () => Deps, result: { code: number }): Command {
  const program = createRoot(io, deps, result);
  const ctx: CliContext = { io, deps, result, version: VERSION };
  registerInit(program, ctx);
  registerPasswd(program, ctx);
  registerBackends(program, ctx);
  registerTokens(program, ctx);
  registerAuth(program, ctx);
  registerStatus(program, ctx);
  registerLogs(program, ctx);
  registerFunnel(program, ctx);
  registerSystemd(program, ctx);
  registerDoctor(program, ctx);
  registerBackup(program, ctx);
  // last: it walks the finished command tree
  registerCompletion(program, ctx);
  return program;
}

/** Parses argv and runs the command; returns the exit code. */
export async function runCli(argv: string[], io: CliIo = processIo(), deps: () => Deps = () => systemDeps()): Promise<number> {
  const result = { code: 0 };
  return runProgram(createProgram(io, deps, result), argv, io, result);
}
