/**
 * @module Tool pins (table tool_pins; see store/schema.md): the definition each backend tool had when it was
 * first seen (or last approved), by SHA-256 of a canonical JSON, and the changed definition when it differs.
 * The rug-pull defence of issue 9 item 10.
 */
import type { Database } from 'bun:sqlite';
import { sha256Hex } from './secrets.ts';

type Json = Record<string, unknown>;

/** What of a tool is pinned and hashed. */
export interface ToolDefinition {
  name: string;
  description: string | null;
  inputSchema: unknown;
}

/** Hashes of one definition (hex SHA-256 of canonical JSON). */
export interface Fingerprint {
  hash: string;
  descriptionHash: string;
  schemaHash: string;
}

/** One pinned tool; `seen*` is set while the backend offers a definition other than the pinned one. */
export interface Pin {
  backend: string;
  tool: string;
  pinned: ToolDefinition & Fingerprint;
  pinnedAt: number;
  seen?: ToolDefinition & Fingerprint;
  changedAt?: number;
}

/** JSON with object keys sorted at every level, so equal definitions hash equally whatever the key order. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v && typeof v === 'object') {
    const o = v as Json;
    return `{${Object.keys(o).sort().filter((k) => o[k] !== undefined).map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`).join(',')}}`;
  }
  return JSON.stringify(v ?? null);
}

/** The pinned part of a tool as a backend lists it: name, description, input schema. */
export function toolDefinition(tool: Json): ToolDefinition {
  return { name: String(tool.name ?? ''), description: typeof tool.description === 'string' ? tool.description : null, inputSchema: tool.inputSchema ?? null };
}

/** Hashes a definition: the whole, and description and schema apart (to say what changed). */
export function fingerprint(d: ToolDefinition): Fingerprint {
  return { hash: sha256Hex(canonicalJson(d)), descriptionHash: sha256Hex(canonicalJson(d.description)), schemaHash: sha256Hex(canonicalJson(d.inputSchema)) };
}

/** Which parts differ between two fingerprints. */
export function changedParts(a: Fingerprint, b: Fingerprint): ('description' | 'input_schema')[] {
  const parts: ('description' | 'input_schema')[] = [];
  if (a.descriptionHash !== b.descriptionHash) parts.push('description');
  if (a.schemaHash !== b.schemaHash) parts.push('input_schema');
  return parts;
}

interface Row {
  backend: string;
  tool: string;
  hash: string;
  definition: string;
  pinned_at: number;
  seen_hash: string | null;
  seen_definition: string | null;
  changed_at: number | null;
}

function toPin(r: Row): Pin {
  const pinned = JSON.parse(r.definition) as ToolDefinition;
  const seen = r.seen_definition ? (JSON.parse(r.seen_definition) as ToolDefinition) : undefined;
  return {
    backend: r.backend,
    tool: r.tool,
    pinned: { ...pinned, ...fingerprint(pinned) },
    pinnedAt: r.pinned_at,
    ...(seen ? { seen: { ...seen, ...fingerprint(seen) }, changedAt: r.changed_at ?? undefined } : {}),
  };
}

/** Every pin of a backend, by tool name. */
export function loadPins(db: Database, backend: string): Map<string, Pin> {
  const rows = db.query('SELECT * FROM tool_pins WHERE backend = ? ORDER BY tool').all(backend) as Row[];
  return new Map(rows.map((r) => [r.tool, toPin(r)]));
}

/** A tool whose offered definition differs from its pin; `fresh` when this check is the first to see it. */
export interface PinChange {
  tool: string;
  pin: Pin;
  fresh: boolean;
}

/**
 * Compares a backend's tools with their pins: a tool seen for the first time is pinned, a tool matching its pin
 * clears any pending change, a differing one is recorded (with the time it was first seen) and returned.
 */
export function checkPins(db: Database, backend: string, tools: Json[], now: number): PinChange[] {
  const pins = loadPins(db, backend);
  const changes: PinChange[] = [];
  db.transaction(() => {
    for (const tool of tools) {
      const def = toolDefinition(tool);
      if (!def.name) continue;
      const fp = fingerprint(def);
      const pin = pins.get(def.name);
      if (!pin) {
        db.query('INSERT INTO tool_pins (backend, tool, hash, definition, pinned_at) VALUES (?, ?, ?, ?, ?)').run(backend, def.name, fp.hash, JSON.stringify(def), now);
      } else if (pin.pinned.hash === fp.hash) {
        if (pin.seen) db.query('UPDATE tool_pins SET seen_hash = NULL, seen_definition = NULL, changed_at = NULL WHERE backend = ? AND tool = ?').run(backend, def.name);
      } else if (pin.seen?.hash === fp.hash) {
        changes.push({ tool: def.name, pin, fresh: false });
      } else {
        db.query('UPDATE tool_pins SET seen_hash = ?, seen_definition = ?, changed_at = ? WHERE backend = ? AND tool = ?').run(fp.hash, JSON.stringify(def), now, backend, def.name);
        changes.push({ tool: def.name, pin: { ...pin, seen: { ...def, ...fp }, changedAt: now }, fresh: true });
      }
    }
  })();
  return changes;
}

/** Accepts the changed definitions of a backend (all, or one tool) as the new pins; returns the tools approved. */
export function approvePins(db: Database, backend: string, tool: string | undefined, now: number): string[] {
  const pending = [...loadPins(db, backend).values()].filter((p) => p.seen && (tool === undefined || p.tool === tool));
  db.transaction(() => {
    for (const p of pending) {
      db.query('UPDATE tool_pins SET hash = seen_hash, definition = seen_definition, pinned_at = ?, seen_hash = NULL, seen_definition = NULL, changed_at = NULL WHERE backend = ? AND tool = ?').run(now, backend, p.tool);
    }
  })();
  return pending.map((p) => p.tool);
}
