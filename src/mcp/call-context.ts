/**
 * @module Who is calling and what one call carries: the grant (which backends a caller may use), the
 * receivers of unsolicited messages (sessions, listen streams), and the client side of one forwarded
 * call. Shared by the aggregator and the modules it delegates to.
 */

import type { CancelSignal } from '../backends/rpc.ts';

type Json = Record<string, unknown>;

/** MCP log levels (RFC 5424 severities), least severe first. */
export const LOG_LEVELS = ['debug', 'info', 'notice', 'warning', 'error', 'critical', 'alert', 'emergency'];

export type ListKind = 'tools' | 'prompts' | 'resources';

/** Which backends a caller may use; derived from the token's grant (or all, with auth.mode none). */
export interface Grant {
  /** Stable key of the caller (token subject + client id), for remembered client capabilities. */
  key: string;
  clientId?: string;
  /** The client's display name, when the token carries it (for the audit log). */
  clientName?: string;
  /** The grant's id in the store, for revocation (absent with auth.mode none). */
  grantId?: string;
  /** How the grant was made (absent with auth.mode none); /metrics is for personal tokens only. */
  kind?: 'oauth' | 'personal';
  /** null = every backend. */
  backends: string[] | null;
}

/** A connected client session that can receive notifications (stateful legacy sessions). */
export interface SessionSink {
  id: string;
  grant: Grant;
  subscriptions: Set<string>;
  logLevel?: string;
  listChanged(kind: ListKind): void;
  resourceUpdated(uri: string): void;
  log(params: Json): void;
}

/** The client side of one in-flight call, used to route server-to-client requests. */
export interface CallContext {
  grant: Grant;
  /** The call's AbortSignal (made on first use; the forwarded request itself listens on `cancel`). */
  signal?: AbortSignal;
  /** Cancels the forwarded request; the call itself where there is one (no AbortController per call). */
  cancel?: CancelSignal;
  /** Client capabilities, when known. */
  capabilities?: Json;
  /** Sends a request to the client on this call's stream; absent when the era has no such requests. */
  relay?: (method: string, params: Json | undefined, signal: AbortSignal) => Promise<Json>;
  /** 'modern': a 2026-07-28 client, which gets a backend's input_required results as they are (issue 10). */
  era?: 'modern';
  /** The 2025 session's logging/setLevel, sent per request to 2026-07-28 backends (which have no setLevel). */
  logLevel?: string;
  /**
   * The client request's headers: its `Mcp-Param-*` ones (lower-case names, bounded: `passedParamHeaders()`
   * in backends/discover.ts) go on to a 2026-07-28 HTTP backend (SEP-2243: intermediaries MUST forward the
   * ones they do not recognize); the headers the gateway derives from `x-mcp-header` replace them. Read only
   * for a 2026-07-28 backend, so a 2025 call never walks its headers.
   */
  clientHeaders?: Headers;
  progress?: (p: { progress: number; total?: number; message?: string }) => void;
}
