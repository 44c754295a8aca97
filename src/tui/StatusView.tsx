/** @module The `mcpgw status` dashboard frame: a pure component, snapshot in, frame out. */
import { Box, Text } from 'ink';
import type { BackendState, BackendStatus, BackendTransition, CallSummary, SignInSummary, StatusSnapshot } from './events.ts';
import { cutToWidth, displayWidth, padEndWidth } from '../text.ts';

export interface StatusViewProps {
  snapshot: StatusSnapshot;
  /** Colour only on a TTY without NO_COLOR; glyphs always come with a word, so nothing depends on it. */
  color: boolean;
}

const STATES: Record<BackendState, { glyph: string; color: string }> = {
  up: { glyph: '✓', color: 'green' },
  down: { glyph: '✗', color: 'red' },
  connecting: { glyph: '…', color: 'yellow' },
  disabled: { glyph: '–', color: 'gray' },
  unknown: { glyph: '?', color: 'gray' },
};

const RECENT = 10;
const HISTORY = 6;

/** Sign-in events in plain words (the audit log's names are for scripts). */
const SIGN_IN_WORDS: Record<string, string> = {
  client_registered: 'registered',
  consent_granted: 'approved',
  consent_denied: 'denied by owner',
  password_failed: 'wrong password',
  sign_in_refused: 'refused',
  token_issued: 'token issued',
  token_refreshed: 'token refreshed',
  token_failed: 'token refused',
  code_reuse_detected: 'code reused',
  refresh_reuse_detected: 'refresh reused',
  token_revoked: 'revoked',
};

