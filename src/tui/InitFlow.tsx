/** @module The `mcpgw init` prompt flow: one question at a time, answers validated by the caller, the password never shown. */
import { Box, render, Text, useInput } from 'ink';
import { useEffect, useState } from 'react';

/** What init asks for; empty strings mean "not set" (public URL, data dir, backend). */
export interface InitAnswers {
  publicUrl: string;
  listen: string;
  dataDir: string;
  password: string;
  backend: string;
}

export type InitField = keyof InitAnswers;

export interface InitFlowProps {
  /** Defaults shown in brackets (from flags); Enter on an empty line takes them. */
  initial: Partial<InitAnswers>;
  /** An error message for a bad answer, undefined when it is fine. */
  validate: (field: InitField, value: string) => string | undefined;
  onDone: (answers: InitAnswers) => void;
  onCancel: () => void;
  color?: boolean;
}

interface Step {
  field: InitField | 'repeat';
  label: string;
  hint: string;
  hidden?: boolean;
}

const STEPS: Step[] = [
  { field: 'publicUrl', label: 'Public URL', hint: "https://… as clients reach it; leave empty to set it later with 'mcpgw funnel on'" },
  { field: 'listen', label: 'Listen address', hint: 'host:port; keep it on loopback behind Tailscale Funnel or a TLS proxy' },
  { field: 'dataDir', label: 'Data directory', hint: 'database and signing keys; leave empty for $XDG_STATE_HOME/mcpgw' },
  { field: 'password', label: 'Consent password', hint: 'asked when you connect a client such as claude.ai; not shown while you type', hidden: true },
  { field: 'repeat', label: 'Repeat the password', hint: 'the same again', hidden: true },
  { field: 'backend', label: 'First backend', hint: 'NAME=URL or NAME=COMMAND ARGS…, e.g. files=npx -y @modelcontextprotocol/server-filesystem /srv; empty for none' },
];

const EMPTY: InitAnswers = { publicUrl: '', listen: '', dataDir: '', password: '', backend: '' };

function shown(step: Step, answers: InitAnswers): string {
  if (step.field === 'password') return 'set';
  if (step.field === 'repeat') return 'matches';
  return answers[step.field] || '(none)';
}

/** Asks for the init answers in order; calls onDone once with all of them, or onCancel on Esc / Ctrl-C. */
export function InitFlow({ initial, validate, onDone, onCancel, color = false }: InitFlowProps) {
  const [index, setIndex] = useState(0);
  const [value, setValue] = useState('');
  const [error, setError] = useState<string | undefined>();
  const [answers, setAnswers] = useState<InitAnswers>({ ...EMPTY, ...initial, password: '' });
  const step = STEPS[index];
  const done = index >= STEPS.length;

  useEffect(() => {
    if (done) onDone(answers);
  }, [done]);

  const submit = (typed: string) => {
    // Passwords are taken exactly as typed; other answers are trimmed and fall back to their default.
    const answer = step.hidden ? typed : (typed === '' ? (initial[step.field as InitField] ?? '') : typed).trim();
    const problem = step.field === 'repeat' ? (answer === answers.password ? undefined : 'the passwords do not match; type it again') : validate(step.field, answer);
    setValue('');
    if (problem) {
      setError(problem);
      // A mismatch starts the password over: neither copy is trusted any more.
      if (step.field === 'repeat') setIndex(index - 1);
      return;
    }
    setError(undefined);
    if (step.field !== 'repeat') setAnswers({ ...answers, [step.field]: answer });
    setIndex(index + 1);
  };

  useInput(
    (input, key) => {
      if (key.escape || (key.ctrl && input === 'c')) return onCancel();
      if (key.return) return submit(value);
      if (key.backspace || key.delete) return setValue(value.slice(0, -1));
      if (key.ctrl || key.meta || key.tab || key.upArrow || key.downArrow || key.leftArrow || key.rightArrow) return;
      // Pasted text arrives as one string; a line break in it ends the answer like Enter would.
      const [line, ...rest] = input.split(/\r\n|\r|\n/);
      const typed = value + line.replace(/[\u0000-\u001f\u007f]/g, '');
      if (rest.length > 0) return submit(typed);
      setValue(typed);
    },
    { isActive: !done },
  );

  const ok = (s: string) => <Text color={color ? 'green' : undefined}>{s}</Text>;
  return (
    <Box flexDirection="column">
      <Text bold={color}>mcpgw init: a few questions, then gateway.yaml is written</Text>
      {STEPS.slice(0, index).map((s) => (
        <Text key={s.field}>
          {ok('✓')} {s.label}: {shown(s, answers)}
        </Text>
      ))}
      {!done && (
        <Box flexDirection="column">
          <Text dimColor={color}>  {step.hint}</Text>
          <Text>
            {'? '}
            {step.label}
            {!step.hidden && step.field !== 'repeat' && initial[step.field as InitField] ? ` [${initial[step.field as InitField]}]` : ''}: {step.hidden ? '' : value}
            {step.hidden && value ? <Text dimColor={color}>(hidden)</Text> : ''}
          </Text>
          {error && <Text color={color ? 'red' : undefined}>✗ {error}</Text>}
          <Text dimColor={color}>enter accept · esc cancel</Text>
        </Box>
      )}
    </Box>
  );
}

/** Runs the flow on the terminal (frames on stderr, so stdout stays clean); null when cancelled. */
export function runInitFlow(props: Omit<InitFlowProps, 'onDone' | 'onCancel'>): Promise<InitAnswers | null> {
  return new Promise((resolve) => {
    let settled = false;
    const finish = (answers: InitAnswers | null) => {
      if (settled) return;
      settled = true;
      // Let the final frame render before ink lets go of the terminal.
      setTimeout(() => {
        app.unmount();
        resolve(answers);
      }, 0);
    };
    const app = render(<InitFlow {...props} onDone={(a) => finish(a)} onCancel={() => finish(null)} />, {
      stdout: process.stderr,
      stdin: process.stdin,
      exitOnCtrlC: false,
      patchConsole: false,
    });
  });
}
