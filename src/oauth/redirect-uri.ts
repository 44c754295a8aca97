/** @module Redirect URI rules: what a client may register, and matching at /authorize (RFC 8252 loopback rule). Pure. */

/** Hosts that count as loopback for the RFC 8252 §7.3 port exception; compared exactly (localhost ≠ 127.0.0.1). */
const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/** Schemes that must never receive an authorization response. */
const FORBIDDEN_SCHEMES = new Set(['javascript:', 'data:', 'file:', 'vbscript:', 'blob:', 'about:', 'filesystem:', 'ftp:', 'ws:', 'wss:', 'view-source:']);

/** Longest redirect URI accepted. */
export const MAX_REDIRECT_URI_LENGTH = 2000;

/** True for a loopback hostname as `URL.hostname` spells it. */
export function isLoopbackHost(hostname: string): boolean {
  return LOOPBACK_HOSTS.has(hostname);
}

/**
 * Why a redirect URI may not be registered, or undefined when it may: https; http on loopback;
 * or a private-use scheme for native apps (RFC 8252 §7.1, e.g. `claude://`); never a fragment or userinfo.
 */
export function redirectUriProblem(uri: string): string | undefined {
  if (uri.length > MAX_REDIRECT_URI_LENGTH) return 'redirect URI too long';
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return 'redirect URI is not an absolute URI';
  }
  if (uri.includes('#')) return 'redirect URI must not contain a fragment';
  if (url.username || url.password) return 'redirect URI must not contain userinfo';
  if (FORBIDDEN_SCHEMES.has(url.protocol)) return `redirect URI scheme ${url.protocol} is not allowed`;
  if (url.protocol === 'https:') return url.hostname ? undefined : 'https redirect URI needs a host';
  if (url.protocol === 'http:') return isLoopbackHost(url.hostname) ? undefined : 'http redirect URIs are only allowed on loopback';
  return /^[a-z][a-z0-9+.-]*:$/.test(url.protocol) ? undefined : 'redirect URI scheme is not allowed';
}

/**
 * Whether `requested` matches the `registered` URI: exact string match, except that an http loopback
 * URI may differ in port only (RFC 8252 §7.3; Claude Code registers port-less URIs, spec-checklist [1.4]).
 */
export function redirectUriMatches(registered: string, requested: string): boolean {
  if (registered === requested) return true;
  let a: URL;
  let b: URL;
  try {
    a = new URL(registered);
    b = new URL(requested);
  } catch {
    return false;
  }
  if (a.protocol !== 'http:' || b.protocol !== 'http:' || !isLoopbackHost(a.hostname)) return false;
  if (requested.includes('#') || b.username || b.password) return false;
  return a.hostname === b.hostname && a.pathname === b.pathname && a.search === b.search;
}

/** Whether `requested` matches any registered URI. */
export function matchesAnyRedirectUri(registered: readonly string[], requested: string): boolean {
  return registered.some((r) => redirectUriMatches(r, requested));
}

/** What the consent page shows as the redirect's destination: host for http(s), `scheme://host` otherwise. */
export function redirectDisplayHost(uri: string): string {
  const url = new URL(uri);
  return url.protocol === 'http:' || url.protocol === 'https:' ? url.host : `${url.protocol}//${url.host}`;
}
