/**
 * @module Composition root: config -> backends -> aggregator -> /mcp endpoint -> Bun.serve.
 * Returns a handle to reload the config, read status and stop gracefully.
 */
import { mkdirSync, chmodSync } from 'node:fs';
import type { BackendOptions, BackendStatus } from './backends/backend.ts';
import { isLoopbackHost, parseListen, type BackendConfig, type Config } from './config/schema.ts';
import type { Deps } from './deps.ts';
import { Aggregator, type BackendSpec, type CallRecord, type Grant } from './mcp/aggregator.ts';
import { McpEndpoint } from './mcp/endpoint.ts';
import { createRoutes, type Authenticator } from './http/routes.ts';
import { join } from 'node:path';
import { createAuthServer, type Principal } from './oauth/server.ts';
import { openStore, type Database } from './store/db.ts';

export interface Gateway {
  /** The base URL the server is bound to (http://host:port). */
  url: string;
  port: number;
  publicUrl: string;
  aggregator: Aggregator;
  endpoint: McpEndpoint;
  /** Applies a new config's backends and naming without dropping sessions. */
  reload(config: Config): Promise<{ added: string[]; removed: string[]; changed: string[] }>;
  /** Live state for `mcpgw status` and `backends list` (over the admin socket). */
  snapshot(): GatewaySnapshot;
  /** Stops accepting, lets in-flight requests finish up to `graceMs`, closes backends. */
  stop(graceMs?: number): Promise<void>;
}

/** What the admin socket's /status returns (the shape `mcpgw status --json` prints). */
export interface GatewaySnapshot {
  version: string;
  uptime_s: number;
  sessions: number;
  calls_per_minute: number;
  backends: BackendStatus[];
  recent_calls: CallRecord[];
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

const ALL: Grant = { key: 'anonymous', backends: null };

// Between binding the port and mounting the authorization server (a few ms), nothing is served.
const starting: Authenticator = {
  routes: async () => Response.json({ error: 'temporarily_unavailable' }, { status: 503, headers: { 'retry-after': '1' } }),
  authenticate: async () => ({ ok: false, response: Response.json({ error: 'temporarily_unavailable' }, { status: 503, headers: { 'retry-after': '1' } }) }),
};

/** `auth.mode: none` (loopback only, enforced by the config schema): every caller may use every backend. */
export const noAuth: Authenticator = {
  routes: async () => undefined,
  authenticate: async () => ({ ok: true, grant: ALL }),
};

/** The caller's grant as the MCP layer sees it; sessions are bound to `key`. */
export function grantOf(p: Principal): Grant {
  return { key: `${p.kind}:${p.subject}:${p.clientId}:${p.grantId}`, clientId: p.clientId, backends: p.backends };
}

/** Mounts the OAuth authorization server and bearer check (auth.mode oauth) on the gateway's database. */
async function oauthAuthenticator(config: Config, publicUrl: string, db: Database, deps: Deps, backendNames: () => string[]): Promise<Authenticator & { close(): void }> {
  const server = await createAuthServer({ settings: config.auth, publicUrl, db, dataDir: config.data_dir, backendNames, deps });
  return {
    routes: (req, ip) => server.handle(req, ip),
    authenticate: async (req) => {
      const r = await server.authenticate(req);
      return r.ok ? { ok: true, grant: grantOf(r.principal) } : r;
    },
    close: () => server.close(),
  };
}

/** Path of the SQLite database in data_dir. */
export function databasePath(dataDir: string): string {
  return join(dataDir, 'mcpgw.db');
}

export interface GatewayOptions {
  version: string;
}

/** Starts the gateway: connects backends in parallel (never blocking on them) and listens. */
export async function startGateway(config: Config, deps: Deps, opts: GatewayOptions): Promise<Gateway> {
  mkdirSync(config.data_dir, { recursive: true, mode: 0o700 });
  chmodSync(config.data_dir, 0o700);
  const naming = { separator: config.naming.separator, maxLength: config.naming.max_length };
  const aggregator = new Aggregator(naming, deps);
  await aggregator.configure(backendSpecs(config), naming);
  const { host, port } = parseListen(config.listen);
  let current = config;
  const inflight = { count: 0 };
  const startedAt = deps.clock.now();
  let endpoint!: McpEndpoint;
  const snapshot = (): GatewaySnapshot => ({
    version: opts.version,
    uptime_s: Math.round((deps.clock.now() - startedAt) / 1000),
    sessions: endpoint.sessionCount,
    calls_per_minute: aggregator.callsPerMinute(),
    backends: aggregator.pool.list().map((b) => b.status()),
    recent_calls: aggregator.recentCalls.slice(-10),
  });
  let auth: Authenticator = starting;
  const routes = createRoutes({ aggregator, endpoint: () => endpoint, auth: { routes: (r, ip) => auth.routes(r, ip), authenticate: (r) => auth.authenticate(r) }, deps, inflight, snapshot });
  const server = Bun.serve({
    hostname: host,
    port,
    // Long tool calls and GET streams carry keep-alive comments well inside this bound (Bun's default is 10 s).
    idleTimeout: 255,
    maxRequestBodySize: config.http.max_body_bytes + 1024,
    fetch: (req, srv) => routes(req, srv.requestIP(req)?.address ?? ''),
  });
  const boundPort = server.port ?? port;
  const publicUrl = fixPort(config.public_url, port, boundPort);
  endpoint = new McpEndpoint(
    aggregator,
    {
      version: opts.version,
      allowedOrigins: new Set([new URL(publicUrl).origin.toLowerCase(), ...config.http.allowed_origins.map((o) => o.toLowerCase())]),
      allowedHosts: allowedHosts({ ...config, public_url: publicUrl }, boundPort),
      maxBodyBytes: config.http.max_body_bytes,
      maxJsonDepth: config.http.max_json_depth,
      maxHeaderBytes: config.http.max_header_bytes,
      keepAliveMs: config.http.sse_keepalive,
      sessionIdleMs: 60 * 60_000,
      maxSessions: 1000,
    },
    deps,
  );
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${boundPort}`;
  let db: Database | undefined;
  let oauth: (Authenticator & { close(): void }) | undefined;
  if (config.auth.mode === 'oauth') {
    db = openStore(databasePath(config.data_dir));
    oauth = await oauthAuthenticator(config, publicUrl, db, deps, () => Object.keys(current.backends).filter((n) => current.backends[n].enabled));
  }
  auth = oauth ?? noAuth;
  return {
    url,
    port: boundPort,
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
    async stop(graceMs = current.http.shutdown_grace) {
      void server.stop(false);
      const deadline = deps.clock.now() + graceMs;
      // SSE responses return before their call ends, so in-flight means calls forwarded to backends.
      while ((inflight.count > 0 || aggregator.activeCalls > 0) && deps.clock.now() < deadline) await Bun.sleep(50);
      await Bun.sleep(100);
      server.stop(true);
      await endpoint.close();
      await aggregator.pool.close();
      oauth?.close();
      db?.close();
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
