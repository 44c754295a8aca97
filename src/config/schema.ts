/** @module The gateway.yaml schema: every key, its default and the cross-field rules. Defaults live here only. */
import { isIPv4, isIPv6 } from 'node:net';
import { isAbsolute, join, resolve } from 'node:path';
import { z } from 'zod';
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

const str = z.string();
const duration = z.union([z.string(), z.number()], { error: DURATION_MESSAGE }).transform((v, c) => {
  const ms = parseDuration(v);
  if (ms !== undefined) return ms;
  c.addIssue({ code: 'custom', message: DURATION_MESSAGE });
  return z.NEVER;
});
/** A duration with a default written the way a user would (e.g. '1h'); output in ms. */
const durationOr = (d: string) => duration.prefault(d);
/** Integers; digit strings are accepted because `${VAR}` substitution always yields strings. */
const intLike = z.union([z.number(), z.string().regex(/^\s*\d+\s*$/, { error: 'must be an integer' }).transform(Number)], {
  error: 'must be an integer',
});
const int = (min: number, max = Number.MAX_SAFE_INTEGER) => intLike.pipe(z.number().int().min(min).max(max));
const bool = z.union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')], { error: 'must be true or false' });
/** Strings where YAML would otherwise type a number or boolean (env values, args). */
const stringish = z.union([z.string(), z.number(), z.boolean()], { error: 'must be a string' }).transform(String);
const phc = (message: string) => str.refine((v) => v.startsWith('$argon2') || v.startsWith('$2'), { error: message });
const list = <T extends z.ZodType>(item: T) => z.array(item).default(() => []);
const stringMap = <T extends z.ZodType>(value: T) => z.record(str, value).default(() => ({}));

/** An IPv4/IPv6 address, optionally with a /prefix. */
function isIpOrCidr(v: string): boolean {
  const [addr = '', prefix, ...rest] = v.split('/');
  const max = isIPv4(addr) ? 32 : isIPv6(addr) ? 128 : -1;
  return max > 0 && rest.length === 0 && (prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= max));
}

const clientSchema = z.strictObject({
  client_id: str.min(1).max(200),
  client_name: str.optional(),
  redirect_uris: z.array(str.refine(isRedirectUri, { error: 'must be an absolute URI without a fragment' })).min(1),
  client_secret_hash: phc(SECRET_HASH_MESSAGE).optional(),
});

const authSchema = z.strictObject({
  mode: z.enum(['oauth', 'none']).default('oauth'),
  password_hash: phc(PASSWORD_HASH_MESSAGE).optional(),
  access_token_ttl: durationOr('1h'),
  refresh_token_ttl: durationOr('30d'),
  refresh_grace: durationOr('2m'),
  code_ttl: durationOr('60s'),
  registration: z
    .strictObject({ enabled: bool.default(true), rate_limit: int(1).default(20), unused_client_ttl: durationOr('24h') })
    .prefault({}),
  cimd: z
    .strictObject({
      enabled: bool.default(true),
      allow_private_addresses: bool.default(false),
      allow_http: bool.default(false),
      timeout: durationOr('5s'),
      max_bytes: int(1).default(5120),
    })
    .prefault({}),
  clients: list(clientSchema).superRefine((clients, c) => {
    const seen = new Set<string>();
    clients.forEach((client, i) => {
      if (seen.has(client.client_id)) c.addIssue({ code: 'custom', path: [i, 'client_id'], message: 'duplicate client_id' });
      seen.add(client.client_id);
    });
  }),
  login: z
    .strictObject({ max_failures: int(1).default(5), lockout: durationOr('15m'), global_max_failures: int(1).default(50) })
    .prefault({}),
});

/** `audit`: the SQLite audit log of calls and sign-ins (store/audit.ts). */
const auditSchema = z.strictObject({
  log_arguments: bool.default(false),
  retention: durationOr('30d'),
});

const httpSchema = z.strictObject({
  allowed_origins: list(str.refine((v) => URL.canParse(v) && new URL(v).origin === v, { error: 'must be an origin like https://app.example.com (no path or trailing slash)' })),
  allowed_hosts: list(str.min(1)),
  max_body_bytes: int(1).default(4 * 1024 * 1024),
  max_json_depth: int(1).default(64),
  max_header_bytes: int(1).default(16384),
  sse_keepalive: durationOr('15s'),
  shutdown_grace: durationOr('10s'),
  stream_buffer_bytes: int(1024).default(1024 * 1024),
  session_idle: durationOr('24h'),
  max_sessions: int(1).default(10_000),
  max_sessions_per_grant: int(1).default(100),
  trusted_proxies: z.array(str.refine(isIpOrCidr, { error: 'must be an IP address or CIDR like 127.0.0.0/8 or fd7a:115c:a1e0::/48' })).default(() => ['127.0.0.0/8', '::1']),
});

