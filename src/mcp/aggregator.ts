/**
 * @module Merges backends into one MCP server: keeps the catalog view (catalog.ts) and the last known
 * catalogs, routes calls through the name/URI tables with progress and cancellation, and delegates
 * the rest by responsibility: receivers and their subscriptions (subscribers.ts), backends' requests
 * to clients (server-requests.ts), call statistics (call-stats.ts), tool pins (pin-check.ts), and
 * the 2026-07-28 pending inputs (eras.ts).
 */
import type { Backend, BackendHooks, BackendOptions, Catalog } from '../backends/backend.ts';
import { BackendPool } from '../backends/pool.ts';
import { CAPABILITIES_META, LOG_LEVEL_META, MODERN_VERSION, paramDeclarations, passedParamHeaders, type ParamDecl } from '../backends/discover.ts';
import { PendingInputs, fulfillInputRequired } from './eras.ts';
import type { Deps } from '../deps.ts';
import { GatewayError, RpcError, errorMessage } from '../errors.ts';
import type { Logger } from '../log.ts';
import { ambiguousUriMessage, buildView, exposeContentUris, resolveUri, routeUri, tagOf, type BackendCatalog, type ExposurePolicy, type Route, type View } from './catalog.ts';
import { exposeUri, type NamingOptions } from './names.ts';
import type { Database } from '../store/db.ts';
import { deleteCatalogsExcept, loadCatalogs, saveCatalog, type StoredCatalog } from '../store/catalogs.ts';
import type { AuditSink } from '../store/audit.ts';
import { changedParts, type PinChange } from '../store/pins.ts';
import { CallStats, type CallRecord } from './call-stats.ts';
import { ServerRequests } from './server-requests.ts';
import { Subscribers } from './subscribers.ts';
import { PinCheck } from './pin-check.ts';
import { unmatchedGlobs } from './tool-lists.ts';

type Json = Record<string, unknown>;
export type { CallContext, Grant, ListKind, SessionSink } from './call-context.ts';
import type { CallContext, Grant, ListKind, SessionSink } from './call-context.ts';

const INVALID_PARAMS = -32602;
const INTERNAL_ERROR = -32603;
const RESOURCE_NOT_FOUND = -32002;

export type { CallRecord } from './call-stats.ts';

/** Optional collaborators of the aggregator. */
export interface AggregatorOptions {
  /** Receives every finished tools/call and each backend up/down change (batched into SQLite by store/audit.ts). */
  audit?: AuditSink;
}

/** ttlMs of a settled list for 2026-07-28 clients (they also get list_changed on subscriptions/listen). */
const LIST_TTL_MS = 60_000;

/** A backend's full config as the aggregator needs it. */
export interface BackendSpec {
  options: BackendOptions;
  policy: ExposurePolicy;
  description?: string;
  /** Tool pinning (issue 9 item 10); absent = off. */
  pinning?: 'off' | 'warn' | 'strict';
}


/** The aggregating core; a class because it owns the pool, sessions and subscriptions. */
export class Aggregator {
  readonly pool: BackendPool;
  private view: View;
  private specs = new Map<string, BackendSpec>();
  /** Sessions, listen streams and their subscriptions, and the fan-out to them. */
  private readonly subscribers = new Subscribers();
  /** Client calls in flight per backend, for the backends' server-to-client requests. */
  private readonly serverRequests = new ServerRequests();
  private signatures: Record<ListKind, string> = { tools: '', prompts: '', resources: '' };
  /** The most recent tools/call outcomes, newest last. */
  /** Recent calls, calls per minute, the failed-call log line and the audit/metrics sinks. */
  readonly calls: CallStats;
  /** Each backend's last recorded up/down state, so a backend retrying while down is recorded once. */
  private readonly lastStates = new Map<string, string>();
  /** The last catalog each backend returned (also persisted): lists stay whole while a backend reconnects. */
  private readonly known = new Map<string, StoredCatalog>();
  /** Serialized lists per grant scope, rebuilt lazily after the view changes. */
  private serialized = new Map<string, string>();
  /** Kinds changed and not yet announced, with the change number of their last change. */
  private pendingKinds = new Map<ListKind, number>();
  private changeSeq = 0;
  private coalesceTimer?: ReturnType<typeof setTimeout>;
  /** Pin check results per backend, valid for one tools array and one configure() generation. */
  private readonly pins: PinCheck;
  /** Counts config (re)loads: warnings said once per load. */
  private configGeneration = 0;
  /** Minimum spacing of list_changed notifications per kind (issue 7 item 4). */
  listChangedSpacingMs = 250;
  onBackendChanged?: (backend: Backend) => void;
  /** Calls of 2026-07-28 clients parked on a 2025 backend's server-to-client request (issue 10 item 2). */
  readonly inputs: PendingInputs;

