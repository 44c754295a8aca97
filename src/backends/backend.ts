/**
 * @module One backend connection: connect with a timeout that bounds the whole attempt, initialize
 * (MCP 2025-11-25 basic/lifecycle), fetch its catalog once per (re)connect, keep it fresh on the
 * backend's own list_changed, ping HTTP backends for health, reconnect with capped exponential
 * backoff and jitter, and forward requests through the gateway's own JSON-RPC peer.
 */
import type { Deps } from '../deps.ts';
import { GatewayError, errorMessage } from '../errors.ts';
import type { Logger } from '../log.ts';
import { RpcError, RpcPeer, type CancelSignal, type PeerHandlers, type Wire } from './rpc.ts';
import { initialize, listAll, type Catalog } from './handshake.ts';
import { MODERN_VERSION, paramDeclarations, type BackendProtocol, type ParamDecl } from './discover.ts';
import { StreamableHttpWire } from './http.ts';
import { createWire, type ConcreteTransport, type TransportSpec } from './transport.ts';

export type { Catalog } from './handshake.ts';

export type BackendState = 'connecting' | 'up' | 'down' | 'disabled';
type Json = Record<string, unknown>;

/** What `/status` and the CLI show for a backend. */
export interface BackendStatus {
  name: string;
  state: BackendState;
  transport: string;
  lastError?: string;
  tools: number;
  prompts: number;
  resources: number;
  lastCallAt?: string;
  latencyMs?: number;
  connectedAt?: string;
  /** The MCP protocol version agreed at initialize (2026-07-28 after server/discover). */
  protocolVersion?: string;
  /** A dual-era backend's 2025 session version, used for 2025 clients (issue 10). */
  legacyProtocolVersion?: string;
  lastErrorAt?: string;
  /** When the next reconnect attempt is due (ISO), while down. */
  nextRetryAt?: string;
  /** Stderr lines of a stdio backend not logged because of the rate limit. */
  droppedStderrLines?: number;
}

export interface BackendOptions extends TransportSpec {
  name: string;
  transport: 'auto' | ConcreteTransport;
  timeout: number;
  connectTimeout: number;
  retryInitial: number;
  retryMax: number;
  enabled: boolean;
  /** Per-message size limit in bytes; default 64 MiB. */
  maxMessageBytes?: number;
  /** Health ping interval of HTTP/SSE backends in ms; 0 turns pings off; default 30 s. */
  healthInterval?: number;
  /** `auto` probes 2026-07-28 (`server/discover`) before `initialize`, `legacy` only initializes; the config default is `auto` (issue 10 item 1). */
  protocol?: BackendProtocol;
}

/** Calls from a backend into the gateway. */
export interface BackendHooks {
  /** Catalog or state changed. */
  changed(name: string): void;
  /** The backend went up, or a connection (or a connect attempt) failed; with the reason (for the audit log). */
  stateChanged?(name: string, state: BackendState, reason?: string): void;
  /** A notification the gateway relays to clients (resources/updated, message). */
  notification(name: string, method: string, params: Json | undefined): void;
  /** A server-to-client request (sampling, elicitation, roots) to route to a client. */
  serverRequest(name: string, method: string, params: Json | undefined, signal: AbortSignal): Promise<Json>;
}

const EMPTY: Catalog = { tools: [], prompts: [], resources: [], templates: [] };
const RELAYED_REQUESTS = new Set(['sampling/createMessage', 'elicitation/create', 'roots/list']);
const RELAYED_NOTIFICATIONS = new Set(['notifications/resources/updated', 'notifications/message']);
const DEFAULT_HEALTH_INTERVAL = 30_000;
/** A subscriptions/listen request stays open until the backend or the gateway ends it (setTimeout's maximum). */
const LISTEN_TIMEOUT_MS = 2_147_483_647;
const RELISTEN_MS = 1000;
const RELISTEN_MAX_MS = 30_000;
/** Longest wait for a backend to acknowledge a (re)opened subscriptions/listen. */
const LISTEN_ACK_MS = 2000;
/** Longest wait for the 2025 session of a dual-era backend. */
const DUAL_BUDGET_MS = 5_000;

interface LegacySession {
  peer: RpcPeer;
  wire: Wire;
  version: string;
  /** Tools the 2025 session lists; a 2026-only tool is called on the 2026 side (bridged). */
  tools: Set<string>;
}

