/** @module Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document): URL and document rules. Pure. */
import { redirectUriProblem } from './redirect-uri.ts';

/** A client described by its metadata document; always a public client. */
export interface CimdClient {
  clientId: string;
  clientName: string;
  redirectUris: string[];
}

/** Whether a client_id is meant as a metadata-document URL (spec-checklist [1.4]). */
export function looksLikeCimdClientId(clientId: string, allowHttp: boolean): boolean {
  return clientId.startsWith('https://') || (allowHttp && clientId.startsWith('http://'));
}

/**
 * Why a client_id URL is not an acceptable document URL, or undefined: https (http only when allowed),
 * a path other than `/`, no dot segments, query, fragment or userinfo, and already in canonical form.
 */
export function cimdUrlProblem(clientId: string, allowHttp: boolean): string | undefined {
  if (clientId.length > 2000) return 'client_id URL too long';
  let url: URL;
  try {
    url = new URL(clientId);
  } catch {
    return 'client_id is not a URL';
  }
  if (url.protocol !== 'https:' && !(allowHttp && url.protocol === 'http:')) return 'client_id URL must use https';
  if (url.username || url.password) return 'client_id URL must not contain userinfo';
  if (clientId.includes('#') || url.search) return 'client_id URL must not contain a query or fragment';
  if (url.pathname === '/' || url.pathname === '') return 'client_id URL needs a path';
  if (/\/\.\.?(\/|$)/.test(clientId.slice(url.origin.length))) return 'client_id URL must not contain dot segments';
  // Non-canonical spellings (case, default port, percent-encoding) would defeat the simple string comparison.
  if (url.href !== clientId) return 'client_id URL is not in canonical form';
  return undefined;
}

/** Validates a fetched document for `url`; gathers every problem. */
export function parseClientMetadataDocument(doc: unknown, url: string): { ok: true; value: CimdClient } | { ok: false; issues: string[] } {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return { ok: false, issues: ['document is not a JSON object'] };
  const d = doc as Record<string, unknown>;
  const issues: string[] = [];
  if (d.client_id !== url) issues.push('client_id does not equal the document URL');
  if ('client_secret' in d || 'client_secret_expires_at' in d) issues.push('document must not contain a client secret');
  if (d.token_endpoint_auth_method !== undefined && d.token_endpoint_auth_method !== 'none') {
    issues.push('token_endpoint_auth_method must be none');
  }
  if (d.application_type !== undefined && d.application_type !== 'web' && d.application_type !== 'native') {
    issues.push('application_type must be web or native');
  }
  const uris = d.redirect_uris;
  if (!Array.isArray(uris) || uris.length === 0 || uris.length > 20 || !uris.every((u) => typeof u === 'string')) {
    issues.push('redirect_uris must be a non-empty array of strings');
  } else {
    for (const u of uris as string[]) {
      const p = redirectUriProblem(u);
      if (p) issues.push(`${p}: ${u}`);
    }
  }
  const name = d.client_name;
  if (name !== undefined && (typeof name !== 'string' || name.length > 200)) issues.push('client_name must be a string of at most 200 characters');
  if (issues.length > 0) return { ok: false, issues };
  return {
    ok: true,
    value: { clientId: url, clientName: typeof name === 'string' && name.trim() ? name : new URL(url).host, redirectUris: uris as string[] },
  };
}

const DEFAULT_TTL = 5 * 60 * 1000;
const MAX_TTL = 24 * 60 * 60 * 1000;

/** How long a fetched document stays fresh per its Cache-Control (bounded to 24 h; `no-store` → not cached). */
export function cacheLifetime(cacheControl: string | null): number | 'no-store' {
  const cc = (cacheControl ?? '').toLowerCase();
  if (/(^|[,\s])no-store\b/.test(cc)) return 'no-store';
  if (/(^|[,\s])no-cache\b/.test(cc)) return 0;
  const m = /(?:^|[,\s])max-age\s*=\s*"?(\d+)/.exec(cc);
  if (!m) return DEFAULT_TTL;
  return Math.min(Number(m[1]) * 1000, MAX_TTL);
}
