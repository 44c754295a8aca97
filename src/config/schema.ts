/**
 * @module The gateway.yaml schema: every key, its default and the cross-field rules. Defaults live here only.
 * A hand-written validator (issue 7: zod cost ~50 ms of CPU and ~4 MB at start-up); it reports what the zod
 * schema it replaced reported, in the same order, down to which failures stop the checks that follow.
 */
import { isIPv4, isIPv6 } from '../ip.ts';
import { isAbsolute, join, resolve } from 'node:path';
import type { AuthSettings } from '../oauth/settings.ts';
import { DURATION_MESSAGE, parseDuration } from './duration.ts';

/** What the schema needs from outside: the environment (for `~` and XDG defaults) and the config file's directory. */
export interface SchemaContext {
  env: Readonly<Record<string, string | undefined>>;
  configDir: string;
}

const BACKEND_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$/;
const PREFIX = /^[A-Za-z0-9_-]{1,32}$/;
const TOOL_NAME = /^[A-Za-z0-9_-]{1,64}$/;
const SEPARATOR = /^[A-Za-z0-9_-]{1,3}$/;
/** RFC 9110 §5.6.2 token. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const LISTEN = /^(?:\[([^\]]+)\]|([^:[\]\s]+)):(\d{1,5})$/;

const LISTEN_MESSAGE = 'must be host:port, like 127.0.0.1:4444 or [::1]:4444 (port 0-65535)';
const HTTP_URL_MESSAGE = 'must be an http(s) URL';
const PREFIX_MESSAGE = 'must match ^[A-Za-z0-9_-]{1,32}$, or be false for no prefix';
const PASSWORD_HASH_MESSAGE = "must be a PHC hash from 'mcpgw passwd' (plain passwords are refused)";
const SECRET_HASH_MESSAGE = 'must be a PHC hash (argon2 or bcrypt); plain secrets are refused';

/** Keys refused with a specific message instead of "unknown key" (array indexes written as `[]`). */
const REFUSED_KEYS: Record<string, string> = {
  'auth.password': "plain passwords are refused; run 'mcpgw passwd' to set auth.password_hash",
  'auth.clients[].client_secret': 'plain secrets are refused; set client_secret_hash to a PHC hash (argon2 or bcrypt)',
};

/** True for `localhost`, `::1` (bracketed or not) and any address in 127.0.0.0/8. */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase();
  if (h === 'localhost' || h === '::1' || h === '[::1]') return true;
  return isIPv4(h) && h.startsWith('127.');
}

function tryParseListen(listen: string): { host: string; port: number } | undefined {
  const m = LISTEN.exec(listen);
  if (!m) return undefined;
  const host = m[1] ?? m[2];
  const port = Number(m[3]);
  if (port > 65535 || (m[1] !== undefined && !isIPv6(host))) return undefined;
  return { host, port };
}

/** Splits a `listen` value (`host:port`, IPv6 as `[::1]:4444`) into host (without brackets) and port; throws if invalid. */
export function parseListen(listen: string): { host: string; port: number } {
  const parsed = tryParseListen(listen);
  if (!parsed) throw new Error(`invalid listen address '${listen}': ${LISTEN_MESSAGE}`);
  return parsed;
}

/** Expands a leading `~` to $HOME and resolves relative paths against the config file's directory; undefined if `~` is used without HOME. */
export function resolveConfigPath(p: string, ctx: SchemaContext): string | undefined {
  if (p === '~' || p.startsWith('~/')) {
    const home = ctx.env.HOME;
    return home ? join(home, p.slice(1)) : undefined;
  }
  return isAbsolute(p) ? resolve(p) : resolve(ctx.configDir, p);
}

/** `$XDG_STATE_HOME/mcpgw`, with XDG_STATE_HOME defaulting to `$HOME/.local/state` (relative values are ignored, per the XDG spec). */
function defaultDataDir(env: SchemaContext['env']): string | undefined {
  if (env.XDG_STATE_HOME && isAbsolute(env.XDG_STATE_HOME)) return join(env.XDG_STATE_HOME, 'mcpgw');
  return env.HOME ? join(env.HOME, '.local', 'state', 'mcpgw') : undefined;
}

