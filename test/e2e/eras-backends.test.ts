/**
 * Issue 10, the backend side of the eras: what a 2026-07-28 backend gets from the gateway (the
 * client's own Mcp-Param-* headers, the 2025 session's log level) and what the gateway takes from it
 * (list_changed on a subscriptions/listen stream in SSE or NDJSON; a dual-era backend's changing 2025
 * tool set). In-process gateway (test/helpers/world.ts) in front of real SDK v2 servers.
 */
import { describe, expect, test } from 'bun:test';
import { LOG_LEVEL_META_KEY, McpServer, createMcpHandler, fromJsonSchema } from '@modelcontextprotocol/server';
import { join } from 'node:path';
import { listenFilter } from '../../src/backends/backend.ts';
import { MAX_PASSED_PARAM_HEADERS, passedParamHeaders } from '../../src/backends/discover.ts';
import { readEvents, spawnBackend, waitFor } from '../helpers/clients.ts';
import { BASE, sseMessages, startWorld, type World } from '../helpers/world.ts';

type Json = Record<string, unknown>;

/** A 2026-07-28-only SDK v2 server (`legacy: 'reject'`) on loopback that records what it was sent. */
interface ModernBackend extends AsyncDisposable {
  url: string;
  /** Headers of every POST, lower-case names. */
  posts: Record<string, string>[];
  /** `_meta` of every tools/call, as the tool handler saw it. */
  metas: Json[];
  /** subscriptions/listen answers started (their streams are subscribed to changes). */
  readonly listening: number;
  /** Registers a tool on every later instance and announces it on open listen streams. */
  addTool(name: string): void;
}

/** Rewrites an SSE response into NDJSON (one JSON-RPC message per line), as some servers stream. */
function asNdjson(res: Response): Response {
  if (!(res.headers.get('content-type') ?? '').startsWith('text/event-stream') || !res.body) return res;
  const decoder = new TextDecoder();
  const encoder = new TextEncoder();
  let buffered = '';
  const body = res.body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, out) {
        buffered += decoder.decode(chunk, { stream: true });
        const blocks = buffered.split('\n\n');
        buffered = blocks.pop() ?? '';
        for (const m of sseMessages(blocks.map((b) => `${b}\n\n`).join(''))) out.enqueue(encoder.encode(`${JSON.stringify(m)}\n`));
      },
    }),
  );
  const headers = new Headers(res.headers);
  headers.set('content-type', 'application/x-ndjson');
  return new Response(body, { status: res.status, headers });
}

function startModernBackend(opts: { ndjson?: boolean; listChanged?: boolean } = {}): ModernBackend {
  const posts: Record<string, string>[] = [];
  const metas: Json[] = [];
  let listening = 0;
  const extra = new Set<string>();
  const handler = createMcpHandler(
    () => {
      const mcp = new McpServer({ name: 'modern', version: '1' }, { capabilities: { tools: { listChanged: opts.listChanged ?? true }, logging: {} } });
      // The SDK hands the per-request envelope (protocol version, capabilities, log level) apart from _meta.
      const record = (ctx: { mcpReq: { _meta?: unknown; envelope?: unknown } }) => void metas.push({ ...(ctx.mcpReq._meta as Json), ...(ctx.mcpReq.envelope as Json) });
      mcp.registerTool(
        'region',
        { description: 'echoes its region', inputSchema: fromJsonSchema<{ region: string }>({ type: 'object', properties: { region: { type: 'string', 'x-mcp-header': 'Region' } }, required: ['region'] } as never) },
        ({ region }, ctx) => (record(ctx), { content: [{ type: 'text', text: `region ${region}` }] }),
      );
      mcp.registerTool('log', { description: 'logs a warning related to this call' }, async (ctx) => {
        record(ctx);
        await ctx.mcpReq.log('warning', 'careful from modern', 'modern');
        return { content: [{ type: 'text', text: 'logged' }] };
      });
      for (const name of extra) mcp.registerTool(name, { description: 'added at runtime' }, () => ({ content: [{ type: 'text', text: name }] }));
      return mcp;
    },
    { legacy: 'reject' },
  );
  const server = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    idleTimeout: 0,
    fetch: async (req) => {
      if (req.method === 'POST') posts.push(Object.fromEntries(req.headers));
      const res = await handler.fetch(req);
      if (req.headers.get('mcp-method') === 'subscriptions/listen' && res.ok) listening++;
      return opts.ndjson ? asNdjson(res) : res;
    },
  });
  const close = async () => {
    await handler.close();
    await server.stop(true);
  };
  return {
    url: `http://127.0.0.1:${server.port}/mcp`,
    posts,
    metas,
    get listening() {
      return listening;
    },
    addTool(name) {
      extra.add(name);
      handler.notify.toolsChanged();
    },
    [Symbol.asyncDispose]: close,
  };
}

const backendConfig = (url: string) => ({ url, transport: 'streamable-http', protocol: 'auto' });

