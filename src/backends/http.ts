/**
 * @module The Streamable HTTP wire for URL backends (MCP 2025-11-25 basic/transports) over a
 * keep-alive fetch, with SSE parsed as it streams.
 * A response that ends before it carried its result fails that call at once; messages over the
 * size limit fail their call; a 404 on the session re-initializes it and retries the call once.
 */
import { GatewayError, errorMessage } from '../errors.ts';
import type { Logger } from '../log.ts';
import { modernHeaders, type ParamLookup } from './discover.ts';
import { LineSplitter, SseParser, idOfOverflow, type Overflow } from './framing.ts';
import { receivedAs, type RpcId, type RpcMessage, type Wire } from './rpc.ts';

/** What an HTTP wire needs. */
export interface HttpWireOptions {
  backend: string;
  url: string;
  /** Configured headers; only these go to the backend (never a client's bearer token). */
  headers: Record<string, string>;
  fetch: typeof fetch;
  log: Logger;
  maxMessageBytes: number;
}

type Deliver = (m: RpcMessage) => void;
const ACCEPT_BOTH = 'application/json, text/event-stream';
/** Newline-delimited JSON media types (application/x-ndjson, application/jsonl, ...). */
const NDJSON = /^application\/(x-)?(ndjson|jsonl|json-lines|jsonlines)\b/i;
const lineText = new TextDecoder();
const NEWLINE = new Uint8Array([10]);
const RELISTEN_MS = 1000;

/** Reads a response body as SSE or NDJSON (as it streams) or JSON; throws when it ends before `id`'s answer. */
async function consume(res: Response, id: RpcId | undefined, deliver: Deliver, o: HttpWireOptions, open?: Map<RpcId, ReadableStreamDefaultReader>): Promise<void> {
  const type = res.headers.get('content-type') ?? '';
  let answered = id === undefined;
  const take = (m: RpcMessage) => {
    if (!answered && m.id === id && m.method === undefined) answered = true;
    deliver(m);
  };
  const overflow = (ov: Overflow) => {
    const oid = idOfOverflow(ov);
    const err = tooLarge(o, ov, oid);
    // Only the call this response belongs to fails here; anything else over the limit is dropped.
    if (oid !== undefined && oid === id) throw err;
  };
  const sse = type.startsWith('text/event-stream');
  // A long-lived answer (a subscriptions/listen stream) may also come as one JSON message per line.
  if (sse || NDJSON.test(type)) {
    const parser = sse
      ? new SseParser(o.maxMessageBytes, (e) => e.event === 'message' && parseInto(e.data, take, o.log), overflow)
      : new LineSplitter(o.maxMessageBytes, (line) => line.length > 0 && parseInto(lineText.decode(line), take, o.log), overflow);
    const reader = res.body!.getReader();
    if (id !== undefined) open?.set(id, reader);
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        parser.push(value);
      }
      // The last NDJSON line may lack its newline (an unfinished SSE event is dropped, WHATWG §9.2.6).
      if (!sse) parser.push(NEWLINE);
    } catch (err) {
      if (err instanceof GatewayError) {
        void reader.cancel().catch(() => {});
        throw err;
      }
      if (!answered) throw new Error(`the response stream broke before the result: ${reason(err)}`);
      return;
    } finally {
      if (id !== undefined) open?.delete(id);
    }
    if (!answered) throw new Error('the response stream ended before the result');
    return;
  }
  if (type.includes('json')) {
    const text = await readBounded(res, o, id);
    parseInto(text, take, o.log);
    if (!answered) throw new Error('the JSON response did not carry the result');
    return;
  }
  void res.body?.cancel().catch(() => {});
  if (!answered) throw new Error(`unexpected content-type '${type}'`);
}

async function readBounded(res: Response, o: HttpWireOptions, id: RpcId | undefined): Promise<string> {
  const length = Number(res.headers.get('content-length') ?? NaN);
  const tooBig = (bytes: number) => {
    void res.body?.cancel().catch(() => {});
    return tooLarge(o, { bytes }, id);
  };
  if (length > o.maxMessageBytes) throw tooBig(length);
  if (!res.body) return '';
  if (length >= 0) {
    try {
      return await res.text();
    } catch (err) {
      throw new Error(`the response broke before the result: ${reason(err)}`);
    }
  }
  const reader = res.body.getReader();
  const parts: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.length;
      if (size > o.maxMessageBytes) throw tooBig(size);
      parts.push(value);
    }
  } catch (err) {
    if (err instanceof GatewayError) throw err;
    throw new Error(`the response broke before the result: ${reason(err)}`);
  }
  return Buffer.concat(parts, size).toString('utf8');
}