/** Options of a forwarded request. */
export interface ForwardOptions {
  signal?: CancelSignal;
  /** 'legacy': the caller is a 2025 client (a dual-era backend serves it on its 2025 session). */
  era?: 'legacy';
  onprogress?: (p: { progress: number; total?: number; message?: string }) => void;
  /** A client's Mcp-Param-* headers, passed on to a 2026-07-28 HTTP backend (SEP-2243). */
  headers?: Record<string, string>;
}

/** A live connection to one MCP backend; a class because it has a lifecycle. */
export class Backend {
  state: BackendState = 'down';
  catalog: Catalog = EMPTY;
  instructions?: string;
  serverName?: string;
  capabilities: Json = {};
  protocolVersion?: string;
  private peer?: RpcPeer;
  /** The connection being opened, so that close() can end it (and kill its child) at once. */
  private opening?: RpcPeer;
  private wire?: Wire;
  private resolved?: ConcreteTransport;
  private lastError?: string;
  private lastErrorAt?: number;
  private nextRetryAt?: number;
  private attempt = 0;
  private timer?: ReturnType<typeof setTimeout>;
  private healthTimer?: ReturnType<typeof setInterval>;
  private checking = false;
  private stopped = false;
  private generation = 0;
  private lastCallAt?: number;
  private latencyMs?: number;
  private connectedAt?: number;
  private droppedStderr = 0;
  private legacy?: LegacySession;
  /** The open subscriptions/listen request of a 2026-07-28 backend. */
  private listening?: AbortController;
  /** Resource URIs (the backend's own) clients subscribed to, for the listen request. */
  private readonly watched = new Set<string>();
  /** Set when the backend closed the connection on `server/discover`: later attempts only initialize. */
  private legacyOnly = false;

  /** Whether the backend is a child process (no HTTP request, so no client headers to pass on). */
  get overStdio(): boolean {
    return Boolean(this.opts.command);
  }

  constructor(
    readonly opts: BackendOptions,
    private readonly deps: Deps,
    private readonly hooks: BackendHooks,
    private readonly log: Logger = deps.log.child({ backend: opts.name }),
  ) {
    if (!opts.enabled) this.state = 'disabled';
  }

  get name(): string {
    return this.opts.name;
  }

  /** Starts connecting in the background; never throws. */
  start(): void {
    if (this.opts.enabled && !this.stopped) void this.connect();
  }

  /** Resolves once the first connection attempt has settled (up or down). */
  async ready(): Promise<void> {
    await this.connecting;
  }
  private connecting: Promise<void> = Promise.resolve();

  private connect(): Promise<void> {
    this.connecting = this.connectOnce();
    return this.connecting;
  }

  /** One attempt over every candidate transport; `connect_timeout` bounds the whole attempt (issue 8). */
  private async connectOnce(): Promise<void> {
    const gen = ++this.generation;
    this.state = 'connecting';
    this.nextRetryAt = undefined;
    const kinds: ConcreteTransport[] = this.resolved ? [this.resolved] : this.candidates();
    const deadline = performance.now() + this.opts.connectTimeout;
    const errors: string[] = [];
    for (const kind of kinds) {
      const budget = deadline - performance.now();
      // Timers fire a little early or late: a few ms left is no attempt worth reporting.
      if (budget < 20) break;
      try {
        await this.open(kind, gen, budget);
        return;
      } catch (err) {
        if (gen !== this.generation || this.stopped) return;
        // A config problem (an unset secret) is the same for every transport: say it once, plainly.
        if (err instanceof GatewayError && err.code === 'config_invalid') return this.markDown(gen, err);
        errors.push(kinds.length > 1 ? `${kind}: ${errorMessage(err)}` : errorMessage(err));
        this.log.debug('connect attempt failed', { transport: kind, error: errorMessage(err) });
      }
    }
    this.markDown(gen, new Error(errors.join('; ')));
  }

  private candidates(): ConcreteTransport[] {
    if (this.opts.transport !== 'auto') return [this.opts.transport];
    // 2025-03-26 transports, "Backwards Compatibility": try Streamable HTTP, then the old HTTP+SSE.
    return this.opts.command ? ['stdio'] : ['streamable-http', 'sse'];
  }

