/** @module `mcpgw init`: writes a commented gateway.yaml (mode 0600) from flags or, on a terminal, from a short prompt flow. */
import type { Command } from 'commander';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { stringify } from 'yaml';
import { writeNewConfigFile } from '../src/config/edit.ts';
import { formatIssue, parseConfigText, type ConfigIssue } from '../src/config/load.ts';
import { errorMessage } from '../src/errors.ts';
import type { CliContext } from './context.ts';
import { runInitFlow, type InitAnswers, type InitField, type InitFlowOptions } from './init-flow.ts';
import { printError, type CliIo } from './io.ts';
import { hashPassword, MIN_PASSWORD_LENGTH, ok, processInput, PromptInterrupted, type PromptInput } from './passwd.ts';

const DEFAULT_LISTEN = '127.0.0.1:4444';

/** A backend for the generated file: `{ url }` or `{ command, args }`. */
export interface BackendSpec {
  name: string;
  entry: Record<string, unknown>;
}

/** Splits a command line into words: whitespace separates, single and double quotes group, backslash escapes outside single quotes. */
export function splitCommand(line: string): string[] {
  const words: string[] = [];
  let word = '';
  let quote: '"' | "'" | undefined;
  let started = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quote) {
      if (ch === quote) quote = undefined;
      else if (ch === '\\' && quote === '"' && i + 1 < line.length) word += line[++i];
      else word += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      started = true;
    } else if (ch === '\\' && i + 1 < line.length) {
      word += line[++i];
      started = true;
    } else if (/\s/.test(ch)) {
      if (started) words.push(word);
      word = '';
      started = false;
    } else {
      word += ch;
      started = true;
    }
  }
  if (started) words.push(word);
  return words;
}

