/**
 * @module One-line-per-event logger: readable lines on a terminal, JSON lines otherwise, syslog priority
 * prefixes under journald; secret fields redacted by name, token-shaped strings in free text too.
 */

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
/** sd-daemon(3) priority prefixes: journald files each line at its level (err, warning, info, debug). */
const PRIORITY: Record<LogLevel, string> = { error: '<3>', warn: '<4>', info: '<6>', debug: '<7>' };

/** `log_format`: `auto` is text on a terminal or under journald, JSON lines otherwise. */
export type LogFormat = 'auto' | 'text' | 'json';

/** Structured logger; `child` adds fixed fields (e.g. the backend name). */
export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
  setLevel(level: LogLevel): void;
  /** Applies `log_format` from the config (loggers that always write one way may omit it). */
  setFormat?(format: LogFormat): void;
}

export interface LoggerOptions {
  /** What `auto` means here: JSON lines (true, stdout is not a terminal) or text (false). */
  json: boolean;
  /** `log_format`; default `auto`. */
  format?: LogFormat;
  /** stdout is journald's stream: every line gets a `<N>` priority prefix, `auto` means text, and text omits the time (journald stamps it). */
  journald?: boolean;
  write: (line: string) => void;
  level?: LogLevel;
  now?: () => number;
}

/**
 * Field names whose values are secrets, compared whole (case-insensitive, `-` read as `_`): never a substring
 * of the name, so identifiers (`client_id`, `grant_id`, `session`) and exit `code`s stay readable.
 */
const SECRET_FIELDS = new Set([
  'authorization', 'proxy_authorization', 'cookie', 'set_cookie', 'token', 'access_token', 'refresh_token', 'id_token',
  'client_secret', 'secret', 'password', 'passwd', 'password_hash', 'code_verifier', 'authorization_code',
  'api_key', 'apikey', 'x_api_key', 'private_key',
]);
/** Names ending like these hold secrets too (`csrf_token`, `upstream_secret`, `DB_PASSWORD`, `AWS_SECRET_ACCESS_KEY`). */
const SECRET_SUFFIX = /_(token|secret|password|passwd|key|credentials?)$/;

/** Whether a field of this name holds a secret (decided by the whole name, not a substring). */
export function isSecretField(name: string): boolean {
  const n = name.toLowerCase().replace(/-/g, '_');
  return SECRET_FIELDS.has(n) || SECRET_SUFFIX.test(n);
}

/** The same test under the name the audit log uses for tool arguments. */
export const isSecretKey = isSecretField;

const BEARER = /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{6,}/gi;
const JWT = /\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/g;
// Every mcpgw_<kind>_ secret (personal tokens, client secrets) but not client ids, which are identifiers.
const MCPGW_TOKEN = /\bmcpgw_(?!client_)[a-z]+_[A-Za-z0-9_-]{10,}/g;
// Credentials in URL query strings (a backend URL like https://api.example.com/mcp?api_key=…).
const QUERY_SECRET = /([?&](?:access_token|refresh_token|token|api_?key|apikey|key|secret|client_secret|password|code|code_verifier)=)[^&#\s"']+/gi;

/** Removes bearer tokens, JWTs, mcpgw tokens and credentials in URL query strings from free text. */
export function redactString(s: string): string {
  return s.replace(BEARER, '$1 [redacted]').replace(JWT, '[redacted-jwt]').replace(MCPGW_TOKEN, '[redacted-token]').replace(QUERY_SECRET, '$1[redacted]');
}

/** Deep-copies a value with secret fields (by name) and token-looking strings redacted. */
export function redact(value: unknown, depth = 0): unknown {
  if (depth > 6) return '[deep]';
  if (typeof value === 'string') return redactString(value);
  if (value instanceof Error) return redactString(value.message);
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = isSecretField(k) ? '[redacted]' : redact(v, depth + 1);
    return out;
  }
  return value;
}

function formatText(rec: Record<string, unknown>, withTime: boolean): string {
  const { time, level, msg, ...rest } = rec;
  const extra = Object.entries(rest)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? (/\s/.test(v) || v === '' ? JSON.stringify(v) : v) : JSON.stringify(v)}`)
    .join(' ');
  const t = withTime ? `${new Date(time as number).toISOString().slice(11, 19)} ` : '';
  // One event, one line: journald would file the rest of a multi-line message without its priority.
  return `${t}${String(level).toUpperCase().padEnd(5)} ${String(msg).replace(/\r?\n/g, '\\n')}${extra ? ' ' + extra : ''}\n`;
}

/**
 * Whether stdout is the journal: systemd sets JOURNAL_STREAM to "<dev>:<inode>" of the stream it connected,
 * and a child whose stdout was redirected elsewhere inherits the variable, so fd 1 is compared with it.
 */
export function isJournalStream(journalStream: string | undefined, stdout: { dev: number | bigint; ino: number | bigint } | undefined): boolean {
  const m = /^(\d+):(\d+)$/.exec(journalStream ?? '');
  if (!m || !stdout) return false;
  return BigInt(m[1]!) === BigInt(stdout.dev) && BigInt(m[2]!) === BigInt(stdout.ino);
}

/** Creates a logger writing one line per event; children share the parent's level. */
export function createLogger(opts: LoggerOptions): Logger {
  const resolve = (f: LogFormat) => (f === 'auto' ? (opts.journald ? 'text' : opts.json ? 'json' : 'text') : f);
  const state = { level: opts.level ?? ('info' as LogLevel), format: resolve(opts.format ?? 'auto') };
  const prefix = (level: LogLevel) => (opts.journald ? PRIORITY[level] : '');
  const now = opts.now ?? Date.now;
  const make = (base: Record<string, unknown>): Logger => {
    const emit = (level: LogLevel, msg: string, fields?: Record<string, unknown>) => {
      if (LEVELS[level] < LEVELS[state.level]) return;
      const rec = { time: now(), level, msg: redactString(msg), ...(redact({ ...base, ...fields }) as object) };
      try {
        const line = state.format === 'json' ? JSON.stringify({ ...rec, time: new Date(rec.time).toISOString() }) + '\n' : formatText(rec, !opts.journald);
        opts.write(prefix(level) + line);
      } catch {
        // a closed stdout must never take the gateway down
      }
    };
    return {
      debug: (m, f) => emit('debug', m, f),
      info: (m, f) => emit('info', m, f),
      warn: (m, f) => emit('warn', m, f),
      error: (m, f) => emit('error', m, f),
      child: (f) => make({ ...base, ...f }),
      setLevel: (l) => void (state.level = l),
      setFormat: (f) => void (state.format = resolve(f)),
    };
  };
  return make({});
}

/** A logger that drops everything; for tests that do not read logs. */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child: () => silentLogger,
  setLevel() {},
};