function isHttpUrl(v: string): boolean {
  if (!URL.canParse(v)) return false;
  const { protocol } = new URL(v);
  return protocol === 'http:' || protocol === 'https:';
}

/** public_url: http(s), no query/fragment/credentials, https unless loopback; returned without a trailing slash. */
function checkPublicUrl(v: string): { url: string } | { error: string } {
  if (!isHttpUrl(v)) return { error: HTTP_URL_MESSAGE };
  const u = new URL(v);
  if (v.includes('?') || v.includes('#')) return { error: 'must not have a query or fragment' };
  if (u.username || u.password) return { error: 'must not contain credentials' };
  if (u.protocol === 'http:' && !isLoopbackHost(u.hostname)) return { error: 'must be https unless the host is loopback' };
  return { url: u.href.replace(/\/+$/, '') };
}

/** RFC 6749 §3.1.2: a redirection endpoint is an absolute URI and MUST NOT include a fragment. */
function isRedirectUri(v: string): boolean {
  return URL.canParse(v) && !v.includes('#');
}

type Loose = Record<string, unknown>;
type Path = (string | number)[];
const isObject = (v: unknown): v is Loose => typeof v === 'object' && v !== null && !Array.isArray(v);
const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** A map as YAML gives it (not an array, not a class instance). */
function isPlainObject(v: unknown): v is Loose {
  if (!isObject(v)) return false;
  const ctor = v.constructor;
  if (ctor === undefined || typeof ctor !== 'function') return true;
  const proto: unknown = ctor.prototype;
  return isObject(proto) && Object.prototype.hasOwnProperty.call(proto, 'isPrototypeOf');
}

/**
 * An issue found while validating. `stop` says what it stops: 'type' (a value of the wrong kind) stops the
 * checks of every value that contains it, 'all' (a number that is not an integer)
 * also stops the cross-field rules, 'none' (a failed check on a value of the right kind) stops nothing.
 */
interface RunIssue extends SchemaIssue {
  stop: 'none' | 'type' | 'all';
}

/** One validation: the issues so far and the context paths resolve against. */
class Run {
  readonly issues: RunIssue[] = [];
  constructor(readonly ctx: SchemaContext) {}

  add(path: Path, message: string, stop: RunIssue['stop'] = 'type', at: SchemaIssue['at'] = 'value'): void {
    this.issues.push({ path, message, at, stop });
  }

  /** A value of the wrong kind: `is required` when absent. */
  type(path: Path, expected: string, v: unknown): void {
    this.add(path, v === undefined ? 'is required' : `must be ${EXPECTED[expected] ?? expected}, got ${describeValue(v)}`);
  }

  /** Whether an issue since `from` stops a value's own checks. */
  stopped(from: number): boolean {
    for (let i = from; i < this.issues.length; i++) if (this.issues[i].stop !== 'none') return true;
    return false;
  }

  /** Whether an issue since `from` stops even the cross-field rules. */
  halted(from: number): boolean {
    for (let i = from; i < this.issues.length; i++) if (this.issues[i].stop === 'all') return true;
    return false;
  }
}

/** Validates one value at `path`; returns the parsed value (on failure, whatever is left of the input). */
type Check<T = unknown> = (v: unknown, path: Path, r: Run) => T;
/** A rule on a string: true when it holds, with the message when it does not. */
type Rule = [test: (s: string) => boolean, message: string] | LengthRule;
/**
 * A bound on `.length` (strings in code points). Unlike the other rules it is checked on any value that has a
 * length, so a list where a string belongs is reported twice when it is also too short (as zod did).
 */
interface LengthRule {
  min?: number;
  max?: number;
}

const notEmpty: LengthRule = { min: 1 };

function checkLength(v: unknown, path: Path, r: Run, { min, max }: LengthRule): void {
  if (v === null || v === undefined || (v as { length?: unknown }).length === undefined) return;
  const units = (v as { length: number }).length;
  const unit = typeof v === 'string' ? 'characters' : 'items';
  const codePoints = () => (typeof v === 'string' ? [...v].length : units);
  if (min !== undefined && !((typeof v === 'string' && units >= min && units < min * 2 ? codePoints() : units) >= min)) {
    r.add(path, min === 1 ? 'must not be empty' : `must have at least ${min} ${unit}`, 'none');
  }
  if (max !== undefined && !((typeof v === 'string' && units > max ? codePoints() : units) <= max)) r.add(path, `must have at most ${max} ${unit}`, 'none');
}

