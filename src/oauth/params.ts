/** @module Pure parameter rules shared by /authorize and /token: scope, resource (RFC 8707), PKCE (RFC 7636). */
import { OAuthError } from './errors.ts';
import { SCOPES_SUPPORTED, type Endpoints } from './metadata.ts';

/**
 * Lenient scope handling (spec-checklist [1.6]): split on any whitespace, drop unknown scopes
 * (`offline_access`, `claudeai`, `read write`), and default to every supported scope when nothing is left.
 */
export function normalizeScope(raw: string | undefined): string {
  const known = new Set<string>(SCOPES_SUPPORTED);
  const kept = (raw ?? '').split(/\s+/).filter((s) => known.has(s));
  return (kept.length > 0 ? [...new Set(kept)] : [...SCOPES_SUPPORTED]).join(' ');
}

/** Narrows `granted` to the requested scopes on refresh (RFC 6749 §6); unknown or ungranted ones are ignored. */
export function narrowScope(granted: string, requested: string | undefined): string {
  if (!requested) return granted;
  const have = new Set(granted.split(' '));
  const kept = requested.split(/\s+/).filter((s) => have.has(s));
  return kept.length > 0 ? [...new Set(kept)].join(' ') : granted;
}

/**
 * Maps a `resource` parameter to the gateway resource, tolerating a trailing slash and the bare origin
 * (the SDK sends `URL.href`, claude.ai has sent `https://host/`; spec-checklist [1.6]). Absent → the gateway
 * resource. Anything else → `invalid_target` (RFC 8707 §2).
 */
export function resolveResource(raw: string | undefined, e: Endpoints): string {
  if (raw === undefined) return e.resource;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new OAuthError('invalid_target', 'resource must be an absolute URI');
  }
  // URL normalises scheme/host case and default ports, so comparing origins is the RFC 3986 comparison.
  const pathOk = ['/', '/mcp', '/mcp/'].includes(url.pathname);
  if (url.origin !== e.issuer || !pathOk || url.search || url.hash || url.username || url.password) {
    throw new OAuthError('invalid_target', 'resource is not this gateway');
  }
  return e.resource;
}

/** RFC 7636 §4.2: an S256 challenge is the base64url of a SHA-256 digest, 43 characters. */
export function isValidS256Challenge(challenge: string): boolean {
  return /^[A-Za-z0-9_-]{43}$/.test(challenge);
}

/** RFC 7636 §4.1: a verifier is 43–128 unreserved characters. */
export function isValidCodeVerifier(verifier: string): boolean {
  return /^[A-Za-z0-9._~-]{43,128}$/.test(verifier);
}

/** Whether BASE64URL(SHA256(verifier)) equals the challenge (RFC 7636 §4.6, S256 only). */
export function pkceMatches(verifier: string, challenge: string): boolean {
  return new Bun.CryptoHasher('sha256').update(verifier, 'ascii').digest('base64url') === challenge;
}
