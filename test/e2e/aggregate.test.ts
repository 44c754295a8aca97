/**
 * Aggregation through the compiled binary: server-everything (npm) over stdio and Streamable HTTP,
 * our SDK test backend over stdio, Streamable HTTP and legacy SSE, with 2025-era (v1) and
 * 2026-07-28 (v2) clients against the same running gateway.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { join } from 'node:path';
import { BACKEND_PATH, backendArgs, connectV1, connectV2, readEvents, spawnBackend, waitFor, type SpawnedBackend } from '../helpers/clients.ts';
import { LONG_TOOL_NAME } from '../helpers/backend.ts';
import { EVERYTHING, startEverything, type EverythingProcess } from '../helpers/everything.ts';
import { baseConfig, startGatewayProcess, type GatewayProcess } from '../helpers/gateway-process.ts';

const NAME = /^[a-zA-Z0-9_-]{1,64}$/;
let gw: GatewayProcess;
let beta: SpawnedBackend;
let sse: SpawnedBackend;
let evhttp: EverythingProcess;
let events: { alpha: string; beta: string };

beforeAll(async () => {
  const dir = (await import('node:fs')).mkdtempSync(join((await import('node:os')).tmpdir(), 'mcpgw-agg-'));
  events = { alpha: join(dir, 'alpha.jsonl'), beta: join(dir, 'beta.jsonl') };
  // each child is kept as soon as it is up, so afterAll stops it even when another one failed to start
  await Promise.all([
    spawnBackend({ http: true, name: 'beta', events: events.beta }).then((b) => (beta = b)),
    spawnBackend({ sse: true, name: 'sse' }).then((b) => (sse = b)),
    startEverything('streamableHttp').then((e) => (evhttp = e)),
  ]);
  gw = await startGatewayProcess((d) =>
    baseConfig(d, {
      alpha: { command: process.execPath, args: [BACKEND_PATH, ...backendArgs({ name: 'alpha', events: events.alpha })], description: 'Test backend alpha' },
      beta: { url: beta.url, headers: { 'X-Test': 'beta-header' } },
      legacy: { url: sse.url },
      everything: { command: 'node', args: [EVERYTHING, 'stdio'] },
      evhttp: { url: evhttp.url, transport: 'streamable-http' },
      gamma: { command: process.execPath, args: [BACKEND_PATH, '--name', 'gamma'], prefix: false, tools: { allow: ['search'] } },
      delta: { url: beta.url, headers: { 'X-Test': 'beta-header' }, prefix: false, tools: { allow: ['search'] } },
    }),
  );
  await gw.waitForLog(() => gw.logs.filter((l) => l.msg === 'backend up').length >= 7, 30_000);
}, 60_000);

afterAll(async () => {
  await gw?.[Symbol.asyncDispose]();
  await Promise.all([beta?.stop(), sse?.stop(), evhttp?.stop()]);
}, 60_000);

describe('aggregate (issue 2 §4-§5)', () => {
  test('tools of every backend are listed with valid, prefixed names [3.2]', async () => {
    await using c = await connectV2(gw.mcpUrl);
    const { tools } = await c.client.listTools();
    const names = tools.map((t) => t.name);
    for (const n of ['alpha_echo', 'beta_echo', 'legacy_echo', 'everything_echo', 'evhttp_echo', 'alpha_admin_tools_list']) expect(names).toContain(n);
    for (const n of names) expect(n).toMatch(NAME);
    // alpha pages its tools/list 5 at a time: every page was followed
    expect(names.filter((n) => n.startsWith('alpha_')).length).toBeGreaterThanOrEqual(14);
    const long = names.filter((n) => n.startsWith('alpha_very_long'));
    expect(long).toHaveLength(1);
    expect(long[0].length).toBe(64);
  });

  test('a collision pair comes out valid, distinct, stable, and is logged with both backends', async () => {
    await using c = await connectV2(gw.mcpUrl);
    const names = (await c.client.listTools()).tools.map((t) => t.name).filter((n) => n.startsWith('search'));
    expect(names).toHaveLength(2);
    expect(names).toContain('search');
    expect(names.find((n) => n !== 'search')).toMatch(/^search_[0-9a-f]{6}$/);
    const log = gw.logs.find((l) => l.msg === 'name collision resolved');
    expect(log).toMatchObject({ name: 'search', kept_backend: 'delta', renamed_backend: 'gamma' });
    const r1 = await c.client.callTool({ name: 'search', arguments: { query: 'q' } });
    expect((r1.content as { text: string }[])[0].text).toBe('beta: no results for q');
    const other = names.find((n) => n !== 'search')!;
    const r2 = await c.client.callTool({ name: other, arguments: { query: 'q' } });
    expect((r2.content as { text: string }[])[0].text).toBe('gamma: no results for q');
    // the same name after a second listing and in the next run is the same hash of (backend, tool)
    expect((await c.client.listTools()).tools.map((t) => t.name)).toContain(other);
  });

  test('calls reach both stdio and HTTP backends; odd and over-long names route to the original', async () => {
    await using c = await connectV2(gw.mcpUrl);
    const text = async (name: string, args: Record<string, unknown> = {}) => ((await c.client.callTool({ name, arguments: args })).content as { text: string }[])[0].text;
    expect(await text('everything_echo', { message: 'hi' })).toContain('hi');
    expect(await text('evhttp_echo', { message: 'there' })).toContain('there');
    expect(await text('beta_echo', { text: 'b' })).toBe('b');
    expect(await text('legacy_echo', { text: 'sse' })).toBe('sse');
    expect(await text('alpha_admin_tools_list')).toBe('admin tools of alpha');
    const long = (await c.client.listTools()).tools.find((t) => t.name.startsWith('alpha_very_long'))!;
    expect(await text(long.name)).toBe('long');
    expect(LONG_TOOL_NAME.length).toBe(100);
  });

  test('structuredContent, annotations, title, _meta pass through untouched [3.6]', async () => {
    await using c = await connectV2(gw.mcpUrl);
    const tools = (await c.client.listTools()).tools;
    const echo = tools.find((t) => t.name === 'alpha_echo')!;
    expect(echo.title).toBe('Echo');
    expect(echo.annotations).toMatchObject({ readOnlyHint: true, idempotentHint: true, openWorldHint: false });
    expect(echo._meta).toMatchObject({ 'example.com/x': 1 });
    expect(tools.find((t) => t.name === 'alpha_add')!.outputSchema).toBeDefined();
    const add = await c.client.callTool({ name: 'alpha_add', arguments: { a: 2, b: 3 } });
    expect(add.structuredContent).toEqual({ sum: 5 });
    const r = await c.client.callTool({ name: 'alpha_echo', arguments: { text: 'm' } });
    expect(r._meta).toMatchObject({ 'example.com/x': 1 });
  });

  test('resources: read through the reversible URI; prompts; completions routed to the owner', async () => {
    await using c = await connectV2(gw.mcpUrl);
    const { resources } = await c.client.listResources();
    const hello = resources.find((r) => r.uri === 'test+alpha://static/hello');
    expect(hello).toBeDefined();
    const read = await c.client.readResource({ uri: 'test+alpha://static/hello' });
    expect(read.contents[0]).toMatchObject({ uri: 'test+alpha://static/hello', text: 'hello from alpha' });
    const ev = resources.find((r) => r.uri.includes('+everything:'))!;
    expect((await c.client.readResource({ uri: ev.uri })).contents[0].uri).toBe(ev.uri);
    const { resourceTemplates } = await c.client.listResourceTemplates();
    expect(resourceTemplates.map((t) => t.uriTemplate)).toContain('test+beta://items/{id}');
    const prompt = await c.client.getPrompt({ name: 'alpha_greet', arguments: { name: 'Ann' } });
    expect(JSON.stringify(prompt.messages)).toContain('Hello Ann');
    const byPrompt = await c.client.complete({ ref: { type: 'ref/prompt', name: 'alpha_greet' }, argument: { name: 'name', value: 'al' } });
    expect(byPrompt.completion.values).toEqual(['alice', 'albert']);
    const byTemplate = await c.client.complete({ ref: { type: 'ref/resource', uri: 'test+beta://items/{id}' }, argument: { name: 'id', value: 'item-1' } });
    expect(byTemplate.completion.values).toContain('item-10');
  });

  test("a backend's JSON-RPC error comes back as is, with the backend named in data", async () => {
    await using c = await connectV2(gw.mcpUrl);
    const err = await c.client.readResource({ uri: 'test+alpha://static/nothing-here' }).catch((e) => e);
    expect(err).toBeInstanceOf(Error);
    // The SDK v2 client keeps no data on a resource-not-found error, so the wire is read directly.
    const res = await fetch(gw.mcpUrl, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'resources/read', params: { uri: 'test+alpha://static/nothing-here' } }) });
    const wire = (await res.json()) as { error: { code: number; data?: { backend?: string } } };
    expect(wire.error.code).toBe(-32002);
    expect(wire.error.data?.backend).toBe('alpha');
  });

  test('progress reaches the client and the backend got a progressToken [3.9]', async () => {
    await using c = await connectV2(gw.mcpUrl);
    const seen: number[] = [];
    const r = await c.client.callTool({ name: 'alpha_slow', arguments: { ms: 300, steps: 3 } }, { onprogress: (p) => void seen.push(p.progress) });
    expect((r.content as { text: string }[])[0].text).toBe('done');
    const progress = c.notifications.filter((n) => n.method === 'notifications/progress');
    expect(progress.length).toBeGreaterThanOrEqual(2);
    const calls = (await readEvents(events.alpha)).filter((e) => e.event === 'call' && e.tool === 'slow');
    expect((calls.at(-1) as { meta?: Record<string, unknown> }).meta?.progressToken).toBeDefined();
  });

  test('cancellation from the client reaches the backend that runs the call [3.10]', async () => {
    await using c = await connectV2(gw.mcpUrl);
    const ac = new AbortController();
    const call = c.client.callTool({ name: 'alpha_slow', arguments: { ms: 10_000, steps: 10 } }, { signal: ac.signal }).catch((e) => e);
    await waitFor(async () => (await readEvents(events.alpha)).some((e) => e.event === 'call' && e.tool === 'slow' && (e.arguments as { ms: number }).ms === 10_000), { timeoutMs: 5000 });
    ac.abort('user cancelled');
    await call;
    await waitFor(async () => (await readEvents(events.alpha)).some((e) => e.event === 'cancelled'), { timeoutMs: 5000, what: 'cancelled event at the backend' });
  });

  test('elicitation and sampling round-trip to the client that made the call [3.12]', async () => {
    await using c = await connectV2(gw.mcpUrl, {
      onElicit: (p) => ({ action: 'accept', content: { answer: `yes to ${String(p.message)}` } }),
      onSample: () => ({ role: 'assistant', model: 'test', content: { type: 'text', text: 'sampled!' } }),
      roots: [{ uri: 'file:///home/me', name: 'home' }],
    });
    const text = async (name: string, args: Record<string, unknown>) => ((await c.client.callTool({ name, arguments: args })).content as { text: string }[])[0].text;
    expect(await text('alpha_ask', { question: 'ok?' })).toBe('answer: yes to ok?');
    expect(await text('beta_ask', { question: 'http?' })).toBe('answer: yes to http?');
    expect(await text('alpha_sample', { prompt: 'p' })).toBe('sampled!');
    expect(await text('alpha_roots', {})).toContain('file:///home/me');
  });

  test('a client without the elicitation capability: the backend gets an error, the client an error result', async () => {
    await using c = await connectV2(gw.mcpUrl);
    const r = await c.client.callTool({ name: 'alpha_ask', arguments: { question: 'x' } }).catch((e) => ({ isError: true, content: [{ type: 'text', text: String(e) }] }));
    expect(r.isError).toBe(true);
    expect(JSON.stringify(r.content)).toMatch(/elicitation/);
  });

  test('list_changed from a backend is relayed and the new tool is listed [3.4]', async () => {
    await using c = await connectV2(gw.mcpUrl);
    await c.client.callTool({ name: 'alpha_add_tool', arguments: { name: 'fresh' } });
    await waitFor(() => c.notifications.some((n) => n.method === 'notifications/tools/list_changed'), { timeoutMs: 5000, what: 'tools/list_changed' });
    await waitFor(async () => (await c.client.listTools()).tools.some((t) => t.name === 'alpha_fresh'), { timeoutMs: 5000 });
    await c.client.callTool({ name: 'alpha_remove_tool', arguments: { name: 'fresh' } });
  });

  test('logging: setLevel fans out and backend messages reach the client with the backend as logger [3.11]', async () => {
    await using c = await connectV2(gw.mcpUrl);
    await c.client.setLoggingLevel('info');
    await c.client.callTool({ name: 'alpha_log', arguments: { level: 'warning', message: 'careful' } });
    const msg = await waitFor(() => c.notifications.find((n) => n.method === 'notifications/message'), { timeoutMs: 5000 });
    expect(msg.params).toMatchObject({ level: 'warning', data: 'careful' });
    expect(String(msg.params!.logger)).toStartWith('alpha');
  });

  test('resources/subscribe reaches the owning backend and resources/updated comes back with the exposed URI', async () => {
    await using c = await connectV2(gw.mcpUrl);
    await c.client.subscribeResource({ uri: 'test+beta://static/hello' });
    await waitFor(async () => (await readEvents(events.beta)).some((e) => e.event === 'subscribe' && e.uri === 'test://static/hello'), { timeoutMs: 5000 });
    await c.client.callTool({ name: 'beta_touch', arguments: { uri: 'test://static/hello' } });
    const upd = await waitFor(() => c.notifications.find((n) => n.method === 'notifications/resources/updated'), { timeoutMs: 5000 });
    expect(upd.params?.uri).toBe('test+beta://static/hello');
  });

  test('issue 7 fault 11: a URI that two unprefixed backends both serve is refused with both named', async () => {
    await using c = await connectV2(gw.mcpUrl);
    const err = (await c.client.readResource({ uri: 'test://static/hello' }).catch((e) => e)) as Error;
    expect(err).toBeInstanceOf(Error);
    expect(err.message).toContain('ambiguous');
    expect(err.message).toContain('delta, gamma');
  });

  test('HTTP backends get their configured headers and never an Authorization header', async () => {
    const http = (await readEvents(events.beta)).filter((e) => e.event === 'http') as { headers: Record<string, string> }[];
    expect(http.length).toBeGreaterThan(0);
    for (const e of http) {
      expect(e.headers['x-test']).toBe('beta-header');
      expect(e.headers.authorization).toBeUndefined();
    }
  });

  test('HTTP backend connections are kept alive and reused across calls', async () => {
    await using c = await connectV2(gw.mcpUrl);
    const before = (await readEvents(events.beta)).length;
    for (let i = 0; i < 20; i++) await c.client.callTool({ name: 'beta_echo', arguments: { text: String(i) } });
    const ports = new Set((await readEvents(events.beta)).slice(before).filter((e) => e.event === 'http').map((e) => (e as { remotePort?: number }).remotePort));
    expect(ports.size).toBeLessThanOrEqual(3);
  });

  test('ping is answered', async () => {
    await using c = await connectV2(gw.mcpUrl);
    expect(await c.client.ping()).toEqual({});
  });

  test('a client that disconnects cancels its call at the backend', async () => {
    const before = (await readEvents(events.alpha)).filter((e) => e.event === 'cancelled').length;
    const ac = new AbortController();
    const res = fetch(gw.mcpUrl, {
      method: 'POST',
      signal: ac.signal,
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'tools/call', params: { name: 'alpha_slow', arguments: { ms: 10_000, steps: 10 } } }),
    }).catch(() => undefined);
    await waitFor(async () => (await readEvents(events.alpha)).some((e) => e.event === 'call' && e.tool === 'slow' && e.requestId !== undefined && (e.arguments as { ms: number }).ms === 10_000 && !e.sessionId), { timeoutMs: 5000 }).catch(() => undefined);
    await Bun.sleep(300);
    ac.abort();
    await res;
    await waitFor(async () => (await readEvents(events.alpha)).filter((e) => e.event === 'cancelled').length > before, { timeoutMs: 5000, what: 'cancel after disconnect' });
  });

  test('a 2025-era v1 client and a 2026-07-28 v2 client both work against the same gateway [2.0, 2.10]', async () => {
    await using v1 = await connectV1(gw.mcpUrl, { onElicit: () => ({ action: 'accept', content: { answer: 'v1' } }) });
    const t1 = await v1.client.listTools();
    expect(t1.tools.some((t) => t.name === 'alpha_echo')).toBe(true);
    const r1 = await v1.client.callTool({ name: 'alpha_ask', arguments: { question: 'q' } });
    expect((r1.content as { text: string }[])[0].text).toBe('answer: v1');
    await using modern = await connectV2(gw.mcpUrl, { mode: 'auto' });
    expect(modern.client.getNegotiatedProtocolVersion()).toBe('2026-07-28');
    const t2 = await modern.client.listTools();
    expect(t2.tools.map((t) => t.name).sort()).toEqual(t1.tools.map((t) => t.name).sort());
    const r2 = await modern.client.callTool({ name: 'everything_echo', arguments: { message: 'modern' } });
    expect(JSON.stringify(r2.content)).toContain('modern');
  });

  test('a 2026-07-28 client gets list_changed on its subscriptions/listen stream', async () => {
    await using modern = await connectV2(gw.mcpUrl, { mode: 'auto' });
    expect(modern.client.getProtocolEra()).toBe('modern');
    await modern.client.callTool({ name: 'alpha_add_tool', arguments: { name: 'modern_fresh' } });
    await waitFor(() => modern.notifications.some((n) => n.method === 'notifications/tools/list_changed'), { timeoutMs: 5000, what: 'modern list_changed' });
    await waitFor(async () => (await modern.client.listTools({}, { cacheMode: 'no-store' } as never)).tools.some((t) => t.name === 'alpha_modern_fresh'), { timeoutMs: 5000 });
    await modern.client.callTool({ name: 'alpha_remove_tool', arguments: { name: 'modern_fresh' } });
  });

  test('initialize advertises merged capabilities, mcpgw server info and per-backend instructions [3.1]', async () => {
    await using c = await connectV2(gw.mcpUrl);
    expect(c.client.getServerVersion()?.name).toBe('mcpgw');
    const caps = c.client.getServerCapabilities()!;
    expect(caps.tools?.listChanged).toBe(true);
    expect(caps.prompts?.listChanged).toBe(true);
    expect(caps.resources).toMatchObject({ listChanged: true, subscribe: true });
    expect(caps.completions).toBeDefined();
    const instructions = c.client.getInstructions()!;
    expect(instructions).toContain('- alpha (up): Test backend alpha');
    expect(instructions.length).toBeLessThanOrEqual(8000);
  });
});

describe('issue 7 fault 11: URIs of a prefix: false backend pass unchanged', () => {
  let solo: GatewayProcess;
  let soloEvents: string;
  beforeAll(async () => {
    solo = await startGatewayProcess((d) => {
      soloEvents = join(d, 'solo.jsonl');
      return baseConfig(d, {
        solo: { command: process.execPath, args: [BACKEND_PATH, ...backendArgs({ name: 'solo', events: soloEvents })], prefix: false },
        pre: { command: process.execPath, args: [BACKEND_PATH, '--name', 'pre'] },
      });
    });
    await solo.waitForLog(() => solo.logs.filter((l) => l.msg === 'backend up').length >= 2, 30_000);
  }, 40_000);
  afterAll(async () => {
    await solo?.[Symbol.asyncDispose]();
  }, 30_000);

  test('listing, reading, templates and completions use the backend\'s own URIs; the prefixed backend keeps its tag', async () => {
    await using c = await connectV2(solo.mcpUrl);
    const uris = (await c.client.listResources()).resources.map((r) => r.uri);
    expect(uris).toContain('test://static/hello');
    expect(uris).toContain('test+pre://static/hello');
    expect(uris.some((u) => u.includes('+solo'))).toBe(false);
    expect((await c.client.listResourceTemplates()).resourceTemplates.map((t) => t.uriTemplate)).toContain('test://items/{id}');
    const read = await c.client.readResource({ uri: 'test://static/hello' });
    expect(read.contents[0]).toMatchObject({ uri: 'test://static/hello', text: 'hello from solo' });
    expect((await c.client.readResource({ uri: 'test+pre://static/hello' })).contents[0]).toMatchObject({ uri: 'test+pre://static/hello', text: 'hello from pre' });
    expect((await c.client.readResource({ uri: 'test://items/7' })).contents[0]).toMatchObject({ uri: 'test://items/7', text: 'item 7' });
    const done = await c.client.complete({ ref: { type: 'ref/resource', uri: 'test://items/{id}' }, argument: { name: 'id', value: 'item-1' } });
    expect(done.completion.values).toContain('item-10');
  });

  test('subscribe with the backend\'s URI; resources/updated comes back with it unchanged', async () => {
    await using c = await connectV2(solo.mcpUrl);
    // The backend speaks 2026-07-28 (protocol: auto): the subscription is its subscriptions/listen, acknowledged
    // before subscribeResource returns, so a touch right after it is delivered.
    await c.client.subscribeResource({ uri: 'test://static/blob' });
    await c.client.callTool({ name: 'touch', arguments: { uri: 'test://static/blob' } });
    const upd = await waitFor(() => c.notifications.find((n) => n.method === 'notifications/resources/updated'), { timeoutMs: 5000 });
    expect(upd.params?.uri).toBe('test://static/blob');
  });
});
