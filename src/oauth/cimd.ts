/** @module Fetching Client ID Metadata Documents with SSRF protection, a size cap, a timeout, and a cache. */
import { isIP } from '../ip.ts';
import type { Deps } from '../deps.ts';
import { errorMessage } from '../errors.ts';
import { cacheLifetime, cimdUrlProblem, parseClientMetadataDocument, type CimdClient } from './cimd-document.ts';
import { OAuthError } from './errors.ts';
import type { AuthSettings } from './settings.ts';
import { isPublicAddress } from './ssrf.ts';
import { PINNED_CLIENT_DOCUMENTS } from './pinned-clients.ts';

/** How long past freshness a cached document may still be used when refetching fails. */
const MAX_STALE = 24 * 60 * 60 * 1000;
const MAX_ENTRIES = 500;

interface Entry {
  client: CimdClient;
  freshUntil: number;
}

/** Resolves a CIMD client_id to its validated document; throws OAuthError `invalid_client` on any failure. */
export type CimdResolver = (clientId: string) => Promise<CimdClient>;

/**
 * Creates a resolver with its own cache: honours Cache-Control max-age (bounded), serves a stale copy when a
 * refetch fails, and never caches failures (spec-checklist [1.4]).
 */
export function createCimdResolver(cfg: AuthSettings['cimd'], deps: Pick<Deps, 'fetch' | 'clock' | 'log'>): CimdResolver {
  const cache = new Map<string, Entry>();
  return async (clientId) => {
    const problem = cimdUrlProblem(clientId, cfg.allow_http);
    if (problem) throw new OAuthError('invalid_client', problem);
    const now = deps.clock.now();
    const hit = cache.get(clientId);
    if (hit && hit.freshUntil > now) return hit.client;
    try {
      const { client, lifetime } = await fetchDocument(clientId, cfg, deps.fetch);
      cache.delete(clientId);
      if (lifetime !== 'no-store') {
        if (cache.size >= MAX_ENTRIES) cache.delete(cache.keys().next().value!);
        cache.set(clientId, { client, freshUntil: now + lifetime });
      }
      return client;
    } catch (err) {
      if (hit && now - hit.freshUntil < MAX_STALE) {
        deps.log.warn('client metadata refetch failed; using cached copy', { client_id: clientId, error: errorMessage(err) });
        return hit.client;
      }
      const pinned = pinnedClient(clientId);
      if (pinned) {
        deps.log.info('client metadata fetch failed; using the pinned copy', { client_id: clientId, error: errorMessage(err) });
        return pinned;
      }
      deps.log.warn('client metadata document refused', { client_id: clientId, error: errorMessage(err) });
      if (err instanceof OAuthError) throw err;
      throw new OAuthError('invalid_client', 'client metadata document could not be fetched', 400, { cause: err });
    }
  };
}

function pinnedClient(clientId: string): CimdClient | undefined {
  const doc = PINNED_CLIENT_DOCUMENTS[clientId];
  if (!doc) return undefined;
  const parsed = parseClientMetadataDocument(doc, clientId);
  return parsed.ok ? parsed.value : undefined;
}

async function fetchDocument(
  clientId: string,
  cfg: AuthSettings['cimd'],
  fetchFn: typeof fetch,
): Promise<{ client: CimdClient; lifetime: number | 'no-store' }> {
  const url = new URL(clientId);
  if (!cfg.allow_private_addresses) await assertPublicHost(url.hostname);
  // With https, a DNS answer that changes between this check and the connection (rebinding) can only reach
  // a host holding a valid certificate for this name; plain http is allowed only by explicit configuration.
  const res = await fetchFn(clientId, {
    redirect: 'manual',
    signal: AbortSignal.timeout(cfg.timeout),
    headers: { Accept: 'application/json' },
  });
  if (res.status !== 200) {
    await res.body?.cancel();
    throw new OAuthError('invalid_client', `client metadata document answered HTTP ${res.status}${res.status >= 300 && res.status < 400 ? ' (redirects are not followed)' : ''}`);
  }
  const type = (res.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json' && !type.endsWith('+json')) {
    await res.body?.cancel();
    throw new OAuthError('invalid_client', 'client metadata document is not JSON');
  }
  const text = await readCapped(res, cfg.max_bytes);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new OAuthError('invalid_client', 'client metadata document is not valid JSON');
  }
  const parsed = parseClientMetadataDocument(json, clientId);
  if (!parsed.ok) throw new OAuthError('invalid_client', `client metadata document invalid: ${parsed.issues.join('; ')}`);
  return { client: parsed.value, lifetime: cacheLifetime(res.headers.get('cache-control')) };
}

async function assertPublicHost(hostname: string): Promise<void> {
  const bare = hostname.replace(/^\[|\]$/g, '');
  // node:dns is loaded on first use: most gateways never fetch a client metadata document (issue 7, memory).
  const lookup = async () => (await (await import('node:dns/promises')).lookup(bare, { all: true, verbatim: true })).map((a) => a.address);
  const addresses = isIP(bare) ? [bare] : await lookup();
  if (addresses.length === 0 || !addresses.every(isPublicAddress)) {
    throw new OAuthError('invalid_client', 'client metadata document host resolves to a non-public address');
  }
}

async function readCapped(res: Response, maxBytes: number): Promise<string> {
  if (Number(res.headers.get('content-length') ?? '0') > maxBytes) {
    await res.body?.cancel();
    throw new OAuthError('invalid_client', 'client metadata document too large');
  }
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = res.body!.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel();
      throw new OAuthError('invalid_client', 'client metadata document too large');
    }
    chunks.push(value);
  }
  return new TextDecoder().decode(Buffer.concat(chunks));
}
