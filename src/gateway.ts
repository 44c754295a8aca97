/**
 * @module Composition root: config -> backends -> aggregator -> MCP endpoints -> route table, with
 * the database, clock, spawn and fetch injected and no socket. `cmd/serve.ts` puts `fetch` behind
 * Bun.serve; tests call it in-process.
 */
import type { BackendOptions } from './backends/backend.ts';
import { isLoopbackHost, parseListen, type BackendConfig, type Config } from './config/schema.ts';
import type { Deps } from './deps.ts';
import { Aggregator, type BackendSpec, type Grant } from './mcp/aggregator.ts';
import { McpEndpoint } from './mcp/endpoint.ts';
import type { PeerAddress } from './http/peer.ts';
import { createRoutes, type Authenticator, type GatewaySnapshot, type GrantResult } from './http/routes.ts';
import { createGatewayMetrics } from './metrics/gateway-metrics.ts';
import { join } from 'node:path';
import { createAuthServer, type AuthResult, type Principal } from './oauth/server.ts';
import type { Database } from './store/db.ts';
import { AuditLog } from './store/audit.ts';

export type { GatewaySnapshot } from './http/routes.ts';

/** A running gateway without a socket. */
export interface Gateway {
  /** Serves one HTTP request; `clientIp` is the TCP peer (for sign-in throttling), or a function that reads it when needed. */
  fetch(req: Request, clientIp?: PeerAddress): Promise<Response>;
  publicUrl: string;
  aggregator: Aggregator;
  endpoint: McpEndpoint;
  /** The audit log writer (absent without a database). */
  audit?: AuditLog;
  /** Applies a new config's backends, naming, password and public URL without dropping sessions. */
  reload(config: Config): Promise<{ added: string[]; removed: string[]; changed: string[] }>;
  /** Live state for `mcpgw status` and `backends list` (over the admin socket). */
  snapshot(): GatewaySnapshot;
  /** Lets in-flight requests finish up to `graceMs`, answers the rest with an error, closes backends. */
  close(graceMs?: number): Promise<void>;
}

export interface GatewayOptions {
  version: string;
  /** The port the listener is bound to (public_url and allowed hosts use it when `listen` says port 0). */
  port: number;
  /** The store; sessions and last known catalogs are kept here. Without it nothing survives a restart. */
  db?: Database;
  /** Problems that make /health say `degraded` besides down backends (e.g. the database file was replaced). */
  problems?: () => string[];
}

/** The options a Backend gets from a backend's config entry. */
export function backendOptions(name: string, b: BackendConfig, config: Config): BackendOptions {
  const d = config.backend_defaults;
  const common = {
    name,
    timeout: b.timeout ?? d.timeout,
    connectTimeout: b.connect_timeout ?? d.connect_timeout,
    retryInitial: d.retry_initial,
    retryMax: d.retry_max,
    enabled: b.enabled,
    maxMessageBytes: b.max_message_bytes ?? d.max_message_bytes,
    healthInterval: b.health_interval ?? d.health_interval,
    protocol: b.protocol ?? d.protocol,
  };
  if (b.transport === 'stdio') return { ...common, transport: 'stdio', command: b.command, args: b.args, env: b.env, cwd: b.cwd };
  return { ...common, transport: b.transport, url: b.url, headers: b.headers };
}

/** Every enabled backend as the aggregator wants it. */
export function backendSpecs(config: Config): BackendSpec[] {
  return Object.entries(config.backends)
    .filter(([, b]) => b.enabled)
    .map(([name, b]) => ({
      options: backendOptions(name, b, config),
      policy: { prefix: b.prefix, allow: b.tools.allow, deny: b.tools.deny, rename: b.tools.rename, descriptions: b.tools.descriptions },
      description: b.description,
      pinning: b.pinning,
    }));
}

/** Hosts a request may name: the public URL's host, configured extras, and loopback names when bound to loopback. */
export function allowedHosts(config: Config, port: number): Set<string> {
  const hosts = new Set<string>([new URL(config.public_url).host.toLowerCase(), ...config.http.allowed_hosts.map((h) => h.toLowerCase())]);
  const { host } = parseListen(config.listen);
  if (isLoopbackHost(host)) for (const name of ['localhost', '127.0.0.1', '[::1]']) hosts.add(`${name}:${port}`);
  else hosts.add(`${host.includes(':') ? `[${host}]` : host}:${port}`.toLowerCase());
  return hosts;
}

