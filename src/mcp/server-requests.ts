/**
 * @module Server-to-client request routing (sampling, elicitation, roots; spec-checklist §3.12): the
 * client calls in flight on each backend, and which of them a backend's request goes to. JSON-RPC
 * carries no link from such a request to the call it belongs to over stdio, so it goes to the most
 * recent call in flight on that backend; a client that did not declare the capability (or cannot
 * receive requests on this call) makes the backend get an error.
 */
import { RpcError } from '../errors.ts';
import type { CallContext } from './call-context.ts';
import { CAPABILITY_FOR } from './eras.ts';

type Json = Record<string, unknown>;
const INVALID_PARAMS = -32602;
const METHOD_NOT_FOUND = -32601;

/** The calls in flight per backend; a class because it owns that table. */
export class ServerRequests {
  private readonly byBackend = new Map<string, CallContext[]>();

  /** Counts a call as in flight on `backend` until `leave` is called with the same context. */
  enter(backend: string, ctx: CallContext): void {
    const list = this.byBackend.get(backend);
    if (list) list.push(ctx);
    else this.byBackend.set(backend, [ctx]);
  }

  leave(backend: string, ctx: CallContext): void {
    const list = this.byBackend.get(backend);
    const i = list ? list.indexOf(ctx) : -1;
    if (i >= 0) list!.splice(i, 1);
  }

  /** Calls currently forwarded to backends (graceful shutdown waits for these). */
  get active(): number {
    let n = 0;
    for (const list of this.byBackend.values()) n += list.length;
    return n;
  }

  /** Routes one request of `backend` to the client of its most recent call in flight. */
  route(backend: string, method: string, params: Json | undefined, signal: AbortSignal): Promise<Json> {
    const calls = this.byBackend.get(backend) ?? [];
    const call = calls[calls.length - 1];
    if (!call) {
      if (method === 'roots/list') return Promise.resolve({ roots: [] });
      return Promise.reject(new RpcError(INVALID_PARAMS, `mcpgw: ${method} is only relayed while a client request to '${backend}' is in flight`));
    }
    const capability = CAPABILITY_FOR[method];
    const caps = call.capabilities;
    if (!call.relay || !caps || !caps[capability]) {
      if (method === 'roots/list') return Promise.resolve({ roots: [] });
      return Promise.reject(new RpcError(METHOD_NOT_FOUND, `mcpgw: the client does not support ${capability} (${method})`));
    }
    return call.relay(method, params, signal);
  }
}
