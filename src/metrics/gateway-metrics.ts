/**
 * @module The gateway's metric families (`mcpgw_` prefix, base units, bounded labels) and the recorders
 * the router, the aggregator and the authorization server call. Live state (backend states, sessions,
 * streams) is read at scrape time.
 */
import type { StreamStats } from '../mcp/streams.ts';
import { AUTH_EVENT_TYPES, type AuthEvent } from '../oauth/events.ts';
import { labelCap, Registry } from './registry.ts';

/** Backend states as a gauge's `state` label (one series per state, 1 for the current one). */
const BACKEND_STATES = ['connecting', 'up', 'down', 'disabled'] as const;
/** Fixed, small label sets: anything else is `other`. */
const ENDPOINTS = new Set([
  '/mcp', '/sse', '/messages', '/status', '/health', '/metrics', '/authorize', '/token', '/register', '/revoke', '/jwks.json',
  '/.well-known/oauth-protected-resource', '/.well-known/oauth-authorization-server', '/.well-known/openid-configuration',
]);
const METHODS = new Set(['GET', 'POST', 'DELETE', 'OPTIONS', 'HEAD', 'PUT', 'PATCH']);
/** Backend names come from the config; this only guards against a pathological one. */
const MAX_BACKEND_LABELS = 200;

/** The route a request path belongs to, as the `endpoint` label: never the raw path. */
export function endpointLabel(pathname: string): string {
  if (ENDPOINTS.has(pathname)) return pathname; // /mcp: every call
  let p = pathname.length > 1 ? pathname.replace(/\/+$/, '') : pathname;
  // RFC 8414 / RFC 9728 path-suffixed discovery documents count with their base document.
  if (p.startsWith('/.well-known/')) p = p.replace(/^(\/\.well-known\/[a-z-]+)\/.*$/, '$1');
  return ENDPOINTS.has(p) ? p : 'other';
}

/** What the live gateway shows at scrape time. */
export interface LiveState {
  backends(): { name: string; state: string }[];
  sessions(): number;
  streams(): StreamStats;
}

/** One finished tools/call. */
export interface CallObservation {
  backend: string;
  tool: string;
  outcome: 'ok' | 'error';
  durationMs: number;
}

export interface GatewayMetricsOptions {
  version: string;
  /** At most this many distinct tool label values; later tools are counted as `other`. */
  maxToolLabels: number;
}

/** The gateway's metrics; one per gateway (tests run several in one process). */
export interface GatewayMetrics {
  /** One HTTP request answered. */
  request(pathname: string, method: string, status: number): void;
  call(o: CallObservation): void;
  /** A backend's state may have changed (called on each catalog/state change). */
  backendChanged(b: { name: string; state: string }): void;
  authEvent(e: AuthEvent): void;
  /** Reads live state from the gateway at each scrape. */
  attach(live: LiveState): void;
  /** The exposition text (format 0.0.4). */
  expose(): string;
}

/** Creates the registry with every mcpgw family. */
export function createGatewayMetrics(opts: GatewayMetricsOptions): GatewayMetrics {
  const r = new Registry();
  const build = r.gauge<'version'>({ name: 'mcpgw_build_info', help: 'Always 1; the running mcpgw version as a label.', labelNames: ['version'] });
  build.set({ version: opts.version }, 1);
  const requests = r.counter<'endpoint' | 'method' | 'code'>({ name: 'mcpgw_http_requests_total', help: 'HTTP requests answered, by route (not raw path), method and status code.', labelNames: ['endpoint', 'method', 'code'] });
  const calls = r.counter<'backend' | 'tool' | 'outcome'>({ name: 'mcpgw_tool_calls_total', help: 'tools/call requests finished, by backend, exposed tool name and outcome (ok or error).', labelNames: ['backend', 'tool', 'outcome'] });
  const duration = r.histogram<'backend' | 'tool'>({ name: 'mcpgw_tool_call_duration_seconds', help: 'Time from forwarding a tools/call to its answer, in seconds.', labelNames: ['backend', 'tool'] });
  const state = r.gauge<'backend' | 'state'>({ name: 'mcpgw_backend_state', help: 'Backend connection state: 1 for the current state, 0 for the others.', labelNames: ['backend', 'state'] });
  const reconnects = r.counter<'backend'>({ name: 'mcpgw_backend_reconnects_total', help: 'Times a backend connection came back up after it had been up and dropped.', labelNames: ['backend'] });
  const sessions = r.gauge({ name: 'mcpgw_sessions', help: 'Open MCP sessions.' });
  const streams = r.gauge({ name: 'mcpgw_streams_open', help: 'Open SSE streams to clients.' });
  const dropped = r.counter({ name: 'mcpgw_notifications_dropped_total', help: 'Notifications dropped because a client did not read its stream.' });
  const disconnected = r.counter({ name: 'mcpgw_slow_clients_disconnected_total', help: 'Client streams closed because their buffer stayed full.' });
  const oauth = r.counter<'event'>({ name: 'mcpgw_oauth_events_total', help: 'Authorization server events: registrations, consents granted/denied, failed passwords, tokens issued/refreshed/revoked, reuse detected.', labelNames: ['event'] });
  for (const event of AUTH_EVENT_TYPES) oauth.inc({ event }, 0);

  const tool = labelCap(opts.maxToolLabels);
  const backend = labelCap(MAX_BACKEND_LABELS);
  const wasUp = new WeakMap<object, boolean>();
  const lastState = new WeakMap<object, string>();
  let live: LiveState | undefined;
  r.onCollect(() => {
    if (!live) return;
    state.reset();
    for (const b of live.backends()) for (const s of BACKEND_STATES) state.set({ backend: backend(b.name), state: s }, b.state === s ? 1 : 0);
    sessions.set({}, live.sessions());
    const st = live.streams();
    streams.set({}, st.open);
    dropped.setTotal({}, st.dropped);
    disconnected.setTotal({}, st.disconnected);
  });

  return {
    request(pathname, method, status) {
      requests.inc({ endpoint: endpointLabel(pathname), method: METHODS.has(method) ? method : 'other', code: String(status) });
    },
    call(o) {
      const labels = { backend: backend(o.backend), tool: tool(o.tool) };
      calls.inc({ ...labels, outcome: o.outcome });
      duration.observe(labels, o.durationMs / 1000);
    },
    backendChanged(b) {
      // A Backend object lives from config load to config change: a second "up" of the same object is a reconnect.
      if (b.state === 'up' && lastState.get(b) !== 'up') {
        if (wasUp.get(b)) reconnects.inc({ backend: backend(b.name) });
        wasUp.set(b, true);
      }
      lastState.set(b, b.state);
    },
    authEvent(e) {
      oauth.inc({ event: e.type });
    },
    attach(l) {
      live = l;
    },
    expose: () => r.expose(),
  };
}