/** A string; every rule is checked (a failed rule does not stop the next one). */
function str(...rules: Rule[]): Check<string> {
  return (v, path, r) => {
    const isString = typeof v === 'string';
    if (!isString) r.type(path, 'string', v);
    for (const rule of rules) {
      if (!Array.isArray(rule)) checkLength(v, path, r, rule);
      else if (isString && !rule[0](v)) r.add(path, rule[1], 'none');
    }
    return v as string;
  };
}

/** A string, then `convert` when every rule holds; `convert` returns `{ error }` when the value is unusable. */
function strThen<T>(rules: Rule[], convert: (s: string, r: Run) => { value: T } | { error: string }): Check<T> {
  const check = str(...rules);
  return (v, path, r) => {
    const from = r.issues.length;
    const s = check(v, path, r);
    if (r.issues.length > from) return s as T;
    const out = convert(s, r);
    if ('value' in out) return out.value;
    r.add(path, out.error);
    return s as T;
  };
}

/** Absent stays absent. */
const optional =
  <T>(check: Check<T>): Check<T | undefined> =>
  (v, path, r) =>
    v === undefined ? undefined : check(v, path, r);
/** Absent takes `value` as is. */
const withDefault =
  <T>(check: Check<T>, value: () => T): Check<T> =>
  (v, path, r) =>
    v === undefined ? value() : check(v, path, r);
/** Absent is validated as if `value` had been written. */
const withPrefault =
  <T>(check: Check<T>, value: unknown): Check<T> =>
  (v, path, r) =>
    check(v === undefined ? value : v, path, r);
const optionalKeys = new WeakSet<Check>();
/** Marks a field that is left out of the output when absent. */
function omitted<T>(check: Check<T>): Check<T | undefined> {
  const c = optional(check);
  optionalKeys.add(c as Check);
  return c;
}

function oneOf<const T extends string>(values: readonly T[]): Check<T> {
  return (v, path, r) => {
    if (!values.includes(v as T)) r.add(path, `must be one of ${values.join(', ')}`);
    return v as T;
  };
}

function durationCheck(v: unknown, path: Path, r: Run): number {
  if (typeof v !== 'string' && !isNumber(v)) {
    r.add(path, DURATION_MESSAGE);
    return v as number;
  }
  const ms = parseDuration(v);
  if (ms === undefined) r.add(path, DURATION_MESSAGE);
  return ms ?? (v as number);
}
const duration: Check<number> = durationCheck;
/** A duration with a default written the way a user would (e.g. '1h'); output in ms. */
const durationOr = (d: string) => withPrefault(duration, d);

/** Integers from `min` to `max`; digit strings are accepted because `${VAR}` substitution always yields strings. */
function int(min: number, max = Number.MAX_SAFE_INTEGER): Check<number> {
  return (v, path, r) => {
    let n: number;
    if (isNumber(v)) n = v;
    else if (typeof v === 'string') {
      if (!/^\s*\d+\s*$/.test(v)) {
        r.add(path, 'must be an integer', 'none');
        return v as unknown as number;
      }
      n = Number(v);
    } else {
      r.add(path, 'must be an integer');
      return v as number;
    }
    if (!Number.isFinite(n)) {
      r.add(path, `must be a number, got ${describeValue(n)}`);
      return n;
    }
    if (!Number.isInteger(n)) {
      r.add(path, `must be an integer, got ${describeValue(n)}`, 'all');
      return n;
    }
    if (n > Number.MAX_SAFE_INTEGER) r.add(path, `must be at most ${Number.MAX_SAFE_INTEGER}`, 'none');
    if (n < Number.MIN_SAFE_INTEGER) r.add(path, `must be at least ${Number.MIN_SAFE_INTEGER}`, 'none');
    if (n < min) r.add(path, `must be at least ${min}`, 'none');
    if (n > max) r.add(path, `must be at most ${max}`, 'none');
    return n;
  };
}

const bool: Check<boolean> = (v, path, r) => {
  if (typeof v === 'boolean') return v;
  if (v === 'true' || v === 'false') return v === 'true';
  r.add(path, 'must be true or false');
  return v as boolean;
};
const boolOr = (d: boolean) => withDefault(bool, () => d);

