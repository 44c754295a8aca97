/**
 * @module Pure construction of the merged view clients see: tool policies (allow/deny/rename/
 * descriptions), exposed names through names.ts, and resource URIs in their reversible form.
 * Rebuilt only when a backend's catalog changes; every list request is served from it.
 */
import picomatch from 'picomatch';
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

/** A URI template of an unprefixed backend, compiled for matching concrete URIs. */
export interface TemplateMatcher {
  backend: string;
  template: string;
  re: RegExp;
}

/** The merged catalog and its routing tables. */
export interface View {
  tools: Owned[];
  prompts: Owned[];
  resources: Owned[];
  templates: Owned[];
  toolRoutes: Map<string, Route>;
  promptRoutes: Map<string, Route>;
  /** Resource tag (see names.ts) -> backend name; only backends with a prefix have a tag. */
  tags: Map<string, string>;
  /** URIs and URI templates exposed unchanged (unprefixed backends, scheme-less URIs) -> their owners. */
  listed: Map<string, Route[]>;
  /** URI templates of unprefixed backends, for routing a concrete URI that no backend lists. */
  matchers: TemplateMatcher[];
  /** Backends without a prefix, sorted. */
  unprefixed: string[];
  collisions: NameCollision[];
  /** Tools kept from clients (exposed name -> route and the reason), e.g. changed since pinned under `pinning: strict`. */
  withheld: Map<string, { route: Route; reason: string }>;
}

/** Options of buildView; `withhold` returns a reason to keep a backend's tool (by original name) from clients. */
export interface ViewOptions {
  withhold?: (backend: string, tool: string) => string | undefined;
}

/** How a URI a client sent resolves: one route, several candidate backends, or nothing. */
export interface UriResolution {
  route?: Route;
  /** Set when more than one backend claims the URI at the deciding step; sorted backend names. */
  ambiguous?: string[];
}

const matchers = new Map<string, (s: string) => boolean>();

/**
 * Matches an allow/deny glob against a whole tool name (picomatch). `*` matches any run of characters, `/` and a
 * leading `.` included (bash mode, dot), so `github*` still covers `github/create_issue` as the hand-written matcher
 * did; `?` is one character other than `/`; `[a-z]`, `{get,list}_*` and `\*` (a literal star) work too.
 * Compiled matchers are cached: views are rebuilt on every catalog change.
 */
export function globMatch(glob: string, s: string): boolean {
  let match = matchers.get(glob);
  if (!match) {
    match = picomatch(glob, { bash: true, dot: true });
    if (matchers.size >= 1000) matchers.clear();
    matchers.set(glob, match);
  }
  return match(s);
}

/** Whether a tool passes the backend's allow/deny lists (deny wins). */
export function toolAllowed(policy: ExposurePolicy, name: string): boolean {
  if (policy.allow && policy.allow.length > 0 && !policy.allow.some((g) => globMatch(g, name))) return false;
  return !policy.deny.some((g) => globMatch(g, name));
}

/**
 * Builds the view from every up backend's catalog. A withheld tool still takes part in naming (so that hiding
 * it never renames another tool) but is listed in `withheld` instead of `tools`/`toolRoutes`.
 */
export function buildView(backends: BackendCatalog[], naming: NamingOptions, opts: ViewOptions = {}): View {
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
  const view: View = {
    tools: [],
    prompts: [],
    resources: [],
    templates: [],
    toolRoutes: new Map(),
    promptRoutes: new Map(),
    tags: new Map(),
    listed: new Map(),
    matchers: [],
    unprefixed: [],
    collisions: [...tools.collisions, ...prompts.collisions],
    withheld: new Map(),
  };
  for (const e of tools.entries) {
    const reason = opts.withhold?.(e.backend, e.original);
    if (reason !== undefined) {
      view.withheld.set(e.exposed, { route: { backend: e.backend, original: e.original }, reason });
      continue;
    }
    const item = toolItems.get(`${e.backend}\u0000${e.original}`)!;
    const description = policyOf.get(e.backend)?.descriptions[e.original];
    view.tools.push({ backend: e.backend, item: { ...item, name: e.exposed, ...(description !== undefined ? { description } : {}), inputSchema: fixSchema(item.inputSchema) } });
    view.toolRoutes.set(e.exposed, { backend: e.backend, original: e.original });
  }
  for (const e of prompts.entries) {
    view.prompts.push({ backend: e.backend, item: { ...promptItems.get(`${e.backend}\u0000${e.original}`)!, name: e.exposed } });
    view.promptRoutes.set(e.exposed, { backend: e.backend, original: e.original });
  }
  // Issue 7 fault 11: with `prefix: false` a backend's URIs pass unchanged; they are routed by
  // listing, by template, or (one unprefixed backend) by elimination; see resolveUri.
  const list = (exposed: string, route: Route) => {
    const owners = view.listed.get(exposed) ?? [];
    if (!owners.some((o) => o.backend === route.backend)) owners.push(route);
    view.listed.set(exposed, owners);
  };
  for (const b of backends) {
    const tag = b.policy.prefix === false ? undefined : tagList.get(b.name)!;
    if (tag) view.tags.set(tag, b.name);
    else view.unprefixed.push(b.name);
    for (const r of b.resources) {
      const uri = exposeUri(String(r.uri), tag);
      view.resources.push({ backend: b.name, item: { ...r, uri } });
      if (uri === String(r.uri)) list(uri, { backend: b.name, original: uri });
    }
    for (const t of b.templates) {
      const uriTemplate = exposeUri(String(t.uriTemplate), tag);
      view.templates.push({ backend: b.name, item: { ...t, uriTemplate } });
      if (uriTemplate !== String(t.uriTemplate)) continue;
      list(uriTemplate, { backend: b.name, original: uriTemplate });
      const re = templateRegExp(uriTemplate);
      if (re) view.matchers.push({ backend: b.name, template: uriTemplate, re });
    }
  }
  view.unprefixed.sort();
  return view;
}