/** Parses `NAME=URL` (http/https) or `NAME=COMMAND ARGS…`. */
export function parseBackendSpec(spec: string): BackendSpec | { error: string } {
  const eq = spec.indexOf('=');
  const name = eq > 0 ? spec.slice(0, eq).trim() : '';
  const rest = eq > 0 ? spec.slice(eq + 1).trim() : '';
  if (!name || !rest) return { error: `'${spec}' is not NAME=URL or NAME=COMMAND` };
  if (/^https?:\/\//i.test(rest)) return { name, entry: { url: rest } };
  const [command, ...args] = splitCommand(rest);
  if (!command) return { error: `'${spec}' has no command` };
  return { name, entry: args.length > 0 ? { command, args } : { command } };
}

/** What the generated file is made of; the password is already hashed. */
export interface InitConfig {
  publicUrl?: string;
  listen: string;
  dataDir?: string;
  passwordHash: string;
  backends: BackendSpec[];
}

const scalar = (v: string) => stringify(v, { lineWidth: 0 }).trimEnd();

function backendsBlock(backends: BackendSpec[]): string {
  if (backends.length === 0) return 'backends: {}\n';
  const body = stringify(Object.fromEntries(backends.map((b) => [b.name, b.entry])), { indent: 2, lineWidth: 0 });
  return `backends:\n${body.replace(/^(?=.)/gm, '  ')}`;
}

/** The generated gateway.yaml: the chosen values, commented like gateway.example.yaml, every other key at its default. */
export function renderInitConfig(c: InitConfig): string {
  return `# mcpgw configuration, written by 'mcpgw init'. gateway.example.yaml documents every key and its default.
# 'mcpgw backends add', 'mcpgw passwd' and 'mcpgw funnel on' edit this file and keep your comments.
#
# In any string value: \${VAR} is an environment variable, \${file:PATH} a file's contents (e.g. a systemd
# credential: \${file:\${CREDENTIALS_DIRECTORY}/erp_token}), and $\${ a literal "\${".

# Address to listen on, host:port (IPv6 as [::1]:4444). Keep it on loopback behind Tailscale Funnel or a TLS proxy.
listen: ${scalar(c.listen)}

# The URL clients use to reach the gateway (OAuth issuer and resource); <public_url>/mcp is the connector URL.
# Must be https unless the host is loopback. Default: http://<listen>. 'mcpgw funnel on' offers to set it.
${c.publicUrl ? `public_url: ${scalar(c.publicUrl)}` : '# public_url: https://mcp.example.com'}

# Where the database and signing keys live. Default: $XDG_STATE_HOME/mcpgw; written out so that the CLI, another
# user and the service all use one database ('mcpgw systemd --install' sets /var/lib/mcpgw).
${c.dataDir ? `data_dir: ${scalar(c.dataDir)}` : '# data_dir: ~/.local/state/mcpgw'}

# debug | info | warn | error
log_level: info

auth:
  # oauth: clients sign in (OAuth 2.1 with PKCE) and you approve each one with the consent password.
  mode: oauth
  # Hash of the consent password (argon2id). Change it with 'mcpgw passwd'; plain passwords are refused.
  password_hash: ${JSON.stringify(c.passwordHash)}
  access_token_ttl: 1h          # lifetime of access tokens
  refresh_token_ttl: 30d        # lifetime of refresh tokens

# MCP servers behind the gateway, by name: each has either \`url\` (Streamable HTTP or SSE) or \`command\` (stdio).
# Add more with 'mcpgw backends add NAME URL' or 'mcpgw backends add NAME -- COMMAND ARGS…'.
${backendsBlock(c.backends)}`;
}

/** Checks one answer by rendering a config that holds it (the schema is the only judge of values). */
export function validateField(field: InitField, value: string, configPath: string, env: Readonly<Record<string, string | undefined>>): string | undefined {
  if (field === 'password') return passwordProblem(value);
  const base: InitConfig = { listen: DEFAULT_LISTEN, passwordHash: '$argon2id$v=19$m=65536,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2g', backends: [] };
  if (field === 'backend' && value) {
    const spec = parseBackendSpec(value);
    if ('error' in spec) return spec.error;
    base.backends = [spec];
  }
  if (field === 'publicUrl') base.publicUrl = value;
  if (field === 'listen') base.listen = value;
  if (field === 'dataDir') base.dataDir = value;
  const keys: Record<InitField, string> = { publicUrl: 'public_url', listen: 'listen', dataDir: 'data_dir', backend: 'backends', password: 'auth' };
  const parsed = parseConfigText(renderInitConfig(base), configPath, env);
  if (parsed.ok) return undefined;
  const issue = parsed.issues.find((i) => i.path === keys[field] || i.path.startsWith(`${keys[field]}.`)) ?? parsed.issues[0];
  return issue.path ? `${issue.path}: ${issue.message}` : issue.message;
}

/** Why a consent password is refused: the rule `mcpgw passwd` applies (issue 8 finding 8), so init cannot write a weaker one. */
function passwordProblem(password: string): string | undefined {
  if (!password) return 'an empty password is refused';
  if (password.length < MIN_PASSWORD_LENGTH) return `password too short: at least ${MIN_PASSWORD_LENGTH} characters`;
  return undefined;
}

interface InitOptions {
  config?: string;
  force?: boolean;
  publicUrl?: string;
  listen?: string;
  dataDir?: string;
  passwordStdin?: boolean;
  backend: string[];
}

/** The question flow on a terminal (tests pass a scripted one); null when cancelled. */
type Flow = (opts: InitFlowOptions) => Promise<InitAnswers | null>;

function printIssues(io: CliIo, path: string, issues: ConfigIssue[]): void {
  printError(io, `the answers do not make a valid config (${issues.length} ${issues.length === 1 ? 'problem' : 'problems'})`);
  for (const issue of issues) io.err(`  ${formatIssue(issue, path)}`);
  io.err('hint: fix the flags above; every key is documented in gateway.example.yaml');
}

/** Answers from flags and stdin (no terminal), or the exit code after printing why not. */
async function answersFromFlags(opts: InitOptions, io: CliIo, input: PromptInput): Promise<{ answers: InitAnswers; code?: undefined } | { code: number; answers?: undefined }> {
  if (!opts.passwordStdin) {
    printError(io, 'a consent password is needed', 'pipe it with --password-stdin (echo "$PW" | mcpgw init --password-stdin), or run mcpgw init in a terminal');
    return { code: 2 };
  }
  const password = (await input.readLine('Consent password: ', { hidden: true })) ?? '';
  if (!password) {
    printError(io, 'empty password refused', 'pipe the password as the first line of stdin');
    return { code: 1 };
  }
  const problem = passwordProblem(password);
  if (problem) {
    printError(io, `${problem}; nothing was written`, 'a few unrelated words make a long password that is easy to type');
    return { code: 1 };
  }
  return { answers: { publicUrl: opts.publicUrl ?? '', listen: opts.listen ?? DEFAULT_LISTEN, dataDir: opts.dataDir ?? '', password, backend: '' } };
}

/** The answers from the prompt flow on a terminal, else from flags and stdin; a number is the exit code when there are none. */
async function collectAnswers(opts: InitOptions, ctx: CliContext, input: PromptInput, flow: Flow, path: string): Promise<InitAnswers | number> {
  const { io } = ctx;
  if (input.isTTY && !opts.passwordStdin) {
    const env = ctx.deps().env;
    const initial = { publicUrl: opts.publicUrl, listen: opts.listen ?? DEFAULT_LISTEN, dataDir: opts.dataDir };
    const got = await flow({ initial, validate: (f, v) => validateField(f, v, path, env), color: io.color });
    if (got) return got;
    io.err('cancelled; nothing was written');
    return 130;
  }
  const r = await answersFromFlags(opts, io, input);
  return r.code ?? r.answers!;
}

async function init(opts: InitOptions, ctx: CliContext, input: PromptInput, flow: Flow): Promise<number> {
  const { io } = ctx;
  const path = resolve(process.cwd(), opts.config ?? 'gateway.yaml');
  if (existsSync(path) && !opts.force) {
    printError(io, `${path} already exists`, 'keep it, or overwrite it with --force (or write elsewhere with --config FILE)');
    return 1;
  }
  const specs = opts.backend.map(parseBackendSpec);
  const bad = specs.find((s) => 'error' in s);
  if (bad && 'error' in bad) {
    printError(io, `--backend ${bad.error}`, "use --backend NAME=URL or --backend 'NAME=COMMAND ARGS…'");
    return 2;
  }
  const answers = await collectAnswers(opts, ctx, input, flow, path);
  if (typeof answers === 'number') return answers;
  const prompted = answers.backend ? [parseBackendSpec(answers.backend) as BackendSpec] : [];
  const base: InitConfig = {
    publicUrl: answers.publicUrl || undefined,
    listen: answers.listen || DEFAULT_LISTEN,
    dataDir: answers.dataDir || undefined,
    passwordHash: await hashPassword(answers.password),
    backends: [...prompted, ...(specs as BackendSpec[])],
  };
  let parsed = parseConfigText(renderInitConfig(base), path, ctx.deps().env);
  // issue 8 finding 1: data_dir is written out, so every user and the service agree on one database.
  let text = renderInitConfig(parsed.ok ? { ...base, dataDir: parsed.config.data_dir } : base);
  parsed = parseConfigText(text, path, ctx.deps().env);
  if (!parsed.ok) {
    printIssues(io, path, parsed.issues);
    return 2;
  }
  try {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    writeNewConfigFile(path, text, { overwrite: Boolean(opts.force) });
  } catch (err) {
    printError(io, `cannot write ${path}: ${errorMessage(err)}`, 'check the directory, or choose another file with --config');
    return 1;
  }
  printNextSteps(io, path, parsed.config.public_url, Boolean(answers.publicUrl));
  return 0;
}

function printNextSteps(io: CliIo, path: string, publicUrl: string, publicUrlSet: boolean): void {
  io.err(ok(io, `wrote ${path} (mode 0600)`));
  io.err('');
  io.err('Next steps:');
  io.err(`  mcpgw serve --config ${path}         start the gateway`);
  io.err(`  mcpgw funnel on --config ${path}     put it on the internet with Tailscale Funnel`);
  if (publicUrlSet) io.err(`  connector URL for claude.ai: ${publicUrl}/mcp`);
  else io.err(`  connector URL for claude.ai: <public_url>/mcp ('mcpgw funnel on' prints it; locally ${publicUrl}/mcp)`);
}

/** Registers `mcpgw init`; `input` and `flow` are the terminal seams (tests pass scripted ones). */
export function registerInit(program: Command, ctx: CliContext, input: PromptInput = processInput(), flow?: Flow): void {
  program
    .command('init')
    .description('Write a commented gateway.yaml, from flags or by asking on a terminal')
    .option('-c, --config <file>', 'file to write', 'gateway.yaml')
    .option('--force', 'overwrite an existing file')
    .option('--public-url <url>', 'the https URL clients use (default: set later by mcpgw funnel on)')
    .option('--listen <addr>', `address to listen on (default: ${DEFAULT_LISTEN})`)
    .option('--data-dir <dir>', 'database and keys (default: $XDG_STATE_HOME/mcpgw)')
    .option('--password-stdin', 'read the consent password from the first line of stdin (no prompts)')
    .option('--backend <spec>', 'NAME=URL or NAME=COMMAND ARGS… (repeatable)', (v: string, all: string[]) => [...all, v], [] as string[])
    .addHelpText(
      'after',
      `
On a terminal it asks for each value (flags become the defaults); otherwise it needs --password-stdin.
The consent password needs at least 12 characters (as for mcpgw passwd).
The file is written with mode 0600 and is never overwritten without --force.

Examples:
  mcpgw init
  echo "$PW" | mcpgw init --password-stdin --public-url https://gw.tail1234.ts.net
  echo "$PW" | mcpgw init --password-stdin --backend erp=https://erp.lan/mcp \\
      --backend 'files=npx -y @modelcontextprotocol/server-filesystem /srv/share'`,
    )
    .action(async (opts: InitOptions) => {
      try {
        ctx.result.code = await init(opts, ctx, input, flow ?? ((o) => runInitFlow(input, ctx.io, o)));
      } catch (err) {
        if (!(err instanceof PromptInterrupted)) throw err;
        ctx.result.code = 130;
      }
    });
}
