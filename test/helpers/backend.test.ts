/**
 * @module Proves test/helpers/backend.ts and clients.ts with no gateway involved: real `bun`
 * children, real SDK clients (v2 over stdio, Streamable HTTP in both eras, HTTP+SSE; v1 over HTTP).
 */
import { describe, expect, test } from 'bun:test';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, SSEClientTransport, type Transport } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { LONG_TOOL_NAME, TOOLS_PAGE_SIZE } from './backend.ts';
import {
  BACKEND_PATH,
  backendArgs,
  connectV1,
  connectV2,
  readEvents,
  recordNotifications,
  spawnBackend,
  waitFor,
  type ConnectOptions,
  type Connection,
  type ReceivedNotification,
} from './clients.ts';

const STATIC_TOOLS = 17;
const answering = {
  onElicit: () => ({ action: 'accept' as const, content: { answer: 'forty-two' } }),
  onSample: () => ({ model: 'test-model', role: 'assistant' as const, content: { type: 'text' as const, text: 'sampled text' } }),
  roots: [{ uri: 'file:///work', name: 'work' }],
} satisfies ConnectOptions;

/** A fresh events file path, removed on dispose. */
function eventsFile(): { path: string } & Disposable {
  const path = join(tmpdir(), `mcpgw-backend-${crypto.randomUUID()}.jsonl`);
  return { path, [Symbol.dispose]: () => rmSync(path, { force: true }) };
}

/** A v2 client over stdio to a `bun backend.ts` child, answering elicitation/sampling/roots. */
async function connectStdio(args: string[], mode: 'legacy' | 'auto' = 'legacy'): Promise<Connection<Client>> {
  const client = new Client(
    { name: 'stdio-test', version: '1.0.0' },
    { capabilities: { elicitation: { form: {} }, sampling: {}, roots: {} }, versionNegotiation: { mode } },
  );
  client.setRequestHandler('elicitation/create', answering.onElicit);
  client.setRequestHandler('sampling/createMessage', answering.onSample);
  client.setRequestHandler('roots/list', () => ({ roots: answering.roots }));
  const transport: Transport = new StdioClientTransport({ command: process.execPath, args: [BACKEND_PATH, ...args] });
  await client.connect(transport);
  const notifications = recordNotifications(transport);
  const close = () => client.close();
  return { client, notifications, close, [Symbol.asyncDispose]: close };
}

const textOf = (result: object) => ((result as { content: { text?: string }[] }).content ?? []).map(block => block.text).join('');
const methods = (notifications: ReceivedNotification[]) => notifications.map(notification => notification.method);

/** Walks tools/list one page at a time, asserting the backend's page size. */
async function listToolPages(client: Client): Promise<string[]> {
  const names: string[] = [];
  let cursor: string | undefined;
  do {
    const page = cursor === undefined ? await client.request({ method: 'tools/list', params: {} }) : await client.listTools({ cursor });
    expect(page.tools.length).toBeLessThanOrEqual(TOOLS_PAGE_SIZE);
    names.push(...page.tools.map(tool => tool.name));
    cursor = page.nextCursor;
  } while (cursor !== undefined);
  return names;
}

