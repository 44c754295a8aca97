/**
 * @module Opening an MCP session with a backend: initialize and version check (MCP 2025-11-25
 * basic/lifecycle), then every list, following each nextCursor (utilities/pagination).
 */
import { DISCOVER_TIMEOUT_MS, discover, modernEnvelope } from './discover.ts';
import type { Json, RpcPeer, Wire } from './rpc.ts';

/** The backend's lists as it returned them, untouched. */
export interface Catalog {
  tools: Json[];
  prompts: Json[];
  resources: Json[];
  templates: Json[];
}

const MAX_PAGES = 100;
const LATEST_PROTOCOL_VERSION = '2025-11-25';
const SUPPORTED_PROTOCOL_VERSIONS = [LATEST_PROTOCOL_VERSION, '2025-06-18', '2025-03-26', '2024-11-05', '2024-10-07'];
const CLIENT_CAPABILITIES = { sampling: {}, elicitation: { form: {}, url: {} }, roots: { listChanged: true } };
const LISTS: Record<keyof Catalog, [method: string, key: string]> = {
  tools: ['tools/list', 'tools'],
  prompts: ['prompts/list', 'prompts'],
  resources: ['resources/list', 'resources'],
  templates: ['resources/templates/list', 'resourceTemplates'],
};

/**
 * Starts the wire, opens the backend (with `modern`: `server/discover` first, else `initialize` and
 * notifications/initialized) and lists what the backend offers.
 */
export async function initialize(wire: Wire, peer: RpcPeer, budget: number, modern = false): Promise<{ init: Json; catalog: Catalog }> {
  await wire.start();
  const started = performance.now();
  const discovered = modern ? await discover(peer, CLIENT_CAPABILITIES, Math.min(DISCOVER_TIMEOUT_MS, budget / 2)) : undefined;
  if (discovered) {
    peer.envelope = modernEnvelope(CLIENT_CAPABILITIES);
    return { init: discovered, catalog: await listCatalog(peer, (discovered.capabilities ?? {}) as Json, budget) };
  }
  if (peer.closed) throw new Error('the backend closed the connection after server/discover');
  budget -= performance.now() - started;
  const init = await peer.request(
    'initialize',
    { protocolVersion: LATEST_PROTOCOL_VERSION, capabilities: CLIENT_CAPABILITIES, clientInfo: { name: 'mcpgw', version: '0.1.0' } },
    { timeout: budget },
  );
  const version = init.protocolVersion as string;
  if (!SUPPORTED_PROTOCOL_VERSIONS.includes(version)) throw new Error(`the backend answered protocol version '${version}', which mcpgw does not support`);
  peer.notify('notifications/initialized');
  return { init, catalog: await listCatalog(peer, (init.capabilities ?? {}) as Json, budget) };
}

async function listCatalog(peer: RpcPeer, caps: Json, budget: number): Promise<Catalog> {
  const list = (key: keyof Catalog) => listAll(peer, key, budget);
  const [tools, prompts, resources, templates] = await Promise.all([
    caps.tools ? list('tools') : [],
    caps.prompts ? list('prompts') : [],
    caps.resources ? list('resources') : [],
    caps.resources ? list('templates').catch(() => []) : [],
  ]);
  return { tools, prompts, resources, templates };
}

/** Follows every nextCursor (bounded), MCP 2025-11-25 utilities/pagination. */
export async function listAll(peer: RpcPeer, kind: keyof Catalog, timeout: number): Promise<Json[]> {
  const [method, key] = LISTS[kind];
  const items: Json[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < MAX_PAGES; page++) {
    const res = await peer.request(method, cursor ? { cursor } : {}, { timeout });
    const got = res[key];
    if (Array.isArray(got)) for (const item of got) items.push(item as Json);
    cursor = typeof res.nextCursor === 'string' ? res.nextCursor : undefined;
    if (!cursor) break;
  }
  return items;
}
