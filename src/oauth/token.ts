/** @module /token: authorization_code and refresh_token grants, with reuse detection and a refresh grace window. */
import { markClientUsed } from '../store/clients.ts';
import { getCode, markCodeRedeemed, type CodeRecord } from '../store/codes.ts';
import { getGrant, insertGrant, revokeGrant, type GrantRecord } from '../store/grants.ts';
import { randomToken, sha256Hex } from '../store/secrets.ts';
import { getRefreshToken, markRefreshRotated } from '../store/tokens.ts';
import { authenticateClient, parseClientCredentials } from './client-auth.ts';
import type { ResolvedClient } from './clients.ts';
import type { AuthContext } from './context.ts';
import { OAuthError } from './errors.ts';
import { prepareTokenPair, type TokenResponse } from './issue.ts';
import { narrowScope, pkceMatches, resolveResource } from './params.ts';
import { mediaType, param, parseForm, readBodyText } from './request.ts';
import { oauthJson } from './respond.ts';
import { parseTokenRequest, type TokenRequest } from './token-request.ts';
import { clipField } from './trace-record.ts';

type CodeRequest = Extract<TokenRequest, { grantType: 'authorization_code' }>;
type RefreshRequest = Extract<TokenRequest, { grantType: 'refresh_token' }>;

/** Largest token/revocation request body accepted. */
export const MAX_FORM_BYTES = 64 * 1024;

/** Reads a form-encoded body (RFC 6749 §3.2 requires that media type). */
export async function readTokenForm(req: Request): Promise<Map<string, string[]>> {
  if (mediaType(req) !== 'application/x-www-form-urlencoded') {
    throw new OAuthError('invalid_request', 'body must be application/x-www-form-urlencoded');
  }
  return parseForm(await readBodyText(req, MAX_FORM_BYTES));
}

/** Handles POST /token; `ip` is the client address, recorded with a refusal for `mcpgw auth trace`. */
export async function handleToken(req: Request, ctx: AuthContext, ip?: string): Promise<Response> {
  let clientId: string | undefined;
  let form: Map<string, string[]> | undefined;
  try {
    form = await readTokenForm(req);
    clientId = param(form, 'client_id');
    const tr = parseTokenRequest(form);
    const creds = parseClientCredentials(req.headers, form);
    clientId = creds.clientId;
    const client = await authenticateClient(creds, ctx.clients.known(creds.clientId));
    const body = tr.grantType === 'authorization_code' ? await redeemCode(tr, client, ctx, ip) : await refresh(tr, client, ctx);
    return oauthJson(body);
  } catch (err) {
    // The step where "OAuth completes and then the connector fails" shows up: keep the exact reason (rate-limited:
    // anyone can post to /token).
    if (err instanceof OAuthError) {
      const resource = err.code === 'invalid_target' && form ? clipField(param(form, 'resource')) : undefined;
      const error = resource === undefined ? `${err.code}: ${err.description}` : `invalid_target: \`resource\` ${resource} does not match ${ctx.endpoints.resource}`;
      const grantType = form && clipField(param(form, 'grant_type'), 40);
      ctx.trace.step({ event: 'token_failed', clientId: clipField(clientId), error }, { ip, userAgent: req.headers.get('user-agent') }, { status: err.status, ...(grantType ? { grant_type: grantType } : {}) });
    }
    throw err;
  }
}

function checkResource(raw: string | undefined, bound: string, ctx: AuthContext): void {
  if (raw !== undefined && resolveResource(raw, ctx.endpoints) !== bound) {
    throw new OAuthError('invalid_target', 'resource does not match the authorization');
  }
}

/** Checks an unredeemed code against the request (RFC 6749 §4.1.3, RFC 7636 §4.6, RFC 8707 §2.2). */
function checkCode(code: CodeRecord, tr: CodeRequest, client: ResolvedClient, now: number, ctx: AuthContext): void {
  if (code.expiresAt <= now) throw new OAuthError('invalid_grant', 'authorization code expired');
  if (code.clientId !== client.clientId) throw new OAuthError('invalid_grant', 'authorization code was issued to another client');
  if ((code.redirectUriSent || tr.redirectUri !== undefined) && tr.redirectUri !== code.redirectUri) {
    throw new OAuthError('invalid_grant', 'redirect_uri does not match the authorization request');
  }
  if (!pkceMatches(tr.codeVerifier, code.codeChallenge)) throw new OAuthError('invalid_grant', 'PKCE verification failed');
  checkResource(tr.resource, code.resource, ctx);
}

