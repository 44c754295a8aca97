/** @module Minting an access/refresh token pair for a grant (RFC 6749 §5.1); refresh tokens are always issued. */
import type { GrantRecord } from '../store/grants.ts';
import { setGrantExpiry } from '../store/grants.ts';
import { randomToken, sha256Hex } from '../store/secrets.ts';
import { insertAccessToken, insertRefreshToken } from '../store/tokens.ts';
import { signAccessToken } from './access-token.ts';
import type { AuthContext } from './context.ts';

/** Prefix of refresh tokens (opaque, random; recognised by the log redactor). */
export const REFRESH_TOKEN_PREFIX = 'mcpgw_rt_';

/** The RFC 6749 §5.1 success body. */
export interface TokenResponse {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  refresh_token: string;
  scope: string;
}

/** Records and signs a new pair for `grant`; run the DB part inside the caller's transaction via `prepare`. */
export function prepareTokenPair(ctx: AuthContext, grant: GrantRecord, scope: string, now: number) {
  const refresh = randomToken(ctx.deps.random, 32, REFRESH_TOKEN_PREFIX);
  const jti = randomToken(ctx.deps.random, 16);
  const { access_token_ttl: accessTtl, refresh_token_ttl: refreshTtl } = ctx.settings;
  return {
    /** Synchronous DB writes; call inside a transaction. */
    record(): void {
      insertRefreshToken(ctx.db, sha256Hex(refresh), { grantId: grant.id, clientId: grant.clientId, createdAt: now, expiresAt: now + refreshTtl });
      insertAccessToken(ctx.db, { jti, grantId: grant.id, clientId: grant.clientId, createdAt: now, expiresAt: now + accessTtl });
      setGrantExpiry(ctx.db, grant.id, now + refreshTtl);
    },
    /** Signs the access token and builds the response body. */
    async respond(): Promise<TokenResponse> {
      const access = await signAccessToken(
        ctx.key,
        { subject: grant.subject, clientId: grant.clientId, scope, backends: grant.backends, jti },
        { issuer: ctx.endpoints.issuer, audience: grant.resource, now, ttl: accessTtl },
      );
      return { access_token: access, token_type: 'Bearer', expires_in: Math.floor(accessTtl / 1000), refresh_token: refresh, scope };
    },
  };
}