/** `42s`, `5m 3s`, `1h 2m`, `3d 4h`. */
export function formatUptime(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const [d, h, m] = [Math.floor(s / 86400), Math.floor((s % 86400) / 3600), Math.floor((s % 3600) / 60)];
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${m}m`;
  if (m > 0) return `${m}m ${s % 60}s`;
  return `${s}s`;
}

/** Cuts a string to `max` terminal columns, ending in `…` when cut (wide characters count 2). */
export const truncate = cutToWidth;

function formatRate(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(1);
}

function width(values: string[], header: string, cap: number): number {
  return Math.min(cap, Math.max(displayWidth(header), ...values.map(displayWidth)));
}

const oneLine = (s: string) => s.replace(/\s+/g, ' ').trim();
const pad = (s: string, w: number) => padEndWidth(truncate(s, w), w);
const num = (n: number | string, w: number) => String(n).padStart(w);

function Header({ snapshot, color }: StatusViewProps) {
  const { version, uptime_s, sessions, calls_per_minute } = snapshot;
  return (
    <Text wrap="truncate-end">
      <Text bold={color}>mcpgw {version}</Text>
      {` · up ${formatUptime(uptime_s)} · ${sessions} ${sessions === 1 ? 'session' : 'sessions'} · ${formatRate(calls_per_minute)} calls/min`}
    </Text>
  );
}

function Backends({ backends, color }: { backends: BackendStatus[]; color: boolean }) {
  if (backends.length === 0) return <Text>no backends configured</Text>;
  const nw = width(backends.map((b) => b.name), 'BACKEND', 24);
  const tw = width(backends.map((b) => b.transport), 'TRANSPORT', 15);
  return (
    <Box flexDirection="column">
      <Text bold={color} wrap="truncate-end">
        {`${pad('BACKEND', nw)}  ${pad('STATE', 12)}  ${pad('TRANSPORT', tw)}  ${num('TOOLS', 5)}  ${num('PROMPTS', 7)}  ${num('RESOURCES', 9)}  ${num('LATENCY', 7)}  LAST ERROR`}
      </Text>
      {backends.map((b) => {
        const st = STATES[b.state] ?? STATES.unknown;
        const latency = b.latencyMs === undefined ? '–' : `${Math.round(b.latencyMs)}ms`;
        return (
          <Text key={b.name} wrap="truncate-end">
            {`${pad(b.name, nw)}  `}
            <Text color={color ? st.color : undefined}>{pad(`${st.glyph} ${b.state}`, 12)}</Text>
            {`  ${pad(b.transport, tw)}  ${num(b.tools, 5)}  ${num(b.prompts, 7)}  ${num(b.resources, 9)}  ${num(latency, 7)}  `}
            <Text color={color && b.lastError ? 'red' : undefined}>{b.lastError ? truncate(b.lastError, 48) : ''}</Text>
          </Text>
        );
      })}
    </Box>
  );
}

/** `✓ ok` / `✗ error`, padded to `w` (0: not padded, for a last column). */
const outcomeText = (outcome: 'ok' | 'error', color: boolean, w = 7) => {
  const word = outcome === 'ok' ? '✓ ok' : '✗ error';
  return <Text color={color ? (outcome === 'ok' ? 'green' : 'red') : undefined}>{w > 0 ? pad(word, w) : word}</Text>;
};

function Calls({ calls, color }: { calls: CallSummary[]; color: boolean }) {
  const newest = calls.slice(-RECENT).reverse();
  if (newest.length === 0) return <Text>no calls yet</Text>;
  const timeW = width(newest.map((c) => c.time), 'TIME', 14);
  const toolW = width(newest.map((c) => c.tool), 'TOOL', 32);
  const backW = width(newest.map((c) => c.backend), 'BACKEND', 16);
  const clientW = width(newest.map((c) => c.client ?? '-'), 'CLIENT', 20);
  return (
    <Box flexDirection="column">
      <Text bold={color} wrap="truncate-end">{`${pad('TIME', timeW)}  ${pad('TOOL', toolW)}  ${pad('BACKEND', backW)}  ${pad('CLIENT', clientW)}  ${num('DURATION', 8)}  OUTCOME`}</Text>
      {newest.map((c, i) => (
        <Box key={i} flexDirection="column">
          <Text wrap="truncate-end">
            {`${pad(c.time, timeW)}  ${pad(c.tool, toolW)}  ${pad(c.backend, backW)}  ${pad(c.client ?? '-', clientW)}  ${num(`${Math.round(c.duration_ms)}ms`, 8)}  `}
            {outcomeText(c.outcome, color, 0)}
          </Text>
          {/* The error gets its own line: it is what the operator came to read, so it must not be cut to a few characters. */}
          {c.error ? (
            <Text wrap="truncate-end" color={color ? 'red' : undefined}>
              {`${' '.repeat(timeW + 2)}↳ ${oneLine(c.error)}`}
            </Text>
          ) : null}
        </Box>
      ))}
    </Box>
  );
}

function History({ history, color }: { history: BackendTransition[]; color: boolean }) {
  const newest = history.slice(-HISTORY).reverse();
  if (newest.length === 0) return <Text>no backend changes recorded</Text>;
  const timeW = width(newest.map((h) => h.time), 'TIME', 14);
  const nameW = width(newest.map((h) => h.backend), 'BACKEND', 24);
  return (
    <Box flexDirection="column">
      <Text bold={color} wrap="truncate-end">{`${pad('TIME', timeW)}  ${pad('BACKEND', nameW)}  ${pad('STATE', 6)}  REASON`}</Text>
      {newest.map((h, i) => {
        const st = STATES[h.state];
        return (
          <Text key={i} wrap="truncate-end">
            {`${pad(h.time, timeW)}  ${pad(h.backend, nameW)}  `}
            <Text color={color ? st.color : undefined}>{pad(`${st.glyph} ${h.state}`, 6)}</Text>
            {h.reason ? `  ${oneLine(h.reason)}` : ''}
          </Text>
        );
      })}
    </Box>
  );
}

function SignIns({ signIns, color }: { signIns: SignInSummary[]; color: boolean }) {
  const newest = signIns.slice(-HISTORY).reverse();
  if (newest.length === 0) return <Text>no sign-in attempts recorded</Text>;
  const timeW = width(newest.map((s) => s.time), 'TIME', 14);
  const clientW = width(newest.map((s) => s.client), 'CLIENT', 24);
  const words = newest.map((s) => SIGN_IN_WORDS[s.event] ?? s.event);
  const eventW = width(words, 'EVENT', 16);
  return (
    <Box flexDirection="column">
      <Text bold={color} wrap="truncate-end">{`${pad('TIME', timeW)}  ${pad('CLIENT', clientW)}  ${pad('EVENT', eventW)}  ${pad('OUTCOME', 7)}  DETAIL`}</Text>
      {newest.map((s, i) => (
        <Text key={i} wrap="truncate-end">
          {`${pad(s.time, timeW)}  ${pad(s.client, clientW)}  ${pad(words[i], eventW)}  `}
          {outcomeText(s.outcome, color)}
          {s.detail ? `  ${oneLine(s.detail)}` : ''}
        </Text>
      ))}
    </Box>
  );
}

/** The whole dashboard: header, backends table, the newest calls, backend history and sign-in attempts (when read), and the key help line. */
export function StatusView({ snapshot, color }: StatusViewProps) {
  return (
    <Box flexDirection="column">
      <Header snapshot={snapshot} color={color} />
      <Text> </Text>
      <Backends backends={snapshot.backends} color={color} />
      <Text> </Text>
      <Text bold={color}>Recent calls</Text>
      <Calls calls={snapshot.recent_calls} color={color} />
      <Text> </Text>
      {snapshot.backend_history ? (
        <>
          <Text bold={color}>Backend history</Text>
          <History history={snapshot.backend_history} color={color} />
          <Text> </Text>
        </>
      ) : null}
      {snapshot.sign_ins ? (
        <>
          <Text bold={color}>Sign-in attempts</Text>
          <SignIns signIns={snapshot.sign_ins} color={color} />
          <Text> </Text>
        </>
      ) : null}
      <Text dimColor={color}>q quit</Text>
    </Box>
  );
}
