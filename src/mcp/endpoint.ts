/**
 * @module The client-facing MCP endpoints. `/mcp` is Streamable HTTP for both eras, both served by
 * mcpgw itself: 2024-11-05 … 2025-11-25 through the session router (sessions as small records, JSON
 * answers that upgrade to SSE only when the backend streams first), 2026-07-28 per request (modern.ts). `/sse` +
 * `/messages` is the deprecated HTTP+SSE transport (spec-checklist §2.11). Origin/Host checks and
 * body limits first; the bearer check runs before this (see http/routes.ts).
 */
import type { Database } from 'bun:sqlite';
import type { Deps } from '../deps.ts';
import { resultText, type CancelSignal } from '../backends/rpc.ts';
import { GatewayError, errorMessage } from '../errors.ts';
import type { Aggregator, Grant } from './aggregator.ts';
import { ClientRequests, type Emit } from './relay.ts';
import { LEGACY_VERSIONS, RPC, RawResult, Router, type RequestContext } from './router.ts';
import { ModernEra } from './modern.ts';
import { SessionTable, type Session } from './sessions.ts';
import { EventStream, setKeepAlivePeriod, sseResponse, type StreamStats } from './streams.ts';

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
  streamBufferBytes: number;
  sessionIdleMs: number;
  maxSessions: number;
  maxSessionsPerGrant: number;
}

/** JSON-RPC error response with an HTTP status; never a stack trace. */
export function rpcError(status: number, code: number, message: string, data?: Json, headers: Record<string, string> = {}): Response {
  return Response.json({ jsonrpc: '2.0', id: null, error: { code, message, ...(data ? { data } : {}) } }, { status, headers });
}

/** Nesting depth of a parsed JSON value, bounded by `limit + 1`. */
export function jsonDepth(value: unknown, limit: number, depth = 0): number {
  if (depth > limit || value === null || typeof value !== 'object') return depth;
  let max = depth + 1;
  // No arrays of values are built: this walks every request body.
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length && max <= limit; i++) {
      const d = jsonDepth(value[i], limit, depth + 1);
      if (d > max) max = d;
    }
  } else {
    for (const k in value) {
      const d = jsonDepth((value as Json)[k], limit, depth + 1);
      if (d > max) max = d;
      if (max > limit) break;
    }
  }
  return max;
}

/** Reads at most `max` bytes of a body; undefined when it is larger (a declared length is refused unread). */
async function readBounded(req: Request, max: number): Promise<string | undefined> {
  const declared = Number(req.headers.get('content-length') ?? NaN);
  if (declared > max) return undefined;
  if (!req.body) return '';
  if (declared >= 0) return req.text();
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
  return Buffer.concat(chunks).toString('utf8');
}

/** Maps anything thrown while answering to a JSON-RPC error object: the one mapper of this wire. */
export function toRpcError(err: unknown, deps: Pick<Deps, 'log' | 'random'>): Json {
  const e = err as { code?: unknown; message?: unknown; data?: unknown };
  if (err instanceof GatewayError) return { code: RPC.internalError, message: `mcpgw: ${err.message}`, data: { reason: err.code, ...(err.detail ?? {}) } };
  if (typeof e?.code === 'number' && Number.isSafeInteger(e.code)) return { code: e.code, message: String(e.message ?? 'error').replace(/^MCP error -?\d+: /, ''), ...(e.data !== undefined ? { data: e.data } : {}) };
  const logId = Buffer.from(deps.random(6)).toString('hex');
  deps.log.error('request failed', { log_id: logId, error: errorMessage(err) });
  return { code: RPC.internalError, message: `Internal error (log id ${logId})` };
}

function isRequest(m: Json): boolean {
  return typeof m.method === 'string' && 'id' in m;
}
function isResponse(m: Json): boolean {
  return m.method === undefined && 'id' in m && ('result' in m || 'error' in m);
}
function validMessage(m: unknown): m is Json {
  if (!m || typeof m !== 'object' || Array.isArray(m)) return false;
  const j = m as Json;
  if (j.jsonrpc !== '2.0') return false;
  if (j.id !== undefined && typeof j.id !== 'string' && typeof j.id !== 'number') return false;
  return typeof j.method === 'string' || isResponse(j);
}

