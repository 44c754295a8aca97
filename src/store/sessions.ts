/** @module Persisted MCP sessions (table mcp_sessions): hashed ids, bound to a grant key; see store/schema.md. */
import type { Database } from 'bun:sqlite';
import { sha256Hex } from './secrets.ts';

type Json = Record<string, unknown>;

/** A session as stored. */
export interface SessionRecord {
  grantKey: string;
  protocolVersion: string;
  clientCapabilities: Json;
  logLevel?: string;
  subscriptions: string[];
  createdAt: number;
  lastActiveAt: number;
}

interface Row {
  grant_key: string;
  protocol_version: string;
  client_capabilities: string;
  log_level: string | null;
  subscriptions: string;
  created_at: number;
  last_active_at: number;
}

/** Inserts or replaces a session. */
export function saveSession(db: Database, id: string, s: SessionRecord): void {
  db.query(
    `INSERT OR REPLACE INTO mcp_sessions (id_hash, grant_key, protocol_version, client_capabilities, log_level, subscriptions, created_at, last_active_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
  ).run(sha256Hex(id), s.grantKey, s.protocolVersion, JSON.stringify(s.clientCapabilities), s.logLevel ?? null, JSON.stringify(s.subscriptions), s.createdAt, s.lastActiveAt);
}

/** The stored session with this id, if any. */
export function findSession(db: Database, id: string): SessionRecord | undefined {
  const row = db.query('SELECT * FROM mcp_sessions WHERE id_hash = ?').get(sha256Hex(id)) as Row | null;
  if (!row) return undefined;
  return {
    grantKey: row.grant_key,
    protocolVersion: row.protocol_version,
    clientCapabilities: parse(row.client_capabilities, {}),
    logLevel: row.log_level ?? undefined,
    subscriptions: parse(row.subscriptions, []),
    createdAt: row.created_at,
    lastActiveAt: row.last_active_at,
  };
}

/** Records activity (callers write at most once a minute per session). */
export function touchSession(db: Database, id: string, at: number): void {
  db.query('UPDATE mcp_sessions SET last_active_at = ? WHERE id_hash = ?').run(at, sha256Hex(id));
}

/** Deletes one session. */
export function deleteSession(db: Database, id: string): void {
  db.query('DELETE FROM mcp_sessions WHERE id_hash = ?').run(sha256Hex(id));
}

/** Deletes the sessions of the given grant keys (revocation). */
export function deleteSessionsOfGrant(db: Database, grantKey: string): void {
  db.query('DELETE FROM mcp_sessions WHERE grant_key = ?').run(grantKey);
}

/** Deletes sessions idle since before `cutoff`; returns how many. */
export function pruneSessions(db: Database, cutoff: number): number {
  return db.query('DELETE FROM mcp_sessions WHERE last_active_at < ?').run(cutoff).changes;
}

function parse<T>(text: string, fallback: T): T {
  try {
    return JSON.parse(text) as T;
  } catch {
    return fallback;
  }
}
