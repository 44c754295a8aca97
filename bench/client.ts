/**
 * @module The benchmark's MCP client and closed-loop load generator, over raw `fetch` (keep-alive).
 *
 * Speaks MCP 2025-11-25 Streamable HTTP: `initialize` + `notifications/initialized`, then requests carrying
 * Mcp-Session-Id and MCP-Protocol-Version; accepts `application/json, text/event-stream` and parses either.
 */

export const PROTOCOL_VERSION = '2025-11-25';
const REQUEST_TIMEOUT_MS = 30_000;

export type Json = Record<string, unknown>;

/** A JSON-RPC error or an HTTP failure. */
export class CallError extends Error {}

/** Finds the JSON-RPC response with `id` in a JSON or SSE body. */
export function parseAnswer(contentType: string, body: string, id: number): Json | undefined {
  if (contentType.includes('text/event-stream')) {
    for (const event of body.split(/\r?\n\r?\n/)) {
      const data = event
        .split(/\r?\n/)
        .filter((l) => l.startsWith('data:'))
        .map((l) => l.slice(5).replace(/^ /, ''))
        .join('\n');
      if (!data) continue;
      const message = JSON.parse(data) as Json;
      if (message.id === id) return message;
    }
    return undefined;
  }
  const parsed = JSON.parse(body) as Json | Json[];
  return Array.isArray(parsed) ? parsed.find((m) => m.id === id) : parsed;
}

/** One MCP session against one endpoint. */
export class Session {
  sessionId?: string;
  protocolVersion = PROTOCOL_VERSION;
  private nextId = 1;

  constructor(
    readonly url: string,
    private readonly extraHeaders: Record<string, string> = {},
  ) {}

  headers(accept = 'application/json, text/event-stream'): Record<string, string> {
    const h: Record<string, string> = { ...this.extraHeaders, accept, 'content-type': 'application/json' };
    if (this.sessionId) {
      h['mcp-session-id'] = this.sessionId;
      h['mcp-protocol-version'] = this.protocolVersion;
    }
    return h;
  }

