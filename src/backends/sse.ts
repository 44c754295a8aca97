/** @module The deprecated HTTP+SSE wire for URL backends (MCP 2024-11-05 basic/transports). */
import { SseParser, idOfOverflow, type Overflow } from './framing.ts';
import { isRequest, parseInto, reason, tooLarge, type HttpWireOptions } from './http.ts';
import type { RpcId, RpcMessage, Wire } from './rpc.ts';

/** The deprecated HTTP+SSE transport (MCP 2024-11-05 basic/transports): GET an event stream, POST to its `endpoint`. */
export class SseWire implements Wire {
  onmessage?: (msg: RpcMessage) => void;
  onfail?: (id: RpcId, err: Error) => void;
  onclose?: (err?: Error) => void;
  private readonly url: URL;
  private readonly abort = new AbortController();
  private readonly postHeaders: Record<string, string>;
  private endpoint?: URL;
  private closed = false;

  constructor(private readonly o: HttpWireOptions) {
    this.url = new URL(o.url);
    this.postHeaders = { ...o.headers, 'content-type': 'application/json' };
  }

  async start(): Promise<void> {
    const res = await this.o.fetch(this.url, { method: 'GET', headers: { ...this.o.headers, accept: 'text/event-stream' }, signal: this.abort.signal });
    if (!res.ok || !(res.headers.get('content-type') ?? '').startsWith('text/event-stream')) {
      void res.body?.cancel().catch(() => {});
      throw new Error(`GET ${this.url.pathname}: HTTP ${res.status}${res.ok ? ' without an event stream' : ''}`);
    }
    await new Promise<void>((resolve, reject) => void this.read(res.body!, resolve, reject));
  }

  private async read(body: ReadableStream<Uint8Array>, ready: () => void, failed: (e: Error) => void): Promise<void> {
    const parser = new SseParser(this.o.maxMessageBytes, (e) => this.event(e.event, e.data, ready, failed), (ov) => this.overflow(ov));
    const reader = body.getReader();
    let err: Error = new Error('the SSE stream ended');
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        parser.push(value);
      }
    } catch (e) {
      err = new Error(`the SSE stream broke: ${reason(e)}`);
    }
    failed(err);
    if (!this.closed) {
      this.closed = true;
      this.onclose?.(err);
    }
  }

  private event(type: string, data: string, ready: () => void, failed: (e: Error) => void): void {
    if (type === 'endpoint') {
      const endpoint = new URL(data, this.url);
      // 2024-11-05 transports: the endpoint must be on the same origin as the stream.
      if (endpoint.origin !== this.url.origin) return failed(new Error(`endpoint ${endpoint.origin} is not on the origin of ${this.url.origin}`));
      this.endpoint = endpoint;
      return ready();
    }
    if (type === 'message') parseInto(data, (m) => this.onmessage?.(m), this.o.log);
  }

  private overflow(ov: Overflow): void {
    const id = idOfOverflow(ov);
    const err = tooLarge(this.o, ov, id);
    if (id !== undefined) this.onfail?.(id, err);
  }

  send(msg: RpcMessage): void {
    if (this.closed || !this.endpoint) throw new Error('connection closed');
    void this.post(msg);
  }

  private async post(msg: RpcMessage): Promise<void> {
    const id = isRequest(msg) ? msg.id : undefined;
    try {
      const res = await this.o.fetch(this.endpoint!, { method: 'POST', headers: this.postHeaders, body: JSON.stringify(msg), signal: this.abort.signal });
      void res.body?.cancel().catch(() => {});
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
    } catch (err) {
      if (this.closed) return;
      if (id === undefined) return this.o.log.debug('message to backend failed', { method: msg.method, error: reason(err) });
      this.onfail?.(id, new Error(reason(err)));
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.abort.abort(new Error('connection closed'));
  }
}
