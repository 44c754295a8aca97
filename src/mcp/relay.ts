/**
 * @module Server-to-client requests (sampling, elicitation, roots) sent to the client on a call's
 * stream, and the client's answers, which arrive as JSON-RPC responses in a later POST, matched back
 * by id and by the grant that started the call (MCP 2025-11-25 client features; spec-checklist §3.12).
 */
import { RpcError } from '../errors.ts';

type Json = Record<string, unknown>;

interface Pending {
  grantKey: string;
  resolve(result: Json): void;
  reject(err: unknown): void;
}

/** Sends a message on the stream of the call the request belongs to. */
export type Emit = (message: Json, essential?: boolean) => void;

/** Outstanding requests to clients; a class because it owns the table. */
export class ClientRequests {
  private readonly pending = new Map<string, Pending>();
  private seq = 0;

  constructor(private readonly prefix: string) {}

  /** Requests currently waiting for a client's answer. */
  get size(): number {
    return this.pending.size;
  }

  /** Sends `method` to the client through `emit` and waits for its answer (or the signal). */
  ask(grantKey: string, emit: Emit, method: string, params: Json | undefined, signal: AbortSignal): Promise<Json> {
    const id = `${this.prefix}-${++this.seq}`;
    return new Promise<Json>((resolve, reject) => {
      const onAbort = () => {
        this.pending.delete(id);
        emit({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: id, reason: 'the backend cancelled its request' } });
        reject(signal.reason ?? new Error('cancelled'));
      };
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      const done = () => signal.removeEventListener('abort', onAbort);
      this.pending.set(id, {
        grantKey,
        resolve: (r) => (done(), resolve(r)),
        reject: (e) => (done(), reject(e)),
      });
      emit({ jsonrpc: '2.0', id, method, ...(params ? { params } : {}) }, true);
    });
  }

  /** Delivers a client's JSON-RPC response; false when it answers nothing this grant asked. */
  answer(message: Json, grantKey: string): boolean {
    const id = String(message.id);
    const p = this.pending.get(id);
    if (!p || p.grantKey !== grantKey) return false;
    this.pending.delete(id);
    if ('result' in message) p.resolve((message.result as Json) ?? {});
    else {
      const e = (message.error ?? {}) as { code?: unknown; message?: unknown; data?: unknown };
      p.reject(new RpcError(typeof e.code === 'number' ? e.code : -32603, String(e.message ?? 'client error'), e.data));
    }
    return true;
  }

  /** Fails every outstanding request (shutdown). */
  rejectAll(reason: string): void {
    for (const [id, p] of this.pending) {
      this.pending.delete(id);
      p.reject(new RpcError(-32603, reason));
    }
  }
}