const toolsSchema = z.strictObject({
  allow: z.array(str).default(() => ['*']),
  deny: list(str),
  rename: stringMap(str.regex(TOOL_NAME, { error: 'must match ^[A-Za-z0-9_-]{1,64}$' })),
  descriptions: stringMap(str),
});

/** Tool filtering for one backend: allow/deny globs (`*`, `?`) on original names, then renames and description overrides. */
export type ToolFilter = z.output<typeof toolsSchema>;

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

type Loose = Record<string, unknown>;
const isObject = (v: unknown): v is Loose => typeof v === 'object' && v !== null && !Array.isArray(v);
/** Cross-field checks run even when a field failed, so that every problem is reported at once. */
const always = { when: (payload: { value: unknown }) => isObject(payload.value) };

/** Exactly one of url/command, and the fields that only make sense with one of them. */
function checkBackendShape(b: Loose, c: z.RefinementCtx): void {
  const hasUrl = b.url !== undefined;
  const hasCommand = b.command !== undefined;
  const issue = (path: string[], message: string) => c.addIssue({ code: 'custom', path, message });
  if (!hasUrl && !hasCommand) return issue([], 'needs either url or command');
  if (hasUrl && hasCommand) return issue([], 'has both url and command');
  if (b.transport === 'stdio' && !hasCommand) issue(['transport'], 'stdio requires command');
  if ((b.transport === 'streamable-http' || b.transport === 'sse') && !hasUrl) issue(['transport'], `${b.transport} requires url`);
  if (hasCommand && b.headers !== undefined) issue(['headers'], 'only allowed for url backends');
  for (const key of ['env', 'args', 'cwd']) if (hasUrl && b[key] !== undefined) issue([key], 'only allowed for command backends');
}

function createBackendSchema(ctx: SchemaContext) {
  const path = str.min(1).transform((p, c) => {
    const resolved = resolveConfigPath(p, ctx);
    if (resolved === undefined) c.addIssue({ code: 'custom', message: 'starts with ~ but HOME is not set' });
    return resolved ?? z.NEVER;
  });
  return z
    .strictObject({
      url: str.refine(isHttpUrl, { error: HTTP_URL_MESSAGE }).optional(),
      command: str.min(1).optional(),
      transport: z.enum(['auto', 'streamable-http', 'sse', 'stdio']).default('auto'),
      headers: z.record(str.regex(HEADER_NAME, { error: 'must be an HTTP header name' }), str).optional(),
      args: z.array(stringish).optional(),
      env: z.record(str, stringish).optional(),
      cwd: path.optional(),
      timeout: duration.optional(),
      connect_timeout: duration.optional(),
      max_message_bytes: int(1024).optional(),
      health_interval: duration.optional(),
      protocol: z.enum(['auto', 'legacy']).optional(),
      enabled: bool.default(true),
      prefix: z.union([str.regex(PREFIX, { error: PREFIX_MESSAGE }), z.literal(false)], { error: PREFIX_MESSAGE }).optional(),
      description: str.optional(),
      pinning: z.enum(['off', 'warn', 'strict']).default('warn'),
      tools: toolsSchema.prefault({}),
    })
    .superRefine(checkBackendShape, always);
}

type BackendEntry = z.output<ReturnType<typeof createBackendSchema>>;

function toBackendConfig(name: string, b: BackendEntry, ctx: SchemaContext): BackendConfig {
  const { url, command, transport, headers, args, env, cwd, prefix, ...common } = b;
  const shared = { ...common, prefix: prefix ?? name };
  if (command !== undefined) return { ...shared, transport: 'stdio', command, args: args ?? [], env: env ?? {}, cwd: cwd ?? ctx.configDir };
  return { ...shared, transport: transport as 'auto' | 'streamable-http' | 'sse', url: url!, headers: headers ?? {} };
}

/** Refuses an open gateway on a reachable address, and a derived http:// public URL that is not loopback. */
function checkExposure(c: Loose, ctx: z.RefinementCtx): void {
  const listen = typeof c.listen === 'string' ? tryParseListen(c.listen) : undefined;
  if (!listen || isLoopbackHost(listen.host)) return;
  if (isObject(c.auth) && c.auth.mode === 'none') {
    ctx.addIssue({ code: 'custom', path: ['auth', 'mode'], message: 'none is only allowed when listen is a loopback address' });
  }
  if (c.public_url === undefined) {
    ctx.addIssue({ code: 'custom', path: ['public_url'], message: 'must be set to an https URL when listen is not a loopback address' });
  }
}

