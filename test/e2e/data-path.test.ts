/**
 * The data path through the compiled binary (issue 7): what only a real process and real sockets show —
 * memory under non-reading clients, 413 before the body, sessions across a SIGKILL, the HTTP+SSE transport.
 */
import { describe, expect, test } from 'bun:test';
import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { connect as netConnect, type Socket } from 'node:net';
import { readFileSync } from 'node:fs';
import { BACKEND_PATH, connectV1 } from '../helpers/clients.ts';
import { freePort } from '../helpers/everything.ts';
import { baseConfig, startGatewayProcess } from '../helpers/gateway-process.ts';
import { childProcesses } from '../helpers/procs.ts';
import { passwordHash } from '../helpers/oauth-world.ts';
import { join } from 'node:path';
import { openStore } from '../../src/store/db.ts';
import { revokeGrant } from '../../src/store/grants.ts';
import { createPersonalToken } from '../../src/store/personal-tokens.ts';

type Json = Record<string, unknown>;
const alpha = { command: process.execPath, args: [BACKEND_PATH, '--name', 'alpha'] };
const MB = 1024 * 1024;

function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? 0) * 1024;
}

async function post(url: string, body: Json, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers }, body: JSON.stringify(body) });
}

async function openSession(mcpUrl: string): Promise<string> {
  const res = await post(mcpUrl, { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } });
  await res.text();
  return res.headers.get('mcp-session-id')!;
}

/** A GET stream on a raw socket that is never read (the kernel buffers fill, then the gateway's budget). */
function stuckStream(url: string, sessionId: string): Promise<Socket> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = netConnect({ host: u.hostname, port: Number(u.port) }, () => {
      socket.write(`GET /mcp HTTP/1.1\r\nHost: ${u.host}\r\nAccept: text/event-stream\r\nMcp-Session-Id: ${sessionId}\r\n\r\n`);
      socket.pause();
      resolve(socket);
    });
    socket.on('error', reject);
  });
}