/** The header section Bun.serve accepts before answering 431 itself. */
const SERVER_HEADER_LIMIT = 16 * 1024;

/** The MCP endpoints; a class because it owns the session table and the streams. */
export class McpEndpoint {
  readonly sessions: SessionTable;
  readonly stats: StreamStats = { open: 0, dropped: 0, disconnected: 0 };
  private readonly router: Router;
  private readonly clientRequests: ClientRequests;
  private readonly modern: ModernEra;
  private readonly sweeper: ReturnType<typeof setInterval>;
  /**
   * Forwarded requests still waiting for their result: for notifications/cancelled, shutdown, the slow-call
   * upgrade to SSE, and watching the client's connection (attached by the check, not per call).
   */
  private readonly calls = new Set<Call>();
  /** 2026-07-28 calls that may still become a stream (modern.ts), checked with the others. */
  private readonly slowModern = new Set<{ since: number; upgrade(): void }>();
  private readonly slowCheck: ReturnType<typeof setInterval>;
  /** Declared client capabilities by grant, from its last initialize (for stateless requests; spec-checklist §2.8). */
  private readonly rememberedCaps = new Map<string, Json>();

  constructor(
    private readonly agg: Aggregator,
    private opts: EndpointOptions,
    private readonly deps: Deps,
    db?: Database,
  ) {
    setKeepAlivePeriod(opts.keepAliveMs);
    this.clientRequests = new ClientRequests(`mcpgw-${Buffer.from(deps.random(4)).toString('hex')}`);
    this.router = new Router(agg, this.clientRequests, { version: opts.version });
    this.sessions = new SessionTable({ idleMs: opts.sessionIdleMs, max: opts.maxSessions, perGrant: opts.maxSessionsPerGrant }, deps.clock, deps.log, db);
    this.sessions.onEnd = (s) => void this.agg.removeSink(s).catch(() => {});
    this.sessions.onRevive = (s) => this.revive(s);
    this.modern = new ModernEra(agg, { version: opts.version, maxListens: opts.maxSessions, maxListensPerGrant: opts.maxSessionsPerGrant }, deps, {
      newStream: () => this.newStream(),
      watchSlow: (upgrade) => {
        const slow = { since: performance.now(), upgrade };
        this.slowModern.add(slow);
        return () => void this.slowModern.delete(slow);
      },
      errorObject: (err) => toRpcError(err, this.deps),
    });
    this.sweeper = setInterval(() => this.sessions.sweep(), Math.min(60_000, opts.sessionIdleMs));
    this.sweeper.unref?.();
    // One shared check for every call in flight (no timer or listener per request): a call still running
    // here starts watching its client's connection (a client that goes away cancels it within one period),
    // and one running longer than a keep-alive period becomes a stream.
    this.slowCheck = setInterval(() => {
      const cutoff = performance.now() - this.opts.keepAliveMs;
      for (const c of this.calls) {
        c.watchClient();
        if (c.upgrade && c.since <= cutoff) c.upgrade();
      }
      for (const m of this.slowModern) if (m.since <= cutoff) (this.slowModern.delete(m), m.upgrade());
    }, CALL_CHECK_MS);
    this.slowCheck.unref?.();
  }

  /** Number of open sessions. */
  get sessionCount(): number {
    return this.sessions.size;
  }

  /** Applies new host/origin rules (public_url changed) without dropping sessions. */
  setAllowed(allowedHosts: Set<string>, allowedOrigins: Set<string>): void {
    this.opts = { ...this.opts, allowedHosts, allowedOrigins };
  }

  /** Ends the sessions and streams of revoked grants at once (issue 7 item 6). */
  revokeGrants(grantIds: string[]): number {
    const ids = new Set(grantIds);
    return this.sessions.endGrants(ids) + this.modern.endGrants(ids);
  }

