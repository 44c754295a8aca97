/**
 * @module The backend client on the happy path, against the real SDK test backend over stdio and
 * Streamable HTTP: catalog with pagination, progress relay, cancellation, server-to-client requests,
 * list_changed refresh, notifications (issue 7 item 7: the gateway's own JSON-RPC client).
 */
import { describe, expect, test } from 'bun:test';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BackendOptions } from '../../src/backends/backend.ts';
import { RpcError } from '../../src/backends/rpc.ts';
import { startBackend, textOf } from '../helpers/backend-world.ts';
import { BACKEND_PATH, readEvents, spawnBackend, waitFor, type BackendEvent } from '../helpers/clients.ts';

const STATIC_TOOLS = 17;

type Kind = 'stdio' | 'streamable-http' | 'sse';

async function target(kind: Kind, events: string): Promise<{ opts: Partial<BackendOptions> & Pick<BackendOptions, 'transport'>; stop(): Promise<void> }> {
  if (kind === 'stdio') return { opts: { transport: 'stdio', command: process.execPath, args: [BACKEND_PATH, '--events', events] }, stop: async () => {} };
  const spawned = await spawnBackend({ http: kind === 'streamable-http', sse: kind === 'sse', events });
  return { opts: { transport: kind, url: spawned.url }, stop: spawned.stop };
}

for (const kind of ['stdio', 'streamable-http', 'sse'] as const) {
  describe(`backend over ${kind}`, () => {
    test('initialize, paginated catalog, a call, progress relay, list_changed refresh (spec-checklist §3.3, §3.1)', async () => {
      const events = join(tmpdir(), `mcpgw-be-${crypto.randomUUID()}.jsonl`);
      const t = await target(kind, events);
      try {
        await using w = await startBackend(t.opts);
        const b = w.backend;
        expect(b.state).toBe('up');
        expect(b.catalog.tools).toHaveLength(STATIC_TOOLS);
        expect(b.catalog.prompts.length).toBeGreaterThan(0);
        expect(b.catalog.resources.length).toBeGreaterThan(0);
        expect(b.catalog.templates.length).toBeGreaterThan(0);
        expect(b.status().protocolVersion).toBe('2025-11-25');
        expect(b.serverName).toBeTruthy();

        expect(textOf(await b.request('tools/call', { name: 'echo', arguments: { text: 'hi' } }))).toBe('hi');

        const progress: number[] = [];
        const done = await b.request('tools/call', { name: 'slow', arguments: { ms: 100, steps: 4 }, _meta: { progressToken: 'client-token' } }, {
          onprogress: (p) => {
            expect(p).not.toHaveProperty('progressToken');
            progress.push(p.progress);
          },
        });
        expect(textOf(done)).toBe('done');
        await waitFor(() => progress.length === 4, { timeoutMs: 2_000, what: 'four progress notifications' });
        expect(progress).toEqual([1, 2, 3, 4]);

        const err = await b.request('tools/call', { name: 'echo', arguments: { text: 5 } }).catch((e) => e);
        const unknown = await b.request('nope/nothing', {}).catch((e) => e);
        expect(unknown).toBeInstanceOf(RpcError);
        expect(unknown.code).toBe(-32601);
        expect(err).toBeDefined();

        const before = w.changed.length;
        await b.request('tools/call', { name: 'add_tool', arguments: { name: 'fresh' } });
        await waitFor(() => b.catalog.tools.some((tool) => tool.name === 'fresh'), { timeoutMs: 3_000, what: 'catalog refresh on list_changed' });
        expect(w.changed.length).toBeGreaterThan(before);
      } finally {
        await t.stop();
        rmSync(events, { force: true });
      }
    });

    test('cancellation: an aborted call rejects at once and the backend receives notifications/cancelled', async () => {
      const events = join(tmpdir(), `mcpgw-be-${crypto.randomUUID()}.jsonl`);
      const t = await target(kind, events);
      try {
        await using w = await startBackend(t.opts);
        const ac = new AbortController();
        const call = w.backend.request('tools/call', { name: 'slow', arguments: { ms: 3_000, steps: 3 } }, { signal: ac.signal });
        await waitFor(async () => (await readEvents(events)).some((e) => e.event === 'call' && e.tool === 'slow'), { timeoutMs: 3_000, what: 'slow call started' });
        const t0 = performance.now();
        ac.abort(new Error('client went away'));
        await expect(call).rejects.toThrow('client went away');
        expect(performance.now() - t0).toBeLessThan(200);
        await waitFor(async () => (await readEvents(events)).some((e) => e.event === 'cancelled'), { timeoutMs: 3_000, what: 'backend saw cancellation' });
        expect(textOf(await w.backend.request('tools/call', { name: 'echo', arguments: { text: 'after' } }))).toBe('after');
      } finally {
        await t.stop();
        rmSync(events, { force: true });
      }
    });

    test('server-to-client requests (elicitation, roots) are relayed through hooks.serverRequest', async () => {
      const events = join(tmpdir(), `mcpgw-be-${crypto.randomUUID()}.jsonl`);
      const t = await target(kind, events);
      try {
        await using w = await startBackend(t.opts, async (_name, method) =>
          method === 'elicitation/create' ? { action: 'accept', content: { answer: 'forty-two' } } : { roots: [{ uri: 'file:///work', name: 'work' }] },
        );
        const asked = await w.backend.request('tools/call', { name: 'ask', arguments: { question: 'meaning?' } });
        expect(textOf(asked)).toBe('answer: forty-two');
        const roots = await w.backend.request('tools/call', { name: 'roots', arguments: {} });
        expect(textOf(roots)).toContain('file:///work');
        expect(w.serverRequests.map((r) => r.method)).toEqual(['elicitation/create', 'roots/list']);
      } finally {
        await t.stop();
        rmSync(events, { force: true });
      }
    });
  });
}