async function redeemCode(tr: CodeRequest, client: ResolvedClient, ctx: AuthContext, ip?: string): Promise<TokenResponse> {
  const now = ctx.deps.clock.now();
  const hash = sha256Hex(tr.code);
  const code = getCode(ctx.db, hash);
  if (!code) throw new OAuthError('invalid_grant', 'authorization code is invalid');
  if (code.redeemedAt !== undefined) {
    // RFC 6749 §4.1.2 / OAuth 2.1 §4.1.3: a replayed code revokes what its first redemption issued.
    if (code.grantId && revokeGrant(ctx.db, code.grantId, now, 'authorization code reused')) ctx.revocations.grantsRevoked([code.grantId]);
    ctx.deps.log.warn('authorization code reused; grant revoked', { client_id: client.clientId, grant_id: code.grantId });
    ctx.events({ type: 'token_reuse_detected', clientId: client.clientId, grantId: code.grantId });
    ctx.audit({ event: 'code_reuse_detected', clientId: client.clientId, clientName: client.clientName, grantId: code.grantId, ip, error: 'authorization code reused; grant revoked' });
    throw new OAuthError('invalid_grant', 'authorization code already used');
  }
  checkCode(code, tr, client, now, ctx);
  const grant: GrantRecord = {
    id: randomToken(ctx.deps.random, 12, 'g_'),
    kind: 'oauth',
    registration: client.registration,
    clientId: client.clientId,
    clientName: client.clientName,
    subject: code.subject,
    scope: code.scope,
    resource: code.resource,
    backends: code.backends,
    createdAt: now,
  };
  const pair = prepareTokenPair(ctx, grant, code.scope, now);
  ctx.db.transaction(() => {
    insertGrant(ctx.db, grant);
    if (!markCodeRedeemed(ctx.db, hash, now, grant.id)) throw new OAuthError('invalid_grant', 'authorization code already used');
    pair.record();
    markClientUsed(ctx.db, client.clientId, now);
  }).immediate();
  ctx.deps.log.info('tokens issued', { client_id: client.clientId, grant_id: grant.id });
  ctx.events({ type: 'tokens_issued', clientId: client.clientId, grantId: grant.id });
  ctx.audit({ event: 'token_issued', clientId: client.clientId, clientName: client.clientName, grantId: grant.id, ip, detail: { status: 200 } });
  return pair.respond();
}

async function refresh(tr: RefreshRequest, client: ResolvedClient, ctx: AuthContext): Promise<TokenResponse> {
  const now = ctx.deps.clock.now();
  const hash = sha256Hex(tr.refreshToken);
  const rt = getRefreshToken(ctx.db, hash);
  if (!rt) throw new OAuthError('invalid_grant', 'refresh token is invalid');
  if (rt.clientId !== client.clientId) throw new OAuthError('invalid_grant', 'refresh token was issued to another client');
  const grant = getGrant(ctx.db, rt.grantId);
  if (!grant || grant.revokedAt !== undefined) throw new OAuthError('invalid_grant', 'refresh token was revoked');
  if (rt.expiresAt <= now) throw new OAuthError('invalid_grant', 'refresh token expired');
  if (rt.rotatedAt !== undefined && now - rt.rotatedAt > ctx.settings.refresh_grace) {
    // Reuse after the grace window means two parties hold the token: end the whole family (spec-checklist [1.7]).
    if (revokeGrant(ctx.db, grant.id, now, 'refresh token reuse')) ctx.revocations.grantsRevoked([grant.id]);
    ctx.deps.log.warn('refresh token reused after grace window; grant revoked', { client_id: client.clientId, grant_id: grant.id });
    ctx.events({ type: 'token_reuse_detected', clientId: client.clientId, grantId: grant.id });
    ctx.audit({ event: 'refresh_reuse_detected', clientId: client.clientId, clientName: grant.clientName, grantId: grant.id, error: 'refresh token reused after the grace window; grant revoked' });
    throw new OAuthError('invalid_grant', 'refresh token already used');
  }
  checkResource(tr.resource, grant.resource, ctx);
  const pair = prepareTokenPair(ctx, grant, narrowScope(grant.scope, tr.scope), now);
  // Within the grace window a rotated token still yields a fresh pair of the same family: claude.ai refreshes
  // concurrently and would otherwise drop the connector.
  ctx.db.transaction(() => {
    markRefreshRotated(ctx.db, hash, now);
    pair.record();
    markClientUsed(ctx.db, client.clientId, now);
  }).immediate();
  ctx.events({ type: 'tokens_refreshed', clientId: client.clientId, grantId: grant.id });
  ctx.audit({ event: 'token_refreshed', clientId: client.clientId, clientName: grant.clientName, grantId: grant.id });
  return pair.respond();
}