  /** CORS preflight for browser clients (MCP Inspector direct mode), for allowed origins only (spec-checklist §2.7). */
  preflight(req: Request): Response {
    const origin = req.headers.get('origin');
    if (!origin || !this.opts.allowedOrigins.has(origin.toLowerCase())) return rpcError(403, RPC.invalidRequest, 'Forbidden: Origin not allowed', { reason: 'forbidden_origin' });
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
    for (const [k, v] of Object.entries(this.corsHeaders(origin))) res.headers.set(k, v);
    return res;
  }

  private corsHeaders(origin: string): Record<string, string> {
    return { 'access-control-allow-origin': origin, 'access-control-expose-headers': 'Mcp-Session-Id, WWW-Authenticate, MCP-Protocol-Version', vary: 'Origin' };
  }

  /** Serves one request to /mcp for an already authenticated caller. */
  async handle(req: Request, grant: Grant): Promise<Response> {
    const rejected = this.checkRequest(req);
    if (rejected) return rejected;
    if (req.method === 'POST') return this.post(req, grant);
    if (req.method === 'GET') return this.getStream(req, grant);
    if (req.method === 'DELETE') return this.deleteSession(req, grant);
    return rpcError(405, RPC.invalidRequest, 'Method not allowed', undefined, { Allow: 'GET, POST, DELETE' });
  }

  /** GET /sse: opens a 2024-11-05 HTTP+SSE session; the first event names the endpoint to POST to. */
  openSseTransport(req: Request, grant: Grant): Response {
    const rejected = this.checkRequest(req);
    if (rejected) return rejected;
    const id = Buffer.from(this.deps.random(24)).toString('base64url');
    const session = this.sessions.create(id, grant, { protocolVersion: '2024-11-05', clientCapabilities: {}, sseTransport: true });
    const stream = this.newStream();
    session.stream = stream;
    stream.onClose(() => this.sessions.end(session, 'stream closed'));
    req.signal.addEventListener('abort', () => stream.close(), { once: true });
    this.agg.addSink(session);
    stream.sendRaw(`event: endpoint\ndata: /messages?sessionId=${encodeURIComponent(id)}\n\n`);
    return sseResponse(stream);
  }

  /** POST /messages?sessionId=…: a message of an HTTP+SSE session; answers go out on its stream. */
  async postSseMessage(req: Request, grant: Grant): Promise<Response> {
    const rejected = this.checkRequest(req);
    if (rejected) return rejected;
    const id = new URL(req.url).searchParams.get('sessionId') ?? '';
    const session = this.sessions.get(id, grant);
    if (!session?.sseTransport || !session.stream) return rpcError(404, RPC.sessionNotFound, 'Session not found');
    const parsed = await this.readMessage(req);
    if (parsed instanceof Response) return parsed;
    this.sessions.touch(session);
    const stream = session.stream;
    for (const m of Array.isArray(parsed) ? parsed : [parsed]) {
      if (isResponse(m)) this.clientRequests.answer(m, grant.key);
      else if (!isRequest(m)) this.router.notification(String(m.method), m.params as Json | undefined), this.cancelled(m, grant, session);
      else if (m.method === 'initialize') {
        this.initSession(session, m);
        stream.send({ jsonrpc: '2.0', id: m.id, result: this.router.initializeResult(m.params as Json, grant) }, true);
      } else void this.answer(m, grant, session, true).then((body) => stream.sendRaw(`event: message\ndata: ${body}\n\n`, true));
    }
    return new Response(null, { status: 202 });
  }