/** Parses one JSON-RPC message (or a 2025-03-26 batch) and hands each to `take`; non-JSON is logged and dropped. */
export function parseInto(text: string, take: Deliver, log: Logger): void {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    log.warn('backend sent a message that is not JSON', { data: text.slice(0, 200) });
    return;
  }
  if (Array.isArray(parsed)) for (const m of parsed) take(m as RpcMessage);
  else if (parsed && typeof parsed === 'object') (receivedAs(parsed, text), take(parsed as RpcMessage));
}

/** The error for a backend message over `max_message_bytes`, logged once here. */
export function tooLarge(o: HttpWireOptions, ov: Pick<Overflow, 'bytes'>, id: RpcId | undefined): GatewayError {
  const message = `backend '${o.backend}' sent a message of ${ov.bytes} bytes, over the limit of ${o.maxMessageBytes} bytes (max_message_bytes)`;
  o.log.warn('backend message over the size limit, discarded', { bytes: ov.bytes, limit: o.maxMessageBytes, id });
  return new GatewayError('backend_message_too_large', message, { detail: { backend: o.backend, id, bytes: ov.bytes, limit: o.maxMessageBytes } });
}

/** A fetch/stream error's message with its errno code (ECONNRESET, ECONNREFUSED) when it has one. */
export function reason(err: unknown): string {
  const cause = (err as { cause?: unknown })?.cause;
  const code = (err as { code?: unknown })?.code ?? (cause as { code?: unknown })?.code;
  const msg = errorMessage(err);
  return typeof code === 'string' && !msg.includes(code) ? `${msg} (${code})` : msg;
}

/** A request (method and id), as opposed to a notification or a response. */
export const isRequest = (m: RpcMessage): m is RpcMessage & { id: RpcId; method: string } => m.method !== undefined && m.id !== undefined && m.id !== null;

/** A Streamable HTTP client session (MCP 2025-11-25 basic/transports §Streamable HTTP). */
export class StreamableHttpWire implements Wire {
  onmessage?: (msg: RpcMessage) => void;
  onfail?: (id: RpcId, err: Error) => void;
  onclose?: (err?: Error) => void;
  onrenewed?: () => void;
  /** The `x-mcp-header` declarations of the backend's tools, for the Mcp-Param-* headers of 2026-07-28 calls. */
  paramDecls?: ParamLookup;
  private readonly url: URL;
  private readonly abort = new AbortController();
  private readonly deliverFn: Deliver = (m) => this.deliver(m);
  private postHeaders: Record<string, string>;
  private sessionId?: string;
  private protocolVersion?: string;
  private initMsg?: RpcMessage;
  private reinit?: Promise<void>;
  private listening = false;
  private closed = false;
  /** SSE answers still streaming, by request id, so that a cancelled call frees its connection. */
  private readonly streams = new Map<RpcId, ReadableStreamDefaultReader>();

  constructor(private readonly o: HttpWireOptions) {
    this.url = new URL(o.url);
    this.postHeaders = this.buildHeaders(ACCEPT_BOTH);
  }

  async start(): Promise<void> {}

  /** The caller gave up on `id` (cancelled or timed out): stop reading its answer. */
  abandon(id: RpcId): void {
    void this.streams.get(id)?.cancel().catch(() => {});
  }

  /** `headers`: a client's Mcp-Param-* headers, sent only with a 2026-07-28 request (SEP-2243). */
  send(msg: RpcMessage, headers?: Record<string, string>): void {
    if (this.closed) throw new Error('connection closed');
    if (msg.method === 'initialize') {
      this.initMsg = msg;
      this.setSession(undefined, undefined);
    }
    void this.post(msg, true, headers);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.abort.abort(new Error('connection closed'));
    // MCP basic/transports §Session Management: clients SHOULD DELETE a session they no longer need.
    if (this.sessionId) {
      await this.o.fetch(this.url, { method: 'DELETE', headers: this.postHeaders, signal: AbortSignal.timeout(1000) }).then(
        (r) => r.body?.cancel(),
        () => {},
      );
    }
  }

  private buildHeaders(accept: string): Record<string, string> {
    const h: Record<string, string> = { ...this.o.headers, accept, 'content-type': 'application/json' };
    if (this.sessionId) h['mcp-session-id'] = this.sessionId;
    if (this.protocolVersion) h['mcp-protocol-version'] = this.protocolVersion;
    return h;
  }

  private setSession(id: string | undefined, version: string | undefined): void {
    this.sessionId = id;
    this.protocolVersion = version;
    this.postHeaders = this.buildHeaders(ACCEPT_BOTH);
  }

  private deliver(m: RpcMessage): void {
    if (this.initMsg && m.id === this.initMsg.id && m.result && typeof m.result.protocolVersion === 'string') {
      this.setSession(this.sessionId, m.result.protocolVersion);
    }
    this.onmessage?.(m);
  }

