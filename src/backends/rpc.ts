/**
 * @module A lean JSON-RPC 2.0 peer over a backend wire: the gateway's own ids, per-call timeouts
 * (reset on progress, bounded in total), progress relay, cancellation, server-to-client requests
 * and notifications. Messages are forwarded as they are: nothing is re-validated.
 */
import { GatewayError, RpcError, errorMessage } from '../errors.ts';

/** A JSON object as it travels, not validated. */
export type Json = Record<string, unknown>;
/** A JSON-RPC request id. */
export type RpcId = string | number;

/** One JSON-RPC message as it travels (request, notification, result or error). */
export interface RpcMessage {
  jsonrpc: '2.0';
  id?: RpcId | null;
  method?: string;
  params?: Json;
  result?: Json;
  error?: { code: number; message: string; data?: unknown };
}

/**
 * A transport to one backend. `send` never throws for a delivery problem of a request: the wire
 * reports it through `onfail(id)` instead (it may throw synchronously when not started).
 */
export interface Wire {
  start(): Promise<void>;
  /** `headers`: extra HTTP headers of this request (a client's Mcp-Param-*); wires without headers ignore them. */
  send(msg: RpcMessage, headers?: Record<string, string>): void;
  close(): Promise<void>;
  onmessage?: (msg: RpcMessage) => void;
  /** The request with this id will never get its answer (stream ended, message too large, HTTP error). */
  onfail?: (id: RpcId, err: Error) => void;
  /** The wire is gone for good (process exited, SSE stream ended). */
  onclose?: (err?: Error) => void;
  /** Optional: the peer gave up on this request (cancelled, timed out); free what its answer holds. */
  abandon?(id: RpcId): void;
  /** The wire opened a new session by itself (HTTP 404): what the backend offers may have changed. */
  onrenewed?: () => void;
}

export { RpcError } from '../errors.ts';

/** The text each received message was parsed from (set by the wires), then each forwarded result's own text. */
const texts = new WeakMap<object, string>();

/** A wire records the exact text a message was parsed from, so that its result can be forwarded without re-serializing. */
export function receivedAs(msg: object, text: string): void {
  texts.set(msg, text);
}

/**
 * The JSON text of a result exactly as the backend sent it, when it is known: the response's text minus its
 * envelope. Only for an unmodified result object straight from a backend; undefined otherwise.
 */
export function resultText(result: object): string | undefined {
  return texts.get(result);
}

/**
 * The `result` member's text of a response line `{"result":…,"jsonrpc":"2.0","id":N}` (the SDKs' order) or
 * `{"jsonrpc":"2.0","id":N,"result":…}`, when the line has exactly those three members and nothing around them
 * (no whitespace): then the text between the envelope's parts is the result's own JSON (barring duplicate
 * top-level keys, which the forwarding envelope overrides: see endpoint.ts resultBody). Undefined otherwise.
 */
export function resultSlice(line: string, msg: RpcMessage): string | undefined {
  let members = 0;
  for (const _ in msg) members++;
  if (members !== 3 || msg.result === undefined || (typeof msg.id !== 'number' && typeof msg.id !== 'string')) return undefined;
  const id = typeof msg.id === 'number' ? String(msg.id) : JSON.stringify(msg.id);
  if (line.startsWith('{"result":')) {
    const suffix = `,"jsonrpc":"2.0","id":${id}}`;
    return line.endsWith(suffix) && line.length > 10 + suffix.length ? line.slice(10, line.length - suffix.length) : undefined;
  }
  const prefix = `{"jsonrpc":"2.0","id":${id},"result":`;
  return line.startsWith(prefix) && line.endsWith('}') && line.length > prefix.length + 1 ? line.slice(prefix.length, -1) : undefined;
}

/** What the peer hands to its owner. */
export interface PeerHandlers {
  /** A request from the backend (other than ping, which the peer answers). */
  request(method: string, params: Json | undefined, signal: AbortSignal): Promise<Json>;
  notification(method: string, params: Json | undefined): void;
  /** A call failed at the transport level (its wire failed it, or it timed out). */
  callFailed(err: GatewayError): void;
  closed(err: Error): void;
}

/**
 * What a call can be cancelled by: an AbortSignal, or a lighter object with the members the peer uses (a gateway
 * call is one itself, so that a forwarded call allocates no AbortController: issue 7, per-call cost).
 */
export interface CancelSignal {
  readonly aborted: boolean;
  readonly reason?: unknown;
  addEventListener(type: 'abort', listener: EventListenerObject): void;
  removeEventListener(type: 'abort', listener: EventListenerObject): void;
}

