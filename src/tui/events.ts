/** @module What the terminal UI reads from the running gateway: typed snapshots, no gateway internals. */

/** A backend's connection state as the dashboard shows it; `unknown` when only the config was read. */
export type BackendState = 'connecting' | 'up' | 'down' | 'disabled' | 'unknown';

/** One backend row of the status dashboard. */
export interface BackendStatus {
  name: string;
  state: BackendState;
  transport: string;
  tools: number;
  prompts: number;
  resources: number;
  lastError?: string;
  latencyMs?: number;
}

/** One finished tools/call; `time` is preformatted by the caller (e.g. `12:00:01`). */
export interface CallSummary {
  time: string;
  tool: string;
  backend: string;
  duration_ms: number;
  outcome: 'ok' | 'error';
}

/** Everything `mcpgw status` draws in one frame; `recent_calls` is oldest first (the view shows the newest 10, newest on top). */
export interface StatusSnapshot {
  version: string;
  uptime_s: number;
  sessions: number;
  calls_per_minute: number;
  backends: BackendStatus[];
  recent_calls: CallSummary[];
}
