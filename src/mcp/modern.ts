/**
 * @module 2026-07-28 clients on /mcp (spec-checklist §2.0, §3.13; SEP-2243, SEP-2549, SEP-2575),
 * served by mcpgw itself like the 2025 path: no SDK object per request. Each POST stands alone: the
 * per-request `_meta` envelope says who the client is and what it can do; lists and
 * `server/discover` are answered from memory with caching hints; calls are forwarded through the
 * aggregator (a 2025 backend's server-to-client requests become `input_required` results through
 * the signed pending-input table); `subscriptions/listen` is a bounded SSE stream of list changes
 * and resource updates.
 */
import type { Deps } from '../deps.ts';
import { errorMessage } from '../errors.ts';
import type { Aggregator, CallContext, Grant, ListKind, SessionSink } from './aggregator.ts';
import { CAPABILITIES_META, CLIENT_INFO_META, LOG_LEVEL_META, PROTOCOL_META, SERVER_INFO_META, paramHeaderMismatch } from '../backends/discover.ts';
import { MODERN_VERSIONS, headerMismatch, checkModernRequest, classify, hasClaim, isModernVersion, listenFilter, mcpHeaders, type ListenFilter, type ModernMessage, type Rejection } from './modern-wire.ts';
import { RPC } from './router.ts';
import { sseResponse, type EventStream } from './streams.ts';

type Json = Record<string, unknown>;

const SUBSCRIPTION_META = 'io.modelcontextprotocol/subscriptionId';
const RESOURCE_NOT_FOUND = -32002;
const MISSING_CAPABILITY = -32021;
/** The envelope keys the gateway reads itself; the rest of `_meta` (progressToken, extensions) is forwarded. */
const ENVELOPE_KEYS = [PROTOCOL_META, CLIENT_INFO_META, CAPABILITIES_META, LOG_LEVEL_META];
const LIST_METHODS: Record<string, 'tools' | 'prompts' | 'resources' | 'resourceTemplates'> = {
  'tools/list': 'tools',
  'prompts/list': 'prompts',
  'resources/list': 'resources',
  'resources/templates/list': 'resourceTemplates',
};

/** What the 2026 path borrows from the endpoint: bounded streams, the slow-call check, the error mapper. */
export interface ModernHost {
  newStream(): EventStream;
  /** Calls `upgrade` once the call has run for a keep-alive period; the returned function cancels that. */
  watchSlow(upgrade: () => void): () => void;
  errorObject(err: unknown): Json;
}

export interface ModernOptions {
  version: string;
  /** Open `subscriptions/listen` streams, in all and per grant (every limit has a default). */
  maxListens: number;
  maxListensPerGrant: number;
}

/** One open `subscriptions/listen`: a session sink whose events go out on its stream when the filter wants them. */
interface Listen extends SessionSink {
  stream: EventStream;
  filter: ListenFilter;
  subscriptionId: unknown;
}

/** The 2026-07-28 side of /mcp; a class because it owns the listen streams and in-flight calls. */
export class ModernEra {
  private readonly listens = new Set<Listen>();
  /** In-flight requests by `<grant>\0<id>`, for notifications/cancelled. */
  private readonly inflight = new Map<string, AbortController>();
  private readonly serverInfo: Json;
  /** The abort reason of calls cut off by shutdown, once closing. */
  private closing?: unknown;

  constructor(
    private readonly agg: Aggregator,
    private readonly opts: ModernOptions,
    private readonly deps: Deps,
    private readonly host: ModernHost,
  ) {
    this.serverInfo = { name: 'mcpgw', title: 'mcpgw', version: opts.version, description: 'Self-hosted MCP gateway' };
  }

  /** Open listen streams. */
  get listenCount(): number {
    return this.listens.size;
  }

  /**
   * Serves a parsed POST when it is 2026-era traffic; undefined for 2025-era traffic (the session
   * router's). Rejections come first, in the order of their precedence.
   */
  serve(req: Request, body: Json | Json[], grant: Grant): Response | Promise<Response> | undefined {
    // The common 2025 case is decided with one header read: no envelope claim, no 2026 version header.
    if (Array.isArray(body)) return undefined;
    const version = req.headers.get('mcp-protocol-version');
    if ((version === null || !isModernVersion(version.trim())) && !hasClaim(body.params)) return undefined;
    const h = mcpHeaders(req.headers);
    const c = classify(body, h);
    if (c === 'legacy') return undefined;
    const id = echoableId(body);
    if (!('kind' in c)) return rejection(c, id);
    if (!isJsonContentType(req.headers.get('content-type'))) {
      return Response.json({ jsonrpc: '2.0', error: { code: -32000, message: 'Unsupported Media Type: Content-Type must be application/json' }, id: null }, { status: 415 });
    }
    const bad = checkModernRequest(c, h);
    if (bad) return rejection(bad, id);
    if (c.kind === 'notification') {
      this.notification(c.message, grant);
      return new Response(null, { status: 202 });
    }
    return this.request(c, req, grant);
  }

