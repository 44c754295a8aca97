/**
 * @module Connector sign-in trace (issue 9 item 2): groups auth rows of the audit log into sign-in attempts, each a
 * list of steps with time and HTTP status, and names in plain words why a failed attempt failed. Pure.
 */
import type { AuditRow } from '../store/audit.ts';

/** The phases of a sign-in, in the order a connector goes through them (MCP auth spec, claude.ai's sequence). */
export const TRACE_STEPS = ['challenge', 'resource_metadata', 'server_metadata', 'registration', 'authorize', 'consent', 'token', 'first_call'] as const;
export type TraceStepName = (typeof TRACE_STEPS)[number];

/** One step of an attempt, as `mcpgw auth trace --json` prints it. */
export interface TraceStep {
  time: string;
  step: TraceStepName;
  /** The audit event the step came from (`mcp_unauthorized`, `token_failed`, …). */
  event: string;
  /** What happened, in words. */
  summary: string;
  status: number | null;
  ok: boolean;
  /** Why the step failed, in plain words (failed steps only). */
  reason: string | null;
  /** Identical requests from the same address folded into this one (the recorder keeps one row per 10 s). */
  repeated: number;
}

/** One sign-in attempt of a client (stable `--json` shape: every key always present). */
export interface TraceAttempt {
  /** The audit row id of its first step. */
  id: number;
  client_id: string | null;
  client_name: string | null;
  grant_id: string | null;
  ip: string | null;
  user_agent: string | null;
  started: string;
  ended: string;
  status: 'succeeded' | 'failed' | 'in_progress';
  /** For a failed attempt, why, in plain words. */
  reason: string | null;
  steps: TraceStep[];
}

/** Grouping and verdict parameters. */
export interface TraceOptions {
  /** Now (ms), for "never came back" verdicts. */
  now: number;
  /** Steps further apart than this never join one attempt. Default 15 minutes. */
  windowMs?: number;
  /** An unfinished attempt idle this long has failed (the client never came back). Default 5 minutes. */
  abandonMs?: number;
}

/** Default `abandonMs`: how long a client may stay silent after a step before the attempt counts as abandoned. */
export const DEFAULT_ABANDON_MS = 5 * 60 * 1000;
const DEFAULT_WINDOW_MS = 15 * 60 * 1000;

const RANK: Record<TraceStepName, number> = Object.fromEntries(TRACE_STEPS.map((s, i) => [s, i])) as Record<TraceStepName, number>;

/** Audit events that are sign-in steps, and the phase each belongs to. */
const EVENT_STEP: Record<string, TraceStepName> = {
  mcp_unauthorized: 'challenge',
  mcp_token_refused: 'challenge',
  client_registered: 'registration',
  register_failed: 'registration',
  client_metadata_resolved: 'registration',
  client_metadata_failed: 'registration',
  authorize_requested: 'authorize',
  authorize_failed: 'authorize',
  consent_granted: 'consent',
  consent_denied: 'consent',
  password_failed: 'consent',
  sign_in_refused: 'consent',
  token_issued: 'token',
  token_refreshed: 'token',
  token_failed: 'token',
  mcp_first_call: 'first_call',
};

/** HTTP status of events whose status is fixed by the code that records them. */
const FIXED_STATUS: Record<string, number> = { client_registered: 201, consent_granted: 302, consent_denied: 302, password_failed: 403, token_issued: 200, token_refreshed: 200 };

/** Failures after which the client may try again within the same attempt (the consent page is shown again). */
const RETRYABLE = new Set(['password_failed', 'sign_in_refused']);

/** Known error descriptions of /token and /authorize, said plainly. */
const PLAIN: [RegExp, string][] = [
  [/PKCE verification failed/, 'PKCE verifier does not match the challenge (the client sent another code_verifier than the one it derived the code_challenge from)'],
  [/authorization code expired/, 'the authorization code expired before the client redeemed it (auth.code_ttl)'],
  [/authorization code already used/, 'the authorization code was already redeemed; its tokens are revoked'],
  [/authorization code is invalid/, 'the authorization code is unknown (from another gateway, or mangled)'],
  [/authorization code was issued to another client/, 'the authorization code belongs to another client_id'],
  [/redirect_uri does not match the authorization request/, 'redirect_uri at /token differs from the one sent to /authorize'],
  [/refresh token expired/, 'the refresh token expired: the connector must sign in again'],
  [/refresh token was revoked/, 'the refresh token was revoked (mcpgw tokens revoke, or reuse detected)'],
  [/refresh token already used/, 'the refresh token was used again after the grace window; the whole grant is revoked'],
];

/** The plain-words reason for a failed row. Pure. */
export function explainFailure(row: Pick<AuditRow, 'event' | 'error'>): string {
  const error = row.error ?? '';
  if (row.event === 'token_failed' && error.startsWith('invalid_client')) return `client authentication failed at /token: ${error.replace(/^invalid_client:\s*/, '')}`;
  for (const [re, words] of PLAIN) if (re.test(error)) return words;
  if (row.event === 'consent_denied') return 'the owner pressed Deny on the consent page';
  if (row.event === 'password_failed') return 'wrong owner password on the consent page';
  return error || row.event.replace(/_/g, ' ');
}