  constructor(
    private naming: NamingOptions,
    private readonly deps: Deps,
    private readonly log: Logger = deps.log,
    private readonly db?: Database,
    private readonly options: AggregatorOptions = {},
  ) {
    this.calls = new CallStats(deps.clock, log, options.audit);
    this.pins = new PinCheck(deps.clock, log, db);
    if (db) {
      try {
        for (const [name, c] of loadCatalogs(db)) this.known.set(name, c);
      } catch (err) {
        this.log.warn('could not read the stored backend catalogs', { error: errorMessage(err) });
      }
    }
    const hooks: BackendHooks = {
      changed: (name) => {
        const b = this.pool.get(name);
        if (b) this.onBackendChanged?.(b);
        this.rebuild();
      },
      stateChanged: (name, state, reason) => this.backendStateChanged(name, state, reason),
      notification: (name, method, params) => this.fromBackend(name, method, params),
      serverRequest: (name, method, params, signal) => this.serverRequests.route(name, method, params, signal),
    };
    this.pool = new BackendPool(deps, hooks);
    this.inputs = new PendingInputs(deps.random(32), deps.clock, deps.random);
    this.view = buildView([], naming);
  }

  /** allow/deny globs already warned about in this configure() generation (issue 9 item 8). */
  private globWarnings = new Set<string>();

  /** Logs one warn per allow/deny glob that matches none of an up backend's tools, once per config (re)load. */
  private warnUnmatchedGlobs(name: string, policy: ExposurePolicy, tools: Json[]): void {
    const names = tools.map((t) => String((t as { name?: unknown }).name));
    for (const u of unmatchedGlobs({ allow: policy.allow ?? [], deny: policy.deny }, names)) {
      const key = `${this.configGeneration}\0${name}\0${u.list}\0${u.glob}`;
      if (this.globWarnings.has(key)) continue;
      this.globWarnings.add(key);
      this.log.warn('tool glob matches no tool of the backend', { backend: name, list: `tools.${u.list}`, glob: u.glob, tools: names.length });
    }
  }

  /** Applies a (new) set of backends and naming options; see BackendPool.apply. */
  async configure(specs: BackendSpec[], naming: NamingOptions): Promise<{ added: string[]; removed: string[]; changed: string[] }> {
    this.specs = new Map(specs.map((s) => [s.options.name, s]));
    this.naming = naming;
    // A reload (also the one `mcpgw backends approve` asks for) re-reads the pins.
    this.pins.invalidate();
    this.configGeneration++;
    for (const name of [...this.known.keys()]) if (!this.specs.has(name)) this.known.delete(name);
    if (this.db) this.persistSafely(() => deleteCatalogsExcept(this.db!, [...this.specs.keys()]));
    const diff = await this.pool.apply(specs.map((s) => s.options));
    this.rebuild();
    return diff;
  }