const MAX_TEMPLATE = 2048;
const MAX_EXPRESSIONS = 16;
const MAX_MATCHED_URI = 65_536;

/**
 * A matcher for an RFC 6570 template, lenient on purpose (it only picks a backend; the backend
 * does the real matching): `{x}` is one path segment, `{+x}` and `{#x}` anything, `{/x}`, `{.x}`,
 * `{;x}` any number of such segments, `{?x}`/`{&x}` any query. Undefined for templates too big or
 * malformed to match safely.
 */
export function templateRegExp(template: string): RegExp | undefined {
  if (template.length > MAX_TEMPLATE) return undefined;
  let re = '^';
  let expressions = 0;
  let i = 0;
  while (i < template.length) {
    const open = template.indexOf('{', i);
    const literal = template.slice(i, open < 0 ? undefined : open);
    if (literal.includes('}')) return undefined;
    re += literal.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    if (open < 0) break;
    const close = template.indexOf('}', open);
    if (close < 0 || ++expressions > MAX_EXPRESSIONS) return undefined;
    const op = template[open + 1];
    switch (op) {
      case '+':
      case '#':
        re += '.*';
        break;
      case '/':
      case '.':
      case ';':
        re += `(?:\\${op}[^/?#]*)*`;
        break;
      case '?':
      case '&':
        re += '(?:[?&][^#]*)?';
        break;
      default:
        re += '[^/?#]*';
    }
    i = close + 1;
  }
  return new RegExp(`${re}$`);
}

/**
 * Resolves a URI a client sent. In order, the first step with any candidate decides:
 * 1. the backend whose tag the URI carries (prefixed backends) together with every backend that
 *    lists exactly this URI or URI template unchanged;
 * 2. the unprefixed backends with a URI template matching it;
 * 3. the one unprefixed backend, when there is exactly one (it serves URIs it does not list,
 *    e.g. links in its tool results, and answers "not found" itself).
 * Only backends `allowed` (the caller's grant) count. Several candidates at the deciding step
 * give `ambiguous` with their names.
 */
export function resolveUri(view: View, uri: string, allowed: (backend: string) => boolean = () => true): UriResolution {
  const decide = (routes: Route[]): UriResolution | undefined => {
    const backends = [...new Set(routes.map((r) => r.backend))].sort();
    if (backends.length === 0) return undefined;
    return backends.length === 1 ? { route: routes[0] } : { ambiguous: backends };
  };
  const exact: Route[] = (view.listed.get(uri) ?? []).filter((r) => allowed(r.backend));
  const split = splitUri(uri);
  const tagged = split && view.tags.get(split.tag);
  if (tagged && allowed(tagged)) exact.unshift({ backend: tagged, original: split.original });
  const byTemplate = uri.length > MAX_MATCHED_URI ? [] : view.matchers.filter((m) => allowed(m.backend) && m.re.test(uri)).map((m) => ({ backend: m.backend, original: uri }));
  const sole = view.unprefixed.filter(allowed);
  return decide(exact) ?? decide(byTemplate) ?? (sole.length === 1 ? { route: { backend: sole[0], original: uri } } : {});
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

/** Resolves an exposed resource URI to its backend and original URI; undefined when none or ambiguous. */
export function routeUri(view: View, exposed: string, allowed?: (backend: string) => boolean): Route | undefined {
  return resolveUri(view, exposed, allowed).route;
}

/** The message for a URI several backends claim (the client must pick a prefixed backend's URI). */
export function ambiguousUriMessage(uri: string, backends: string[]): string {
  return `Resource URI ${uri} is ambiguous: backends ${backends.join(', ')} all serve it; give one of them a prefix to tell them apart`;
}

/** The tag a backend's URIs carry in this view; undefined for a backend with `prefix: false` (its URIs pass unchanged). */
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

/** Rewrites resource URIs inside content blocks (resource_link and embedded resources) to the exposed form; no tag = unchanged. */
export function exposeContentUris(content: unknown, tag: string | undefined): unknown {
  if (!Array.isArray(content) || tag === undefined) return content;
  // The same array when no block carries a URI (most tool results): nothing is copied per call.
  let out: unknown[] | undefined;
  for (let i = 0; i < content.length; i++) {
    const block: unknown = content[i];
    if (!block || typeof block !== 'object') continue;
    const b = block as Json;
    let next: Json | undefined;
    if (b.type === 'resource_link' && typeof b.uri === 'string') next = { ...b, uri: exposeUri(b.uri, tag) };
    else if (b.type === 'resource' && b.resource && typeof (b.resource as Json).uri === 'string') {
      const r = b.resource as Json;
      next = { ...b, resource: { ...r, uri: exposeUri(String(r.uri), tag) } };
    }
    if (next === undefined) continue;
    out ??= content.slice();
    out[i] = next;
  }
  return out ?? content;
}
