/** @module One-line-per-event logger: JSON lines for machines, readable lines on a TTY; secrets redacted. */

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** Structured logger; `child` adds fixed fields (e.g. the backend name). */
export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
  setLevel(level: LogLevel): void;
}

export interface LoggerOptions {
  json: boolean;
  write: (line: string) => void;
  level?: LogLevel;
  now?: () => number;
}

const SECRET_KEYS = /^(authorization|token|access_token|refresh_token|id_token|client_secret|password|code|code_verifier|cookie|secret|api[_-]?key)$/i;
const BEARER = /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{6,}/gi;
const JWT = /\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/g;
const MCPGW_TOKEN = /\bmcpgw_[a-z]+_[A-Za-z0-9_-]{10,}/g;

/** True when a field name holds a secret (matched on the whole key); the audit log reuses it for tool arguments. */
export function isSecretKey(key: string): boolean {
  return SECRET_KEYS.test(key);
}

/** Removes bearer tokens, JWTs and mcpgw tokens from a string. */
export function redactString(s: string): string {
  return s.replace(BEARER, '$1 [redacted]').replace(JWT, '[redacted-jwt]').replace(MCPGW_TOKEN, '[redacted-token]');
}

/** Deep-copies a value with secret-named keys and token-looking strings redacted. */
export function redact(value: unknown, depth = 0): unknown {
  if (depth > 6) return '[deep]';
  if (typeof value === 'string') return redactString(value);
  if (value instanceof Error) return redactString(value.message);
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = SECRET_KEYS.test(k) ? '[redacted]' : redact(v, depth + 1);
    return out;
  }
  return value;
}

function formatText(rec: Record<string, unknown>): string {
  const { time, level, msg, ...rest } = rec;
  const extra = Object.entries(rest)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? (/\s/.test(v) ? JSON.stringify(v) : v) : JSON.stringify(v)}`)
    .join(' ');
  const t = new Date(time as number).toISOString().slice(11, 19);
  return `${t} ${String(level).toUpperCase().padEnd(5)} ${msg}${extra ? ' ' + extra : ''}\n`;
}

/** Creates a logger writing one line per event; children share the parent's level. */
export function createLogger(opts: LoggerOptions): Logger {
  const state = { level: opts.level ?? ('info' as LogLevel) };
  const now = opts.now ?? Date.now;
  const make = (base: Record<string, unknown>): Logger => {
    const emit = (level: LogLevel, msg: string, fields?: Record<string, unknown>) => {
      if (LEVELS[level] < LEVELS[state.level]) return;
      const rec = { time: now(), level, msg: redactString(msg), ...(redact({ ...base, ...fields }) as object) };
      try {
        opts.write(opts.json ? JSON.stringify({ ...rec, time: new Date(rec.time).toISOString() }) + '\n' : formatText(rec));
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
