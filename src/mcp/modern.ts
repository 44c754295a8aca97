/**
 * @module 2026-07-28 traffic through the SDK's per-request handler (`server/discover`, per-request
 * calls, `subscriptions/listen`). Loaded on the first request that needs it, so a gateway serving
 * 2025-era clients never loads the SDK's server side (issue 7 item 12).
 */
import { createMcpHandler, isLegacyRequest, type McpHttpHandler } from '@modelcontextprotocol/server';
import type { Deps } from '../deps.ts';
import { errorMessage } from '../errors.ts';
import type { Aggregator, Grant } from './aggregator.ts';
import { createMcpServer } from './server.ts';

/** The modern handler and the era classifier for requests the fast check cannot decide. */
export interface ModernEra {
  handler: McpHttpHandler;
  isLegacy(req: Request, body: unknown): Promise<boolean>;
}

/** Builds the handler; each request gets a fresh SDK Server over the aggregator. */
export function createModernEra(agg: Aggregator, opts: { version: string; keepAliveMs: number; maxBodyBytes: number }, deps: Deps): ModernEra {
  const handler = createMcpHandler((ctx) => createMcpServer(agg, grantOfAuth(ctx.authInfo), { version: opts.version, era: 'modern' }), {
    legacy: 'reject',
    keepAliveMs: opts.keepAliveMs,
    maxRequestBodySize: opts.maxBodyBytes,
    onerror: (err) => deps.log.debug('modern request rejected', { error: errorMessage(err) }),
  });
  return { handler, isLegacy: (req, body) => isLegacyRequest(req, body) };
}

function grantOfAuth(authInfo: { extra?: Record<string, unknown> } | undefined): Grant {
  return (authInfo?.extra?.grant as Grant | undefined) ?? { key: 'anonymous', backends: null };
}
