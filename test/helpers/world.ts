/**
 * @module The MCP core in-process: createGateway on a parsed config, an injected database (':memory:'
 * or a file), real backends on loopback, and no socket. `rpc()` speaks raw JSON-RPC to gateway.fetch.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { parseConfigText } from '../../src/config/load.ts';
import { systemDeps, type Deps } from '../../src/deps.ts';
import { createGateway, type Gateway } from '../../src/gateway.ts';
import type { Logger } from '../../src/log.ts';
import { openStore, type Database } from '../../src/store/db.ts';

type Json = Record<string, unknown>;

/** Fake port the in-process gateway believes it is bound to; requests name it in Host. */
export const PORT = 40999;
export const BASE = `http://127.0.0.1:${PORT}`;

export interface World extends AsyncDisposable {
  gw: Gateway;
  db: Database;
  dir: string;
  logs: Json[];
  /** POSTs one JSON-RPC message to /mcp. */
  post(message: Json | Json[], headers?: Record<string, string>): Promise<Response>;
  /** Sends a request and returns its JSON-RPC response (JSON or the last SSE event). */
  rpc(method: string, params?: Json, headers?: Record<string, string>): Promise<Json>;
  /** initialize + notifications/initialized; returns the session id. */
  open(capabilities?: Json, headers?: Record<string, string>): Promise<string>;
  /** Resolves once the named backend is up (bounded). */
  up(name: string, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

/** A logger that records every line (tests assert on them). */
export function recordingLogger(lines: Json[]): Logger {
  const make = (bound: Json): Logger => ({
    debug: (msg, f) => void lines.push({ level: 'debug', msg, ...bound, ...f }),
    info: (msg, f) => void lines.push({ level: 'info', msg, ...bound, ...f }),
    warn: (msg, f) => void lines.push({ level: 'warn', msg, ...bound, ...f }),
    error: (msg, f) => void lines.push({ level: 'error', msg, ...bound, ...f }),
    child: (f) => make({ ...bound, ...f }),
    setLevel: () => {},
  });
  return make({});
}

let seq = 0;

/** Starts the gateway in-process on a config object (auth none, loopback, test-friendly retry times). */
export async function startWorld(config: Json, opts: { db?: string; deps?: Partial<Deps> } = {}): Promise<World> {
  const dir = mkdtempSync(join(tmpdir(), 'mcpgw-world-'));
  const full = { listen: `127.0.0.1:${PORT}`, data_dir: join(dir, 'state'), auth: { mode: 'none' }, backend_defaults: { retry_initial: '100ms', retry_max: '500ms', connect_timeout: '20s' }, ...config };
  const parsed = parseConfigText(stringify(full), join(dir, 'gateway.yaml'), process.env);
  if (!parsed.ok) throw new Error(`bad test config: ${JSON.stringify(parsed.issues)}`);
  const logs: Json[] = [];
  const db = openStore(opts.db ?? ':memory:');
  const deps = systemDeps({ log: recordingLogger(logs), ...opts.deps });
  const gw = await createGateway(parsed.config, deps, { version: 'test', port: PORT, db });
  const post = (message: Json | Json[], headers: Record<string, string> = {}) =>
    gw.fetch(new Request(`${BASE}/mcp`, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers }, body: JSON.stringify(message) }));
  const close = async () => {
    await gw.close(0);
    db.close();
    rmSync(dir, { recursive: true, force: true });
  };
  return {
    gw,
    db,
    dir,
    logs,
    post,
    async rpc(method, params, headers) {
      const res = await post({ jsonrpc: '2.0', id: ++seq, method, ...(params ? { params } : {}) }, headers);
      return lastMessage(res);
    },
    async open(capabilities = {}, headers = {}) {
      const res = await post({ jsonrpc: '2.0', id: ++seq, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities, clientInfo: { name: 'world', version: '1' } } }, headers);
      const id = res.headers.get('mcp-session-id');
      if (!id) throw new Error(`no session id (status ${res.status}): ${await res.text()}`);
      await res.text();
      await post({ jsonrpc: '2.0', method: 'notifications/initialized' }, { 'mcp-session-id': id, ...headers });
      return id;
    },
    async up(name, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      while (gw.aggregator.pool.get(name)?.state !== 'up') {
        if (Date.now() > deadline) throw new Error(`backend ${name} not up within ${timeoutMs} ms: ${JSON.stringify(gw.aggregator.pool.get(name)?.status())}`);
        await Bun.sleep(20);
      }
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** The JSON-RPC message of a response: its JSON body, or the last `data:` event of an SSE body. */
export async function lastMessage(res: Response): Promise<Json> {
  const text = await res.text();
  if (!(res.headers.get('content-type') ?? '').includes('text/event-stream')) return JSON.parse(text) as Json;
  const events = sseMessages(text);
  if (events.length === 0) throw new Error(`no SSE message in: ${text.slice(0, 200)}`);
  return events[events.length - 1];
}

/** Every JSON-RPC message in an SSE text. */
export function sseMessages(text: string): Json[] {
  return text
    .split('\n\n')
    .map((block) => block.split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trimStart()).join('\n'))
    .filter(Boolean)
    .map((d) => JSON.parse(d) as Json);
}
