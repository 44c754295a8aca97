/**
 * @module Outgoing Server-Sent Event streams with a bounded buffer, and one shared keep-alive ticker
 * for all of them (no timer per stream). A client that does not read loses notifications (counted),
 * and is disconnected when even a response no longer fits: memory never grows with a slow reader.
 */

const encoder = new TextEncoder();

/** Counters shared by every stream of a gateway (for status and metrics). */
export interface StreamStats {
  open: number;
  dropped: number;
  disconnected: number;
}

/** What every stream needs to know. */
export interface StreamOptions {
  /** Bytes a stream may hold that the client has not read yet. */
  maxBufferedBytes: number;
  stats: StreamStats;
}

/** The SSE response headers (spec-checklist §2.1: no-cache, X-Accel-Buffering: no). */
export const SSE_HEADERS: Record<string, string> = {
  'content-type': 'text/event-stream',
  'cache-control': 'no-cache',
  'x-accel-buffering': 'no',
};

/** One outgoing SSE stream; a class because it has a lifecycle. */
export class EventStream {
  readonly body: ReadableStream<Uint8Array>;
  private controller!: ReadableStreamDefaultController<Uint8Array>;
  private closedFlag = false;
  private readonly closers: (() => void)[] = [];
  /** Clock reading (ms, from the ticker) of the last write; keep-alives go only to quiet streams. */
  lastWrite = 0;

  constructor(private readonly opts: StreamOptions) {
    // The queue's size is counted in bytes: desiredSize is what is left of the budget.
    this.body = new ReadableStream<Uint8Array>(
      {
        start: (c) => void (this.controller = c),
        cancel: () => this.finish(),
      },
      { highWaterMark: opts.maxBufferedBytes, size: (chunk) => chunk?.byteLength ?? 0 },
    );
    opts.stats.open++;
    ticker.add(this);
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  /** Runs `fn` once when the stream ends (client gone, closed, or disconnected for not reading). */
  onClose(fn: () => void): void {
    if (this.closedFlag) fn();
    else this.closers.push(fn);
  }

  /**
   * Sends one JSON-RPC message as an SSE event. A notification that does not fit is dropped
   * (counted); a response or request that does not fit ends the stream, since the client stopped reading.
   */
  send(message: unknown, essential = false): boolean {
    if (this.closedFlag) return false;
    return this.sendRaw(`event: message\ndata: ${JSON.stringify(message)}\n\n`, essential);
  }

  /** Sends pre-formatted SSE text (one or more complete events) under the same budget rules as send(). */
  sendRaw(text: string, essential = false): boolean {
    if (this.closedFlag) return false;
    const chunk = encoder.encode(text);
    const room = this.controller.desiredSize ?? 0;
    if (chunk.byteLength > room) {
      // An essential message may overshoot the budget once, when nothing is waiting unread.
      if (!essential) {
        this.opts.stats.dropped++;
        return false;
      }
      if (room < this.opts.maxBufferedBytes) {
        this.opts.stats.disconnected++;
        this.close();
        return false;
      }
    }
    return this.write(chunk);
  }

  /** Sends an SSE comment (never parsed as an event); used to flush headers and keep the stream alive. */
  comment(text: string): boolean {
    if (this.closedFlag || (this.controller.desiredSize ?? 0) <= 0) return false;
    return this.write(encoder.encode(`: ${text}\n\n`));
  }

  private write(chunk: Uint8Array): boolean {
    try {
      this.controller.enqueue(chunk);
      this.lastWrite = ticker.now;
      return true;
    } catch {
      this.finish();
      return false;
    }
  }

  /** Ends the stream after what is queued. */
  close(): void {
    if (this.closedFlag) return;
    try {
      this.controller.close();
    } catch {
      // already errored or closed by the reader
    }
    this.finish();
  }

  private finish(): void {
    if (this.closedFlag) return;
    this.closedFlag = true;
    this.opts.stats.open--;
    ticker.delete(this);
    for (const fn of this.closers.splice(0)) {
      try {
        fn();
      } catch {
        // one failing listener must not stop the others
      }
    }
  }
}

/** One interval for all streams: a keep-alive comment on each stream quiet for a whole period. */
const ticker = {
  streams: new Set<EventStream>(),
  now: 0,
  periodMs: 15_000,
  timer: undefined as ReturnType<typeof setInterval> | undefined,
  add(s: EventStream): void {
    this.streams.add(s);
    if (!this.timer) {
      this.timer = setInterval(() => this.tick(), this.periodMs);
      this.timer.unref?.();
    }
  },
  delete(s: EventStream): void {
    this.streams.delete(s);
    if (this.streams.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  },
  tick(): void {
    this.now++;
    for (const s of this.streams) if (s.lastWrite < this.now - 1) s.comment('keep-alive');
  },
};

/**
 * Sets the keep-alive period (the `http.sse_keepalive` config). Bun closes connections idle for
 * longer than its idleTimeout, so this must stay below it (spec-checklist §2.1 REALITY).
 */
export function setKeepAlivePeriod(ms: number): void {
  if (ms === ticker.periodMs) return;
  ticker.periodMs = ms;
  if (ticker.timer) {
    clearInterval(ticker.timer);
    ticker.timer = setInterval(() => ticker.tick(), ms);
    ticker.timer.unref?.();
  }
}

/** An SSE Response around a stream. */
export function sseResponse(stream: EventStream, headers: Record<string, string> = {}): Response {
  return new Response(stream.body, { status: 200, headers: { ...SSE_HEADERS, ...headers } });
}
