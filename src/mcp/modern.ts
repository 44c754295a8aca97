/**
 * @module 2026-07-28 traffic through the SDK's per-request handler (`server/discover`, per-request
 * calls, `subscriptions/listen`). Loaded on the first request that needs it, so a gateway serving
 * 2025-era clients never loads the SDK's server side (issue 7 item 12).
 */
import { createMcpHandler, isLegacyRequest, type McpHttpHandler } from '@modelcontextprotocol/server';
import type { Deps } from '../deps.ts';
import { errorMessage } from '../errors.ts';
import type { Aggregator, Grant, SessionSink } from './aggregator.ts';
import { createMcpServer } from './server.ts';
import { paramHeaderMismatch } from '../backends/discover.ts';

/** SEP-2243 HeaderMismatch. */
const HEADER_MISMATCH = -32020;

/** The modern handler and the era classifier for requests the fast check cannot decide. */
export interface ModernEra {
  handler: McpHttpHandler;
  isLegacy(req: Request, body: unknown): Promise<boolean>;
  /** SEP-2243 `Mcp-Param-*` validation of a tools/call (400 + -32020 on a mismatch), before the SDK handler. */
  checkParams(req: Request, body: unknown, grant: Grant): Response | undefined;
  /**
   * A `subscriptions/listen` naming resources subscribes to them at their backends for as long as the
   * listen request is open (the SDK's listen router then delivers the updates, filtered).
   */
  trackListen(req: Request, body: unknown, grant: Grant): void;
}

/** Builds the handler; each request gets a fresh SDK Server over the aggregator. */
export function createModernEra(agg: Aggregator, opts: { version: string; keepAliveMs: number; maxBodyBytes: number }, deps: Deps): ModernEra {
  const handler = createMcpHandler((ctx) => createMcpServer(agg, grantOfAuth(ctx.authInfo), { version: opts.version, era: 'modern' }), {
    legacy: 'reject',
    keepAliveMs: opts.keepAliveMs,
    maxRequestBodySize: opts.maxBodyBytes,
    onerror: (err) => deps.log.debug('modern request rejected', { error: errorMessage(err) }),
  });
  return {
    handler,
    isLegacy: (req, body) => isLegacyRequest(req, body),
    checkParams: (req, body, grant) => checkParams(agg, req, body, grant),
    trackListen: (req, body, grant) => trackListen(agg, req, body, grant, deps),
  };
}

/** Most resources one listen request may subscribe to at the backends. */
const MAX_LISTEN_RESOURCES = 100;

function trackListen(agg: Aggregator, req: Request, body: unknown, grant: Grant, deps: Deps): void {
  const m = body as { method?: unknown; id?: unknown; params?: { notifications?: { resourceSubscriptions?: unknown } } } | undefined;
  const uris = m?.method === 'subscriptions/listen' ? m.params?.notifications?.resourceSubscriptions : undefined;
  if (!Array.isArray(uris) || uris.length === 0) return;
  // Updates reach the client through the SDK handler (agg.onResourceUpdated); this sink only holds the subscriptions.
  const sink: SessionSink = { id: `listen-${String(m?.id)}`, grant, subscriptions: new Set(), listChanged: () => {}, resourceUpdated: () => {}, log: () => {} };
  for (const uri of uris.slice(0, MAX_LISTEN_RESOURCES)) {
    if (typeof uri === 'string') void agg.subscribe(uri, sink).catch((err) => deps.log.debug('listen subscription failed', { uri, error: errorMessage(err) }));
  }
  const end = () => void agg.removeSink(sink).catch(() => {});
  if (req.signal.aborted) end();
  else req.signal.addEventListener('abort', end, { once: true });
}

function checkParams(agg: Aggregator, req: Request, body: unknown, grant: Grant): Response | undefined {
  const m = body as { id?: unknown; method?: unknown; params?: { name?: unknown; arguments?: unknown } } | undefined;
  if (m?.method !== 'tools/call' || typeof m.params?.name !== 'string') return undefined;
  const decls = agg.paramDecls(m.params.name, grant);
  const mismatch = decls && paramHeaderMismatch(decls, m.params.arguments, req.headers);
  if (!mismatch) return undefined;
  const error = { code: HEADER_MISMATCH, message: `Bad Request: the request headers and body disagree: ${mismatch.message}`, data: { mismatch: { header: mismatch.header, body: mismatch.message } } };
  return Response.json({ jsonrpc: '2.0', id: m.id ?? null, error }, { status: 400 });
}

function grantOfAuth(authInfo: { extra?: Record<string, unknown> } | undefined): Grant {
  return (authInfo?.extra?.grant as Grant | undefined) ?? { key: 'anonymous', backends: null };
}
