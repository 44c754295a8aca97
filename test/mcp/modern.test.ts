/**
 * Issue 7 item 2 / issue 10 item 3: 2026-07-28 clients served by mcpgw itself, in-process (no SDK
 * object per request): progress and log messages upgrade the call to SSE, the envelope's log level
 * reaches a 2026 backend, `subscriptions/listen` streams are acknowledged, filtered, bounded in
 * number, ended by revocation and answered with their final result at shutdown (spec-checklist
 * §2.0, §3.13; SEP-2575).
 */
import { describe, expect, test } from 'bun:test';
import { join } from 'node:path';
import { BASE, sseMessages, startWorld, type World } from '../helpers/world.ts';

type Json = Record<string, unknown>;
const BACKEND = join(import.meta.dir, '../helpers/backend.ts');
const modern = (name: string) => ({ command: process.execPath, args: [BACKEND, '--name', name], protocol: 'auto' });
const legacy = (name: string) => ({ command: process.execPath, args: [BACKEND, '--name', name], protocol: 'legacy' });
const SUB = 'io.modelcontextprotocol/subscriptionId';

function envelope(extra: Json = {}): Json {
  return { 'io.modelcontextprotocol/protocolVersion': '2026-07-28', 'io.modelcontextprotocol/clientInfo': { name: 'raw', version: '1' }, 'io.modelcontextprotocol/clientCapabilities': {}, ...extra };
}

/** A raw 2026-07-28 request with the SEP-2243 headers. */
function request(id: number, method: string, params: Json = {}, opts: { meta?: Json; accept?: string } = {}): Request {
  const { _meta, ...rest } = params as { _meta?: Json };
  const body = { jsonrpc: '2.0', id, method, params: { ...rest, _meta: { ...envelope(opts.meta), ...(_meta ?? {}) } } };
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: opts.accept ?? 'application/json, text/event-stream', 'mcp-protocol-version': '2026-07-28', 'mcp-method': method };
  const name = method === 'resources/read' ? params.uri : method === 'tools/list' ? undefined : params.name;
  if (typeof name === 'string') headers['mcp-name'] = name;
  return new Request(`${BASE}/mcp`, { method: 'POST', headers, body: JSON.stringify(body) });
}

/** Reads SSE messages from a stream until `until` holds for one of them (bounded). */
async function readUntil(body: ReadableStream<Uint8Array>, until: (m: Json) => boolean, timeoutMs = 5000): Promise<{ messages: Json[]; reader: ReadableStreamDefaultReader<Uint8Array> }> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const messages: Json[] = [];
  let buffer = '';
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const next = await Promise.race([reader.read(), Bun.sleep(deadline - Date.now()).then(() => undefined)]);
    if (!next || next.done) break;
    buffer += decoder.decode(next.value, { stream: true });
    const cut = buffer.lastIndexOf('\n\n');
    if (cut < 0) continue;
    const fresh = sseMessages(buffer.slice(0, cut + 2));
    buffer = buffer.slice(cut + 2);
    messages.push(...fresh);
    if (fresh.some(until)) return { messages, reader };
  }
  return { messages, reader };
}

async function up(w: World, ...names: string[]): Promise<void> {
  for (const n of names) await w.up(n);
}