/** Options of one outgoing request. */
export interface CallOptions {
  timeout: number;
  /** Upper bound of the total time when progress keeps resetting the timeout; default 4x timeout. */
  maxTotal?: number;
  signal?: CancelSignal;
  onprogress?: (p: { progress: number; total?: number; message?: string }) => void;
  /** Extra HTTP headers for this request (passed to the wire). */
  headers?: Record<string, string>;
}

/** One in-flight request; it is its own abort listener so that a call allocates no closures for it. */
class Pending {
  timer?: ReturnType<typeof setTimeout>;
  readonly started = performance.now();
  constructor(
    readonly peer: RpcPeer,
    readonly id: number,
    readonly resolve: (v: Json) => void,
    readonly reject: (e: unknown) => void,
    readonly opts: CallOptions,
  ) {}

  handleEvent(): void {
    this.peer.cancel(this, this.opts.signal?.reason);
  }

  arm(ms: number): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = setTimeout(onTimeout, ms, this);
  }
}

function onTimeout(p: Pending): void {
  p.peer.timedOut(p);
}

/** The client side of one backend session. */
export class RpcPeer {
  private readonly pending = new Map<RpcId, Pending>();
  private readonly serving = new Map<RpcId, AbortController>();
  private nextId = 0;
  private closedWith?: Error;
  /** The 2026-07-28 `_meta` envelope added to every request once the backend was discovered as modern. */
  envelope?: Json;

  constructor(
    private readonly wire: Wire,
    private readonly backend: string,
    private readonly handlers: PeerHandlers,
  ) {
    wire.onmessage = (msg) => this.receive(msg);
    wire.onfail = (id, err) => this.failed(id, err);
    wire.onclose = (err) => this.shutdown(err ?? new Error('connection closed'));
  }

  /** Sends a request and resolves with its result; rejects with the backend's RpcError or a GatewayError. */
  request(method: string, params: Json | undefined, opts: CallOptions): Promise<Json> {
    if (this.closedWith) return Promise.reject(this.unavailable(this.closedWith));
    if (opts.signal?.aborted) return Promise.reject(abortReason(opts.signal));
    const id = ++this.nextId;
    if (this.envelope) params = { ...params, _meta: { ...this.envelope, ...(params?._meta as Json | undefined) } };
    const meta = params?._meta as Json | undefined;
    // The gateway's own progressToken (the request id) goes to the backend; progress maps back by it.
    if (opts.onprogress) params = { ...params, _meta: { ...meta, progressToken: id } };
    else if (meta?.progressToken !== undefined) params = { ...params, _meta: { ...meta, progressToken: undefined } };
    return new Promise<Json>((resolve, reject) => {
      const p = new Pending(this, id, resolve, reject, opts);
      this.pending.set(id, p);
      p.arm(opts.timeout);
      opts.signal?.addEventListener('abort', p);
      try {
        this.wire.send({ jsonrpc: '2.0', id, method, params }, opts.headers);
      } catch (err) {
        this.failed(id, err as Error);
      }
    });
  }

  /** Sends a notification; delivery problems are ignored (notifications have no answer). */
  notify(method: string, params?: Json): void {
    if (this.closedWith) return;
    try {
      this.wire.send(params === undefined ? { jsonrpc: '2.0', method } : { jsonrpc: '2.0', method, params });
    } catch {
      // not connected: nothing to tell
    }
  }

  /** True once the wire is gone or close() was called. */
  get closed(): boolean {
    return this.closedWith !== undefined;
  }

  /** Number of requests waiting for an answer. */
  get inflight(): number {
    return this.pending.size;
  }

  /** Closes the wire and fails everything in flight. */
  async close(): Promise<void> {
    this.shutdown(new Error('connection closed'), false);
    await this.wire.close();
  }

  /** @internal Abort signal fired: tell the backend (MCP basic/utilities/cancellation) and reject. */
  cancel(p: Pending, reason: unknown): void {
    if (!this.settle(p)) return;
    this.notify('notifications/cancelled', { requestId: p.id, reason: reason instanceof Error ? reason.message : 'cancelled by the client' });
    this.wire.abandon?.(p.id);
    p.reject(reason instanceof Error ? reason : new DOMException('request cancelled', 'AbortError'));
  }

