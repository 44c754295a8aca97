/**
 * @module Builds the client-facing low-level SDK `Server` for one session (legacy, stateful), one
 * stateless request, or one 2026-07-28 request, with every handler delegating to the Aggregator.
 */
import { ProtocolError, Server, type ServerContext } from '@modelcontextprotocol/server';
import { z } from 'zod';
import type { Aggregator, CallContext, Grant, SessionSink } from './aggregator.ts';
import { CAPABILITIES_META } from '../backends/discover.ts';
import { modernParams } from './eras.ts';

type Json = Record<string, unknown>;
const passthrough = z.record(z.string(), z.unknown());
const INVALID_PARAMS = -32602;

export interface ServerOptions {
  version: string;
  era: 'legacy' | 'modern';
  /** The stateful session this server belongs to, if any. */
  session?: SessionSink;
}

/** A fresh SDK Server whose handlers serve the aggregated catalog to one caller. */
export function createMcpServer(agg: Aggregator, grant: Grant, opts: ServerOptions): Server {
  const capabilities = agg.capabilities();
  const server = new Server(
    { name: 'mcpgw', title: 'mcpgw', version: opts.version, description: 'Self-hosted MCP gateway' } as never,
    { capabilities, instructions: agg.instructions(grant) },
  );
  const call = (ctx: ServerContext): CallContext => callContext(server, agg, grant, ctx, opts.era);
  // 2026-07-28: input_required passes through, and a 2025 backend's requests to the client become one (issue 10).
  type Forward = (params: Json, ctx: CallContext) => Promise<Json>;
  const mrtr =
    (fn: Forward) =>
    (req: { params?: unknown }, ctx: ServerContext): Promise<Json> => {
      const base = call(ctx);
      if (opts.era !== 'modern') return fn(req.params as Json, base);
      const params = modernParams(req.params as Json, ctx.mcpReq as never);
      return agg.inputs.run(params, grant.key, base.signal, (relay, signal) => fn(params, { ...base, signal, relay }));
    };
  // 2026-07-28 lists carry caching hints computed from the gateway's own catalog (SEP-2549).
  const hint = () => (opts.era === 'modern' ? agg.cacheHint(grant) : undefined);
  const noCursor = (params?: { cursor?: unknown }) => {
    // The merged lists are served in one page; a cursor can only be stale or forged (pagination: -32602).
    if (params?.cursor !== undefined) throw new ProtocolError(INVALID_PARAMS, 'Invalid cursor');
  };
  server.setRequestHandler('tools/list', (req) => (noCursor(req.params), { tools: agg.listTools(grant), ...hint() }) as never);
  server.setRequestHandler('tools/call', mrtr((p, c) => agg.callTool(p, c)) as never);
  if (capabilities.prompts) {
    server.setRequestHandler('prompts/list', (req) => (noCursor(req.params), { prompts: agg.listPrompts(grant), ...hint() }) as never);
    server.setRequestHandler('prompts/get', mrtr((p, c) => agg.getPrompt(p, c)) as never);
  }
  if (capabilities.resources) {
    server.setRequestHandler('resources/list', (req) => (noCursor(req.params), { resources: agg.listResources(grant), ...hint() }) as never);
    server.setRequestHandler('resources/templates/list', (req) => (noCursor(req.params), { resourceTemplates: agg.listTemplates(grant), ...hint() }) as never);
    server.setRequestHandler('resources/read', mrtr((p, c) => agg.readResource(p, c)) as never);
    if ((capabilities.resources as Json).subscribe && opts.era === 'legacy') {
      server.setRequestHandler('resources/subscribe', async (req) => {
        if (opts.session) await agg.subscribe(String(req.params.uri), opts.session);
        return {};
      });
      server.setRequestHandler('resources/unsubscribe', async (req) => {
        if (opts.session) await agg.unsubscribe(String(req.params.uri), opts.session);
        return {};
      });
    }
  }
  if (capabilities.completions) server.setRequestHandler('completion/complete', (req, ctx) => agg.complete(req.params as Json, call(ctx)) as never);
  if (capabilities.logging && opts.era === 'legacy') {
    server.setRequestHandler('logging/setLevel', async (req) => {
      await agg.setLevel(String(req.params.level), opts.session);
      return {};
    });
  }
  server.setNotificationHandler('notifications/roots/list_changed', () => void agg.broadcast('notifications/roots/list_changed'));
  return server;
}

function callContext(server: Server, agg: Aggregator, grant: Grant, ctx: ServerContext, era: 'legacy' | 'modern'): CallContext {
  const httpSignal = ctx.http?.req?.signal;
  // A client that disconnects cancels its call, as does an explicit notifications/cancelled.
  const signal = httpSignal ? AbortSignal.any([ctx.mcpReq.signal, httpSignal]) : ctx.mcpReq.signal;
  const token = ctx.mcpReq._meta?.progressToken;
  const envelopeCaps = (ctx.mcpReq as { envelope?: Json }).envelope?.[CAPABILITIES_META] as Json | undefined;
  return {
    grant,
    signal,
    ...(era === 'modern' && { era }),
    capabilities: envelopeCaps ?? (server.getClientCapabilities() as Json | undefined),
    // 2026-07-28 has no server-to-client requests (they became input_required results).
    relay: era === 'legacy' ? (method, params, s) => ctx.mcpReq.send({ method, params } as never, passthrough, { signal: s }) as Promise<Json> : undefined,
    progress:
      token === undefined
        ? undefined
        : (p) => void ctx.mcpReq.notify({ method: 'notifications/progress', params: { progressToken: token, ...p } }).catch(() => {}),
  };
}
