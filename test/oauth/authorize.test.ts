/** @module /authorize: validation order, error page vs redirect, PKCE, resource, scope, consent page content and headers. */
import { describe, expect, test } from 'bun:test';
import { authorizeUrl, authParams, LOOPBACK_REDIRECT, openConsent, pkce, register, registerPublicClient } from '../helpers/oauth-client.ts';
import { startOAuthWorld, type OAuthWorld } from '../helpers/oauth-world.ts';

async function expectErrorPage(res: Response, text: RegExp) {
  expect(res.status).toBe(400);
  expect(res.headers.get('location')).toBeNull();
  expect(res.headers.get('content-type')).toContain('text/html');
  expect(await res.text()).toMatch(text);
}

async function expectErrorRedirect(w: OAuthWorld, url: string, error: string) {
  const res = await fetch(url, { redirect: 'manual' });
  expect(res.status).toBe(302);
  const loc = new URL(res.headers.get('location')!);
  expect(`${loc.origin}${loc.pathname}`).toBe(LOOPBACK_REDIRECT);
  expect(loc.searchParams.get('error')).toBe(error);
  expect(loc.searchParams.get('state')).toBe('st-123');
  expect(loc.searchParams.get('iss')).toBe(w.url);
  expect(loc.searchParams.get('code')).toBeNull();
  return loc.searchParams;
}

describe('authorize: client and redirect_uri first, shown as a page, never redirected', () => {
  test('[1.6] missing or unknown client_id -> 400 error page without Location', async () => {
    await using w = await startOAuthWorld();
    const { challenge } = pkce();
    await expectErrorPage(await fetch(authorizeUrl(w, { ...authParams(w, 'x', challenge), client_id: undefined }), { redirect: 'manual' }), /client_id is missing/);
    await expectErrorPage(await fetch(authorizeUrl(w, authParams(w, 'mcpgw_client_unknown', challenge)), { redirect: 'manual' }), /unknown client_id/);
  });

  test('[1.6] unregistered redirect_uri -> error page, even when other parameters are bad too', async () => {
    await using w = await startOAuthWorld();
    const id = await registerPublicClient(w);
    for (const redirect of ['https://evil.example/callback', 'http://127.0.0.1:9876/callback/../x', 'http://localhost:9876/callback']) {
      const res = await fetch(authorizeUrl(w, { ...authParams(w, id, 'bad'), redirect_uri: redirect, code_challenge_method: 'plain' }), { redirect: 'manual' });
      await expectErrorPage(res, /redirect_uri is not registered/);
    }
  });

  test('[1.4] loopback redirect with another port is accepted; localhost<->127.0.0.1 swap is not', async () => {
    await using w = await startOAuthWorld();
    const id = await registerPublicClient(w, 'http://localhost/callback');
    const { challenge } = pkce();
    const ok = await fetch(authorizeUrl(w, { ...authParams(w, id, challenge), redirect_uri: 'http://localhost:53682/callback' }));
    expect(ok.status).toBe(200);
    const swapped = await fetch(authorizeUrl(w, { ...authParams(w, id, challenge), redirect_uri: 'http://127.0.0.1:53682/callback' }));
    await expectErrorPage(swapped, /not registered/);
  });

  test('redirect_uri may be omitted only when exactly one is registered', async () => {
    await using w = await startOAuthWorld();
    const one = await registerPublicClient(w);
    const { challenge } = pkce();
    expect((await fetch(authorizeUrl(w, { ...authParams(w, one, challenge), redirect_uri: undefined }))).status).toBe(200);
    const two = ((await (await register(w, { redirect_uris: [LOOPBACK_REDIRECT, 'https://a.example/cb'] })).json()) as { client_id: string }).client_id;
    await expectErrorPage(await fetch(authorizeUrl(w, { ...authParams(w, two, challenge), redirect_uri: undefined })), /redirect_uri is required/);
  });

  test('[1.6] repeated parameters -> error page', async () => {
    await using w = await startOAuthWorld();
    const id = await registerPublicClient(w);
    const res = await fetch(`${authorizeUrl(w, authParams(w, id, pkce().challenge))}&client_id=${id}`);
    await expectErrorPage(res, /repeated/);
  });
});

