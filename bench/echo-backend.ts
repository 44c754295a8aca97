/**
 * @module The benchmark's backend: a minimal SDK v2 `McpServer` with an `echo` tool.
 *
 * Run: `bun bench/echo-backend.ts [--http] [--tools N]`
 * - default: stdio via `serveStdio`.
 * - `--http`: Streamable HTTP on 127.0.0.1:0 at `/mcp`; prints one stdout line `listening <url>` once ready.
 *   2025-era traffic (initialize + Mcp-Session-Id) goes to sessionful `WebStandardStreamableHTTPServerTransport`s;
 *   2026-07-28 traffic goes to `createMcpHandler`.
 * - `--tools N`: also registers N dummy tools `tool_0000`..`tool_N-1` (for `tools/list` at scale).
 *
 * Tools:
 * - `echo {text}` returns `text`.
 * - `flood {count, bytes, ms}` sends up to `count` `notifications/message` (each with `bytes` of data) as fast as
 *   it can, for at most `ms` milliseconds, not tied to the request (they go wherever the session's unsolicited
 *   notifications go), then returns how many it sent.
 */
import { parseArgs } from 'node:util';
import { McpServer, WebStandardStreamableHTTPServerTransport, createMcpHandler, isLegacyRequest, type CallToolResult } from '@modelcontextprotocol/server';
import { serveStdio } from '@modelcontextprotocol/server/stdio';
import * as z from 'zod';
import { serveMcp } from './serve-mcp.ts';

const MAX_FLOOD = 1_000_000;
const MAX_FLOOD_MS = 30_000;
const MAX_TOOLS = 10_000;

const text = (value: string): CallToolResult => ({ content: [{ type: 'text', text: value }] });

function build(extraTools: number): McpServer {
  const mcp = new McpServer({ name: 'bench-echo', version: '1.0.0' }, { capabilities: { logging: {} } });
  mcp.registerTool('echo', { description: 'Returns its input', inputSchema: z.object({ text: z.string() }) }, async ({ text: t }) => text(t));
  mcp.registerTool(
    'flood',
    {
      description: 'Sends many notifications/message quickly',
      inputSchema: z.object({ count: z.number().int().min(0).max(MAX_FLOOD), bytes: z.number().int().min(0).max(65_536).default(512), ms: z.number().int().min(0).max(MAX_FLOOD_MS).default(5_000) }),
    },
    async ({ count, bytes, ms }) => {
      const data = 'x'.repeat(bytes);
      const deadline = performance.now() + ms;
      let sent = 0;
      while (sent < count && performance.now() < deadline) {
        // Raw notifications: no setLevel filtering, no relation to this request.
        const batch: Promise<void>[] = [];
        for (let i = 0; i < 200 && sent < count; i++, sent++) {
          batch.push(mcp.server.notification({ method: 'notifications/message', params: { level: 'info', logger: 'flood', data: `${sent} ${data}` } }).catch(() => {}));
        }
        await Promise.all(batch);
        await new Promise((r) => setImmediate(r));
      }
      return text(`sent ${sent}`);
    },
  );
  for (let i = 0; i < extraTools; i++) {
    const name = `tool_${String(i).padStart(4, '0')}`;
    mcp.registerTool(name, { description: `Dummy tool number ${i} for tools/list at scale`, inputSchema: z.object({ a: z.string().optional(), b: z.number().optional() }) }, async () => text(name));
  }
  return mcp;
}

function serveHttp(extraTools: number): void {
  const sessions = new Map<string, WebStandardStreamableHTTPServerTransport>();
  const legacy = async (request: Request): Promise<Response> => {
    const sessionId = request.headers.get('mcp-session-id');
    if (sessionId) {
      const transport = sessions.get(sessionId);
      if (transport) return transport.handleRequest(request);
      return Response.json({ jsonrpc: '2.0', error: { code: -32001, message: 'Session not found' }, id: null }, { status: 404 });
    }
    const transport: WebStandardStreamableHTTPServerTransport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: () => crypto.randomUUID(),
      onsessioninitialized: (id) => void sessions.set(id, transport),
      onsessionclosed: (id) => void sessions.delete(id),
    });
    const mcp = build(extraTools);
    await mcp.connect(transport);
    const response = await transport.handleRequest(request);
    if (!transport.sessionId) await mcp.close();
    return response;
  };
  const modern = createMcpHandler(() => build(extraTools), { legacy: 'reject' });
  serveMcp(async (request) => ((await isLegacyRequest(request)) ? legacy(request) : modern.fetch(request)));
}

function main(): void {
  const { values } = parseArgs({ args: process.argv.slice(2), options: { http: { type: 'boolean' }, tools: { type: 'string' } } });
  const extraTools = Math.max(0, Math.min(MAX_TOOLS, Number(values.tools ?? 0) || 0));
  if (values.http) serveHttp(extraTools);
  else serveStdio(() => build(extraTools));
}

if (import.meta.main) main();