  async open(): Promise<Json> {
    const result = await this.request('initialize', { protocolVersion: PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: 'mcpgw-bench', version: '1.0.0' } });
    if (typeof result.protocolVersion === 'string') this.protocolVersion = result.protocolVersion;
    await this.notify('notifications/initialized');
    return result;
  }

  async notify(method: string, params?: Json): Promise<void> {
    const res = await fetch(this.url, { method: 'POST', headers: this.headers(), body: JSON.stringify({ jsonrpc: '2.0', method, ...(params ? { params } : {}) }), signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    await res.arrayBuffer();
    if (res.status >= 300) throw new CallError(`${method}: HTTP ${res.status}`);
  }

  /** The gateway's own time for the last answer (its Server-Timing header), when it sent one. */
  lastServerMs?: number;

  async request(method: string, params?: Json): Promise<Json> {
    const id = this.nextId++;
    const res = await fetch(this.url, {
      method: 'POST',
      headers: this.headers(),
      body: JSON.stringify({ jsonrpc: '2.0', id, method, ...(params ? { params } : {}) }),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    const body = await res.text();
    const timing = /dur=([\d.]+)/.exec(res.headers.get('server-timing') ?? '');
    this.lastServerMs = timing ? Number(timing[1]) : undefined;
    if (res.status !== 200) throw new CallError(`${method}: HTTP ${res.status} ${body.slice(0, 200)}`);
    const sid = res.headers.get('mcp-session-id');
    if (sid && !this.sessionId) this.sessionId = sid;
    const answer = parseAnswer(res.headers.get('content-type') ?? '', body, id);
    if (!answer) throw new CallError(`${method}: no answer with id ${id}`);
    if (answer.error) throw new CallError(`${method}: ${JSON.stringify(answer.error).slice(0, 200)}`);
    return answer.result as Json;
  }

  /** All tools, following nextCursor (bounded). */
  async listTools(): Promise<Json[]> {
    const tools: Json[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 1000; page++) {
      const result = await this.request('tools/list', cursor ? { cursor } : {});
      tools.push(...((result.tools as Json[]) ?? []));
      cursor = result.nextCursor as string | undefined;
      if (!cursor) break;
    }
    return tools;
  }

  async close(): Promise<void> {
    if (!this.sessionId) return;
    await fetch(this.url, { method: 'DELETE', headers: this.headers(), signal: AbortSignal.timeout(5_000) })
      .then((r) => r.arrayBuffer())
      .catch(() => {});
  }
}

/** The name of the first tool whose own name is `echo` (after any prefix a gateway adds). */
export async function findEchoTool(session: Session): Promise<string> {
  const tools = await session.listTools();
  const names = tools.map((t) => String(t.name));
  const name = names.find((n) => n === 'echo') ?? names.find((n) => /(^|[^A-Za-z0-9])echo$/.test(n));
  if (!name) throw new Error(`no echo tool among ${names.slice(0, 10).join(', ')}`);
  return name;
}

export interface LoadResult {
  requests: number;
  errors: number;
  seconds: number;
  latenciesMs: number[];
  firstError?: string;
}

/** Closed loop: `concurrency` workers call `fn` back to back until `ms` pass or `maxRequests` complete. */
export async function closedLoop(fn: () => Promise<unknown>, concurrency: number, ms: number, maxRequests = 5_000_000): Promise<LoadResult> {
  const latenciesMs: number[] = [];
  let errors = 0;
  let started = 0;
  let firstError: string | undefined;
  const t0 = performance.now();
  const end = t0 + ms;
  const worker = async () => {
    while (performance.now() < end && started < maxRequests) {
      started++;
      const s = performance.now();
      try {
        await fn();
        latenciesMs.push(performance.now() - s);
      } catch (err) {
        errors++;
        firstError ??= err instanceof Error ? err.message : String(err);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { requests: latenciesMs.length, errors, seconds: (performance.now() - t0) / 1000, latenciesMs, firstError };
}

/** The p-th percentile (nearest rank) of `xs`. */
export function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const sorted = Float64Array.from(xs).sort();
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/**
 * A client of the deprecated HTTP+SSE transport (2024-11-05: GET opens the event stream, whose first
 * `endpoint` event names where to POST; answers arrive on the stream), for peers that serve only that
 * (mcp-hub). Same interface as Session.
 */
export class SseSession extends Session {
  private postUrl?: string;
  private reader?: ReadableStreamDefaultReader<Uint8Array>;
  private readonly waiting = new Map<number, (m: Json) => void>();
  private sseId = 1;

  override async open(): Promise<Json> {
    // The timeout bounds only the wait for the response headers: the event stream itself lives on.
    const connect = new AbortController();
    const timer = setTimeout(() => connect.abort(new CallError(`GET ${this.url}: no answer within ${REQUEST_TIMEOUT_MS} ms`)), REQUEST_TIMEOUT_MS);
    const res = await fetch(this.url, { headers: { ...this.headers('text/event-stream') }, signal: connect.signal }).finally(() => clearTimeout(timer));
    if (res.status !== 200 || !res.body) throw new CallError(`GET ${this.url}: HTTP ${res.status}`);
    this.reader = res.body.getReader();
    const endpoint = new Promise<string>((resolve, reject) => void this.pump(resolve).catch(reject));
    this.postUrl = new URL(await endpoint, this.url).toString();
    return super.open();
  }

  /** Reads the event stream: the endpoint event once, then answers routed by id (bounded by the stream's life). */
  private async pump(onEndpoint: (path: string) => void): Promise<void> {
    const decoder = new TextDecoder();
    let buffer = '';
    for (;;) {
      const { done, value } = await this.reader!.read();
      if (done) {
        // Answers still owed come on no other stream: fail them now rather than after the request timeout.
        for (const w of this.waiting.values()) w({ error: { message: 'the event stream ended' } });
        this.waiting.clear();
        return;
      }
      buffer += decoder.decode(value, { stream: true });
      let cut: number;
      while ((cut = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        const event = /^event: *(.*)$/m.exec(block)?.[1] ?? 'message';
        const data = block.split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trimStart()).join('\n');
        if (event === 'endpoint') onEndpoint(data);
        else if (data) {
          const m = JSON.parse(data) as Json;
          const w = typeof m.id === 'number' ? this.waiting.get(m.id) : undefined;
          if (w) (this.waiting.delete(m.id as number), w(m));
        }
      }
    }
  }

  override async notify(method: string, params?: Json): Promise<void> {
    const res = await fetch(this.postUrl!, { method: 'POST', headers: { ...this.headers(), 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', method, ...(params ? { params } : {}) }) });
    await res.arrayBuffer();
  }

  /** A reopening in progress (the peer dropped the event stream, e.g. while other targets were measured). */
  private reopening?: Promise<unknown>;

  override async request(method: string, params?: Json, retried = false): Promise<Json> {
    // The initialize of a reopening itself must not wait for that reopening.
    if (this.reopening && method !== 'initialize') await this.reopening;
    const id = this.sseId++;
    const answer = new Promise<Json>((resolve, reject) => {
      this.waiting.set(id, resolve);
      setTimeout(() => this.waiting.delete(id) && reject(new CallError(`${method}: no answer within ${REQUEST_TIMEOUT_MS} ms`)), REQUEST_TIMEOUT_MS).unref?.();
    });
    const res = await fetch(this.postUrl!, { method: 'POST', headers: { ...this.headers(), 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id, method, ...(params ? { params } : {}) }) });
    await res.arrayBuffer();
    if (res.status === 404 && !retried && method !== 'initialize') {
      this.waiting.delete(id);
      void answer.catch(() => {});
      // The stream (and with it the session) is gone: open a new one once, as a reconnecting client does.
      this.reopening ??= this.reopen().finally(() => (this.reopening = undefined));
      await this.reopening;
      return this.request(method, params, true);
    }
    if (res.status >= 300) throw new CallError(`${method}: HTTP ${res.status}`);
    const m = await answer;
    if (m.error) throw new CallError(`${method}: ${JSON.stringify(m.error).slice(0, 200)}`);
    return m.result as Json;
  }

  private async reopen(): Promise<void> {
    await this.reader?.cancel().catch(() => {});
    await this.open();
  }

  override async close(): Promise<void> {
    await this.reader?.cancel().catch(() => {});
  }
}
