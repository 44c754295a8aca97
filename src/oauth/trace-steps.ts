/** @module Which requests are sign-in trace steps: the bearer check's 401s and first successes, metadata fetches, refused registrations. */
import { parseAuthorization, type AuthResult } from '../auth/bearer.ts';
import type { AuthContext } from './context.ts';

/** Paths whose 401 is a connector's first sign-in step (the MCP endpoint and the legacy SSE transport). */
const MCP_PATHS = new Set(['/mcp', '/mcp/', '/sse', '/messages']);

/** Metadata documents and which one each path serves. */
const METADATA: Record<string, string> = {
  '/.well-known/oauth-protected-resource': 'protected-resource',
  '/.well-known/oauth-protected-resource/mcp': 'protected-resource',
  '/.well-known/oauth-authorization-server': 'authorization-server',
  '/.well-known/oauth-authorization-server/mcp': 'authorization-server',
  '/.well-known/openid-configuration': 'authorization-server',
};

/** The `error: error_description` of an OAuth JSON error response (no secrets: descriptions reach clients anyway). */
async function oauthErrorText(res: Response): Promise<string | undefined> {
  try {
    const body = (await res.clone().json()) as { error?: unknown; error_description?: unknown };
    if (typeof body.error !== 'string') return undefined;
    return typeof body.error_description === 'string' ? `${body.error}: ${body.error_description}` : body.error;
  } catch {
    return undefined;
  }
}

/** Runs a recording step; the trace is an observer and never fails the request it watches. */
async function safely(ctx: AuthContext, what: () => Promise<void> | void): Promise<void> {
  try {
    await what();
  } catch (err) {
    ctx.deps.log.debug('could not record a sign-in trace step', { error: err });
  }
}

/** Records a metadata fetch or a refused registration served by the authorization server. */
export function traceRoute(req: Request, res: Response, ip: string, ctx: AuthContext): Promise<void> {
  return safely(ctx, () => routeStep(req, res, ip, ctx));
}

async function routeStep(req: Request, res: Response, ip: string, ctx: AuthContext): Promise<void> {
  const path = new URL(req.url).pathname;
  const src = { ip, userAgent: req.headers.get('user-agent') };
  const document = METADATA[path];
  if (document && req.method === 'GET') {
    ctx.trace.step({ event: 'metadata_fetched' }, src, { document, path, status: res.status });
  } else if (path === '/register' && req.method === 'POST' && res.status >= 400) {
    ctx.trace.step({ event: 'register_failed', error: (await oauthErrorText(res)) ?? `HTTP ${res.status}` }, src, { status: res.status });
  }
}

/**
 * Records the bearer check of an MCP request: the unauthenticated 401 that starts a sign-in, a refused token
 * (with the reason the 401 gives), or an OAuth grant's first authenticated request.
 */
export function traceAuthentication(req: Request, result: AuthResult, ip: string | undefined, ctx: AuthContext): Promise<void> {
  return safely(ctx, () => authenticationStep(req, result, ip, ctx));
}

async function authenticationStep(req: Request, result: AuthResult, ip: string | undefined, ctx: AuthContext): Promise<void> {
  const path = new URL(req.url).pathname;
  if (!MCP_PATHS.has(path)) return;
  const src = { ip: ip || undefined, userAgent: req.headers.get('user-agent') };
  if (result.ok) {
    const p = result.principal;
    if (p.kind === 'oauth') ctx.trace.firstCall({ grantId: p.grantId, clientId: p.clientId, clientName: p.clientName }, src, { path, method: req.method });
    return;
  }
  const status = result.response.status;
  if (parseAuthorization(req.headers.get('authorization')).kind === 'none') {
    ctx.trace.step({ event: 'mcp_unauthorized' }, src, { path, status });
  } else {
    ctx.trace.step({ event: 'mcp_token_refused', error: (await oauthErrorText(result.response)) ?? `HTTP ${status}` }, src, { path, status });
  }
}
