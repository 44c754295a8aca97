/**
 * @module Reads other MCP clients' server lists (Claude Desktop's claude_desktop_config.json, Claude Code's
 * .mcp.json, Cursor's and VS Code's mcp.json) and turns each server into a gateway.yaml backend entry. Pure:
 * the caller reads the file and writes the config.
 */
import { basename, dirname } from 'node:path';

type Json = Record<string, unknown>;

const BACKEND_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$/;
const VAR_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Env keys whose values are credentials more often than not (headers always count). */
const SECRET_KEY = /token|key|secret|pass|auth|cookie|credential|session|pat$/i;

/** One server of the imported file and what becomes of it. */
export interface ImportCandidate {
  /** The server's name in the imported file. */
  sourceName: string;
  /** The backend name it gets (sanitized to `^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$`). */
  name: string;
  transport: 'stdio' | 'auto' | 'streamable-http' | 'sse' | 'unknown';
  /** URL, or the command line, for display. */
  target: string;
  /** The gateway.yaml entry; absent when skipped. */
  entry?: Json;
  /** Why it is not added (set by planImport for existing names, --only, or an untranslatable server). */
  skip?: string;
  /** `env.X` / `headers.Y` whose literal values will be written into the config. */
  secrets: string[];
  /** Things the user should know that do not stop the import (e.g. an ignored envFile). */
  notes: string[];
}

/** Where the file sits and what the environment holds; `${VAR}` references must resolve here. */
export interface ImportContext {
  file: string;
  env: Readonly<Record<string, string | undefined>>;
}

/** The server map of a client config: `mcpServers` (Claude, Cursor), `servers` (VS Code mcp.json) or `mcp.servers` (VS Code settings.json). */
export function findServers(doc: unknown): { ok: true; shape: string; servers: Record<string, unknown> } | { ok: false; error: string } {
  if (!isObject(doc)) return { ok: false, error: 'the file is not a JSON object' };
  const nested = isObject(doc.mcp) ? doc.mcp.servers : undefined;
  const [shape, servers] = doc.mcpServers !== undefined ? ['mcpServers', doc.mcpServers] : doc.servers !== undefined ? ['servers', doc.servers] : ['mcp.servers', nested];
  if (servers === undefined) return { ok: false, error: 'it has no "mcpServers" or "servers" object' };
  if (!isObject(servers)) return { ok: false, error: `"${shape}" is not an object of servers` };
  return { ok: true, shape, servers };
}

/** Parses JSON with the comments and trailing commas VS Code and Cursor allow in their mcp.json (JSONC). */
export function parseJsonc(text: string): unknown {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === '"') {
      const start = i++;
      while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
      out += text.slice(start, ++i);
    } else if (c === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      i = end < 0 ? text.length : end + 2;
    } else {
      out += c;
      i++;
    }
  }
  return JSON.parse(out.replace(/,(\s*[}\]])/g, '$1'));
}

/** A valid backend name from any server name: other characters become `-`, at most 32 characters. */
export function sanitizeBackendName(name: string): string {
  const s = name.replace(/[^A-Za-z0-9_-]+/g, '-').replace(/^[_-]+/, '').slice(0, 32).replace(/-+$/, '');
  return BACKEND_NAME.test(s) ? s : 'server';
}

/** The workspace a project config belongs to: the parent of `.vscode/` or `.cursor/`, else the file's directory. */
function workspaceOf(file: string): string {
  const dir = dirname(file);
  return basename(dir) === '.vscode' || basename(dir) === '.cursor' ? dirname(dir) : dir;
}

/**
 * Rewrites the clients' variable syntaxes into mcpgw's: `${VAR}` and `${env:VAR}` -> `${VAR}`, Claude Code's
 * `${VAR:-default}` -> `${VAR}` when set else the default, `${userHome}` -> `${HOME}`, `${workspaceFolder}` -> the
 * workspace path. A reference mcpgw could not resolve (VS Code's `${input:…}`, an unset variable) is a problem.
 */
export function translateValue(s: string, ctx: ImportContext): { value: string } | { problem: string } {
  let problem: string | undefined;
  const value = s.replace(/\$\{([^}]*)\}/g, (whole, body: string) => {
    const [ref, fallback] = body.includes(':-') ? [body.slice(0, body.indexOf(':-')), body.slice(body.indexOf(':-') + 2)] : [body, undefined];
    const name = ref.startsWith('env:') ? ref.slice(4) : ref === 'userHome' ? 'HOME' : ref;
    if (ref === 'workspaceFolder') return workspaceOf(ctx.file).replaceAll('${', '$${');
    if (ref.startsWith('input:')) return (problem ??= `uses ${whole}, which VS Code asks for when it starts the server; add it by hand with a \${VAR} instead`), whole;
    if (!VAR_NAME.test(name)) return (problem ??= `uses ${whole}, which mcpgw cannot resolve`), whole;
    if (ctx.env[name] !== undefined) return `\${${name}}`;
    if (fallback !== undefined) return fallback.replaceAll('${', '$${');
    return (problem ??= `needs the environment variable ${name}, which is not set here; set it and import again`), whole;
  });
  return problem ? { problem } : { value };
}

