/** @module Grants: one per consent (OAuth) or personal access token; the unit of listing and revocation. */
import type { Database } from 'bun:sqlite';

/** How the grant's client was registered, for `mcpgw tokens list`. */
export type GrantRegistration = 'dcr' | 'cimd' | 'preregistered' | 'personal';

/** A grant as stored. `backends: null` means every backend, including ones added later. */
export interface GrantRecord {
  id: string;
  kind: 'oauth' | 'personal';
  registration: GrantRegistration;
  clientId: string;
  clientName?: string;
  subject: string;
  scope: string;
  resource: string;
  backends: string[] | null;
  createdAt: number;
  lastUsedAt?: number;
  expiresAt?: number;
  revokedAt?: number;
  revokedReason?: string;
}

/** A grant with its status at a given time, as `mcpgw tokens list` shows it. */
export interface GrantSummary extends GrantRecord {
  status: 'active' | 'revoked' | 'expired';
}

interface Row {
  id: string;
  kind: 'oauth' | 'personal';
  registration: GrantRegistration;
  client_id: string;
  client_name: string | null;
  subject: string;
  scope: string;
  resource: string;
  backends: string | null;
  created_at: number;
  last_used_at: number | null;
  expires_at: number | null;
  revoked_at: number | null;
  revoked_reason: string | null;
}

/** Maps a `grants` row (possibly from a join) to a record. */
export function grantFromRow(r: Row): GrantRecord {
  return {
    id: r.id,
    kind: r.kind,
    registration: r.registration,
    clientId: r.client_id,
    clientName: r.client_name ?? undefined,
    subject: r.subject,
    scope: r.scope,
    resource: r.resource,
    backends: r.backends === null ? null : (JSON.parse(r.backends) as string[]),
    createdAt: r.created_at,
    lastUsedAt: r.last_used_at ?? undefined,
    expiresAt: r.expires_at ?? undefined,
    revokedAt: r.revoked_at ?? undefined,
    revokedReason: r.revoked_reason ?? undefined,
  };
}

/** Status of a grant at `now`. */
export function grantStatus(g: GrantRecord, now: number): GrantSummary['status'] {
  if (g.revokedAt !== undefined) return 'revoked';
  if (g.expiresAt !== undefined && g.expiresAt <= now) return 'expired';
  return 'active';
}

/** Stores a new grant. */
export function insertGrant(db: Database, g: GrantRecord): void {
  db.query(
    `INSERT INTO grants (id, kind, registration, client_id, client_name, subject, scope, resource, backends,
       created_at, last_used_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  ).run(
    g.id,
    g.kind,
    g.registration,
    g.clientId,
    g.clientName ?? null,
    g.subject,
    g.scope,
    g.resource,
    g.backends === null ? null : JSON.stringify(g.backends),
    g.createdAt,
    g.lastUsedAt ?? null,
    g.expiresAt ?? null,
  );
}

/** The grant with this id, if any. */
export function getGrant(db: Database, id: string): GrantRecord | undefined {
  const r = db.query('SELECT * FROM grants WHERE id = ?').get(id) as Row | null;
  return r ? grantFromRow(r) : undefined;
}

/** Sets the grant's expiry (refresh rotation slides it forward). */
export function setGrantExpiry(db: Database, id: string, expiresAt: number): void {
  db.query('UPDATE grants SET expires_at = MAX(COALESCE(expires_at, 0), ?) WHERE id = ?').run(expiresAt, id);
}

/** Records use of the grant; writes at most once a minute per grant to keep requests read-only. */
export function touchGrant(db: Database, id: string, now: number): void {
  db.query('UPDATE grants SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)').run(now, id, now - 60_000);
}

/** Records batched uses (grant id -> time of last use) in one transaction, each at most once a minute. */
export function touchGrants(db: Database, uses: ReadonlyMap<string, number>): void {
  db.transaction(() => {
    for (const [id, at] of uses) touchGrant(db, id, at);
  })();
}

/** Of `ids`, those whose grant is revoked or no longer exists (one query, whatever the number of ids). */
export function revokedGrantIds(db: Database, ids: readonly string[]): string[] {
  if (ids.length === 0) return [];
  const rows = db
    .query('SELECT value AS id FROM json_each(?) WHERE NOT EXISTS (SELECT 1 FROM grants g WHERE g.id = value AND g.revoked_at IS NULL)')
    .all(JSON.stringify(ids)) as { id: string }[];
  return rows.map((r) => r.id);
}

/** Grants, newest first; without `includeInactive` only active ones. */
export function listGrants(db: Database, opts: { now: number; includeInactive?: boolean }): GrantSummary[] {
  const rows = db.query('SELECT * FROM grants ORDER BY created_at DESC, id').all() as Row[];
  return rows
    .map((r) => {
      const g = grantFromRow(r);
      return { ...g, status: grantStatus(g, opts.now) };
    })
    .filter((g) => opts.includeInactive || g.status === 'active');
}

/** Revokes one grant (all its tokens stop working at once); false if unknown or already revoked. */
export function revokeGrant(db: Database, id: string, now: number, reason = 'revoked'): boolean {
  return db.query('UPDATE grants SET revoked_at = ?, revoked_reason = ? WHERE id = ? AND revoked_at IS NULL').run(now, reason, id).changes === 1;
}

/** Revokes every grant of a client; returns how many. */
export function revokeClient(db: Database, clientId: string, now: number, reason = 'client revoked'): number {
  return db
    .query('UPDATE grants SET revoked_at = ?, revoked_reason = ? WHERE client_id = ? AND revoked_at IS NULL')
    .run(now, reason, clientId).changes;
}

/** Revokes every grant; returns how many. */
export function revokeAll(db: Database, now: number, reason = 'all revoked'): number {
  return db.query('UPDATE grants SET revoked_at = ?, revoked_reason = ? WHERE revoked_at IS NULL').run(now, reason).changes;
}
