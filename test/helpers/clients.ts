/**
 * @module Test clients (SDK v2 and legacy v1) and the lifecycle of `backend.ts` child processes.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import {
  Client,
  StreamableHTTPClientTransport,
  type ClientCapabilities,
  type CreateMessageRequestParams,
  type CreateMessageResult,
  type ElicitRequestParams,
  type ElicitResult,
  type McpSubscription,
  type Transport,
} from '@modelcontextprotocol/client';
import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as StreamableHTTPClientTransportV1 } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CreateMessageRequestSchema, ElicitRequestSchema, ListRootsRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import type { BackendEvent } from './backend.ts';

export type { BackendEvent } from './backend.ts';

/** Absolute path of the backend script, for stdio configs: `{ command: process.execPath, args: [BACKEND_PATH, ...] }`. */
export const BACKEND_PATH = fileURLToPath(new URL('./backend.ts', import.meta.url));

/** A notification as it arrived on the wire. */
export type ReceivedNotification = { method: string; params?: Record<string, unknown> };

/** Options shared by {@link connectV2} and {@link connectV1}. */
export interface ConnectOptions {
  /** Extra HTTP headers on every request (e.g. `Authorization`). */
  headers?: Record<string, string>;
  /** Capabilities declared in addition to those implied by the handlers below. */
  capabilities?: ClientCapabilities;
  /** Answers elicitation/create; declares the `elicitation.form` capability. */
  onElicit?: (params: ElicitRequestParams) => ElicitResult | Promise<ElicitResult>;
  /** Answers sampling/createMessage; declares the `sampling` capability. */
  onSample?: (params: CreateMessageRequestParams) => CreateMessageResult | Promise<CreateMessageResult>;
  /** Answers roots/list; declares the `roots` capability. */
  roots?: { uri: string; name?: string }[];
  /** `'legacy'` (default) pins the 2025-11-25 `initialize` handshake; `'auto'` probes `server/discover` and speaks 2026-07-28 when offered (v2 only). */
  mode?: 'legacy' | 'auto';
}

/** A connected client plus every notification it has received, in arrival order. */
export interface Connection<C> extends AsyncDisposable {
  client: C;
  notifications: ReceivedNotification[];
  close(): Promise<void>;
}

function declaredCapabilities(opts: ConnectOptions): ClientCapabilities {
  const declared = opts.capabilities ?? {};
  return {
    ...declared,
    ...(opts.onElicit && { elicitation: { form: {}, ...declared.elicitation } }),
    ...(opts.onSample && { sampling: { ...declared.sampling } }),
    ...(opts.roots && { roots: { listChanged: true, ...declared.roots } }),
  };
}

/**
 * Records every notification arriving on a connected transport, before the client dispatches it.
 * Call it after `connect()` (which installs `onmessage`). Recording at the transport sees progress
 * too, which the SDK consumes without reaching any notification handler, and sees the last progress
 * notification that the v2 `onprogress` callback can miss when the result arrives in the same chunk.
 */
export function recordNotifications(transport: { onmessage?: (message: never, extra?: never) => void }): ReceivedNotification[] {
  const received: ReceivedNotification[] = [];
  const dispatch = transport.onmessage;
  transport.onmessage = ((message: { method?: unknown; id?: unknown; params?: Record<string, unknown> }, extra?: never) => {
    if (typeof message.method === 'string' && message.id === undefined) received.push({ method: message.method, params: message.params });
    dispatch?.(message as never, extra);
  }) as never;
  return received;
}

function connection<C>(client: C, notifications: ReceivedNotification[], close: () => Promise<void>): Connection<C> {
  return { client, notifications, close, [Symbol.asyncDispose]: close };
}

/**
 * Connects an SDK v2 `Client` over Streamable HTTP. On a 2026-07-28 connection (`mode: 'auto'`)
 * change notifications only flow on a `subscriptions/listen` stream, so one is opened for the
 * list_changed kinds the server advertises (resources/updated needs its own `client.listen`).
 */
export async function connectV2(url: string, opts: ConnectOptions = {}): Promise<Connection<Client>> {
  const client = new Client(
    { name: 'test-client-v2', version: '1.0.0' },
    { capabilities: declaredCapabilities(opts), versionNegotiation: { mode: opts.mode ?? 'legacy' } },
  );
  const { onElicit, onSample, roots } = opts;
  if (onElicit) client.setRequestHandler('elicitation/create', request => onElicit(request.params));
  if (onSample) client.setRequestHandler('sampling/createMessage', request => onSample(request.params));
  if (roots) client.setRequestHandler('roots/list', () => ({ roots }));
  const transport: Transport = new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: opts.headers } });
  await client.connect(transport);
  const notifications = recordNotifications(transport);
  let subscription: McpSubscription | undefined;
  const advertised = client.getServerCapabilities();
  const filter = {
    toolsListChanged: advertised?.tools?.listChanged === true,
    promptsListChanged: advertised?.prompts?.listChanged === true,
    resourcesListChanged: advertised?.resources?.listChanged === true,
  };
  if (client.getProtocolEra() === 'modern' && Object.values(filter).some(Boolean)) subscription = await client.listen(filter);
  return connection(client, notifications, async () => {
    await subscription?.close();
    await client.close();
  });
}

