/**
 * @module Speaking a backend's newest revision (issue 10 item 1): probe with `server/discover`
 * (MCP 2026-07-28 server/discover), and when the backend answers it with a `DiscoverResult` that
 * lists 2026-07-28, talk to it per request (the `_meta` envelope on every request, the SEP-2243
 * headers over HTTP, no session). Anything else (an HTTP 4xx, -32601, a malformed result, no
 * answer within its share of the connect timeout) falls back to the 2025 `initialize` handshake.
 */
import type { Json, RpcMessage, RpcPeer } from './rpc.ts';

/** The stateless revision (2026-07-28). */
export const MODERN_VERSION = '2026-07-28';
export const PROTOCOL_META = 'io.modelcontextprotocol/protocolVersion';
export const CAPABILITIES_META = 'io.modelcontextprotocol/clientCapabilities';
export const CLIENT_INFO_META = 'io.modelcontextprotocol/clientInfo';
export const SERVER_INFO_META = 'io.modelcontextprotocol/serverInfo';
export const LOG_LEVEL_META = 'io.modelcontextprotocol/logLevel';

/** Longest wait for a `server/discover` answer before falling back (also bounded by half the connect budget). */
export const DISCOVER_TIMEOUT_MS = 5_000;

/** Which revisions mcpgw offers a backend: `auto` probes 2026-07-28 first, `legacy` only initializes. */
export type BackendProtocol = 'auto' | 'legacy';

/** The `_meta` envelope every 2026-07-28 request carries (basic/versioning "per-request metadata"). */
export function modernEnvelope(capabilities: Json): Json {
  return { [PROTOCOL_META]: MODERN_VERSION, [CAPABILITIES_META]: capabilities, [CLIENT_INFO_META]: { name: 'mcpgw', version: '0.1.0' } };
}

/**
 * Sends `server/discover`; an initialize-like result (`protocolVersion`, `capabilities`,
 * `serverInfo`, `instructions`) when the backend speaks 2026-07-28, else undefined (never throws).
 */
export async function discover(peer: RpcPeer, capabilities: Json, timeout: number): Promise<Json | undefined> {
  let res: Json;
  try {
    res = await peer.request('server/discover', { _meta: modernEnvelope(capabilities) }, { timeout });
  } catch {
    return undefined;
  }
  const versions = res.supportedVersions;
  if (!Array.isArray(versions) || !versions.includes(MODERN_VERSION)) return undefined;
  const caps = res.capabilities;
  if (caps !== undefined && (typeof caps !== 'object' || caps === null || Array.isArray(caps))) return undefined;
  const meta = (res._meta ?? {}) as Json;
  return {
    protocolVersion: MODERN_VERSION,
    capabilities: caps ?? {},
    serverInfo: meta[SERVER_INFO_META] ?? res.serverInfo,
    ...(typeof res.instructions === 'string' && { instructions: res.instructions }),
  };
}

/** Methods whose `Mcp-Name` header mirrors a body field (SEP-2243, Streamable HTTP "Standard headers"). */
const NAME_SOURCE: Record<string, string> = { 'tools/call': 'name', 'prompts/get': 'name', 'resources/read': 'uri' };

/**
 * The SEP-2243 headers of a 2026-07-28 request (`MCP-Protocol-Version`, `Mcp-Method`, `Mcp-Name`),
 * derived from its body; undefined for a message without the 2026 envelope (2025 traffic is untouched).
 */
export function modernHeaders(msg: RpcMessage, params?: ParamLookup, passThrough?: Record<string, string>): Record<string, string> | undefined {
  if (msg.method === undefined || msg.id === undefined) return undefined;
  const version = (msg.params?._meta as Json | undefined)?.[PROTOCOL_META];
  if (typeof version !== 'string') return undefined;
  const field = NAME_SOURCE[msg.method];
  const value = field ? msg.params?.[field] : undefined;
  const decls = msg.method === 'tools/call' && typeof value === 'string' && params ? params(value) : undefined;
  // SEP-2243 "Server Behavior for Custom Headers": intermediaries MUST forward Mcp-Param-* headers they
  // do not recognize; the ones the tool declares are the gateway's own, derived from the arguments below.
  const h: Record<string, string> = {};
  if (passThrough) {
    const own = new Set(decls?.map((d) => `mcp-param-${d.header.toLowerCase()}`));
    for (const [k, v] of Object.entries(passThrough)) if (!own.has(k)) h[k] = v;
  }
  h['mcp-protocol-version'] = version;
  h['mcp-method'] = msg.method;
  if (typeof value === 'string') h['mcp-name'] = encodeHeaderValue(value);
  if (decls) addParamHeaders(h, decls, msg.params?.arguments);
  return h;
}

/** Most `Mcp-Param-*` headers of one client request the gateway passes on, and their total size in bytes. */
export const MAX_PASSED_PARAM_HEADERS = 32;
export const MAX_PASSED_PARAM_BYTES = 8 * 1024;
const PARAM_PREFIX = 'mcp-param-';

/**
 * A client request's `Mcp-Param-*` headers (lower-case names) for a 2026-07-28 backend (SEP-2243:
 * intermediaries MUST forward the ones they do not recognize); bounded: headers past
 * MAX_PASSED_PARAM_HEADERS or MAX_PASSED_PARAM_BYTES are dropped. Undefined when there are none.
 */
