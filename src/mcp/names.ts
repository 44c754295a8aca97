/**
 * @module The one place that builds exposed names: tool/prompt names and resource URIs.
 *
 * claude.ai and ChatGPT validate every tool name against ^[a-zA-Z0-9_-]{1,64}$ and drop the whole
 * connector on one bad name (spec-checklist §3.2), so every exposed name is sanitised, bounded and
 * mapped through a table: routing never parses names.
 */
import { sha256Hex } from '../store/secrets.ts';

/** Exposed tool and prompt names always match this. */
export const EXPOSED_NAME = /^[a-zA-Z0-9_-]{1,64}$/;

export interface NamingOptions {
  separator: string;
  maxLength: number;
}

/** One name a backend offers, before mapping. */
export interface NameRequest {
  backend: string;
  /** The backend's own name for the item. */
  original: string;
  /** The name part to expose (a `tools.rename` value, else the original). */
  base: string;
  /** Prefix to put in front, or false for none. */
  prefix: string | false;
}

/** A resolved entry of the name table. */
export interface NameEntry extends NameRequest {
  exposed: string;
}

/** A collision that was resolved by suffixing; logged by the caller with both backend names. */
export interface NameCollision {
  name: string;
  kept: { backend: string; original: string };
  renamed: { backend: string; original: string; exposed: string };
}

/** Maps every character outside [A-Za-z0-9_-] to `_`. */
export function sanitizeName(s: string): string {
  const out = s.replace(/[^A-Za-z0-9_-]/g, '_');
  return out.length > 0 ? out : '_';
}

/** A short, stable hash (hex) of the parts; stable across restarts and machines. */
export function shortHash(...parts: string[]): string {
  return sha256Hex(parts.join('\u0000')).slice(0, 6);
}

/** Shortens a name to `max` characters deterministically: a cut plus a hash of the full identity. */
function fit(name: string, max: number, identity: string[]): string {
  if (name.length <= max) return name;
  return `${name.slice(0, max - 7)}_${shortHash(...identity)}`;
}

/** The exposed name for one request, ignoring collisions. */
export function exposeName(req: NameRequest, opts: NamingOptions): string {
  const base = sanitizeName(req.base);
  const full = req.prefix === false ? base : `${sanitizeName(req.prefix)}${opts.separator}${base}`;
  return fit(full, opts.maxLength, [req.backend, req.original]);
}

function withSuffix(name: string, req: NameRequest, opts: NamingOptions): string {
  const suffix = `_${shortHash('collision', req.backend, req.original)}`;
  return name.length + suffix.length <= opts.maxLength ? name + suffix : name.slice(0, opts.maxLength - suffix.length) + suffix;
}

/**
 * Resolves a whole table. Order of the input does not matter: on a collision the entry whose
 * (backend, original) sorts first keeps the name and the others get a hash suffix derived only
 * from their own identity, so names are deterministic across restarts.
 */
export function resolveNames(reqs: NameRequest[], opts: NamingOptions): { entries: NameEntry[]; collisions: NameCollision[] } {
  const sorted = [...reqs].sort((a, b) => cmp(a.backend, b.backend) || cmp(exactness(a), exactness(b)) || cmp(a.original, b.original));
  const taken = new Map<string, NameEntry>();
  const collisions: NameCollision[] = [];
  const entries: NameEntry[] = [];
  for (const req of sorted) {
    let exposed = exposeName(req, opts);
    const holder = taken.get(exposed);
    if (holder) {
      const first = exposed;
      for (let i = 0; taken.has(exposed) && i < 10; i++) exposed = withSuffix(exposed, { ...req, original: req.original + '#'.repeat(i) }, opts);
      collisions.push({ name: first, kept: { backend: holder.backend, original: holder.original }, renamed: { backend: req.backend, original: req.original, exposed } });
    }
    const entry = { ...req, exposed };
    taken.set(exposed, entry);
    entries.push(entry);
  }
  return { entries, collisions };
}

// Within one backend, a name that needs no mapping wins over one that was mapped onto it.
function exactness(r: NameRequest): string {
  return sanitizeName(r.base) === r.base ? '0' : '1';
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Resource URIs: `<scheme>://rest` of backend `b` is exposed as `<scheme>+<tag>://rest`, where the
 * tag is the backend name lowercased with `_` written as `.` (URI schemes allow only letters,
 * digits, `+`, `-`, `.`). The backend's own scheme stays visible and the mapping reverses by
 * splitting at the last `+` of the scheme and looking the tag up in a table.
 */
export function resourceTag(backend: string): string {
  const t = backend.toLowerCase().replace(/_/g, '.');
  return /^[a-z]/.test(t) ? t : `b${t}`;
}

/** Builds the exposed URI; returns the original when it has no scheme or there is no tag (`prefix: false`). */
export function exposeUri(uri: string, tag: string | undefined): string {
  if (tag === undefined) return uri;
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(uri);
  if (!m) return uri;
  return `${m[1]}+${tag}:${uri.slice(m[0].length)}`;
}

/** Splits an exposed URI into its tag and the backend's original URI, or undefined. */
export function splitUri(exposed: string): { tag: string; original: string } | undefined {
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(exposed);
  if (!m) return undefined;
  const scheme = m[1];
  const plus = scheme.lastIndexOf('+');
  if (plus <= 0) return undefined;
  return { tag: scheme.slice(plus + 1).toLowerCase(), original: `${scheme.slice(0, plus)}:${exposed.slice(m[0].length)}` };
}
