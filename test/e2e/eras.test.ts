/**
 * Issue 10: both protocol eras end to end. In-process gateway (test/helpers/world.ts) in front of
 * the SDK v2 test backend (serves 2025 and 2026-07-28) and of server-everything (2025 only).
 */
import { describe, expect, test } from 'bun:test';
import { McpServer, createMcpHandler, fromJsonSchema } from '@modelcontextprotocol/server';
import { join } from 'node:path';
import { BACKEND_PATH, connectV1, connectV2, readEvents, spawnBackend, waitFor } from '../helpers/clients.ts';
import { EVERYTHING } from '../helpers/everything.ts';
import { baseConfig, startGatewayProcess } from '../helpers/gateway-process.ts';
import { startWorld } from '../helpers/world.ts';

type Json = Record<string, unknown>;

describe('issue 10 item 1: speak each backend newest revision', () => {
  test('a dual-era HTTP backend: 2026 clients are served per request (SEP-2243 headers, no session), 2025 clients on its 2025 session', async () => {
    await using w0 = await startWorld({});
    const events = join(w0.dir, 'events.jsonl');
    await using backend = await spawnBackend({ http: true, name: 'm', events });
    await using w = await startWorld({ backends: { m: { url: backend.url, transport: 'streamable-http', protocol: 'auto' } } });
    await w.up('m');
    const st = w.gw.aggregator.pool.get('m')!.status();
    expect(st.protocolVersion).toBe('2026-07-28');
    expect(st.legacyProtocolVersion).toBe('2025-11-25');
    const modern = (await modernCall(w, 1, 'tools/call', { name: 'm_echo', arguments: { text: 'über' } })).result as Json;
    expect(JSON.stringify(modern)).toContain('über');
    const sid = await w.open();
    const legacy = (await w.rpc('tools/call', { name: 'm_echo', arguments: { text: 'old' } }, { 'mcp-session-id': sid })) as { result: Json };
    expect(JSON.stringify(legacy.result)).toContain('old');
    const seen = await readEvents(events);
    const posts = seen.filter((e): e is Extract<typeof e, { event: 'http' }> => e.event === 'http' && e.method === 'POST');
    expect(posts.some((e) => e.headers['mcp-method'] === 'server/discover')).toBe(true);
    const call = posts.find((e) => e.headers['mcp-method'] === 'tools/call')!;
    expect(call.headers['mcp-protocol-version']).toBe('2026-07-28');
    expect(call.headers['mcp-name']).toBe('echo');
    expect(call.headers['mcp-session-id']).toBeUndefined();
    const calls = seen.filter((e) => e.event === 'call').map((c) => (c as { era: string; arguments: Json }).era + ':' + String((c as { arguments: Json }).arguments.text));
    expect(calls).toEqual(['modern:über', 'legacy:old']);
  });

  test('a 2026-07-28 stdio backend is discovered; protocol: legacy keeps initialize', async () => {
    const alpha = { command: process.execPath, args: [BACKEND_PATH, '--name', 'alpha'], protocol: 'auto' };
    const beta = { command: process.execPath, args: [BACKEND_PATH, '--name', 'beta'], protocol: 'legacy' };
    await using w = await startWorld({ backends: { alpha, beta } });
    await w.up('alpha');
    await w.up('beta');
    expect(w.gw.aggregator.pool.get('alpha')!.status().protocolVersion).toBe('2026-07-28');
    expect(w.gw.aggregator.pool.get('beta')!.status().protocolVersion).toBe('2025-11-25');
    const res = (await w.rpc('tools/call', { name: 'alpha_add', arguments: { a: 2, b: 3 } })) as { result: Json };
    expect(JSON.stringify(res.result)).toContain('5');
  });

  test('a 2025-only backend answers server/discover with an error and mcpgw falls back to initialize', async () => {
    await using w = await startWorld({ backends: { ev: { command: 'node', args: [EVERYTHING, 'stdio'], protocol: 'auto' } } });
    await w.up('ev');
    const st = w.gw.aggregator.pool.get('ev')!.status();
    expect(st.protocolVersion).toMatch(/^2025-/);
    expect(st.tools).toBeGreaterThan(0);
  });
});

const MODERN_META = { 'io.modelcontextprotocol/protocolVersion': '2026-07-28', 'io.modelcontextprotocol/clientInfo': { name: 'raw', version: '1' } };
const modernBackend = (name: string) => ({ command: process.execPath, args: [BACKEND_PATH, '--name', name], protocol: 'auto' });
const legacyBackend = (name: string) => ({ command: process.execPath, args: [BACKEND_PATH, '--name', name], protocol: 'legacy' });

