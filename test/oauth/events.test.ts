/** The authorization server reports each sign-in step outcome with identifiers only (issue 9 items 1 and 4). */
import { describe, expect, test } from 'bun:test';
import { approve, authorizeUrl, authParams, LOOPBACK_REDIRECT, obtainTokens, openConsent, pkce, postForm, registerPublicClient, submitConsent } from '../helpers/oauth-client.ts';
import { startOAuthWorld } from '../helpers/oauth-world.ts';

describe('auth server events', () => {
  test('issue 9 item 4: registration, failed password, denial, consent, tokens, refresh and revocation each report one event', async () => {
    await using w = await startOAuthWorld();
    const clientId = await registerPublicClient(w);
    const page = async () => (await openConsent(authorizeUrl(w, authParams(w, clientId, pkce().challenge)))).form;
    expect((await submitConsent(w, await page(), { password: 'nope' })).status).toBe(403);
    expect((await submitConsent(w, await page(), { action: 'deny' })).status).toBe(302);
    const t = await obtainTokens(w, { clientId });
    const grantId = w.events.find((e) => e.type === 'tokens_issued')?.grantId;
    expect(grantId).toStartWith('g_');
    const next = (await (await postForm(w, '/token', { grant_type: 'refresh_token', refresh_token: t.refresh_token, client_id: clientId })).json()) as { refresh_token: string };
    expect((await postForm(w, '/revoke', { token: next.refresh_token, client_id: clientId })).status).toBe(200);
    expect(w.events).toEqual([
      { type: 'client_registered', clientId },
      { type: 'password_failed', clientId },
      { type: 'consent_denied', clientId },
      { type: 'consent_granted', clientId },
      { type: 'tokens_issued', clientId, grantId },
      { type: 'tokens_refreshed', clientId, grantId },
      { type: 'tokens_revoked', clientId, grantId },
    ]);
  });

  test('issue 9 item 4: a reused authorization code and a refresh token reused after the grace window report token_reuse_detected', async () => {
    await using w = await startOAuthWorld({ settings: { refresh_grace: 1000 } });
    const clientId = await registerPublicClient(w);
    const { verifier, challenge } = pkce();
    const code = (await approve(w, authorizeUrl(w, authParams(w, clientId, challenge)))).get('code')!;
    const redeem = () => postForm(w, '/token', { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: LOOPBACK_REDIRECT, client_id: clientId, resource: w.resource });
    expect((await redeem()).status).toBe(200);
    expect((await redeem()).status).toBe(400);
    const t = await obtainTokens(w, { clientId });
    const refresh = () => postForm(w, '/token', { grant_type: 'refresh_token', refresh_token: t.refresh_token, client_id: clientId });
    expect((await refresh()).status).toBe(200);
    w.clock.advance(2000);
    expect((await refresh()).status).toBe(400);
    const reuse = w.events.filter((e) => e.type === 'token_reuse_detected');
    expect(reuse).toHaveLength(2);
    expect(reuse.every((e) => e.clientId === clientId && e.grantId?.startsWith('g_'))).toBe(true);
    expect(reuse[0]!.grantId).not.toBe(reuse[1]!.grantId);
  });
});
