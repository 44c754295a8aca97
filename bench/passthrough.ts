/**
 * @module The benchmark's floor: a do-nothing HTTP pass-through written with Bun.
 *
 * Run: `bun bench/passthrough.ts <upstream-url>`; prints one stdout line `listening <url>` once ready.
 * Every request to `/mcp` is forwarded to the upstream with its body and the MCP headers (Mcp-Session-Id,
 * MCP-Protocol-Version, Accept, Content-Type, Authorization, Last-Event-ID); the answer's status, those headers
 * and its body stream back. Nothing else: no parsing, no auth, no sessions.
 */
import { serveMcp } from './serve-mcp.ts';

const upstream = process.argv[2];
if (!upstream) {
  console.error('usage: bun bench/passthrough.ts <upstream-url>');
  process.exit(2);
}

const FORWARD = ['mcp-session-id', 'mcp-protocol-version', 'accept', 'content-type', 'authorization', 'last-event-id'];
const BACK = ['mcp-session-id', 'content-type', 'cache-control'];

const pick = (from: Headers, names: string[]): Headers => {
  const out = new Headers();
  for (const name of names) {
    const value = from.get(name);
    if (value !== null) out.set(name, value);
  }
  return out;
};

serveMcp(async (request) => {
  const answer = await fetch(upstream, {
    method: request.method,
    headers: pick(request.headers, FORWARD),
    body: request.method === 'GET' || request.method === 'HEAD' ? undefined : request.body,
    signal: request.signal,
  });
  return new Response(answer.body, { status: answer.status, headers: pick(answer.headers, BACK) });
});
