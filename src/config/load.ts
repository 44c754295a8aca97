/** @module Reads gateway.yaml: YAML parse -> ${VAR}/${file:PATH} interpolation -> schema validation -> Config, or every issue at once. */
import { readFileSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, type Document } from 'yaml';
import { errorMessage, GatewayError } from '../errors.ts';
import { resolveConfigPath, validateConfig, type Config, type SchemaContext } from './schema.ts';

/** One problem in a config file: dotted path (`backends.erp.url`, `auth.clients[0].client_id`), message, 1-based position. */
export interface ConfigIssue {
  path: string;
  message: string;
  line?: number;
  col?: number;
}

/** A config file that could not be read or is invalid; `message` lists every issue, one per line. */
export class ConfigError extends GatewayError {
  readonly issues: ConfigIssue[];
  readonly file: string;
  constructor(file: string, issues: ConfigIssue[], opts: { notFound?: boolean; cause?: unknown } = {}) {
    const n = issues.length;
    const lines = [`invalid config ${file}: ${n} ${n === 1 ? 'problem' : 'problems'}`, ...issues.map((i) => formatIssue(i, file))];
    super(opts.notFound ? 'config_not_found' : 'config_invalid', lines.join('\n'), { cause: opts.cause, detail: { file, issues } });
    this.name = 'ConfigError';
    this.issues = issues;
    this.file = file;
  }
}

/** Formats an issue as `backends.erp.url: must be an http(s) URL (gateway.yaml:14:10)`; the file is shown by its basename. */
export function formatIssue(issue: ConfigIssue, file: string): string {
  const where = issue.line !== undefined ? ` (${basename(file)}:${issue.line}:${issue.col ?? 1})` : '';
  return `${issue.path ? `${issue.path}: ` : ''}${issue.message}${where}`;
}

/** Reads a file's text; the seam `${file:PATH}` uses. */
export type ReadFile = (path: string) => string;
const readUtf8: ReadFile = (p) => readFileSync(p, 'utf8');

type Path = (string | number)[];
type Position = { line?: number; col?: number };

function formatPath(path: Path): string {
  return path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${p}`)).join('').replace(/^\./, '');
}

const VAR_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const LITERAL_HINT = 'write $${ for a literal ${';

/** Index of the `}` closing a `${` whose body starts at `from`, allowing one level of nested `${...}`; -1 if none. */
function closingBrace(s: string, from: number): number {
  let depth = 1;
  for (let j = from; j < s.length; j++) {
    if (s.startsWith('${', j)) {
      depth++;
      j++;
    } else if (s[j] === '}' && --depth === 0) return j;
  }
  return -1;
}

interface InterpolationContext extends SchemaContext {
  readFile: ReadFile;
}

function resolveReference(ref: string, ctx: InterpolationContext, allowFile: boolean): { value?: string; errors: string[] } {
  if (ref.startsWith('file:') && allowFile) {
    const inner = expand(ref.slice(5), ctx, false);
    if (inner.errors.length > 0) return inner;
    const path = inner.value ? resolveConfigPath(inner.value, ctx) : undefined;
    if (path === undefined) return { errors: [`\${file:} needs a path${inner.value ? ' (HOME is not set for ~)' : ''}`] };
    try {
      // Files written with `echo` or systemd-creds end in a newline that is not part of the secret.
      return { value: ctx.readFile(path).replace(/(\r?\n)+$/, ''), errors: [] };
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      return { errors: [`cannot read ${path}: ${typeof code === 'string' ? code : errorMessage(err)}`] };
    }
  }
  if (!VAR_NAME.test(ref)) return { errors: [`invalid reference \${${ref}}: use \${VAR} or \${file:PATH}, and ${LITERAL_HINT}`] };
  const value = ctx.env[ref];
  return value === undefined ? { errors: [`environment variable ${ref} is not set`] } : { value, errors: [] };
}

/** Replaces `${VAR}` and `${file:PATH}` (PATH may itself use `${VAR}`); `$${` stays a literal `${`. */
function expand(s: string, ctx: InterpolationContext, allowFile: boolean): { value: string; errors: string[] } {
  let value = '';
  const errors: string[] = [];
  let i = 0;
  while (i < s.length) {
    if (s.startsWith('$${', i)) {
      value += '${';
      i += 3;
    } else if (s.startsWith('${', i)) {
      const end = closingBrace(s, i + 2);
      if (end < 0) return { value, errors: [...errors, `unterminated \${ (${LITERAL_HINT})`] };
      const r = resolveReference(s.slice(i + 2, end), ctx, allowFile);
      value += r.value ?? '';
      errors.push(...r.errors);
      i = end + 1;
    } else {
      value += s[i++];
    }
  }
  return { value, errors };
}

type Visit = (node: { value: unknown; range?: [number, number, number] | null }, path: Path) => void;

/** Visits every string scalar in VALUE position (keys are never interpolated); aliases are visited at their anchor. */
function walkStrings(node: unknown, path: Path, visit: Visit): void {
  if (isMap(node)) for (const pair of node.items) walkStrings(pair.value, [...path, keyText(pair.key)], visit);
  else if (isSeq(node)) node.items.forEach((item, i) => walkStrings(item, [...path, i], visit));
  else if (isScalar(node) && typeof node.value === 'string') visit(node, path);
}

function keyText(key: unknown): string {
  return isScalar(key) ? String(key.value) : String(key);
}

/**
 * A backend's url, headers, env and args may hold secrets (`${ERP_TOKEN}`, `${file:${CREDENTIALS_DIRECTORY}/t}`) that only
 * the service has; they are resolved when the backend is started or probed (resolveBackendSecrets), never at load, so
 * `tokens revoke` works in a shell without them (issue 8 finding 2).
 */
function isDeferred(path: Path): boolean {
  if (path[0] !== 'backends' || path.length < 3) return false;
  return (path.length === 3 && path[2] === 'url') || (path.length === 4 && ['headers', 'env', 'args'].includes(String(path[2])));
}

/** Syntax-checks references without resolving them; each becomes `x` so the value can still be validated. */
const CHECK_ONLY: InterpolationContext = { env: new Proxy({}, { get: () => 'x' }), configDir: '/', readFile: () => 'x' };

/** Rewrites a relative literal `${file:PATH}` to an absolute one (relative to the config file), for later resolution. */
function anchorFileRefs(s: string, configDir: string): string {
  let out = '';
  let i = 0;
  while (i < s.length) {
    if (s.startsWith('$${', i)) {
      out += '$${';
      i += 3;
    } else if (s.startsWith('${file:', i)) {
      const end = closingBrace(s, i + 2);
      const p = s.slice(i + 7, end);
      out += p === '' || /^[/~$]/.test(p) ? s.slice(i, end + 1) : `\${file:${resolve(configDir, p)}}`;
      i = end + 1;
    } else {
      out += s[i++];
    }
  }
  return out;
}

/** Interpolates in place; returns an issue per failed reference, the paths whose values stayed unresolved, and deferred templates. */
function interpolateDocument(doc: Document, ctx: InterpolationContext, at: (offset?: number) => Position) {
  const issues: ConfigIssue[] = [];
  const failed: string[] = [];
  const deferred: { path: Path; template: string }[] = [];
  walkStrings(doc.contents, [], (node, path) => {
    const text = node.value as string;
    if (!text.includes('$')) return;
    const defer = isDeferred(path);
    const r = expand(text, defer ? CHECK_ONLY : ctx, true);
    if (r.errors.length === 0) {
      if (defer && r.value !== text) {
        deferred.push({ path, template: anchorFileRefs(text, ctx.configDir) });
        // Validated with a stand-in; a reference at the start of a url stands for its scheme and host.
        node.value = path[2] === 'url' && text.startsWith('${') ? `http://placeholder.invalid/${r.value}` : r.value;
      } else node.value = r.value;
    } else failed.push(formatPath(path));
    for (const message of r.errors) issues.push({ path: formatPath(path), message, ...at(node.range?.[0]) });
  });
  return { issues, failed, deferred };
}

