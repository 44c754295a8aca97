/**
 * @module The 2026-07-28 wire checks of one POST, as pure functions (spec-checklist §2.0, SEP-2243,
 * SEP-2575): which era a message belongs to (body first, the `MCP-Protocol-Version` header as a
 * cross-check), whether its per-request `_meta` envelope is well formed, and whether the standard
 * headers agree with the body. The order of the checks is the precedence of their errors: a request
 * failing several is answered by the first. Every rejection is a 400 with a JSON-RPC error.
 */
import { LOG_LEVELS } from './call-context.ts';
import { CAPABILITIES_META, CLIENT_INFO_META, LOG_LEVEL_META, MODERN_VERSION, PROTOCOL_META, decodeHeaderValue } from '../backends/discover.ts';

type Json = Record<string, unknown>;

/** Revisions of the 2026 era served on /mcp. */
export const MODERN_VERSIONS = [MODERN_VERSION];
/** SEP-2243 HeaderMismatch. */
const HEADER_MISMATCH = -32020;
/** UnsupportedProtocolVersion. */
export const UNSUPPORTED_VERSION = -32022;
const INVALID_PARAMS = -32602;

/** The body field each method's `Mcp-Name` header mirrors. */
const NAME_SOURCE: Record<string, string> = { 'tools/call': 'name', 'prompts/get': 'name', 'resources/read': 'uri', 'tasks/get': 'taskId', 'tasks/update': 'taskId', 'tasks/cancel': 'taskId' };

/** A refused message: the HTTP status and the JSON-RPC error to answer with. */
export interface Rejection {
  status: number;
  error: { code: number; message: string; data?: Json };
}

/** A message of the 2026 era, with what the checks learned about it. */
export interface ModernMessage {
  kind: 'request' | 'notification';
  message: Json;
  /** The revision the envelope (or, for a notification without one, the header) names. */
  revision: string;
  /** The validated envelope of a request. */
  envelope?: Json;
}

/** The MCP headers of a POST, with HTTP optional whitespace stripped. */
export interface McpHeaders {
  version?: string;
  method?: string;
  name?: string;
}

export function mcpHeaders(headers: Headers): McpHeaders {
  const get = (k: string) => {
    const v = headers.get(k);
    return v === null ? undefined : v.replace(/^[ \t]+|[ \t]+$/g, '');
  };
  return { version: get('mcp-protocol-version'), method: get('mcp-method'), name: get('mcp-name') };
}

export function isModernVersion(v: string): boolean {
  return v >= MODERN_VERSION;
}

