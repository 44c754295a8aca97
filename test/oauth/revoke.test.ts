/** @module /revoke (RFC 7009): refresh and access tokens; other clients' tokens are left alone. */
import { describe, expect, test } from 'bun:test';
import { callMcp, obtainTokens, postForm, registerPublicClient } from '../helpers/oauth-client.ts';
import { startOAuthWorld } from '../helpers/oauth-world.ts';

describe('revocation', () => {
  test('[1.9] revoking a refresh token ends the grant: refresh and access tokens stop working', async () => {
    await using w = await startOAuthWorld();
    const t = await obtainTokens(w);
    const res = await postForm(w, '/revoke', { token: t.refresh_token, token_type_hint: 'refresh_token', client_id: t.clientId });
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect((await callMcp(w, t.access_token)).status).toBe(401);
    const r = await postForm(w, '/token', { grant_type: 'refresh_token', refresh_token: t.refresh_token, client_id: t.clientId });
    expect(((await r.json()) as { error: string }).error).toBe('invalid_grant');
  });

  test('[1.9] revoking an access token stops that token only; the refresh token still works', async () => {
    await using w = await startOAuthWorld();
    const t = await obtainTokens(w);
    expect((await postForm(w, '/revoke', { token: t.access_token, client_id: t.clientId })).status).toBe(200);
    expect((await callMcp(w, t.access_token)).status).toBe(401);
    expect((await postForm(w, '/token', { grant_type: 'refresh_token', refresh_token: t.refresh_token, client_id: t.clientId })).status).toBe(200);
  });

  test("[1.9] another client's revocation answers 200 but changes nothing", async () => {
    await using w = await startOAuthWorld();
    const t = await obtainTokens(w);
    const other = await registerPublicClient(w);
    for (const token of [t.refresh_token, t.access_token]) {
      expect((await postForm(w, '/revoke', { token, client_id: other })).status).toBe(200);
    }
    expect((await callMcp(w, t.access_token)).status).toBe(200);
    expect((await postForm(w, '/token', { grant_type: 'refresh_token', refresh_token: t.refresh_token, client_id: t.clientId })).status).toBe(200);
    expect(w.logs.filter((l) => l.msg.includes("another client's token"))).toHaveLength(2);
  });

  test('[1.9] unknown tokens -> 200; missing token -> invalid_request; unknown client -> 401 invalid_client', async () => {
    await using w = await startOAuthWorld();
    const t = await obtainTokens(w);
    expect((await postForm(w, '/revoke', { token: 'garbage', client_id: t.clientId })).status).toBe(200);
    const missing = await postForm(w, '/revoke', { client_id: t.clientId });
    expect(missing.status).toBe(400);
    expect(((await missing.json()) as { error: string }).error).toBe('invalid_request');
    const unknown = await postForm(w, '/revoke', { token: t.refresh_token, client_id: 'who' });
    expect(unknown.status).toBe(401);
    expect(((await unknown.json()) as { error: string }).error).toBe('invalid_client');
    expect((await callMcp(w, t.access_token)).status).toBe(200);
  });
});