function detailValue<T>(row: AuditRow, key: string, kind: 'string' | 'number'): T | null {
  const v = row.detail?.[key];
  return typeof v === kind ? (v as T) : null;
}

function stepOf(row: AuditRow): TraceStepName | undefined {
  if (row.kind !== 'auth') return undefined;
  if (row.event === 'metadata_fetched') return detailValue<string>(row, 'document', 'string') === 'protected-resource' ? 'resource_metadata' : 'server_metadata';
  return EVENT_STEP[row.event];
}

function summaryOf(row: AuditRow, step: TraceStepName): string {
  const path = detailValue<string>(row, 'path', 'string') ?? '/mcp';
  switch (row.event) {
    case 'mcp_unauthorized': return `unauthenticated request to ${path}: 401 with the resource_metadata challenge`;
    case 'mcp_token_refused': return `request to ${path} with a token that was refused`;
    case 'metadata_fetched': return `fetched ${detailValue<string>(row, 'path', 'string') ?? (step === 'resource_metadata' ? 'the protected-resource metadata' : 'the authorization-server metadata')}`;
    case 'client_registered': return `registered (dynamic client registration)${row.client_name ? ` as "${row.client_name}"` : ''}`;
    case 'register_failed': return 'dynamic client registration refused';
    case 'client_metadata_resolved': return `client metadata document ${row.client_id} resolved (CIMD)`;
    case 'client_metadata_failed': return `client metadata document ${row.client_id} refused`;
    case 'authorize_requested': return 'opened /authorize; consent page shown';
    case 'authorize_failed': return '/authorize refused';
    case 'consent_granted': return 'owner approved on the consent page; code sent to the redirect URI';
    case 'consent_denied': return 'owner denied on the consent page';
    case 'password_failed': return 'wrong owner password on the consent page';
    case 'sign_in_refused': return 'consent form refused';
    case 'token_issued': return 'exchanged the code at /token; tokens issued';
    case 'token_refreshed': return 'refreshed the tokens at /token';
    case 'token_failed': return `/token refused${detailValue<string>(row, 'grant_type', 'string') === 'refresh_token' ? ' a refresh' : ''}`;
    case 'code_reuse_detected': return 'authorization code presented again at /token';
    case 'refresh_reuse_detected': return 'refresh token reused after the grace window';
    case 'mcp_first_call': return `first authenticated request to ${path}`;
    default: return row.event;
  }
}

function toStep(row: AuditRow, step: TraceStepName): TraceStep {
  const ok = row.outcome === 'ok' && row.event !== 'mcp_token_refused';
  return {
    time: row.time,
    step,
    event: row.event,
    summary: summaryOf(row, step),
    status: detailValue<number>(row, 'status', 'number') ?? FIXED_STATUS[row.event] ?? null,
    ok,
    reason: ok ? null : explainFailure(row),
    repeated: detailValue<number>(row, 'suppressed', 'number') ?? 0,
  };
}

interface Open {
  attempt: TraceAttempt;
  last: number;
  maxRank: number;
  /** Rank of a final failure (the client must start over), or -1. */
  failedAt: number;
  done: boolean;
}

function sameSource(a: TraceAttempt, ip: string | null, ua: string | null): boolean {
  if (ip === null || a.ip !== ip) return false;
  return ua === null || a.user_agent === null || a.user_agent === ua;
}

/** Whether a step of this phase continues the attempt or starts a new one (a retry or a fresh start). */
function continues(o: Open, rank: number): boolean {
  // After a final failure the client has to start over: whatever comes next belongs to a new attempt.
  if (o.done || o.failedAt >= 0) return false;
  return rank >= o.maxRank;
}

function findOpen(open: Open[], row: AuditRow, t: number, windowMs: number, rank: number): Open | undefined {
  const ua = detailValue<string>(row, 'user_agent', 'string');
  const live = open.filter((o) => t - o.last <= windowMs && continues(o, rank)).reverse();
  if (row.client_id !== null) {
    return (
      live.find((o) => o.attempt.client_id === row.client_id) ??
      live.find((o) => o.attempt.client_id === null && sameSource(o.attempt, row.ip, ua)) ??
      // The connector's servers may call from several addresses; the same User-Agent is the next best link.
      live.find((o) => o.attempt.client_id === null && ua !== null && o.attempt.user_agent === ua && o.maxRank <= RANK.server_metadata)
    );
  }
  return live.find((o) => sameSource(o.attempt, row.ip, ua));
}