  /**
   * Recomputes the view and tells sessions about the lists that changed. A backend that is down or
   * still connecting keeps its last known catalog, so its tools do not vanish and reappear on every
   * restart (and a call gets an error naming the backend, not "Unknown tool").
   */
  rebuild(): void {
    const catalogs: BackendCatalog[] = [];
    const pinChanges = new Map<string, Map<string, PinChange>>();
    for (const b of this.pool.list()) {
      const spec = this.specs.get(b.name);
      if (!spec || b.state === 'disabled') continue;
      if (b.state === 'up') this.remember(b.name, b);
      const known = this.known.get(b.name);
      if (!known) continue;
      catalogs.push({ name: b.name, policy: spec.policy, ...known.catalog });
      if (b.state === 'up') this.warnUnmatchedGlobs(b.name, spec.policy, known.catalog.tools);
      if (spec.pinning === 'strict') pinChanges.set(b.name, this.pins.changes(b.name, spec.pinning, known.catalog.tools));
      else if (spec.pinning === 'warn') this.pins.changes(b.name, spec.pinning, known.catalog.tools);
    }
    const withhold = (backend: string, tool: string) => {
      const change = pinChanges.get(backend)?.get(tool);
      return change && withheldReason(backend, tool, change);
    };
    this.view = buildView(catalogs, this.naming, { withhold });
    this.declCache = undefined;
    this.serialized = new Map();
    for (const c of this.view.collisions) {
      this.log.warn('name collision resolved', { name: c.name, kept_backend: c.kept.backend, kept_tool: c.kept.original, renamed_backend: c.renamed.backend, renamed_tool: c.renamed.original, exposed: c.renamed.exposed });
    }
    this.view.collisions = [];
    const next = {
      tools: JSON.stringify(this.view.tools),
      prompts: JSON.stringify(this.view.prompts),
      resources: JSON.stringify([this.view.resources, this.view.templates]),
    };
    const changed = (Object.keys(next) as ListKind[]).filter((k) => next[k] !== this.signatures[k]);
    this.signatures = next;
    if (changed.length === 0) return;
    this.changeSeq++;
    for (const k of changed) this.pendingKinds.set(k, this.changeSeq);
    if (!this.coalesceTimer) this.flushListChanged();
  }

  /** Sends the pending list_changed kinds now, then at most once per spacing window (coalesced). */
  private flushListChanged(): void {
    this.coalesceTimer = undefined;
    if (this.pendingKinds.size === 0) return;
    const pending = [...this.pendingKinds];
    this.pendingKinds.clear();
    this.subscribers.listChanged(pending);
    this.coalesceTimer = setTimeout(() => this.flushListChanged(), this.listChangedSpacingMs);
    this.coalesceTimer.unref?.();
  }

  /** Keeps an up backend's catalog as its last known one (in memory, and in the database when it changed). */
  private remember(name: string, b: { catalog: Catalog; capabilities: Json; instructions?: string; serverName?: string }): void {
    const catalog = { tools: b.catalog.tools, prompts: b.catalog.prompts, resources: b.catalog.resources, templates: b.catalog.templates };
    const prev = this.known.get(name);
    if (prev && prev.catalog.tools === catalog.tools && prev.catalog.prompts === catalog.prompts && prev.catalog.resources === catalog.resources && prev.catalog.templates === catalog.templates) return;
    const rec: StoredCatalog = { catalog, capabilities: b.capabilities, instructions: b.instructions, serverName: b.serverName, updatedAt: this.deps.clock.now() };
    this.known.set(name, rec);
    if (this.db) this.persistSafely(() => saveCatalog(this.db!, name, rec));
  }

  /** Records a backend going up or down (not every retry of a backend that stays down). */
  private backendStateChanged(name: string, state: string, reason?: string): void {
    if (state !== 'up' && state !== 'down') return;
    if (this.lastStates.get(name) === state) return;
    this.lastStates.set(name, state);
    safe(() => this.options.audit?.backend({ backend: name, state, reason }));
  }

