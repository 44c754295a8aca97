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
  /** Client name (or id) that made the call, when known. */
  client?: string;
  /** What went wrong, for failed calls. */
  error?: string;
}

/** A backend going up or down, from the audit log; `time` preformatted. */
export interface BackendTransition {
  time: string;
  backend: string;
  state: 'up' | 'down';
  reason?: string;
}

/** One sign-in step (registration, consent, password, token), from the audit log; `time` preformatted. */
export interface SignInSummary {
  time: string;
  /** The audit event name, e.g. `password_failed`. */
  event: string;
  client: string;
  outcome: 'ok' | 'error';
  detail?: string;
}

/** Everything `mcpgw status` draws in one frame; `recent_calls` is oldest first (the view shows the newest 10, newest on top). */
export interface StatusSnapshot {
  version: string;
  uptime_s: number;
  sessions: number;
  calls_per_minute: number;
  backends: BackendStatus[];
  recent_calls: CallSummary[];
  /** Backend up/down changes, oldest first (from the audit log, so they survive restarts); absent = not read. */
  backend_history?: BackendTransition[];
  /** Recent sign-in steps, oldest first (from the audit log); absent = not read. */
  sign_ins?: SignInSummary[];
}
