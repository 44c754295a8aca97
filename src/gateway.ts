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
import { createRoutes, type Authenticator, type GatewaySnapshot } from './http/routes.ts';
import { join } from 'node:path';
import { createAuthServer, type Principal } from './oauth/server.ts';
import type { Database } from './store/db.ts';

export type { GatewaySnapshot } from './http/routes.ts';

/** A running gateway without a socket. */
export interface Gateway {
  /** Serves one HTTP request; `clientIp` is the TCP peer (for sign-in throttling). */
  fetch(req: Request, clientIp?: string): Promise<Response>;
  publicUrl: string;
  aggregator: Aggregator;
  endpoint: McpEndpoint;
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

/** `auth.mode: none` (loopback only, enforced by the config schema): every caller may use every backend. */
export const noAuth: Authenticator = {
  routes: async () => undefined,
  authenticate: async () => ({ ok: true, grant: ALL }),
};

/** The caller's grant as the MCP layer sees it; sessions are bound to `key`. */
export function grantOf(p: Principal): Grant {
  return { key: `${p.kind}:${p.subject}:${p.clientId}:${p.grantId}`, clientId: p.clientId, grantId: p.grantId, backends: p.backends };
}

/** Path of the SQLite database in data_dir. */
export function databasePath(dataDir: string): string {
  return join(dataDir, 'mcpgw.db');
}

/** Builds the gateway: backends connect in the background (never blocking), the route table is ready at once. */
export async function createGateway(config: Config, deps: Deps, opts: GatewayOptions): Promise<Gateway> {
  const naming = { separator: config.naming.separator, maxLength: config.naming.max_length };
  const aggregator = new Aggregator(naming, deps, deps.log, opts.db);
  await aggregator.configure(backendSpecs(config), naming);
  let current = config;
  const inflight = { count: 0 };
  const startedAt = deps.clock.now();
  const publicUrl = fixPort(config.public_url, parseListen(config.listen).port, opts.port);
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
    calls_per_minute: aggregator.callsPerMinute(),
    backends: aggregator.pool.list().map((b) => b.status()),
    recent_calls: aggregator.recentCalls.slice(-10),
  });
  let auth: Authenticator = noAuth;
  let closeAuth = () => {};
  if (config.auth.mode === 'oauth') {
    if (!opts.db) throw new Error('auth.mode oauth needs the database');
    const server = await createAuthServer({
      settings: config.auth,
      publicUrl,
      db: opts.db,
      dataDir: config.data_dir,
      backendNames: () => Object.keys(current.backends).filter((n) => current.backends[n].enabled),
      backendDescriptions: () => Object.fromEntries(Object.entries(current.backends).flatMap(([n, b]) => (b.description ? [[n, b.description]] : []))),
      trustedProxies: config.http.trusted_proxies,
      deps,
    });
    auth = {
      routes: (req, ip) => server.handle(req, ip),
      authenticate: async (req) => {
        const r = await server.authenticate(req);
        return r.ok ? { ok: true, grant: grantOf(r.principal) } : r;
      },
    };
    const revoked = server.onRevoked((ids) => {
      const n = endpoint.revokeGrants(ids);
      if (n > 0) deps.log.info('revoked grant: sessions and streams closed', { sessions: n });
    });
    closeAuth = () => (revoked(), server.close());
  }
  const routes = createRoutes({ aggregator, endpoint, auth, deps, inflight, snapshot, publicUrl });
  return {
    fetch: (req, clientIp = '') => routes(req, clientIp),
    publicUrl,
    aggregator,
    endpoint,
    snapshot,
    async reload(next) {
      current = next;
      // The consent page reads the password hash per request, so `mcpgw passwd` applies without a restart.
      config.auth.password_hash = next.auth.password_hash;
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
    },
  };
}

// With `listen: 127.0.0.1:0` the public URL was derived with port 0; it is the bound port.
function fixPort(publicUrl: string, configured: number, bound: number): string {
  if (configured !== 0) return publicUrl;
  const u = new URL(publicUrl);
  if (u.port === '0') u.port = String(bound);
  return u.href.replace(/\/+$/, '');
}
