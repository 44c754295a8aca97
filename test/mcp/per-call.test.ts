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

/**
 * A raw stdio backend (no SDK) whose tools/call answers in the shapes a forwarding shortcut could get wrong:
 * the SDKs' member order and the spec's, a big result, escapes and non-ASCII text, a resource_link whose URI the
 * gateway rewrites, a JSON-RPC error, and a result with smuggled duplicate top-level members.
 */
const RAW_BACKEND = `
const out = (m) => process.stdout.write(JSON.stringify(m) + '\\n');
let buf = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (c) => {
  buf += c;
  let nl;
  while ((nl = buf.indexOf('\\n')) >= 0) {
    const m = JSON.parse(buf.slice(0, nl));
    buf = buf.slice(nl + 1);
    if (m.id === undefined) continue;
    if (m.method === 'initialize') out({ result: { protocolVersion: m.params.protocolVersion, capabilities: { tools: {} }, serverInfo: { name: 'raw', version: '1' } }, jsonrpc: '2.0', id: m.id });
    else if (m.method === 'tools/list') out({ result: { tools: [{ name: 'shape', inputSchema: { type: 'object' } }] }, jsonrpc: '2.0', id: m.id });
    else if (m.method === 'tools/call') {
      const a = m.params.arguments;
      const text = a.text ?? 'x'.repeat(a.bytes ?? 1);
      if (a.mode === 'error') out({ jsonrpc: '2.0', id: m.id, error: { code: -32602, message: 'bad "args"', data: { text } } });
      else if (a.mode === 'spec') process.stdout.write('{"jsonrpc":"2.0","id":' + m.id + ',"result":' + JSON.stringify({ content: [{ type: 'text', text }] }) + '}\\n');
      else if (a.mode === 'link') out({ result: { content: [{ type: 'resource_link', uri: 'test://doc/1', name: 'doc' }, { type: 'text', text }] }, jsonrpc: '2.0', id: m.id });
      else if (a.mode === 'spaced') process.stdout.write('{"result":{"content": [ {"type":"text","text":"spaced"} ], "n": 1.50},"jsonrpc":"2.0","id":' + m.id + '}\\n');
      else if (a.mode === 'dup') process.stdout.write('{"result":{"content":[{"type":"text","text":"dup"}]},"id":424242,"jsonrpc":"1.0","jsonrpc":"2.0","id":' + m.id + '}\\n');
      else out({ result: { content: [{ type: 'text', text }], structuredContent: { text } }, jsonrpc: '2.0', id: m.id });
    } else out({ jsonrpc: '2.0', id: m.id, error: { code: -32601, message: 'Method not found' } });
  }
});`;

describe('results forwarded in the text they came in (issue 7 speed)', () => {
  const raw = { command: process.execPath, args: ['-e', RAW_BACKEND], protocol: 'legacy' };
  const call = async (w: Awaited<ReturnType<typeof startWorld>>, id: unknown, args: Json) => {
    const res = await w.post({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'raw_shape', arguments: args } });
    expect(res.headers.get('content-type')).toContain('application/json');
    return (await res.json()) as Json & { result?: Json; error?: Json };
  };

  test('odd client ids, escapes, non-ASCII text and both member orders come back exactly, under the client id', async () => {
    await using w = await startWorld({ backends: { raw } });
    await w.up('raw');
    const text = 'quote " backslash \\ newline \n tab \t unicode é 😀 \u2028 </script>';
    for (const id of [0, -1, 2 ** 53 - 1, 'plain', 'with "quotes" and \\', 'é😀']) {
      for (const mode of ['sdk', 'spec']) {
        const m = await call(w, id, { mode, text });
        expect(m.id).toBe(id);
        expect(m.jsonrpc).toBe('2.0');
        expect((m.result!.content as Json[])[0]).toEqual({ type: 'text', text });
      }
    }
    const structured = await call(w, 1, { text });
    expect(structured.result!.structuredContent).toEqual({ text });
    // The result's text goes out as the backend wrote it (spaces, 1.50): it was not parsed and re-serialized.
    const res = await w.post({ jsonrpc: '2.0', id: 9, method: 'tools/call', params: { name: 'raw_shape', arguments: { mode: 'spaced' } } });
    expect(await res.text()).toBe('{"result":{"content": [ {"type":"text","text":"spaced"} ], "n": 1.50},"jsonrpc":"2.0","id":9}');
  });

  test('a 3 MB result is forwarded whole', async () => {
    await using w = await startWorld({ backends: { raw } });
    await w.up('raw');
    const m = await call(w, 'big', { bytes: 3 * 1024 * 1024 });
    expect(m.id).toBe('big');
    expect(((m.result!.content as Json[])[0].text as string).length).toBe(3 * 1024 * 1024);
  });

  test('a resource_link URI is still rewritten to its exposed form; an error response stays an error with the backend named', async () => {
    await using w = await startWorld({ backends: { raw } });
    await w.up('raw');
    const link = await call(w, 5, { mode: 'link', text: 'see doc' });
    const content = link.result!.content as Json[];
    expect(content[0].type).toBe('resource_link');
    expect(content[0].uri).not.toBe('test://doc/1');
    expect(String(content[0].uri)).toContain('raw');
    expect(content[1]).toEqual({ type: 'text', text: 'see doc' });
    const err = await call(w, 'e"1', { mode: 'error', text: 'why' });
    expect(err.id).toBe('e"1');
    expect(err.result).toBeUndefined();
    expect(err.error).toMatchObject({ code: -32602, message: 'bad "args"', data: { text: 'why', backend: 'raw' } });
  });

  test('duplicate top-level members smuggled into a backend response cannot change the id or version the client sees', async () => {
    await using w = await startWorld({ backends: { raw } });
    await w.up('raw');
    const m = await call(w, 77, { mode: 'dup' });
    expect(m.id).toBe(77);
    expect(m.jsonrpc).toBe('2.0');
    expect((m.result!.content as Json[])[0]).toEqual({ type: 'text', text: 'dup' });
  });
});