  private checkRequest(req: Request): Response | undefined {
    // Streamable HTTP "Security Warning": validate Origin (DNS rebinding); absent Origin = server-to-server client.
    const origin = req.headers.get('origin');
    if (origin && !this.opts.allowedOrigins.has(origin.toLowerCase())) return rpcError(403, RPC.invalidRequest, 'Forbidden: Origin not allowed', { reason: 'forbidden_origin' });
    // Bun builds req.url from the Host header; in-process requests carry the host only in the URL.
    const host = (req.headers.get('host') ?? new URL(req.url).host).toLowerCase();
    if (!this.opts.allowedHosts.has(host)) return rpcError(403, RPC.invalidRequest, 'Forbidden: Host not allowed', { reason: 'forbidden_host' });
    // Bun's HTTP parser itself answers 431 above 16 KiB of headers; walking the headers costs more than the
    // rest of a forwarded call, so it is done only when the configured limit is tighter than that.
    if (this.opts.maxHeaderBytes < SERVER_HEADER_LIMIT) {
      let headerBytes = 0;
      req.headers.forEach((v, k) => void (headerBytes += k.length + v.length + 4));
      if (headerBytes > this.opts.maxHeaderBytes) return rpcError(431, RPC.invalidRequest, 'Request headers too large');
    }
    return undefined;
  }