/** Puts the unresolved templates back into the validated config's backends. */
function restoreDeferred(config: Config, deferred: { path: Path; template: string }[]): void {
  for (const { path, template } of deferred) {
    const backend = config.backends[String(path[1])] as unknown as Record<string, unknown>;
    if (path.length === 3) backend.url = template;
    else (backend[String(path[2])] as Record<string | number, string>)[path[3]] = template;
  }
}

/** The secret-bearing fields of a backend, as `createTransport` needs them. */
export interface BackendSecrets {
  url?: string;
  headers?: Record<string, string>;
  env?: Record<string, string>;
  args?: string[];
}

/**
 * Resolves `${VAR}` and `${file:PATH}` in a backend's url, headers, env and args, right before it is started or probed.
 * Throws GatewayError('config_invalid') naming the backend's YAML path and the missing variable or file.
 */
export function resolveBackendSecrets<T extends BackendSecrets>(
  name: string,
  spec: T,
  env: Readonly<Record<string, string | undefined>>,
  readFile: ReadFile = readUtf8,
): T {
  const ctx: InterpolationContext = { env, configDir: process.cwd(), readFile };
  const errors: string[] = [];
  const one = (where: string, v: string): string => {
    if (!v.includes('$')) return v;
    const r = expand(v, ctx, true);
    errors.push(...r.errors.map((e) => `backends.${name}.${where}: ${e}`));
    return r.value;
  };
  const map = (key: 'headers' | 'env', m?: Record<string, string>) =>
    m && Object.fromEntries(Object.entries(m).map(([k, v]) => [k, one(`${key}.${k}`, v)]));
  const out: T = { ...spec };
  if (spec.headers) out.headers = map('headers', spec.headers);
  if (spec.env) out.env = map('env', spec.env);
  if (spec.args) out.args = spec.args.map((a, i) => one(`args[${i}]`, a));
  if (spec.url !== undefined) {
    const url = one('url', spec.url);
    const valid = URL.canParse(url) && ['http:', 'https:'].includes(new URL(url).protocol);
    if (errors.length === 0 && !valid) errors.push(`backends.${name}.url: must be an http(s) URL after substitution`);
    out.url = url;
  }
  if (errors.length > 0) throw new GatewayError('config_invalid', errors.join('; '));
  return out;
}

