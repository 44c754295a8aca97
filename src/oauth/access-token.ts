/** @module JWT access tokens (RFC 9068 `at+jwt`): signing at issue and verification on every request. */
import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import { OAuthError } from './errors.ts';
import { SIGNING_ALG, type SigningKey } from './keys.ts';

/** RFC 9068 §2.1 header `typ`. */
export const ACCESS_TOKEN_TYP = 'at+jwt';

/** What goes into an access token besides iss/aud/iat/exp. */
export interface AccessTokenInput {
  subject: string;
  clientId: string;
  scope: string;
  /** Omitted from the JWT when null (= all backends). */
  backends: string[] | null;
  jti: string;
}

/** Verified claims of an access token. */
export interface AccessTokenClaims extends AccessTokenInput {
  expiresAt: number;
}

/** Signs an access token for `audience` valid from `now` for `ttl` ms (RFC 9068 §2.2 claims). */
export async function signAccessToken(
  key: SigningKey,
  t: AccessTokenInput,
  o: { issuer: string; audience: string; now: number; ttl: number },
): Promise<string> {
  const payload: Record<string, unknown> = { client_id: t.clientId, scope: t.scope };
  if (t.backends !== null) payload.backends = t.backends;
  return new SignJWT(payload)
    .setProtectedHeader({ alg: SIGNING_ALG, typ: ACCESS_TOKEN_TYP, kid: key.kid })
    .setIssuer(o.issuer)
    .setAudience(o.audience)
    .setSubject(t.subject)
    .setJti(t.jti)
    .setIssuedAt(Math.floor(o.now / 1000))
    .setExpirationTime(Math.floor((o.now + o.ttl) / 1000))
    .sign(key.privateKey);
}

/**
 * Verifies signature (ES256 only: `none` and HS* are refused), `typ`, `iss`, `aud` and `exp` against the
 * injected clock (spec-checklist [1.8]). Throws OAuthError `invalid_token` with a short reason.
 */
export async function verifyAccessToken(
  key: SigningKey,
  token: string,
  o: { issuer: string; audience: string; now: number },
): Promise<AccessTokenClaims> {
  try {
    const { payload } = await jwtVerify(token, key.publicKey, {
      algorithms: [SIGNING_ALG],
      typ: ACCESS_TOKEN_TYP,
      issuer: o.issuer,
      audience: o.audience,
      currentDate: new Date(o.now),
      requiredClaims: ['sub', 'jti', 'exp', 'iat', 'client_id'],
    });
    const backends = payload.backends;
    if (backends !== undefined && !(Array.isArray(backends) && backends.every((b) => typeof b === 'string'))) {
      throw new OAuthError('invalid_token', 'malformed backends claim', 401);
    }
    return {
      subject: payload.sub!,
      clientId: String(payload.client_id),
      scope: typeof payload.scope === 'string' ? payload.scope : '',
      backends: (backends as string[] | undefined) ?? null,
      jti: payload.jti!,
      expiresAt: payload.exp! * 1000,
    };
  } catch (err) {
    if (err instanceof OAuthError) throw err;
    throw new OAuthError('invalid_token', describeJoseError(err), 401, { cause: err });
  }
}

function describeJoseError(err: unknown): string {
  if (err instanceof joseErrors.JWTExpired) return 'token expired';
  if (err instanceof joseErrors.JWTClaimValidationFailed) return `token ${err.claim} invalid`;
  return 'token invalid';
}