/** Connects a legacy SDK v1 `Client` (2025-11-25 handshake) over Streamable HTTP. */
export async function connectV1(url: string, opts: Omit<ConnectOptions, 'mode'> = {}): Promise<Connection<ClientV1>> {
  const client = new ClientV1({ name: 'test-client-v1', version: '1.0.0' }, { capabilities: declaredCapabilities(opts) as never });
  const { onElicit, onSample, roots } = opts;
  if (onElicit) client.setRequestHandler(ElicitRequestSchema, request => onElicit(request.params as ElicitRequestParams) as never);
  if (onSample) client.setRequestHandler(CreateMessageRequestSchema, request => onSample(request.params as CreateMessageRequestParams) as never);
  if (roots) client.setRequestHandler(ListRootsRequestSchema, () => ({ roots }));
  const transport = new StreamableHTTPClientTransportV1(new URL(url), { requestInit: { headers: opts.headers } });
  await client.connect(transport);
  const notifications = recordNotifications(transport);
  return connection(client, notifications, () => client.close());
}

/** A running `backend.ts` child process. */
export interface SpawnedBackend extends AsyncDisposable {
  /** `http://127.0.0.1:PORT/mcp` (`--http`) or `.../sse` (`--sse`). */
  url: string;
  pid: number;
  /** Resolves with the exit code once the child has exited (e.g. after the `crash` tool). */
  exited: Promise<number>;
  /** Kills the child by PID (SIGTERM, then SIGKILL after 2 s) and waits for it to exit. */
  stop(): Promise<void>;
}

/** Options for {@link spawnBackend}. */
export interface SpawnBackendOptions {
  http?: boolean;
  sse?: boolean;
  name?: string;
  events?: string;
  /** Bound on the wait for the `listening` line; default 10 s. */
  timeoutMs?: number;
}

/** The argument vector for `backend.ts` (after the script path). */
export function backendArgs(opts: Omit<SpawnBackendOptions, 'timeoutMs'>): string[] {
  return [
    ...(opts.http ? ['--http'] : []),
    ...(opts.sse ? ['--sse'] : []),
    ...(opts.name ? ['--name', opts.name] : []),
    ...(opts.events ? ['--events', opts.events] : []),
  ];
}

async function collect(stream: ReadableStream<Uint8Array>, sink: { text: string }): Promise<void> {
  const decoder = new TextDecoder();
  for await (const chunk of stream) sink.text = (sink.text + decoder.decode(chunk, { stream: true })).slice(-16_384);
}

async function readListeningUrl(stdout: ReadableStream<Uint8Array>, exited: Promise<number>, timeoutMs: number): Promise<string> {
  const reader = stdout.getReader();
  const decoder = new TextDecoder();
  let buffered = '';
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no listening line within ${timeoutMs} ms`)), timeoutMs);
  });
  const exit = exited.then(code => Promise.reject(new Error(`backend exited with code ${code} before listening`)));
  try {
    while (true) {
      const match = /^listening (\S+)$/m.exec(buffered);
      if (match) return match[1];
      const { value, done } = await Promise.race([reader.read(), timeout, exit]);
      if (done) throw new Error('backend closed stdout before listening');
      buffered += decoder.decode(value, { stream: true });
    }
  } finally {
    clearTimeout(timer);
    reader.releaseLock();
  }
}

/**
 * Starts `backend.ts` as a `bun` child in HTTP (`http`) or HTTP+SSE (`sse`) mode and waits for its
 * `listening` line. Stdio backends are spawned by their client instead: see {@link BACKEND_PATH}
 * and {@link backendArgs}.
 */
export async function spawnBackend(opts: SpawnBackendOptions): Promise<SpawnedBackend> {
  if (!opts.http && !opts.sse) throw new Error('spawnBackend needs http or sse; a stdio backend is spawned by its client (BACKEND_PATH, backendArgs)');
  const child = Bun.spawn([process.execPath, BACKEND_PATH, ...backendArgs(opts)], { stdin: 'ignore', stdout: 'pipe', stderr: 'pipe' });
  const stderr = { text: '' };
  void collect(child.stderr, stderr);
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 2_000);
    await child.exited;
    clearTimeout(killer);
  };
  let url: string;
  try {
    url = await readListeningUrl(child.stdout, child.exited, opts.timeoutMs ?? 10_000);
  } catch (error) {
    await stop();
    throw new Error(`spawnBackend: ${(error as Error).message}; stderr:\n${stderr.text}`);
  }
  void collect(child.stdout, { text: '' });
  return { url, pid: child.pid, exited: child.exited, stop, [Symbol.asyncDispose]: stop };
}

/** Parses the backend's `--events` file; a missing file reads as no events. */
export async function readEvents(file: string): Promise<BackendEvent[]> {
  let content: string;
  try {
    content = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  return content
    .split('\n')
    .filter(line => line.trim() !== '')
    .map(line => JSON.parse(line) as BackendEvent);
}

/** Polls `predicate` until it returns a truthy value (which it resolves to), or rejects after `timeoutMs` (default 5 s). */
export async function waitFor<T>(
  predicate: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  { timeoutMs = 5_000, intervalMs = 20, what = 'condition' }: { timeoutMs?: number; intervalMs?: number; what?: string } = {},
): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  while (true) {
    const value = await predicate();
    if (value) return value;
    if (performance.now() >= deadline) throw new Error(`waitFor: ${what} not met within ${timeoutMs} ms`);
    await Bun.sleep(intervalMs);
  }
}