describe('data path through the binary (issue 7)', () => {
  test('fault 2: three non-reading clients under a backend log flood: RSS stays bounded, notifications are dropped and counted', async () => {
    // A 2025 backend: its log messages fan out to every session at its level (a 2026 backend's logs belong to the
    // request that caused them and go only to that request's stream).
    await using gw = await startGatewayProcess((d) => baseConfig(d, { alpha: { ...alpha, protocol: 'legacy' } }, { http: { stream_buffer_bytes: 256 * 1024 } }));
    await gw.waitForLog((l) => l.msg === 'backend up');
    const sockets: Socket[] = [];
    try {
      for (let i = 0; i < 3; i++) {
        const sid = await openSession(gw.mcpUrl);
        await (await post(gw.mcpUrl, { jsonrpc: '2.0', id: 2, method: 'logging/setLevel', params: { level: 'debug' } }, { 'mcp-session-id': sid })).text();
        sockets.push(await stuckStream(gw.url, sid));
      }
      await Bun.sleep(200);
      const before = rssOf(gw.pid);
      // 20,000 messages of ~2 KB: 40 MB per client, 120 MB if it were all kept.
      const flood = await post(gw.mcpUrl, { jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'alpha_flood', arguments: { count: 20_000, size: 2000 } } });
      expect(await flood.text()).toContain('flooded 20000');
      const after = rssOf(gw.pid);
      const status = (await (await fetch(`${gw.url}/status`)).json()) as { streams: { dropped: number } };
      expect(status.streams.dropped).toBeGreaterThan(1000);
      expect(after - before).toBeLessThan(64 * MB);
    } finally {
      for (const s of sockets) s.destroy();
    }
  }, 60_000);

  test('fault 3: a revocation written by another process (the CLI) closes the grant\'s open GET stream within a second', async () => {
    const hash = await passwordHash();
    await using gw = await startGatewayProcess((d) => ({ ...baseConfig(d, {}), auth: { mode: 'oauth', password_hash: hash } }));
    const db = openStore(join(gw.dir, 'state', 'mcpgw.db'));
    try {
      const { token, grantId } = createPersonalToken(db, { name: 'e2e', backends: null, resource: gw.mcpUrl, now: Date.now(), random: (n) => crypto.getRandomValues(new Uint8Array(n)) });
      const auth = { authorization: `Bearer ${token}` };
      const init = await post(gw.mcpUrl, { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } }, auth);
      const sid = init.headers.get('mcp-session-id')!;
      await init.text();
      const stream = await fetch(gw.mcpUrl, { headers: { ...auth, accept: 'text/event-stream', 'mcp-session-id': sid } });
      expect(stream.status).toBe(200);
      const ended = stream.text().then(() => Date.now());
      const revokedAt = Date.now();
      revokeGrant(db, grantId, revokedAt, 'e2e');
      const at = await Promise.race([ended, Bun.sleep(3000).then(() => Infinity)]);
      expect(at - revokedAt).toBeLessThan(1000);
      // The session is gone too, and the token no longer opens a new one.
      expect((await fetch(gw.mcpUrl, { headers: { ...auth, accept: 'text/event-stream', 'mcp-session-id': sid } })).status).toBe(401);
    } finally {
      db.close();
    }
  }, 30_000);

  test('fault 3, 2026-07-28: a revocation by the CLI ends the grant\'s open subscriptions/listen stream within a second', async () => {
    const hash = await passwordHash();
    await using gw = await startGatewayProcess((d) => ({ ...baseConfig(d, {}), auth: { mode: 'oauth', password_hash: hash } }));
    const db = openStore(join(gw.dir, 'state', 'mcpgw.db'));
    try {
      const { token, grantId } = createPersonalToken(db, { name: 'e2e', backends: null, resource: gw.mcpUrl, now: Date.now(), random: (n) => crypto.getRandomValues(new Uint8Array(n)) });
      const meta = { 'io.modelcontextprotocol/protocolVersion': '2026-07-28', 'io.modelcontextprotocol/clientCapabilities': {} };
      const headers = { authorization: `Bearer ${token}`, 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'subscriptions/listen' };
      const stream = await post(gw.mcpUrl, { jsonrpc: '2.0', id: 9, method: 'subscriptions/listen', params: { notifications: { toolsListChanged: true }, _meta: meta } }, headers);
      expect(stream.headers.get('content-type')).toBe('text/event-stream');
      const reader = stream.body!.getReader();
      const first = new TextDecoder().decode((await reader.read()).value);
      expect(first).toContain('notifications/subscriptions/acknowledged');
      const ended = (async () => {
        while (!(await reader.read()).done);
        return Date.now();
      })();
      const revokedAt = Date.now();
      revokeGrant(db, grantId, revokedAt, 'e2e');
      const at = await Promise.race([ended, Bun.sleep(3000).then(() => Infinity)]);
      expect(at - revokedAt).toBeLessThan(1000);
    } finally {
      db.close();
    }
  }, 30_000);

  test('fault 10: a body over the limit with Content-Length gets 413 every time, never a reset', async () => {
    await using gw = await startGatewayProcess((d) => baseConfig(d, {}, { http: { max_body_bytes: 1 * MB } }));
    for (const size of [5 * MB, 12 * MB, 5 * MB, 2 * MB]) {
      const res = await fetch(gw.mcpUrl, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' }, body: new Uint8Array(size).fill(32) });
      expect(res.status).toBe(413);
      expect(((await res.json()) as { error: Json }).error.code).toBe(-32600);
    }
    expect((await fetch(`${gw.url}/health`)).status).toBe(200);
  }, 30_000);

  test('fault 12: after SIGKILL and restart, an SDK v1 client keeps its session and calls without re-initializing', async () => {
    const port = freePort();
    let config: Record<string, unknown> = {};
    const first = await startGatewayProcess((d) => (config = baseConfig(d, { alpha }, { listen: `127.0.0.1:${port}` })));
    await first.waitForLog((l) => l.msg === 'backend up');
    await using conn = await connectV1(first.mcpUrl);
    expect((await conn.client.listTools()).tools.map((t) => t.name)).toContain('alpha_echo');
    const children = childProcesses(first.pid).map((c) => c.pid);
    await first.stop('SIGKILL');
    for (const pid of children) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await using second = await startGatewayProcess(() => config);
    await second.waitForLog((l) => l.msg === 'backend up');
    const result = (await conn.client.callTool({ name: 'alpha_echo', arguments: { text: 'after restart' } })) as { content: { text: string }[] };
    expect(result.content[0].text).toContain('after restart');
    expect(second.logs.some((l) => l.msg === 'session resumed after restart')).toBe(true);
  }, 60_000);

  test('fault 13: an SSE-only client (SDK v1 SSEClientTransport) lists and calls tools through /sse [spec-checklist §2.11]', async () => {
    await using gw = await startGatewayProcess((d) => baseConfig(d, { alpha }));
    await gw.waitForLog((l) => l.msg === 'backend up');
    const client = new ClientV1({ name: 'sse-only', version: '1' });
    await client.connect(new SSEClientTransport(new URL(`${gw.url}/sse`)));
    try {
      expect((await client.listTools()).tools.map((t) => t.name)).toContain('alpha_echo');
      const result = (await client.callTool({ name: 'alpha_echo', arguments: { text: 'over sse' } })) as { content: { text: string }[] };
      expect(result.content[0].text).toContain('over sse');
    } finally {
      await client.close();
    }
  });

  test('fault 14: a GET /mcp stream sends its headers at once, not with the first keep-alive', async () => {
    await using gw = await startGatewayProcess((d) => baseConfig(d, {}));
    const sid = await openSession(gw.mcpUrl);
    const started = Date.now();
    const res = await fetch(gw.mcpUrl, { headers: { accept: 'text/event-stream', 'mcp-session-id': sid } });
    expect(res.status).toBe(200);
    expect(Date.now() - started).toBeLessThan(2000);
    await res.body?.cancel();
  });
});