  private notification(m: Json, grant: Grant): void {
    const params = m.params as Json | undefined;
    if (m.method === 'notifications/cancelled') this.inflight.get(`${grant.key}\u0000${String(params?.requestId)}`)?.abort(new Error('cancelled by the client'));
    else if (m.method === 'notifications/roots/list_changed') void this.agg.broadcast('notifications/roots/list_changed');
  }

  private request(c: ModernMessage, req: Request, grant: Grant): Response | Promise<Response> {
    const m = c.message;
    const method = String(m.method);
    const params = (m.params ?? {}) as Json;
    if (method === 'subscriptions/listen') return this.listen(m, req, grant);
    if (method === 'server/discover') return json(resultBody(m.id, this.stamp({ supportedVersions: MODERN_VERSIONS, capabilities: this.agg.capabilities(), instructions: this.agg.instructions(grant), resultType: 'complete', ttlMs: 0, cacheScope: 'private' })));
    const kind = LIST_METHODS[method];
    if (kind) {
      // The merged lists are served in one page; a cursor can only be stale or forged (pagination: -32602).
      if (params.cursor !== undefined) return json(errorBody(m.id, { code: RPC.invalidParams, message: 'Invalid cursor' }));
      const hint = this.agg.cacheHint(grant);
      const items = kind === 'tools' ? this.agg.modernToolsJson(grant) : this.agg.listJson(kind, grant);
      return json(`{"jsonrpc":"2.0","id":${JSON.stringify(m.id)},"result":{"${kind}":${items},"ttlMs":${hint.ttlMs},"cacheScope":"${hint.cacheScope}","resultType":"complete","_meta":{"${SERVER_INFO_META}":${JSON.stringify(this.serverInfo)}}}}`);
    }
    const forward = FORWARD[method];
    if (!forward) return json(errorBody(m.id, { code: RPC.methodNotFound, message: 'Method not found' }), 404);
    const invalid = retryProblem(params) ?? forward.check(params);
    if (invalid) return json(errorBody(m.id, { code: RPC.invalidParams, message: `Invalid params: ${invalid}` }));
    if (method === 'tools/call') {
      const decls = this.agg.paramDecls(String(params.name), grant);
      const mismatch = decls && paramHeaderMismatch(decls, params.arguments, req.headers);
      if (mismatch) return rejection(headerMismatch(mismatch.header, mismatch.message), m.id);
    }
    return this.call(m.id, stripEnvelope(params), c.envelope ?? {}, req, grant, forward.run);
  }

