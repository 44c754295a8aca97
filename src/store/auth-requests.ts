/** @module Pending authorization requests: the server-side record a consent POST is bound to (single use). */
import type { Database } from 'bun:sqlite';

/** What an authorization request binds every later step to: client, redirect URI, PKCE challenge, scope, resource. */
export interface RequestBinding {
  clientId: string;
  redirectUri: string;
  /** Whether the client sent `redirect_uri` (then /token must repeat it, RFC 6749 §4.1.3). */
  redirectUriSent: boolean;
  codeChallenge: string;
  scope: string;
  resource: string;
}

/** What /authorize validated, kept until the owner answers the consent page. */
export interface AuthRequestRecord extends RequestBinding {
  state?: string;
  backendsOffered: string[];
  createdAt: number;
  expiresAt: number;
}

interface Row {
  csrf_hash: string;
  client_id: string;
  redirect_uri: string;
  redirect_uri_sent: number;
  code_challenge: string;
  scope: string;
  resource: string;
  state: string | null;
  backends_offered: string;
  created_at: number;
  expires_at: number;
}

/** Stores a pending request under the hashes of its id and CSRF token. */
export function insertAuthRequest(db: Database, idHash: string, csrfHash: string, r: AuthRequestRecord): void {
  db.query(
    `INSERT INTO authorization_requests (id_hash, csrf_hash, client_id, redirect_uri, redirect_uri_sent, code_challenge,
       scope, resource, state, backends_offered, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  ).run(
    idHash,
    csrfHash,
    r.clientId,
    r.redirectUri,
    r.redirectUriSent ? 1 : 0,
    r.codeChallenge,
    r.scope,
    r.resource,
    r.state ?? null,
    JSON.stringify(r.backendsOffered),
    r.createdAt,
    r.expiresAt,
  );
}

/** Removes and returns the pending request: each record answers exactly one POST. */
export function takeAuthRequest(db: Database, idHash: string): (AuthRequestRecord & { csrfHash: string }) | undefined {
  const r = db.query('DELETE FROM authorization_requests WHERE id_hash = ? RETURNING *').get(idHash) as Row | null;
  if (!r) return undefined;
  return {
    csrfHash: r.csrf_hash,
    clientId: r.client_id,
    redirectUri: r.redirect_uri,
    redirectUriSent: r.redirect_uri_sent === 1,
    codeChallenge: r.code_challenge,
    scope: r.scope,
    resource: r.resource,
    state: r.state ?? undefined,
    backendsOffered: JSON.parse(r.backends_offered) as string[],
    createdAt: r.created_at,
    expiresAt: r.expires_at,
  };
}
