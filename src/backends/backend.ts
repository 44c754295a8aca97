/**
 * @module One backend connection: connect with a timeout, fetch its catalog once per (re)connect,
 * keep it fresh on the backend's own list_changed, reconnect with capped exponential backoff and
 * jitter, and forward requests with progress, cancellation and a per-call timeout.
 */
import { Client, type Transport } from '@modelcontextprotocol/client';
import { z } from 'zod';
import type { Deps } from '../deps.ts';
import { GatewayError, errorMessage } from '../errors.ts';
import type { Logger } from '../log.ts';
import { createTransport, type ConcreteTransport, type TransportSpec } from './transport.ts';

export type BackendState = 'connecting' | 'up' | 'down' | 'disabled';
type Json = Record<string, unknown>;

/** The backend's lists as it returned them, untouched. */
export interface Catalog {
  tools: Json[];
  prompts: Json[];
  resources: Json[];
  templates: Json[];
}

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
}

export interface BackendOptions extends TransportSpec {
  name: string;
  transport: 'auto' | ConcreteTransport;
  timeout: number;
  connectTimeout: number;
  retryInitial: number;
  retryMax: number;
  enabled: boolean;
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

const passthrough = z.record(z.string(), z.unknown());
const EMPTY: Catalog = { tools: [], prompts: [], resources: [], templates: [] };
const MAX_PAGES = 100;
const RELAYED_REQUESTS = ['sampling/createMessage', 'elicitation/create', 'roots/list'] as const;

/** Options of a forwarded request. */
export interface ForwardOptions {
  signal?: AbortSignal;
  onprogress?: (p: { progress: number; total?: number; message?: string }) => void;
}

/** A live connection to one MCP backend; a class because it has a lifecycle. */
export class Backend {
  state: BackendState = 'down';
  catalog: Catalog = EMPTY;
  instructions?: string;
  serverName?: string;
  capabilities: Json = {};
  private client?: Client;
  private transport?: Transport;
  private resolved?: ConcreteTransport;
  private lastError?: string;
  private attempt = 0;
  private timer?: ReturnType<typeof setTimeout>;
  private stopped = false;
  private generation = 0;
  private lastCallAt?: number;
  private latencyMs?: number;
  private connectedAt?: number;

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

  private async connectOnce(): Promise<void> {
    const gen = ++this.generation;
    this.state = 'connecting';
    const kinds: ConcreteTransport[] = this.resolved ? [this.resolved] : this.candidates();
    let firstError: unknown;
    for (const kind of kinds) {
      try {
        await this.open(kind, gen);
        return;
      } catch (err) {
        firstError ??= err;
        if (gen !== this.generation || this.stopped) return;
        this.log.debug('connect attempt failed', { transport: kind, error: errorMessage(err) });
      }
    }
    this.markDown(gen, firstError);
  }

  private candidates(): ConcreteTransport[] {
    if (this.opts.transport !== 'auto') return [this.opts.transport];
    // 2025-03-26 transports, "Backwards Compatibility": try Streamable HTTP, then the old HTTP+SSE.
    return this.opts.command ? ['stdio'] : ['streamable-http', 'sse'];
  }

  private async open(kind: ConcreteTransport, gen: number): Promise<void> {
    const transport = createTransport(kind, this.opts, this.deps, this.log);
    const client = this.newClient();
    const timeout = new Promise<never>((_, reject) => {
      const t = setTimeout(() => reject(new GatewayError('backend_timeout', `connect timed out after ${this.opts.connectTimeout} ms`)), this.opts.connectTimeout);
      t.unref?.();
    });
    try {
      await Promise.race([client.connect(transport), timeout]);
      const catalog = await Promise.race([this.fetchCatalog(client), timeout]);
      if (gen !== this.generation || this.stopped) throw new Error('superseded');
      this.adopt(client, transport, kind, catalog, gen);
    } catch (err) {
      await transport.close().catch(() => {});
      const tail = (transport as { recentStderr?: string }).recentStderr;
      throw tail ? new Error(`${errorMessage(err)}; stderr: ${tail.split('\n').slice(-2).join(' | ')}`) : err;
    }
  }

  private adopt(client: Client, transport: Transport, kind: ConcreteTransport, catalog: Catalog, gen: number): void {
    this.client = client;
    this.transport = transport;
    this.resolved = kind;
    this.catalog = catalog;
    this.capabilities = (client.getServerCapabilities() ?? {}) as Json;
    this.instructions = client.getInstructions();
    this.serverName = client.getServerVersion()?.name;
    this.state = 'up';
    this.attempt = 0;
    this.lastError = undefined;
    this.connectedAt = this.deps.clock.now();
    client.onclose = () => this.markDown(gen, new Error('connection closed'));
    this.log.info('backend up', { transport: kind, tools: catalog.tools.length, prompts: catalog.prompts.length, resources: catalog.resources.length });
    this.hooks.stateChanged?.(this.name, 'up');
    this.hooks.changed(this.name);
  }