function allowedOrigins(config: Config, publicUrl: string): Set<string> {
  return new Set([new URL(publicUrl).origin.toLowerCase(), ...config.http.allowed_origins.map((o) => o.toLowerCase())]);
}

const ALL: Grant = { key: 'anonymous', backends: null };
const NO_AUTH_RESULT: GrantResult = { ok: true, grant: ALL };

/** `auth.mode: none` (loopback only, enforced by the config schema): every caller may use every backend. */
export const noAuth: Authenticator = {
  routes: async () => undefined,
  authenticate: () => NO_AUTH_RESULT,
};

function toGrantResult(r: AuthResult): GrantResult {
  return r.ok ? { ok: true, grant: grantOf(r.principal) } : r;
}

/** Grants already built, by the principal the bearer check's cache hands out again for every request. */
const grants = new WeakMap<Principal, Grant>();

/** The caller's grant as the MCP layer sees it; sessions are bound to `key`. Built once per cached principal. */
export function grantOf(p: Principal): Grant {
  let g = grants.get(p);
  if (!g) grants.set(p, (g = makeGrant(p)));
  return g;
}

function makeGrant(p: Principal): Grant {
  return { key: `${p.kind}:${p.subject}:${p.clientId}:${p.grantId}`, clientId: p.clientId, clientName: p.clientName, grantId: p.grantId, kind: p.kind, backends: p.backends };
}

/** Path of the SQLite database in data_dir. */
export function databasePath(dataDir: string): string {
  return join(dataDir, 'mcpgw.db');
}

/** Builds the gateway: backends connect in the background (never blocking), the route table is ready at once. */
export async function createGateway(config: Config, deps: Deps, opts: GatewayOptions): Promise<Gateway> {
  const naming = { separator: config.naming.separator, maxLength: config.naming.max_length };
  // Calls and sign-ins go to SQLite in batches (issue 9 item 1); closed (and flushed) last in close().
  const audit = opts.db
    ? new AuditLog(opts.db, { clock: deps.clock, log: deps.log, logArguments: config.audit.log_arguments, retentionMs: config.audit.retention })
    : undefined;
  const aggregator = new Aggregator(naming, deps, deps.log, opts.db, { audit });
  await aggregator.configure(backendSpecs(config), naming);
  try {
    return await assemble(config, deps, opts, aggregator, audit);
  } catch (err) {
    // A start that fails after backends were spawned ends every child it spawned (issue 8 finding 8).
    await aggregator.pool.close().catch(() => {});
    audit?.close();
    throw err;
  }
}

