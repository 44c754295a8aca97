/**
 * @module Byte-level framing shared by the backend wires: newline-delimited lines with a size limit
 * that skips an oversized line without buffering it, and an incremental SSE parser built on it
 * (WHATWG HTML §9.2 "Server-sent events", event stream interpretation).
 */

/** How much of the start and the end of a discarded line is kept, to find its JSON-RPC id. */
const KEEP = 512;
const LF = 10;
const CR = 13;
const decoder = new TextDecoder();

/** A line that was over the limit: its size and the bytes at both ends. */
export interface Overflow {
  bytes: number;
  head: string;
  tail: string;
}

/**
 * Splits a byte stream into lines (LF, with an optional CR before it). A line longer than `limit`
 * bytes is not buffered: its start and end are kept, the rest is skipped up to the next LF, and
 * `onoverflow` reports it.
 */
export class LineSplitter {
  private parts: Uint8Array[] = [];
  private size = 0;
  private discarding = false;
  private discarded = 0;
  private head = '';
  private tail: Uint8Array = new Uint8Array(0);

  constructor(
    private readonly limit: number,
    private readonly online: (line: Uint8Array) => void,
    private readonly onoverflow: (o: Overflow) => void,
  ) {}

  /** Feeds one chunk; calls back for every complete line in it. */
  push(chunk: Uint8Array): void {
    let start = 0;
    while (start <= chunk.length) {
      const nl = chunk.indexOf(LF, start);
      const end = nl < 0 ? chunk.length : nl;
      const piece = chunk.subarray(start, end);
      if (this.discarding) this.discardPiece(piece);
      else if (this.size + piece.length > this.limit) this.beginDiscard(piece);
      else if (nl >= 0) this.emit(piece);
      else if (piece.length > 0) {
        this.parts.push(piece);
        this.size += piece.length;
      }
      if (nl < 0) return;
      if (this.discarding) this.endDiscard();
      start = nl + 1;
    }
  }

  /** Drops any partial line (the stream ended). */
  reset(): void {
    this.parts = [];
    this.size = 0;
    this.discarding = false;
  }

  private emit(piece: Uint8Array): void {
    let line = piece;
    if (this.size > 0) {
      this.parts.push(piece);
      line = concat(this.parts, this.size + piece.length);
      this.parts = [];
      this.size = 0;
    }
    if (line.length > 0 && line[line.length - 1] === CR) line = line.subarray(0, line.length - 1);
    this.online(line);
  }

  private beginDiscard(piece: Uint8Array): void {
    this.parts.push(piece);
    const all = concat(this.parts, this.size + piece.length);
    this.head = decoder.decode(all.subarray(0, KEEP));
    this.tail = all.slice(Math.max(0, all.length - KEEP));
    this.discarded = all.length;
    this.parts = [];
    this.size = 0;
    this.discarding = true;
  }

  private discardPiece(piece: Uint8Array): void {
    this.discarded += piece.length;
    if (piece.length >= KEEP) this.tail = piece.slice(piece.length - KEEP);
    else {
      const t = new Uint8Array(Math.min(KEEP, this.tail.length + piece.length));
      const keepOld = t.length - piece.length;
      t.set(this.tail.subarray(this.tail.length - keepOld), 0);
      t.set(piece, keepOld);
      this.tail = t;
    }
  }

  private endDiscard(): void {
    this.discarding = false;
    const o = { bytes: this.discarded, head: this.head, tail: decoder.decode(this.tail) };
    this.head = '';
    this.tail = new Uint8Array(0);
    this.onoverflow(o);
  }
}

function concat(parts: Uint8Array[], total: number): Uint8Array {
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(total);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

const TAIL_ID = /"id"\s*:\s*(-?\d+|"(?:[^"\\]|\\.)*")\s*\}\s*$/;
const HEAD_ID = /^\s*\{\s*(?:"jsonrpc"\s*:\s*"2\.0"\s*,\s*)?"id"\s*:\s*(-?\d+|"(?:[^"\\]|\\.)*")/;

/**
 * The JSON-RPC id of a message known only by its first and last bytes: a top-level `"id"` right at
 * the start or right before the final `}` (SDK servers serialize `{result, jsonrpc, id}`).
 */
export function idOfOverflow(o: Pick<Overflow, 'head' | 'tail'>): number | string | undefined {
  const m = TAIL_ID.exec(o.tail.trimEnd()) ?? HEAD_ID.exec(o.head);
  if (!m) return undefined;
  return m[1].startsWith('"') ? (JSON.parse(m[1]) as string) : Number(m[1]);
}

/** One dispatched server-sent event. */
export interface SseEvent {
  event: string;
  data: string;
  id?: string;
}

/**
 * Incremental `text/event-stream` parser: feed it chunks as they arrive, it calls `onevent` for
 * every complete event. `data` of one event is bounded by `limit` bytes; a bigger event is dropped
 * and reported through `onoverflow`.
 */
export class SseParser {
  private readonly lines: LineSplitter;
  private data: string[] = [];
  private dataBytes = 0;
  private event = '';
  private id?: string;
  private tooBig?: Overflow;

  constructor(
    private readonly limit: number,
    private readonly onevent: (e: SseEvent) => void,
    private readonly onoverflow: (o: Overflow) => void,
  ) {
    this.lines = new LineSplitter(limit + 16, (line) => this.line(line), (o) => (this.tooBig = { ...o, head: o.head.replace(/^data: ?/, '') }));
  }

  push(chunk: Uint8Array): void {
    this.lines.push(chunk);
  }

  private line(bytes: Uint8Array): void {
    if (bytes.length === 0) return this.dispatch();
    if (bytes[0] === 0x3a) return; // ':' comment (keep-alive)
    const line = decoder.decode(bytes);
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.charCodeAt(0) === 32) value = value.slice(1);
    if (field === 'data') {
      this.dataBytes += bytes.length;
      if (this.dataBytes > this.limit) this.tooBig ??= { bytes: this.dataBytes, head: this.data[0]?.slice(0, KEEP) ?? '', tail: value.slice(-KEEP) };
      else this.data.push(value);
    } else if (field === 'event') this.event = value;
    else if (field === 'id') this.id = value;
  }

  private dispatch(): void {
    const tooBig = this.tooBig;
    const data = this.data;
    const event = this.event || 'message';
    const id = this.id;
    this.data = [];
    this.dataBytes = 0;
    this.event = '';
    this.tooBig = undefined;
    if (tooBig) return this.onoverflow(tooBig);
    const text = data.length === 1 ? data[0] : data.join('\n');
    // WHATWG: an event with an empty data buffer is not dispatched (e.g. SEP-1699 priming events).
    if (text === '') return;
    this.onevent({ event, data: text, id });
  }
}