  /** Re-reads the tool pins (after `mcpgw backends approve` changed them) and rebuilds the view. */
  reloadPins(): { tools: number } {
    this.pins.invalidate();
    this.rebuild();
    return { tools: this.view.tools.length };
  }

  private persistSafely(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.log.warn('could not store backend catalogs', { error: errorMessage(err) });
    }
  }

  private allowed(grant: Grant, backend: string): boolean {
    return grant.backends === null || grant.backends.includes(backend);
  }

  /**
   * Everything mcpgw can serve, whatever the backends' state at this moment: a session opened while
   * a backend is still connecting must not lose prompts/resources/completions for its whole life
   * (issue 7 fault 4; spec-checklist §3.1). Lists show the current catalog.
   */
  capabilities(): Json {
    return { tools: { listChanged: true }, prompts: { listChanged: true }, resources: { subscribe: true, listChanged: true }, completions: {}, logging: {} };
  }

  /** The list of `kind` a grant may see, serialized once per grant scope until the view changes. */
  listJson(kind: 'tools' | 'prompts' | 'resources' | 'resourceTemplates', grant: Grant): string {
    const key = `${kind}\u0000${grant.backends === null ? '*' : grant.backends.join(',')}`;
    let text = this.serialized.get(key);
    if (text === undefined) {
      const items = kind === 'tools' ? this.listTools(grant) : kind === 'prompts' ? this.listPrompts(grant) : kind === 'resources' ? this.listResources(grant) : this.listTemplates(grant);
      text = JSON.stringify(items);
      this.serialized.set(key, text);
    }
    return text;
  }

  /**
   * The tools list for 2026-07-28 clients: that revision deleted the tool `execution` field (tasks),
   * so it is left out; the same serialized text as for 2025 clients when no tool has one.
   */
  modernToolsJson(grant: Grant): string {
    const text = this.listJson('tools', grant);
    if (!text.includes('"execution"')) return text;
    const key = `modern-tools\u0000${grant.backends === null ? '*' : grant.backends.join(',')}`;
    let modern = this.serialized.get(key);
    if (modern === undefined) {
      modern = JSON.stringify((JSON.parse(text) as Json[]).map(({ execution, ...tool }) => tool));
      this.serialized.set(key, modern);
    }
    return modern;
  }

  /** The `instructions` text: one line per backend plus their own instructions, bounded. */
  instructions(grant: Grant): string {
    const lines = ['mcpgw aggregates several MCP servers. Tool and prompt names carry their backend as a prefix; resource URIs carry it in the scheme (e.g. file+docs:///a.txt).', '', 'Backends:'];
    const details: string[] = [];
    for (const b of this.pool.list()) {
      if (!this.allowed(grant, b.name)) continue;
      const spec = this.specs.get(b.name);
      const summary = spec?.description ?? firstLine(b.instructions) ?? b.serverName ?? '';
      lines.push(`- ${b.name} (${b.state})${summary ? `: ${summary.slice(0, 200)}` : ''}`);
      if (b.instructions) details.push(`## ${b.name}\n${b.instructions.slice(0, 2000)}`);
    }
    return [lines.join('\n'), ...details].join('\n\n').slice(0, 8000);
  }

  /** The name table: every exposed tool with its backend and original name (for `mcpgw backends show`). */
  toolTable(): { exposed: string; backend: string; original: string; description?: string }[] {
    return this.view.tools.map((o) => {
      const route = this.view.toolRoutes.get(String(o.item.name))!;
      return { exposed: String(o.item.name), backend: route.backend, original: route.original, description: o.item.description as string | undefined };
    });
  }

  /**
   * SEP-2549 caching hints of a list for a 2026-07-28 client (issue 10 item 3): 0 ms while a granted
   * backend is not up or a list change is still being announced (the list is about to change), else
   * LIST_TTL_MS; `public` only when every caller sees the same lists (no auth, every backend).
   */
  cacheHint(grant: Grant): { ttlMs: number; cacheScope: 'public' | 'private' } {
    let settled = this.pendingKinds.size === 0;
    for (const b of this.pool.list()) if (settled && b.state !== 'disabled' && b.state !== 'up' && this.allowed(grant, b.name)) settled = false;
    return { ttlMs: settled ? LIST_TTL_MS : 0, cacheScope: grant.key === 'anonymous' && grant.backends === null ? 'public' : 'private' };
  }

  /** The `x-mcp-header` declarations of an exposed tool the grant may call (SEP-2243), cached per view. */
  paramDecls(name: string, grant: Grant): ParamDecl[] | undefined {
    const route = this.view.toolRoutes.get(name);
    if (!route || !this.allowed(grant, route.backend)) return undefined;
    if (!this.declCache) {
      this.declCache = new Map();
      for (const o of this.view.tools) {
        const decls = paramDeclarations(o.item.inputSchema);
        if (decls.length > 0) this.declCache.set(String(o.item.name), decls);
      }
    }
    return this.declCache.get(name);
  }
  private declCache?: Map<string, ParamDecl[]>;

  listTools(grant: Grant): Json[] {
    return this.view.tools.filter((o) => this.allowed(grant, o.backend)).map((o) => o.item);
  }
  listPrompts(grant: Grant): Json[] {
    return this.view.prompts.filter((o) => this.allowed(grant, o.backend)).map((o) => o.item);
  }
  listResources(grant: Grant): Json[] {
    return this.view.resources.filter((o) => this.allowed(grant, o.backend)).map((o) => o.item);
  }
  listTemplates(grant: Grant): Json[] {
    return this.view.templates.filter((o) => this.allowed(grant, o.backend)).map((o) => o.item);
  }

  /** tools/call: unknown or ungranted tool -> invalid params; a down or slow backend -> isError result. */
  async callTool(params: Json, ctx: CallContext): Promise<Json> {
    const name = String(params.name ?? '');
    const route = this.view.toolRoutes.get(name);
    const withheld = route ? undefined : this.view.withheld.get(name);
    if (withheld && this.allowed(ctx.grant, withheld.route.backend)) return { content: [{ type: 'text', text: `mcpgw: tool ${name} is withheld: ${withheld.reason}` }], isError: true };
    if (!route || !this.allowed(ctx.grant, route.backend)) throw new RpcError(INVALID_PARAMS, `Unknown tool: ${name}`);
    const started = this.deps.clock.now();
    let outcome: CallRecord['outcome'] = 'error';
    let error: string | undefined = 'call ended without an answer';
    let result: Json | undefined;
    try {
      result = await this.forward(route, 'tools/call', { ...params, name: route.original }, ctx);
      outcome = result.isError ? 'error' : 'ok';
      error = result.isError ? toolErrorText(result) : undefined;
      const tag = tagOf(this.view, route.backend);
      if (!tag || !Array.isArray(result.content)) return result;
      // The backend's result object itself when no URI changed: its text can then be forwarded as it came.
      const content = exposeContentUris(result.content, tag);
      return content === result.content ? result : { ...result, content };
    } catch (err) {
      error = errorMessage(err);
      if (err instanceof GatewayError) return { content: [{ type: 'text', text: `mcpgw: ${err.message}` }], isError: true };
      throw err;
    } finally {
      const { grant } = ctx;
      const rec: Omit<CallRecord, 'time'> = { tool: name, backend: route.backend, duration_ms: this.deps.clock.now() - started, outcome, client_id: grant.clientId, client_name: grant.clientName, grant_id: grant.grantId, error };
      this.calls.record(rec, started, params.arguments, result);
    }
  }

  async getPrompt(params: Json, ctx: CallContext): Promise<Json> {
    const name = String(params.name ?? '');
    const route = this.view.promptRoutes.get(name);
    if (!route || !this.allowed(ctx.grant, route.backend)) throw new RpcError(INVALID_PARAMS, `Unknown prompt: ${name}`);
    const result = await this.forwardOrError(route, 'prompts/get', { ...params, name: route.original }, ctx);
    const tag = tagOf(this.view, route.backend);
    if (!tag || !Array.isArray(result.messages)) return result;
    return { ...result, messages: (result.messages as Json[]).map((m) => ({ ...m, content: Array.isArray(m.content) ? exposeContentUris(m.content, tag) : (exposeContentUris([m.content], tag) as unknown[])[0] })) };
  }

  async readResource(params: Json, ctx: CallContext): Promise<Json> {
    const route = this.resourceRoute(String(params.uri ?? ''), ctx.grant);
    let result: Json;
    try {
      result = await this.forwardOrError(route, 'resources/read', { ...params, uri: route.original }, ctx);
    } catch (err) {
      // SEP-2164: a 2026-07-28 backend says "not found" with -32602 and data.uri; a 2025 client expects -32002.
      const e = err as { code?: unknown; data?: { uri?: unknown } };
      if (ctx.era !== 'modern' && e?.code === INVALID_PARAMS && typeof e.data?.uri === 'string' && this.pool.get(route.backend)?.protocolVersion === MODERN_VERSION) {
        throw new RpcError(RESOURCE_NOT_FOUND, (err as Error).message, { ...(e.data as Json), uri: params.uri });
      }
      throw err;
    }
    const tag = tagOf(this.view, route.backend); // undefined with prefix: false -> URIs unchanged
    const contents = Array.isArray(result.contents) ? (result.contents as Json[]).map((c) => ({ ...c, uri: typeof c.uri === 'string' ? exposeUri(c.uri, tag) : c.uri })) : result.contents;
    return { ...result, contents };
  }

  /** completion/complete, routed to the backend owning the prompt or resource template. */
  async complete(params: Json, ctx: CallContext): Promise<Json> {
    const ref = (params.ref ?? {}) as Json;
    let route: Route;
    let newRef: Json;
    if (ref.type === 'ref/prompt') {
      const r = this.view.promptRoutes.get(String(ref.name ?? ''));
      if (!r || !this.allowed(ctx.grant, r.backend)) throw new RpcError(INVALID_PARAMS, `Unknown prompt: ${String(ref.name)}`);
      route = r;
      newRef = { ...ref, name: r.original };
    } else {
      route = this.resourceRoute(String(ref.uri ?? ''), ctx.grant);
      newRef = { ...ref, uri: route.original };
    }
    return this.forwardOrError(route, 'completion/complete', { ...params, ref: newRef }, ctx);
  }

  /** resources/subscribe: remembered per session, forwarded to the backend once (reference counted). */
  async subscribe(uri: string, sink: SessionSink): Promise<void> {
    const route = this.resourceRoute(uri, sink.grant);
    if (this.subscribers.watch(uri, sink)) {
      const backend = this.pool.get(route.backend);
      // A 2026-07-28 backend watches the URI on its subscriptions/listen request (issue 10 item 3).
      if (backend?.protocolVersion === MODERN_VERSION) await backend.watch(route.original, true);
      else await this.forwardOrError(route, 'resources/subscribe', { uri: route.original }, { grant: sink.grant });
    }
  }

  async unsubscribe(uri: string, sink: SessionSink): Promise<void> {
    if (!this.subscribers.unwatch(uri, sink)) return;
    const route = routeUri(this.view, uri);
    if (route) await this.pool.get(route.backend)?.watch(route.original, false).catch(() => {});
  }

  /** logging/setLevel: remembered on the session and fanned out to every backend that logs. */
  async setLevel(level: string, sink: SessionSink | undefined): Promise<void> {
    if (sink) sink.logLevel = level;
    await Promise.all(
      this.pool.list().filter((b) => b.state === 'up' && b.capabilities.logging && (b.protocolVersion !== MODERN_VERSION || b.dual)).map((b) => b.request('logging/setLevel', { level }, { era: 'legacy' }).catch((err) => this.log.debug('setLevel failed', { backend: b.name, error: errorMessage(err) }))),
    );
  }

  /** Forwards a client notification (roots/list_changed) to every up backend. */
  async broadcast(method: string, params?: Json): Promise<void> {
    await Promise.all(this.pool.list().map((b) => b.notify(method, params)));
  }


  /** Calls currently forwarded to backends (graceful shutdown waits for these). */
  get activeCalls(): number {
    return this.serverRequests.active;
  }

  addSink(sink: SessionSink): void {
    this.subscribers.add(sink, this.changeSeq);
  }

  /** Removes a session and drops its resource subscriptions. */
  async removeSink(sink: SessionSink): Promise<void> {
    await Promise.all(this.subscribers.remove(sink).map((uri) => this.unsubscribe(uri, sink)));
  }

  private resourceRoute(uri: string, grant: Grant): Route {
    const { route, ambiguous } = resolveUri(this.view, uri, (b) => this.allowed(grant, b));
    if (ambiguous) throw new RpcError(INVALID_PARAMS, ambiguousUriMessage(uri, ambiguous), { uri, backends: ambiguous });
    if (!route) throw new RpcError(RESOURCE_NOT_FOUND, `Resource not found: ${uri}`, { uri });
    return route;
  }

  private async forwardOrError(route: Route, method: string, params: Json, ctx: CallContext): Promise<Json> {
    try {
      return await this.forward(route, method, params, ctx);
    } catch (err) {
      if (err instanceof GatewayError) throw new RpcError(INTERNAL_ERROR, `mcpgw: ${err.message}`, { backend: route.backend, reason: err.code });
      throw err;
    }
  }

  /**
   * Sends one request to the owning backend with progress relay, cancellation and in-flight tracking. Throws
   * at once for a backend that is not there (callers await it inside their try).
   */
  private forward(route: Route, method: string, params: Json, ctx: CallContext): Promise<Json> {
    const backend = this.pool.get(route.backend);
    if (!backend) throw new GatewayError('backend_unavailable', `backend '${route.backend}' is not configured`);
    if (backend.state !== 'up') throw unavailable(backend, this.deps.clock.now());
    // Most calls carry no _meta: their params go on as they are (the caller made them a fresh object).
    if (params._meta === undefined && backend.protocolVersion !== MODERN_VERSION) return this.send(backend, route, method, params, ctx, undefined);
    const { _meta, ...rest } = params as { _meta?: Json };
    const { progressToken, ...meta } = _meta ?? {};
    // A 2026-07-28 backend learns the calling client's capabilities per request (issue 10 item 2).
    if (backend.protocolVersion === MODERN_VERSION) {
      if (ctx.capabilities && meta[CAPABILITIES_META] === undefined) meta[CAPABILITIES_META] = ctx.capabilities;
      if (ctx.logLevel && meta[LOG_LEVEL_META] === undefined) meta[LOG_LEVEL_META] = ctx.logLevel;
    }
    const fwd: Json = Object.keys(meta).length > 0 ? { ...rest, _meta: meta } : rest;
    return this.send(backend, route, method, fwd, ctx, progressToken);
  }

  private async send(backend: Backend, route: Route, method: string, fwd: Json, ctx: CallContext, progressToken: unknown): Promise<Json> {
    this.serverRequests.enter(route.backend, ctx);
    try {
      const opts = { signal: ctx.cancel ?? ctx.signal, onprogress: progressToken !== undefined ? ctx.progress : undefined, era: ctx.era === 'modern' ? undefined : ('legacy' as const), headers: ctx.clientHeaders && backend.protocolVersion === MODERN_VERSION && !backend.overStdio ? passedParamHeaders(ctx.clientHeaders) : undefined };
      const result = await backend.request(method, fwd, opts);
      // A 2025 client cannot read input_required: its inputs become requests on its call stream (issue 10).
      if (result.resultType !== 'input_required' || ctx.era === 'modern') return result;
      return await fulfillInputRequired(result, ctx, (extra) => backend.request(method, { ...fwd, ...extra }, opts));
    } catch (err) {
      throw tagBackendError(err, route.backend);
    } finally {
      this.serverRequests.leave(route.backend, ctx);
    }
  }

  private fromBackend(name: string, method: string, params: Json | undefined): void {
    if (method === 'notifications/resources/updated') {
      const tag = tagOf(this.view, name); // undefined with prefix: false -> URI unchanged
      if ((!tag && !this.view.unprefixed.includes(name)) || typeof params?.uri !== 'string') return;
      const uri = exposeUri(params.uri, tag);
      this.subscribers.resourceUpdated(uri);
      return;
    }
    if (method === 'notifications/message') this.subscribers.log(name, params, (grant) => this.allowed(grant, name));
  }
}

