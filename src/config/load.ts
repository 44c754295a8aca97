/**
 * @module Reads gateway.yaml: YAML parse -> ${VAR}/${file:PATH} interpolation -> schema validation -> Config, or every
 * issue at once. A well-formed file is read by Bun's native YAML parser; anything else (a syntax error, an invalid
 * value, or what that parser reads differently from YAML 1.2: duplicate keys, merge keys, anchors, several documents)
 * goes through the yaml package's document (yaml-document.ts), whose positions name the line of every issue.
 */
import { readFileSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { errorMessage, GatewayError } from '../errors.ts';
import { expand, interpolateString, readUtf8, restoreDeferred, type ConfigIssue, type Deferred, type InterpolationContext, type Path, type ReadFile } from './interpolate.ts';
import { validateConfig, type Config } from './schema.ts';
import { isPlainYaml } from './plain-yaml.ts';

export type { ConfigIssue, ReadFile } from './interpolate.ts';

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
  const config = readPlain(text, file, env, readFile);
  if (config) return { ok: true, config };
  // Loaded on first use only: see the module comment of yaml-document.ts.
  const { parseWithPositions } = require('./yaml-document.ts') as typeof import('./yaml-document.ts');
  return parseWithPositions(text, file, env, readFile);
}

/**
 * The fast path: a file in the plain YAML subset both parsers read alike (plain-yaml.ts), parsed natively, every
 * reference resolved and the result valid. Undefined at the first doubt, for the positioned path to report.
 */
function readPlain(text: string, file: string, env: Readonly<Record<string, string | undefined>>, readFile: ReadFile): Config | undefined {
  if (!isPlainYaml(text)) return undefined;
  let value: unknown;
  try {
    value = Bun.YAML.parse(text);
  } catch {
    return undefined;
  }
  if (!isMapping(value)) return undefined;
  const ctx: InterpolationContext = { env, configDir: dirname(resolve(file)), readFile };
  const deferred: Deferred = [];
  if (!interpolateValues(value, [], ctx, deferred)) return undefined;
  const validation = validateConfig(value, ctx);
  if (!validation.ok) return undefined;
  restoreDeferred(validation.value, deferred);
  return validation.value;
}

function isMapping(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Interpolates every string in value position in place (keys never); false at the first failed reference. */
function interpolateValues(node: Record<string, unknown> | unknown[], path: Path, ctx: InterpolationContext, deferred: Deferred): boolean {
  const keys: (string | number)[] = Array.isArray(node) ? node.map((_, i) => i) : Object.keys(node);
  for (const k of keys) {
    const v = (node as Record<string | number, unknown>)[k];
    const at = [...path, k];
    if (typeof v === 'string') {
      const r = interpolateString(v, at, ctx);
      if (r.errors.length > 0) return false;
      (node as Record<string | number, unknown>)[k] = r.value;
      if (r.template !== undefined) deferred.push({ path: at, template: r.template });
    } else if (v !== null && typeof v === 'object' && !interpolateValues(v as Record<string, unknown>, at, ctx, deferred)) return false;
  }
  return true;
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
