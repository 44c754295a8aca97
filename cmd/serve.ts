/** @module `mcpgw serve`: load config, start the gateway, reload on SIGHUP or file change, stop on SIGTERM/SIGINT. */
import { readFileSync, statSync, watch } from 'node:fs';
import { basename, dirname } from 'node:path';
import { ConfigError, loadConfigFile } from '../src/config/load.ts';
import type { Config } from '../src/config/schema.ts';
import type { Deps } from '../src/deps.ts';
import { errorMessage } from '../src/errors.ts';
import { startGateway, type Gateway } from '../src/gateway.ts';
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
  try {
    gateway = await startGateway(config, deps, { version });
  } catch (err) {
    printError(io, `cannot start: ${errorMessage(err)}`, 'is another process listening on that address? change listen in the config');
    return 1;
  }
  const reloader = createReloader(path, config, gateway, deps);
  process.on('SIGHUP', () => void reloader.reload('SIGHUP'));
  const watcher = watchConfig(path, () => void reloader.reload('file change'));
  const admin = startAdminSocket(adminSocketPath(config.data_dir), { status: () => gateway.snapshot(), tools: () => gateway.aggregator.toolTable(), reload: () => reloader.reload('mcpgw cli') }, deps.log);
  if (config.auth.mode === 'oauth' && !config.auth.password_hash) deps.log.warn("no consent password set: connectors cannot sign in until you run 'mcpgw passwd'", { config: path });
  deps.log.info('listening', { url: gateway.url, public_url: gateway.publicUrl, mcp: `${gateway.publicUrl}/mcp`, config: path, backends: Object.keys(config.backends).length, auth: config.auth.mode, version });
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = async (signal: string) => {
      if (stopping) return;
      stopping = true;
      deps.log.info('shutting down', { signal });
      watcher?.close();
      admin.stop();
      await gateway.stop().catch((err) => deps.log.error('shutdown error', { error: errorMessage(err) }));
      deps.log.info('stopped');
      resolve(0);
    };
    process.on('SIGTERM', () => void stop('SIGTERM'));
    process.on('SIGINT', () => void stop('SIGINT'));
  });
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
      deps.log.error('config reload rejected; the old config keeps serving', { reason, config: path, issues });
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