describe('authorize: later errors redirect back with error, state and iss', () => {
  test('[1.6] PKCE is required and must be S256: missing, plain, absent method, malformed -> invalid_request', async () => {
    await using w = await startOAuthWorld();
    const id = await registerPublicClient(w);
    const { challenge } = pkce();
    await expectErrorRedirect(w, authorizeUrl(w, { ...authParams(w, id, challenge), code_challenge: undefined }), 'invalid_request');
    await expectErrorRedirect(w, authorizeUrl(w, { ...authParams(w, id, challenge), code_challenge_method: 'plain' }), 'invalid_request');
    await expectErrorRedirect(w, authorizeUrl(w, { ...authParams(w, id, challenge), code_challenge_method: undefined }), 'invalid_request');
    await expectErrorRedirect(w, authorizeUrl(w, { ...authParams(w, id, 'short') }), 'invalid_request');
  });

  test('[1.6] response_type other than code -> unsupported_response_type; missing -> invalid_request', async () => {
    await using w = await startOAuthWorld();
    const id = await registerPublicClient(w);
    const { challenge } = pkce();
    await expectErrorRedirect(w, authorizeUrl(w, { ...authParams(w, id, challenge), response_type: 'token' }), 'unsupported_response_type');
    await expectErrorRedirect(w, authorizeUrl(w, { ...authParams(w, id, challenge), response_type: undefined }), 'invalid_request');
  });

  test('[1.6] a foreign resource -> invalid_target; trailing slash, bare origin and absence are accepted', async () => {
    await using w = await startOAuthWorld();
    const id = await registerPublicClient(w);
    const { challenge } = pkce();
    await expectErrorRedirect(w, authorizeUrl(w, { ...authParams(w, id, challenge), resource: 'https://other.example/mcp' }), 'invalid_target');
    for (const resource of [`${w.url}/mcp/`, w.url, `${w.url}/`, undefined]) {
      expect((await fetch(authorizeUrl(w, { ...authParams(w, id, challenge), resource }))).status).toBe(200);
    }
  });

  test('[1.6] scope strings are tolerated: " offline_access", claudeai, "read write", prompt=consent', async () => {
    await using w = await startOAuthWorld();
    const id = await registerPublicClient(w);
    const { challenge } = pkce();
    for (const scope of [' offline_access', 'claudeai', 'read write', '']) {
      const { res, html } = await openConsent(authorizeUrl(w, { ...authParams(w, id, challenge), scope, prompt: 'consent' }));
      expect(res.status).toBe(200);
      expect(html).toContain('<code>mcp</code>');
    }
  });
});

describe('consent page', () => {
  test('[1.6] security headers: no framing, CSP without script, no-store, no-referrer, no CORS', async () => {
    await using w = await startOAuthWorld();
    const id = await registerPublicClient(w);
    const { res, html } = await openConsent(authorizeUrl(w, authParams(w, id, pkce().challenge)));
    expect(res.status).toBe(200);
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    const csp = res.headers.get('content-security-policy')!;
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("default-src 'none'");
    expect(csp).not.toContain('script-src');
    expect(csp).toContain("form-action 'self' http://127.0.0.1:9876");
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
    expect(html).not.toContain('<script');
    expect(html).toContain('name="viewport"');
    const nonce = /'nonce-([^']+)'/.exec(csp)![1];
    expect(html).toContain(`<style nonce="${nonce}">`);
    expect(html).not.toMatch(/(src|href)="https?:/);
  });

  test('[1.6] shows backends ticked by default, a password field, redirect host, and the self-asserted hint for DCR names', async () => {
    await using w = await startOAuthWorld({ backends: ['github', 'notes'] });
    const id = await registerPublicClient(w, LOOPBACK_REDIRECT, 'Claude');
    const { html, form } = await openConsent(authorizeUrl(w, authParams(w, id, pkce().challenge)));
    expect(form.backends).toEqual([{ name: 'github', checked: true }, { name: 'notes', checked: true }]);
    expect(html).toContain('type="password"');
    expect(html).toContain('<code>127.0.0.1:9876</code>');
    expect(html).toContain('self-asserted');
    expect(html).toContain('localhost');
    expect(Object.keys(form.hidden).sort()).toEqual(['client_id', 'code_challenge', 'csrf', 'redirect_uri', 'request']);
  });

  test('[1.6] every client-controlled string is escaped', async () => {
    await using w = await startOAuthWorld({ backends: ['<b>x</b>'] });
    const evil = '<script>alert("x")</script><img src=x onerror=alert(1)>';
    const id = await registerPublicClient(w, LOOPBACK_REDIRECT, evil);
    const { html } = await openConsent(authorizeUrl(w, authParams(w, id, pkce().challenge, { state: '"><script>alert(2)</script>' })));
    expect(html).not.toContain('<script>');
    expect(html).not.toContain('<img');
    expect(html).not.toContain('<b>x</b>');
    expect(html).toContain('&#60;script&#62;alert(&#34;x&#34;)&#60;/script&#62;');
  });

  test('[1.6] without password_hash the page says to run `mcpgw passwd` and offers no form', async () => {
    await using w = await startOAuthWorld({ settings: { password_hash: undefined } });
    const id = await registerPublicClient(w);
    const { res, html, form } = await openConsent(authorizeUrl(w, authParams(w, id, pkce().challenge)));
    expect(res.status).toBe(503);
    expect(html).toContain('mcpgw passwd');
    expect(html).not.toContain('<form');
    expect(form.hidden).toEqual({});
    expect((w.db.query('SELECT COUNT(*) AS n FROM authorization_requests').get() as { n: number }).n).toBe(0);
  });

  test('POST /authorize without a consent record is treated as an authorization request', async () => {
    await using w = await startOAuthWorld();
    const id = await registerPublicClient(w);
    const body = new URLSearchParams(authParams(w, id, pkce().challenge) as Record<string, string>);
    const res = await fetch(`${w.url}/authorize`, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('type="password"');
  });
});