  /**
   * Forwards one call; JSON unless the backend sends progress or log messages before its result (or
   * the call outlasts a keep-alive period) and the client accepts SSE.
   */
  private call(id: unknown, params: Json, envelope: Json, req: Request, grant: Grant, run: Forward): Promise<Response> {
    const abort = new AbortController();
    const onAbort = () => abort.abort(req.signal.reason);
    req.signal.addEventListener('abort', onAbort, { once: true });
    const key = `${grant.key}\u0000${String(id)}`;
    this.inflight.set(key, abort);
    const sse = (req.headers.get('accept') ?? '').toLowerCase().includes('text/event-stream');
    const token = (params._meta as Json | undefined)?.progressToken;
    const logLevel = typeof envelope[LOG_LEVEL_META] === 'string' ? (envelope[LOG_LEVEL_META] as string) : undefined;
    return new Promise<Response>((resolve) => {
      let stream: EventStream | undefined;
      const upgrade = (): EventStream | undefined => {
        if (stream || !sse) return stream;
        const s = (stream = this.host.newStream());
        s.onClose(() => abort.abort(new Error('client closed the stream')));
        resolve(sseResponse(s));
        return s;
      };
      const unwatch = sse ? this.host.watchSlow(() => void upgrade()?.comment('working')) : () => {};
      // Log messages of the backends during the call, at the envelope's level (2026 has no logging/setLevel).
      const logSink: SessionSink | undefined =
        logLevel && sse
          ? { id: `modern-log-${String(id)}`, grant, subscriptions: new Set(), logLevel, listChanged: () => {}, resourceUpdated: () => {}, log: (p) => void upgrade()?.send({ jsonrpc: '2.0', method: 'notifications/message', params: p }) }
          : undefined;
      if (logSink) this.agg.addSink(logSink);
      const base: CallContext = {
        grant,
        signal: abort.signal,
        era: 'modern',
        capabilities: envelope[CAPABILITIES_META] as Json | undefined,
        logLevel,
        clientHeaders: req.headers,
        progress: token !== undefined && sse ? (p) => void upgrade()?.send({ jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: token, ...p } }) : undefined,
      };
      const work = this.agg.inputs.run(params, grant.key, abort.signal, (relay, signal) => run(this.agg, params, { ...base, signal, relay }));
      void work.then(
        (result): [string, number] => (abort.signal.aborted && abort.signal.reason === this.closing ? this.failure(id, this.closing) : [resultBody(id, this.stamp(result)), 200]),
        (err): [string, number] => this.failure(id, abort.signal.aborted && abort.signal.reason === this.closing ? this.closing : err),
      ).then(([body, status]) => {
        unwatch();
        req.signal.removeEventListener('abort', onAbort);
        this.inflight.delete(key);
        if (logSink) void this.agg.removeSink(logSink).catch(() => {});
        if (!stream) return resolve(json(body, status));
        stream.sendRaw(`event: message\ndata: ${body}\n\n`, true);
        stream.close();
      });
    });
  }

  private failure(id: unknown, err: unknown): [string, number] {
    // A call cut off by shutdown gets an answer, not a TCP reset (issue 8 finding 8).
    if (err !== undefined && err === this.closing) return [errorBody(id, { code: RPC.internalError, message: 'gateway shutting down' }), 200];
    const e = this.host.errorObject(err) as { code: number; message: string; data?: unknown };
    // SEP-2164: 2026-07-28 says "resource not found" with -32602 (and data.uri).
    if (e.code === RESOURCE_NOT_FOUND) e.code = RPC.invalidParams;
    return [errorBody(id, e), e.code === MISSING_CAPABILITY ? 400 : 200];
  }

  /** Adds what every 2026 result carries: `resultType` and the server's identity (kept when the backend sent its own). */
  private stamp(result: Json): Json {
    const meta = result._meta;
    const out: Json = result.resultType === undefined ? { ...result, resultType: 'complete' } : { ...result };
    if (meta === undefined) out._meta = { [SERVER_INFO_META]: this.serverInfo };
    else if (meta && typeof meta === 'object' && !Array.isArray(meta) && (meta as Json)[SERVER_INFO_META] === undefined) out._meta = { ...(meta as Json), [SERVER_INFO_META]: this.serverInfo };
    return out;
  }

  /** `subscriptions/listen`: acknowledges the honoured filter, then list_changed and resources/updated as they happen. */
  private listen(m: Json, req: Request, grant: Grant): Response {
    const filter = listenFilter(m.params);
    if (!filter) return json(errorBody(m.id, { code: RPC.invalidParams, message: "Invalid params: 'notifications' is required and must be a valid SubscriptionFilter" }));
    let mine = 0;
    for (const l of this.listens) if (l.grant.key === grant.key) mine++;
    if (this.listens.size >= this.opts.maxListens || mine >= this.opts.maxListensPerGrant) {
      return json(errorBody(m.id, { code: RPC.internalError, message: `Subscription limit reached (${mine >= this.opts.maxListensPerGrant ? `${this.opts.maxListensPerGrant} per grant` : this.opts.maxListens})` }));
    }
    const subscriptionId = m.id;
    const stream = this.host.newStream();
    const stampId = (params: Json) => ({ ...params, _meta: { ...(params._meta as Json | undefined), [SUBSCRIPTION_META]: subscriptionId } });
    const notify = (method: string, params: Json) => void stream.send({ jsonrpc: '2.0', method, params: stampId(params) });
    notify('notifications/subscriptions/acknowledged', { notifications: filter });
    if (Object.keys(filter).length === 0) {
      stream.send({ jsonrpc: '2.0', id: subscriptionId, result: this.listenEnd(subscriptionId) }, true);
      stream.close();
      return sseResponse(stream);
    }
    const listen: Listen = {
      id: `listen-${String(subscriptionId)}`,
      grant,
      subscriptions: new Set(),
      stream,
      filter,
      subscriptionId,
      listChanged: (kind: ListKind) => {
        if (filter[`${kind}ListChanged`]) notify(`notifications/${kind}/list_changed`, {});
      },
      resourceUpdated: (uri: string) => notify('notifications/resources/updated', { uri }),
      log: () => {},
    };
    this.listens.add(listen);
    this.agg.addSink(listen);
    for (const uri of (filter.resourceSubscriptions ?? []).slice(0, MAX_LISTEN_RESOURCES)) {
      void this.agg.subscribe(uri, listen).catch((err) => this.deps.log.debug('listen subscription failed', { uri, error: errorMessage(err) }));
    }
    stream.onClose(() => {
      this.listens.delete(listen);
      void this.agg.removeSink(listen).catch(() => {});
    });
    req.signal.addEventListener('abort', () => stream.close(), { once: true });
    return sseResponse(stream);
  }

  private listenEnd(subscriptionId: unknown): Json {
    return { resultType: 'complete', _meta: { [SUBSCRIPTION_META]: subscriptionId, [SERVER_INFO_META]: this.serverInfo } };
  }

  /** Ends the listen streams of revoked grants (issue 7 item 6). */
  endGrants(grantIds: Set<string>): number {
    let n = 0;
    for (const l of [...this.listens]) if (l.grant.grantId && grantIds.has(l.grant.grantId)) (l.stream.close(), n++);
    return n;
  }

  /** Shutdown: every listen stream ends with its final result; in-flight calls are the endpoint's to answer. */
  close(reason: unknown): void {
    this.closing = reason;
    for (const l of [...this.listens]) {
      l.stream.send({ jsonrpc: '2.0', id: l.subscriptionId, result: this.listenEnd(l.subscriptionId) }, true);
      l.stream.close();
    }
    for (const c of this.inflight.values()) c.abort(reason);
  }
}

