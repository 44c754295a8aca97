/**
 * @module The benchmark's stdio floor: a bare Streamable HTTP -> stdio relay written with Bun.
 *
 * Run: `bun bench/stdio-relay.ts <command> [args...]`; prints one stdout line `listening <url>` once ready.
 * Starts the command as a child and relays every POSTed JSON-RPC message to its stdin, one line each, with the
 * request id remapped; the child's answer goes back as a JSON response with the client's id. Notifications get
 * 202. `initialize` is relayed like any request (so the child serves the era the client opens with) and its
 * answer carries a fixed Mcp-Session-Id. Nothing else: no auth, no sessions, no catalog, no limits, no
 * bookkeeping, and whatever the child sends that is not an answer is dropped. It is what any Bun gateway in
 * front of a stdio backend costs at least, as bench/passthrough.ts is for HTTP backends.
 */
import { serveMcp } from './serve-mcp.ts';

const argv = process.argv.slice(2);
if (argv.length === 0) {
  console.error('usage: bun bench/stdio-relay.ts <command> [args...]');
  process.exit(2);
}

const child = Bun.spawn(argv, { stdin: 'pipe', stdout: 'pipe', stderr: 'inherit' });
const waiting = new Map<number, (answer: { result?: unknown; error?: unknown }) => void>();
let nextId = 1;

async function readAnswers(): Promise<void> {
  const decoder = new TextDecoder();
  let buffered = '';
  for await (const chunk of child.stdout) {
    buffered += decoder.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      if (!line.trim()) continue;
      const msg = JSON.parse(line) as { id?: number; method?: string; result?: unknown; error?: unknown };
      if (msg.method !== undefined || typeof msg.id !== 'number') continue;
      const settle = waiting.get(msg.id);
      if (settle) {
        waiting.delete(msg.id);
        settle(msg);
      }
    }
  }
}
void readAnswers();
// A backend that exits fails what waits on it and everything after: the bench sees errors, never a hang.
let exited = false;
void child.exited.then((code) => {
  exited = true;
  for (const settle of waiting.values()) settle({ error: { code: -32603, message: `backend exited (${code})` } });
  waiting.clear();
});

const send = (msg: unknown) => {
  child.stdin.write(`${JSON.stringify(msg)}\n`);
  child.stdin.flush();
};

serveMcp(async (request) => {
  if (request.method !== 'POST') return new Response(null, { status: 405, headers: { allow: 'POST' } });
  const msg = (await request.json()) as { id?: string | number; method?: string };
  if (msg.id === undefined || msg.method === undefined) {
    send(msg);
    return new Response(null, { status: 202 });
  }
  const clientId = msg.id;
  if (exited) return Response.json({ jsonrpc: '2.0', id: clientId, error: { code: -32603, message: 'backend exited' } }, { status: 502 });
  const id = nextId++;
  const answer = await new Promise<{ result?: unknown; error?: unknown }>((resolve) => {
    waiting.set(id, resolve);
    send({ ...msg, id });
  });
  const body = JSON.stringify({ jsonrpc: '2.0', id: clientId, ...(answer.error !== undefined ? { error: answer.error } : { result: answer.result }) });
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (msg.method === 'initialize') headers['mcp-session-id'] = 'stdio-relay';
  return new Response(body, { headers });
});
process.on('SIGTERM', () => {
  child.kill();
  process.exit(0);
});
