/** @module `mcpgw serve`: load config, start the gateway, reload on SIGHUP or file change, stop on SIGTERM/SIGINT. */
import { chmodSync, mkdirSync, readFileSync, statSync, watch } from 'node:fs';
import { basename, dirname } from 'node:path';
import { ConfigError, loadConfigFile } from '../src/config/load.ts';
import type { Config } from '../src/config/schema.ts';
import type { Deps } from '../src/deps.ts';
import { errorMessage } from '../src/errors.ts';
import { parseListen } from '../src/config/schema.ts';
import { createGateway, databasePath, type Gateway } from '../src/gateway.ts';
import { openStore, type Database } from '../src/store/db.ts';
import { fileIdentity, watchDatabaseFile, type DatabaseWatch, type DbIdentity } from '../src/store/db-watch.ts';
import { acquireDataDirLock, DataDirLockedError, type DataDirLock } from '../src/store/lock.ts';
import { adminSocketPath, startAdminSocket } from '../src/http/admin.ts';
import { loadCliConfig } from './config.ts';
import { printError, type CliIo } from './io.ts';

export interface ServeOptions {
  config?: string;
}

/** Runs the gateway until SIGTERM/SIGINT; resolves with the exit code. */
export async function serve(opts: ServeOptions, io: CliIo, deps: Deps, version: string): Promise<number> {
  const loaded = loadCliConfig(opts.config, deps.env, io);
  if (!loaded.ok) return loaded.code;
  const { config, path } = loaded;
  deps.log.setLevel(config.log_level);
  // One gateway per data_dir, taken before anything else (issue 8 finding 7); the kernel drops it if we die.
  const lock = lockDataDir(config.data_dir, io);
  if (!lock) return 1;
  deps.log.setFormat?.(config.log_format);
  let gateway: Gateway;
  let listener: ReturnType<typeof Bun.serve>;
  let db: Database;
  let dbWatch: DatabaseWatch | undefined;
  try {
    ({ gateway, listener, db } = await listen(config, deps, version, () => [dbWatch?.problem()].filter((p): p is string => p !== undefined)));
  } catch (err) {
    const { message, hint } = startFailure(err, config);
    printError(io, message, hint);
    lock.release();
    return 1;
  }
  const dbPath = databasePath(config.data_dir);
  const opened = fileIdentity(dbPath);
  if (opened) dbWatch = watchDatabaseFile(dbPath, opened, { intervalMs: dbCheckInterval(deps.env), log: deps.log });
  const dbIdentity = (): DbIdentity | undefined => (opened ? { pid: process.pid, path: dbPath, ...opened, problem: dbWatch?.problem() } : undefined);
  const reloader = createReloader(path, config, gateway, deps);
  process.on('SIGHUP', () => void reloader.reload('SIGHUP'));
  const watcher = watchConfig(path, () => void reloader.reload('file change'));
  const admin = startAdminSocket(adminSocketPath(config.data_dir), { status: () => gateway.snapshot(), tools: () => gateway.aggregator.toolTable(), reload: () => reloader.reload('mcpgw cli'), dbIdentity, pins: () => gateway.aggregator.reloadPins() }, deps.log);
  if (config.auth.mode === 'oauth' && !config.auth.password_hash) deps.log.warn("no consent password set: connectors cannot sign in until you run 'mcpgw passwd'", { config: path });
  const url = `http://${listener.hostname?.includes(':') ? `[${listener.hostname}]` : listener.hostname}:${listener.port}`;
  deps.log.info('listening', { url, public_url: gateway.publicUrl, mcp: `${gateway.publicUrl}/mcp`, config: path, backends: Object.keys(config.backends).length, auth: config.auth.mode, version });
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = async (signal: string) => {
      if (stopping) return;
      stopping = true;
      deps.log.info('shutting down', { signal });
      watcher?.close();
      dbWatch?.close();
      admin.stop();
      void listener.stop(false);
      await gateway.close().catch((err) => deps.log.error('shutdown error', { error: errorMessage(err) }));
      listener.stop(true);
      db.close();
      lock.release();
      deps.log.info('stopped');
      resolve(0);
    };
    process.on('SIGTERM', () => void stop('SIGTERM'));
    process.on('SIGINT', () => void stop('SIGINT'));
  });
}

/**
 * Opens the store, binds the port, then builds the gateway on it (the bound port feeds public_url and the
 * allowed hosts when `listen` says port 0); between the two, requests get 503 with Retry-After. Whatever
 * fails closes what was opened, and createGateway ends every backend it spawned (issue 8 finding 8).
 */
async function listen(config: Config, deps: Deps, version: string, problems: () => string[]): Promise<{ gateway: Gateway; listener: ReturnType<typeof Bun.serve>; db: Database }> {
  chmodSync(config.data_dir, 0o700);
  const db = openStore(databasePath(config.data_dir));
  const { host, port } = parseListen(config.listen);
  let gateway: Gateway | undefined;
  let listener: ReturnType<typeof Bun.serve>;
  try {
    listener = Bun.serve({
      hostname: host,
      port,
      // Long tool calls and GET streams carry keep-alive comments well inside this bound (Bun's default is 10 s).
      idleTimeout: 255,
      // The endpoint answers an over-long Content-Length with 413 itself; this only bounds what Bun buffers.
      maxRequestBodySize: Math.max(64 * 1024 * 1024, config.http.max_body_bytes * 4),
      fetch: (req, srv) => (gateway ? gateway.fetch(req, () => srv.requestIP(req)?.address ?? '') : Response.json({ error: 'temporarily_unavailable' }, { status: 503, headers: { 'retry-after': '1' } })),
    });
  } catch (err) {
    db.close();
    throw err;
  }
  try {
    gateway = await createGateway(config, deps, { version, port: listener.port ?? port, db, problems });
  } catch (err) {
    listener.stop(true);
    db.close();
    throw err;
  }
  return { gateway, listener, db };
}