function translateMap(m: unknown, what: string, ctx: ImportContext, problems: string[]): Record<string, string> | undefined {
  if (m === undefined) return undefined;
  if (!isObject(m)) return void problems.push(`"${what}" is not an object`), undefined;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(m)) {
    const t = translateValue(String(v), ctx);
    if ('problem' in t) problems.push(`${what}.${k} ${t.problem}`);
    else out[k] = t.value;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

/** Literal (non-reference) values of credential-looking env keys and of every header. */
function literalSecrets(env: Record<string, string> | undefined, headers: Record<string, string> | undefined): string[] {
  const literal = (v: string) => !/^\$\{[A-Za-z_][A-Za-z0-9_]*\}$/.test(v.trim()) && v.trim() !== '';
  const fromEnv = Object.entries(env ?? {}).filter(([k, v]) => SECRET_KEY.test(k) && literal(v)).map(([k]) => `env.${k}`);
  const fromHeaders = Object.entries(headers ?? {}).filter(([, v]) => literal(v.replace(/^(Bearer|Basic|Token)\s+/i, ''))).map(([k]) => `headers.${k}`);
  return [...fromEnv, ...fromHeaders];
}

const URL_TRANSPORT: Record<string, 'streamable-http' | 'sse'> = { http: 'streamable-http', 'streamable-http': 'streamable-http', streamableHttp: 'streamable-http', sse: 'sse' };

/** Translates one server of a client config into a backend entry (or a reason it cannot be). */
export function translateServer(sourceName: string, raw: unknown, ctx: ImportContext): ImportCandidate {
  const base = { sourceName, name: sanitizeBackendName(sourceName), secrets: [] as string[], notes: [] as string[] };
  if (!isObject(raw)) return { ...base, transport: 'unknown', target: '-', skip: 'is not an object' };
  const problems: string[] = [];
  const entry: Json = {};
  const type = typeof raw.type === 'string' ? raw.type : undefined;
  const url = typeof raw.url === 'string' ? raw.url : typeof raw.serverUrl === 'string' ? raw.serverUrl : undefined;
  let transport: ImportCandidate['transport'];
  let target: string;
  if (typeof raw.command === 'string' && raw.command) {
    transport = 'stdio';
    const cmd = translateValue(raw.command, ctx);
    const args = Array.isArray(raw.args) ? raw.args.map((a) => translateValue(String(a), ctx)) : [];
    for (const t of [cmd, ...args]) if ('problem' in t) problems.push(`command line ${t.problem}`);
    entry.command = 'value' in cmd ? cmd.value : raw.command;
    const argv = args.map((t) => ('value' in t ? t.value : ''));
    if (argv.length > 0) entry.args = argv;
    const env = translateMap(raw.env, 'env', ctx, problems);
    if (env) entry.env = env;
    if (typeof raw.cwd === 'string') {
      const cwd = translateValue(raw.cwd, ctx);
      if ('problem' in cwd) problems.push(`cwd ${cwd.problem}`);
      else entry.cwd = cwd.value;
    }
    if (raw.envFile !== undefined) base.notes.push('envFile is not imported; copy the variables it needs into env');
    target = [raw.command, ...(Array.isArray(raw.args) ? raw.args.map(String) : [])].join(' ');
    base.secrets = literalSecrets(env, undefined);
  } else if (url) {
    transport = type && URL_TRANSPORT[type] ? URL_TRANSPORT[type] : 'auto';
    if (type && !URL_TRANSPORT[type]) base.notes.push(`type '${type}' is not known; the transport is detected at connect`);
    const u = translateValue(url, ctx);
    if ('problem' in u) problems.push(`url ${u.problem}`);
    else if (!/^https?:\/\//i.test(u.value)) problems.push(`url ${url} is not an http(s) URL`);
    else entry.url = u.value;
    if (transport !== 'auto') entry.transport = transport;
    const headers = translateMap(raw.headers, 'headers', ctx, problems);
    if (headers) entry.headers = headers;
    target = url;
    base.secrets = literalSecrets(undefined, headers);
  } else {
    return { ...base, transport: 'unknown', target: '-', skip: 'has neither "command" nor "url"' };
  }
  if (raw.disabled === true || raw.enabled === false) entry.enabled = false;
  if (problems.length > 0) return { ...base, transport, target, skip: problems[0] };
  return { ...base, transport, target, entry };
}

/**
 * Translates every server and decides which are added: names already in the config are skipped, as are
 * servers not named in `only` (original or sanitized name); two servers that sanitize to one name get `-2`, `-3`.
 */
export function planImport(servers: Record<string, unknown>, existing: Set<string>, ctx: ImportContext, only?: string[]): ImportCandidate[] {
  const taken = new Set<string>();
  return Object.entries(servers).map(([sourceName, raw]) => {
    const c = translateServer(sourceName, raw, ctx);
    for (let i = 2; taken.has(c.name) && !existing.has(c.name); i++) c.name = `${sanitizeBackendName(sourceName).slice(0, 29)}-${i}`;
    taken.add(c.name);
    if (only && !only.includes(sourceName) && !only.includes(c.name)) return { ...c, entry: undefined, skip: 'not in --only' };
    if (existing.has(c.name)) return { ...c, entry: undefined, skip: `a backend named '${c.name}' exists already` };
    return c;
  });
}

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