/** One raw 2026-07-28 request (per-request `_meta` envelope and SEP-2243 headers) to the in-process gateway. */
async function modernCall(w: Awaited<ReturnType<typeof startWorld>>, id: number, method: string, params: Json, caps: Json = { elicitation: { form: {} } }): Promise<Json> {
  const body = { jsonrpc: '2.0', id, method, params: { ...params, _meta: { ...MODERN_META, 'io.modelcontextprotocol/clientCapabilities': caps } } };
  const headers: Record<string, string> = { 'mcp-protocol-version': '2026-07-28', 'mcp-method': method };
  const name = method === 'resources/read' ? params.uri : params.name;
  if (typeof name === 'string' && method !== 'tools/list') headers['mcp-name'] = name;
  const res = await w.post(body, headers);
  const text = await res.text();
  const line = text.split('\n').filter((l) => l.startsWith('data: ')).pop();
  return JSON.parse(line ? line.slice(6) : text) as Json;
}

const accept = (answer: string) => ({ action: 'accept', content: { answer } });

describe('issue 10 item 2: input_required across the eras (raw 2026-07-28 client)', () => {
  test('2026 client, 2026 backend: input_required and the backend requestState pass through untouched, for two rounds', async () => {
    await using w = await startWorld({ backends: { m: modernBackend('m') } });
    await w.up('m');
    const r1 = (await modernCall(w, 1, 'tools/call', { name: 'm_ask_twice', arguments: {} })).result as Json;
    expect(r1.resultType).toBe('input_required');
    expect(r1.requestState).toBe('round-1');
    expect(Object.keys(r1.inputRequests as Json)).toEqual(['first']);
    const r2 = (await modernCall(w, 2, 'tools/call', { name: 'm_ask_twice', arguments: {}, inputResponses: { first: accept('A') }, requestState: 'round-1' })).result as Json;
    expect(r2.requestState).toBe('round-2:A');
    const r3 = (await modernCall(w, 3, 'tools/call', { name: 'm_ask_twice', arguments: {}, inputResponses: { second: accept('B') }, requestState: r2.requestState })).result as Json;
    expect(JSON.stringify(r3.content)).toContain('answers: A, B');
  });

  test('2026 client, 2025 backend: the backend elicitation becomes input_required with a signed state; two rounds; tampered and replayed states are rejected', async () => {
    await using w = await startWorld({ backends: { l: legacyBackend('l') } });
    await w.up('l');
    const r1 = (await modernCall(w, 1, 'tools/call', { name: 'l_ask_twice', arguments: {} })).result as Json;
    expect(r1.resultType).toBe('input_required');
    const state1 = String(r1.requestState);
    expect(state1.startsWith('mcpgw1.')).toBe(true);
    const [key1, req1] = Object.entries(r1.inputRequests as Record<string, Json>)[0];
    expect(req1.method).toBe('elicitation/create');
    expect((req1.params as Json).message).toBe('first?');
    // tampered: one character of the signature changed
    const tampered = state1.slice(0, -2) + (state1.at(-2) === 'A' ? 'B' : 'A') + state1.at(-1);
    const bad = (await modernCall(w, 2, 'tools/call', { name: 'l_ask_twice', arguments: {}, inputResponses: { [key1]: accept('A') }, requestState: tampered })).error as Json;
    expect(bad.code).toBe(-32602);
    expect(String(bad.message)).toContain('requestState');
    // the genuine state still resumes the waiting backend call
    const r2 = (await modernCall(w, 3, 'tools/call', { name: 'l_ask_twice', arguments: {}, inputResponses: { [key1]: accept('A') }, requestState: state1 })).result as Json;
    expect(r2.resultType).toBe('input_required');
    const [key2, req2] = Object.entries(r2.inputRequests as Record<string, Json>)[0];
    expect((req2.params as Json).message).toBe('second?');
    // a used state cannot be replayed
    const replay = (await modernCall(w, 4, 'tools/call', { name: 'l_ask_twice', arguments: {}, inputResponses: { [key1]: accept('X') }, requestState: state1 })).error as Json;
    expect(replay.code).toBe(-32602);
    const r3 = (await modernCall(w, 5, 'tools/call', { name: 'l_ask_twice', arguments: {}, inputResponses: { [key2]: accept('B') }, requestState: r2.requestState })).result as Json;
    expect(JSON.stringify(r3.content)).toContain('answers: A, B');
    expect(w.gw.aggregator.inputs.size).toBe(0);
  });

  test('2026 client, 2025 backend: an expired pending state is rejected and the backend call is ended', async () => {
    await using w = await startWorld({ backends: { l: legacyBackend('l') } });
    await w.up('l');
    w.gw.aggregator.inputs.ttlMs = 100;
    const r1 = (await modernCall(w, 1, 'tools/call', { name: 'l_ask', arguments: { question: 'q?' } })).result as Json;
    expect(r1.resultType).toBe('input_required');
    await waitFor(() => w.gw.aggregator.inputs.size === 0, { timeoutMs: 2000, what: 'the parked call to expire' });
    const [key] = Object.keys(r1.inputRequests as Json);
    const late = (await modernCall(w, 2, 'tools/call', { name: 'l_ask', arguments: { question: 'q?' }, inputResponses: { [key]: accept('late') }, requestState: r1.requestState })).error as Json;
    expect(late.code).toBe(-32602);
    expect(String(late.message)).toMatch(/expired|unknown/);
  });

  test('2025 client, 2026 backend: an input the client cannot receive (undeclared, or a JSON-only request) fails the call with -32021', async () => {
    await using w = await startWorld({ backends: { m: modernBackend('m') } });
    await w.up('m');
    const bare = await w.open({});
    const undeclared = (await w.rpc('tools/call', { name: 'm_ask_twice', arguments: {} }, { 'mcp-session-id': bare })) as Json;
    // the backend sees the client's (empty) capabilities and refuses by itself, or asks and mcpgw refuses
    expect(JSON.stringify(undeclared)).toMatch(/elicitation/);
    const declared = await w.open({ elicitation: { form: {} } });
    const jsonOnly = await w.post({ jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'm_ask_twice', arguments: {} } }, { 'mcp-session-id': declared, accept: 'application/json' });
    const body = (await jsonOnly.json()) as { error?: Json };
    expect(body.error?.code).toBe(-32021);
  });

  test('a 2026 client that did not declare elicitation never gets an elicitation request; the 2025 backend gets an error', async () => {
    await using w = await startWorld({ backends: { l: legacyBackend('l') } });
    await w.up('l');
    const res = await modernCall(w, 1, 'tools/call', { name: 'l_ask', arguments: { question: 'q?' } }, {});
    const result = res.result as Json | undefined;
    expect(result?.resultType).not.toBe('input_required');
    expect(JSON.stringify(res)).toMatch(/elicitation/);
    expect(w.gw.aggregator.inputs.size).toBe(0);
  });
});