function isObject(v: unknown): v is Json {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function metaOf(params: unknown): Json | undefined {
  return isObject(params) && isObject(params._meta) ? params._meta : undefined;
}

/** Whether a message claims the per-request envelope: its `_meta` has the protocol-version key. */
export function hasClaim(params: unknown): boolean {
  const meta = metaOf(params);
  return meta !== undefined && PROTOCOL_META in meta;
}

/** A 400 HeaderMismatch (-32020): a header disagrees with the body (SEP-2243). */
export function headerMismatch(header: string, body: string): Rejection {
  return { status: 400, error: { code: HEADER_MISMATCH, message: `Bad Request: the request headers and body disagree: ${body}`, data: { mismatch: { header, body } } } };
}

function describe(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v;
}

/** Problems of a request's envelope, missing keys first (an empty list when it is valid). */
export function envelopeIssues(meta: Json): { key: string; problem: string }[] {
  const issues: { key: string; problem: string }[] = [];
  for (const key of [PROTOCOL_META, CAPABILITIES_META]) if (!(key in meta)) issues.push({ key, problem: 'missing' });
  const expect = (key: string, ok: boolean, what: string) => {
    if (key in meta && !ok) issues.push({ key, problem: `Invalid input: expected ${what}, received ${describe(meta[key])}` });
  };
  expect(PROTOCOL_META, typeof meta[PROTOCOL_META] === 'string', 'string');
  expect(CAPABILITIES_META, isObject(meta[CAPABILITIES_META]), 'object');
  const info = meta[CLIENT_INFO_META];
  expect(CLIENT_INFO_META, info === undefined || (isObject(info) && typeof info.name === 'string' && typeof info.version === 'string'), 'object with name and version');
  const level = meta[LOG_LEVEL_META];
  if (level !== undefined && !LOG_LEVELS.includes(level as string)) issues.push({ key: LOG_LEVEL_META, problem: `Invalid option: expected one of ${LOG_LEVELS.map((l) => `"${l}"`).join('|')}` });
  const token = meta.progressToken;
  expect('progressToken', token === undefined || typeof token === 'string' || typeof token === 'number', 'string or number');
  return issues;
}

function validModernClaim(params: unknown): boolean {
  const meta = metaOf(params);
  return meta !== undefined && typeof meta[PROTOCOL_META] === 'string' && isModernVersion(meta[PROTOCOL_META] as string) && envelopeIssues(meta).length === 0;
}

/**
 * Classifies one parsed POST body: 'legacy' (2025-era traffic, for the session router), a rejection,
 * or a 2026-era message. Batches and posted responses are always legacy.
 */
export function classify(body: Json | Json[], h: McpHeaders): 'legacy' | Rejection | ModernMessage {
  if (Array.isArray(body)) return 'legacy';
  const method = body.method;
  if (typeof method !== 'string') return 'legacy';
  const params = body.params;
  const headerModern = h.version !== undefined && isModernVersion(h.version);
  const request = 'id' in body;
  if (request && method === 'initialize' && !validModernClaim(params)) {
    if (headerModern) return headerMismatch(h.version!, 'an initialize request (legacy handshake) was sent with a modern MCP-Protocol-Version header');
    return 'legacy';
  }
  if (hasClaim(params)) {
    const meta = metaOf(params)!;
    const claimed = meta[PROTOCOL_META];
    if (request) {
      const issue = envelopeIssues(meta)[0];
      if (issue) return { status: 400, error: { code: INVALID_PARAMS, message: `Invalid _meta envelope for protocol revision ${MODERN_VERSION}: ${issue.key}: ${issue.problem}`, data: { envelope: issue } } };
    } else if (typeof claimed !== 'string') {
      const issue = { key: PROTOCOL_META, problem: 'expected a protocol version string' };
      return { status: 400, error: { code: INVALID_PARAMS, message: `Invalid _meta envelope for protocol revision ${MODERN_VERSION}: ${issue.key}: ${issue.problem}`, data: { envelope: issue } } };
    }
    const version = claimed as string;
    if (h.version !== undefined && h.version !== version) return headerMismatch(h.version, `the ${request ? 'body' : 'notification'} envelope names protocol version ${version} but the MCP-Protocol-Version header names ${h.version}`);
    if (request && h.method !== undefined && h.method !== method) return headerMismatch(h.method, `the body names method ${method} but the Mcp-Method header names ${h.method}`);
    if (!isModernVersion(version)) return 'legacy';
    if (!request && h.method !== undefined && h.method !== method) return headerMismatch(h.method, `the notification body names method ${method} but the Mcp-Method header names ${h.method}`);
    return { kind: request ? 'request' : 'notification', message: body, revision: version, ...(request && { envelope: meta }) };
  }
  if (!headerModern) return 'legacy';
  if (request) {
    const meta = metaOf(params);
    const missing = meta === undefined ? ['_meta'] : envelopeIssues(meta).filter((i) => i.problem === 'missing').map((i) => i.key);
    const keys = missing.length > 0 ? missing : [PROTOCOL_META];
    return { status: 400, error: { code: INVALID_PARAMS, message: `Invalid params: the MCP-Protocol-Version header names protocol revision ${h.version}, but the request is missing the required per-request envelope key(s): ${keys.join(', ')}`, data: { envelope: { missing: keys } } } };
  }
  if (h.method !== undefined && h.method !== method) return headerMismatch(h.method, `the notification body names method ${method} but the Mcp-Method header names ${h.method}`);
  return { kind: 'notification', message: body, revision: h.version! };
}

/** The revision check and the SEP-2243 standard headers of a 2026 request (after classification). */
export function checkModernRequest(m: ModernMessage, h: McpHeaders): Rejection | undefined {
  if (!MODERN_VERSIONS.includes(m.revision)) {
    return { status: 400, error: { code: UNSUPPORTED_VERSION, message: `Unsupported protocol version: ${m.revision}`, data: { supported: MODERN_VERSIONS, requested: m.revision } } };
  }
  if (m.kind !== 'request') return undefined;
  const method = String(m.message.method);
  if (h.version === undefined) return headerMismatch('(missing)', `the body envelope names protocol version ${m.revision} but the required MCP-Protocol-Version header is absent`);
  if (h.method === undefined) return headerMismatch('(missing)', `the body names method ${method} but the required Mcp-Method header is absent`);
  const field = NAME_SOURCE[method];
  if (field === undefined) return undefined;
  const params = m.message.params as Json | undefined;
  const value = typeof params?.[field] === 'string' ? (params[field] as string) : undefined;
  if (h.name === undefined) return value === undefined ? undefined : headerMismatch('(missing)', `the body carries params.${field}="${value}" but the required Mcp-Name header is absent`);
  const decoded = decodeHeaderValue(h.name);
  if (decoded === undefined) return headerMismatch(h.name, 'the Mcp-Name header carries an invalid Base64 sentinel value');
  if (value !== undefined && decoded !== value) return headerMismatch(h.name, `the body carries params.${field}="${value}" but the Mcp-Name header names "${decoded}"`);
  return undefined;
}

/** What a `subscriptions/listen` may ask for (SEP-2575 SubscriptionFilter); undefined when malformed. */
export interface ListenFilter {
  toolsListChanged?: boolean;
  promptsListChanged?: boolean;
  resourcesListChanged?: boolean;
  resourceSubscriptions?: string[];
}

export function listenFilter(params: unknown): ListenFilter | undefined {
  const n = isObject(params) ? params.notifications : undefined;
  if (!isObject(n)) return undefined;
  const filter: ListenFilter = {};
  for (const k of ['toolsListChanged', 'promptsListChanged', 'resourcesListChanged'] as const) {
    if (n[k] === undefined) continue;
    if (typeof n[k] !== 'boolean') return undefined;
    if (n[k]) filter[k] = true;
  }
  const subs = n.resourceSubscriptions;
  if (subs !== undefined) {
    if (!Array.isArray(subs) || !subs.every((u) => typeof u === 'string')) return undefined;
    if (subs.length > 0) filter.resourceSubscriptions = subs as string[];
  }
  return filter;
}
