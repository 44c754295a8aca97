/** @module `mcpgw passwd`: sets auth.password_hash (argon2id) in gateway.yaml, keeping its comments; also the prompt input the other commands use. */
import { adminRequest } from '../src/http/admin.ts';
import type { Command } from 'commander';
import { editConfigFile, setValue } from '../src/config/edit.ts';
import { formatIssue, parseConfigText } from '../src/config/load.ts';
import { errorMessage } from '../src/errors.ts';
import { locateCliConfig } from './config.ts';
import type { CliContext } from './context.ts';
import { printError, type CliIo } from './io.ts';

/** Where answers come from: the terminal (prompts on stderr, hidden input not echoed) or piped stdin (one line per answer). */
export interface PromptInput {
  /** True when stdin is a terminal. */
  isTTY: boolean;
  /** Reads one line without its newline; null at the end of input. Throws PromptInterrupted on Ctrl-C. */
  readLine(prompt: string, opts?: { hidden?: boolean }): Promise<string | null>;
}

/** Ctrl-C at a prompt; commands turn it into exit code 130. */
export class PromptInterrupted extends Error {
  constructor() {
    super('interrupted');
    this.name = 'PromptInterrupted';
  }
}

/** Asks a yes/no question; anything but y/yes (including end of input) is No. */
export async function confirm(input: PromptInput, question: string): Promise<boolean> {
  const answer = await input.readLine(`${question} [y/N] `);
  return /^(y|yes)$/i.test((answer ?? '').trim());
}

/** Green `✓` with colour, plain otherwise; the word after it carries the meaning either way. */
export function ok(io: CliIo, message: string): string {
  return `${io.color ? '\u001b[32m✓\u001b[0m' : '✓'} ${message}`;
}

/** A line reader over a stream: resolves as soon as a line is complete, so an open pipe never blocks a prompt. */
function lineReader(stream: NodeJS.ReadStream): () => Promise<string | null> {
  let buf = '';
  let ended = false;
  let wake: (() => void) | undefined;
  let attached = false;
  const attach = () => {
    attached = true;
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => ((buf += chunk), wake?.()));
    stream.on('end', () => ((ended = true), wake?.()));
    stream.on('error', () => ((ended = true), wake?.()));
  };
  return async () => {
    if (!attached) attach();
    stream.resume();
    for (;;) {
      const nl = buf.indexOf('\n');
      if (nl >= 0 || ended) {
        const line = nl >= 0 ? buf.slice(0, nl) : buf;
        buf = nl >= 0 ? buf.slice(nl + 1) : '';
        stream.pause();
        return nl < 0 && line === '' ? null : line.replace(/\r$/, '');
      }
      await new Promise<void>((resolve) => (wake = resolve));
    }
  };
}

/**
 * The process's stdin: on a terminal, prompts on stderr with node:readline's line editing (cmd/prompt-tty.ts, loaded
 * only when a prompt is shown, so `serve` never loads it); else one line of the pipe per answer.
 */
export function processInput(stdin: NodeJS.ReadStream = process.stdin, stderr: NodeJS.WriteStream = process.stderr): PromptInput {
  const isTTY = Boolean(stdin.isTTY);
  const next = lineReader(stdin);
  return {
    isTTY,
    readLine: async (prompt, opts = {}) => {
      if (!isTTY) return next();
      const { readTtyLine } = await import('./prompt-tty.ts');
      return readTtyLine(stdin, stderr, prompt, Boolean(opts.hidden));
    },
  };
}

/** The shortest consent password `passwd` accepts. */
export const MIN_PASSWORD_LENGTH = 12;

