/**
 * The per-call path made cheap (issue 7, per-call speed targets): what it skips must not change what it does.
 * Cancellation without a listener per call, the JSON depth limit with its short-body shortcut.
 */
import { describe, expect, test } from 'bun:test';
import { BACKEND_PATH } from '../helpers/clients.ts';
import { BASE, lastMessage, startWorld } from '../helpers/world.ts';

type Json = Record<string, unknown>;
const alpha = { command: process.execPath, args: [BACKEND_PATH, '--name', 'alpha'] };
const HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

/** A JSON value nested `depth` levels deep ({"a":{"a":…}}). */
function nested(depth: number): Json {
  let v: Json = {};
  for (let i = 1; i < depth; i++) v = { a: v };
  return v;
}

describe('per-call path (issue 7 speed targets)', () => {
  test('a client that goes away cancels its forwarded call within a check period (no listener attached per call)', async () => {
    await using w = await startWorld({ backends: { alpha } });
    await w.up('alpha');
    const client = new AbortController();
    const body = JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'alpha_slow', arguments: { ms: 10_000, steps: 2 } } });
    const answer = w.gw.fetch(new Request(`${BASE}/mcp`, { method: 'POST', headers: HEADERS, body, signal: client.signal }));
    const deadline = Date.now() + 5000;
    while (w.gw.aggregator.activeCalls === 0 && Date.now() < deadline) await Bun.sleep(10);
    expect(w.gw.aggregator.activeCalls).toBe(1);
    const t0 = Date.now();
    client.abort(new Error('client went away'));
    const message = await lastMessage(await answer);
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(w.gw.aggregator.activeCalls).toBe(0);
    expect(JSON.stringify(message)).toContain('client went away');
  });

  test('notifications/cancelled from the client aborts its call in flight [spec-checklist §3.10]', async () => {
    await using w = await startWorld({ backends: { alpha } });
    await w.up('alpha');
    const sid = await w.open();
    const answer = w.post({ jsonrpc: '2.0', id: 'call "one"', method: 'tools/call', params: { name: 'alpha_slow', arguments: { ms: 10_000, steps: 2 } } }, { 'mcp-session-id': sid });
    const deadline = Date.now() + 5000;
    while (w.gw.aggregator.activeCalls === 0 && Date.now() < deadline) await Bun.sleep(10);
    // Another session's cancel with the same id must not touch it.
    const other = await w.open();
    await w.post({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 'call "one"', reason: 'not mine' } }, { 'mcp-session-id': other });
    await Bun.sleep(50);
    expect(w.gw.aggregator.activeCalls).toBe(1);
    const t0 = Date.now();
    await w.post({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 'call "one"', reason: 'user' } }, { 'mcp-session-id': sid });
    const message = await lastMessage(await answer);
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(message.id).toBe('call "one"');
    expect(JSON.stringify(message)).toContain('cancelled by the client');
  });

  test('http.max_json_depth: a body nested deeper than the limit is refused, one at the limit is served (short bodies skip the walk)', async () => {
    await using w = await startWorld({ backends: { alpha }, http: { max_json_depth: 8 } });
    await w.up('alpha');
    // The message, params and arguments take 3 levels: a value of depth 5 in arguments makes 8.
    const call = (args: Json) => w.post({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'alpha_echo', arguments: { text: 'x', ...args } } });
    const ok = await call({ deep: nested(5) });
    expect(ok.status).toBe(200);
    expect(JSON.stringify(await ok.json())).toContain('"result"');
    const deep = await call({ deep: nested(6) });
    expect(deep.status).toBe(400);
    expect(((await deep.json()) as { error: { message: string } }).error.message).toContain('nested deeper than 8');
    // Arrays count as levels too.
    const arrays = await call({ deep: [[[[[[1]]]]]] });
    expect(arrays.status).toBe(400);
  });
});
