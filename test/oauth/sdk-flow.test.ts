/** @module Whole OAuth flow driven by the SDK's own client-side OAuth (auth() + OAuthClientProvider). */
import { auth, extractWWWAuthenticateParams } from '@modelcontextprotocol/client';
import { describe, expect, test } from 'bun:test';
import { decodeJwt } from 'jose';
import { callMcp, LOOPBACK_REDIRECT, postForm } from '../helpers/oauth-client.ts';
import { HeadlessProvider } from '../helpers/oauth-sdk.ts';
import { startDocServer } from '../helpers/oauth-tls.ts';
import { startOAuthWorld, type OAuthWorld } from '../helpers/oauth-world.ts';

async function runFlow(w: OAuthWorld, provider: HeadlessProvider) {
  // [1.1] the first unauthenticated request gets the challenge that starts discovery.
  const first = await callMcp(w, undefined, { headers: { Accept: '*/*' } });
  expect(first.status).toBe(401);
  const { resourceMetadataUrl } = extractWWWAuthenticateParams(first);
  expect(resourceMetadataUrl?.href).toBe(`${w.url}/.well-known/oauth-protected-resource/mcp`);

  expect(await auth(provider, { serverUrl: w.resource, resourceMetadataUrl })).toBe('REDIRECT');
  const cb = provider.callback!;
  expect(cb.get('state')).toBe('sdk-state-1');
  expect(cb.get('iss')).toBe(w.url);
  const result = await auth(provider, { serverUrl: w.resource, resourceMetadataUrl, authorizationCode: cb.get('code')!, iss: cb.get('iss')! });
  expect(result).toBe('AUTHORIZED');
  const tokens = provider.tokens()!;
  expect(tokens.refresh_token).toBeString();
  const ok = await callMcp(w, tokens.access_token);
  expect(ok.status).toBe(200);
  return tokens;
}

describe('sdk client oauth', () => {
  test('[1.1][1.2][1.3][1.5][1.6][1.7] DCR path: 401 -> PRM -> ASM -> register -> consent -> token -> /mcp -> refresh -> revoke -> 401', async () => {
    await using w = await startOAuthWorld();
    const provider = new HeadlessProvider(w, { backends: ['github', 'notes'] });
    const tokens = await runFlow(w, provider);
    const clientId = provider.clientInformation()!.client_id;
    expect(clientId.startsWith('mcpgw_client_')).toBe(true);
    expect(decodeJwt(tokens.access_token).backends).toEqual(['github', 'notes']);

    // Refresh through the SDK: auth() with a stored refresh token rotates it.
    w.clock.advance(61 * 60 * 1000);
    expect((await callMcp(w, tokens.access_token)).status).toBe(401);
    expect(await auth(provider, { serverUrl: w.resource })).toBe('AUTHORIZED');
    const refreshed = provider.tokens()!;
    expect(refreshed.refresh_token).not.toBe(tokens.refresh_token);
    expect((await callMcp(w, refreshed.access_token)).status).toBe(200);

    // [1.9] revoke the refresh token: the whole grant ends, so the access token stops too.
    const rev = await postForm(w, '/revoke', { token: refreshed.refresh_token!, client_id: clientId });
    expect(rev.status).toBe(200);
    const after = await callMcp(w, refreshed.access_token);
    expect(after.status).toBe(401);
    expect(after.headers.get('www-authenticate')).toContain('error="invalid_token"');
  });

  test('[1.4] CIMD path: client_id is an https URL served on loopback; no registration happens', async () => {
    await using docs = startDocServer(() => new Response('{}'));
    const clientId = `${docs.origin}/oauth/client.json`;
    docs.respond = () =>
      Response.json(
        { client_id: clientId, client_name: 'CIMD test app', redirect_uris: [LOOPBACK_REDIRECT.replace(':9876', '')], token_endpoint_auth_method: 'none' },
        { headers: { 'Cache-Control': 'max-age=600' } },
      );
    await using w = await startOAuthWorld({ settings: { cimd: { allow_private_addresses: true } } });
    const provider = new HeadlessProvider(w, { clientMetadataUrl: clientId });
    const tokens = await runFlow(w, provider);
    expect(provider.clientInformation()!.client_id).toBe(clientId);
    expect(w.logs.some((l) => l.msg === 'client registered')).toBe(false);
    const claims = decodeJwt(tokens.access_token);
    expect(claims.client_id).toBe(clientId);
    expect(claims.aud).toBe(w.resource);
    expect(claims.backends).toBeUndefined();
    expect(docs.hits).toBe(1); // cached for the consent POST (max-age)
  });
});
