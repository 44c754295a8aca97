/**
 * @module The client-facing Streamable HTTP endpoint `/mcp` (MCP 2025-03-26 … 2025-11-25 and
 * 2026-07-28 on one URL): Origin/Host checks, body limits, JSON parsing, stateful legacy sessions,
 * stateless legacy requests, and modern per-request calls through the SDK's createMcpHandler.
 * The bearer check runs before this (see http/routes.ts).
 */
import { WebStandardStreamableHTTPServerTransport, createMcpHandler, isLegacyRequest, type McpHttpHandler } from '@modelcontextprotocol/server';
import type { Deps } from '../deps.ts';
import { errorMessage } from '../errors.ts';
import type { Aggregator, Grant, ListKind, SessionSink } from './aggregator.ts';
import { createMcpServer } from './server.ts';

type Json = Record<string, unknown>;

export interface EndpointOptions {
  version: string;
  /** Origins allowed besides none (absent Origin is allowed: server-to-server clients send none). */
  allowedOrigins: Set<string>;
  /** Host header values allowed (host[:port], lowercase). */
  allowedHosts: Set<string>;
  maxBodyBytes: number;
  maxJsonDepth: number;
  maxHeaderBytes: number;
  keepAliveMs: number;
  sessionIdleMs: number;
  maxSessions: number;
}

interface LegacySession extends SessionSink {
  transport: WebStandardStreamableHTTPServerTransport;
  lastActive: number;
  close(): Promise<void>;
}

/** JSON-RPC error response with an HTTP status; never a stack trace. */
export function rpcError(status: number, code: number, message: string, data?: Json, headers: Record<string, string> = {}): Response {
  return Response.json({ jsonrpc: '2.0', id: null, error: { code, message, ...(data ? { data } : {}) } }, { status, headers });
}

/** Nesting depth of a parsed JSON value, bounded by `limit + 1`. */
export function jsonDepth(value: unknown, limit: number, depth = 0): number {
  if (depth > limit || value === null || typeof value !== 'object') return depth;
  let max = depth + 1;
  for (const v of Array.isArray(value) ? value : Object.values(value)) {
    max = Math.max(max, jsonDepth(v, limit, depth + 1));
    if (max > limit) break;
  }
  return max;
}

/** Reads at most `max` bytes of a body; undefined when it is larger. */
async function readBounded(req: Request, max: number): Promise<string | undefined> {
  const declared = Number(req.headers.get('content-length') ?? NaN);
  if (declared > max) return undefined;
  if (!req.body) return '';
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      void reader.cancel().catch(() => {});
      return undefined;
    }
    chunks.push(value);
  }
  return new TextDecoder().decode(Buffer.concat(chunks));
}

function isRequestMessage(m: unknown): boolean {
  return Boolean(m && typeof m === 'object' && 'method' in (m as Json) && 'id' in (m as Json));
}

/** The /mcp endpoint; a class because it owns the session table. */
export class McpEndpoint {
  private readonly sessions = new Map<string, LegacySession>();
  private readonly modern: McpHttpHandler;
  private readonly sweeper: ReturnType<typeof setInterval>;

  constructor(
    private readonly agg: Aggregator,
    private readonly opts: EndpointOptions,
    private readonly deps: Deps,
  ) {
    this.modern = createMcpHandler((ctx) => createMcpServer(agg, grantOf(ctx.authInfo), { version: opts.version, era: 'modern' }), {
      legacy: 'reject',
      keepAliveMs: opts.keepAliveMs,
      maxRequestBodySize: opts.maxBodyBytes,
      onerror: (err) => deps.log.debug('modern request rejected', { error: errorMessage(err) }),
    });
    agg.onListChanged = (kinds) => {
      if (kinds.includes('tools')) this.modern.notify.toolsChanged();
      if (kinds.includes('prompts')) this.modern.notify.promptsChanged();
      if (kinds.includes('resources')) this.modern.notify.resourcesChanged();
    };
    agg.onResourceUpdated = (uri) => this.modern.notify.resourceUpdated(uri);
    this.sweeper = setInterval(() => void this.sweep(), Math.min(60_000, opts.sessionIdleMs));
    this.sweeper.unref?.();
  }

  /** Number of open legacy sessions. */
  get sessionCount(): number {
    return this.sessions.size;
  }

