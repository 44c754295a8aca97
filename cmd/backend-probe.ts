/** @module Connects to one configured backend outside the gateway, for `backends add` (check), `show` and `test`. */
import type { Config } from '../src/config/schema.ts';
import { Backend, type Catalog } from '../src/backends/backend.ts';
import type { Deps } from '../src/deps.ts';
import { silentLogger, type Logger } from '../src/log.ts';
import { backendOptions } from '../src/gateway.ts';

export interface ProbeResult {
  ok: boolean;
  error?: string;
  transport: string;
  catalog: Catalog;
  connectMs: number;
  pingMs?: number;
}

/** A logger that drops everything but a stdio child's stderr lines, which it hands to `onStderr`. */
function stderrTap(onStderr: (line: string) => void): Logger {
  const tap: Logger = {
    ...silentLogger,
    info: (msg, fields) => {
      if (msg === 'backend stderr' && typeof fields?.line === 'string') onStderr(fields.line);
    },
    child: () => tap,
  };
  return tap;
}

/** Connects (no retries), lists everything, pings, closes; `onStderr` sees a stdio child's stderr lines as they come. */
export async function probeBackend(name: string, config: Config, deps: Deps, probeOpts: { onStderr?: (line: string) => void } = {}): Promise<ProbeResult> {
  const opts = { ...backendOptions(name, config.backends[name], config), enabled: true, retryInitial: 3_600_000, retryMax: 3_600_000 };
  const log = probeOpts.onStderr ? stderrTap(probeOpts.onStderr) : silentLogger;
  const quiet = { ...deps, log };
  const backend = new Backend(opts, quiet, { changed() {}, notification() {}, serverRequest: async () => ({}) }, log);
  const started = performance.now();
  backend.start();
  await backend.ready();
  const connectMs = Math.round(performance.now() - started);
  try {
    const status = backend.status();
    if (backend.state !== 'up') return { ok: false, error: status.lastError ?? 'not connected', transport: status.transport, catalog: backend.catalog, connectMs };
    const t = performance.now();
    // 2026-07-28 has no ping (basic/utilities): a round trip there is a tools/list.
    if (backend.protocolVersion === '2026-07-28') await backend.request('tools/list', {});
    else await backend.request('ping', undefined);
    return { ok: true, transport: status.transport, catalog: backend.catalog, connectMs, pingMs: Math.round(performance.now() - t) };
  } finally {
    await backend.close();
  }
}