/** Strings where YAML would otherwise type a number or boolean (env values, args). */
const stringish: Check<string> = (v, path, r) => {
  if (typeof v === 'string' || isNumber(v) || typeof v === 'boolean') return String(v);
  r.add(path, 'must be a string');
  return v as string;
};
const phc = (message: string) => str([(v) => v.startsWith('$argon2') || v.startsWith('$2'), message]);

function array<T>(item: Check<T>, opts: { nonEmpty?: boolean } = {}): Check<T[]> {
  return (v, path, r) => {
    if (!Array.isArray(v)) {
      r.type(path, 'array', v);
      if (opts.nonEmpty) checkLength(v, path, r, notEmpty);
      return v as T[];
    }
    const out = v.map((x, i) => item(x, [...path, i], r));
    if (opts.nonEmpty) checkLength(v, path, r, notEmpty);
    return out;
  };
}
const list = <T>(item: Check<T>) => withDefault(array(item), () => []);

/** A map with free keys; a key that breaks `key` is reported on the key, and its value is not checked. */
function record<T>(value: Check<T>, key?: RegExp, keyMessage = ''): Check<Record<string, T>> {
  return (v, path, r) => {
    if (!isPlainObject(v)) {
      r.type(path, 'record', v);
      return v as Record<string, T>;
    }
    const out: Record<string, T> = {};
    for (const k of Object.keys(v)) {
      if (k === '__proto__') continue;
      if (key && !key.test(k)) {
        r.add([...path, k], keyMessage, 'type', 'key');
        continue;
      }
      out[k] = value(v[k], [...path, k], r);
    }
    return out;
  };
}
const stringMap = <T>(value: Check<T>) => withDefault(record(value), () => ({}));

/**
 * A map with these keys only (unknown keys are reported, the refused ones with their own message); `rule`
 * then checks the fields together, unless a failure that stops everything was found inside.
 */
function object(shape: Record<string, Check>, rule?: (o: Loose, path: Path, r: Run) => void): Check<Loose> {
  return (v, path, r) => {
    if (!isObject(v)) {
      r.type(path, 'object', v);
      return v as Loose;
    }
    const from = r.issues.length;
    const out: Loose = {};
    for (const [k, check] of Object.entries(shape)) {
      const present = k in v;
      if (!present && optionalKeys.has(check)) continue;
      const value = check(v[k], [...path, k], r);
      if (value !== undefined || present) out[k] = value;
    }
    for (const k in v) {
      if (Object.hasOwn(shape, k)) continue;
      const pattern = [...path, k].map((p) => (typeof p === 'number' ? '[]' : `.${p}`)).join('').slice(1);
      r.add([...path, k], REFUSED_KEYS[pattern] ?? 'unknown key', 'none', 'key');
    }
    if (rule && !r.halted(from)) rule(out, path, r);
    return out;
  };
}

/** An IPv4/IPv6 address, optionally with a /prefix. */
function isIpOrCidr(v: string): boolean {
  const [addr = '', prefix, ...rest] = v.split('/');
  const max = isIPv4(addr) ? 32 : isIPv6(addr) ? 128 : -1;
  return max > 0 && rest.length === 0 && (prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= max));
}

const client = object({
  client_id: str(notEmpty, { max: 200 }),
  client_name: omitted(str()),
  redirect_uris: array(str([isRedirectUri, 'must be an absolute URI without a fragment']), { nonEmpty: true }),
  client_secret_hash: omitted(phc(SECRET_HASH_MESSAGE)),
});

const clients: Check<Loose[]> = (v, path, r) => {
  const from = r.issues.length;
  const out = list(client)(v, path, r);
  if (r.stopped(from)) return out;
  const seen = new Set<unknown>();
  out.forEach((c, i) => {
    if (seen.has(c.client_id)) r.add([...path, i, 'client_id'], 'duplicate client_id');
    seen.add(c.client_id);
  });
  return out;
};