  /** CORS preflight for browser clients (MCP Inspector direct mode), for allowed origins only (spec-checklist §2.7). */
  preflight(req: Request): Response {
    const origin = req.headers.get('origin');
    if (!origin || !this.opts.allowedOrigins.has(origin.toLowerCase())) return rpcError(403, -32600, 'Forbidden: Origin not allowed', { reason: 'forbidden_origin' });
    return new Response(null, {
      status: 204,
      headers: {
        ...this.corsHeaders(origin),
        'access-control-allow-methods': 'GET, POST, DELETE, OPTIONS',
        'access-control-allow-headers': 'Authorization, Content-Type, Accept, Mcp-Session-Id, MCP-Protocol-Version, Last-Event-ID, Mcp-Method, Mcp-Name, Mcp-Param-*',
        'access-control-max-age': '600',
      },
    });
  }

  /** Adds CORS response headers when the request came from an allowed browser origin. */
  withCors(req: Request, res: Response): Response {
    const origin = req.headers.get('origin');
    if (!origin || !this.opts.allowedOrigins.has(origin.toLowerCase())) return res;
    const headers = new Headers(res.headers);
    for (const [k, v] of Object.entries(this.corsHeaders(origin))) headers.set(k, v);
    return new Response(res.body, { status: res.status, statusText: res.statusText, headers });
  }

  private corsHeaders(origin: string): Record<string, string> {
    return { 'access-control-allow-origin': origin, 'access-control-expose-headers': 'Mcp-Session-Id, WWW-Authenticate, MCP-Protocol-Version', vary: 'Origin' };
  }

  /** Serves one request to /mcp for an already authenticated caller. */
  async handle(req: Request, grant: Grant): Promise<Response> {
    const rejected = this.checkOriginAndHost(req);
    if (rejected) return rejected;
    let headerBytes = 0;
    req.headers.forEach((v, k) => void (headerBytes += k.length + v.length + 4));
    if (headerBytes > this.opts.maxHeaderBytes) return rpcError(431, -32600, 'Request headers too large');
    if (req.method === 'POST') return this.post(req, grant);
    if (req.method === 'GET' || req.method === 'DELETE') return this.sessionOp(req, grant);
    return rpcError(405, -32600, 'Method not allowed', undefined, { Allow: 'GET, POST, DELETE' });
  }

  private checkOriginAndHost(req: Request): Response | undefined {
    // Streamable HTTP "Security Warning": validate Origin (DNS rebinding); absent Origin = server-to-server client.
    const origin = req.headers.get('origin');
    if (origin && !this.opts.allowedOrigins.has(origin.toLowerCase())) return rpcError(403, -32600, 'Forbidden: Origin not allowed', { reason: 'forbidden_origin' });
    const host = (req.headers.get('host') ?? '').toLowerCase();
    if (!this.opts.allowedHosts.has(host)) return rpcError(403, -32600, 'Forbidden: Host not allowed', { reason: 'forbidden_host' });
    return undefined;
  }

