/** @module Authorization codes: stored hashed, single use, bound to client, redirect URI, PKCE challenge and resource. */
import type { Database } from 'bun:sqlite';
import type { RequestBinding } from './auth-requests.ts';

/** An issued authorization code (RFC 6749 §4.1.2); `grantId` is set once redeemed. */
export interface CodeRecord extends RequestBinding {
  backends: string[] | null;
  subject: string;
  createdAt: number;
  expiresAt: number;
  redeemedAt?: number;
  grantId?: string;
}

interface Row {
  client_id: string;
  redirect_uri: string;
  redirect_uri_sent: number;
  code_challenge: string;
  scope: string;
  resource: string;
  backends: string | null;
  subject: string;
  created_at: number;
  expires_at: number;
  redeemed_at: number | null;
  grant_id: string | null;
}

/** Stores a new code under its hash. */
export function insertCode(db: Database, codeHash: string, c: CodeRecord): void {
  db.query(
    `INSERT INTO authorization_codes (code_hash, client_id, redirect_uri, redirect_uri_sent, code_challenge, scope,
       resource, backends, subject, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  ).run(
    codeHash,
    c.clientId,
    c.redirectUri,
    c.redirectUriSent ? 1 : 0,
    c.codeChallenge,
    c.scope,
    c.resource,
    c.backends === null ? null : JSON.stringify(c.backends),
    c.subject,
    c.createdAt,
    c.expiresAt,
  );
}

/** The code stored under this hash, redeemed or not. */
export function getCode(db: Database, codeHash: string): CodeRecord | undefined {
  const r = db.query('SELECT * FROM authorization_codes WHERE code_hash = ?').get(codeHash) as Row | null;
  if (!r) return undefined;
  return {
    clientId: r.client_id,
    redirectUri: r.redirect_uri,
    redirectUriSent: r.redirect_uri_sent === 1,
    codeChallenge: r.code_challenge,
    scope: r.scope,
    resource: r.resource,
    backends: r.backends === null ? null : (JSON.parse(r.backends) as string[]),
    subject: r.subject,
    createdAt: r.created_at,
    expiresAt: r.expires_at,
    redeemedAt: r.redeemed_at ?? undefined,
    grantId: r.grant_id ?? undefined,
  };
}

/** Marks the code redeemed into `grantId`; false when another redemption got there first. */
export function markCodeRedeemed(db: Database, codeHash: string, now: number, grantId: string): boolean {
  return (
    db
      .query('UPDATE authorization_codes SET redeemed_at = ?, grant_id = ? WHERE code_hash = ? AND redeemed_at IS NULL')
      .run(now, grantId, codeHash).changes === 1
  );
}
