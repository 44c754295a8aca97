/** @module Parsing /token requests (RFC 6749 §4.1.3, §6; RFC 7636 §4.5; RFC 8707 §2.2). Pure. */
import { OAuthError } from './errors.ts';
import { isValidCodeVerifier } from './params.ts';
import { param } from './request.ts';

/** A parsed token request. */
export type TokenRequest =
  | { grantType: 'authorization_code'; code: string; codeVerifier: string; redirectUri?: string; resource?: string }
  | { grantType: 'refresh_token'; refreshToken: string; scope?: string; resource?: string };

function required(form: Map<string, string[]>, name: string): string {
  const v = param(form, name);
  if (v === undefined) throw new OAuthError('invalid_request', `${name} is required`);
  return v;
}

/** Parses the grant-specific parameters; client authentication is read separately (client-auth.ts). */
export function parseTokenRequest(form: Map<string, string[]>): TokenRequest {
  const grantType = required(form, 'grant_type');
  const resource = param(form, 'resource');
  if (grantType === 'authorization_code') {
    const codeVerifier = required(form, 'code_verifier');
    if (!isValidCodeVerifier(codeVerifier)) throw new OAuthError('invalid_grant', 'code_verifier is malformed');
    return { grantType, code: required(form, 'code'), codeVerifier, redirectUri: param(form, 'redirect_uri'), resource };
  }
  if (grantType === 'refresh_token') {
    return { grantType, refreshToken: required(form, 'refresh_token'), scope: param(form, 'scope'), resource };
  }
  throw new OAuthError('unsupported_grant_type', `grant_type ${grantType} is not supported`);
}
