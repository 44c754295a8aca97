/** @module Connects to one configured backend outside the gateway, for `backends add` (check), `show` and `test`. */
import type { Config } from '../src/config/schema.ts';
import { Backend, type Catalog } from '../src/backends/backend.ts';
import type { Deps } from '../src/deps.ts';
import { silentLogger } from '../src/log.ts';
import { backendOptions } from '../src/gateway.ts';

export interface ProbeResult {
  ok: boolean;
  error?: string;
  transport: string;
  catalog: Catalog;
  connectMs: number;
  pingMs?: number;
}

/** Connects (no retries), lists everything, pings, closes. */
export async function probeBackend(name: string, config: Config, deps: Deps): Promise<ProbeResult> {
  const opts = { ...backendOptions(name, config.backends[name], config), enabled: true, retryInitial: 3_600_000, retryMax: 3_600_000 };
  const quiet = { ...deps, log: silentLogger };
  const backend = new Backend(opts, quiet, { changed() {}, notification() {}, serverRequest: async () => ({}) }, silentLogger);
  const started = performance.now();
  backend.start();
  await backend.ready();
  const connectMs = Math.round(performance.now() - started);
  try {
    const status = backend.status();
    if (backend.state !== 'up') return { ok: false, error: status.lastError ?? 'not connected', transport: status.transport, catalog: backend.catalog, connectMs };
    const t = performance.now();
    await backend.request('ping', undefined);
    return { ok: true, transport: status.transport, catalog: backend.catalog, connectMs, pingMs: Math.round(performance.now() - t) };
  } finally {
    await backend.close();
  }
}