const auth = object({
  mode: withDefault(oneOf(['oauth', 'none']), () => 'oauth' as const),
  password_hash: omitted(phc(PASSWORD_HASH_MESSAGE)),
  access_token_ttl: durationOr('1h'),
  refresh_token_ttl: durationOr('30d'),
  refresh_grace: durationOr('2m'),
  code_ttl: durationOr('60s'),
  registration: withPrefault(object({ enabled: boolOr(true), rate_limit: withDefault(int(1), () => 20), unused_client_ttl: durationOr('24h') }), {}),
  cimd: withPrefault(
    object({
      enabled: boolOr(true),
      allow_private_addresses: boolOr(false),
      allow_http: boolOr(false),
      timeout: durationOr('5s'),
      max_bytes: withDefault(int(1), () => 5120),
    }),
    {},
  ),
  clients,
  login: withPrefault(object({ max_failures: withDefault(int(1), () => 5), lockout: durationOr('15m'), global_max_failures: withDefault(int(1), () => 50) }), {}),
});

/** `audit`: the SQLite audit log of calls and sign-ins (store/audit.ts). */
const audit = object({
  log_arguments: boolOr(false),
  retention: durationOr('30d'),
});

const http = object({
  allowed_origins: list(str([(v) => URL.canParse(v) && new URL(v).origin === v, 'must be an origin like https://app.example.com (no path or trailing slash)'])),
  allowed_hosts: list(str(notEmpty)),
  max_body_bytes: withDefault(int(1), () => 4 * 1024 * 1024),
  max_json_depth: withDefault(int(1), () => 64),
  max_header_bytes: withDefault(int(1), () => 16384),
  sse_keepalive: durationOr('15s'),
  shutdown_grace: durationOr('10s'),
  stream_buffer_bytes: withDefault(int(1024), () => 1024 * 1024),
  session_idle: durationOr('24h'),
  max_sessions: withDefault(int(1), () => 10_000),
  max_sessions_per_grant: withDefault(int(1), () => 100),
  trusted_proxies: withDefault(array(str([isIpOrCidr, 'must be an IP address or CIDR like 127.0.0.0/8 or fd7a:115c:a1e0::/48'])), () => ['127.0.0.0/8', '::1']),
});

const tools = object({
  allow: withDefault(array(str()), () => ['*']),
  deny: list(str()),
  rename: stringMap(str([(v) => TOOL_NAME.test(v), 'must match ^[A-Za-z0-9_-]{1,64}$'])),
  descriptions: stringMap(str()),
});

/** Tool filtering for one backend: allow/deny globs (`*`, `?`) on original names, then renames and description overrides. */
export interface ToolFilter {
  allow: string[];
  deny: string[];
  rename: Record<string, string>;
  descriptions: Record<string, string>;
}

/** Fields every backend has after parsing. */
interface BackendCommon {
  enabled: boolean;
  /** Namespace prefix for this backend's tools; defaults to the backend name; false means unprefixed. */
  prefix: string | false;
  description?: string;
  /** Tool pinning (rug-pull defence): off, warn (log a changed tool), strict (also withhold it until approved). */
  pinning: 'off' | 'warn' | 'strict';
  /** Per-call timeout in ms; absent means backend_defaults.timeout. */
  timeout?: number;
  /** Connect timeout in ms; absent means backend_defaults.connect_timeout. */
  connect_timeout?: number;
  /** Largest message accepted from the backend in bytes; absent means backend_defaults.max_message_bytes. */
  max_message_bytes?: number;
  /** Health ping interval in ms (url backends; 0 = off); absent means backend_defaults.health_interval. */
  health_interval?: number;
  /** Protocol revisions offered: auto (2026-07-28 server/discover, else initialize) or legacy; absent means backend_defaults.protocol. */
  protocol?: 'auto' | 'legacy';
  tools: ToolFilter;
}

/** One backend after parsing: a stdio child (`command`) or an HTTP server (`url`); `transport` tells which. */
export type BackendConfig = BackendCommon &
  (
    | { transport: 'stdio'; command: string; args: string[]; env: Record<string, string>; cwd: string }
    | { transport: 'auto' | 'streamable-http' | 'sse'; url: string; headers: Record<string, string> }
  );

