/** @module The `mcpgw status` dashboard frame: a pure component, snapshot in, frame out. */
import { Box, Text } from 'ink';
import type { BackendState, BackendStatus, CallSummary, StatusSnapshot } from './events.ts';

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

/** `42s`, `5m 3s`, `1h 2m`, `3d 4h`. */
export function formatUptime(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const [d, h, m] = [Math.floor(s / 86400), Math.floor((s % 86400) / 3600), Math.floor((s % 3600) / 60)];
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${m}m`;
  if (m > 0) return `${m}m ${s % 60}s`;
  return `${s}s`;
}

/** Cuts a string to `max` characters, ending in `…` when cut. */
export function truncate(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, Math.max(0, max - 1))}…`;
}

function formatRate(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(1);
}

function width(values: string[], header: string, cap: number): number {
  return Math.min(cap, Math.max(header.length, ...values.map((v) => v.length)));
}

const pad = (s: string, w: number) => truncate(s, w).padEnd(w);
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

function Calls({ calls, color }: { calls: CallSummary[]; color: boolean }) {
  const newest = calls.slice(-RECENT).reverse();
  if (newest.length === 0) return <Text>no calls yet</Text>;
  const timeW = width(newest.map((c) => c.time), 'TIME', 12);
  const toolW = width(newest.map((c) => c.tool), 'TOOL', 36);
  const backW = width(newest.map((c) => c.backend), 'BACKEND', 24);
  return (
    <Box flexDirection="column">
      <Text bold={color} wrap="truncate-end">{`${pad('TIME', timeW)}  ${pad('TOOL', toolW)}  ${pad('BACKEND', backW)}  ${num('DURATION', 8)}  OUTCOME`}</Text>
      {newest.map((c, i) => (
        <Text key={i} wrap="truncate-end">
          {`${pad(c.time, timeW)}  ${pad(c.tool, toolW)}  ${pad(c.backend, backW)}  ${num(`${Math.round(c.duration_ms)}ms`, 8)}  `}
          <Text color={color ? (c.outcome === 'ok' ? 'green' : 'red') : undefined}>{c.outcome === 'ok' ? '✓ ok' : '✗ error'}</Text>
        </Text>
      ))}
    </Box>
  );
}

/** The whole dashboard: header, backends table, the newest calls, and the key help line. */
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
      <Text dimColor={color}>q quit</Text>
    </Box>
  );
}