describe('issue 10 item 2: the four directions with SDK clients through the compiled gateway', () => {
  const textOf = (r: unknown) => ((r as { content?: { type: string; text?: string }[] }).content ?? []).map((c) => c.text ?? '').join('');
  // m: the SDK v2 test backend spoken in 2026-07-28; l: the same backend kept on 2025 (protocol: legacy)
  const config = (d: string) => baseConfig(d, { m: modernBackend('m'), l: legacyBackend('l') });
  const onElicit = (p: { message: string }) => ({ action: 'accept' as const, content: { answer: p.message === 'first?' ? 'A' : p.message === 'second?' ? 'B' : 'forty-two' } });

  test('2025 client (SDK v1), 2026 backend: input_required rounds become elicitation, sampling and roots requests on the call stream', async () => {
    await using gw = await startGatewayProcess(config);
    await gw.waitForLog((l) => l.msg === 'backend up' && l.backend === 'm' && l.protocol === '2026-07-28', 20_000);
    await using c = await connectV1(gw.mcpUrl, { onElicit, onSample: () => ({ role: 'assistant', model: 'm', content: { type: 'text', text: 'sampled text' } }), roots: [{ uri: 'file:///home/me', name: 'me' }] });
    expect(textOf(await c.client.callTool({ name: 'm_ask_twice', arguments: {} }))).toBe('answers: A, B');
    expect(textOf(await c.client.callTool({ name: 'm_sample', arguments: { prompt: 'p' } }))).toBe('sampled text');
    expect(textOf(await c.client.callTool({ name: 'm_roots', arguments: {} }))).toContain('file:///home/me');
  }, 30_000);

  test('2026 client (SDK v2, auto), 2026 backend and 2025 backend: two-round input_required exchanges complete', async () => {
    await using gw = await startGatewayProcess(config);
    await gw.waitForLog((l) => l.msg === 'backend up' && l.backend === 'm', 20_000);
    await gw.waitForLog((l) => l.msg === 'backend up' && l.backend === 'l', 20_000);
    await using c = await connectV2(gw.mcpUrl, { mode: 'auto', onElicit });
    expect(c.client.getProtocolEra()).toBe('modern');
    expect(textOf(await c.client.callTool({ name: 'm_ask_twice', arguments: {} }))).toBe('answers: A, B');
    expect(textOf(await c.client.callTool({ name: 'l_ask_twice', arguments: {} }))).toBe('answers: A, B');
    expect(textOf(await c.client.callTool({ name: 'l_ask', arguments: { question: 'q' } }))).toBe('answer: forty-two');
  }, 30_000);

  test('2025 client (SDK v1), 2025 backend: elicitation is relayed as before', async () => {
    await using gw = await startGatewayProcess(config);
    await gw.waitForLog((l) => l.msg === 'backend up' && l.backend === 'l', 20_000);
    await using c = await connectV1(gw.mcpUrl, { onElicit });
    expect(textOf(await c.client.callTool({ name: 'l_ask_twice', arguments: {} }))).toBe('answers: A, B');
  }, 30_000);
});

