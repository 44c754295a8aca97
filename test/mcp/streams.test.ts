/** Outgoing SSE streams (issue 7 item 5): a bounded budget per stream, notifications dropped and counted, a stuck reader disconnected. */
import { describe, expect, test } from 'bun:test';
import { EventStream, type StreamStats } from '../../src/mcp/streams.ts';

const stats = (): StreamStats => ({ open: 0, dropped: 0, disconnected: 0 });
const note = (i: number) => ({ jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data: `${i} ${'x'.repeat(200)}` } });

describe('EventStream', () => {
  test('a reader that never reads: notifications past the budget are dropped and counted, memory stays within it', () => {
    const s = stats();
    const stream = new EventStream({ maxBufferedBytes: 4096, stats: s });
    let sent = 0;
    for (let i = 0; i < 10_000; i++) if (stream.send(note(i))) sent++;
    expect(sent).toBeGreaterThan(5);
    expect(sent).toBeLessThan(30);
    expect(s.dropped).toBe(10_000 - sent);
    expect(stream.closed).toBe(false);
    stream.close();
    expect(s.open).toBe(0);
  });

  test('a response that no longer fits ends the stream (the client stopped reading), once the budget is spent', () => {
    const s = stats();
    const stream = new EventStream({ maxBufferedBytes: 2048, stats: s });
    let closed = false;
    stream.onClose(() => (closed = true));
    while (stream.send(note(0))) {
      // fill the budget
    }
    expect(stream.send({ jsonrpc: '2.0', id: 1, result: { text: 'z'.repeat(500) } }, true)).toBe(false);
    expect(closed).toBe(true);
    expect(s.disconnected).toBe(1);
  });

  test('an essential message larger than the budget still goes out when nothing waits unread', async () => {
    const stream = new EventStream({ maxBufferedBytes: 1024, stats: stats() });
    const big = { jsonrpc: '2.0', id: 7, result: { text: 'y'.repeat(10_000) } };
    expect(stream.send(big, true)).toBe(true);
    stream.close();
    const text = await new Response(stream.body).text();
    expect(text).toContain('"id":7');
  });

  test('a reader that reads gets every message in order', async () => {
    const stream = new EventStream({ maxBufferedBytes: 1 << 20, stats: stats() });
    for (let i = 0; i < 100; i++) stream.send(note(i));
    stream.close();
    const text = await new Response(stream.body).text();
    const ids = [...text.matchAll(/"data":"(\d+) /g)].map((m) => Number(m[1]));
    expect(ids).toEqual([...Array(100).keys()]);
  });

  test('cancel by the reader ends the stream and runs its close listeners', async () => {
    const stream = new EventStream({ maxBufferedBytes: 1024, stats: stats() });
    let closed = false;
    stream.onClose(() => (closed = true));
    await stream.body.cancel();
    expect(closed).toBe(true);
    expect(stream.send(note(1))).toBe(false);
  });
});