  /** Reads and parses a POST body within the limits; a Response when it is refused. */
  private async readMessage(req: Request): Promise<Json | Json[] | Response> {
    const text = await readBounded(req, this.opts.maxBodyBytes);
    if (text === undefined) return rpcError(413, RPC.invalidRequest, `Request body larger than ${this.opts.maxBodyBytes} bytes`);
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      return rpcError(400, RPC.parseError, 'Parse error: the body is not valid JSON');
    }
    // Each level of nesting takes two characters at least: a short body cannot be too deep.
    if (text.length > 2 * this.opts.maxJsonDepth && jsonDepth(body, this.opts.maxJsonDepth) > this.opts.maxJsonDepth) return rpcError(400, RPC.invalidRequest, `JSON nested deeper than ${this.opts.maxJsonDepth} levels`);
    const list = Array.isArray(body) ? body : [body];
    if (list.length === 0 || !list.every(validMessage)) return rpcError(400, RPC.invalidRequest, 'Invalid Request: not a JSON-RPC 2.0 message');
    return body as Json | Json[];
  }

  private async post(req: Request, grant: Grant): Promise<Response> {
    const parsed = await this.readMessage(req);
    if (parsed instanceof Response) return parsed;
    const modern = this.modern.serve(req, parsed, grant);
    if (modern) return modern;
    const version = req.headers.get('mcp-protocol-version');
    if (version && !LEGACY_VERSIONS.includes(version)) return rpcError(400, RPC.invalidRequest, `Bad Request: unsupported MCP-Protocol-Version ${version}`, { supported: LEGACY_VERSIONS });
    const messages = Array.isArray(parsed) ? parsed : [parsed];
    const sessionId = req.headers.get('mcp-session-id');
    const init = messages.find((m) => m.method === 'initialize' && isRequest(m));
    let session: Session | undefined;
    if (sessionId && !init) {
      session = this.sessions.get(sessionId, grant);
      // Notifications and responses for a stale session are acknowledged: Claude sends them from
      // parallel connections and treats a 4xx as a broken server (spec-checklist §2.1 REALITY).
      if (!session && messages.some(isRequest)) return rpcError(404, RPC.sessionNotFound, 'Session not found');
      if (session) this.sessions.touch(session);
    }
    for (const m of messages) {
      if (isResponse(m)) this.clientRequests.answer(m, grant.key);
      else if (!isRequest(m)) (this.router.notification(String(m.method), m.params as Json | undefined), this.cancelled(m, grant, session));
    }
    const requests = messages.filter(isRequest);
    if (requests.length === 0) return new Response(null, { status: 202 });
    if (init) return this.initialize(init, grant);
    const accept = (req.headers.get('accept') ?? '').toLowerCase();
    const sse = accept.includes('text/event-stream');
    if (!Array.isArray(parsed)) return this.exchange(req, requests[0], grant, session, sse);
    // 2025-03-26 batches: answered together as one JSON array.
    const bodies = await Promise.all(requests.map((m) => this.answer(m, grant, session, false, req)));
    return new Response(`[${bodies.join(',')}]`, { headers: { 'content-type': 'application/json' } });
  }

  private initialize(m: Json, grant: Grant): Response {
    const id = Buffer.from(this.deps.random(24)).toString('base64url');
    const params = (m.params ?? {}) as Json;
    const caps = (params.capabilities ?? {}) as Json;
    this.rememberedCaps.set(grant.key, caps);
    if (this.rememberedCaps.size > 10_000) this.rememberedCaps.delete(this.rememberedCaps.keys().next().value!);
    const result = this.router.initializeResult(params, grant);
    const session = this.sessions.create(id, grant, { protocolVersion: String(result.protocolVersion), clientCapabilities: caps });
    this.agg.addSink(session);
    return new Response(JSON.stringify({ jsonrpc: '2.0', id: m.id, result }), { headers: { 'content-type': 'application/json', 'mcp-session-id': id } });
  }

  private initSession(session: Session, m: Json): void {
    const params = (m.params ?? {}) as Json;
    session.clientCapabilities = (params.capabilities ?? {}) as Json;
    this.rememberedCaps.set(session.grant.key, session.clientCapabilities);
    this.sessions.persist(session);
  }

  /**
   * One request, one response: JSON unless the backend sends progress, a log message or a request to
   * the client before its result (or the call outlasts a keep-alive period) and the client accepts SSE
   * (issue 7 item 3). A JSON-only client always gets JSON.
   */
  private exchange(req: Request, m: Json, grant: Grant, session: Session | undefined, sseAccepted: boolean): Promise<Response> | Response {
    const started = performance.now();
    let own: Json | RawResult | Error | undefined;
    try {
      own = this.router.local(String(m.method), m.params as Json | undefined, { grant, session, signal: NEVER });
    } catch (err) {
      own = err as Error;
    }
    // Server-Timing tells a client (and the benchmark) what the gateway itself spent on an answer from memory.
    if (own !== undefined) return jsonResponse(own instanceof Error ? this.errorBody(m.id, own) : resultBody(m.id, own), performance.now() - started);
    const call = this.call(m, grant, session, req, started);
    if (!sseAccepted) return this.settle(m, call).then((body) => jsonResponse(body));
    return new Promise<Response>((resolve) => {
      let stream: EventStream | undefined;
      const upgrade = (): EventStream => {
        call.upgrade = undefined;
        if (stream) return stream;
        stream = this.newStream();
        const s = stream;
        session?.calls.add(s);
        s.onClose(() => {
          session?.calls.delete(s);
          call.cancelWith(new Error('client closed the stream'));
        });
        resolve(sseResponse(s));
        return s;
      };
      // A call still running after a keep-alive period becomes a stream too, so its connection stays alive;
      // the shared check finds those (no timer per request).
      call.upgrade = () => void upgrade().comment('working');
      call.emit = (message, essential) => void upgrade().send(message, essential);
      void this.settle(m, call).then((body) => {
        if (!stream) return resolve(jsonResponse(body));
        stream.sendRaw(`event: message\ndata: ${body}\n\n`, true);
        stream.close();
      });
    });
  }

  /** Answers one request to a JSON text (batches and the HTTP+SSE transport). */
  private answer(m: Json, grant: Grant, session: Session | undefined, streamed: boolean, req?: Request): Promise<string> {
    const call = this.call(m, grant, session, req, performance.now());
    if (streamed && session?.stream) {
      const s = session.stream;
      call.emit = (message, essential) => void s.send(message, essential);
    }
    return this.settle(m, call);
  }

  private call(m: Json, grant: Grant, session: Session | undefined, client: Request | undefined, since: number): Call {
    return new Call(m.id as string | number, grant, session, session?.clientCapabilities ?? this.rememberedCaps.get(grant.key), client, since);
  }

  /** Runs a request to completion and serializes the JSON-RPC response; never throws. */
  private async settle(m: Json, call: Call): Promise<string> {
    this.calls.add(call);
    try {
      const result = await this.router.request(String(m.method), m.params as Json | undefined, call);
      // A call cut off by shutdown may come back as a tool error result; it is answered as the shutdown error.
      if (call.aborted && call.reason === SHUTDOWN) throw SHUTDOWN;
      if (call.session && (m.method === 'logging/setLevel' || m.method === 'resources/subscribe' || m.method === 'resources/unsubscribe')) this.sessions.persist(call.session);
      return resultBody(m.id, result);
    } catch (err) {
      return this.errorBody(m.id, call.reason === SHUTDOWN ? SHUTDOWN : err);
    } finally {
      this.calls.delete(call);
    }
  }

  private errorBody(id: unknown, err: unknown): string {
    // A call cut off by shutdown gets an answer, not a TCP reset (issue 8 finding 8).
    if (err === SHUTDOWN) return JSON.stringify({ jsonrpc: '2.0', id, error: { code: RPC.internalError, message: 'gateway shutting down' } });
    return JSON.stringify({ jsonrpc: '2.0', id, error: toRpcError(err, this.deps) });
  }

  /** notifications/cancelled from the client aborts its in-flight request (spec-checklist §3.10). */
  private cancelled(m: Json, grant: Grant, session: Session | undefined): void {
    if (m.method !== 'notifications/cancelled') return;
    const requestId = String((m.params as Json | undefined)?.requestId);
    for (const c of this.calls) {
      if (c.grant.key === grant.key && c.session?.id === session?.id && String(c.id) === requestId) c.cancelWith(new Error('cancelled by the client'));
    }
  }

  /** GET /mcp: the session's stream for unsolicited messages; headers and a first comment go out at once. */
  private getStream(req: Request, grant: Grant): Response {
    const sessionId = req.headers.get('mcp-session-id');
    if (!sessionId) return rpcError(405, RPC.invalidRequest, 'Method not allowed without a session', undefined, { Allow: 'POST' });
    const session = this.sessions.get(sessionId, grant);
    if (!session) return rpcError(404, RPC.sessionNotFound, 'Session not found');
    // A new GET replaces the old stream (a client reconnecting after a network blip may hold a half-open
    // one); each message still goes out on exactly one stream (spec-checklist §2.2).
    session.stream?.close();
    this.sessions.touch(session);
    const stream = this.newStream();
    session.stream = stream;
    stream.onClose(() => {
      if (session.stream === stream) session.stream = undefined;
    });
    req.signal.addEventListener('abort', () => stream.close(), { once: true });
    stream.comment('stream open');
    return sseResponse(stream);
  }

  private deleteSession(req: Request, grant: Grant): Response {
    const sessionId = req.headers.get('mcp-session-id');
    if (!sessionId) return rpcError(405, RPC.invalidRequest, 'Method not allowed without a session', undefined, { Allow: 'POST' });
    const session = this.sessions.get(sessionId, grant);
    if (!session) return rpcError(404, RPC.sessionNotFound, 'Session not found');
    this.sessions.end(session, 'deleted by the client');
    return new Response(null, { status: 200 });
  }

  private newStream(): EventStream {
    return new EventStream({ maxBufferedBytes: this.opts.streamBufferBytes, stats: this.stats });
  }

  /** A session revived from the database after a restart: re-subscribe its resources at the backends. */
  private revive(s: Session): void {
    const uris = [...s.subscriptions];
    s.subscriptions.clear();
    this.agg.addSink(s);
    for (const uri of uris) void this.agg.subscribe(uri, s).catch(() => {});
  }

  /** Answers requests still waiting for a client with an error and closes every stream (sessions stay stored). */
  async close(): Promise<void> {
    clearInterval(this.sweeper);
    clearInterval(this.slowCheck);
    this.clientRequests.rejectAll('gateway shutting down');
    this.agg.inputs.close();
    for (const c of this.calls) c.cancelWith(SHUTDOWN);
    this.modern.close(SHUTDOWN);
    this.sessions.closeAll();
  }
}

