/** @module Pinned copies of known clients' metadata documents (spec-checklist [1.4] REALITY). */
import { describe, expect, test } from 'bun:test';
import { manualClock } from '../../src/deps.ts';
import { silentLogger } from '../../src/log.ts';
import { createCimdResolver } from '../../src/oauth/cimd.ts';
import { PINNED_CLIENT_DOCUMENTS } from '../../src/oauth/pinned-clients.ts';
import { parseClientMetadataDocument } from '../../src/oauth/cimd-document.ts';

const cfg = { enabled: true, allow_private_addresses: true, allow_http: false, timeout: 1000, max_bytes: 5120 };
// claude.ai's host as seen from a datacenter: a Cloudflare challenge page instead of the document.
const challenge: typeof fetch = (async () => new Response('<html>Just a moment...</html>', { status: 403, headers: { 'content-type': 'text/html' } })) as never;

describe('pinned client documents', () => {
  test('[1.4] every pinned document passes the same validation as a fetched one', () => {
    for (const [url, doc] of Object.entries(PINNED_CLIENT_DOCUMENTS)) expect(parseClientMetadataDocument(doc, url).ok).toBe(true);
  });

  test("[1.4] claude.ai's document answering a Cloudflare 403 -> the pinned copy is used", async () => {
    const resolve = createCimdResolver(cfg, { fetch: challenge, clock: manualClock(), log: silentLogger });
    const client = await resolve('https://claude.ai/oauth/mcp-oauth-client-metadata');
    expect(client).toEqual({ clientId: 'https://claude.ai/oauth/mcp-oauth-client-metadata', clientName: 'Claude', redirectUris: ['https://claude.ai/api/mcp/auth_callback'] });
    const code = await resolve('https://claude.ai/oauth/claude-code-client-metadata');
    expect(code.redirectUris).toEqual(['http://localhost/callback', 'http://127.0.0.1/callback']);
  });

  test('[1.4] a live document wins over the pinned copy when it can be fetched', async () => {
    const live: typeof fetch = (async () =>
      Response.json({ client_id: 'https://claude.ai/oauth/mcp-oauth-client-metadata', client_name: 'Claude (live)', redirect_uris: ['https://claude.ai/api/mcp/auth_callback'], token_endpoint_auth_method: 'none' })) as never;
    const resolve = createCimdResolver(cfg, { fetch: live, clock: manualClock(), log: silentLogger });
    expect((await resolve('https://claude.ai/oauth/mcp-oauth-client-metadata')).clientName).toBe('Claude (live)');
  });

  test('[1.4] an unknown client whose document cannot be fetched is still refused', async () => {
    const resolve = createCimdResolver(cfg, { fetch: challenge, clock: manualClock(), log: silentLogger });
    await expect(resolve('https://unknown.example/oauth/client.json')).rejects.toMatchObject({ code: 'invalid_client' });
  });
});
