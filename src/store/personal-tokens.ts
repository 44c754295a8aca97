/** @module Personal access tokens (`mcpgw_pat_…`): opaque, stored hashed, each backed by a `personal` grant. */
import type { Database } from 'bun:sqlite';
import { grantFromRow, insertGrant, type GrantRecord } from './grants.ts';
import { randomToken, sha256Hex, type RandomFn } from './secrets.ts';

/** Prefix of every personal access token; also what the log redactor recognises. */
export const PERSONAL_TOKEN_PREFIX = 'mcpgw_pat_';

/** Options for a new personal access token. */
export interface CreatePersonalTokenOptions {
  /** Shown in `mcpgw tokens list` as the client name. */
  name: string;
  /** Backends the token may use; null = all. */
  backends: string[] | null;
  /** Absolute expiry in ms since the epoch; undefined = never expires. */
  expiresAt?: number;
  /** The resource the token is valid for (`<public_url>/mcp`). */
  resource: string;
  scope?: string;
  now: number;
  random: RandomFn;
}

/** Creates a personal access token; the plaintext is returned once and only its hash is stored. */
export function createPersonalToken(db: Database, o: CreatePersonalTokenOptions): { token: string; grantId: string } {
  const token = randomToken(o.random, 32, PERSONAL_TOKEN_PREFIX);
  const grantId = randomToken(o.random, 12, 'g_');
  db.transaction(() => {
    insertGrant(db, {
      id: grantId,
      kind: 'personal',
      registration: 'personal',
      clientId: 'personal',
      clientName: o.name,
      subject: 'owner',
      scope: o.scope ?? 'mcp',
      resource: o.resource,
      backends: o.backends,
      createdAt: o.now,
      expiresAt: o.expiresAt,
    });
    db.query('INSERT INTO personal_tokens (token_hash, grant_id, created_at) VALUES (?, ?, ?)').run(sha256Hex(token), grantId, o.now);
  })();
  return { token, grantId };
}

/** The grant behind a personal access token, if the token exists (revocation/expiry are the caller's check). */
export function findPersonalToken(db: Database, token: string): GrantRecord | undefined {
  const r = db
    .query('SELECT g.* FROM personal_tokens p JOIN grants g ON g.id = p.grant_id WHERE p.token_hash = ?')
    .get(sha256Hex(token)) as Parameters<typeof grantFromRow>[0] | null;
  return r ? grantFromRow(r) : undefined;
}
