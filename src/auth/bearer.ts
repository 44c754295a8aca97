/** @module Resource-server check for /mcp and /status: RFC 6750 bearer tokens, RFC 9728 challenge, the full token check (cached by auth/verifier.ts). */
import type { Database } from 'bun:sqlite';
import type { Clock } from '../deps.ts';
import type { Logger } from '../log.ts';
import { verifyAccessToken } from '../oauth/access-token.ts';
import { OAuthError } from '../oauth/errors.ts';
import type { SigningKey } from '../oauth/keys.ts';
import type { Endpoints } from '../oauth/metadata.ts';
import type { GrantRecord } from '../store/grants.ts';
import { findPersonalToken, PERSONAL_TOKEN_PREFIX } from '../store/personal-tokens.ts';
import { findAccessToken } from '../store/tokens.ts';

/** Who is calling, as the gateway needs it for filtering backends and binding sessions. */
export interface Principal {
  subject: string;
  clientId: string;
  clientName?: string;
  grantId: string;
  /** null = all backends. */
  backends: string[] | null;
  scopes: string[];
  /** ms since the epoch; Number.MAX_SAFE_INTEGER for a personal token without expiry. */
  expiresAt: number;
  kind: 'oauth' | 'personal';
}

/** Result of authenticating a request. */
export type AuthResult = { ok: true; principal: Principal } | { ok: false; response: Response };

/** What the check needs. */
export interface BearerContext {
  endpoints: Endpoints;
  db: Database;
  key: SigningKey;
  clock: Clock;
  log: Logger;
}

/** What an Authorization header holds. Pure. */
export type PresentedCredential = { kind: 'none' } | { kind: 'bearer'; token: string } | { kind: 'malformed' };

/** Reads an RFC 6750 §2.1 Authorization header; other schemes count as no bearer credentials. Pure. */
export function parseAuthorization(header: string | null): PresentedCredential {
  if (!header) return { kind: 'none' };
  const m = /^bearer(?:\s+(.*))?$/i.exec(header.trim());
  if (!m) return { kind: 'none' };
  const token = (m[1] ?? '').trim();
  return /^[A-Za-z0-9\-._~+/]+=*$/.test(token) ? { kind: 'bearer', token } : { kind: 'malformed' };
}

/**
 * The WWW-Authenticate value: `Bearer resource_metadata="<abs PRM URL>"`, plus `error` and
 * `error_description` when a token was presented (RFC 6750 §3, RFC 9728 §5.1; spec-checklist [1.1]).
 */
export function bearerChallenge(e: Endpoints, error?: { code: string; description: string }): string {
  const parts = [`resource_metadata="${e.resourceMetadata}"`];
  if (error) parts.push(`error="${error.code}"`, `error_description="${error.description.replace(/["\\]/g, '')}"`);
  return `Bearer ${parts.join(', ')}`;
}

/** A 401 (or 400 for invalid_request) with the challenge and an RFC 6750 JSON body. */
export function unauthorizedResponse(e: Endpoints, error?: { code: string; description: string }, status = 401): Response {
  const body = error ? { error: error.code, error_description: error.description } : { error: 'unauthorized', error_description: 'bearer token required' };
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', 'WWW-Authenticate': bearerChallenge(e, error) },
  });
}

/** Refuses a token in the query string (spec-checklist [1.1]); undefined when the request may go on. */
export function refuseQueryToken(req: Request, e: Endpoints): AuthResult | undefined {
  // Most requests have no query at all: no URL object is built for them (this runs for every MCP request).
  if (!req.url.includes('?') || !new URL(req.url).searchParams.has('access_token')) return undefined;
  return { ok: false, response: unauthorizedResponse(e, { code: 'invalid_request', description: 'access tokens are not accepted in the query string' }, 400) };
}

/** A verified token: who it is, the access token id (JWTs only), and until when the verdict may stand. */
export interface CheckedToken {
  principal: Principal;
  jti?: string;
  /** The earlier of the token's and the grant's expiry (ms). */
  validUntil: number;
}

/**
 * Fully checks a bearer token against the key and the database: an mcpgw JWT (signature, iss, aud, exp via the
 * clock, jti issued and not revoked) or a personal token, and a grant neither revoked nor expired ([1.8]).
 * Throws OAuthError invalid_token.
 */
export async function checkBearerToken(token: string, ctx: BearerContext): Promise<CheckedToken> {
  return token.startsWith(PERSONAL_TOKEN_PREFIX) ? checkPersonalToken(token, ctx) : await checkJwt(token, ctx);
}

/** The 401 for a token that failed its check. */
export function invalidTokenResult(err: OAuthError, ctx: BearerContext): AuthResult {
  ctx.log.debug('bearer token refused', { reason: err.description });
  return { ok: false, response: unauthorizedResponse(ctx.endpoints, { code: 'invalid_token', description: err.description }) };
}

function assertGrantLive(grant: GrantRecord, now: number, e: Endpoints): void {
  if (grant.revokedAt !== undefined) throw new OAuthError('invalid_token', 'token revoked', 401);
  if (grant.expiresAt !== undefined && grant.expiresAt <= now) throw new OAuthError('invalid_token', 'token expired', 401);
  if (grant.resource !== e.resource) throw new OAuthError('invalid_token', 'token audience invalid', 401);
}

async function checkJwt(token: string, ctx: BearerContext): Promise<CheckedToken> {
  const now = ctx.clock.now();
  const claims = await verifyAccessToken(ctx.key, token, { issuer: ctx.endpoints.issuer, audience: ctx.endpoints.resource, now });
  const rec = findAccessToken(ctx.db, claims.jti);
  if (!rec || rec.revokedAt !== undefined || rec.clientId !== claims.clientId) throw new OAuthError('invalid_token', 'token revoked', 401);
  assertGrantLive(rec.grant, now, ctx.endpoints);
  const principal: Principal = {
    subject: claims.subject,
    clientId: claims.clientId,
    clientName: rec.grant.clientName,
    grantId: rec.grant.id,
    backends: claims.backends,
    scopes: claims.scope.split(' ').filter(Boolean),
    expiresAt: claims.expiresAt,
    kind: 'oauth',
  };
  return { principal, jti: claims.jti, validUntil: Math.min(claims.expiresAt, rec.grant.expiresAt ?? Number.MAX_SAFE_INTEGER) };
}

function checkPersonalToken(token: string, ctx: BearerContext): CheckedToken {
  const grant = findPersonalToken(ctx.db, token);
  if (!grant) throw new OAuthError('invalid_token', 'token invalid', 401);
  assertGrantLive(grant, ctx.clock.now(), ctx.endpoints);
  const expiresAt = grant.expiresAt ?? Number.MAX_SAFE_INTEGER;
  const principal: Principal = {
    subject: grant.subject,
    clientId: grant.clientId,
    clientName: grant.clientName,
    grantId: grant.id,
    backends: grant.backends,
    scopes: grant.scope.split(' ').filter(Boolean),
    expiresAt,
    kind: 'personal',
  };
  return { principal, validUntil: expiresAt };
}