  private async open(kind: ConcreteTransport, gen: number, budget: number): Promise<void> {
    const wire = createWire(kind, this.opts, this.deps, this.log);
    const peer = new RpcPeer(wire, this.name, this.handlers(gen, kind));
    this.opening = peer;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new GatewayError('backend_timeout', `connect timed out after ${this.opts.connectTimeout} ms`)), budget);
    });
    try {
      // The 2024-11-05 HTTP+SSE transport predates 2026-07-28: no probe there.
      const modern = this.opts.protocol === 'auto' && kind !== 'sse' && !this.legacyOnly;
      const started = performance.now();
      const { init, catalog } = await Promise.race([initialize(wire, peer, budget, modern), timeout]);
      // A dual-era HTTP backend also gets a 2025 session, for 2025 clients (issue 10): bounded, optional.
      const dual = init.protocolVersion === MODERN_VERSION && kind === 'streamable-http' ? await this.openLegacy(kind, gen, Math.min(DUAL_BUDGET_MS, budget - (performance.now() - started))) : undefined;
      if (gen !== this.generation || this.stopped) {
        await dual?.peer.close().catch(() => {});
        throw new Error('superseded');
      }
      if (peer.closed) throw new Error('connection closed right after initialize');
      this.legacy = dual;
      // A renewed 2025 session (HTTP 404) may list other tools.
      if (dual) dual.wire.onrenewed = () => void (gen === this.generation && this.refresh('tools'));
      this.adopt(peer, wire, kind, init, catalog, gen);
    } catch (err) {
      if (errorMessage(err).includes('after server/discover')) this.legacyOnly = true;
      await peer.close().catch(() => {});
      const tail = (wire as { recentStderr?: string }).recentStderr;
      throw tail ? new Error(`${errorMessage(err)}; stderr: ${tail.split('\n').slice(-2).join(' | ')}`) : err;
    } finally {
      clearTimeout(timer);
      if (this.opening === peer) this.opening = undefined;
    }
  }

  /**
   * The 2025 session of a backend that also speaks 2026-07-28 over HTTP: 2025 clients' calls go there
   * (push requests, logging and subscriptions as the backend serves them to 2025 clients); undefined
   * when the backend answers initialize with an error or not in time.
   */
  private async openLegacy(kind: ConcreteTransport, gen: number, budget: number): Promise<LegacySession | undefined> {
    if (budget < 20) return undefined;
    const wire = createWire(kind, this.opts, this.deps, this.log);
    const peer = new RpcPeer(wire, this.name, this.handlers(gen, kind));
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${Math.round(budget)} ms`)), budget);
    });
    try {
      const { init, catalog } = await Promise.race([initialize(wire, peer, budget, false), timeout]);
      return { peer, wire, version: String(init.protocolVersion), tools: new Set(catalog.tools.map((t) => String(t.name))) };
    } catch (err) {
      this.log.info('backend serves only 2026-07-28; 2025 clients are bridged', { error: errorMessage(err) });
      await peer.close().catch(() => {});
      return undefined;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Whether the backend has a 2025 session besides its 2026-07-28 one. */
  get dual(): boolean {
    return this.legacy !== undefined;
  }

  /** What the peer calls back with; bound to one connection generation. */
  private handlers(gen: number, kind: ConcreteTransport): PeerHandlers {
    return {
      request: (method, params, signal) =>
        RELAYED_REQUESTS.has(method) ? this.hooks.serverRequest(this.name, method, params, signal) : Promise.reject(new RpcError(-32601, `Method not found: ${method}`)),
      notification: (method, params) => {
        if (gen !== this.generation) return;
        if (method === 'notifications/subscriptions/acknowledged') this.acked?.(params);
        else if (method === 'notifications/tools/list_changed') void this.refresh('tools');
        else if (method === 'notifications/prompts/list_changed') void this.refresh('prompts');
        else if (method === 'notifications/resources/list_changed') {
          void this.refresh('resources');
          void this.refresh('templates');
        } else if (RELAYED_NOTIFICATIONS.has(method)) this.hooks.notification(this.name, method, params);
      },
      // Fault 7 of issue 7: a transport-level failure of a call triggers a health ping at once.
      callFailed: () => {
        if (kind !== 'stdio') void this.checkHealth(gen);
      },
      // While connecting, a closed wire fails the handshake instead (one markDown, one retry timer).
      closed: (err) => {
        if (this.state === 'up') this.markDown(gen, err);
      },
    };
  }

  private adopt(peer: RpcPeer, wire: Wire, kind: ConcreteTransport, init: Json, catalog: Catalog, gen: number): void {
    this.peer = peer;
    this.wire = wire;
    this.resolved = kind;
    this.catalog = catalog;
    this.capabilities = (init.capabilities ?? {}) as Json;
    this.instructions = typeof init.instructions === 'string' ? init.instructions : undefined;
    this.serverName = (init.serverInfo as { name?: string } | undefined)?.name;
    this.protocolVersion = init.protocolVersion as string;
    this.state = 'up';
    this.attempt = 0;
    this.lastError = undefined;
    this.nextRetryAt = undefined;
    this.connectedAt = this.deps.clock.now();
    wire.onrenewed = () => {
      if (gen !== this.generation) return;
      if (this.capabilities.tools) void this.refresh('tools');
      if (this.capabilities.prompts) void this.refresh('prompts');
      if (this.capabilities.resources) for (const key of ['resources', 'templates'] as const) void this.refresh(key);
    };
    const interval = this.opts.healthInterval ?? DEFAULT_HEALTH_INTERVAL;
    if (kind !== 'stdio' && interval > 0) {
      this.healthTimer = setInterval(() => void this.checkHealth(gen), interval);
      this.healthTimer.unref?.();
    }
    this.log.info('backend up', { transport: kind, protocol: this.protocolVersion, tools: catalog.tools.length, prompts: catalog.prompts.length, resources: catalog.resources.length });
    this.hooks.stateChanged?.(this.name, 'up');
    this.hooks.changed(this.name);
    if (this.protocolVersion === MODERN_VERSION) {
      if (wire instanceof StreamableHttpWire) wire.paramDecls = (tool) => this.paramDecls(tool);
      void this.relisten(gen);
    }
  }

  /** `x-mcp-header` declarations per tool, rebuilt when the tools list changes. */
  private paramDecls(tool: string): ParamDecl[] | undefined {
    if (this.declsOf?.tools !== this.catalog.tools) {
      const byName = new Map<string, ParamDecl[]>();
      for (const t of this.catalog.tools) {
        const decls = paramDeclarations(t.inputSchema);
        if (decls.length > 0) byName.set(String(t.name), decls);
      }
      this.declsOf = { tools: this.catalog.tools, byName };
    }
    return this.declsOf.byName.get(tool);
  }
  private declsOf?: { tools: Json[]; byName: Map<string, ParamDecl[]> };

  /**
   * 2026-07-28 has no session stream: list_changed and resources/updated arrive on an open
   * `subscriptions/listen` request, reopened after it ends and whenever the watched URIs change.
   */
  private relisten(gen: number): Promise<void> {
    this.listening?.abort(new Error('subscriptions changed'));
    const peer = this.peer;
    if (!peer || gen !== this.generation) return Promise.resolve();
    const ac = new AbortController();
    this.listening = ac;
    const notifications = listenFilter(this.capabilities, this.watched);
    if (Object.keys(notifications).length === 0) return Promise.resolve();
    // Resolves on notifications/subscriptions/acknowledged (the backend now watches), bounded.
    let honored: Json | undefined;
    const acked = new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, LISTEN_ACK_MS);
      timer.unref?.();
      this.acked = (params) => {
        honored = params?.notifications as Json | undefined;
        clearTimeout(timer);
        resolve();
      };
    });
    const opened = performance.now();
    void peer.request('subscriptions/listen', { notifications }, { timeout: LISTEN_TIMEOUT_MS, signal: ac.signal }).then(
      () => this.listenEnded(gen, ac, undefined, opened, honored),
      (err) => this.listenEnded(gen, ac, err, opened, honored),
    );
    return acked;
  }
  /** Settles the wait of the latest relisten() for its acknowledgement, with its params. */
  private acked?: (params: Json | undefined) => void;
  /** Wait before reopening a listen stream that ended; doubles while streams end soon after opening. */
  private relistenDelay = RELISTEN_MS;

  private listenEnded(gen: number, ac: AbortController, err: unknown, opened: number, honored: Json | undefined): void {
    if (ac.signal.aborted || gen !== this.generation || this.listening !== ac || this.state !== 'up') return;
    this.listening = undefined;
    // A backend that does not serve subscriptions/listen says so once; it is not asked again.
    if (err instanceof RpcError && err.code === -32601) return this.log.info('backend does not serve subscriptions/listen', { error: err.message });
    // 2026-07-28 basic/patterns/subscriptions: the acknowledgement names what the backend honors; a stream
    // it closed at once because it honors nothing would only be refused again.
    if (err === undefined && honored && Object.keys(honored).length === 0) return this.log.info('backend honors no subscriptions/listen notifications; not reopened');
    // A stream that keeps ending right after it opened is reopened ever less often (1 s doubling to 30 s).
    this.relistenDelay = performance.now() - opened > RELISTEN_MAX_MS ? RELISTEN_MS : Math.min(this.relistenDelay * 2, RELISTEN_MAX_MS);
    this.log.debug('subscriptions/listen ended; reopening', { error: err === undefined ? undefined : errorMessage(err), in_ms: this.relistenDelay });
    const timer = setTimeout(() => void this.relisten(gen), this.relistenDelay);
    timer.unref?.();
  }

  /** Adds or removes a resource subscription (2026-07-28 backends: on the listen stream; else resources/subscribe). */
  async watch(uri: string, on: boolean): Promise<void> {
    if (this.protocolVersion !== MODERN_VERSION || this.legacy) {
      await this.request(on ? 'resources/subscribe' : 'resources/unsubscribe', { uri }, { era: 'legacy' });
      return;
    }
    if (on === this.watched.has(uri)) return;
    if (on) this.watched.add(uri);
    else this.watched.delete(uri);
    if (this.state === 'up') await this.relisten(this.generation);
  }

  /** Pings the backend (MCP basic/utilities/ping); a transport failure or no answer marks it down. */
  private async checkHealth(gen: number): Promise<void> {
    const peer = this.peer;
    if (this.checking || !peer || gen !== this.generation || this.state !== 'up') return;
    this.checking = true;
    try {
      await peer.request('ping', undefined, { timeout: Math.min(this.opts.connectTimeout, 10_000) });
    } catch (err) {
      // A JSON-RPC error answer still proves the backend is alive.
      if (!(err instanceof GatewayError) || this.peer !== peer) return;
      // A backend busy with a call (one event loop, e.g. a Python server) may answer pings late:
      // only a transport failure, or silence while idle, takes its in-flight calls down with it.
      // (an open subscriptions/listen request is not a call)
      if (err.code === 'backend_timeout' && peer.inflight - (this.listening ? 1 : 0) > 0) return this.log.warn('health ping not answered while calls are in flight', { inflight: peer.inflight });
      this.markDown(gen, new Error(`health check failed: ${errorMessage(err)}`));
    } finally {
      this.checking = false;
    }
  }

  private async refresh(key: keyof Catalog): Promise<void> {
    const peer = this.peer;
    if (!peer) return;
    // A dual-era backend's 2025 tool set decides where 2025 clients' calls go: it changes with the list,
    // and is settled before the gateway announces the change (issue 10).
    const legacy = key === 'tools' ? this.legacy : undefined;
    try {
      const [list, legacyTools] = await Promise.all([listAll(peer, key, this.opts.connectTimeout), legacy && this.legacyTools(legacy)]);
      if (peer !== this.peer) return;
      if (legacy && legacyTools && legacy === this.legacy) legacy.tools = legacyTools;
      this.catalog = { ...this.catalog, [key]: list };
      this.log.info('catalog refreshed', { list: key, count: list.length });
      this.hooks.changed(this.name);
    } catch (err) {
      this.log.warn('catalog refresh failed', { list: key, error: errorMessage(err) });
    }
  }

  /** The tool names a dual-era backend lists on its 2025 session; undefined (the set is kept) when that fails. */
  private async legacyTools(legacy: LegacySession): Promise<Set<string> | undefined> {
    try {
      return new Set((await listAll(legacy.peer, 'tools', this.opts.connectTimeout)).map((t) => String(t.name)));
    } catch (err) {
      this.log.warn('2025 tool list refresh failed', { error: errorMessage(err) });
      return undefined;
    }
  }

  private dropConnection(): void {
    this.listening?.abort(new Error('connection dropped'));
    this.listening = undefined;
    void this.legacy?.peer.close().catch(() => {});
    this.legacy = undefined;
    clearInterval(this.healthTimer);
    this.healthTimer = undefined;
    this.droppedStderr += (this.wire as { droppedStderrLines?: number } | undefined)?.droppedStderrLines ?? 0;
    const peer = this.peer;
    this.peer = undefined;
    this.wire = undefined;
    void peer?.close().catch(() => {});
  }

  private markDown(gen: number, err: unknown): void {
    if (gen !== this.generation) return;
    const wasUp = this.state === 'up';
    this.dropConnection();
    if (this.stopped) return;
    this.state = 'down';
    this.lastError = errorMessage(err) || 'connection failed';
    this.lastErrorAt = this.deps.clock.now();
    this.catalog = EMPTY;
    const delay = this.backoff();
    this.nextRetryAt = this.deps.clock.now() + delay;
    this.log.warn(wasUp ? 'backend down' : 'backend connect failed', { error: this.lastError, retry_in_ms: delay });
    this.hooks.stateChanged?.(this.name, 'down', this.lastError);
    if (wasUp) this.hooks.changed(this.name);
    this.timer = setTimeout(() => void this.connect(), delay);
  }

  /** Capped exponential backoff with jitter in [50%, 100%] of the step. */
  private backoff(): number {
    const step = Math.min(this.opts.retryMax, this.opts.retryInitial * 2 ** Math.min(this.attempt++, 30));
    const jitter = this.deps.random(1)[0] / 255;
    return Math.round(step * (0.5 + jitter / 2));
  }

  /** Forwards one request; throws GatewayError when down or timed out, or the backend's own error (RpcError). */
  async request(method: string, params: Json | undefined, opts: ForwardOptions = {}): Promise<Json> {
    const peer = this.peer;
    if (!peer || this.state !== 'up') {
      throw new GatewayError('backend_unavailable', `backend '${this.name}' is ${this.state}${this.lastError ? `: ${this.lastError}` : ''}`, { detail: { backend: this.name } });
    }
    const started = this.deps.clock.now();
    // A 2025 client's call goes to the 2025 session of a dual-era backend, unless the tool is 2026-only.
    const legacy = opts.era === 'legacy' ? this.legacy : undefined;
    const via = legacy && (method !== 'tools/call' || legacy.tools.has(String(params?.name))) ? legacy.peer : peer;
    try {
      return await via.request(method, params, { timeout: this.opts.timeout, signal: opts.signal, onprogress: opts.onprogress, headers: opts.headers });
    } finally {
      this.lastCallAt = this.deps.clock.now();
      this.latencyMs = this.lastCallAt - started;
    }
  }

  /** Sends a notification to the backend if it is up (e.g. roots/list_changed). */
  async notify(method: string, params?: Json): Promise<void> {
    this.peer?.notify(method, params);
  }

  status(): BackendStatus {
    const iso = (t?: number) => (t === undefined ? undefined : new Date(t).toISOString());
    const dropped = this.droppedStderr + ((this.wire as { droppedStderrLines?: number } | undefined)?.droppedStderrLines ?? 0);
    return {
      name: this.name,
      state: this.state,
      transport: this.resolved ?? this.opts.transport,
      lastError: this.lastError,
      tools: this.catalog.tools.length,
      prompts: this.catalog.prompts.length,
      resources: this.catalog.resources.length + this.catalog.templates.length,
      lastCallAt: iso(this.lastCallAt),
      latencyMs: this.latencyMs,
      connectedAt: iso(this.connectedAt),
      protocolVersion: this.protocolVersion,
      ...(this.legacy && { legacyProtocolVersion: this.legacy.version }),
      lastErrorAt: iso(this.lastErrorAt),
      nextRetryAt: this.state === 'down' ? iso(this.nextRetryAt) : undefined,
      droppedStderrLines: dropped > 0 ? dropped : undefined,
    };
  }

  /** The child's PID for stdio backends (tests kill it to prove restarts). */
  get pid(): number | undefined {
    return (this.wire as { pid?: number } | undefined)?.pid;
  }

  /** Stops retrying, closes the connection and kills a stdio child with its process group. */
  async close(): Promise<void> {
    this.stopped = true;
    this.generation++;
    clearTimeout(this.timer);
    clearInterval(this.healthTimer);
    const peer = this.peer;
    const opening = this.opening;
    void this.legacy?.peer.close().catch(() => {});
    this.legacy = undefined;
    this.peer = undefined;
    this.wire = undefined;
    this.opening = undefined;
    await Promise.all([peer?.close().catch(() => {}), opening?.close().catch(() => {})]);
    this.state = 'down';
  }
}

/**
 * The notifications a 2026-07-28 backend's listen stream asks for: the list changes its capabilities
 * announce (`listChanged`) and, when it offers `subscribe`, the watched resource URIs.
 */
export function listenFilter(caps: Json, watched: Set<string>): Json {
  const flag = (key: string, bit: string) => ((caps[key] as Json | undefined)?.[bit] === true ? true : undefined);
  const filter: Json = {};
  if (flag('tools', 'listChanged')) filter.toolsListChanged = true;
  if (flag('prompts', 'listChanged')) filter.promptsListChanged = true;
  if (flag('resources', 'listChanged')) filter.resourcesListChanged = true;
  if (watched.size > 0 && flag('resources', 'subscribe')) filter.resourceSubscriptions = [...watched];
  return filter;
}
