import { expect, test } from 'bun:test';
import { LineSplitter, SseParser, idOfOverflow, type Overflow, type SseEvent } from '../../src/backends/framing.ts';

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

test('lines: split across chunks, CRLF trimmed, empty lines kept for the caller', () => {
  const lines: string[] = [];
  const s = new LineSplitter(100, (l) => void lines.push(dec(l)), () => {});
  for (const chunk of ['{"a":', '1}\r\n{"b"', ':2}\n\n', 'tail']) s.push(enc(chunk));
  expect(lines).toEqual(['{"a":1}', '{"b":2}', '']);
});

test('issue 7 fault 1: a line over the limit is skipped without buffering, its id found at the end, later lines still read', () => {
  const lines: string[] = [];
  const overflows: Overflow[] = [];
  const s = new LineSplitter(64, (l) => void lines.push(dec(l)), (o) => void overflows.push(o));
  const big = `{"result":{"text":"${'x'.repeat(10_000)}"},"jsonrpc":"2.0","id":42}`;
  for (let i = 0; i < big.length; i += 1000) s.push(enc(big.slice(i, i + 1000)));
  s.push(enc('\n{"jsonrpc":"2.0","id":43,"result":{}}\n'));
  expect(overflows).toHaveLength(1);
  expect(overflows[0].bytes).toBe(big.length);
  expect(overflows[0].head.length).toBeLessThanOrEqual(512);
  expect(idOfOverflow(overflows[0])).toBe(42);
  expect(lines).toEqual(['{"jsonrpc":"2.0","id":43,"result":{}}']);
});

test('overflow ids: at the start, as a string, or unknown', () => {
  expect(idOfOverflow({ head: '{"jsonrpc":"2.0","id":"a\\"b","result":{"x":', tail: '"}}' })).toBe('a"b');
  expect(idOfOverflow({ head: '{"id":7,"result":', tail: 'xx"}}' })).toBe(7);
  expect(idOfOverflow({ head: '{"jsonrpc":"2.0","method":"notifications/message","params":{"id":3', tail: '"}}' })).toBeUndefined();
});

test('SSE: events parsed as they stream, multi-line data joined, comments and empty-data events skipped', () => {
  const events: SseEvent[] = [];
  const p = new SseParser(1000, (e) => void events.push(e), () => {});
  for (const chunk of [': keep-alive\n\nid: 1\ndata:\n\n', 'event: message\nda', 'ta: {"a":\ndata: 1}\n', '\nevent: endpoint\ndata: /messages?x=1\r\n\r\n']) p.push(enc(chunk));
  expect(events).toEqual([
    { event: 'message', data: '{"a":\n1}', id: '1' },
    { event: 'endpoint', data: '/messages?x=1', id: '1' }, // the last event id persists (WHATWG)
  ]);
});

test('SSE: an event over the limit is reported with its id and the stream goes on', () => {
  const events: SseEvent[] = [];
  const overflows: Overflow[] = [];
  const p = new SseParser(100, (e) => void events.push(e), (o) => void overflows.push(o));
  p.push(enc(`event: message\ndata: {"result":{"t":"${'y'.repeat(500)}"},"jsonrpc":"2.0","id":9}\n\n`));
  p.push(enc('data: {"jsonrpc":"2.0","id":10,"result":{}}\n\n'));
  expect(overflows.map(idOfOverflow)).toEqual([9]);
  expect(events.map((e) => e.data)).toEqual(['{"jsonrpc":"2.0","id":10,"result":{}}']);
});
