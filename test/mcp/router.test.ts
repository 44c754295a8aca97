/**
 * The MCP core in-process (issue 7 item 1): createGateway with a ':memory:' database or a file, real
 * backends on loopback (test/helpers/backend.ts as a stdio child), raw JSON-RPC through gateway.fetch.
 */
import { describe, expect, test } from 'bun:test';
import { join } from 'node:path';
import { BACKEND_PATH } from '../helpers/clients.ts';
import { BASE, lastMessage, sseMessages, startWorld } from '../helpers/world.ts';

type Json = Record<string, unknown>;
const alpha = { command: process.execPath, args: [BACKEND_PATH, '--name', 'alpha'] };
// Starts the real backend only after a delay: the gateway's first ~second is "still connecting".
const slowAlpha = (ms: number) => ({ command: 'sh', args: ['-c', `sleep ${ms / 1000}; exec "${process.execPath}" "${BACKEND_PATH}" --name alpha`] });

describe('router in-process (issue 7)', () => {
  test('answers are JSON by default; tools/list and ping never open a stream [item 3]', async () => {
    await using w = await startWorld({ backends: { alpha } });
    await w.up('alpha');
    const sid = await w.open();
    const res = await w.post({ jsonrpc: '2.0', id: 1, method: 'tools/list' }, { 'mcp-session-id': sid });
    expect(res.headers.get('content-type')).toContain('application/json');
    const body = (await res.json()) as { result: { tools: Json[] } };
    expect(body.result.tools.map((t) => t.name)).toContain('alpha_echo');
    const call = await w.post({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'alpha_echo', arguments: { text: 'hi' } } }, { 'mcp-session-id': sid });
    expect(call.headers.get('content-type')).toContain('application/json');
    expect(JSON.stringify(await call.json())).toContain('hi');
  });

  test('fault 9: a client that accepts only application/json gets JSON on initialize, in a session, and with progress', async () => {
    await using w = await startWorld({ backends: { alpha } });
    await w.up('alpha');
    const jsonOnly = { accept: 'application/json' };
    const init = await w.post({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'j', version: '1' } } }, jsonOnly);
    expect(init.headers.get('content-type')).toContain('application/json');
    const sid = init.headers.get('mcp-session-id')!;
    const res = await w.post({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'alpha_slow', arguments: { ms: 300, steps: 3 }, _meta: { progressToken: 'p' } } }, { ...jsonOnly, 'mcp-session-id': sid });
    expect(res.headers.get('content-type')).toContain('application/json');
    expect(((await res.json()) as Json).result).toBeDefined();
  });

  test('the same response upgrades to SSE when the backend sends progress first [item 3, spec-checklist §3.9]', async () => {
    await using w = await startWorld({ backends: { alpha } });
    await w.up('alpha');
    const sid = await w.open();
    const res = await w.post({ jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'alpha_slow', arguments: { ms: 300, steps: 3 }, _meta: { progressToken: 'tok' } } }, { 'mcp-session-id': sid });
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const messages = sseMessages(await res.text());
    expect(messages.some((m) => m.method === 'notifications/progress' && (m.params as Json).progressToken === 'tok')).toBe(true);
    expect(messages[messages.length - 1].id).toBe(3);
  });

  test('fault 4: a session opened while a backend is still connecting gets prompts, resources and completions once it is up', async () => {
    await using w = await startWorld({ backends: { alpha: slowAlpha(800) } });
    expect(w.gw.aggregator.pool.get('alpha')?.state).not.toBe('up');
    const init = await w.post({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'early', version: '1' } } });
    const sid = init.headers.get('mcp-session-id')!;
    const caps = ((await init.json()) as { result: { capabilities: Json } }).result.capabilities;
    expect(Object.keys(caps).sort()).toEqual(['completions', 'logging', 'prompts', 'resources', 'tools']);
    // Before the backend is up, lists answer (empty) instead of -32601.
    const early = await w.rpc('prompts/list', {}, { 'mcp-session-id': sid });
    expect(early.error).toBeUndefined();
    await w.up('alpha');
    const prompts = await w.rpc('prompts/list', {}, { 'mcp-session-id': sid });
    expect(((prompts.result as Json).prompts as Json[]).length).toBeGreaterThan(0);
    const resources = await w.rpc('resources/templates/list', {}, { 'mcp-session-id': sid });
    expect(resources.error).toBeUndefined();
  });

  test('fault 8: after a restart the last known tools are listed at once, and a call before the backend is up names the backend', async () => {
    const dir = (await import('node:fs')).mkdtempSync(join((await import('node:os')).tmpdir(), 'mcpgw-cat-'));
    const dbPath = join(dir, 'mcpgw.db');
    {
      await using w = await startWorld({ backends: { alpha } }, { db: dbPath });
      await w.up('alpha');
    }
    await using w = await startWorld({ backends: { alpha: slowAlpha(1500) } }, { db: dbPath });
    const sid = await w.open();
    const list = await w.rpc('tools/list', {}, { 'mcp-session-id': sid });
    expect(((list.result as Json).tools as Json[]).map((t) => t.name)).toContain('alpha_echo');
    const call = await w.rpc('tools/call', { name: 'alpha_echo', arguments: { text: 'x' } }, { 'mcp-session-id': sid });
    const result = call.result as { isError: boolean; content: { text: string }[] };
    expect(result.isError).toBe(true);
    expect(result.content[0].text).toContain("backend 'alpha'");
    expect(result.content[0].text).not.toContain('Unknown tool');
  });

  test('fault 8: a backend going down keeps its tools listed; list_changed is coalesced, not one per state change', async () => {
    await using w = await startWorld({ backends: { alpha } });
    await w.up('alpha');
    const sid = await w.open();
    const stream = await w.gw.fetch(new Request(`${BASE}/mcp`, { headers: { accept: 'text/event-stream', 'mcp-session-id': sid } }));
    expect(stream.status).toBe(200);
    const pid = w.gw.aggregator.pool.get('alpha')!.pid!;
    process.kill(pid, 'SIGKILL');
    const deadline = Date.now() + 5000;
    while (w.gw.aggregator.pool.get('alpha')!.state === 'up' && Date.now() < deadline) await Bun.sleep(20);
    const list = await w.rpc('tools/list', {}, { 'mcp-session-id': sid });
    expect(((list.result as Json).tools as Json[]).map((t) => t.name)).toContain('alpha_echo');
    await w.up('alpha');
    await w.gw.close(0);
    const seen = sseMessages(await stream.text()).filter((m) => String(m.method).endsWith('list_changed'));
    // The catalog did not change across the restart: no list_changed at all.
    expect(seen).toEqual([]);
  });

  test('list_changed: at most one per kind per spacing window, however many changes', async () => {
    await using w = await startWorld({ backends: { alpha } });
    await w.up('alpha');
    const sid = await w.open();
    const stream = await w.gw.fetch(new Request(`${BASE}/mcp`, { headers: { accept: 'text/event-stream', 'mcp-session-id': sid } }));
    for (let i = 0; i < 5; i++) await w.rpc('tools/call', { name: 'alpha_add_tool', arguments: { name: `extra${i}` } }, { 'mcp-session-id': sid });
    const deadline = Date.now() + 5000;
    while (!((await w.rpc('tools/list', {}, { 'mcp-session-id': sid })).result as { tools: Json[] }).tools.some((t) => t.name === 'alpha_extra4') && Date.now() < deadline) await Bun.sleep(20);
    await Bun.sleep(300);
    await w.gw.close(0);
    const seen = sseMessages(await stream.text()).filter((m) => m.method === 'notifications/tools/list_changed');
    expect(seen.length).toBeGreaterThanOrEqual(1);
    expect(seen.length).toBeLessThanOrEqual(3);
  });

  test('fault 14: a GET stream sends its headers and a first chunk at once', async () => {
    await using w = await startWorld({ backends: {} });
    const sid = await w.open();
    const res = await w.gw.fetch(new Request(`${BASE}/mcp`, { headers: { accept: 'text/event-stream', 'mcp-session-id': sid } }));
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    const reader = res.body!.getReader();
    const first = await Promise.race([reader.read(), Bun.sleep(1000).then(() => 'timeout' as const)]);
    expect(first).not.toBe('timeout');
    expect(new TextDecoder().decode((first as { value: Uint8Array }).value)).toStartWith(':');
    await reader.cancel();
  });

  test('fault 5: sessions are capped per grant; eviction stays within the grant', async () => {
    await using w = await startWorld({ backends: {}, http: { max_sessions_per_grant: 3, max_sessions: 5 } });
    const table = w.gw.endpoint.sessions;
    const owner = { key: 'oauth:owner:c1:g1', grantId: 'g1', backends: null };
    const guest = { key: 'oauth:guest:c2:g2', grantId: 'g2', backends: ['x'] };
    const mine = table.create('owner-1', owner, { protocolVersion: '2025-11-25', clientCapabilities: {} });
    for (let i = 0; i < 50; i++) table.create(`guest-${i}`, guest, { protocolVersion: '2025-11-25', clientCapabilities: {} });
    expect(table.get('owner-1', owner)).toBe(mine);
    expect(table.size).toBe(4);
    expect(table.get('guest-49', guest)).toBeDefined();
    expect(table.get('guest-0', guest)).toBeUndefined();
  });

  test('revoking a grant ends its sessions and closes their streams [item 6]', async () => {
    await using w = await startWorld({ backends: {} });
    const table = w.gw.endpoint.sessions;
    const g = { key: 'oauth:s:c:g9', grantId: 'g9', backends: null };
    const s = table.create('sess-9', g, { protocolVersion: '2025-11-25', clientCapabilities: {} });
    let closed = false;
    s.stream = new (await import('../../src/mcp/streams.ts')).EventStream({ maxBufferedBytes: 1024, stats: w.gw.endpoint.stats });
    s.stream.onClose(() => (closed = true));
    expect(w.gw.endpoint.revokeGrants(['g9'])).toBe(1);
    expect(closed).toBe(true);
    expect(table.get('sess-9', g)).toBeUndefined();
  });

  test('fault 12: a session survives a restart: the same Mcp-Session-Id works without initialize', async () => {
    const dir = (await import('node:fs')).mkdtempSync(join((await import('node:os')).tmpdir(), 'mcpgw-sess-'));
    const dbPath = join(dir, 'mcpgw.db');
    let sid: string;
    {
      await using w = await startWorld({ backends: { alpha } }, { db: dbPath });
      await w.up('alpha');
      sid = await w.open({ elicitation: {} });
      expect((await w.rpc('logging/setLevel', { level: 'debug' }, { 'mcp-session-id': sid })).error).toBeUndefined();
    }
    await using w = await startWorld({ backends: { alpha } }, { db: dbPath });
    await w.up('alpha');
    const call = await w.rpc('tools/call', { name: 'alpha_echo', arguments: { text: 'again' } }, { 'mcp-session-id': sid });
    expect(JSON.stringify(call.result)).toContain('again');
    const session = w.gw.endpoint.sessions.get(sid, { key: 'anonymous', backends: null })!;
    expect(session.logLevel).toBe('debug');
    expect(session.clientCapabilities).toEqual({ elicitation: {} });
    expect((await w.rpc('ping', {}, { 'mcp-session-id': 'never-issued' })).error).toMatchObject({ code: -32001 });
  });

  test('invalid JSON-RPC -> 400 -32600; unknown method -> -32601; a cursor on a merged list -> -32602', async () => {
    await using w = await startWorld({ backends: {} });
    const bad = await w.post({ id: 1, method: 'ping' } as Json);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: Json }).error.code).toBe(-32600);
    expect((await w.rpc('nope/nothing')).error).toMatchObject({ code: -32601 });
    expect((await w.rpc('tools/list', { cursor: 'x' })).error).toMatchObject({ code: -32602 });
  });

  test('batches (2025-03-26) are answered as one JSON array', async () => {
    await using w = await startWorld({ backends: {} });
    const res = await w.post([
      { jsonrpc: '2.0', id: 1, method: 'ping' },
      { jsonrpc: '2.0', id: 2, method: 'tools/list' },
    ]);
    const body = (await res.json()) as Json[];
    expect(body.map((b) => b.id)).toEqual([1, 2]);
  });

  test('initialize negotiates: a served version is echoed, an unknown one gets the newest [spec-checklist §2.0]', async () => {
    await using w = await startWorld({ backends: {} });
    const old = await lastMessage(await w.post({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-03-26', capabilities: {}, clientInfo: { name: 'a', version: '1' } } }));
    expect((old.result as Json).protocolVersion).toBe('2025-03-26');
    const future = await lastMessage(await w.post({ jsonrpc: '2.0', id: 2, method: 'initialize', params: { protocolVersion: '2099-01-01', capabilities: {}, clientInfo: { name: 'a', version: '1' } } }));
    expect((future.result as Json).protocolVersion).toBe('2025-11-25');
  });
});