  private async post(req: Request, grant: Grant): Promise<Response> {
    const text = await readBounded(req, this.opts.maxBodyBytes);
    if (text === undefined) return rpcError(413, -32600, `Request body larger than ${this.opts.maxBodyBytes} bytes`);
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      return rpcError(400, -32700, 'Parse error: the body is not valid JSON');
    }
    if (jsonDepth(body, this.opts.maxJsonDepth) > this.opts.maxJsonDepth) return rpcError(400, -32600, `JSON nested deeper than ${this.opts.maxJsonDepth} levels`);
    const normalized = normalizeAccept(req);
    if (!(await isLegacyRequest(normalized.request, body))) {
      return this.modern.fetch(normalized.request, { parsedBody: body, authInfo: authInfoOf(grant) });
    }
    const messages = Array.isArray(body) ? body : [body];
    const init = messages.find((m) => (m as Json)?.method === 'initialize') as Json | undefined;
    if (init) this.agg.rememberCapabilities(grant, (init.params as Json | undefined)?.capabilities as Json | undefined);
    const sessionId = req.headers.get('mcp-session-id');
    if (sessionId) {
      const session = this.sessions.get(sessionId);
      if (!session || session.grant.key !== grant.key) {
        // Notifications and responses for a stale session are acknowledged: Claude sends them from
        // parallel connections and treats a 4xx as a broken server (spec-checklist §2.1 REALITY).
        if (!messages.some(isRequestMessage)) return new Response(null, { status: 202 });
        return rpcError(404, -32001, 'Session not found');
      }
      session.lastActive = this.deps.clock.now();
      return session.transport.handleRequest(normalized.request, { parsedBody: body, authInfo: authInfoOf(grant) });
    }
    if (init) return this.openSession(normalized.request, body, grant);
    return this.stateless(normalized.request, body, grant, normalized.jsonOnly);
  }

  private async sessionOp(req: Request, grant: Grant): Promise<Response> {
    const sessionId = req.headers.get('mcp-session-id');
    if (!sessionId) return rpcError(405, -32600, 'Method not allowed without a session', undefined, { Allow: 'POST' });
    const session = this.sessions.get(sessionId);
    if (!session || session.grant.key !== grant.key) return rpcError(404, -32001, 'Session not found');
    session.lastActive = this.deps.clock.now();
    return session.transport.handleRequest(req, { authInfo: authInfoOf(grant) });
  }

  /** A stateless legacy request: a fresh server and transport for this one exchange. */
  private async stateless(req: Request, body: unknown, grant: Grant, jsonOnly: boolean): Promise<Response> {
    const transport = new WebStandardStreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: jsonOnly, keepAliveMs: this.opts.keepAliveMs });
    const server = createMcpServer(this.agg, grant, { version: this.opts.version, era: 'legacy' });
    await server.connect(transport);
    const res = await transport.handleRequest(req, { parsedBody: body, authInfo: authInfoOf(grant) });
    if (!res.body || !(res.headers.get('content-type') ?? '').includes('text/event-stream')) void server.close().catch(() => {});
    return res;
  }

  private async openSession(req: Request, body: unknown, grant: Grant): Promise<Response> {
    if (this.sessions.size >= this.opts.maxSessions) await this.evictOldest();
    const random = this.deps.random;
    const sink: Partial<LegacySession> = { grant, subscriptions: new Set(), lastActive: this.deps.clock.now() };
    const session = sink as LegacySession;
    const server = createMcpServer(this.agg, grant, { version: this.opts.version, era: 'legacy', session });
    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: () => Buffer.from(random(24)).toString('base64url'),
      keepAliveMs: this.opts.keepAliveMs,
      onsessioninitialized: (id) => {
        session.id = id;
        this.sessions.set(id, session);
        this.agg.addSink(session);
      },
      onsessionclosed: (id) => void this.drop(id),
    });
    Object.assign(session, {
      transport,
      listChanged: (kind: ListKind) => void notifyList(server, kind),
      resourceUpdated: (uri: string) => void server.sendResourceUpdated({ uri }).catch(() => {}),
      log: (params: Json) => void server.notification({ method: 'notifications/message', params } as never).catch(() => {}),
      close: async () => {
        await transport.close().catch(() => {});
        await server.close().catch(() => {});
      },
    });
    await server.connect(transport);
    return transport.handleRequest(req, { parsedBody: body, authInfo: authInfoOf(grant) });
  }

  private async drop(id: string): Promise<void> {
    const session = this.sessions.get(id);
    if (!session) return;
    this.sessions.delete(id);
    await this.agg.removeSink(session);
  }

  private async evictOldest(): Promise<void> {
    let oldest: LegacySession | undefined;
    for (const s of this.sessions.values()) if (!oldest || s.lastActive < oldest.lastActive) oldest = s;
    if (oldest) await this.closeSession(oldest);
  }

  private async closeSession(s: LegacySession): Promise<void> {
    await this.drop(s.id);
    await s.close();
  }

  /** Ends sessions idle for longer than sessionIdleMs. */
  async sweep(): Promise<void> {
    const cutoff = this.deps.clock.now() - this.opts.sessionIdleMs;
    for (const s of [...this.sessions.values()]) if (s.lastActive < cutoff) await this.closeSession(s);
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    await Promise.all([...this.sessions.values()].map((s) => this.closeSession(s)));
    await this.modern.close();
  }
}

function notifyList(server: { sendToolListChanged(): Promise<void>; sendPromptListChanged(): Promise<void>; sendResourceListChanged(): Promise<void> }, kind: ListKind): Promise<void> {
  const send = kind === 'tools' ? server.sendToolListChanged() : kind === 'prompts' ? server.sendPromptListChanged() : server.sendResourceListChanged();
  return send.catch(() => {});
}

/**
 * Clients must accept both JSON and SSE, but claude.ai probes with an Accept of any-type and some send
 * none: those are answered (as JSON when the client did not name SSE) rather than refused with 406.
 */
function normalizeAccept(req: Request): { request: Request; jsonOnly: boolean } {
  const accept = (req.headers.get('accept') ?? '').toLowerCase();
  if (accept.includes('application/json') && accept.includes('text/event-stream')) return { request: req, jsonOnly: false };
  const headers = new Headers(req.headers);
  headers.set('accept', 'application/json, text/event-stream');
  return { request: new Request(req.url, { method: req.method, headers, signal: req.signal }), jsonOnly: !accept.includes('text/event-stream') };
}

function authInfoOf(grant: Grant) {
  return { token: '', clientId: grant.clientId ?? 'anonymous', scopes: [], extra: { grant } };
}

function grantOf(authInfo: { extra?: Record<string, unknown> } | undefined): Grant {
  return (authInfo?.extra?.grant as Grant | undefined) ?? { key: 'anonymous', backends: null };
}