/** Opens the session's GET stream and collects its JSON-RPC messages until `close()`. */
async function sessionStream(w: World, sid: string): Promise<{ messages: Json[]; close(): void }> {
  const ac = new AbortController();
  const res = await w.gw.fetch(new Request(`${BASE}/mcp`, { method: 'GET', headers: { accept: 'text/event-stream', 'mcp-session-id': sid }, signal: ac.signal }));
  expect(res.status).toBe(200);
  const messages: Json[] = [];
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  void (async () => {
    for (;;) {
      const { done, value } = await reader.read().catch(() => ({ done: true, value: undefined }));
      if (done) return;
      text += decoder.decode(value, { stream: true });
      const cut = text.lastIndexOf('\n\n');
      if (cut < 0) continue;
      messages.push(...sseMessages(text.slice(0, cut + 2)));
      text = text.slice(cut + 2);
    }
  })();
  return { messages, close: () => ac.abort() };
}

describe('issue 10, SEP-2243: a client Mcp-Param-* headers reach a 2026-07-28 HTTP backend', () => {
  test('spec-checklist §2.10: unknown Mcp-Param-* headers are forwarded; a declared one carries the value the gateway derives from the arguments', async () => {
    await using backend = startModernBackend();
    await using w = await startWorld({ backends: { p: backendConfig(backend.url) } });
    await w.up('p');
    const sid = await w.open();
    const headers = { 'mcp-session-id': sid, 'Mcp-Param-Tenant': 'acme', 'mcp-param-region': 'us', 'x-not-forwarded': 'no' };
    const res = await w.rpc('tools/call', { name: 'p_region', arguments: { region: 'eu' } }, headers);
    expect(JSON.stringify(res.result)).toContain('region eu');
    const call = backend.posts.find((h) => h['mcp-method'] === 'tools/call')!;
    expect(call['mcp-param-tenant']).toBe('acme');
    expect(call['mcp-param-region']).toBe('eu');
    expect(call['x-not-forwarded']).toBeUndefined();
    expect(call['mcp-session-id']).toBeUndefined();
  });

  test('spec-checklist §2.10: a 2026-07-28 client\'s unknown Mcp-Param-* headers are forwarded too', async () => {
    await using backend = startModernBackend();
    await using w = await startWorld({ backends: { p: backendConfig(backend.url) } });
    await w.up('p');
    const meta = { 'io.modelcontextprotocol/protocolVersion': '2026-07-28', 'io.modelcontextprotocol/clientCapabilities': {} };
    const headers = { 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/call', 'mcp-name': 'p_region', 'mcp-param-region': 'eu', 'Mcp-Param-Tenant': 'acme', 'x-not-forwarded': 'no' };
    const res = await w.post({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'p_region', arguments: { region: 'eu' }, _meta: meta } }, headers);
    expect(JSON.stringify(await res.json())).toContain('region eu');
    const call = backend.posts.find((h) => h['mcp-method'] === 'tools/call')!;
    expect(call['mcp-param-tenant']).toBe('acme');
    expect(call['mcp-param-region']).toBe('eu');
    expect(call['x-not-forwarded']).toBeUndefined();
  });

  test('passedParamHeaders keeps only mcp-param-* headers, bounded in count and size', () => {
    const many = new Headers({ authorization: 'Bearer x', 'mcp-param-': 'empty name' });
    for (let i = 0; i < MAX_PASSED_PARAM_HEADERS + 8; i++) many.set(`mcp-param-h${String(i).padStart(2, '0')}`, 'v');
    const kept = passedParamHeaders(many)!;
    expect(Object.keys(kept)).toHaveLength(MAX_PASSED_PARAM_HEADERS);
    expect(Object.keys(kept).every((k) => /^mcp-param-h\d\d$/.test(k))).toBe(true);
    expect(Object.keys(passedParamHeaders(new Headers({ 'mcp-param-big': 'x'.repeat(9000) })) ?? {})).toEqual([]);
    expect(passedParamHeaders(new Headers({ accept: '*/*' }))).toBeUndefined();
  });
});

describe('issue 10, logging: a 2025 session log level and a 2026-07-28 backend', () => {
  test('spec-checklist §3.11: the level set with logging/setLevel goes in the request envelope, and the call log message reaches the session', async () => {
    await using backend = startModernBackend();
    await using w = await startWorld({ backends: { m: backendConfig(backend.url) } });
    await w.up('m');
    const quiet = await w.open();
    await w.rpc('tools/call', { name: 'm_log', arguments: {} }, { 'mcp-session-id': quiet });
    expect(backend.metas[0][LOG_LEVEL_META_KEY]).toBeUndefined();
    const sid = await w.open();
    const stream = await sessionStream(w, sid);
    try {
      await w.rpc('logging/setLevel', { level: 'info' }, { 'mcp-session-id': sid });
      const res = await w.rpc('tools/call', { name: 'm_log', arguments: {} }, { 'mcp-session-id': sid });
      expect(JSON.stringify(res.result)).toContain('logged');
      expect(backend.metas[1][LOG_LEVEL_META_KEY]).toBe('info');
      const logged = () => stream.messages.filter((m) => m.method === 'notifications/message');
      const logs = await waitFor(() => logged().length > 0 && logged(), { what: 'the log message on the session stream' });
      expect(logs.map((m) => (m.params as Json).data)).toEqual(['careful from modern']);
      expect((logs[0].params as Json).logger).toBe('m/modern');
    } finally {
      stream.close();
    }
  });
});

