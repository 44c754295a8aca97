/**
 * @module The audit log (table `audit_log`, migration 4): tool calls, auth events and backend state changes.
 * Writes are queued and inserted in batches so the call path never waits for SQLite; old rows are pruned.
 */
import type { Database, SQLQueryBindings } from 'bun:sqlite';
import type { Clock } from '../deps.ts';
import { isSecretKey, redactString, type Logger } from '../log.ts';

/** What an audit row is about. */
export type AuditKind = 'call' | 'auth' | 'backend';
export type AuditOutcome = 'ok' | 'error';

/** Auth events; `ok` or `error` outcome is fixed per event (see AUTH_OUTCOME). */
export type AuthEventName =
  | 'client_registered'
  | 'consent_granted'
  | 'consent_denied'
  | 'password_failed'
  | 'sign_in_refused'
  | 'token_issued'
  | 'token_refreshed'
  | 'token_failed'
  | 'code_reuse_detected'
  | 'refresh_reuse_detected'
  | 'token_revoked'
  // Sign-in trace steps (issue 9 item 2), rate-limited by oauth/trace-record.ts.
  | 'mcp_unauthorized'
  | 'mcp_token_refused'
  | 'metadata_fetched'
  | 'register_failed'
  | 'client_metadata_resolved'
  | 'client_metadata_failed'
  | 'authorize_requested'
  | 'authorize_failed'
  | 'mcp_first_call';

const AUTH_OUTCOME: Record<AuthEventName, AuditOutcome> = {
  client_registered: 'ok',
  consent_granted: 'ok',
  consent_denied: 'error',
  password_failed: 'error',
  sign_in_refused: 'error',
  token_issued: 'ok',
  token_refreshed: 'ok',
  token_failed: 'error',
  code_reuse_detected: 'error',
  refresh_reuse_detected: 'error',
  token_revoked: 'ok',
  mcp_unauthorized: 'ok',
  mcp_token_refused: 'error',
  metadata_fetched: 'ok',
  register_failed: 'error',
  client_metadata_resolved: 'ok',
  client_metadata_failed: 'error',
  authorize_requested: 'ok',
  authorize_failed: 'error',
  mcp_first_call: 'ok',
};

/** Who made a call or an auth request (all optional: `auth.mode: none` has no grant). */
export interface AuditActor {
  grantId?: string;
  clientId?: string;
  clientName?: string;
}

/** One finished tools/call. `args`/`result` are kept only with `audit.log_arguments: true`. */
export interface CallAuditEntry extends AuditActor {
  time: number;
  backend: string;
  tool: string;
  durationMs: number;
  outcome: AuditOutcome;
  error?: string;
  args?: unknown;
  result?: unknown;
}

/** One authorization-server event. */
export interface AuthAuditEntry extends AuditActor {
  event: AuthEventName;
  ip?: string;
  /** Plain-words reason for a failure, or extra context (e.g. the granted backends). */
  error?: string;
  detail?: Record<string, unknown>;
}

/** A backend went up or down. */
export interface BackendAuditEntry {
  backend: string;
  state: 'up' | 'down';
  reason?: string;
}

/** Where the gateway writes audit events; implemented by AuditLog. */
export interface AuditSink {
  call(e: CallAuditEntry): void;
  auth(e: AuthAuditEntry): void;
  backend(e: BackendAuditEntry): void;
}

/** Records auth events; the authorization server gets one through its options. */
export type AuthEventRecorder = (e: AuthAuditEntry) => void;

/** One stored row, as `mcpgw logs --json` prints it (stable shape: every key always present). */
export interface AuditRow {
  id: number;
  time: string;
  kind: AuditKind;
  event: string;
  outcome: AuditOutcome;
  grant_id: string | null;
  client_id: string | null;
  client_name: string | null;
  backend: string | null;
  tool: string | null;
  duration_ms: number | null;
  error: string | null;
  ip: string | null;
  detail: Record<string, unknown> | null;
}

