/** @module Refresh-token and access-token records: hashes and ids only, rotation, revocation, expiry. */
import type { Database } from 'bun:sqlite';
import { grantFromRow, type GrantRecord } from './grants.ts';

/** A refresh token (stored by SHA-256 hash); its family is its grant. */
export interface RefreshTokenRecord {
  grantId: string;
  clientId: string;
  createdAt: number;
  expiresAt: number;
  /** Set when a refresh rotated this token out; reuse later than the grace window revokes the grant. */
  rotatedAt?: number;
}

/** An issued access token's id (JWT `jti`), so single tokens can be revoked (RFC 7009). */
export interface AccessTokenRecord {
  jti: string;
  grantId: string;
  clientId: string;
  createdAt: number;
  expiresAt: number;
}

/** Stores a refresh token under its hash. */
export function insertRefreshToken(db: Database, tokenHash: string, t: RefreshTokenRecord): void {
  db.query('INSERT INTO refresh_tokens (token_hash, grant_id, client_id, created_at, expires_at) VALUES (?, ?, ?, ?, ?)').run(
    tokenHash,
    t.grantId,
    t.clientId,
    t.createdAt,
    t.expiresAt,
  );
}

/** The refresh token stored under this hash, if any. */
export function getRefreshToken(db: Database, tokenHash: string): RefreshTokenRecord | undefined {
  const r = db.query('SELECT * FROM refresh_tokens WHERE token_hash = ?').get(tokenHash) as {
    grant_id: string;
    client_id: string;
    created_at: number;
    expires_at: number;
    rotated_at: number | null;
  } | null;
  if (!r) return undefined;
  return { grantId: r.grant_id, clientId: r.client_id, createdAt: r.created_at, expiresAt: r.expires_at, rotatedAt: r.rotated_at ?? undefined };
}

/** Marks a refresh token rotated at `now` unless it already was (the first rotation time starts the grace window). */
export function markRefreshRotated(db: Database, tokenHash: string, now: number): void {
  db.query('UPDATE refresh_tokens SET rotated_at = ? WHERE token_hash = ? AND rotated_at IS NULL').run(now, tokenHash);
}

/** Records an issued access token. */
export function insertAccessToken(db: Database, t: AccessTokenRecord): void {
  db.query('INSERT INTO access_tokens (jti, grant_id, client_id, created_at, expires_at) VALUES (?, ?, ?, ?, ?)').run(
    t.jti,
    t.grantId,
    t.clientId,
    t.createdAt,
    t.expiresAt,
  );
}

/** Revokes one access token by `jti`. */
export function revokeAccessToken(db: Database, jti: string, now: number): void {
  db.query('UPDATE access_tokens SET revoked_at = ? WHERE jti = ? AND revoked_at IS NULL').run(now, jti);
}

/** An access token's client and revocation state plus its grant, read fresh on every request. */
export function findAccessToken(
  db: Database,
  jti: string,
): { clientId: string; revokedAt?: number; grant: GrantRecord } | undefined {
  const r = db
    .query(
      `SELECT g.*, a.client_id AS at_client_id, a.revoked_at AS at_revoked_at
       FROM access_tokens a JOIN grants g ON g.id = a.grant_id WHERE a.jti = ?`,
    )
    .get(jti) as (Parameters<typeof grantFromRow>[0] & { at_client_id: string; at_revoked_at: number | null }) | null;
  if (!r) return undefined;
  return { clientId: r.at_client_id, revokedAt: r.at_revoked_at ?? undefined, grant: grantFromRow(r) };
}

/** Of `jtis`, the access tokens that are revoked or no longer stored (one query). */
export function revokedAccessTokenIds(db: Database, jtis: readonly string[]): string[] {
  if (jtis.length === 0) return [];
  const rows = db
    .query('SELECT value AS jti FROM json_each(?) WHERE NOT EXISTS (SELECT 1 FROM access_tokens a WHERE a.jti = value AND a.revoked_at IS NULL)')
    .all(JSON.stringify(jtis)) as { jti: string }[];
  return rows.map((r) => r.jti);
}
