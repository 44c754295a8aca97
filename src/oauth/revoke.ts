/** @module /revoke: RFC 7009 for refresh and access tokens; only the owning client's tokens are touched. */
import { revokeGrant } from '../store/grants.ts';
import { sha256Hex } from '../store/secrets.ts';
import { findAccessToken, getRefreshToken, revokeAccessToken } from '../store/tokens.ts';
import { verifyAccessToken } from './access-token.ts';
import { authenticateClient, parseClientCredentials } from './client-auth.ts';
import type { AuthContext } from './context.ts';
import { OAuthError } from './errors.ts';
import { param } from './request.ts';
import { oauthEmpty } from './respond.ts';
import { readTokenForm } from './token.ts';

/**
 * Handles POST /revoke. Always 200 for a valid request, even for unknown tokens or tokens of other clients
 * (RFC 7009 §2.2), which are left untouched. A refresh token revokes its whole grant (family and access tokens).
 */
export async function handleRevoke(req: Request, ctx: AuthContext): Promise<Response> {
  const form = await readTokenForm(req);
  const token = param(form, 'token');
  if (token === undefined) throw new OAuthError('invalid_request', 'token is required');
  const creds = parseClientCredentials(req.headers, form);
  const client = await authenticateClient(creds, ctx.clients.known(creds.clientId));
  const now = ctx.deps.clock.now();
  const rt = getRefreshToken(ctx.db, sha256Hex(token));
  if (rt) {
    if (rt.clientId === client.clientId) {
      if (revokeGrant(ctx.db, rt.grantId, now, 'revoked by client')) {
        ctx.revocations.grantsRevoked([rt.grantId]);
        ctx.events({ type: 'tokens_revoked', clientId: client.clientId, grantId: rt.grantId });
      }
      ctx.audit({ event: 'token_revoked', clientId: client.clientId, grantId: rt.grantId, detail: { revoked: 'refresh token and its grant' } });
    } else ctx.deps.log.warn('client tried to revoke another client\'s token', { client_id: client.clientId });
    return oauthEmpty();
  }
  const jti = await accessTokenId(token, ctx);
  const at = jti === undefined ? undefined : findAccessToken(ctx.db, jti);
  if (at && jti !== undefined) {
    if (at.clientId === client.clientId) {
      revokeAccessToken(ctx.db, jti, now);
      ctx.revocations.accessTokenRevoked(jti);
      ctx.events({ type: 'tokens_revoked', clientId: client.clientId, grantId: at.grant.id });
      ctx.audit({ event: 'token_revoked', clientId: client.clientId, grantId: at.grant.id, detail: { revoked: 'access token' } });
    } else ctx.deps.log.warn('client tried to revoke another client\'s token', { client_id: client.clientId });
  }
  return oauthEmpty();
}

async function accessTokenId(token: string, ctx: AuthContext): Promise<string | undefined> {
  try {
    // Audience is whatever this gateway issues for; an expired token needs no revocation.
    const claims = await verifyAccessToken(ctx.key, token, { issuer: ctx.endpoints.issuer, audience: ctx.endpoints.resource, now: ctx.deps.clock.now() });
    return claims.jti;
  } catch {
    return undefined;
  }
}