function lockDataDir(dataDir: string, io: CliIo): DataDirLock | undefined {
  try {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    return acquireDataDirLock(dataDir);
  } catch (err) {
    if (err instanceof DataDirLockedError) printError(io, err.message, `stop it first ('mcpgw status' shows it), or give this one another data_dir`);
    else printError(io, `cannot use data_dir ${dataDir}: ${errorMessage(err)}`, dataDirHint(err, dataDir));
    return undefined;
  }
}

function dataDirHint(err: unknown, dataDir: string): string | undefined {
  const code = (err as { code?: unknown }).code;
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') return `data_dir ${dataDir} is not writable by this user (uid ${process.getuid?.()}); fix its owner, or set data_dir in the config`;
  return undefined;
}

/** The start-up error and a hint that matches it (issue 8 finding 8). */
export function startFailure(err: unknown, config: Pick<Config, 'listen' | 'data_dir'>): { message: string; hint?: string } {
  const code = String((err as { code?: unknown }).code ?? '');
  const message = `cannot start: ${errorMessage(err)}`;
  if (code === 'EADDRINUSE') return { message, hint: `another process listens on ${config.listen}; stop it, or change listen in the config` };
  if (code === 'EADDRNOTAVAIL') return { message, hint: `no interface of this machine has the address in listen (${config.listen}); use 127.0.0.1 or 0.0.0.0` };
  if (code === 'SQLITE_NOTADB' || code.startsWith('SQLITE_CORRUPT')) return { message, hint: `the database file ${databasePath(config.data_dir)} is not a mcpgw database; move it away and start again (connectors will sign in again)` };
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS' || code.startsWith('SQLITE_READONLY') || code.startsWith('SQLITE_CANTOPEN')) {
    const path = (err as { path?: unknown }).path;
    if (typeof path === 'string' || code.startsWith('SQLITE')) return { message, hint: dataDirHint({ code: 'EACCES' }, config.data_dir) };
    return { message, hint: `this user may not listen on ${config.listen} (ports below 1024 need CAP_NET_BIND_SERVICE); choose a port of 1024 or more` };
  }
  return { message };
}

/** How often the database file is checked; `MCPGW_DB_CHECK_INTERVAL_MS` shortens it for tests. */
function dbCheckInterval(env: Readonly<Record<string, string | undefined>>): number {
  const ms = Number(env.MCPGW_DB_CHECK_INTERVAL_MS);
  return Number.isInteger(ms) && ms >= 50 ? ms : 5000;
}

const RESTART_KEYS = ['listen', 'data_dir', 'auth', 'http', 'metrics'] as const;

function createReloader(path: string, initial: Config, gateway: Gateway, deps: Deps) {
  let current = initial;
  let lastText = safeRead(path);
  let queue = Promise.resolve();
  const reloadOnce = async (reason: string) => {
    const text = safeRead(path);
    if (reason !== 'SIGHUP' && text === lastText) return;
    lastText = text;
    let next: Config;
    try {
      next = loadConfigFile(path, deps.env);
    } catch (err) {
      const issues = err instanceof ConfigError ? err.message.split('\n').slice(1) : [errorMessage(err)];
      deps.log.error('config reload rejected; the old config keeps serving', { reason, config: path, issues });
      return;
    }
    const comparable = (c: Config, key: (typeof RESTART_KEYS)[number]) => JSON.stringify(key === 'auth' ? { ...c.auth, password_hash: undefined } : c[key]);
    for (const key of RESTART_KEYS) {
      if (comparable(next, key) !== comparable(current, key)) deps.log.warn('config change needs a restart to apply', { key });
    }
    deps.log.setLevel(next.log_level);
    deps.log.setFormat?.(next.log_format);
    const diff = await gateway.reload(next);
    current = next;
    deps.log.info('config reloaded', { reason, ...diff });
  };
  return {
    reload: (reason: string) => {
      queue = queue.then(() => reloadOnce(reason)).catch((err) => deps.log.error('reload failed', { error: errorMessage(err) }));
      return queue.then(() => ({ reloaded: true }));
    },
  };
}

function safeRead(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

// Editors replace files by rename, so the directory is watched and events are debounced; then the file must
// hold still (issue 8 finding 5): a save in progress is never read half-written.
function watchConfig(path: string, onChange: () => void): { close(): void } | undefined {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let closed = false;
  const fire = () => void waitUntilStable(path).then(() => closed || onChange());
  try {
    const w = watch(dirname(path), (_event, file) => {
      if (file && file !== basename(path)) return;
      clearTimeout(timer);
      timer = setTimeout(fire, 250);
    });
    return { close: () => ((closed = true), clearTimeout(timer), w.close()) };
  } catch {
    return undefined;
  }
}

/** Resolves once the file's size and mtime are the same across two checks `intervalMs` apart (at most `maxChecks`). */
export async function waitUntilStable(path: string, intervalMs = 100, maxChecks = 30): Promise<void> {
  const look = () => {
    try {
      const st = statSync(path);
      return `${st.size}:${st.mtimeMs}:${st.ino}`;
    } catch {
      return 'missing';
    }
  };
  let last = look();
  for (let i = 0; i < maxChecks; i++) {
    await Bun.sleep(intervalMs);
    const now = look();
    if (now === last) return;
    last = now;
  }
}