function stallReason(o: Open, abandonMs: number): string {
  const mins = `${Math.round(abandonMs / 60000)} min`;
  const last = o.attempt.steps.at(-1)!;
  switch (last.step) {
    case 'challenge':
      return last.event === 'mcp_token_refused'
        ? `the token was refused (${last.reason}) and the client did not refresh or sign in again within ${mins}`
        : `the client never came back after the 401: it did not fetch the protected-resource metadata within ${mins}`;
    case 'resource_metadata': return `the client fetched the protected-resource metadata but never the authorization-server metadata (within ${mins})`;
    case 'server_metadata': return `the client read the authorization-server metadata but never registered or opened /authorize (within ${mins})`;
    case 'registration': return `the client registered but the browser never opened /authorize (within ${mins})`;
    case 'authorize': return `the consent page was shown but never answered (within ${mins})`;
    case 'consent': return `consent was granted but the client never redeemed the code at /token (within ${mins}): did the redirect to the client arrive?`;
    case 'token': return `tokens were issued but the client never made an authenticated MCP request (within ${mins})`;
    default: return `no further step within ${mins}`;
  }
}

function verdict(o: Open, now: number, abandonMs: number): void {
  const a = o.attempt;
  const last = a.steps.at(-1)!;
  if (o.done) {
    a.status = 'succeeded';
    return;
  }
  const stale = now - o.last > abandonMs;
  if (!last.ok && !RETRYABLE.has(last.event) && last.event !== 'mcp_token_refused') {
    a.status = 'failed';
    a.reason = last.reason;
  } else if (stale) {
    a.status = 'failed';
    a.reason = last.ok || last.event === 'mcp_token_refused' ? stallReason(o, abandonMs) : `${last.reason}; the owner did not try again`;
  }
}

/**
 * Groups auth audit rows (oldest first) into attempts. A step joins the latest open attempt of its client_id, else
 * one from the same address and User-Agent (the 401 and metadata steps carry no client_id); a step of an earlier
 * phase than the attempt reached, anything after a final failure, or anything after the first MCP request starts a
 * new attempt. Pure.
 */
export function buildTrace(rows: readonly AuditRow[], opts: TraceOptions): TraceAttempt[] {
  const windowMs = opts.windowMs ?? DEFAULT_WINDOW_MS;
  const abandonMs = opts.abandonMs ?? DEFAULT_ABANDON_MS;
  const open: Open[] = [];
  // Attempts a step may still join: pruned as time moves on, so a day of scanner 401s stays cheap to group.
  let live: Open[] = [];
  let prunedAt = -Infinity;
  for (const row of rows) {
    const step = stepOf(row);
    if (!step) continue;
    const t = Date.parse(row.time);
    const rank = RANK[step];
    if (t - prunedAt > windowMs / 4) {
      live = live.filter((x) => !x.done && x.failedAt < 0 && t - x.last <= windowMs);
      prunedAt = t;
    }
    let o = findOpen(live, row, t, windowMs, rank);
    // A refresh continues a refused token's attempt; on its own it is routine, not a sign-in.
    if (!o && row.event === 'token_refreshed') continue;
    if (!o) {
      const attempt: TraceAttempt = { id: row.id, client_id: null, client_name: null, grant_id: null, ip: row.ip, user_agent: detailValue(row, 'user_agent', 'string'), started: row.time, ended: row.time, status: 'in_progress', reason: null, steps: [] };
      o = { attempt, last: t, maxRank: 0, failedAt: -1, done: false };
      open.push(o);
      live.push(o);
    }
    const s = toStep(row, step);
    const a = o.attempt;
    a.steps.push(s);
    a.ended = row.time;
    a.client_id ??= row.client_id;
    a.client_name = row.client_name ?? a.client_name;
    a.grant_id = row.grant_id ?? a.grant_id;
    a.user_agent ??= detailValue(row, 'user_agent', 'string');
    // The address of the connector's own requests, not the owner's browser (which opens /authorize).
    a.ip ??= row.ip;
    o.last = t;
    o.maxRank = Math.max(o.maxRank, rank);
    if (!s.ok && !RETRYABLE.has(s.event) && s.event !== 'mcp_token_refused') o.failedAt = rank;
    if (s.ok && (step === 'first_call' || row.event === 'token_refreshed')) o.done = true;
  }
  // A step that failed before the client was looked up carries no name; another attempt of the same client_id may.
  const names = new Map(open.flatMap((o) => (o.attempt.client_id !== null && o.attempt.client_name !== null ? [[o.attempt.client_id, o.attempt.client_name] as const] : [])));
  for (const o of open) {
    if (o.attempt.client_id !== null) o.attempt.client_name ??= names.get(o.attempt.client_id) ?? null;
    verdict(o, opts.now, abandonMs);
  }
  return open.map((o) => o.attempt);
}

/** Whether an attempt belongs to `client` (client_id, client name or grant id, as `mcpgw logs --client`). Pure. */
export function attemptMatches(a: TraceAttempt, client: string): boolean {
  return a.client_id === client || a.client_name === client || a.grant_id === client;
}