describe('issue 10 item 3: a 2026-07-28 backend has no session stream', () => {
  test('list_changed and resources/updated of a 2026 stdio backend arrive on its subscriptions/listen stream and reach a 2025 session', async () => {
    await using gw = await startGatewayProcess((d) => baseConfig(d, { m: modernBackend('m') }));
    await gw.waitForLog((l) => l.msg === 'backend up' && l.backend === 'm' && l.protocol === '2026-07-28', 20_000);
    await using c = await connectV1(gw.mcpUrl);
    await c.client.callTool({ name: 'm_add_tool', arguments: { name: 'extra' } });
    await waitFor(() => c.notifications.some((n) => n.method === 'notifications/tools/list_changed'), { timeoutMs: 5000, what: 'tools/list_changed' });
    await waitFor(async () => (await c.client.listTools()).tools.some((t) => t.name === 'm_extra'), { timeoutMs: 5000, what: 'the new tool listed' });
    const hello = (await c.client.listResources()).resources.find((r) => r.name === 'hello')!;
    await c.client.subscribeResource({ uri: hello.uri });
    // resources/subscribe answers once the backend acknowledged the reopened listen stream naming the URI:
    // one touch right after it is enough
    await c.client.callTool({ name: 'm_touch', arguments: { uri: 'test://static/hello' } });
    await waitFor(() => c.notifications.some((n) => n.method === 'notifications/resources/updated' && n.params?.uri === hello.uri), { timeoutMs: 5000, what: 'resources/updated' });
  }, 30_000);
});