/** Exactly one of url/command, and the fields that only make sense with one of them. */
function checkBackendShape(b: Loose, path: Path, r: Run): void {
  const hasUrl = b.url !== undefined;
  const hasCommand = b.command !== undefined;
  const issue = (at: string[], message: string) => r.add([...path, ...at], message);
  if (!hasUrl && !hasCommand) return issue([], 'needs either url or command');
  if (hasUrl && hasCommand) return issue([], 'has both url and command');
  if (b.transport === 'stdio' && !hasCommand) issue(['transport'], 'stdio requires command');
  if ((b.transport === 'streamable-http' || b.transport === 'sse') && !hasUrl) issue(['transport'], `${b.transport} requires url`);
  if (hasCommand && b.headers !== undefined) issue(['headers'], 'only allowed for url backends');
  for (const key of ['env', 'args', 'cwd']) if (hasUrl && b[key] !== undefined) issue([key], 'only allowed for command backends');
}

const configPath = strThen([notEmpty], (p, r) => {
  const value = resolveConfigPath(p, r.ctx);
  return value === undefined ? { error: 'starts with ~ but HOME is not set' } : { value };
});
const prefix: Check<string | false> = (v, path, r) => {
  if (v === false) return v;
  if (typeof v === 'string') {
    if (!PREFIX.test(v)) r.add(path, PREFIX_MESSAGE, 'none');
    return v;
  }
  r.add(path, PREFIX_MESSAGE);
  return v as string;
};

const backend = object(
  {
    url: omitted(str([isHttpUrl, HTTP_URL_MESSAGE])),
    command: omitted(str(notEmpty)),
    transport: withDefault(oneOf(['auto', 'streamable-http', 'sse', 'stdio']), () => 'auto' as const),
    headers: omitted(record(str(), HEADER_NAME, 'must be an HTTP header name')),
    args: omitted(array(stringish)),
    env: omitted(record(stringish)),
    cwd: omitted(configPath),
    timeout: omitted(duration),
    connect_timeout: omitted(duration),
    max_message_bytes: omitted(int(1024)),
    health_interval: omitted(duration),
    protocol: omitted(oneOf(['auto', 'legacy'])),
    enabled: boolOr(true),
    prefix: omitted(prefix),
    description: omitted(str()),
    pinning: withDefault(oneOf(['off', 'warn', 'strict']), () => 'warn' as const),
    tools: withPrefault(tools, {}),
  },
  checkBackendShape,
);

type BackendEntry = Omit<BackendCommon, 'prefix'> & {
  prefix?: string | false;
  url?: string;
  command?: string;
  transport: string;
  headers?: Record<string, string>;
  args?: string[];
  env?: Record<string, string>;
  cwd?: string;
};

function toBackendConfig(name: string, b: BackendEntry, ctx: SchemaContext): BackendConfig {
  const { url, command, transport, headers, args, env, cwd, prefix, ...common } = b;
  const shared = { ...common, prefix: prefix ?? name };
  if (command !== undefined) return { ...shared, transport: 'stdio', command, args: args ?? [], env: env ?? {}, cwd: cwd ?? ctx.configDir };
  return { ...shared, transport: transport as 'auto' | 'streamable-http' | 'sse', url: url!, headers: headers ?? {} };
}

/** Refuses an open gateway on a reachable address, and a derived http:// public URL that is not loopback. */
function checkExposure(c: Loose, path: Path, r: Run): void {
  const listen = typeof c.listen === 'string' ? tryParseListen(c.listen) : undefined;
  if (!listen || isLoopbackHost(listen.host)) return;
  if (isObject(c.auth) && c.auth.mode === 'none') {
    r.add([...path, 'auth', 'mode'], 'none is only allowed when listen is a loopback address');
  }
  if (c.public_url === undefined) {
    r.add([...path, 'public_url'], 'must be set to an https URL when listen is not a loopback address');
  }
}

const backends: Check<Record<string, BackendConfig>> = (v, path, r) => {
  const from = r.issues.length;
  const entries = record(backend, BACKEND_NAME, 'backend names must match ^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$')(v, path, r);
  if (r.issues.length > from) return entries as unknown as Record<string, BackendConfig>;
  return Object.fromEntries(Object.entries(entries).map(([name, b]) => [name, toBackendConfig(name, b as unknown as BackendEntry, r.ctx)]));
};