/** Options of the audit log; defaults suit production. */
export interface AuditOptions {
  clock: Clock;
  log: Logger;
  /** `audit.log_arguments`: keep call arguments and results (redacted). */
  logArguments: boolean;
  /** `audit.retention` in ms: rows older than this are deleted. */
  retentionMs: number;
  /** Queue flush interval; default 250 ms. */
  flushMs?: number;
  /** A queue this long is flushed at once; default 1000 (a transaction's commit costs as much as tens of rows). */
  batchSize?: number;
  /** How often old rows are pruned; default 10 minutes. */
  pruneMs?: number;
  /** Rows held while the database refuses writes; older ones are dropped beyond it. Default 10 000. */
  maxQueue?: number;
}

type Pending = [number, AuditKind, string, AuditOutcome, string | null, string | null, string | null, string | null, string | null, number | null, string | null, string | null, string | null];

const MAX_ERROR_CHARS = 2000;
const MAX_DETAIL_CHARS = 16 * 1024;
/** Keys in tool arguments whose values are secrets, beyond the logger's own list (matched per field name). */
const ARGUMENT_SECRET = /(^|[_-])(token|secret|password|passwd|passphrase|api[_-]?key|apikey|private[_-]?key|credentials?|session[_-]?id|auth)$|^(accessToken|refreshToken|apiKey|privateKey|clientSecret|authToken|sessionId)$/i;

/** True when a tool-argument key names a secret (`password`, `github_token`, `apiKey`, …). Pure. */
export function isSecretArgument(key: string): boolean {
  return isSecretKey(key) || ARGUMENT_SECRET.test(key);
}

/** Deep copy of tool arguments/results with secret fields replaced and token-looking strings removed. Pure. */
export function redactArguments(value: unknown, depth = 0): unknown {
  if (depth > 8) return '[deep]';
  if (typeof value === 'string') return redactString(value);
  if (Array.isArray(value)) return value.slice(0, 200).map((v) => redactArguments(v, depth + 1));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = isSecretArgument(k) ? '[redacted]' : redactArguments(v, depth + 1);
    return out;
  }
  return value;
}

function clip(s: string | undefined, max = MAX_ERROR_CHARS): string | null {
  if (s === undefined) return null;
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}

function detailJson(detail: Record<string, unknown> | undefined): string | null {
  if (!detail || Object.keys(detail).length === 0) return null;
  const text = JSON.stringify(detail);
  return text.length <= MAX_DETAIL_CHARS ? text : JSON.stringify({ truncated: true, preview: text.slice(0, MAX_DETAIL_CHARS) });
}

const COLUMNS = 'time, kind, event, outcome, grant_id, client_id, client_name, backend, tool, duration_ms, error, ip, detail';
/** One row's values; a row without a client name takes its grant's (the subquery runs only then). */
const VALUES = '(?, ?, ?, ?, ?, ?, COALESCE(?, (SELECT client_name FROM grants WHERE id = ?)), ?, ?, ?, ?, ?, ?)';
/** Rows per INSERT statement: one statement for many rows costs about half as much per row as one each. */
const ROWS_PER_INSERT = 50;
const insertSql = (rows: number) => `INSERT INTO audit_log (${COLUMNS}) VALUES ${Array.from({ length: rows }, () => VALUES).join(', ')}`;
const INSERT_MANY = insertSql(ROWS_PER_INSERT);
const INSERT_ONE = insertSql(1);

/** A queued row's parameters for VALUES: the grant id once more, for the client-name lookup. */
function bindRow(out: SQLQueryBindings[], r: Pending): void {
  for (let i = 0; i < 7; i++) out.push(r[i]);
  out.push(r[4]);
  for (let i = 7; i < 13; i++) out.push(r[i]);
}