  private async post(msg: RpcMessage, mayRetry: boolean, passThrough?: Record<string, string>): Promise<void> {
    const id = isRequest(msg) ? msg.id : undefined;
    const session = this.sessionId;
    try {
      const modern = modernHeaders(msg, this.paramDecls, passThrough);
      // 2026-07-28 requests carry their own version, method and name headers and no session (SEP-2243).
      const headers = modern ? { ...this.o.headers, accept: ACCEPT_BOTH, 'content-type': 'application/json', ...modern } : this.postHeaders;
      const res = await this.o.fetch(this.url, { method: 'POST', headers, body: JSON.stringify(msg), signal: this.abort.signal });
      if (msg.method === 'initialize' && res.ok) this.setSession(res.headers.get('mcp-session-id') ?? undefined, undefined);
      if (res.status === 404 && session && mayRetry && id !== undefined && msg.method !== 'initialize') {
        void res.body?.cancel().catch(() => {});
        await this.reinitialize(session);
        return this.post(msg, false, passThrough);
      }
      if (!res.ok) return await this.rejected(res, id);
      if (res.status === 202 || res.status === 204 || id === undefined) {
        if (id !== undefined) throw new Error(`HTTP ${res.status} without a result`);
        void res.body?.cancel().catch(() => {});
        if (msg.method === 'notifications/initialized') void this.listen();
        return;
      }
      await consume(res, id, this.deliverFn, this.o, this.streams);
    } catch (err) {
      if (this.closed) return;
      if (id === undefined) return this.o.log.debug('notification to backend failed', { method: msg.method, error: reason(err) });
      this.onfail?.(id, err instanceof GatewayError ? err : new Error(reason(err)));
    }
  }

  /** A non-2xx answer: its JSON-RPC error if the body carries one for this id, else the HTTP status. */
  private async rejected(res: Response, id: RpcId | undefined): Promise<void> {
    const text = await readBounded(res, this.o, id).catch(() => '');
    let m: RpcMessage | undefined;
    try {
      m = JSON.parse(text) as RpcMessage;
    } catch {
      // not JSON-RPC
    }
    if (id !== undefined && m?.error && m.id === id) return this.deliver(m);
    const detail = m?.error?.message ?? text.trim().slice(0, 200);
    throw new Error(`HTTP ${res.status}${detail ? `: ${detail}` : ''}`);
  }

  /** MCP basic/transports §Session Management: on 404 start a new session with a new initialize. */
  private reinitialize(expired: string): Promise<void> {
    if (this.sessionId !== expired) return Promise.resolve();
    this.reinit ??= this.openSession().finally(() => (this.reinit = undefined));
    return this.reinit;
  }

  private async openSession(): Promise<void> {
    if (!this.initMsg) throw new Error('session expired before it was initialized');
    this.o.log.info('backend session expired (HTTP 404); re-initializing');
    const previous = this.protocolVersion;
    this.setSession(undefined, undefined);
    const init = { ...this.initMsg, id: `mcpgw-reinit-${performance.now()}` };
    const res = await this.o.fetch(this.url, { method: 'POST', headers: this.postHeaders, body: JSON.stringify(init), signal: this.abort.signal });
    if (!res.ok) {
      void res.body?.cancel().catch(() => {});
      throw new Error(`re-initializing the backend session failed: HTTP ${res.status}`);
    }
    const session = res.headers.get('mcp-session-id') ?? undefined;
    let version: string | undefined;
    await consume(res, init.id, (m) => (m.id === init.id ? (version = m.result?.protocolVersion as string) : this.deliver(m)), this.o);
    this.setSession(session, version ?? previous);
    const ack = await this.o.fetch(this.url, { method: 'POST', headers: this.postHeaders, body: '{"jsonrpc":"2.0","method":"notifications/initialized"}', signal: this.abort.signal });
    void ack.body?.cancel().catch(() => {});
    void this.listen();
    this.onrenewed?.();
  }

  /** The optional GET stream for server notifications and requests; a 405 means the server offers none. */
  private async listen(): Promise<void> {
    if (this.listening || this.closed) return;
    this.listening = true;
    let opened = false;
    try {
      const res = await this.o.fetch(this.url, { method: 'GET', headers: this.buildHeaders('text/event-stream'), signal: this.abort.signal });
      if (!res.ok || !(res.headers.get('content-type') ?? '').startsWith('text/event-stream')) {
        void res.body?.cancel().catch(() => {});
        if (res.status !== 405) this.o.log.debug('backend GET stream not available', { status: res.status });
        return;
      }
      opened = true;
      await consume(res, undefined, this.deliverFn, this.o);
    } catch (err) {
      if (!this.closed) this.o.log.debug('backend GET stream ended', { error: reason(err) });
    } finally {
      this.listening = false;
      if (opened && !this.closed) setTimeout(() => void this.listen(), RELISTEN_MS).unref?.();
    }
  }
}