/** Reads a new password: twice without echo on a terminal (they must match), else the first line of stdin. */
export async function readNewPassword(input: PromptInput): Promise<{ ok: true; password: string } | { ok: false; error: string; hint: string }> {
  const first = await input.readLine('New password: ', { hidden: true });
  if (!first) {
    const hint = input.isTTY ? 'type a password, or pipe one: echo "$PW" | mcpgw passwd' : 'pipe the password as the first line: echo "$PW" | mcpgw passwd';
    return { ok: false, error: 'empty password refused', hint };
  }
  // issue 8 finding 8: the consent page is on the public internet behind Funnel; a short password is guessable.
  if (first.length < MIN_PASSWORD_LENGTH) {
    return { ok: false, error: `password too short: at least ${MIN_PASSWORD_LENGTH} characters; nothing was changed`, hint: 'a few unrelated words make a long password that is easy to type' };
  }
  if (input.isTTY) {
    const second = await input.readLine('Repeat password: ', { hidden: true });
    if (second !== first) return { ok: false, error: 'the passwords do not match; nothing was changed', hint: 'run mcpgw passwd again' };
  }
  return { ok: true, password: first };
}

/** PHC string for the consent password (argon2id, Bun's default cost). */
export function hashPassword(password: string): Promise<string> {
  return Bun.password.hash(password, { algorithm: 'argon2id' });
}

interface PasswdOptions {
  config?: string;
}

async function passwd(opts: PasswdOptions, ctx: CliContext, input: PromptInput): Promise<number> {
  const { io } = ctx;
  const env = ctx.deps().env;
  const configPath = locateCliConfig(opts.config, env, io);
  if (configPath === undefined) return 2;
  const found = { path: configPath };
  const read = await readNewPassword(input);
  if (!read.ok) {
    printError(io, read.error, read.hint);
    return 1;
  }
  const hash = await hashPassword(read.password);
  let after: string;
  try {
    after = editConfigFile(found.path, (doc) => setValue(doc, ['auth', 'password_hash'], hash)).after;
  } catch (err) {
    printError(io, `cannot update ${found.path}: ${errorMessage(err)}`, 'check that the file is valid YAML and writable');
    return 1;
  }
  io.err(ok(io, `password set (auth.password_hash in ${found.path})`));
  await reportConfigState(io, after, found.path, env);
  return 0;
}

/** The password is set either way; other problems in the file are reported so that serve does not surprise anyone later. */
async function reportConfigState(io: CliIo, text: string, path: string, env: Readonly<Record<string, string | undefined>>): Promise<void> {
  const parsed = parseConfigText(text, path, env);
  if (!parsed.ok) {
    io.err(`warning: ${path} has ${parsed.issues.length === 1 ? 'a problem' : `${parsed.issues.length} problems`} that 'mcpgw serve' will refuse:`);
    for (const issue of parsed.issues) io.err(`  ${formatIssue(issue, path)}`);
    io.err('hint: every key is documented in gateway.example.yaml');
    return;
  }
  if (parsed.config.auth.mode === 'none') io.err("note: auth.mode is none, so the password is not asked for; set 'auth.mode: oauth' to use it");
  else if (parsed.config.auth.mode === 'oauth') {
    // Confirm through the admin socket that the running gateway has it (issue 8: CLI writes say whether it sees them).
    const live = await adminRequest(parsed.config.data_dir, '/reload', 'POST');
    if (live) io.err(ok(io, 'the running gateway uses the new password now'));
    else io.err(`note: no gateway is running on data_dir ${parsed.config.data_dir}; 'mcpgw serve' uses the new password when it starts`);
  }
}

/** Registers `mcpgw passwd`; `input` is where the password comes from (tests pass a scripted one). */
export function registerPasswd(program: Command, ctx: CliContext, input: PromptInput = processInput()): void {
  program
    .command('passwd')
    .description('Set the consent password (stored as an argon2id hash in auth.password_hash)')
    .option('-c, --config <file>', 'config file (default: $MCPGW_CONFIG, ./gateway.yaml, …)')
    .addHelpText(
      'after',
      `
Reads the new password twice without echo on a terminal, else the first line of stdin.
The password needs at least 12 characters. A running 'mcpgw serve' uses it at once.
The config keeps its comments and formatting; the file is written with mode 0600.

Examples:
  mcpgw passwd
  mcpgw passwd --config /etc/mcpgw/gateway.yaml
  printf '%s\\n' "$PW" | mcpgw passwd`,
    )
    .action(async (opts: PasswdOptions) => {
      try {
        ctx.result.code = await passwd(opts, ctx, input);
      } catch (err) {
        if (!(err instanceof PromptInterrupted)) throw err;
        ctx.result.code = 130;
      }
    });
}
