/** @module `mcpgw serve`: load config, start the gateway, reload on SIGHUP or file change, stop on SIGTERM/SIGINT. */
import { chmodSync, mkdirSync, watch, readFileSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { ConfigError, loadConfigFile } from '../src/config/load.ts';
import type { Config } from '../src/config/schema.ts';
import type { Deps } from '../src/deps.ts';
import { errorMessage } from '../src/errors.ts';
import { parseListen } from '../src/config/schema.ts';
import { createGateway, databasePath, type Gateway } from '../src/gateway.ts';
import { openStore, type Database } from '../src/store/db.ts';
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
  let gateway: Gateway;
  let listener: ReturnType<typeof Bun.serve>;
  let db: Database | undefined;
  try {
    ({ gateway, listener, db } = await listen(config, deps, version));
  } catch (err) {
    db?.close();
    printError(io, `cannot start: ${errorMessage(err)}`, 'is another process listening on that address? change listen in the config');
    return 1;
  }
  const reloader = createReloader(path, config, gateway, deps);
  process.on('SIGHUP', () => void reloader.reload('SIGHUP'));
  const watcher = watchConfig(path, () => void reloader.reload('file change'));
  const admin = startAdminSocket(adminSocketPath(config.data_dir), { status: () => gateway.snapshot(), tools: () => gateway.aggregator.toolTable(), reload: () => reloader.reload('mcpgw cli'), pins: () => gateway.aggregator.reloadPins() }, deps.log);
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
      admin.stop();
      void listener.stop(false);
      await gateway.close().catch((err) => deps.log.error('shutdown error', { error: errorMessage(err) }));
      listener.stop(true);
      db?.close();
      deps.log.info('stopped');
      resolve(0);
    };
    process.on('SIGTERM', () => void stop('SIGTERM'));
    process.on('SIGINT', () => void stop('SIGINT'));
  });
}

/**
 * Binds the port, then builds the gateway on it (the bound port feeds public_url and allowed hosts when
 * `listen` says port 0). Between the two, requests get 503 with Retry-After.
 */
async function listen(config: Config, deps: Deps, version: string): Promise<{ gateway: Gateway; listener: ReturnType<typeof Bun.serve>; db: Database }> {
  mkdirSync(config.data_dir, { recursive: true, mode: 0o700 });
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
      fetch: (req, srv) => (gateway ? gateway.fetch(req, srv.requestIP(req)?.address ?? '') : Response.json({ error: 'temporarily_unavailable' }, { status: 503, headers: { 'retry-after': '1' } })),
    });
  } catch (err) {
    db.close();
    throw err;
  }
  try {
    gateway = await createGateway(config, deps, { version, port: listener.port ?? port, db });
  } catch (err) {
    listener.stop(true);
    db.close();
    throw err;
  }
  return { gateway, listener, db };
}

const RESTART_KEYS = ['listen', 'public_url', 'data_dir', 'auth', 'http'] as const;

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
      deps.log.error('config reload rejected; the old config keeps serving', { reason, issues });
      return;
    }
    const comparable = (c: Config, key: (typeof RESTART_KEYS)[number]) => JSON.stringify(key === 'auth' ? { ...c.auth, password_hash: undefined } : c[key]);
    for (const key of RESTART_KEYS) {
      if (comparable(next, key) !== comparable(current, key)) deps.log.warn('config change needs a restart to apply', { key });
    }
    deps.log.setLevel(next.log_level);
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

// Editors replace files by rename, so the directory is watched and events are debounced.
function watchConfig(path: string, onChange: () => void): { close(): void } | undefined {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const w = watch(dirname(path), (_event, file) => {
      if (file && file !== basename(path)) return;
      clearTimeout(timer);
      timer = setTimeout(onChange, 250);
    });
    return { close: () => (clearTimeout(timer), w.close()) };
  } catch {
    return undefined;
  }
}
