/**
 * @module A raw JSON-RPC MCP server that misbehaves on demand, for the backend fault tests (issue 7).
 *
 * Run as a child: `bun test/helpers/fault-backend.ts [--http] [--port N] [--big-bytes N]`.
 * - default: stdio, newline-delimited JSON.
 * - `--http`: Streamable HTTP on 127.0.0.1 (`--port`, default 0) at `/mcp` with node:http, so it can
 *   cut a response or reset the socket; prints one stdout line `listening <url>`.
 * Tools: `echo {text}`; `big` answers with a message of `--big-bytes` (default 12 MB), `"id"` last
 * as SDK servers serialize; `stderr {lines}` writes that many stderr lines; `cut` (HTTP) sends a
 * progress event and ends the SSE response without a result; `reset` (HTTP) destroys the socket
 * mid-response; `expire` (HTTP) forgets every session so the next request gets 404; `deaf` (stdio)
 * stops reading stdin; `hang` (HTTP) opens its SSE answer and never ends it. `stats` also reports
 * the open HTTP connections; `block {ms}` keeps the event loop busy (no pings answered).
 * Every request it receives is counted by method; `stats` returns the counts as JSON text.
 */
import { writeSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { parseArgs } from 'node:util';

type Msg = { jsonrpc: '2.0'; id?: string | number; method?: string; params?: Record<string, unknown>; result?: unknown };

const { values } = parseArgs({ options: { http: { type: 'boolean' }, port: { type: 'string' }, 'big-bytes': { type: 'string' } } });
const BIG = Number(values['big-bytes'] ?? 12 * 1024 * 1024);
const counts: Record<string, number> = {};
let liveConnections = 0;
const TOOLS = ['echo', 'big', 'stderr', 'cut', 'reset', 'expire', 'stats', 'deaf', 'hang', 'block'].map(name => ({ name, inputSchema: { type: 'object' } }));

const text = (t: string) => ({ content: [{ type: 'text', text: t }] });

/** The answer to one request, or undefined for a notification. `special` names a misbehaviour for the HTTP layer. */
function answer(msg: Msg): { result?: unknown; special?: string } | undefined {
  if (msg.method) counts[msg.method] = (counts[msg.method] ?? 0) + 1;
  if (msg.id === undefined) return undefined;
  switch (msg.method) {
    case 'initialize':
      return { result: { protocolVersion: '2025-11-25', capabilities: { tools: {} }, serverInfo: { name: 'fault', version: '1.0.0' } } };
    case 'ping':
      return { result: {} };
    case 'tools/list':
      return { result: { tools: TOOLS } };
    case 'tools/call': {
      const name = msg.params?.name as string;
      const args = (msg.params?.arguments ?? {}) as Record<string, unknown>;
      if (name === 'echo') return { result: text(String(args.text ?? '')) };
      if (name === 'big') return { result: text('x'.repeat(BIG)) };
      if (name === 'stderr') {
        for (let i = 0; i < Number(args.lines ?? 1); i++) process.stderr.write(`stderr line ${i}\n`);
        return { result: text('written') };
      }
      if (name === 'block') {
        const until = performance.now() + Number(args.ms ?? 1000);
        while (performance.now() < until) {
          // busy: the event loop answers nothing, pings included
        }
        return { result: text('unblocked') };
      }
      if (name === 'stats') return { result: text(JSON.stringify({ ...counts, connections: liveConnections })) };
      if (name === 'deaf') {
        process.stdin.pause();
        setInterval(() => {}, 1000);
        return { result: text('no longer reading stdin') };
      }
      return { special: name };
    }
    default:
      return { result: {} };
  }
}

// SDK servers serialize `{ result, jsonrpc, id }`: the id comes last.
const line = (id: Msg['id'], result: unknown) => JSON.stringify({ result, jsonrpc: '2.0', id });

function serveStdio(): void {
  let buffered = '';
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (chunk: string) => {
    buffered += chunk;
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const msg = JSON.parse(buffered.slice(0, nl)) as Msg;
      buffered = buffered.slice(nl + 1);
      const a = answer(msg);
      // Synchronous, so that a 12 MB line leaves at pipe speed and before a following exit.
      if (a) writeSync(1, `${line(msg.id, a.result ?? text(`unknown ${a.special}`))}\n`);
    }
  });
  process.stdin.on('end', () => process.exit(0));
}

function serveHttp(): void {
  const sessions = new Set<string>();
  let next = 0;
  const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    if (req.method === 'GET') return void res.writeHead(405).end();
    if (req.method === 'DELETE') return void res.writeHead(200).end();
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const msg = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Msg;
    const sid = req.headers['mcp-session-id'] as string | undefined;
    if (msg.method !== 'initialize' && (!sid || !sessions.has(sid))) return void res.writeHead(404).end('session not found');
    const a = answer(msg);
    if (!a) return void res.writeHead(202).end();
    if (msg.method === 'initialize') {
      const id = `s${++next}`;
      sessions.add(id);
      res.writeHead(200, { 'content-type': 'application/json', 'mcp-session-id': id });
      return void res.end(line(msg.id, a.result));
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    const progress = { jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: (msg.params?._meta as Record<string, unknown> | undefined)?.progressToken ?? 0, progress: 1 } };
    if (a.special === 'cut') return void res.end(`event: message\ndata: ${JSON.stringify(progress)}\n\n`);
    if (a.special === 'reset') {
      res.write(`event: message\ndata: ${JSON.stringify(progress)}\n\n`);
      return void setTimeout(() => req.socket.destroy(), 20);
    }
    if (a.special === 'hang') return void res.write(': working\n\n');
    if (a.special === 'expire') sessions.clear();
    res.end(`event: message\ndata: ${line(msg.id, a.result ?? text(`did ${a.special}`))}\n\n`);
  });
  server.on('connection', (socket) => {
    liveConnections++;
    socket.on('close', () => liveConnections--);
  });
  server.listen(Number(values.port ?? 0), '127.0.0.1', () => {
    const address = server.address() as { port: number };
    process.stdout.write(`listening http://127.0.0.1:${address.port}/mcp\n`);
  });
}

if (values.http) serveHttp();
else serveStdio();
