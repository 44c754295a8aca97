/** @module Resource-server check for /mcp and /status: RFC 6750 bearer tokens, RFC 9728 challenge, per-request revocation. */
import type { Database } from 'bun:sqlite';
import type { Clock } from '../deps.ts';
import type { Logger } from '../log.ts';
import { verifyAccessToken } from '../oauth/access-token.ts';
import { OAuthError } from '../oauth/errors.ts';
import type { SigningKey } from '../oauth/keys.ts';
import type { Endpoints } from '../oauth/metadata.ts';
import { touchGrant, type GrantRecord } from '../store/grants.ts';
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

/**
 * Authenticates a request: no token in the query string (spec-checklist [1.1]), a bearer header holding an
 * mcpgw JWT or personal token, and a grant that is neither revoked nor expired, read from the database on
 * every call so a revocation by another process applies at once ([1.8]).
 */
export async function authenticateRequest(req: Request, ctx: BearerContext): Promise<AuthResult> {
  if (new URL(req.url).searchParams.has('access_token')) {
    return { ok: false, response: unauthorizedResponse(ctx.endpoints, { code: 'invalid_request', description: 'access tokens are not accepted in the query string' }, 400) };
  }
  const cred = parseAuthorization(req.headers.get('authorization'));
  if (cred.kind === 'none') return { ok: false, response: unauthorizedResponse(ctx.endpoints) };
  try {
    if (cred.kind === 'malformed') throw new OAuthError('invalid_token', 'malformed bearer token', 401);
    const principal = cred.token.startsWith(PERSONAL_TOKEN_PREFIX) ? checkPersonalToken(cred.token, ctx) : await checkJwt(cred.token, ctx);
    recordUse(principal.grantId, ctx);
    return { ok: true, principal };
  } catch (err) {
    if (!(err instanceof OAuthError)) throw err;
    ctx.log.debug('bearer token refused', { reason: err.description });
    return { ok: false, response: unauthorizedResponse(ctx.endpoints, { code: 'invalid_token', description: err.description }) };
  }
}

function recordUse(grantId: string, ctx: BearerContext): void {
  try {
    touchGrant(ctx.db, grantId, ctx.clock.now());
  } catch (err) {
    // "Last used" is informational: a busy database (the CLI writing) must not fail the request.
    ctx.log.debug('could not record grant use', { grant_id: grantId, error: err });
  }
}

function assertGrantLive(grant: GrantRecord, now: number, e: Endpoints): void {
  if (grant.revokedAt !== undefined) throw new OAuthError('invalid_token', 'token revoked', 401);
  if (grant.expiresAt !== undefined && grant.expiresAt <= now) throw new OAuthError('invalid_token', 'token expired', 401);
  if (grant.resource !== e.resource) throw new OAuthError('invalid_token', 'token audience invalid', 401);
}

async function checkJwt(token: string, ctx: BearerContext): Promise<Principal> {
  const now = ctx.clock.now();
  const claims = await verifyAccessToken(ctx.key, token, { issuer: ctx.endpoints.issuer, audience: ctx.endpoints.resource, now });
  const rec = findAccessToken(ctx.db, claims.jti);
  if (!rec || rec.revokedAt !== undefined || rec.clientId !== claims.clientId) throw new OAuthError('invalid_token', 'token revoked', 401);
  assertGrantLive(rec.grant, now, ctx.endpoints);
  return {
    subject: claims.subject,
    clientId: claims.clientId,
    clientName: rec.grant.clientName,
    grantId: rec.grant.id,
    backends: claims.backends,
    scopes: claims.scope.split(' ').filter(Boolean),
    expiresAt: claims.expiresAt,
    kind: 'oauth',
  };
}

function checkPersonalToken(token: string, ctx: BearerContext): Principal {
  const grant = findPersonalToken(ctx.db, token);
  if (!grant) throw new OAuthError('invalid_token', 'token invalid', 401);
  assertGrantLive(grant, ctx.clock.now(), ctx.endpoints);
  return {
    subject: grant.subject,
    clientId: grant.clientId,
    clientName: grant.clientName,
    grantId: grant.id,
    backends: grant.backends,
    scopes: grant.scope.split(' ').filter(Boolean),
    expiresAt: grant.expiresAt ?? Number.MAX_SAFE_INTEGER,
    kind: 'personal',
  };
}