/** The abort reason of calls cut off by shutdown. */
const SHUTDOWN = new Error('gateway shutting down');
/** How often calls in flight are checked (client gone, slow call to upgrade). */
const CALL_CHECK_MS = 250;
/** The signal of answers from memory, which nothing cancels. */
const NEVER = new AbortController().signal;

/**
 * One forwarded request in flight: its context for the router, its cancellation, and its slow-call upgrade.
 * A class (its own abort listener, and its own cancellation signal for the forwarded request) so that a call
 * allocates no closures and no AbortController for this bookkeeping; a real AbortSignal is made only when
 * something asks for `signal` (a relayed request to the client, an input_required round).
 */
class Call implements RequestContext, CancelSignal {
  emit?: Emit;
  /** Set while the response can still become a stream (the client accepts SSE). */
  upgrade?: () => void;
  aborted = false;
  reason: unknown = undefined;
  private listeners?: EventListenerObject[];
  private controller?: AbortController;
  /** The client request's headers (its Mcp-Param-* go on to 2026-07-28 backends). */
  get headers(): Headers | undefined {
    return this.client?.headers;
  }
  private watching = false;

  constructor(
    readonly id: string | number,
    readonly grant: Grant,
    readonly session: Session | undefined,
    readonly clientCapabilities: Json | undefined,
    /** The HTTP request, whose signal is aborted when the client goes away (read only when watched: Bun makes it on first use). */
    private readonly client: Request | undefined,
    readonly since: number,
  ) {}