test('log notifications from a call reach hooks.notification', async () => {
  await using w = await startBackend({ transport: 'stdio', command: process.execPath, args: [BACKEND_PATH] });
  await w.backend.request('logging/setLevel', { level: 'debug' });
  await w.backend.request('tools/call', { name: 'log', arguments: { level: 'info', message: 'hello log' } });
  await waitFor(() => w.notifications.some((n) => n.method === 'notifications/message'), { timeoutMs: 2_000, what: 'log notification' });
});

test('streamable-http: keep-alive connections, MCP headers on every POST, SSE progress relayed as it streams (spec-checklist §2.1, §2.4, §2.5)', async () => {
  const events = join(tmpdir(), `mcpgw-be-${crypto.randomUUID()}.jsonl`);
  await using spawned = await spawnBackend({ http: true, events });
  try {
    await using w = await startBackend({ transport: 'streamable-http', url: spawned.url, headers: { 'X-Api-Key': 'k1' } });
    const t0 = performance.now();
    let firstProgress = 0;
    await w.backend.request('tools/call', { name: 'slow', arguments: { ms: 600, steps: 3 } }, { onprogress: () => void (firstProgress ||= performance.now() - t0) });
    const total = performance.now() - t0;
    expect(firstProgress).toBeGreaterThan(0);
    expect(total - firstProgress).toBeGreaterThan(250);
    for (let i = 0; i < 10; i++) await w.backend.request('tools/call', { name: 'echo', arguments: { text: String(i) } });

    const posts = (await readEvents(events)).filter((e) => e.event === 'http' && e.method === 'POST') as Extract<BackendEvent, { event: 'http' }>[];
    const [init, ...rest] = posts;
    expect(init.headers.accept).toBe('application/json, text/event-stream');
    expect(init.headers['mcp-session-id']).toBeUndefined();
    expect(init.headers['x-api-key']).toBe('k1');
    for (const p of rest) {
      expect(p.headers['mcp-session-id']).toBeTruthy();
      expect(p.headers['mcp-protocol-version']).toBe('2025-11-25');
      expect(p.headers['x-api-key']).toBe('k1');
    }
    // Sequential calls on a keep-alive client reuse a connection (a GET stream holds another).
    const ports = new Set(rest.slice(-10).map((p) => p.remotePort));
    expect(ports.size).toBeLessThanOrEqual(2);
  } finally {
    rmSync(events, { force: true });
  }
});
