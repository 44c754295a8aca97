/** @module /authorize parameter rules, in the order OAuth 2.1 §4.1.2.1 requires. Pure. */
import type { ResolvedClient } from './clients.ts';
import { OAuthError } from './errors.ts';
import type { Endpoints } from './metadata.ts';
import { isValidS256Challenge, normalizeScope, resolveResource } from './params.ts';
import { matchesAnyRedirectUri } from './redirect-uri.ts';
import { param } from './request.ts';
import type { RequestBinding } from '../store/auth-requests.ts';

/** A validated authorization request. */
export interface AuthorizeRequest extends RequestBinding {
  state?: string;
}

/**
 * The redirect URI to answer to: the requested one if it matches a registered URI (exact, or loopback with
 * another port), else the single registered one when none was sent. Throws: such errors are shown as a page,
 * never redirected (spec-checklist [1.6]).
 */
export function chooseRedirectUri(client: ResolvedClient, requested: string | undefined): string {
  if (requested === undefined) {
    if (client.redirectUris.length === 1) return client.redirectUris[0]!;
    throw new OAuthError('invalid_request', 'redirect_uri is required for this client');
  }
  if (!matchesAnyRedirectUri(client.redirectUris, requested)) {
    throw new OAuthError('invalid_request', 'redirect_uri is not registered for this client');
  }
  return requested;
}

/**
 * Checks the parameters that come after client and redirect URI: response_type, PKCE S256, resource, scope.
 * Throws OAuthError, which the caller sends back to the (now trusted) redirect URI.
 */
export function validateAuthorizeParams(
  q: Map<string, string[]>,
  e: Endpoints,
): Pick<AuthorizeRequest, 'codeChallenge' | 'scope' | 'resource'> {
  const responseType = param(q, 'response_type');
  if (responseType === undefined) throw new OAuthError('invalid_request', 'response_type is required');
  if (responseType !== 'code') throw new OAuthError('unsupported_response_type', 'only response_type=code is supported');
  const challenge = param(q, 'code_challenge');
  if (challenge === undefined) throw new OAuthError('invalid_request', 'PKCE code_challenge is required');
  // An absent method means `plain` (RFC 7636 §4.3), which OAuth 2.1 clients must not use.
  if (param(q, 'code_challenge_method') !== 'S256') throw new OAuthError('invalid_request', 'code_challenge_method must be S256');
  if (!isValidS256Challenge(challenge)) throw new OAuthError('invalid_request', 'code_challenge is malformed');
  return { codeChallenge: challenge, resource: resolveResource(param(q, 'resource'), e), scope: normalizeScope(q.get('scope')?.[0]) };
}

/** The redirect URI with response parameters appended to any query it already has (RFC 6749 §4.1.2). */
export function authorizationResponseUrl(redirectUri: string, params: Record<string, string | undefined>): string {
  const url = new URL(redirectUri);
  for (const [k, v] of Object.entries(params)) if (v !== undefined) url.searchParams.append(k, v);
  return url.href;
}