  get cancel(): CancelSignal {
    return this;
  }

  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.aborted) this.controller.abort(this.reason);
    }
    return this.controller.signal;
  }

  addEventListener(_type: 'abort', listener: EventListenerObject): void {
    (this.listeners ??= []).push(listener);
  }

  removeEventListener(_type: 'abort', listener: EventListenerObject): void {
    const i = this.listeners?.indexOf(listener) ?? -1;
    if (i >= 0) this.listeners!.splice(i, 1);
  }

  /** Cancels the call (client gone, notifications/cancelled, shutdown): its listeners run once. */
  cancelWith(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    this.controller?.abort(reason);
    const listeners = this.listeners;
    this.listeners = undefined;
    for (const l of listeners ?? []) {
      try {
        l.handleEvent(ABORT_EVENT);
      } catch {
        // one listener failing must not keep the others from being told
      }
    }
  }

  /** Cancels the call when its client goes away; attached only to calls that outlive one check period. */
  watchClient(): void {
    if (this.watching || !this.client) return;
    this.watching = true;
    const signal = this.client.signal;
    if (signal.aborted) this.handleEvent();
    else signal.addEventListener('abort', this, { once: true });
  }

  handleEvent(): void {
    this.cancelWith(this.client?.signal.reason);
  }
}

/** The event a Call's listeners get (the peer's ignore it, as they would an AbortSignal's). */
const ABORT_EVENT = new Event('abort');

function resultBody(id: unknown, result: Json | RawResult): string {
  const idText = JSON.stringify(id);
  if (result instanceof RawResult) return `{"jsonrpc":"2.0","id":${idText},"result":${result.json}}`;
  // A backend's result forwarded unchanged goes out in the very text it came in (no re-serializing). The
  // envelope's own members come after it: should the backend's text smuggle top-level members in (duplicate
  // keys), a JSON parser keeps the last ones, which are the gateway's jsonrpc and the client's id.
  const raw = resultText(result);
  if (raw !== undefined) return `{"result":${raw},"jsonrpc":"2.0","id":${idText}}`;
  return `{"jsonrpc":"2.0","id":${idText},"result":${JSON.stringify(result)}}`;
}

function jsonResponse(body: string, serverMs?: number): Response {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (serverMs !== undefined) headers['server-timing'] = `mcpgw;dur=${serverMs.toFixed(3)}`;
  return new Response(body, { headers });
}