/** The behaviour every v2 connection must show, whatever its transport or era. */
async function exerciseV2({ client, notifications }: Connection<Client>): Promise<void> {
  const names = await listToolPages(client);
  expect(names).toHaveLength(STATIC_TOOLS);
  expect(names).toContain('admin.tools.list');
  expect(names).toContain(LONG_TOOL_NAME);

  const echo = await client.callTool({ name: 'echo', arguments: { text: 'hi' } });
  expect(textOf(echo)).toBe('hi');
  expect(echo._meta?.['example.com/x']).toBe(1);
  expect((await client.callTool({ name: 'add', arguments: { a: 2, b: 3 } })).structuredContent).toEqual({ sum: 5 });

  const slow = await client.callTool({ name: 'slow', arguments: { ms: 30, steps: 3 } }, { onprogress: () => {} });
  expect(textOf(slow)).toBe('done');
  const progress = notifications.filter(notification => notification.method === 'notifications/progress');
  expect(progress.map(notification => notification.params?.progress)).toEqual([1, 2, 3]);

  expect(textOf(await client.callTool({ name: 'ask', arguments: { question: 'the answer?' } }))).toBe('answer: forty-two');
  expect(textOf(await client.callTool({ name: 'sample', arguments: { prompt: 'say something' } }))).toBe('sampled text');
  expect(JSON.parse(textOf(await client.callTool({ name: 'roots', arguments: {} })))).toEqual(answering.roots);

  expect(textOf(await client.callTool({ name: 'add_tool', arguments: { name: 'dynamic' } }))).toBe('added dynamic');
  await waitFor(() => methods(notifications).includes('notifications/tools/list_changed'), { what: 'tools/list_changed' });
  expect((await client.listTools()).tools.map(tool => tool.name)).toContain('dynamic');
  expect(textOf(await client.callTool({ name: 'dynamic', arguments: { text: 'again' } }))).toBe('again');
  expect(textOf(await client.callTool({ name: 'remove_tool', arguments: { name: 'dynamic' } }))).toBe('removed dynamic');
  await waitFor(async () => !(await client.listTools()).tools.some(tool => tool.name === 'dynamic'), { what: 'dynamic removed' });

  const hello = await client.readResource({ uri: 'test://static/hello' });
  expect(hello.contents).toEqual([{ uri: 'test://static/hello', mimeType: 'text/plain', text: 'hello from alpha' }]);
  const blob = await client.readResource({ uri: 'test://static/blob' });
  expect(blob.contents[0]).toMatchObject({ mimeType: 'application/octet-stream', blob: 'AAECA/7/' });
  const prompt = await client.getPrompt({ name: 'greet', arguments: { name: 'bob' } });
  expect(prompt.messages).toEqual([{ role: 'user', content: { type: 'text', text: 'Hello bob' } }]);
  const names2 = await client.complete({ ref: { type: 'ref/prompt', name: 'greet' }, argument: { name: 'name', value: 'al' } });
  expect(names2.completion.values).toEqual(['alice', 'albert']);
  const ids = await client.complete({ ref: { type: 'ref/resource', uri: 'test://items/{id}' }, argument: { name: 'id', value: 'item-1' } });
  expect(ids.completion.values).toEqual(['item-1', 'item-10']);
}

/** Starts `slow`, cancels it after the first progress notification, and waits for the backend to record it. */
async function expectCancellationRecorded(cancel: (signal: AbortSignal, onprogress: () => void) => Promise<unknown>, events: string) {
  const controller = new AbortController();
  await expect(cancel(controller.signal, () => controller.abort('test cancels'))).rejects.toThrow();
  const cancelled = await waitFor(async () => (await readEvents(events)).find(event => event.event === 'cancelled'), { what: 'cancelled event' });
  expect(cancelled).toMatchObject({ event: 'cancelled', tool: 'slow' });
}

