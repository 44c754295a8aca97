/**
 * @module The `mcpgw init` questions on a terminal: one line prompt each (node:readline editing through PromptInput),
 * answers validated by the caller, the password never shown. Replaces the ink flow, whose hand-written input handling
 * had no Ctrl-U, arrows or cursor.
 */
import type { CliIo } from './io.ts';
import { PromptInterrupted, type PromptInput } from './passwd.ts';

/** What init asks for; empty strings mean "not set" (public URL, data dir, backend). */
export interface InitAnswers {
  publicUrl: string;
  listen: string;
  dataDir: string;
  password: string;
  backend: string;
}

export type InitField = keyof InitAnswers;

export interface InitFlowOptions {
  /** Defaults shown in brackets (from flags); Enter on an empty line takes them. */
  initial: Partial<InitAnswers>;
  /** An error message for a bad answer, undefined when it is fine. */
  validate: (field: InitField, value: string) => string | undefined;
  color?: boolean;
}

interface Step {
  field: InitField;
  label: string;
  hint: string;
}

const STEPS: Step[] = [
  { field: 'publicUrl', label: 'Public URL', hint: "https://… as clients reach it; leave empty to set it later with 'mcpgw funnel on'" },
  { field: 'listen', label: 'Listen address', hint: 'host:port; keep it on loopback behind Tailscale Funnel or a TLS proxy' },
  { field: 'dataDir', label: 'Data directory', hint: 'database and signing keys; leave empty for $XDG_STATE_HOME/mcpgw' },
  { field: 'password', label: 'Consent password', hint: 'asked when you connect a client such as claude.ai; not shown while you type' },
  { field: 'backend', label: 'First backend', hint: 'NAME=URL or NAME=COMMAND ARGS…, e.g. files=npx -y @modelcontextprotocol/server-filesystem /srv; empty for none' },
];

/** Wrong answers in a row before a question gives up (the flow is then cancelled). */
export const MAX_TRIES = 10;

class Cancelled extends Error {}

/** Asks each question in order; null when cancelled (Ctrl-C, Ctrl-D, or too many wrong answers). */
export async function runInitFlow(input: PromptInput, io: CliIo, opts: InitFlowOptions): Promise<InitAnswers | null> {
  const paint = (code: number) => (s: string) => (opts.color ? `\u001b[${code}m${s}\u001b[0m` : s);
  const dim = paint(2);
  const red = paint(31);
  io.err(`mcpgw init: a few questions, then gateway.yaml is written (Ctrl-C cancels)`);
  const answers: InitAnswers = { publicUrl: '', listen: '', dataDir: '', password: '', backend: '' };
  try {
    for (const step of STEPS) {
      io.err(dim(`  ${step.hint}`));
      answers[step.field] = step.field === 'password' ? await askPassword(input, io, opts, red) : await askField(input, io, step, opts, red);
    }
  } catch (err) {
    if (err instanceof Cancelled || err instanceof PromptInterrupted) return null;
    throw err;
  }
  return answers;
}

async function askField(input: PromptInput, io: CliIo, step: Step, opts: InitFlowOptions, red: (s: string) => string): Promise<string> {
  const fallback = opts.initial[step.field] ?? '';
  for (let i = 0; i < MAX_TRIES; i++) {
    const typed = await input.readLine(`? ${step.label}${fallback ? ` [${fallback}]` : ''}: `);
    if (typed === null) throw new Cancelled();
    const answer = (typed.trim() === '' ? fallback : typed).trim();
    const problem = opts.validate(step.field, answer);
    if (!problem) return answer;
    io.err(red(`✗ ${problem}`));
  }
  throw new Cancelled();
}

/** Twice, hidden; taken exactly as typed. A mismatch starts the password over: neither copy is trusted any more. */
async function askPassword(input: PromptInput, io: CliIo, opts: InitFlowOptions, red: (s: string) => string): Promise<string> {
  for (let i = 0; i < MAX_TRIES; i++) {
    const first = await input.readLine('? Consent password: ', { hidden: true });
    if (first === null) throw new Cancelled();
    const problem = opts.validate('password', first);
    if (problem) {
      io.err(red(`✗ ${problem}`));
      continue;
    }
    const again = await input.readLine('? Repeat the password: ', { hidden: true });
    if (again === null) throw new Cancelled();
    if (again === first) return first;
    io.err(red('✗ the passwords do not match; type it again'));
  }
  throw new Cancelled();
}