describe('issue 7 item 2: the 2026-07-28 path is mcpgw\'s own', () => {
  test('progress of a call reaches a 2026 client on the call\'s SSE stream before the result; a JSON-only client gets JSON', async () => {
    await using w = await startWorld({ backends: { m: modern('m'), l: legacy('l') } });
    await up(w, 'm', 'l');
    for (const tool of ['m_slow', 'l_slow']) {
      const res = await w.gw.fetch(request(1, 'tools/call', { name: tool, arguments: { ms: 60, steps: 3 }, _meta: { progressToken: 'p1' } }));
      expect(res.headers.get('content-type')).toBe('text/event-stream');
      const messages = sseMessages(await res.text());
      const progress = messages.filter((m) => m.method === 'notifications/progress');
      expect({ tool, steps: progress.map((p) => (p.params as Json).progress) }).toEqual({ tool, steps: [1, 2, 3] });
      expect((progress[0].params as Json).progressToken).toBe('p1');
      const last = messages[messages.length - 1];
      expect(JSON.stringify(last.result)).toContain('done');
      expect((last.result as Json).resultType).toBe('complete');
    }
    const json = await w.gw.fetch(request(2, 'tools/call', { name: 'm_slow', arguments: { ms: 30, steps: 3 }, _meta: { progressToken: 'p2' } }, { accept: 'application/json' }));
    expect(json.headers.get('content-type')).toBe('application/json');
    expect(JSON.stringify(((await json.json()) as Json).result)).toContain('done');
  }, 30_000);

  test('issue 10: the envelope log level reaches a 2026 backend, and its log messages come back on the call stream', async () => {
    await using w = await startWorld({ backends: { m: modern('m') } });
    await up(w, 'm');
    const res = await w.gw.fetch(request(1, 'tools/call', { name: 'm_log', arguments: { level: 'warning', message: 'seen by a 2026 client' } }, { meta: { 'io.modelcontextprotocol/logLevel': 'info' } }));
    const messages = sseMessages(await res.text());
    const logs = messages.filter((m) => m.method === 'notifications/message');
    expect(logs.map((l) => (l.params as Json).data)).toContain('seen by a 2026 client');
    expect(JSON.stringify(messages[messages.length - 1].result)).toContain('logged warning');
    // Above the level: nothing comes back, and the answer stays JSON.
    const quiet = await w.gw.fetch(request(2, 'tools/call', { name: 'm_log', arguments: { level: 'info', message: 'too chatty' } }, { meta: { 'io.modelcontextprotocol/logLevel': 'error' } }));
    expect(quiet.headers.get('content-type')).toBe('application/json');
  }, 30_000);

  test('subscriptions/listen: acknowledged with the honoured filter, list_changed of the filtered kinds only, stamped with the subscription id', async () => {
    await using w = await startWorld({ backends: { m: modern('m') } });
    await up(w, 'm');
    await Bun.sleep(300); // the connect-time list changes have been announced
    const res = await w.gw.fetch(request(7, 'subscriptions/listen', { notifications: { toolsListChanged: true, promptsListChanged: false } }));
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    const first = await readUntil(res.body!, (m) => m.method === 'notifications/subscriptions/acknowledged');
    const ack = first.messages.find((m) => m.method === 'notifications/subscriptions/acknowledged')!;
    expect((ack.params as Json).notifications).toEqual({ toolsListChanged: true });
    expect(((ack.params as Json)._meta as Json)[SUB]).toBe(7);
    first.reader.releaseLock();
    const added = await w.gw.fetch(request(8, 'tools/call', { name: 'm_add_tool', arguments: { name: 'fresh' } }));
    expect(added.status).toBe(200);
    const next = await readUntil(res.body!, (m) => m.method === 'notifications/tools/list_changed');
    const changed = next.messages.find((m) => m.method === 'notifications/tools/list_changed')!;
    expect(((changed.params as Json)._meta as Json)[SUB]).toBe(7);
    expect(next.messages.some((m) => m.method === 'notifications/prompts/list_changed')).toBe(false);
    await next.reader.cancel();
  }, 30_000);

  test('a listen with an empty filter is acknowledged and ended with its final result; a malformed one gets -32602', async () => {
    await using w = await startWorld({ backends: {} });
    const messages = sseMessages(await (await w.gw.fetch(request(3, 'subscriptions/listen', { notifications: {} }))).text());
    expect(messages.map((m) => m.method ?? 'result')).toEqual(['notifications/subscriptions/acknowledged', 'result']);
    expect(((messages[1].result as Json)._meta as Json)[SUB]).toBe(3);
    const bad = (await (await w.gw.fetch(request(4, 'subscriptions/listen', { notifications: { toolsListChanged: 'yes' } }))).json()) as Json;
    expect((bad.error as Json).code).toBe(-32602);
  });

  test('issue 7 item 5/6: listen streams are capped per grant, ended by revocation, and end with their result at shutdown', async () => {
    await using w = await startWorld({ backends: {}, http: { max_sessions_per_grant: 2 } });
    const g1 = { key: 'oauth:a:c1:g1', grantId: 'g1', backends: null };
    const g2 = { key: 'oauth:b:c2:g2', grantId: 'g2', backends: null };
    const listen = (id: number) => request(id, 'subscriptions/listen', { notifications: { toolsListChanged: true } });
    const a1 = await w.gw.endpoint.handle(listen(1), g1);
    const a2 = await w.gw.endpoint.handle(listen(2), g1);
    const over = (await (await w.gw.endpoint.handle(listen(3), g1)).json()) as Json;
    expect((over.error as Json).message).toContain('Subscription limit reached');
    const b1 = await w.gw.endpoint.handle(listen(4), g2);
    expect(b1.headers.get('content-type')).toBe('text/event-stream');
    // Revoking g1 ends both of its streams at once; g2's stays open.
    expect(w.gw.endpoint.revokeGrants(['g1'])).toBeGreaterThanOrEqual(2);
    for (const r of [a1, a2]) expect(await Promise.race([r.text().then(() => 'ended'), Bun.sleep(1000).then(() => 'open')])).toBe('ended');
    // Shutdown: the open stream gets its final result, then ends.
    const rest = b1.text();
    await w.gw.close(0);
    const messages = sseMessages(await rest);
    expect(messages[messages.length - 1]).toMatchObject({ id: 4, result: { resultType: 'complete' } });
  });

  test('every result carries resultType and the gateway identity, a read its caching hints; lists leave out the deleted tool execution field', async () => {
    await using w = await startWorld({ backends: { l: legacy('l') } });
    await up(w, 'l');
    const call = (await (await w.gw.fetch(request(1, 'tools/call', { name: 'l_echo', arguments: { text: 'hi' } }))).json()) as Json;
    expect((call.result as Json).resultType).toBe('complete');
    expect(((call.result as Json)._meta as Json)['io.modelcontextprotocol/serverInfo']).toMatchObject({ name: 'mcpgw' });
    // spec-checklist §2.10: a read carries caching hints too (a 2025 backend gives none: not cached).
    const read = (await (await w.gw.fetch(request(3, 'resources/read', { uri: 'test+l://static/hello' }))).json()) as Json;
    expect(read.result).toMatchObject({ ttlMs: 0, cacheScope: 'private', resultType: 'complete' });
    const tools = ((await (await w.gw.fetch(request(2, 'tools/list'))).json()) as { result: { tools: Json[] } }).result.tools;
    expect(tools.length).toBeGreaterThan(0);
    expect(tools.filter((t) => 'execution' in t)).toEqual([]);
  });
});