/** Most resources one listen request may subscribe to at the backends. */
const MAX_LISTEN_RESOURCES = 100;

type Forward = (agg: Aggregator, params: Json, ctx: CallContext) => Promise<Json>;

/** The forwarded methods of the 2026 registry, each with its params check. */
const FORWARD: Record<string, { check(p: Json): string | undefined; run: Forward }> = {
  'tools/call': { check: (p) => (typeof p.name === 'string' ? undefined : 'params.name must be a string'), run: (a, p, c) => a.callTool(p, c) },
  'prompts/get': { check: (p) => (typeof p.name === 'string' ? undefined : 'params.name must be a string'), run: (a, p, c) => a.getPrompt(p, c) },
  'resources/read': {
    check: (p) => (typeof p.uri === 'string' ? undefined : 'params.uri must be a string'),
    // SEP-2549: a read carries caching hints; a backend that gives none gets "do not cache" (the gateway cannot know).
    run: (a, p, c) => a.readResource(p, c).then((r) => (r.resultType === 'input_required' || r.ttlMs !== undefined ? r : { ...r, ttlMs: 0, cacheScope: 'private' })),
  },
  'completion/complete': {
    check: (p) => (p.ref && typeof p.ref === 'object' && p.argument && typeof p.argument === 'object' ? undefined : 'params.ref and params.argument are required'),
    run: (a, p, c) => a.complete(p, c),
  },
};

/** SEP-2322 retry fields: each input response is a result object, the state a string. */
function retryProblem(p: Json): string | undefined {
  const isObject = (v: unknown) => v !== null && typeof v === 'object' && !Array.isArray(v);
  if ('inputResponses' in p && !(isObject(p.inputResponses) && Object.values(p.inputResponses as Json).every(isObject))) return 'params.inputResponses must map each input request key to its result object';
  if ('requestState' in p && typeof p.requestState !== 'string') return 'params.requestState must be a string';
  return undefined;
}

/** The params without the envelope keys (the gateway sends each backend its own envelope). */
function stripEnvelope(params: Json): Json {
  const meta = params._meta as Json | undefined;
  if (!meta) return params;
  const rest: Json = {};
  for (const k of Object.keys(meta)) if (!ENVELOPE_KEYS.includes(k)) rest[k] = meta[k];
  const { _meta, ...others } = params;
  return Object.keys(rest).length > 0 ? { ...others, _meta: rest } : others;
}

function echoableId(body: Json | Json[]): string | number | null {
  const id = Array.isArray(body) ? undefined : body.id;
  return typeof id === 'string' || typeof id === 'number' ? id : null;
}

function rejection(r: Rejection, id: unknown): Response {
  return json(JSON.stringify({ jsonrpc: '2.0', error: r.error, id: id ?? null }), r.status);
}

function resultBody(id: unknown, result: Json): string {
  return `{"jsonrpc":"2.0","id":${JSON.stringify(id)},"result":${JSON.stringify(result)}}`;
}

function errorBody(id: unknown, error: Json | { code: number; message: string }): string {
  return JSON.stringify({ jsonrpc: '2.0', id, error });
}

function json(body: string, status = 200): Response {
  return new Response(body, { status, headers: { 'content-type': 'application/json' } });
}

function isJsonContentType(v: string | null): boolean {
  if (v === null) return true;
  const essence = v.split(';')[0]!.trim().toLowerCase();
  return essence === 'application/json' || essence.endsWith('+json');
}
