/** @module Builds the SDK client transport for one backend: stdio child, Streamable HTTP or legacy HTTP+SSE. */
import { SSEClientTransport, StreamableHTTPClientTransport, type Transport } from '@modelcontextprotocol/client';
import { dirname } from 'node:path';
import { resolveBackendSecrets } from '../config/load.ts';
import type { Deps } from '../deps.ts';
import { errorMessage } from '../errors.ts';
import type { Logger } from '../log.ts';
import { StdioProcessTransport, backendEnv } from './stdio.ts';

/** The transport a backend actually uses once `auto` is resolved. */
export type ConcreteTransport = 'stdio' | 'streamable-http' | 'sse';

/** What the transport factory needs from a backend's config. */
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

/** Creates a fresh, unstarted transport of the given kind. */
export function createTransport(kind: ConcreteTransport, raw: TransportSpec, deps: Deps, log: Logger): Transport {
  let spec: TransportSpec;
  try {
    // Secrets (${VAR}, ${file:PATH}) resolve only here, when the backend starts or is probed (issue 8 finding 2).
    spec = resolveBackendSecrets(raw.name ?? '?', raw, deps.env);
  } catch (err) {
    log.error('backend config unresolved', { error: errorMessage(err) });
    throw err;
  }
  if (kind === 'stdio') {
    const env = backendEnv(deps.env, spec.env ?? {}, dirname(process.execPath));
    return new StdioProcessTransport({ command: spec.command!, args: spec.args ?? [], env, cwd: spec.cwd }, deps.spawn, log);
  }
  const url = new URL(spec.url!);
  // Only the configured headers go to backends; a client's bearer token never does.
  const requestInit: RequestInit = { headers: { ...(spec.headers ?? {}) } };
  if (kind === 'sse') return new SSEClientTransport(url, { requestInit, fetch: deps.fetch });
  return new StreamableHTTPClientTransport(url, { requestInit, fetch: deps.fetch });
}
