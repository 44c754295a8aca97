/** @module The one place OAuth JSON responses and errors are built (RFC 6749 §5.1/§5.2): JSON, `no-store`, CORS. */
import type { Logger } from '../log.ts';
import { OAuthError } from './errors.ts';

/** CORS headers for the browser-callable endpoints (metadata, token, register, revoke); never /authorize. */
export const CORS_HEADERS: Record<string, string> = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Allow-Methods': 'GET, POST, OPTIONS',
  'Access-Control-Allow-Headers': 'Authorization, Content-Type, MCP-Protocol-Version',
  'Access-Control-Expose-Headers': 'WWW-Authenticate',
  'Access-Control-Max-Age': '86400',
};

/** Headers every token-bearing response carries (RFC 6749 §5.1). */
const NO_STORE: Record<string, string> = { 'Cache-Control': 'no-store', Pragma: 'no-cache' };

/** A JSON response with `Cache-Control: no-store`. */
export function oauthJson(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'Content-Type': 'application/json', ...NO_STORE, ...headers },
  });
}

/** An empty 200 with `no-store` (RFC 7009 §2.2). */
export function oauthEmpty(status = 200): Response {
  return new Response(null, { status, headers: NO_STORE });
}

/** Maps anything thrown by a JSON endpoint to RFC 6749 §5.2 JSON; unknown errors become a logged 500 with an id. */
export function oauthErrorResponse(err: unknown, log: Logger, logId: string): Response {
  if (err instanceof OAuthError) {
    return oauthJson({ error: err.code, error_description: err.description }, err.status, err.headers);
  }
  log.error('oauth endpoint failed', { log_id: logId, error: err });
  return oauthJson({ error: 'server_error', error_description: `internal error (log id ${logId})` }, 500);
}

/** Returns a copy of `res` with the CORS headers added. */
export function withCors(res: Response): Response {
  const headers = new Headers(res.headers);
  for (const [k, v] of Object.entries(CORS_HEADERS)) headers.set(k, v);
  return new Response(res.body, { status: res.status, statusText: res.statusText, headers });
}

/** The answer to a CORS preflight. */
export function preflight(): Response {
  return new Response(null, { status: 204, headers: CORS_HEADERS });
}

/** 405 with an `Allow` header. */
export function methodNotAllowed(allow: string): Response {
  return oauthJson({ error: 'invalid_request', error_description: 'method not allowed' }, 405, { Allow: allow });
}