/** Builds the gateway.yaml schema; `ctx` supplies HOME/XDG for path defaults and the directory relative paths resolve against. */
export function createConfigSchema(ctx: SchemaContext) {
  const backendSchema = createBackendSchema(ctx);
  return z
    .strictObject({
      listen: str.refine((v) => tryParseListen(v) !== undefined, { error: LISTEN_MESSAGE }).default('127.0.0.1:4444'),
      public_url: str
        .transform((v, c) => {
          const r = checkPublicUrl(v);
          if ('url' in r) return r.url;
          c.addIssue({ code: 'custom', message: r.error });
          return z.NEVER;
        })
        .optional(),
      data_dir: str
        .min(1)
        .optional()
        .transform((v, c) => {
          const dir = v === undefined ? defaultDataDir(ctx.env) : resolveConfigPath(v, ctx);
          if (dir !== undefined) return dir;
          c.addIssue({ code: 'custom', message: v === undefined ? 'is required when HOME and XDG_STATE_HOME are unset' : 'starts with ~ but HOME is not set' });
          return z.NEVER;
        }),
      log_level: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
      log_format: z.enum(['auto', 'text', 'json']).default('auto'),
      auth: authSchema.prefault({}),
      http: httpSchema.prefault({}),
      metrics: z.strictObject({ enabled: bool.default(true), max_tool_labels: int(1, 100_000).default(500) }).prefault({}),
      audit: auditSchema.prefault({}),
      naming: z
        .strictObject({ separator: str.regex(SEPARATOR, { error: 'must match ^[A-Za-z0-9_-]{1,3}$' }).default('_'), max_length: int(16, 64).default(64) })
        .prefault({}),
      backend_defaults: z
        .strictObject({
          timeout: durationOr('300s'),
          connect_timeout: durationOr('30s'),
          retry_initial: durationOr('1s'),
          retry_max: durationOr('60s'),
          max_message_bytes: int(1024).default(64 * 1024 * 1024),
          health_interval: durationOr('30s'),
          protocol: z.enum(['auto', 'legacy']).default('auto'),
        })
        .prefault({}),
      backends: z
        .record(str.regex(BACKEND_NAME, { error: 'backend names must match ^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$' }), backendSchema)
        .transform((entries) => Object.fromEntries(Object.entries(entries).map(([name, b]) => [name, toBackendConfig(name, b, ctx)])))
        .default(() => ({})),
    })
    .superRefine(checkExposure, always)
    .transform((c) => ({ ...c, public_url: c.public_url ?? new URL(`http://${c.listen}`).href.replace(/\/+$/, '') }));
}

/** The parsed configuration: defaults applied, durations in ms, paths absolute. */
export type Config = z.output<ReturnType<typeof createConfigSchema>>;
/** What gateway.yaml may contain (before defaults and conversions). */
export type ConfigInput = z.input<ReturnType<typeof createConfigSchema>>;

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

/** Plain-language messages for zod's built-in checks (schema-level messages take precedence). */
function defaultMessage(iss: z.core.$ZodRawIssue): string | undefined {
  const unit = iss.origin === 'string' ? 'characters' : 'items';
  switch (iss.code) {
    case 'invalid_type':
      return iss.input === undefined ? 'is required' : `must be ${EXPECTED[iss.expected] ?? iss.expected}, got ${describeValue(iss.input)}`;
    case 'too_small':
      if (iss.origin === 'number') return `must be at least ${iss.minimum}`;
      return Number(iss.minimum) === 1 ? 'must not be empty' : `must have at least ${iss.minimum} ${unit}`;
    case 'too_big':
      return iss.origin === 'number' ? `must be at most ${iss.maximum}` : `must have at most ${iss.maximum} ${unit}`;
    case 'invalid_value':
      return `must be one of ${iss.values.map(String).join(', ')}`;
    default:
      return undefined;
  }
}

function toSchemaIssues(iss: z.core.$ZodIssue): SchemaIssue[] {
  const path = iss.path.map((p) => (typeof p === 'number' ? p : String(p)));
  if (iss.code === 'unrecognized_keys') {
    return iss.keys.map((key) => {
      const pattern = [...path, key].map((p) => (typeof p === 'number' ? '[]' : `.${p}`)).join('').slice(1);
      return { path: [...path, key], message: REFUSED_KEYS[pattern] ?? 'unknown key', at: 'key' as const };
    });
  }
  if (iss.code === 'invalid_key') return [{ path, message: iss.issues[0]?.message ?? iss.message, at: 'key' }];
  return [{ path, message: iss.message, at: 'value' }];
}

/** Validates a parsed gateway.yaml document (after interpolation), gathering every problem. */
export function validateConfig(input: unknown, ctx: SchemaContext): { ok: true; value: Config } | { ok: false; issues: SchemaIssue[] } {
  const result = createConfigSchema(ctx).safeParse(input, { error: defaultMessage });
  if (result.success) return { ok: true, value: result.data };
  return { ok: false, issues: result.error.issues.flatMap(toSchemaIssues) };
}