  private newClient(): Client {
    const client = new Client(
      { name: 'mcpgw', version: '0.1.0' },
      { capabilities: { sampling: {}, elicitation: { form: {}, url: {} }, roots: { listChanged: true } } },
    );
    for (const method of RELAYED_REQUESTS) {
      client.setRequestHandler(method, ((req: { params?: Json }, ctx: { mcpReq: { signal: AbortSignal } }) =>
        this.hooks.serverRequest(this.name, method, req.params, ctx.mcpReq.signal)) as never);
    }
    const refresh = (key: keyof Catalog) => () => void this.refresh(client, key);
    client.setNotificationHandler('notifications/tools/list_changed', refresh('tools'));
    client.setNotificationHandler('notifications/prompts/list_changed', refresh('prompts'));
    client.setNotificationHandler('notifications/resources/list_changed', () => {
      void this.refresh(client, 'resources');
      void this.refresh(client, 'templates');
    });
    for (const method of ['notifications/resources/updated', 'notifications/message'] as const) {
      client.setNotificationHandler(method, (n: { params?: unknown }) => this.hooks.notification(this.name, method, n.params as Json));
    }
    return client;
  }

  private async fetchCatalog(client: Client): Promise<Catalog> {
    const caps = (client.getServerCapabilities() ?? {}) as Json;
    const [tools, prompts, resources, templates] = await Promise.all([
      caps.tools ? this.listAll(client, 'tools/list', 'tools') : [],
      caps.prompts ? this.listAll(client, 'prompts/list', 'prompts') : [],
      caps.resources ? this.listAll(client, 'resources/list', 'resources') : [],
      caps.resources ? this.listAll(client, 'resources/templates/list', 'resourceTemplates').catch(() => []) : [],
    ]);
    return { tools, prompts, resources, templates };
  }

  /** Follows every nextCursor (bounded), MCP 2025-11-25 utilities/pagination. */
  private async listAll(client: Client, method: string, key: string): Promise<Json[]> {
    const items: Json[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < MAX_PAGES; page++) {
      const res = await client.request({ method, params: cursor ? { cursor } : {} } as never, passthrough, { timeout: this.opts.connectTimeout });
      items.push(...(((res as Json)[key] as Json[]) ?? []));
      cursor = (res as Json).nextCursor as string | undefined;
      if (!cursor) break;
    }
    return items;
  }

  private async refresh(client: Client, key: keyof Catalog): Promise<void> {
    if (client !== this.client) return;
    const spec = { tools: ['tools/list', 'tools'], prompts: ['prompts/list', 'prompts'], resources: ['resources/list', 'resources'], templates: ['resources/templates/list', 'resourceTemplates'] }[key];
    try {
      const list = await this.listAll(client, spec[0], spec[1]);
      if (client !== this.client) return;
      this.catalog = { ...this.catalog, [key]: list };
      this.log.info('catalog refreshed', { list: key, count: list.length });
      this.hooks.changed(this.name);
    } catch (err) {
      this.log.warn('catalog refresh failed', { list: key, error: errorMessage(err) });
    }
  }

  private markDown(gen: number, err: unknown): void {
    if (gen !== this.generation) return;
    const wasUp = this.state === 'up';
    this.client = undefined;
    const transport = this.transport;
    this.transport = undefined;
    void transport?.close().catch(() => {});
    if (this.stopped) return;
    this.state = 'down';
    this.lastError = errorMessage(err);
    this.catalog = EMPTY;
    const delay = this.backoff();
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

  /** Forwards one request; throws GatewayError when down or timed out, or the backend's own error. */
  async request(method: string, params: Json | undefined, opts: ForwardOptions = {}): Promise<Json> {
    const client = this.client;
    if (!client || this.state !== 'up') {
      throw new GatewayError('backend_unavailable', `backend '${this.name}' is ${this.state}${this.lastError ? `: ${this.lastError}` : ''}`, { detail: { backend: this.name } });
    }
    const started = this.deps.clock.now();
    try {
      return (await client.request({ method, params } as never, passthrough, {
        signal: opts.signal,
        timeout: this.opts.timeout,
        resetTimeoutOnProgress: Boolean(opts.onprogress),
        maxTotalTimeout: opts.onprogress ? this.opts.timeout * 4 : undefined,
        onprogress: opts.onprogress,
      })) as Json;
    } catch (err) {
      if (isTimeout(err)) throw new GatewayError('backend_timeout', `backend '${this.name}' did not answer within ${this.opts.timeout} ms`, { cause: err, detail: { backend: this.name } });
      if (isClosed(err)) throw new GatewayError('backend_unavailable', `backend '${this.name}' went away during the call`, { cause: err, detail: { backend: this.name } });
      throw err;
    } finally {
      this.lastCallAt = this.deps.clock.now();
      this.latencyMs = this.lastCallAt - started;
    }
  }

  /** Sends a notification to the backend if it is up (e.g. roots/list_changed). */
  async notify(method: string, params?: Json): Promise<void> {
    await this.client?.notification({ method, params } as never).catch(() => {});
  }

  status(): BackendStatus {
    const iso = (t?: number) => (t === undefined ? undefined : new Date(t).toISOString());
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
    };
  }

  /** The child's PID for stdio backends (tests kill it to prove restarts). */
  get pid(): number | undefined {
    return (this.transport as { pid?: number } | undefined)?.pid;
  }

  /** Stops retrying, closes the connection and kills a stdio child with its process group. */
  async close(): Promise<void> {
    this.stopped = true;
    this.generation++;
    clearTimeout(this.timer);
    const transport = this.transport;
    this.client = undefined;
    this.transport = undefined;
    await transport?.close().catch(() => {});
    this.state = 'down';
  }
}

function isTimeout(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  return code === 'REQUEST_TIMEOUT' || code === -32001;
}

function isClosed(err: unknown): boolean {
  const e = err as { code?: unknown; message?: string };
  return e?.code === 'CONNECTION_CLOSED' || e?.code === 'NOT_CONNECTED' || /connection closed|not connected/i.test(e?.message ?? '');
}