/** The batched writer; a class because it owns a queue and timers. Close it to write what is queued. */
export class AuditLog implements AuditSink {
  private queue: Pending[] = [];
  private flushTimer?: ReturnType<typeof setTimeout>;
  private readonly pruneTimer?: ReturnType<typeof setInterval>;
  private dropped = 0;
  private closed = false;
  private readonly opts: AuditOptions;

  constructor(
    private readonly db: Database,
    options: AuditOptions,
  ) {
    this.opts = { ...options };
    this.prune();
    const every = this.opts.pruneMs ?? 10 * 60 * 1000;
    if (every > 0) {
      this.pruneTimer = setInterval(() => this.prune(), every);
      this.pruneTimer.unref?.();
    }
  }

  /** Applies a reloaded config's `audit.log_arguments` and `audit.retention`. */
  configure(o: { logArguments: boolean; retentionMs: number }): void {
    this.opts.logArguments = o.logArguments;
    this.opts.retentionMs = o.retentionMs;
  }

  /** Queues a tool call. */
  call(e: CallAuditEntry): void {
    const detail = this.opts.logArguments ? { arguments: redactArguments(e.args), result: redactArguments(e.result) } : undefined;
    this.push([e.time, 'call', 'tools/call', e.outcome, e.grantId ?? null, e.clientId ?? null, e.clientName ?? null, e.backend, e.tool, Math.round(e.durationMs), clip(e.error && redactString(e.error)), null, detailJson(detail)]);
  }

  /** Queues an auth event (time from the clock). */
  auth(e: AuthAuditEntry): void {
    const detail = e.detail && (redactArguments(e.detail) as Record<string, unknown>);
    this.push([this.opts.clock.now(), 'auth', e.event, AUTH_OUTCOME[e.event], e.grantId ?? null, e.clientId ?? null, e.clientName ?? null, null, null, null, clip(e.error), e.ip ?? null, detailJson(detail)]);
  }

  /** Queues a backend state change. */
  backend(e: BackendAuditEntry): void {
    this.push([this.opts.clock.now(), 'backend', e.state, e.state === 'up' ? 'ok' : 'error', null, null, null, e.backend, null, null, clip(e.reason && redactString(e.reason)), null, null]);
  }

  private push(row: Pending): void {
    if (this.closed) return;
    this.queue.push(row);
    const max = this.opts.maxQueue ?? 10_000;
    if (this.queue.length > max) {
      this.dropped += this.queue.length - max;
      this.queue.splice(0, this.queue.length - max);
    }
    if (this.queue.length >= (this.opts.batchSize ?? 1000)) this.schedule(0);
    else this.schedule(this.opts.flushMs ?? 250);
  }

  private schedule(ms: number): void {
    if (this.flushTimer && ms > 0) return;
    clearTimeout(this.flushTimer);
    // A full batch is written on the next turn of the event loop, never inside the call that filled it.
    this.flushTimer = setTimeout(() => this.flush(), ms);
    this.flushTimer.unref?.();
  }

  /** Writes every queued row in one transaction; on failure the rows stay queued for the next attempt. */
  flush(): number {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    if (this.queue.length === 0) return 0;
    const rows = this.queue;
    try {
      const many = this.db.query(INSERT_MANY);
      const one = this.db.query(INSERT_ONE);
      this.db.transaction(() => {
        // In queue order: full chunks of rows first, then the rest one by one (ids follow the queue).
        let i = 0;
        for (; i + ROWS_PER_INSERT <= rows.length; i += ROWS_PER_INSERT) {
          const params: SQLQueryBindings[] = [];
          for (let j = i; j < i + ROWS_PER_INSERT; j++) bindRow(params, rows[j]);
          many.run(...params);
        }
        for (; i < rows.length; i++) {
          const params: SQLQueryBindings[] = [];
          bindRow(params, rows[i]);
          one.run(...params);
        }
      })();
      this.queue = this.queue === rows ? [] : this.queue.slice(rows.length);
    } catch (err) {
      this.opts.log.warn('could not write the audit log; will retry', { error: err, queued: rows.length });
      if (!this.closed) this.schedule(Math.max(1000, this.opts.flushMs ?? 250));
      return 0;
    }
    if (this.dropped > 0) {
      this.opts.log.warn('audit rows dropped while the database refused writes', { dropped: this.dropped });
      this.dropped = 0;
    }
    return rows.length;
  }