const config = object(
  {
    listen: withDefault(str([(v) => tryParseListen(v) !== undefined, LISTEN_MESSAGE]), () => '127.0.0.1:4444'),
    public_url: omitted(
      strThen([], (v) => {
        const checked = checkPublicUrl(v);
        return 'url' in checked ? { value: checked.url } : checked;
      }),
    ),
    data_dir: (v, path, r) => {
      if (v !== undefined) {
        const from = r.issues.length;
        const s = str(notEmpty)(v, path, r);
        if (r.issues.length > from) return s;
      }
      const dir = v === undefined ? defaultDataDir(r.ctx.env) : resolveConfigPath(v as string, r.ctx);
      if (dir !== undefined) return dir;
      r.add(path, v === undefined ? 'is required when HOME and XDG_STATE_HOME are unset' : 'starts with ~ but HOME is not set');
      return v;
    },
    log_level: withDefault(oneOf(['debug', 'info', 'warn', 'error']), () => 'info' as const),
    log_format: withDefault(oneOf(['auto', 'text', 'json']), () => 'auto' as const),
    auth: withPrefault(auth, {}),
    http: withPrefault(http, {}),
    metrics: withPrefault(object({ enabled: boolOr(true), max_tool_labels: withDefault(int(1, 100_000), () => 500) }), {}),
    audit: withPrefault(audit, {}),
    naming: withPrefault(object({ separator: withDefault(str([(v) => SEPARATOR.test(v), 'must match ^[A-Za-z0-9_-]{1,3}$']), () => '_'), max_length: withDefault(int(16, 64), () => 64) }), {}),
    backend_defaults: withPrefault(
      object({
        timeout: durationOr('300s'),
        connect_timeout: durationOr('30s'),
        retry_initial: durationOr('1s'),
        retry_max: durationOr('60s'),
        max_message_bytes: withDefault(int(1024), () => 64 * 1024 * 1024),
        health_interval: durationOr('30s'),
        protocol: withDefault(oneOf(['auto', 'legacy']), () => 'auto' as const),
      }),
      {},
    ),
    backends: withDefault(backends, () => ({})),
  },
  checkExposure,
);

/** The parsed configuration: defaults applied, durations in ms, paths absolute. */
export interface Config {
  listen: string;
  public_url: string;
  data_dir: string;
  log_level: 'debug' | 'info' | 'warn' | 'error';
  log_format: 'auto' | 'text' | 'json';
  auth: AuthSettings;
  http: {
    allowed_origins: string[];
    allowed_hosts: string[];
    max_body_bytes: number;
    max_json_depth: number;
    max_header_bytes: number;
    sse_keepalive: number;
    shutdown_grace: number;
    stream_buffer_bytes: number;
    session_idle: number;
    max_sessions: number;
    max_sessions_per_grant: number;
    trusted_proxies: string[];
  };
  metrics: { enabled: boolean; max_tool_labels: number };
  audit: { log_arguments: boolean; retention: number };
  naming: { separator: string; max_length: number };
  backend_defaults: {
    timeout: number;
    connect_timeout: number;
    retry_initial: number;
    retry_max: number;
    max_message_bytes: number;
    health_interval: number;
    protocol: 'auto' | 'legacy';
  };
  backends: Record<string, BackendConfig>;
}
/** What gateway.yaml may contain (before defaults and conversions). */
export type ConfigInput = Record<string, unknown>;

/** One validation problem; `at` says whether line:col should point at the key (unknown keys) or the value. */
export interface SchemaIssue {
  path: (string | number)[];
  message: string;
  at: 'key' | 'value';
}

const EXPECTED: Record<string, string> = {
  string: 'a string', number: 'a number', int: 'an integer', boolean: 'true or false', array: 'a list', object: 'a map', record: 'a map',
};

function describeValue(v: unknown): string {
  if (v === null) return 'an empty value';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a map';
  return EXPECTED[typeof v] ?? typeof v;
}

/** Validates a parsed gateway.yaml document (after interpolation), gathering every problem. */
export function validateConfig(input: unknown, ctx: SchemaContext): { ok: true; value: Config } | { ok: false; issues: SchemaIssue[] } {
  const r = new Run(ctx);
  const c = config(input, [], r);
  if (r.issues.length > 0) return { ok: false, issues: r.issues.map(({ path, message, at }) => ({ path, message, at })) };
  return { ok: true, value: { ...c, public_url: (c.public_url as string | undefined) ?? new URL(`http://${c.listen}`).href.replace(/\/+$/, '') } as unknown as Config };
}
