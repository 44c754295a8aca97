/**
 * @module `${VAR}` / `${file:PATH}` interpolation of config values, shared by the two ways gateway.yaml is read
 * (load.ts: Bun's native YAML parser for a well-formed file; yaml-document.ts: the yaml package's document
 * with positions, for every issue with its line).
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { errorMessage } from '../errors.ts';
import { resolveConfigPath, type Config, type SchemaContext } from './schema.ts';

/** One problem in a config file: dotted path (`backends.erp.url`, `auth.clients[0].client_id`), message, 1-based position. */
export interface ConfigIssue {
  path: string;
  message: string;
  line?: number;
  col?: number;
}

/** Reads a file's text; the seam `${file:PATH}` uses. */
export type ReadFile = (path: string) => string;
export const readUtf8: ReadFile = (p) => readFileSync(p, 'utf8');

export type Path = (string | number)[];
export type Position = { line?: number; col?: number };

export function formatPath(path: Path): string {
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

export interface InterpolationContext extends SchemaContext {
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
export function expand(s: string, ctx: InterpolationContext, allowFile: boolean): { value: string; errors: string[] } {
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

/** What interpolating one string value gave: its value, the template kept for later (deferred), or errors. */
export interface Interpolated {
  value: string;
  /** The template to restore after validation (a deferred secret-bearing backend field). */
  template?: string;
  errors: string[];
}

/** Interpolates one string in value position at `path` (deferred fields are only syntax-checked). */
export function interpolateString(text: string, path: Path, ctx: InterpolationContext): Interpolated {
  if (!text.includes('$')) return { value: text, errors: [] };
  const defer = isDeferred(path);
  const r = expand(text, defer ? CHECK_ONLY : ctx, true);
  if (r.errors.length > 0 || !defer || r.value === text) return { value: r.value, errors: r.errors };
  // Validated with a stand-in; a reference at the start of a url stands for its scheme and host.
  return { value: path[2] === 'url' && text.startsWith('${') ? `http://placeholder.invalid/${r.value}` : r.value, template: anchorFileRefs(text, ctx.configDir), errors: [] };
}

export type Deferred = { path: Path; template: string }[];

/** Puts the unresolved templates back into the validated config's backends. */
export function restoreDeferred(config: Config, deferred: Deferred): void {
  for (const { path, template } of deferred) {
    const backend = config.backends[String(path[1])] as unknown as Record<string, unknown>;
    if (path.length === 3) backend.url = template;
    else (backend[String(path[2])] as Record<string | number, string>)[path[3]] = template;
  }
}

