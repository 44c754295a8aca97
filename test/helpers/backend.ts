/**
 * @module A tiny but real MCP server (SDK v2 `McpServer`) used as a gateway backend in tests.
 *
 * Run as a child process: `bun test/helpers/backend.ts [--http | --sse] [--name NAME] [--events FILE] [--describe TOOL=TEXT]`.
 * - default: stdio via `serveStdio` (2025 `initialize` and 2026-07-28 openings).
 * - `--http`: Streamable HTTP on 127.0.0.1:0 at `/mcp`. 2025-era traffic goes to sessionful
 *   `WebStandardStreamableHTTPServerTransport`s (server->client requests, GET stream); 2026-07-28
 *   traffic goes to `createMcpHandler` (per-request instances, `subscriptions/listen`).
 * - `--sse`: the deprecated 2024-11-05 HTTP+SSE transport (GET /sse, POST /messages), by hand,
 *   because the v2 server package no longer ships one.
 * HTTP modes print exactly one stdout line, `listening <url>`, once ready.
 */
import { appendFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import {
  CLIENT_CAPABILITIES_META_KEY,
  McpServer,
  ProtocolError,
  ProtocolErrorCode,
  ResourceTemplate,
  WebStandardStreamableHTTPServerTransport,
  completable,
  createMcpHandler,
  inputRequired,
  inputResponse,
  isLegacyRequest,
  parseJSONRPCMessage,
  type CallToolResult,
  type ClientCapabilities,
  type InputRequiredResult,
  type JSONRPCMessage,
  type RegisteredTool,
  type ServerContext,
  type ServerNotifier,
  type StandardSchemaWithJSON,
  type Tool,
  type ToolAnnotations,
  type ToolCallback,
  type Transport,
} from '@modelcontextprotocol/server';
import { serveStdio } from '@modelcontextprotocol/server/stdio';
import * as z from 'zod';

/** Page size of the backend's `tools/list` (it returns `nextCursor` past it). */
export const TOOLS_PAGE_SIZE = 5;
/** A deterministic tool name exactly 100 characters long. */
export const LONG_TOOL_NAME = `very_long_${'x'.repeat(90)}`;

/** One line of the `--events` file. */
export type BackendEvent =
  | { event: 'call'; tool: string; era: 'legacy' | 'modern'; requestId: string | number; sessionId?: string; arguments: unknown; meta?: Record<string, unknown> }
  | { event: 'cancelled'; tool: string; requestId: string | number; reason: string }
  | { event: 'subscribe' | 'unsubscribe'; uri: string; sessionId?: string }
  | { event: 'http'; method: string; path: string; headers: Record<string, string>; remotePort?: number };

type Era = 'legacy' | 'modern';
type Options = { mode: 'stdio' | 'http' | 'sse'; name: string; record: (event: BackendEvent) => void; describe: [string, string][] };
/** A server instance with the registrations and 2025-era resource subscriptions it holds. */
type LiveInstance = { mcp: McpServer; era: Era; tools: Map<string, RegisteredTool>; subscriptions: Set<string> };

const LOG_LEVELS = ['debug', 'info', 'notice', 'warning', 'error', 'critical', 'alert', 'emergency'] as const;
const ITEM_IDS = ['item-1', 'item-2', 'item-10'];
const GREET_NAMES = ['alice', 'albert', 'bob'];
const JSON_SCHEMA_TARGET = 'draft-2020-12';

const text = (value: string): CallToolResult => ({ content: [{ type: 'text', text: value }] });
const failure = (value: string): CallToolResult => ({ content: [{ type: 'text', text: value }], isError: true });

/** State shared by every instance the process serves (tools added or removed at runtime, live sessions). */
class Hub {
  constructor(private readonly record: Options['record']) {}

  readonly added = new Set<string>();
  readonly removed = new Set<string>();
  /** Descriptions changed at runtime by set_description (a rug pull, for tool pinning tests). */
  readonly descriptions = new Map<string, string>();
  readonly live = new Set<LiveInstance>();
  modern?: ServerNotifier;

  addTool(name: string): void {
    this.added.add(name);
    this.removed.delete(name);
    // McpServer.registerTool sends notifications/tools/list_changed on a connected instance.
    for (const instance of this.live) if (!instance.tools.has(name)) registerDynamicTool(instance, name, this.record);
    this.modern?.toolsChanged();
  }

  /** Changes a tool's description on every instance (update() sends notifications/tools/list_changed). */
  describe(name: string, description: string): void {
    this.descriptions.set(name, description);
    for (const instance of this.live) instance.tools.get(name)?.update({ description });
    this.modern?.toolsChanged();
  }

  removeTool(name: string): void {
    this.added.delete(name);
    this.removed.add(name);
    for (const instance of this.live) {
      instance.tools.get(name)?.remove();
      instance.tools.delete(name);
    }
    this.modern?.toolsChanged();
  }

  /**
   * Sends notifications/resources/updated only to subscribers of `uri`: 2025-era sessions that sent
   * resources/subscribe (MCP 2025-11-25 server/resources §Subscriptions), and 2026-07-28 listen
   * streams whose filter names it (the serving entries filter those).
   */
  touch(uri: string): void {
    for (const instance of this.live) {
      const subscribed = instance.era === 'modern' || instance.subscriptions.has(uri);
      if (subscribed && instance.mcp.isConnected()) void instance.mcp.server.sendResourceUpdated({ uri }).catch(() => {});
    }
    this.modern?.resourceUpdated(uri);
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  return new Promise(resolve => {
    if (signal.aborted) return resolve(false);
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** The client's capabilities: the per-request envelope on 2026-07-28, the `initialize` ones on 2025-era sessions. */
function clientCapabilities(mcp: McpServer, ctx: ServerContext): ClientCapabilities | undefined {
  const envelope = ctx.mcpReq.envelope as Record<string, unknown> | undefined;
  return (envelope?.[CLIENT_CAPABILITIES_META_KEY] as ClientCapabilities | undefined) ?? mcp.server.getClientCapabilities();
}

function jsonSchema(schema: StandardSchemaWithJSON | undefined, io: 'input' | 'output'): Tool['inputSchema'] {
  if (!schema) return { type: 'object', properties: {} };
  return { type: 'object', ...schema['~standard'].jsonSchema[io]({ target: JSON_SCHEMA_TARGET }) } as Tool['inputSchema'];
}

function listedTool(name: string, tool: RegisteredTool): Tool {
  return {
    name,
    title: tool.title,
    description: tool.description,
    inputSchema: jsonSchema(tool.inputSchema, 'input'),
    ...(tool.outputSchema && { outputSchema: jsonSchema(tool.outputSchema, 'output') }),
    annotations: tool.annotations,
    _meta: tool._meta,
  };
}

/** Replaces McpServer's unpaginated tools/list with pages of TOOLS_PAGE_SIZE (MCP 2025-11-25 utilities/pagination). */
function paginateTools(mcp: McpServer, tools: Map<string, RegisteredTool>): void {
  mcp.server.removeRequestHandler('tools/list');
  mcp.server.setRequestHandler('tools/list', request => {
    const cursor = request.params?.cursor;
    const start = cursor === undefined ? 0 : Number(cursor);
    if (!Number.isInteger(start) || start < 0) throw new ProtocolError(ProtocolErrorCode.InvalidParams, `invalid cursor: ${cursor}`);
    const listed = [...tools].filter(([, tool]) => tool.enabled).map(([name, tool]) => listedTool(name, tool));
    const end = start + TOOLS_PAGE_SIZE;
    return { tools: listed.slice(start, end), ...(end < listed.length && { nextCursor: String(end) }) };
  });
}

type ToolResult = CallToolResult | InputRequiredResult;
type ToolConfig<I extends StandardSchemaWithJSON, O extends StandardSchemaWithJSON> = {
  title?: string;
  description?: string;
  inputSchema: I;
  outputSchema?: O;
  annotations?: ToolAnnotations;
  _meta?: Record<string, unknown>;
};
type DefineTool = <I extends StandardSchemaWithJSON, O extends StandardSchemaWithJSON = StandardSchemaWithJSON>(
  name: string,
  config: ToolConfig<I, O>,
  run: (args: StandardSchemaWithJSON.InferOutput<I>, ctx: ServerContext) => ToolResult | Promise<ToolResult>,
) => void;

/** Registers tools on `instance` so that every call (and every MRTR round) is first recorded as a `call` event. */
function recordingTools(instance: LiveInstance, record: Options['record']): DefineTool {
  return (name, config, run) => {
    const recorded = (args: never, ctx: ServerContext) => {
      const { id: requestId, _meta: meta } = ctx.mcpReq;
      record({ event: 'call', tool: name, era: instance.era, requestId, sessionId: ctx.sessionId, arguments: args, meta });
      return run(args, ctx);
    };
    instance.tools.set(name, instance.mcp.registerTool(name, config, recorded as ToolCallback<typeof config.inputSchema>));
  };
}

function registerDynamicTool(instance: LiveInstance, name: string, record: Options['record']): void {
  const description = 'Added at runtime by add_tool; echoes its text';
  recordingTools(instance, record)(name, { description, inputSchema: z.object({ text: z.string() }) }, ({ text: value }) => text(value));
}

/** Registers the static tool set; every call is recorded to the events file first. */
function registerTools(instance: LiveInstance, hub: Hub, opts: Options): void {
  const { mcp, tools } = instance;
  const register = recordingTools(instance, opts.record);
  const tool: DefineTool = (name, config, run) => {
    const description = hub.descriptions.get(name);
    if (!hub.removed.has(name)) register(name, description === undefined ? config : { ...config, description }, run);
  };

  tool('echo', {
    title: 'Echo',
    description: 'Returns its text unchanged',
    inputSchema: z.object({ text: z.string() }),
    annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
    _meta: { 'example.com/x': 1 },
  }, ({ text: value }) => ({ ...text(value), _meta: { 'example.com/x': 1 } }));

  tool('add', {
    title: 'Add',
    description: 'Adds two numbers',
    inputSchema: z.object({ a: z.number(), b: z.number() }),
    outputSchema: z.object({ sum: z.number() }),
    annotations: { readOnlyHint: true, idempotentHint: true },
  }, ({ a, b }) => ({ content: [{ type: 'text', text: String(a + b) }], structuredContent: { sum: a + b } }));

  tool('slow', {
    title: 'Slow',
    description: 'Reports progress `steps` times over `ms` milliseconds, then returns "done"; honours cancellation',
    inputSchema: z.object({ ms: z.number().int().min(0).default(1000), steps: z.number().int().min(1).default(5) }),
    annotations: { readOnlyHint: true },
  }, async ({ ms, steps }, ctx) => {
    const progressToken = ctx.mcpReq._meta?.progressToken;
    for (let step = 1; step <= steps; step++) {
      if (!(await sleep(ms / steps, ctx.mcpReq.signal))) {
        opts.record({ event: 'cancelled', tool: 'slow', requestId: ctx.mcpReq.id, reason: String(ctx.mcpReq.signal.reason) });
        return failure('cancelled');
      }
      if (progressToken !== undefined) {
        await ctx.mcpReq.notify({ method: 'notifications/progress', params: { progressToken, progress: step, total: steps, message: `step ${step}/${steps}` } });
      }
    }
    return text('done');
  });

  registerClientInputTools(tool, mcp);

  tool('add_tool', {
    description: 'Registers a new echo tool at runtime (sends notifications/tools/list_changed)',
    inputSchema: z.object({ name: z.string().min(1) }),
  }, ({ name }) => {
    if (tools.has(name)) return failure(`tool ${name} already exists`);
    hub.addTool(name);
    return text(`added ${name}`);
  });

  tool('remove_tool', {
    description: 'Removes a tool at runtime (sends notifications/tools/list_changed)',
    inputSchema: z.object({ name: z.string().min(1) }),
  }, ({ name }) => {
    if (!tools.has(name)) return failure(`tool ${name} does not exist`);
    hub.removeTool(name);
    return text(`removed ${name}`);
  });

  tool('set_description', {
    description: "Changes a tool's description at runtime (sends notifications/tools/list_changed)",
    inputSchema: z.object({ name: z.string().min(1), description: z.string() }),
  }, ({ name, description }) => {
    if (!tools.has(name)) return failure(`tool ${name} does not exist`);
    hub.describe(name, description);
    return text(`described ${name}`);
  });

  tool('log', {
    description: 'Sends a notifications/message log entry related to this call',
    inputSchema: z.object({ level: z.enum(LOG_LEVELS).default('info'), message: z.string() }),
  }, async ({ level, message }, ctx) => {
    await ctx.mcpReq.log(level, message, opts.name);
    return text(`logged ${level}`);
  });

  tool('flood', {
    description: 'Sends `count` notifications/message log entries of about `size` characters as fast as it can',
    inputSchema: z.object({ count: z.number().int().min(1).max(100_000), size: z.number().int().min(1).max(100_000).default(1000) }),
  }, async ({ count, size }, ctx) => {
    const filler = 'x'.repeat(size);
    for (let i = 0; i < count; i++) await ctx.mcpReq.log('debug', `${i} ${filler}`, opts.name);
    return text(`flooded ${count}`);
  });

  tool('touch', {
    description: 'Sends notifications/resources/updated for uri to subscribed sessions only',
    inputSchema: z.object({ uri: z.string() }),
  }, ({ uri }) => {
    hub.touch(uri);
    return text(`touched ${uri}`);
  });

  tool('crash', {
    description: 'Exits the process immediately, without replying',
    inputSchema: z.object({}),
    annotations: { destructiveHint: true },
  }, () => process.exit(1));

  tool('admin.tools.list', {
    description: 'A tool whose name contains dots',
    inputSchema: z.object({}),
    annotations: { readOnlyHint: true },
  }, () => text(`admin tools of ${opts.name}`));

  tool(LONG_TOOL_NAME, { description: 'A tool whose name is 100 characters long', inputSchema: z.object({}) }, () => text('long'));

  tool('search', {
    title: 'Search',
    description: 'A common name, so two backends collide on it',
    inputSchema: z.object({ query: z.string() }),
    annotations: { readOnlyHint: true, openWorldHint: false },
  }, ({ query }) => text(`${opts.name}: no results for ${query}`));

  for (const name of hub.added) if (!tools.has(name)) registerDynamicTool(instance, name, opts.record);
}

/**
 * Tools that need input from the client. They return `inputRequired(...)` (MCP 2026-07-28 MRTR);
 * on 2025-era sessions the SDK's legacy shim turns that into real elicitation/create,
 * sampling/createMessage and roots/list requests and re-enters the handler.
 */
function registerClientInputTools(tool: DefineTool, mcp: McpServer): void {
  const missing = (ctx: ServerContext, capability: 'elicitation' | 'sampling' | 'roots') =>
    clientCapabilities(mcp, ctx)?.[capability] ? undefined : `client does not support ${capability}`;

  tool('ask', {
    description: 'Asks the user a question (form elicitation with an {answer} field)',
    inputSchema: z.object({ question: z.string() }),
  }, ({ question }, ctx) => {
    const view = inputResponse(ctx.mcpReq.inputResponses, 'answer');
    if (view.kind === 'elicit') {
      if (view.action === 'accept') return text(`answer: ${String(view.content?.answer)}`);
      return text(view.action === 'decline' ? 'declined' : 'cancelled');
    }
    const problem = missing(ctx, 'elicitation');
    if (problem) return failure(problem);
    return inputRequired({ inputRequests: { answer: inputRequired.elicit({ message: question, requestedSchema: z.object({ answer: z.string() }) }) } });
  });

  tool('sample', {
    description: 'Asks the client to sample an LLM and returns the text',
    inputSchema: z.object({ prompt: z.string() }),
  }, ({ prompt }, ctx) => {
    const view = inputResponse(ctx.mcpReq.inputResponses, 'sample');
    if (view.kind === 'sampling') {
      const blocks = Array.isArray(view.result.content) ? view.result.content : [view.result.content];
      return text(blocks.map(block => (block.type === 'text' ? block.text : `[${block.type}]`)).join(''));
    }
    const problem = missing(ctx, 'sampling');
    if (problem) return failure(problem);
    return inputRequired({
      inputRequests: { sample: inputRequired.createMessage({ messages: [{ role: 'user', content: { type: 'text', text: prompt } }], maxTokens: 100 }) },
    });
  });

  // Two rounds of input (MRTR multi-round; on 2025 sessions the legacy shim sends two elicitations).
  tool('ask_twice', {
    description: 'Asks two questions one after the other and returns both answers',
    inputSchema: z.object({}),
  }, (_args, ctx) => {
    const state = ctx.mcpReq.requestState<string>();
    const answer = (key: string) => {
      const view = inputResponse(ctx.mcpReq.inputResponses, key);
      return view.kind === 'elicit' && view.action === 'accept' ? String(view.content?.answer) : undefined;
    };
    const problem = missing(ctx, 'elicitation');
    if (problem) return failure(problem);
    const question = (q: string) => inputRequired.elicit({ message: q, requestedSchema: z.object({ answer: z.string() }) });
    const first = answer('first');
    if (state === undefined || (state === 'round-1' && first === undefined)) return inputRequired({ inputRequests: { first: question('first?') }, requestState: 'round-1' });
    if (state === 'round-1') return inputRequired({ inputRequests: { second: question('second?') }, requestState: `round-2:${first}` });
    const second = answer('second');
    if (!state.startsWith('round-2:') || second === undefined) return failure(`unexpected state ${state}`);
    return text(`answers: ${state.slice('round-2:'.length)}, ${second}`);
  });

  tool('roots', { description: "Returns the client's roots as JSON", inputSchema: z.object({}) }, (_args, ctx) => {
    const view = inputResponse(ctx.mcpReq.inputResponses, 'roots');
    if (view.kind === 'roots') return text(JSON.stringify(view.roots));
    const problem = missing(ctx, 'roots');
    if (problem) return failure(problem);
    return inputRequired({ inputRequests: { roots: inputRequired.listRoots() } });
  });
}
function registerResources(instance: LiveInstance, era: Era, opts: Options): void {
  const { mcp } = instance;
  mcp.registerResource('hello', 'test://static/hello', { title: 'Hello', mimeType: 'text/plain' }, uri => ({
    contents: [{ uri: uri.href, mimeType: 'text/plain', text: `hello from ${opts.name}` }],
  }));
  mcp.registerResource('blob', 'test://static/blob', { mimeType: 'application/octet-stream' }, uri => ({
    contents: [{ uri: uri.href, mimeType: 'application/octet-stream', blob: Buffer.from([0, 1, 2, 3, 254, 255]).toString('base64') }],
  }));
  const items = new ResourceTemplate('test://items/{id}', {
    list: undefined,
    complete: { id: value => ITEM_IDS.filter(id => id.startsWith(value)) },
  });
  mcp.registerResource('item', items, { mimeType: 'text/plain' }, (uri, { id }) => ({
    contents: [{ uri: uri.href, mimeType: 'text/plain', text: `item ${String(id)}` }],
  }));
  // 2025-era per-resource subscriptions; the 2026-07-28 era uses subscriptions/listen, served by the entry.
  if (era === 'legacy') {
    mcp.server.setRequestHandler('resources/subscribe', (request, ctx) => {
      instance.subscriptions.add(request.params.uri);
      opts.record({ event: 'subscribe', uri: request.params.uri, sessionId: ctx.sessionId });
      return {};
    });
    mcp.server.setRequestHandler('resources/unsubscribe', (request, ctx) => {
      instance.subscriptions.delete(request.params.uri);
      opts.record({ event: 'unsubscribe', uri: request.params.uri, sessionId: ctx.sessionId });
      return {};
    });
  }
}

function registerPrompts(mcp: McpServer): void {
  mcp.registerPrompt('greet', {
    title: 'Greet',
    description: 'Greets someone by name',
    argsSchema: z.object({ name: completable(z.string(), value => GREET_NAMES.filter(name => name.startsWith(value))) }),
  }, ({ name }) => ({ messages: [{ role: 'user', content: { type: 'text', text: `Hello ${name}` } }] }));
}

/**
 * Builds one server instance. Connection-scoped instances (`live`: stdio, 2025-era HTTP sessions)
 * join the hub so runtime changes reach them; per-request 2026-07-28 HTTP instances do not.
 */
function createBackendServer(hub: Hub, opts: Options, era: Era, live: boolean): McpServer {
  const mcp = new McpServer(
    { name: opts.name, version: '1.0.0' },
    {
      instructions: `Test backend ${opts.name}.`,
      capabilities: {
        tools: { listChanged: true },
        resources: { subscribe: true, listChanged: true },
        prompts: { listChanged: true },
        logging: {},
        completions: {},
      },
    },
  );
  const instance: LiveInstance = { mcp, era, tools: new Map(), subscriptions: new Set() };
  registerTools(instance, hub, opts);
  registerResources(instance, era, opts);
  registerPrompts(mcp);
  paginateTools(mcp, instance.tools);
  if (live) {
    hub.live.add(instance);
    const previous = mcp.server.onclose;
    mcp.server.onclose = () => {
      hub.live.delete(instance);
      previous?.();
    };
  }
  return mcp;
}

function headersOf(request: Request): Record<string, string> {
  return Object.fromEntries(request.headers.entries());
}

/** 2025-era Streamable HTTP with sessions (MCP 2025-11-25 basic/transports §Session Management). */
function createLegacySessions(build: () => McpServer): (request: Request) => Promise<Response> {
  const sessions = new Map<string, WebStandardStreamableHTTPServerTransport>();
  return async request => {
    const sessionId = request.headers.get('mcp-session-id');
    if (sessionId) {
      const transport = sessions.get(sessionId);
      if (transport) return transport.handleRequest(request);
      return Response.json({ jsonrpc: '2.0', error: { code: -32001, message: 'Session not found' }, id: null }, { status: 404 });
    }
    const transport: WebStandardStreamableHTTPServerTransport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: () => crypto.randomUUID(),
      onsessioninitialized: id => void sessions.set(id, transport),
      onsessionclosed: id => void sessions.delete(id),
    });
    const mcp = build();
    await mcp.connect(transport);
    const response = await transport.handleRequest(request);
    if (!transport.sessionId) await mcp.close();
    return response;
  };
}

/** A session of the deprecated 2024-11-05 HTTP+SSE transport: answers go out on the GET /sse stream. */
class SseSession implements Transport {
  readonly sessionId = crypto.randomUUID();
  readonly response: Response;
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;
  private controller?: ReadableStreamDefaultController<Uint8Array>;
  private closed = false;

  constructor(endpoint: string) {
    const stream = new ReadableStream<Uint8Array>({
      start: controller => {
        this.controller = controller;
        this.write('endpoint', `${endpoint}?sessionId=${this.sessionId}`);
      },
      cancel: () => this.finish(),
    });
    this.response = new Response(stream, { headers: { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' } });
  }

  async start(): Promise<void> {}

  async send(message: JSONRPCMessage): Promise<void> {
    this.write('message', JSON.stringify(message));
  }

  async close(): Promise<void> {
    if (!this.closed) this.controller?.close();
    this.finish();
  }

  deliver(message: JSONRPCMessage): void {
    this.onmessage?.(message);
  }

  private write(event: string, data: string): void {
    if (!this.closed) this.controller?.enqueue(new TextEncoder().encode(`event: ${event}\ndata: ${data}\n\n`));
  }

  private finish(): void {
    if (this.closed) return;
    this.closed = true;
    this.onclose?.();
  }
}

function createSseRoutes(build: () => McpServer): (request: Request, url: URL) => Promise<Response> {
  const sessions = new Map<string, SseSession>();
  return async (request, url) => {
    if (request.method === 'GET' && url.pathname === '/sse') {
      const session = new SseSession('/messages');
      sessions.set(session.sessionId, session);
      await build().connect(session);
      session.onclose = (previous => () => {
        sessions.delete(session.sessionId);
        previous?.();
      })(session.onclose);
      return session.response;
    }
    if (request.method === 'POST' && url.pathname === '/messages') {
      const session = sessions.get(url.searchParams.get('sessionId') ?? '');
      if (!session) return new Response('Session not found', { status: 404 });
      let message: JSONRPCMessage;
      try {
        message = parseJSONRPCMessage(await request.json());
      } catch (error) {
        return new Response(`Invalid message: ${String(error)}`, { status: 400 });
      }
      session.deliver(message);
      return new Response('Accepted', { status: 202 });
    }
    return new Response('Not found', { status: 404 });
  };
}

function serveHttp(hub: Hub, opts: Options): void {
  const legacy = createLegacySessions(() => createBackendServer(hub, opts, 'legacy', true));
  const modern = createMcpHandler(() => createBackendServer(hub, opts, 'modern', false), { legacy: 'reject' });
  hub.modern = modern.notify;
  const sse = createSseRoutes(() => createBackendServer(hub, opts, 'legacy', true));
  const server = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    // SSE streams stay idle between notifications; Bun's default 10 s idle timeout would cut them.
    idleTimeout: 0,
    async fetch(request, srv) {
      const url = new URL(request.url);
      opts.record({ event: 'http', method: request.method, path: url.pathname, headers: headersOf(request), remotePort: srv.requestIP(request)?.port });
      if (opts.mode === 'sse') return sse(request, url);
      if (url.pathname !== '/mcp') return new Response('Not found', { status: 404 });
      return (await isLegacyRequest(request)) ? legacy(request) : modern.fetch(request);
    },
  });
  process.stdout.write(`listening http://127.0.0.1:${server.port}/${opts.mode === 'sse' ? 'sse' : 'mcp'}\n`);
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: { http: { type: 'boolean' }, sse: { type: 'boolean' }, name: { type: 'string' }, events: { type: 'string' }, describe: { type: 'string', multiple: true } },
  });
  const events = values.events;
  return {
    mode: values.sse ? 'sse' : values.http ? 'http' : 'stdio',
    name: values.name ?? 'backend',
    // --describe TOOL=TEXT starts with a changed description (a rug pull across a restart, for tool pinning tests).
    describe: (values.describe ?? []).map((d) => [d.slice(0, d.indexOf('=')), d.slice(d.indexOf('=') + 1)] as [string, string]),
    // Synchronous appends keep the file ordered and complete even when `crash` exits mid-call.
    record: events ? event => appendFileSync(events, `${JSON.stringify(event)}\n`) : () => {},
  };
}

function main(): void {
  const opts = parseOptions(process.argv.slice(2));
  const hub = new Hub(opts.record);
  for (const [tool, description] of opts.describe) hub.descriptions.set(tool, description);
  if (opts.mode === 'stdio') serveStdio(({ era }) => createBackendServer(hub, opts, era, true));
  else serveHttp(hub, opts);
}

if (import.meta.main) main();
