/** @module Last known backend catalogs (table backend_catalogs); see store/schema.md. */
import type { Database } from 'bun:sqlite';

type Json = Record<string, unknown>;

/** What is remembered of a backend between runs. */
export interface StoredCatalog {
  catalog: { tools: Json[]; prompts: Json[]; resources: Json[]; templates: Json[] };
  capabilities: Json;
  instructions?: string;
  serverName?: string;
  updatedAt: number;
}

/** Saves a backend's catalog, replacing the previous one. */
export function saveCatalog(db: Database, backend: string, c: StoredCatalog): void {
  db.query('INSERT OR REPLACE INTO backend_catalogs (backend, catalog, capabilities, instructions, server_name, updated_at) VALUES (?, ?, ?, ?, ?, ?)').run(
    backend,
    JSON.stringify(c.catalog),
    JSON.stringify(c.capabilities),
    c.instructions ?? null,
    c.serverName ?? null,
    c.updatedAt,
  );
}

/** Every stored catalog by backend name; unreadable rows are skipped. */
export function loadCatalogs(db: Database): Map<string, StoredCatalog> {
  const out = new Map<string, StoredCatalog>();
  const rows = db.query('SELECT * FROM backend_catalogs').all() as { backend: string; catalog: string; capabilities: string; instructions: string | null; server_name: string | null; updated_at: number }[];
  for (const r of rows) {
    try {
      out.set(r.backend, { catalog: JSON.parse(r.catalog), capabilities: JSON.parse(r.capabilities), instructions: r.instructions ?? undefined, serverName: r.server_name ?? undefined, updatedAt: r.updated_at });
    } catch {
      // a damaged row only costs the warm start of that backend
    }
  }
  return out;
}

/** Forgets backends no longer configured. */
export function deleteCatalogsExcept(db: Database, keep: string[]): void {
  const rows = db.query('SELECT backend FROM backend_catalogs').all() as { backend: string }[];
  for (const r of rows) if (!keep.includes(r.backend)) db.query('DELETE FROM backend_catalogs WHERE backend = ?').run(r.backend);
}