describe('issue 10 item 3: 2026-07-28 features through the gateway', () => {
  test('a 2026 client subscriptions/listen with resourceSubscriptions subscribes at 2025 and 2026 backends and gets resources/updated', async () => {
    await using gw = await startGatewayProcess((d) => baseConfig(d, { m: modernBackend('m'), l: legacyBackend('l') }));
    await gw.waitForLog((l) => l.msg === 'backend up' && l.backend === 'm', 20_000);
    await gw.waitForLog((l) => l.msg === 'backend up' && l.backend === 'l', 20_000);
    await using c = await connectV2(gw.mcpUrl, { mode: 'auto' });
    const updated: string[] = [];
    c.client.setNotificationHandler('notifications/resources/updated', (n) => void updated.push(String(n.params.uri)));
    const resources = (await c.client.listResources()).resources.filter((r) => r.name === 'hello').map((r) => r.uri);
    expect(resources).toHaveLength(2);
    const sub = await c.client.listen({ resourceSubscriptions: resources });
    try {
      await waitFor(
        async () => {
          for (const b of ['m', 'l']) await c.client.callTool({ name: `${b}_touch`, arguments: { uri: 'test://static/hello' } });
          return resources.every((u) => updated.includes(u));
        },
        { timeoutMs: 5000, intervalMs: 150, what: 'resources/updated from both backends' },
      );
      expect(new Set(updated)).toEqual(new Set(resources));
    } finally {
      await sub.close();
    }
  }, 30_000);

  test('a 2025 session logging level reaches a 2026 backend per request (it has no logging/setLevel) and its log messages come back', async () => {
    await using gw = await startGatewayProcess((d) => baseConfig(d, { m: modernBackend('m') }));
    await gw.waitForLog((l) => l.msg === 'backend up' && l.backend === 'm' && l.protocol === '2026-07-28', 20_000);
    await using c = await connectV1(gw.mcpUrl);
    await c.client.setLoggingLevel('info');
    await c.client.callTool({ name: 'm_log', arguments: { level: 'warning', message: 'from a 2026 backend' } });
    await waitFor(() => c.notifications.some((n) => n.method === 'notifications/message' && JSON.stringify(n.params).includes('from a 2026 backend')), { timeoutMs: 5000, what: 'the log message' });
  }, 30_000);

  test('lists for a 2026 client carry caching hints from the gateway catalog: public and 60 s when settled with auth none', async () => {
    await using w = await startWorld({ backends: { m: modernBackend('m') } });
    await w.up('m');
    // Settled = the backend is up and no list change is still waiting in the 250 ms coalescing window.
    const deadline = Date.now() + 3000;
    while (((await modernCall(w, 1, 'tools/list', {})).result as Json).ttlMs !== 60_000 && Date.now() < deadline) await Bun.sleep(50);
    for (const method of ['tools/list', 'prompts/list', 'resources/list', 'resources/templates/list']) {
      const r = (await modernCall(w, 1, method, {})).result as Json;
      expect({ method, ttlMs: r.ttlMs, cacheScope: r.cacheScope }).toEqual({ method, ttlMs: 60_000, cacheScope: 'public' });
    }
  });

  test('lists for a 2026 client say ttlMs 0 while a backend is still connecting (the list is about to change)', async () => {
    const slow = { command: 'sh', args: ['-c', `sleep 2; exec "${process.execPath}" "${BACKEND_PATH}" --name s`] };
    await using w = await startWorld({ backends: { s: slow } });
    const r = (await modernCall(w, 1, 'tools/list', {})).result as Json;
    expect(r.ttlMs).toBe(0);
  });

  test('SEP-2164: a 2026 backend resource-not-found (-32602 with data.uri) reaches a 2025 client as -32002', async () => {
    await using w = await startWorld({ backends: { m: { ...modernBackend('m'), prefix: false } } });
    await w.up('m');
    const sid = await w.open();
    // an unknown URI of the only unprefixed backend is routed to it, which says not found
    const legacy = (await w.rpc('resources/read', { uri: 'test://static/nope' }, { 'mcp-session-id': sid })).error as Json;
    expect(legacy.code).toBe(-32002);
    expect((legacy.data as Json).uri).toBe('test://static/nope');
    const modern = (await modernCall(w, 2, 'resources/read', { uri: 'test://static/nope' })).error as Json;
    expect(modern.code).toBe(-32602);
  });

  test('SEP-2243: an x-mcp-header argument reaches a 2026 backend as an Mcp-Param header; a 2026 client header is validated at the gateway', async () => {
    const seen: Record<string, string>[] = [];
    const handler = createMcpHandler(() => {
      const mcp = new McpServer({ name: 'param', version: '1' });
      mcp.registerTool(
        'region',
        { description: 'echoes its region', inputSchema: fromJsonSchema<{ region: string }>({ type: 'object', properties: { region: { type: 'string', 'x-mcp-header': 'Region' } }, required: ['region'] } as never) },
        ({ region }) => ({ content: [{ type: 'text', text: `region ${region}` }] }),
      );
      return mcp;
    }, { legacy: 'reject' });
    const server = Bun.serve({
      hostname: '127.0.0.1',
      port: 0,
      fetch: (req) => {
        seen.push(Object.fromEntries(req.headers));
        return handler.fetch(req);
      },
    });
    try {
      await using w = await startWorld({ backends: { p: { url: `http://127.0.0.1:${server.port}/mcp`, transport: 'streamable-http', protocol: 'auto' } } });
      await w.up('p');
      const sid = await w.open();
      const res = (await w.rpc('tools/call', { name: 'p_region', arguments: { region: 'eu-west ü' } }, { 'mcp-session-id': sid })) as Json;
      expect(JSON.stringify(res.result)).toContain('region eu-west ü');
      const call = seen.find((h) => h['mcp-method'] === 'tools/call')!;
      expect(call['mcp-param-region']).toBe(`=?base64?${Buffer.from('eu-west ü').toString('base64')}?=`);
      // a 2026 client's own Mcp-Param header is validated at the gateway: missing or different -> 400 + -32020
      const body = (id: number) => ({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'p_region', arguments: { region: 'eu' }, _meta: { ...MODERN_META, 'io.modelcontextprotocol/clientCapabilities': {} } } });
      const std = { 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/call', 'mcp-name': 'p_region' };
      for (const [id, extra] of [[1, {}], [2, { 'mcp-param-region': 'us' }]] as const) {
        const res = await w.post(body(id), { ...std, ...extra });
        expect(res.status).toBe(400);
        expect(((await res.json()) as { error: Json }).error.code).toBe(-32020);
      }
      const ok = await w.post(body(3), { ...std, 'mcp-param-region': 'eu' });
      expect(ok.status).toBe(200);
      expect(await ok.text()).toContain('region eu');
    } finally {
      await server.stop(true);
      await handler.close();
    }
  });
});