  /** @internal */
  timedOut(p: Pending): void {
    if (!this.settle(p)) return;
    const ms = p.opts.timeout;
    this.notify('notifications/cancelled', { requestId: p.id, reason: `mcpgw: timed out after ${ms} ms` });
    this.wire.abandon?.(p.id);
    const err = new GatewayError('backend_timeout', `backend '${this.backend}' did not answer within ${ms} ms`, { detail: { backend: this.backend } });
    p.reject(err);
    this.handlers.callFailed(err);
  }

  private settle(p: Pending): boolean {
    if (this.pending.get(p.id) !== p) return false;
    this.pending.delete(p.id);
    clearTimeout(p.timer);
    p.opts.signal?.removeEventListener('abort', p);
    return true;
  }

  private failed(id: RpcId, err: Error): void {
    const p = this.pending.get(id);
    if (!p || !this.settle(p)) return;
    const e = err instanceof GatewayError ? err : this.unavailable(err);
    p.reject(e);
    this.handlers.callFailed(e);
  }

  private unavailable(err: Error): GatewayError {
    return new GatewayError('backend_unavailable', `backend '${this.backend}' failed during the call: ${errorMessage(err)}`, { cause: err, detail: { backend: this.backend } });
  }

  private receive(msg: RpcMessage): void {
    if (typeof msg !== 'object' || msg === null) return;
    if (msg.method !== undefined) {
      if (msg.id !== undefined && msg.id !== null) this.serve(msg.id, msg.method, msg.params);
      else this.notified(msg.method, msg.params);
      return;
    }
    if (msg.id === undefined || msg.id === null) return;
    const p = this.pending.get(msg.id);
    if (!p || !this.settle(p)) return;
    if (msg.error) return p.reject(new RpcError(Number(msg.error.code), String(msg.error.message ?? 'error'), msg.error.data));
    const result = msg.result ?? {};
    const line = msg.result && texts.get(msg);
    if (line) {
      const text = resultSlice(line, msg);
      if (text !== undefined) texts.set(result, text);
    }
    p.resolve(result);
  }

  private notified(method: string, params: Json | undefined): void {
    if (method === 'notifications/progress') return this.progressed(params);
    if (method === 'notifications/cancelled') {
      this.serving.get(params?.requestId as RpcId)?.abort(new Error(String(params?.reason ?? 'cancelled by the backend')));
      return;
    }
    this.handlers.notification(method, params);
  }

  private progressed(params: Json | undefined): void {
    const p = this.pending.get(params?.progressToken as RpcId);
    if (!p?.opts.onprogress) return;
    const maxTotal = p.opts.maxTotal ?? p.opts.timeout * 4;
    const left = maxTotal - (performance.now() - p.started);
    if (left > 0) p.arm(Math.min(p.opts.timeout, left));
    // The caller gets the progress without the gateway's token, as the SDK's onprogress did.
    const { progressToken: _ours, ...progress } = params as Json;
    p.opts.onprogress(progress as { progress: number });
  }

  private serve(id: RpcId, method: string, params: Json | undefined): void {
    if (method === 'ping') return this.notifyResult(id, {});
    const ac = new AbortController();
    this.serving.set(id, ac);
    this.handlers.request(method, params, ac.signal).then(
      (result) => {
        this.serving.delete(id);
        if (!ac.signal.aborted) this.notifyResult(id, result);
      },
      (err) => {
        this.serving.delete(id);
        if (ac.signal.aborted) return;
        const e = err as { code?: unknown; message?: string; data?: unknown };
        const code = typeof e?.code === 'number' ? e.code : -32603;
        this.send({ jsonrpc: '2.0', id, error: { code, message: e?.message ?? errorMessage(err), ...(e?.data !== undefined && { data: e.data }) } });
      },
    );
  }

  private notifyResult(id: RpcId, result: Json): void {
    this.send({ jsonrpc: '2.0', id, result });
  }

  private send(msg: RpcMessage): void {
    if (this.closedWith) return;
    try {
      this.wire.send(msg);
    } catch {
      // the wire is gone; the backend's request dies with it
    }
  }

  private shutdown(err: Error, notify = true): void {
    if (this.closedWith) return;
    this.closedWith = err;
    for (const p of [...this.pending.values()]) {
      this.settle(p);
      p.reject(this.unavailable(err));
    }
    for (const ac of this.serving.values()) ac.abort(err);
    this.serving.clear();
    if (notify) this.handlers.closed(err);
  }
}

function abortReason(signal: CancelSignal): unknown {
  return signal.reason instanceof Error ? signal.reason : new DOMException('request cancelled', 'AbortError');
}