describe('backend over stdio', () => {
  test('stdio: a 2025-era v2 client pages tools, calls every kind of tool, and gets list_changed', async () => {
    await using conn = await connectStdio(backendArgs({ name: 'alpha' }));
    expect(conn.client.getProtocolEra()).toBe('legacy');
    expect(conn.client.getNegotiatedProtocolVersion()).toBe('2025-11-25');
    expect(conn.client.getServerVersion()?.name).toBe('alpha');
    expect(conn.client.getInstructions()).toBe('Test backend alpha.');
    expect(conn.client.getServerCapabilities()).toMatchObject({
      tools: { listChanged: true },
      resources: { subscribe: true, listChanged: true },
      prompts: { listChanged: true },
      logging: {},
      completions: {},
    });
    await exerciseV2(conn);
  });

  test('stdio: cancelling slow reaches the backend and is recorded; calls record their _meta', async () => {
    using events = eventsFile();
    await using conn = await connectStdio(backendArgs({ name: 'alpha', events: events.path }));
    await expectCancellationRecorded(
      (signal, onprogress) => conn.client.callTool({ name: 'slow', arguments: { ms: 2000, steps: 20 } }, { signal, onprogress }),
      events.path,
    );
    const call = (await readEvents(events.path)).find(event => event.event === 'call');
    expect(call).toMatchObject({ tool: 'slow', era: 'legacy', meta: { progressToken: expect.anything() } });
  });

  test('stdio: resources/updated goes only to a session subscribed to the uri', async () => {
    using events = eventsFile();
    await using conn = await connectStdio(backendArgs({ name: 'alpha', events: events.path }));
    await conn.client.callTool({ name: 'touch', arguments: { uri: 'test://static/hello' } });
    await conn.client.subscribeResource({ uri: 'test://static/hello' });
    await conn.client.callTool({ name: 'touch', arguments: { uri: 'test://static/hello' } });
    const updated = await waitFor(() => conn.notifications.filter(n => n.method === 'notifications/resources/updated'), { what: 'updated' });
    expect(updated.map(n => n.params?.uri)).toEqual(['test://static/hello']);
    expect(await readEvents(events.path)).toContainEqual({ event: 'subscribe', uri: 'test://static/hello' });
  });

  test('stdio: a negotiating v2 client (auto) lands on 2026-07-28 and input_required tools still work', async () => {
    await using conn = await connectStdio(backendArgs({ name: 'alpha' }), 'auto');
    expect(conn.client.getProtocolEra()).toBe('modern');
    expect(textOf(await conn.client.callTool({ name: 'ask', arguments: { question: 'q' } }))).toBe('answer: forty-two');
  });
});