/** Why a changed tool is withheld, in words a client's user can pass on to the operator. */
function withheldReason(backend: string, tool: string, change: PinChange): string {
  const parts = changedParts(change.pin.pinned, change.pin.seen!).map((p) => (p === 'input_schema' ? 'input schema' : p));
  return `its ${parts.join(' and ') || 'definition'} changed since it was pinned, and backend '${backend}' has pinning: strict; the gateway operator can review the change with 'mcpgw backends diff ${backend}' and allow it with 'mcpgw backends approve ${backend} ${tool}'`;
}

/** The error for a call to a backend that is down or still connecting: its name, last error and next retry. */
function unavailable(b: Backend, now: number): GatewayError {
  const st = b.status() as ReturnType<Backend['status']> & { nextRetryAt?: string };
  const parts = [`backend '${b.name}' is ${b.state === 'connecting' ? 'still connecting' : b.state}`];
  if (st.lastError) parts.push(`last error: ${st.lastError}`);
  if (st.nextRetryAt) parts.push(`next retry in ${Math.max(0, Math.ceil((Date.parse(st.nextRetryAt) - now) / 1000))} s`);
  else if (b.state === 'connecting') parts.push('try again in a few seconds');
  return new GatewayError('backend_unavailable', parts.join('; '), { detail: { backend: b.name } });
}