describe('issue 10, subscriptions/listen: a 2026-07-28-only backend tools list_changed', () => {
  for (const framing of ['SSE', 'NDJSON'] as const) {
    test(`spec-checklist §3.4: over a listen stream in ${framing}, a new tool refreshes the catalog and the 2025 session hears list_changed`, async () => {
      await using backend = startModernBackend({ ndjson: framing === 'NDJSON' });
      await using w = await startWorld({ backends: { m: backendConfig(backend.url) } });
      await w.up('m');
      const sid = await w.open();
      const stream = await sessionStream(w, sid);
      try {
        // the backend's listen stream is open (its answer started) before the tool list changes
        await waitFor(() => backend.listening > 0, { what: 'the listen stream' });
        backend.addTool('fresh');
        await waitFor(() => w.gw.aggregator.pool.get('m')!.catalog.tools.some((t) => t.name === 'fresh'), { what: 'the catalog refreshed' });
        await waitFor(() => stream.messages.some((m) => m.method === 'notifications/tools/list_changed'), { what: 'tools/list_changed on the session stream' });
        const listed = (await w.rpc('tools/list', {}, { 'mcp-session-id': sid })).result as { tools: { name: string }[] };
        expect(listed.tools.map((t) => t.name)).toContain('m_fresh');
        const res = await w.rpc('tools/call', { name: 'm_fresh', arguments: {} }, { 'mcp-session-id': sid });
        expect(JSON.stringify(res.result)).toContain('fresh');
      } finally {
        stream.close();
      }
    });
  }
});

describe('issue 10, subscriptions/listen: what the gateway asks a 2026-07-28 backend for', () => {
  test('a backend whose tools have no listChanged gets no listen request (it would honor nothing, close the stream and be asked again every second)', async () => {
    await using backend = startModernBackend({ listChanged: false });
    await using w = await startWorld({ backends: { m: backendConfig(backend.url) } });
    await w.up('m');
    // the loop this prevents reopened the stream 1 s after each close
    await Bun.sleep(1300);
    expect(backend.posts.filter((h) => h['mcp-method'] === 'subscriptions/listen')).toHaveLength(0);
    expect(w.gw.aggregator.pool.get('m')!.status().tools).toBe(2);
  });

  test('listenFilter asks only for what the capabilities announce', () => {
    const watched = new Set(['file:///a']);
    expect(listenFilter({ tools: {}, prompts: { listChanged: true }, resources: { subscribe: true } }, watched)).toEqual({ promptsListChanged: true, resourceSubscriptions: ['file:///a'] });
    expect(listenFilter({ tools: { listChanged: true }, resources: { listChanged: true } }, watched)).toEqual({ toolsListChanged: true, resourcesListChanged: true });
    expect(listenFilter({ resources: { subscribe: true } }, new Set())).toEqual({});
  });
});

describe('issue 10, dual-era backend: the 2025 tool set follows list_changed', () => {
  test('a tool the backend adds after connect is called on its 2025 session for a 2025 client (not bridged through 2026)', async () => {
    await using w0 = await startWorld({});
    const events = join(w0.dir, 'events.jsonl');
    await using backend = await spawnBackend({ http: true, name: 'd', events });
    await using w = await startWorld({ backends: { d: backendConfig(backend.url) } });
    await w.up('d');
    expect(w.gw.aggregator.pool.get('d')!.dual).toBe(true);
    const sid = await w.open();
    const added = await w.rpc('tools/call', { name: 'd_add_tool', arguments: { name: 'late' } }, { 'mcp-session-id': sid });
    expect(JSON.stringify(added.result)).toContain('added late');
    await waitFor(async () => ((await w.rpc('tools/list', {}, { 'mcp-session-id': sid })).result as { tools: { name: string }[] }).tools.some((t) => t.name === 'd_late'), { what: 'd_late listed' });
    const res = await w.rpc('tools/call', { name: 'd_late', arguments: { text: 'hi' } }, { 'mcp-session-id': sid });
    expect(JSON.stringify(res.result)).toContain('hi');
    const calls = (await readEvents(events)).filter((e) => e.event === 'call' && e.tool === 'late') as { era: string }[];
    expect(calls.map((c) => c.era)).toEqual(['legacy']);
  });
});
