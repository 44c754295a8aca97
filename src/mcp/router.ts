/**
 * @module JSON-RPC in (MCP 2024-11-05 … 2025-11-25): answers from memory what the gateway owns
 * (`initialize`, `ping`, every list, `logging/setLevel`, subscriptions) and forwards what backends own
 * (`tools/call`, `resources/read`, `prompts/get`, `completion/complete`) through the aggregator, whose
 * backends remap request ids. No SDK Server object and no schema validation on this path.
 */
import { RpcError } from '../errors.ts';
import type { Aggregator, CallContext, Grant } from './aggregator.ts';
import type { CancelSignal } from '../backends/rpc.ts';
import type { ClientRequests, Emit } from './relay.ts';
import type { Session } from './sessions.ts';

type Json = Record<string, unknown>;

/** Protocol revisions served on this path, newest first (spec-checklist §2.0). */
export const LEGACY_VERSIONS = ['2025-11-25', '2025-06-18', '2025-03-26', '2024-11-05'];

/** JSON-RPC error codes (the SDK's ProtocolErrorCode values). */
export const RPC = { parseError: -32700, invalidRequest: -32600, methodNotFound: -32601, invalidParams: -32602, internalError: -32603, sessionNotFound: -32001 } as const;

/** A result already serialized (lists, built once per grant scope). */
export class RawResult {
  constructor(readonly json: string) {}
}

/** What one request is answered in the context of. */
export interface RequestContext {
  grant: Grant;
  session?: Session;
  /** Capabilities the client declared (its session's, or its last initialize for stateless requests). */
  clientCapabilities?: Json;
  signal: AbortSignal;
  /** What the forwarded request listens on instead of `signal`, when the context is one (no AbortController per call). */
  cancel?: CancelSignal;
  /** Writes on this request's stream; absent when the client accepts only JSON. */
  emit?: Emit;
  /** The HTTP request's headers (its Mcp-Param-* go on to 2026-07-28 backends); absent off HTTP. */
  headers?: Headers;
}

export interface RouterOptions {
  version: string;
}

/** The per-request dispatcher; a class because it holds the aggregator and the relay table. */
export class Router {
  constructor(
    private readonly agg: Aggregator,
    private readonly clientRequests: ClientRequests,
    private readonly opts: RouterOptions,
  ) {}

  /** The initialize result: the requested version when served, else the newest (lifecycle "Version Negotiation"). */
  initializeResult(params: Json | undefined, grant: Grant): Json {
    const requested = String(params?.protocolVersion ?? '');
    return {
      protocolVersion: LEGACY_VERSIONS.includes(requested) ? requested : LEGACY_VERSIONS[0],
      capabilities: this.agg.capabilities(),
      serverInfo: { name: 'mcpgw', title: 'mcpgw', version: this.opts.version, description: 'Self-hosted MCP gateway' },
      instructions: this.agg.instructions(grant),
    };
  }

  /** Answers a request the gateway owns at once; undefined for a request that must be forwarded. */
  local(method: string, params: Json | undefined, ctx: RequestContext): Json | RawResult | undefined {
    switch (method) {
      case 'ping':
        return {};
      case 'tools/list':
        return this.list('tools', params, ctx.grant);
      case 'prompts/list':
        return this.list('prompts', params, ctx.grant);
      case 'resources/list':
        return this.list('resources', params, ctx.grant);
      case 'resources/templates/list':
        return this.list('resourceTemplates', params, ctx.grant);
      default:
        return undefined;
    }
  }

  /**
   * Answers any request but initialize; throws (or rejects with) an RpcError or GatewayError for the error
   * mapper. Not an async function: a forwarded call's promise is handed back as it is (no extra promise per call).
   */
  request(method: string, params: Json | undefined, ctx: RequestContext): Promise<Json | RawResult> | Json | RawResult {
    const p = params ?? {};
    switch (method) {
      case 'tools/call':
        return this.agg.callTool(p, this.callContext(p, ctx));
      case 'resources/read':
        return this.agg.readResource(p, this.callContext(p, ctx));
      case 'prompts/get':
        return this.agg.getPrompt(p, this.callContext(p, ctx));
      case 'completion/complete':
        return this.agg.complete(p, this.callContext(p, ctx));
      default:
        return this.local(method, params, ctx) ?? this.session(method, p, ctx);
    }
  }

  /** The requests that change the session: log level and resource subscriptions. */
  private async session(method: string, p: Json, ctx: RequestContext): Promise<Json> {
    switch (method) {
      case 'logging/setLevel':
        await this.agg.setLevel(String(p.level ?? 'info'), ctx.session);
        return {};
      case 'resources/subscribe':
        if (ctx.session) await this.agg.subscribe(String(p.uri ?? ''), ctx.session);
        return {};
      case 'resources/unsubscribe':
        if (ctx.session) await this.agg.unsubscribe(String(p.uri ?? ''), ctx.session);
        return {};
      default:
        throw new RpcError(RPC.methodNotFound, `Method not found: ${method}`);
    }
  }

  /** Client notifications: roots/list_changed goes to every backend; the rest needs no action here. */
  notification(method: string, params: Json | undefined): void {
    if (method === 'notifications/roots/list_changed') void this.agg.broadcast(method, params);
  }

  private list(kind: 'tools' | 'prompts' | 'resources' | 'resourceTemplates', params: Json | undefined, grant: Grant): RawResult {
    // The merged lists are served in one page; a cursor can only be stale or forged (pagination: -32602).
    if (params?.cursor !== undefined) throw new RpcError(RPC.invalidParams, 'Invalid cursor');
    return new RawResult(`{"${kind}":${this.agg.listJson(kind, grant)}}`);
  }

  private callContext(params: Json, ctx: RequestContext): CallContext {
    const token = (params._meta as Json | undefined)?.progressToken;
    const emit = ctx.emit;
    const grantKey = ctx.grant.key;
    return {
      grant: ctx.grant,
      // Read only when something needs a real AbortSignal (a relayed request, an input_required round).
      get signal() {
        return ctx.signal;
      },
      cancel: ctx.cancel,
      capabilities: ctx.clientCapabilities,
      logLevel: ctx.session?.logLevel,
      clientHeaders: ctx.headers,
      relay: emit ? (method, p, signal) => this.clientRequests.ask(grantKey, emit, method, p, signal) : undefined,
      progress:
        emit && token !== undefined
          ? (p) => emit({ jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: token, ...p } })
          : undefined,
    };
  }
}