  /** Deletes rows older than the retention; returns how many. */
  prune(): number {
    try {
      return pruneAudit(this.db, this.opts.clock.now() - this.opts.retentionMs);
    } catch (err) {
      this.opts.log.warn('could not prune the audit log', { error: err });
      return 0;
    }
  }

  /** Stops the timers and writes what is queued. */
  close(): void {
    if (this.closed) return;
    clearInterval(this.pruneTimer);
    this.flush();
    this.closed = true;
    clearTimeout(this.flushTimer);
  }
}

/** Deletes audit rows older than `before` (ms). */
export function pruneAudit(db: Database, before: number): number {
  return db.query('DELETE FROM audit_log WHERE time < ?').run(before).changes;
}

/** Filters of `mcpgw logs` and the status view. */
export interface AuditQuery {
  /** Only rows at or after this time (ms). */
  since?: number;
  /** Matches client_id, client_name or grant_id exactly. */
  client?: string;
  backend?: string;
  tool?: string;
  errorsOnly?: boolean;
  kinds?: AuditKind[];
  /** Auth event names to include (for auth rows). */
  events?: string[];
  /** Only rows with a larger id (for --follow). */
  afterId?: number;
  /** Only rows up to this id (for --follow: the newest id seen when the poll began, so no row is skipped). */
  untilId?: number;
  /** The newest `limit` matching rows (returned oldest first). */
  limit: number;
}

type StoredRow = Omit<AuditRow, 'time' | 'detail'> & { time: number; detail: string | null };

/** Matching rows, oldest first: the newest `limit` of them, or with `afterId` the first `limit` after it. */
export function queryAudit(db: Database, q: AuditQuery): AuditRow[] {
  const where: string[] = [];
  const args: (string | number)[] = [];
  const add = (sql: string, ...values: (string | number)[]) => (where.push(sql), args.push(...values));
  if (q.since !== undefined) add('time >= ?', q.since);
  if (q.client !== undefined) add('(client_id = ? OR client_name = ? OR grant_id = ?)', q.client, q.client, q.client);
  if (q.backend !== undefined) add('backend = ?', q.backend);
  if (q.tool !== undefined) add('tool = ?', q.tool);
  if (q.errorsOnly) add("outcome = 'error'");
  if (q.kinds?.length) add(`kind IN (${q.kinds.map(() => '?').join(',')})`, ...q.kinds);
  if (q.events?.length) add(`(kind <> 'auth' OR event IN (${q.events.map(() => '?').join(',')}))`, ...q.events);
  if (q.afterId !== undefined) add('id > ?', q.afterId);
  if (q.untilId !== undefined) add('id <= ?', q.untilId);
  const filter = where.length ? `WHERE ${where.join(' AND ')}` : '';
  const limit = Math.max(1, Math.min(q.limit, 100_000));
  const sql =
    q.afterId !== undefined
      ? `SELECT * FROM audit_log ${filter} ORDER BY id ASC LIMIT ${limit}`
      : `SELECT * FROM (SELECT * FROM audit_log ${filter} ORDER BY id DESC LIMIT ${limit}) ORDER BY id ASC`;
  return (db.query(sql).all(...args) as StoredRow[]).map((r) => ({ ...r, time: new Date(r.time).toISOString(), detail: r.detail === null ? null : (JSON.parse(r.detail) as Record<string, unknown>) }));
}

/** The largest row id (0 when empty): where `--follow` starts when it prints no history. */
export function lastAuditId(db: Database): number {
  return (db.query('SELECT COALESCE(MAX(id), 0) AS id FROM audit_log').get() as { id: number }).id;
}
