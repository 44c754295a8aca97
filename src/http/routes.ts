/** @module The route table: every path, method and handler on one screen. */
import type { BackendStatus } from '../backends/backend.ts';
import type { Deps } from '../deps.ts';
import type { Aggregator, CallRecord, Grant } from '../mcp/aggregator.ts';
import type { McpEndpoint } from '../mcp/endpoint.ts';
import type { StreamStats } from '../mcp/streams.ts';
import type { GatewayMetrics } from '../metrics/gateway-metrics.ts';
import { EXPOSITION_CONTENT_TYPE } from '../metrics/registry.ts';
import { peerAddress, type PeerAddress } from './peer.ts';
import { internalError, jsonError } from './respond.ts';
import { rootPage } from './root-page.ts';

/** What the admin socket's /status returns (the shape `mcpgw status --json` prints). */
export interface GatewaySnapshot {
  version: string;
  uptime_s: number;
  sessions: number;
  /** Open SSE streams, notifications dropped for clients that did not read, clients disconnected for it. */
  streams: StreamStats;
  calls_per_minute: number;
  backends: BackendStatus[];
  recent_calls: CallRecord[];
}

/** A caller's grant, or the 401 response to send. */
export type GrantResult = { ok: true; grant: Grant } | { ok: false; response: Response };

/** The seam the OAuth layer fills: its own routes, and the bearer check in front of /mcp and /status. */
export interface Authenticator {
  /** Serves the authorization server's routes; undefined for paths it does not own. */
  routes(req: Request, clientIp: string): Promise<Response | undefined>;
  /** Resource-server check: a grant, or the 401 response to send. */
  /** Synchronous when the verdict is cached (the per-call path), else a promise. */
  authenticate(req: Request, clientIp?: PeerAddress): GrantResult | Promise<GrantResult>;
}

export interface RouteDeps {
  aggregator: Aggregator;
  endpoint: McpEndpoint;
  auth: Authenticator;
  deps: Deps;
  inflight: { count: number };
  snapshot: () => GatewaySnapshot;
  /** HOOK (state branch, issue 8 finding 6): problems that make /health `degraded` (e.g. the database file was deleted). */
  problems?: () => string[];
  /** Counts every request and serves GET /metrics; absent when `metrics.enabled` is false. */
  metrics?: GatewayMetrics;
  /** The public URL (it may change on reload), for the root page's endpoint address (issue 9 item 9). */
  publicUrl: () => string;
}

/** Builds the request handler. */
export function createRoutes(r: RouteDeps): (req: Request, clientIp: PeerAddress) => Promise<Response> {
  return async (req, clientIp) => {
    r.inflight.count++;
    let res: Response | undefined;
    try {
      return (res = await route(r, req, clientIp));
    } catch (err) {
      return (res = internalError(err, r.deps.log, r.deps.random));
    } finally {
      r.inflight.count--;
      r.metrics?.request(pathOf(req.url), req.method, res?.status ?? 500);
    }
  };
}

async function route(r: RouteDeps, req: Request, clientIp: PeerAddress): Promise<Response> {
  const pathname = pathOf(req.url);
  if (pathname === '/health' && req.method === 'GET') return health(r);
  if (pathname === '/' && (req.method === 'GET' || req.method === 'HEAD')) return rootPage(r.publicUrl(), Buffer.from(r.deps.random(16)).toString('base64url'));
  if (pathname === '/mcp' || pathname === '/mcp/') {
    const endpoint = r.endpoint;
    // Preflights carry no credentials; everything else meets the bearer check before any other check (spec-checklist §1.1).
    if (req.method === 'OPTIONS') return endpoint.preflight(req);
    const pending = r.auth.authenticate(req, clientIp);
    const auth = pending instanceof Promise ? await pending : pending;
    return endpoint.withCors(req, auth.ok ? await endpoint.handle(req, auth.grant) : auth.response);
  }
  // The deprecated HTTP+SSE transport (2024-11-05) for SSE-only clients, behind the same bearer check (spec-checklist §2.11).
  if ((pathname === '/sse' && req.method === 'GET') || (pathname === '/messages' && req.method === 'POST')) {
    const pending = r.auth.authenticate(req, clientIp);
    const auth = pending instanceof Promise ? await pending : pending;
    if (!auth.ok) return auth.response;
    return pathname === '/sse' ? r.endpoint.openSseTransport(req, auth.grant) : r.endpoint.postSseMessage(req, auth.grant);
  }
  if (pathname === '/status' && req.method === 'GET') {
    const auth = await r.auth.authenticate(req, clientIp);
    if (!auth.ok) return auth.response;
    return status(r, auth.grant);
  }
  if (pathname === '/metrics' && r.metrics) return metricsEndpoint(r, r.metrics, req);
  const own = await r.auth.routes(req, peerAddress(clientIp) ?? '');
  if (own) return own;
  return jsonError(404, 'not_found', `no route for ${req.method} ${pathname}`);
}

/** GET /health: liveness without auth; reveals counts, never backend names. */
function health(r: RouteDeps): Response {
  let up = 0;
  let down = 0;
  for (const b of r.aggregator.pool.list()) b.state === 'up' ? up++ : down++;
  const problems = r.problems?.() ?? [];
  const body = { status: down === 0 && problems.length === 0 ? 'ok' : 'degraded', backends: { up, down }, ...(problems.length > 0 ? { problems } : {}) };
  return Response.json(body, { headers: { 'cache-control': 'no-store' } });
}

/**
 * GET /metrics: Prometheus text format for a personal token with every backend (or with auth.mode none).
 * Metrics name every backend and tool and count every client's activity, so connectors' OAuth grants and
 * personal tokens limited to some backends are refused; a full personal token can already call every tool.
 */
async function metricsEndpoint(r: RouteDeps, metrics: GatewayMetrics, req: Request): Promise<Response> {
  if (req.method !== 'GET' && req.method !== 'HEAD') return jsonError(405, 'method_not_allowed', 'use GET /metrics', { allow: 'GET, HEAD' });
  const auth = await r.auth.authenticate(req);
  if (!auth.ok) return auth.response;
  if (auth.grant.kind === 'oauth' || auth.grant.backends !== null) {
    return jsonError(403, 'insufficient_scope', "metrics need a personal token with every backend: mcpgw tokens create --name prometheus");
  }
  return new Response(req.method === 'HEAD' ? null : metrics.expose(), { headers: { 'content-type': EXPOSITION_CONTENT_TYPE, 'cache-control': 'no-store' } });
}

/** GET /status: per-backend state and recent calls, for the backends the caller is granted. */
function status(r: RouteDeps, grant: Grant): Response {
  const snap = r.snapshot();
  const granted = (name: string) => grant.backends === null || grant.backends.includes(name);
  const body = { ...snap, backends: snap.backends.filter((b) => granted(b.name)), recent_calls: snap.recent_calls.filter((c) => granted(c.backend)) };
  return Response.json(body, { headers: { 'cache-control': 'no-store' } });
}

/** The path of an absolute request URL without building a URL object (this runs for every request). */
export function pathOf(url: string): string {
  const start = url.indexOf('/', url.indexOf('//') + 2);
  if (start < 0) return '/';
  let end = url.length;
  for (let i = start; i < url.length; i++) {
    const c = url.charCodeAt(i);
    if (c === 63 || c === 35) {
      end = i;
      break;
    }
  }
  return url.slice(start, end);
}