async function assemble(config: Config, deps: Deps, opts: GatewayOptions, aggregator: Aggregator, audit: AuditLog | undefined): Promise<Gateway> {
  let current = config;
  const inflight = { count: 0 };
  const startedAt = deps.clock.now();
  let publicUrl = fixPort(config.public_url, parseListen(config.listen).port, opts.port);
  const endpoint = new McpEndpoint(
    aggregator,
    {
      version: opts.version,
      allowedOrigins: allowedOrigins(config, publicUrl),
      allowedHosts: allowedHosts({ ...config, public_url: publicUrl }, opts.port),
      maxBodyBytes: config.http.max_body_bytes,
      maxJsonDepth: config.http.max_json_depth,
      maxHeaderBytes: config.http.max_header_bytes,
      keepAliveMs: config.http.sse_keepalive,
      streamBufferBytes: config.http.stream_buffer_bytes,
      sessionIdleMs: config.http.session_idle,
      maxSessions: config.http.max_sessions,
      maxSessionsPerGrant: config.http.max_sessions_per_grant,
    },
    deps,
    opts.db,
  );
  const snapshot = (): GatewaySnapshot => ({
    version: opts.version,
    uptime_s: Math.round((deps.clock.now() - startedAt) / 1000),
    sessions: endpoint.sessionCount,
    streams: { ...endpoint.stats },
    calls_per_minute: aggregator.calls.perMinute(),
    backends: aggregator.pool.list().map((b) => b.status()),
    recent_calls: aggregator.calls.recent.slice(-10),
  });
  // Metrics (issue 9 item 4): recorders hooked into the aggregator, the auth server and the route table.
  const metrics = config.metrics.enabled ? createGatewayMetrics({ version: opts.version, maxToolLabels: config.metrics.max_tool_labels }) : undefined;
  if (metrics) {
    metrics.attach({ backends: () => aggregator.pool.list(), sessions: () => endpoint.sessionCount, streams: () => endpoint.stats });
    aggregator.calls.onCall = (c) => metrics.call({ backend: c.backend, tool: c.tool, outcome: c.outcome, durationMs: c.duration_ms });
    aggregator.onBackendChanged = (b) => metrics.backendChanged(b);
  }
  let auth: Authenticator = noAuth;
  let closeAuth = () => {};
  const mountAuth = async (url: string): Promise<void> => {
    if (config.auth.mode !== 'oauth') return;
    if (!opts.db) throw new Error('auth.mode oauth needs the database');
    const server = await createAuthServer({
      settings: config.auth,
      publicUrl: url,
      db: opts.db,
      dataDir: config.data_dir,
      backendNames: () => Object.keys(current.backends).filter((n) => current.backends[n].enabled),
      backendDescriptions: () => Object.fromEntries(Object.entries(current.backends).flatMap(([n, b]) => (b.description ? [[n, b.description]] : []))),
      trustedProxies: config.http.trusted_proxies,
      deps,
      onEvent: metrics && ((e) => metrics.authEvent(e)),
      audit: audit && ((e) => audit.auth(e)),
    });
    auth = {
      routes: (req, ip) => server.handle(req, ip),
      authenticate: (req, ip) => {
        const r = server.authenticate(req, ip);
        return r instanceof Promise ? r.then(toGrantResult) : toGrantResult(r);
      },
    };
    const revoked = server.onRevoked((ids) => {
      const n = endpoint.revokeGrants(ids);
      if (n > 0) deps.log.info('revoked grant: sessions and streams closed', { sessions: n });
    });
    const previous = closeAuth;
    closeAuth = () => (revoked(), server.close());
    previous();
  };
  await mountAuth(publicUrl);
  // Hook for `mcpgw funnel on` (issue 8 finding 4): a new public_url applies on reload, without a restart: its
  // host and origin become allowed, and the authorization server is rebuilt so the metadata documents and the
  // 401 challenge name the new issuer and resource. Tokens issued for the old URL stop working.
  const applyPublicUrl = async (next: Config): Promise<void> => {
    publicUrl = fixPort(next.public_url, parseListen(config.listen).port, opts.port);
    handle.publicUrl = publicUrl;
    endpoint.setAllowed(allowedHosts({ ...next, public_url: publicUrl }, opts.port), allowedOrigins(next, publicUrl));
    await mountAuth(publicUrl);
    deps.log.info('public_url changed', { public_url: publicUrl });
  };
  const routes = createRoutes({ aggregator, endpoint, auth: { routes: (r, ip) => auth.routes(r, ip), authenticate: (r, ip) => auth.authenticate(r, ip) }, deps, inflight, snapshot, problems: opts.problems, metrics, publicUrl: () => handle.publicUrl });
  const handle: Gateway = {
    fetch: (req, clientIp = '') => routes(req, clientIp),
    publicUrl,
    aggregator,
    endpoint,
    audit,
    snapshot,
    async reload(next) {
      const urlChanged = next.public_url !== current.public_url;
      current = next;
      if (urlChanged) await applyPublicUrl(next);
      // The consent page reads the password hash per request, so `mcpgw passwd` applies without a restart.
      config.auth.password_hash = next.auth.password_hash;
      audit?.configure({ logArguments: next.audit.log_arguments, retentionMs: next.audit.retention });
      return aggregator.configure(backendSpecs(next), { separator: next.naming.separator, maxLength: next.naming.max_length });
    },
    async close(graceMs = current.http.shutdown_grace) {
      const deadline = deps.clock.now() + graceMs;
      // SSE responses return before their call ends, so in-flight means calls forwarded to backends.
      while ((inflight.count > 0 || aggregator.activeCalls > 0) && deps.clock.now() < deadline) await Bun.sleep(50);
      await endpoint.close();
      // Calls still running were answered with an error by endpoint.close(); let those answers go out.
      await Bun.sleep(50);
      await aggregator.pool.close();
      closeAuth();
      audit?.close();
    },
  };
  return handle;
}

// With `listen: 127.0.0.1:0` the public URL was derived with port 0; it is the bound port.
function fixPort(publicUrl: string, configured: number, bound: number): string {
  if (configured !== 0) return publicUrl;
  const u = new URL(publicUrl);
  if (u.port === '0') u.port = String(bound);
  return u.href.replace(/\/+$/, '');
}
