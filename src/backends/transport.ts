/** @module Builds the wire for one backend: stdio child, Streamable HTTP or legacy HTTP+SSE. */
import { dirname } from 'node:path';
import { resolveBackendSecrets } from '../config/load.ts';
import type { Deps } from '../deps.ts';
import { errorMessage } from '../errors.ts';
import type { Logger } from '../log.ts';
import { StreamableHttpWire } from './http.ts';
import type { Wire } from './rpc.ts';
import { SseWire } from './sse.ts';
import { StdioWire, backendEnv } from './stdio.ts';

/** The transport a backend actually uses once `auto` is resolved. */
export type ConcreteTransport = 'stdio' | 'streamable-http' | 'sse';

/** What the wire factory needs from a backend's config. */
export interface TransportSpec {
  /** The backend's name, for error messages. */
  name?: string;
  url?: string;
  command?: string;
  args?: string[];
  env?: Record<string, string>;
  cwd?: string;
  headers?: Record<string, string>;
}

/** Default per-message size limit (config `backend_defaults.max_message_bytes`). */
export const DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

/** Creates a fresh, unstarted wire of the given kind. */
export function createWire(kind: ConcreteTransport, raw: TransportSpec & { name: string; maxMessageBytes?: number }, deps: Deps, log: Logger): Wire {
  let spec: TransportSpec & { name: string; maxMessageBytes?: number };
  try {
    // Secrets (${VAR}, ${file:PATH}) resolve only here, when the backend starts or is probed (issue 8 finding 2).
    spec = { ...resolveBackendSecrets(raw.name, raw, deps.env), name: raw.name, maxMessageBytes: raw.maxMessageBytes };
  } catch (err) {
    log.error('backend config unresolved', { error: errorMessage(err) });
    throw err;
  }
  const maxMessageBytes = spec.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  if (kind === 'stdio') {
    const env = backendEnv(deps.env, spec.env ?? {}, dirname(process.execPath));
    return new StdioWire({ command: spec.command!, args: spec.args ?? [], env, cwd: spec.cwd }, deps.spawn, log, { backend: spec.name, maxMessageBytes });
  }
  // Only the configured headers go to backends; a client's bearer token never does.
  const opts = { backend: spec.name, url: spec.url!, headers: spec.headers ?? {}, fetch: deps.fetch, log, maxMessageBytes };
  return kind === 'sse' ? new SseWire(opts) : new StreamableHttpWire(opts);
}