/** A backend's JSON-RPC error goes back as is, with the backend named in `data`. */
function tagBackendError(err: unknown, backend: string): unknown {
  if (err instanceof GatewayError) return err;
  const e = err as { code?: unknown; message?: string; data?: unknown };
  if (typeof e?.code === 'number') {
    const data = e.data && typeof e.data === 'object' && !Array.isArray(e.data) ? { ...(e.data as Json), backend } : e.data === undefined ? { backend } : { backend, data: e.data };
    return new RpcError(e.code, stripPrefix(e.message ?? 'error'), data);
  }
  return new GatewayError('backend_unavailable', `backend '${backend}' failed: ${errorMessage(err)}`, { cause: err });
}

// The SDK prefixes messages with "MCP error <code>: "; the client would see it twice.
function stripPrefix(message: string): string {
  return message.replace(/^MCP error -?\d+: /, '');
}

/** The text of an isError tool result (what the tool said went wrong), bounded. */
function toolErrorText(result: Json): string {
  const parts = Array.isArray(result.content) ? (result.content as Json[]).filter((c) => c?.type === 'text').map((c) => String(c.text)) : [];
  const text = parts.join('\n').trim();
  return (text || 'the tool reported an error without text').slice(0, 2000);
}

function firstLine(s?: string): string | undefined {
  return s?.split('\n').find((l) => l.trim())?.trim();
}

function safe(fn: () => void): void {
  try {
    fn();
  } catch {
    // a broken session must not stop delivery to the others
  }
}
