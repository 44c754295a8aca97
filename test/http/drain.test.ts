import { describe, expect, test } from 'bun:test';
import { createDrain, requestIds, SHUTDOWN_ERROR } from '../../src/http/drain.ts';

const post = (body: unknown) => new Request('http://gw/mcp', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

describe('shutdown drain (issue 8 finding 8)', () => {
  test('requestIds: requests only, in a message or a batch', () => {
    expect(requestIds({ jsonrpc: '2.0', id: 7, method: 'tools/call' })).toEqual([7]);
    expect(requestIds([{ jsonrpc: '2.0', id: 'a', method: 'x' }, { jsonrpc: '2.0', method: 'notifications/x' }, { jsonrpc: '2.0', id: 3, result: {} }])).toEqual(['a']);
    expect(requestIds(null)).toEqual([]);
  });

  test('a POST whose handler has not answered gets a JSON-RPC -32603 error per request id at finish', async () => {
    const drain = createDrain();
    const handler = drain.wrap(async () => new Promise<Response>(() => {}));
    const single = handler(post({ jsonrpc: '2.0', id: 1, method: 'tools/call' }));
    const batch = handler(post([{ jsonrpc: '2.0', id: 2, method: 'a' }, { jsonrpc: '2.0', id: 'b', method: 'b' }]));
    await Bun.sleep(10);
    expect(drain.finish()).toBe(2);
    expect(await (await single).json()).toEqual({ jsonrpc: '2.0', id: 1, error: SHUTDOWN_ERROR });
    expect(await (await batch).json()).toEqual([
      { jsonrpc: '2.0', id: 2, error: SHUTDOWN_ERROR },
      { jsonrpc: '2.0', id: 'b', error: SHUTDOWN_ERROR },
    ]);
  });

  test('an open event stream gets an error event for its request, then ends; finished requests and other paths are untouched', async () => {
    const drain = createDrain();
    let push!: (s: string) => void;
    const sse = new ReadableStream<Uint8Array>({ start: (c) => (push = (s) => c.enqueue(new TextEncoder().encode(s))) });
    const handler = drain.wrap(async (req: Request) => (new URL(req.url).pathname === '/mcp' ? new Response(sse, { headers: { 'content-type': 'text/event-stream' } }) : new Response('ok')));
    const res = await handler(post({ jsonrpc: '2.0', id: 9, method: 'tools/call' }));
    push('event: message\ndata: {"jsonrpc":"2.0","method":"notifications/progress"}\n\n');
    const text = res.text();
    await Bun.sleep(10);
    expect(drain.finish()).toBe(1);
    const body = await text;
    expect(body).toContain('notifications/progress');
    expect(body).toEndWith(`data: ${JSON.stringify({ jsonrpc: '2.0', id: 9, error: SHUTDOWN_ERROR })}\n\n`);
    expect(await (await handler(new Request('http://gw/health'))).text()).toBe('ok');
  });
});