function rangeStart(node: unknown): number | undefined {
  return (node as { range?: [number, number, number] } | null)?.range?.[0];
}

/** An empty value (`key:` with nothing after it) has no useful position; point at its key instead. */
function isEmptyValue(node: unknown): boolean {
  return node == null || (isScalar(node) && node.value === null && !node.source);
}

/** Offset for an issue: the value node (or key, for unknown keys); for a missing key, the nearest existing parent. */
function locate(doc: Document, path: Path, at: 'key' | 'value'): number | undefined {
  let node: unknown = doc.contents;
  let offset = rangeStart(node);
  for (let i = 0; i < path.length; i++) {
    if (isAlias(node)) node = node.resolve(doc);
    if (isSeq(node) && typeof path[i] === 'number') {
      node = node.items[path[i] as number];
    } else if (isMap(node)) {
      const pair = node.items.find((p) => keyText(p.key) === String(path[i]));
      if (!pair) return offset;
      const last = i === path.length - 1;
      if (last && (at === 'key' || isEmptyValue(pair.value))) return rangeStart(pair.key);
      node = isEmptyValue(pair.value) ? pair.key : pair.value;
    } else {
      return offset;
    }
    if (node == null) return offset;
    offset = rangeStart(node) ?? offset;
  }
  return offset;
}

function byPosition(a: ConfigIssue, b: ConfigIssue): number {
  return (a.line ?? Infinity) - (b.line ?? Infinity) || (a.col ?? 0) - (b.col ?? 0);
}

const isUnder = (path: string, parents: string[]) => parents.some((p) => path === p || path.startsWith(`${p}.`) || path.startsWith(`${p}[`));

/**
 * An empty file (or one holding only comments) or a top level that is not a mapping is refused rather than read
 * as "all defaults": a half-saved file must never replace a running config with one that has no backends.
 */
function topLevelIssue(doc: Document, at: (offset?: number) => Position): ConfigIssue | undefined {
  const top = doc.contents;
  if (top === null || (isScalar(top) && (top.value === null || top.value === ''))) {
    return { path: '', message: 'config file is empty; it needs at least a mapping of keys (see gateway.example.yaml), or {} for all defaults' };
  }
  if (isMap(top)) return undefined;
  const kind = isSeq(top) ? 'a list' : isScalar(top) ? `a ${typeof top.value} (${JSON.stringify(top.value)})` : 'not a mapping';
  return { path: '', message: `the top level must be a mapping of keys (listen:, backends:, …), got ${kind}`, ...at(rangeStart(top)) };
}

/**
 * Parses and validates gateway.yaml text. `file` names the file in messages and anchors relative paths
 * (data_dir, cwd, `${file:PATH}`); `readFile` is only used for `${file:PATH}`.
 */
export function parseConfigText(
  text: string,
  file: string,
  env: Readonly<Record<string, string | undefined>>,
  readFile: ReadFile = readUtf8,
): { ok: true; config: Config } | { ok: false; issues: ConfigIssue[] } {
  const lineCounter = new LineCounter();
  const at = (offset?: number): Position => (offset === undefined ? {} : lineCounter.linePos(offset));
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      issues: doc.errors.map((e) => ({
        path: '',
        message: e.code === 'MULTIPLE_DOCS' ? 'only one YAML document is allowed' : `YAML syntax error: ${e.message}`,
        ...at(e.pos[0]),
      })),
    };
  }
  const shape = topLevelIssue(doc, at);
  if (shape) return { ok: false, issues: [shape] };
  const ctx: InterpolationContext = { env, configDir: dirname(resolve(file)), readFile };
  const interpolation = interpolateDocument(doc, ctx, at);
  const validation = validateConfig(doc.toJS() ?? {}, ctx);
  if (validation.ok && interpolation.issues.length === 0) {
    restoreDeferred(validation.value, interpolation.deferred);
    return { ok: true, config: validation.value };
  }
  const schemaIssues = validation.ok ? [] : validation.issues;
  const issues = [
    ...interpolation.issues,
    ...schemaIssues
      .map((i) => ({ path: formatPath(i.path), message: i.message, ...at(locate(doc, i.path, i.at)) }))
      // A value whose reference failed is reported once, not again as an invalid value.
      .filter((i) => !isUnder(i.path, interpolation.failed)),
  ];
  return { ok: false, issues: issues.sort(byPosition) };
}

/** Reads and validates a config file; throws ConfigError listing every problem. */
export function loadConfigFile(path: string, env: Readonly<Record<string, string | undefined>>): Config {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    const reason = code === 'ENOENT' ? 'no such file' : typeof code === 'string' ? code : errorMessage(err);
    throw new ConfigError(path, [{ path: '', message: `cannot read ${path}: ${reason}` }], { notFound: code === 'ENOENT', cause: err });
  }
  const result = parseConfigText(text, path, env);
  if (!result.ok) throw new ConfigError(path, result.issues);
  return result.config;
}
