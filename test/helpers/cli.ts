/** Runs mcpgw commands: in-process with captured output (runCli), or the compiled dist/mcpgw as a child (runBinary). */
import { Command, CommanderError } from 'commander';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { CliContext } from '../../cmd/context.ts';
import { printError, type CliIo } from '../../cmd/io.ts';
import type { PromptInput } from '../../cmd/passwd.ts';
import { PromptInterrupted } from '../../cmd/passwd.ts';
import { VERSION } from '../../cmd/program.ts';
import { systemDeps, type Deps } from '../../src/deps.ts';
import { createLogger } from '../../src/log.ts';

export const ROOT = resolve(import.meta.dir, '../..');
/** The compiled binary; MCPGW_BINARY points the binary tests at another build. */
export const BINARY = process.env.MCPGW_BINARY ?? join(ROOT, 'dist/mcpgw');

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Builds dist/mcpgw if it does not exist yet (`npm test` builds it first). */
export function ensureBinary(): void {
  if (existsSync(BINARY)) return;
  const r = Bun.spawnSync([process.execPath, 'cmd/build.ts'], { cwd: ROOT, stdout: 'pipe', stderr: 'pipe' });
  if (r.exitCode !== 0) throw new Error(`build failed:\n${r.stderr.toString()}`);
}

/** A base environment without the caller's config hints (MCPGW_CONFIG etc.): PATH, HOME, NO_COLOR=1, TZ=UTC. */
export function baseEnv(extra: Record<string, string | undefined> = {}): Record<string, string> {
  const env: Record<string, string | undefined> = { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: '1', TZ: 'UTC', ...extra };
  return Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined));
}

/** Spawns the compiled binary; stdin is the given text (or empty), env is `baseEnv(env)`. */
export async function runBinary(args: string[], opts: { env?: Record<string, string | undefined>; stdin?: string; cwd?: string; timeoutMs?: number } = {}): Promise<RunResult> {
  const proc = Bun.spawn([BINARY, ...args], {
    cwd: opts.cwd ?? ROOT,
    env: baseEnv(opts.env),
    stdin: new Blob([opts.stdin ?? '']),
    stdout: 'pipe',
    stderr: 'pipe',
  });
  const timer = setTimeout(() => proc.kill('SIGKILL'), opts.timeoutMs ?? 30_000);
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  clearTimeout(timer);
  return { code, stdout, stderr };
}

/** Answers prompts from a list, as a terminal (isTTY) or a pipe would; records the prompts it was asked. */
export function scriptedInput(lines: (string | null)[], opts: { isTTY?: boolean; interruptAt?: number } = {}): PromptInput & { prompts: string[]; hidden: boolean[] } {
  const queue = [...lines];
  const prompts: string[] = [];
  const hidden: boolean[] = [];
  return {
    isTTY: opts.isTTY ?? false,
    prompts,
    hidden,
    async readLine(prompt, o = {}) {
      prompts.push(prompt);
      hidden.push(Boolean(o.hidden));
      if (opts.interruptAt === prompts.length) throw new PromptInterrupted();
      return queue.length > 0 ? (queue.shift() as string | null) : null;
    },
  };
}

export interface CliRunOptions {
  /** Adds the commands under test to the root command (e.g. `(p, c) => registerPasswd(p, c, input)`). */
  register: (program: Command, ctx: CliContext) => void;
  env?: Record<string, string | undefined>;
  /** Overrides for the injected dependencies (fetch, spawn, …); env comes from `env`. */
  deps?: Partial<Deps>;
  cwd?: string;
  isTTY?: boolean;
  color?: boolean;
}

/**
 * Runs `mcpgw <args>` in-process on a root command configured like cmd/program.ts (exitOverride, output to the
 * captured io, the same exit-code mapping), with only the commands `register` adds.
 */
export async function runCli(args: string[], opts: CliRunOptions): Promise<RunResult> {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = { out: (t) => void out.push(t), err: (t) => void err.push(t), isTTY: opts.isTTY ?? false, color: opts.color ?? false };
  const env = baseEnv(opts.env);
  const deps = systemDeps({ env, log: createLogger({ json: true, write: () => {} }), ...opts.deps });
  const result = { code: 0 };
  const program = new Command('mcpgw')
    .version(VERSION, '-V, --version', 'print the version')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s.trimEnd()), writeErr: (s) => io.err(s.trimEnd()), outputError: (s, write) => write(s) });
  opts.register(program, { io, deps: () => deps, result, version: VERSION });
  const cwd = process.cwd();
  if (opts.cwd) process.chdir(opts.cwd);
  let code: number;
  try {
    await program.parseAsync(args, { from: 'user' });
    code = result.code;
  } catch (e) {
    if (e instanceof CommanderError) code = ['commander.helpDisplayed', 'commander.version', 'commander.help'].includes(e.code) ? 0 : 2;
    else {
      printError(io, e instanceof Error ? e.message : String(e));
      code = 1;
    }
  } finally {
    process.chdir(cwd);
  }
  const join = (lines: string[]) => lines.map((l) => (l.endsWith('\n') ? l : l + '\n')).join('');
  return { code, stdout: join(out), stderr: join(err) };
}

/** The first line of a text (for "stderr first line" assertions). */
export function firstLine(text: string): string {
  return text.split('\n')[0];
}
