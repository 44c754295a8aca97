/** @module A claude.ai-shaped connection (spec-checklist [4.1]): exact DCR body, odd scope, trailing-slash resource, concurrent refreshes. */
import { describe, expect, test } from 'bun:test';
import { decodeJwt } from 'jose';
import { callMcp, CLAUDE_DCR_BODY, openConsent, pkce, postForm, register, submitConsent } from '../helpers/oauth-client.ts';
import { startOAuthWorld } from '../helpers/oauth-world.ts';

const CALLBACK = 'https://claude.ai/api/mcp/auth_callback';

describe('claude.ai sequence', () => {
  test('[4.1][1.1][1.5][1.6][1.7] DCR -> authorize(" offline_access", resource/) -> token -> concurrent refreshes in grace -> reuse after grace revokes the family', async () => {
    await using w = await startOAuthWorld({ settings: { refresh_grace: 2 * 60 * 1000 } });
    // Unauthenticated probe: initialize with Accept */* gets 401, never 406/400.
    const probe = await fetch(`${w.url}/mcp`, {
      method: 'POST',
      headers: { Accept: '*/*', 'Content-Type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'Anthropic', version: '1.0.0' } } }),
    });
    expect(probe.status).toBe(401);
    expect(probe.headers.get('www-authenticate')).toBe(`Bearer resource_metadata="${w.url}/.well-known/oauth-protected-resource/mcp"`);

    const reg = await register(w, CLAUDE_DCR_BODY, { 'User-Agent': 'python-httpx/0.28.1' });
    expect(reg.status).toBe(201);
    const client = (await reg.json()) as { client_id: string; client_secret: string; token_endpoint_auth_method: string };
    expect(client.token_endpoint_auth_method).toBe('client_secret_post');

    const { verifier, challenge } = pkce();
    const url = new URL(`${w.url}/authorize`);
    for (const [k, v] of Object.entries({
      response_type: 'code',
      client_id: client.client_id,
      redirect_uri: CALLBACK,
      code_challenge: challenge,
      code_challenge_method: 'S256',
      state: 'claude-state-Zx9',
      scope: ' offline_access',
      resource: `${w.url}/`,
      prompt: 'consent',
    })) url.searchParams.set(k, v);
    const page = await openConsent(url.href);
    expect(page.res.status).toBe(200);
    expect(page.html).toContain('<code>claude.ai</code>');
    const post = await submitConsent(w, page.form);
    expect(post.status).toBe(302);
    const cb = new URL(post.headers.get('location')!);
    expect(`${cb.origin}${cb.pathname}`).toBe(CALLBACK);
    expect(cb.searchParams.get('state')).toBe('claude-state-Zx9');
    expect(cb.searchParams.get('iss')).toBe(w.url);

    const tokenRes = await postForm(w, '/token', {
      grant_type: 'authorization_code',
      code: cb.searchParams.get('code')!,
      code_verifier: verifier,
      redirect_uri: CALLBACK,
      client_id: client.client_id,
      client_secret: client.client_secret,
      resource: `${w.url}/`,
    });
    expect(tokenRes.status).toBe(200);
    const tokens = (await tokenRes.json()) as { access_token: string; refresh_token: string; scope: string };
    expect(tokens.refresh_token).toBeString(); // issued without offline_access being understood
    expect(tokens.scope).toBe('mcp');
    expect(decodeJwt(tokens.access_token).aud).toBe(w.resource);
    expect((await callMcp(w, tokens.access_token)).status).toBe(200);

    const refresh = () =>
      postForm(w, '/token', { grant_type: 'refresh_token', refresh_token: tokens.refresh_token, client_id: client.client_id, client_secret: client.client_secret, resource: `${w.url}/` });
    // Two concurrent refreshes with the same token, right after the exchange: both succeed.
    const [r1, r2] = await Promise.all([refresh(), refresh()]);
    expect([r1.status, r2.status]).toEqual([200, 200]);
    const p1 = (await r1.json()) as { access_token: string; refresh_token: string };
    const p2 = (await r2.json()) as { access_token: string; refresh_token: string };
    expect(p1.refresh_token).not.toBe(p2.refresh_token);
    expect((await callMcp(w, p1.access_token)).status).toBe(200);
    expect((await callMcp(w, p2.access_token)).status).toBe(200);

    // One more after the grace window: invalid_grant, and the whole family is revoked.
    w.clock.advance(2 * 60 * 1000 + 1);
    const late = await refresh();
    expect(late.status).toBe(400);
    expect(((await late.json()) as { error: string }).error).toBe('invalid_grant');
    for (const p of [p1, p2]) {
      expect((await callMcp(w, p.access_token)).status).toBe(401);
      const r = await postForm(w, '/token', { grant_type: 'refresh_token', refresh_token: p.refresh_token, client_id: client.client_id, client_secret: client.client_secret });
      expect(r.status).toBe(400);
    }
  });
});
