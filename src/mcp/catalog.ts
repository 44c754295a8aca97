/**
 * @module Pure construction of the merged view clients see: tool policies (allow/deny/rename/
 * descriptions), exposed names through names.ts, and resource URIs in their reversible form.
 * Rebuilt only when a backend's catalog changes; every list request is served from it.
 */
import { exposeUri, resolveNames, resourceTag, splitUri, type NameCollision, type NameRequest, type NamingOptions } from './names.ts';

type Json = Record<string, unknown>;

/** Per-backend exposure rules from the config. */
export interface ExposurePolicy {
  prefix: string | false;
  allow?: string[];
  deny: string[];
  rename: Record<string, string>;
  descriptions: Record<string, string>;
}

/** One backend's catalog as input to the view. */
export interface BackendCatalog {
  name: string;
  policy: ExposurePolicy;
  tools: Json[];
  prompts: Json[];
  resources: Json[];
  templates: Json[];
}

/** A routed item: which backend owns it and its name or URI there. */
export interface Route {
  backend: string;
  original: string;
}

/** An exposed item together with the backend it belongs to (for grant filtering). */
export interface Owned {
  backend: string;
  item: Json;
}

/** The merged catalog and its routing tables. */
export interface View {
  tools: Owned[];
  prompts: Owned[];
  resources: Owned[];
  templates: Owned[];
  toolRoutes: Map<string, Route>;
  promptRoutes: Map<string, Route>;
  /** Resource tag (see names.ts) -> backend name. */
  tags: Map<string, string>;
  collisions: NameCollision[];
}

/** Matches a glob with `*` and `?` against a whole string. */
export function globMatch(glob: string, s: string): boolean {
  const re = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${re}$`).test(s);
}

/** Whether a tool passes the backend's allow/deny lists (deny wins). */
export function toolAllowed(policy: ExposurePolicy, name: string): boolean {
  if (policy.allow && policy.allow.length > 0 && !policy.allow.some((g) => globMatch(g, name))) return false;
  return !policy.deny.some((g) => globMatch(g, name));
}

/** Builds the view from every up backend's catalog. */
export function buildView(backends: BackendCatalog[], naming: NamingOptions): View {
  const tagList = tagTable(backends.map((b) => b.name));
  const toolReqs: (NameRequest & { item: Json })[] = [];
  const promptReqs: (NameRequest & { item: Json })[] = [];
  for (const b of backends) {
    for (const tool of b.tools) {
      const name = String(tool.name ?? '');
      if (!name || !toolAllowed(b.policy, name)) continue;
      toolReqs.push({ backend: b.name, original: name, base: b.policy.rename[name] ?? name, prefix: b.policy.prefix, item: tool });
    }
    for (const prompt of b.prompts) {
      const name = String(prompt.name ?? '');
      if (name) promptReqs.push({ backend: b.name, original: name, base: name, prefix: b.policy.prefix, item: prompt });
    }
  }
  const tools = resolveNames(toolReqs, naming);
  const prompts = resolveNames(promptReqs, naming);
  const policyOf = new Map(backends.map((b) => [b.name, b.policy]));
  const itemOf = (reqs: (NameRequest & { item: Json })[]) => new Map(reqs.map((r) => [`${r.backend}\u0000${r.original}`, r.item]));
  const toolItems = itemOf(toolReqs);
  const promptItems = itemOf(promptReqs);
  const view: View = { tools: [], prompts: [], resources: [], templates: [], toolRoutes: new Map(), promptRoutes: new Map(), tags: new Map(), collisions: [...tools.collisions, ...prompts.collisions] };
  for (const e of tools.entries) {
    const item = toolItems.get(`${e.backend}\u0000${e.original}`)!;
    const description = policyOf.get(e.backend)?.descriptions[e.original];
    view.tools.push({ backend: e.backend, item: { ...item, name: e.exposed, ...(description !== undefined ? { description } : {}), inputSchema: fixSchema(item.inputSchema) } });
    view.toolRoutes.set(e.exposed, { backend: e.backend, original: e.original });
  }
  for (const e of prompts.entries) {
    view.prompts.push({ backend: e.backend, item: { ...promptItems.get(`${e.backend}\u0000${e.original}`)!, name: e.exposed } });
    view.promptRoutes.set(e.exposed, { backend: e.backend, original: e.original });
  }
  for (const b of backends) {
    const tag = tagList.get(b.name)!;
    view.tags.set(tag, b.name);
    for (const r of b.resources) view.resources.push({ backend: b.name, item: { ...r, uri: exposeUri(String(r.uri), tag) } });
    for (const t of b.templates) view.templates.push({ backend: b.name, item: { ...t, uriTemplate: exposeUri(String(t.uriTemplate), tag) } });
  }
  return view;
}

/** Resource tags for all backend names, made unique deterministically. */
export function tagTable(names: string[]): Map<string, string> {
  const out = new Map<string, string>();
  const used = new Set<string>();
  for (const name of [...names].sort()) {
    let tag = resourceTag(name);
    for (let i = 2; used.has(tag); i++) tag = `${resourceTag(name)}-${i}`;
    used.add(tag);
    out.set(name, tag);
  }
  return out;
}

/** Resolves an exposed resource URI to its backend and original URI. */
export function routeUri(view: View, exposed: string): Route | undefined {
  const split = splitUri(exposed);
  const backend = split && view.tags.get(split.tag);
  return backend ? { backend, original: split.original } : undefined;
}

/** The tag a backend's URIs carry in this view. */
export function tagOf(view: View, backend: string): string | undefined {
  for (const [tag, name] of view.tags) if (name === backend) return tag;
  return undefined;
}

// MCP requires inputSchema to be an object schema; a missing or malformed one breaks claude.ai
// connectors after OAuth (spec-checklist §3.6), so it is repaired rather than passed on.
function fixSchema(schema: unknown): Json {
  if (!schema || typeof schema !== 'object' || Array.isArray(schema)) return { type: 'object', properties: {} };
  const s = schema as Json;
  return s.type === 'object' ? s : { ...s, type: 'object' };
}

/** Rewrites resource URIs inside content blocks (resource_link and embedded resources) to the exposed form. */
export function exposeContentUris(content: unknown, tag: string): unknown {
  if (!Array.isArray(content)) return content;
  return content.map((block) => {
    if (!block || typeof block !== 'object') return block;
    const b = block as Json;
    if (b.type === 'resource_link' && typeof b.uri === 'string') return { ...b, uri: exposeUri(b.uri, tag) };
    if (b.type === 'resource' && b.resource && typeof (b.resource as Json).uri === 'string') {
      const r = b.resource as Json;
      return { ...b, resource: { ...r, uri: exposeUri(String(r.uri), tag) } };
    }
    return b;
  });
}