describe('backend over Streamable HTTP', () => {
  test('http: a 2025-era v2 client (connectV2 legacy) does everything; headers and cancellation are recorded', async () => {
    using events = eventsFile();
    await using backend = await spawnBackend({ http: true, name: 'alpha', events: events.path });
    expect(backend.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/mcp$/);
    await using conn = await connectV2(backend.url, { ...answering, headers: { 'x-test': 'v2' } });
    expect(conn.client.getNegotiatedProtocolVersion()).toBe('2025-11-25');
    await exerciseV2(conn);
    await expectCancellationRecorded(
      (signal, onprogress) => conn.client.callTool({ name: 'slow', arguments: { ms: 2000, steps: 20 } }, { signal, onprogress }),
      events.path,
    );
    const http = (await readEvents(events.path)).filter(event => event.event === 'http');
    expect(http.length).toBeGreaterThan(0);
    for (const event of http) {
      expect(event.headers['x-test']).toBe('v2');
      expect(event.headers.authorization).toBeUndefined();
    }
  });

  test('http: a negotiating v2 client (connectV2 auto) speaks 2026-07-28; list_changed arrives on its listen stream', async () => {
    using events = eventsFile();
    await using backend = await spawnBackend({ http: true, name: 'alpha', events: events.path });
    await using conn = await connectV2(backend.url, { ...answering, mode: 'auto' });
    expect(conn.client.getProtocolEra()).toBe('modern');
    expect(conn.client.getNegotiatedProtocolVersion()).toBe('2026-07-28');
    await exerciseV2(conn);
    await expectCancellationRecorded(
      (signal, onprogress) => conn.client.callTool({ name: 'slow', arguments: { ms: 2000, steps: 20 } }, { signal, onprogress }),
      events.path,
    );
  });

  test('http: a legacy v1 client gets pages, elicitation, sampling, progress, list_changed and cancellation', async () => {
    using events = eventsFile();
    await using backend = await spawnBackend({ http: true, name: 'alpha', events: events.path });
    await using conn = await connectV1(backend.url, answering);
    const { client, notifications } = conn;
    const first = await client.listTools();
    expect(first.tools).toHaveLength(TOOLS_PAGE_SIZE);
    expect(first.nextCursor).toBeDefined();
    expect((await client.listTools({ cursor: first.nextCursor })).tools).toHaveLength(TOOLS_PAGE_SIZE);
    expect(textOf(await client.callTool({ name: 'echo', arguments: { text: 'v1' } }))).toBe('v1');
    await client.callTool({ name: 'slow', arguments: { ms: 30, steps: 3 } }, undefined, { onprogress: () => {} });
    expect(methods(notifications).filter(method => method === 'notifications/progress')).toHaveLength(3);
    expect(textOf(await client.callTool({ name: 'ask', arguments: { question: 'q' } }))).toBe('answer: forty-two');
    expect(textOf(await client.callTool({ name: 'sample', arguments: { prompt: 'p' } }))).toBe('sampled text');
    await client.callTool({ name: 'log', arguments: { level: 'warning', message: 'careful' } });
    await client.callTool({ name: 'add_tool', arguments: { name: 'dynamic' } });
    await waitFor(() => methods(notifications).includes('notifications/tools/list_changed'), { what: 'tools/list_changed' });
    expect(notifications).toContainEqual({ method: 'notifications/message', params: { level: 'warning', data: 'careful', logger: 'alpha' } });
    await expectCancellationRecorded(
      (signal, onprogress) => client.callTool({ name: 'slow', arguments: { ms: 2000, steps: 20 } }, undefined, { signal, onprogress }),
      events.path,
    );
  });

  test('http: ask without the elicitation capability -> isError with the reason', async () => {
    await using backend = await spawnBackend({ http: true });
    await using conn = await connectV2(backend.url);
    const result = await conn.client.callTool({ name: 'ask', arguments: { question: 'q' } });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toBe('client does not support elicitation');
  });

  test('http: crash -> the backend exits without replying', async () => {
    await using backend = await spawnBackend({ http: true });
    await using conn = await connectV2(backend.url);
    await expect(conn.client.callTool({ name: 'crash', arguments: {} }, { timeout: 2_000 })).rejects.toThrow();
    expect(await backend.exited).toBe(1);
  });
});

describe('backend over legacy HTTP+SSE', () => {
  test('sse: a v2 SSEClientTransport client calls tools and answers elicitation', async () => {
    await using backend = await spawnBackend({ sse: true, name: 'alpha' });
    expect(backend.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/sse$/);
    const client = new Client({ name: 'sse-test', version: '1.0.0' }, { capabilities: { elicitation: { form: {} } } });
    client.setRequestHandler('elicitation/create', () => ({ action: 'decline' }));
    await client.connect(new SSEClientTransport(new URL(backend.url)));
    try {
      expect((await client.listTools()).tools).toHaveLength(STATIC_TOOLS);
      expect(textOf(await client.callTool({ name: 'echo', arguments: { text: 'over sse' } }))).toBe('over sse');
      expect(textOf(await client.callTool({ name: 'ask', arguments: { question: 'q' } }))).toBe('declined');
    } finally {
      await client.close();
    }
  });
});

describe('client helpers', () => {
  test('spawnBackend: stdio mode -> rejects and points at BACKEND_PATH', async () => {
    await expect(spawnBackend({ name: 'x' })).rejects.toThrow('spawnBackend needs http or sse');
  });

  test('spawnBackend: stop() kills the child by pid and waits for its exit', async () => {
    const backend = await spawnBackend({ http: true });
    await backend.stop();
    expect(await backend.exited).not.toBe(0);
    expect(() => process.kill(backend.pid, 0)).toThrow();
    await backend.stop();
  });

  test('waitFor: predicate never true -> rejects after the timeout, naming what it waited for', async () => {
    await expect(waitFor(() => false, { timeoutMs: 50, what: 'the impossible' })).rejects.toThrow('the impossible not met within 50 ms');
  });
});
