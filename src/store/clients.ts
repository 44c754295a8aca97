/** @module Registered OAuth clients: RFC 7591 registrations and CIMD clients seen at consent. */
import type { Database } from 'bun:sqlite';

/** How a client came to be known. */
export type Registration = 'dcr' | 'cimd' | 'preregistered';

/** Token endpoint client authentication methods mcpgw accepts (RFC 7591 §2). */
export type TokenAuthMethod = 'none' | 'client_secret_post' | 'client_secret_basic';

/** A client as stored; `clientSecretHash` is `sha256:<hex>` or a PHC string, never a secret. */
export interface ClientRecord {
  clientId: string;
  registration: Registration;
  clientName?: string;
  redirectUris: string[];
  tokenEndpointAuthMethod: TokenAuthMethod;
  clientSecretHash?: string;
  metadata: Record<string, unknown>;
  createdAt: number;
  lastUsedAt?: number;
}

interface ClientRow {
  client_id: string;
  registration: Registration;
  client_name: string | null;
  redirect_uris: string;
  token_endpoint_auth_method: TokenAuthMethod;
  client_secret_hash: string | null;
  metadata: string;
  created_at: number;
  last_used_at: number | null;
}

function fromRow(r: ClientRow): ClientRecord {
  return {
    clientId: r.client_id,
    registration: r.registration,
    clientName: r.client_name ?? undefined,
    redirectUris: JSON.parse(r.redirect_uris) as string[],
    tokenEndpointAuthMethod: r.token_endpoint_auth_method,
    clientSecretHash: r.client_secret_hash ?? undefined,
    metadata: JSON.parse(r.metadata) as Record<string, unknown>,
    createdAt: r.created_at,
    lastUsedAt: r.last_used_at ?? undefined,
  };
}

/** Inserts a client, or refreshes name/URIs/method of an existing one (CIMD documents change). */
export function upsertClient(db: Database, c: ClientRecord): void {
  db.query(
    `INSERT INTO clients (client_id, registration, client_name, redirect_uris, token_endpoint_auth_method,
       client_secret_hash, metadata, created_at, last_used_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (client_id) DO UPDATE SET client_name = excluded.client_name, redirect_uris = excluded.redirect_uris,
       token_endpoint_auth_method = excluded.token_endpoint_auth_method, metadata = excluded.metadata`,
  ).run(
    c.clientId,
    c.registration,
    c.clientName ?? null,
    JSON.stringify(c.redirectUris),
    c.tokenEndpointAuthMethod,
    c.clientSecretHash ?? null,
    JSON.stringify(c.metadata),
    c.createdAt,
    c.lastUsedAt ?? null,
  );
}

/** The stored client with this id, if any. */
export function getClient(db: Database, clientId: string): ClientRecord | undefined {
  const row = db.query('SELECT * FROM clients WHERE client_id = ?').get(clientId) as ClientRow | null;
  return row ? fromRow(row) : undefined;
}

/** Records that the client obtained tokens, which exempts it from unused-client cleanup. */
export function markClientUsed(db: Database, clientId: string, now: number): void {
  db.query('UPDATE clients SET last_used_at = ? WHERE client_id = ?').run(now, clientId);
}

/** Deletes dynamically registered clients created before `createdBefore` that never obtained a token. */
export function deleteUnusedDcrClients(db: Database, createdBefore: number): number {
  return db
    .query("DELETE FROM clients WHERE registration = 'dcr' AND last_used_at IS NULL AND created_at < ?")
    .run(createdBefore).changes;
}
