/** @module The check `mcpgw funnel on|status` makes through the public URL: what claude.ai fetches before it signs in. */
import type { Deps } from '../src/deps.ts';
import { errorMessage } from '../src/errors.ts';
import type { CliIo } from './io.ts';
import { ok } from './passwd.ts';

/** One request claude.ai makes before it signs in, made through the public URL. */
export interface FunnelCheck {
  name: 'protected_resource' | 'authorization_server' | 'mcp_challenge';
  url: string;
  ok: boolean;
  detail: string;
}

async function probe(deps: Deps, url: string, init: RequestInit, judge: (res: Response) => Promise<string | undefined>): Promise<{ ok: boolean; detail: string }> {
  try {
    const res = await deps.fetch(url, { ...init, signal: AbortSignal.timeout(10_000), redirect: 'manual' });
    const problem = await judge(res);
    return problem ? { ok: false, detail: problem } : { ok: true, detail: `answered ${res.status}` };
  } catch (err) {
    return { ok: false, detail: `did not answer: ${errorMessage(err)}` };
  }
}

const jsonField = async (res: Response, field: string, want: string, what: string) => {
  if (res.status !== 200) return `answered ${res.status}${res.status === 403 ? ' (is public_url set to this URL?)' : ''}`;
  const got = ((await res.json().catch(() => ({}))) as Record<string, unknown>)[field];
  return got === want ? undefined : `${what} is ${JSON.stringify(got)}, not ${want} (is public_url set to this URL?)`;
};

/**
 * Fetches through the funnel what claude.ai fetches: RFC 9728 protected-resource metadata, RFC 8414 authorization
 * server metadata, and an unauthenticated POST /mcp, which must be a 401 naming `resource_metadata` (MCP authorization §2.3).
 */
export async function checkThroughFunnel(deps: Deps, url: string): Promise<FunnelCheck[]> {
  const prm = `${url}/.well-known/oauth-protected-resource/mcp`;
  const asm = `${url}/.well-known/oauth-authorization-server`;
  const mcp = `${url}/mcp`;
  const initialize = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'mcpgw-funnel-check', version: '1' } } });
  const [a, b, c] = await Promise.all([
    probe(deps, prm, {}, (res) => jsonField(res, 'resource', mcp, 'resource')),
    probe(deps, asm, {}, (res) => jsonField(res, 'issuer', url, 'issuer')),
    probe(deps, mcp, { method: 'POST', body: initialize, headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' } }, async (res) => {
      const challenge = res.headers.get('www-authenticate') ?? '';
      if (res.status !== 401) return `answered ${res.status}, not 401${res.status === 403 ? ' (the host is not allowed: is public_url set and the gateway reloaded?)' : ''}`;
      return challenge.includes(`resource_metadata="${prm}"`) ? undefined : `401 without resource_metadata="${prm}"`;
    }),
  ]);
  return [
    { name: 'protected_resource', url: prm, ...a },
    { name: 'authorization_server', url: asm, ...b },
    { name: 'mcp_challenge', url: mcp, ...c },
  ];
}

/** Prints one line per check (✓ or warning) and a hint when any failed; true when all passed. */
export function reportChecks(io: CliIo, checks: FunnelCheck[], listen: string): boolean {
  for (const c of checks) io.err(c.ok ? ok(io, `${c.url} ${c.detail} through the funnel`) : `warning: ${c.url} ${c.detail}`);
  const failed = checks.filter((c) => !c.ok);
  if (failed.length > 0) io.err(`hint: is 'mcpgw serve' running on ${listen}? A new funnel's name can take a minute to resolve; then: mcpgw funnel status`);
  return failed.length === 0;
}