export function passedParamHeaders(headers: Headers): Record<string, string> | undefined {
  let out: Record<string, string> | undefined;
  let n = 0;
  let bytes = 0;
  for (const [name, value] of headers) {
    if (!name.startsWith(PARAM_PREFIX) || name.length === PARAM_PREFIX.length) continue;
    bytes += name.length + value.length;
    if (++n > MAX_PASSED_PARAM_HEADERS || bytes > MAX_PASSED_PARAM_BYTES) break;
    (out ??= {})[name] = value;
  }
  return out;
}

/** One `x-mcp-header` declaration of a tool's input schema (SEP-2243 custom headers). */
export interface ParamDecl {
  path: string[];
  header: string;
  type: string;
}
/** A tool's declarations by its (backend) name; undefined for an unknown tool. */
export type ParamLookup = (tool: string) => ParamDecl[] | undefined;

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const HEADER_TYPES = new Set(['string', 'integer', 'boolean', 'number']);

/** The `x-mcp-header` declarations reachable through `properties` chains only (SEP-2243), bounded in depth. */
export function paramDeclarations(inputSchema: unknown): ParamDecl[] {
  const out: ParamDecl[] = [];
  const visit = (node: unknown, path: string[]) => {
    if (!node || typeof node !== 'object' || path.length > 8) return;
    const schema = node as Json;
    const header = schema['x-mcp-header'];
    if (path.length > 0 && typeof header === 'string' && TOKEN.test(header) && HEADER_TYPES.has(String(schema.type))) out.push({ path, header, type: String(schema.type) });
    const props = schema.properties;
    if (props && typeof props === 'object') for (const [k, child] of Object.entries(props as Json)) visit(child, [...path, k]);
  };
  visit(inputSchema, []);
  return out;
}

/** The header text of a declared argument (SEP-2243 type conversion); undefined for absent or non-primitive values. */
function paramText(decl: ParamDecl, args: unknown): { raw: unknown; text?: string } {
  let v: unknown = args;
  for (const k of decl.path) v = v && typeof v === 'object' ? (v as Json)[k] : undefined;
  if (typeof v === 'string') return { raw: v, text: v };
  if (typeof v === 'boolean') return { raw: v, text: v ? 'true' : 'false' };
  if (typeof v === 'number' && Number.isFinite(v) && (!Number.isInteger(v) || Number.isSafeInteger(v))) return { raw: v, text: String(v) };
  return { raw: v };
}

/** Mirrors each declared argument in an `Mcp-Param-<Name>` header; absent and non-primitive values get none. */
function addParamHeaders(h: Record<string, string>, decls: ParamDecl[], args: unknown): void {
  for (const d of decls) {
    const { text } = paramText(d, args);
    if (text !== undefined) h[`mcp-param-${d.header.toLowerCase()}`] = encodeHeaderValue(text);
  }
}

/**
 * Checks a client's `Mcp-Param-*` headers against the call's arguments (SEP-2243: present and equal
 * for every declared argument that has a value); the mismatch, or undefined when they agree.
 */
export function paramHeaderMismatch(decls: ParamDecl[], args: unknown, headers: Headers): { header: string; message: string } | undefined {
  for (const d of decls) {
    const { raw, text } = paramText(d, args);
    if (text === undefined) continue;
    const header = `Mcp-Param-${d.header}`;
    const value = headers.get(header);
    if (value === null) return { header, message: `the body carries ${d.path.join('.')}=${JSON.stringify(raw)} but the ${header} header is absent` };
    const decoded = decodeHeaderValue(value);
    if (decoded === undefined) return { header, message: `the ${header} header carries an invalid Base64 sentinel value` };
    const numeric = (d.type === 'integer' || d.type === 'number') && typeof raw === 'number' && /^-?\d+(\.\d+)?$/.test(decoded);
    if (numeric ? Number(decoded) !== raw : decoded !== text) return { header, message: `the ${header} header decodes to ${JSON.stringify(decoded)} but the body carries ${d.path.join('.')}=${JSON.stringify(raw)}` };
  }
  return undefined;
}

/** A header value as SEP-2243 sends it: as is when plain printable ASCII, else `=?base64?…?=` of its UTF-8. */
export function encodeHeaderValue(s: string): string {
  let plain = s.length > 0 && s === s.trim() && !(s.startsWith('=?base64?') && s.endsWith('?='));
  for (let i = 0; plain && i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (!(c === 9 || (c >= 32 && c <= 126))) plain = false;
  }
  return plain ? s : `=?base64?${Buffer.from(s, 'utf8').toString('base64')}?=`;
}

/** Decodes a `=?base64?…?=` header value; undefined when the sentinel is there but the payload is not canonical base64 UTF-8. */
export function decodeHeaderValue(v: string): string | undefined {
  if (!(v.startsWith('=?base64?') && v.endsWith('?='))) return v;
  const b64 = v.slice(9, -2);
  if (!/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(b64)) return undefined;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(b64, 'base64'));
  } catch {
    return undefined;
  }
}
