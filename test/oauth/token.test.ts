/** @module /token: code redemption rules, client authentication, refresh rotation with grace, error format. */
import { describe, expect, test } from 'bun:test';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import {
  approve,
  authorizeUrl,
  authParams,
  callMcp,
  CLAUDE_DCR_BODY,
  LOOPBACK_REDIRECT,
  obtainTokens,
  pkce,
  postForm,
  register,
  registerPublicClient,
} from '../helpers/oauth-client.ts';
import { startOAuthWorld, type OAuthWorld } from '../helpers/oauth-world.ts';

async function codeFor(w: OAuthWorld, clientId?: string) {
  const id = clientId ?? (await registerPublicClient(w));
  const { verifier, challenge } = pkce();
  const q = await approve(w, authorizeUrl(w, authParams(w, id, challenge)));
  return { clientId: id, verifier, code: q.get('code')! };
}

function redeem(w: OAuthWorld, c: { clientId: string; verifier: string; code: string }, over: Record<string, string | undefined> = {}) {
  return postForm(w, '/token', {
    grant_type: 'authorization_code',
    code: c.code,
    code_verifier: c.verifier,
    redirect_uri: LOOPBACK_REDIRECT,
    client_id: c.clientId,
    resource: w.resource,
    ...over,
  });
}

async function expectOAuthError(res: Response, status: number, error: string) {
  expect(res.status).toBe(status);
  expect(res.headers.get('cache-control')).toBe('no-store');
  expect(res.headers.get('pragma')).toBe('no-cache');
  expect(res.headers.get('content-type')).toContain('application/json');
  const body = (await res.json()) as { error: string; error_description: string };
  expect(body.error).toBe(error);
  expect(body.error_description).toBeString();
}

describe('authorization_code grant', () => {
  test('[1.7] exchange returns Bearer at+jwt, refresh token, expires_in, scope; no-store; aud = resource', async () => {
    await using w = await startOAuthWorld();
    const c = await codeFor(w);
    const res = await redeem(w, c);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('pragma')).toBe('no-cache');
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    const t = (await res.json()) as Record<string, string | number>;
    expect(t).toMatchObject({ token_type: 'Bearer', expires_in: 3600, scope: 'mcp' });
    expect(String(t.refresh_token)).toStartWith('mcpgw_rt_');
    expect(decodeProtectedHeader(String(t.access_token))).toMatchObject({ alg: 'ES256', typ: 'at+jwt' });
    const claims = decodeJwt(String(t.access_token));
    expect(claims).toMatchObject({ iss: w.url, aud: w.resource, sub: 'owner', client_id: c.clientId, scope: 'mcp' });
    expect(claims.exp! - claims.iat!).toBe(3600);
    expect(claims.iat).toBe(Math.floor(w.clock.now() / 1000));
    expect(claims.jti).toBeString();
    expect(claims.backends).toBeUndefined(); // all backends
  });

  test('[1.6][1.7] a reused code -> invalid_grant and the tokens from the first redemption are revoked', async () => {
    await using w = await startOAuthWorld();
    const c = await codeFor(w);
    const first = (await (await redeem(w, c)).json()) as { access_token: string; refresh_token: string };
    expect((await callMcp(w, first.access_token)).status).toBe(200);
    await expectOAuthError(await redeem(w, c), 400, 'invalid_grant');
    expect((await callMcp(w, first.access_token)).status).toBe(401);
    await expectOAuthError(await postForm(w, '/token', { grant_type: 'refresh_token', refresh_token: first.refresh_token, client_id: c.clientId }), 400, 'invalid_grant');
    expect(w.logs.some((l) => l.msg.includes('code reused'))).toBe(true);
  });

  test('[1.7] wrong verifier, wrong/missing redirect_uri, other client, unknown code -> invalid_grant', async () => {
    await using w = await startOAuthWorld();
    const c = await codeFor(w);
    await expectOAuthError(await redeem(w, c, { code_verifier: pkce().verifier }), 400, 'invalid_grant');
    await expectOAuthError(await redeem(w, c, { redirect_uri: 'http://127.0.0.1:1/callback' }), 400, 'invalid_grant');
    await expectOAuthError(await redeem(w, c, { redirect_uri: undefined }), 400, 'invalid_grant');
    const other = await registerPublicClient(w);
    await expectOAuthError(await redeem(w, c, { client_id: other }), 400, 'invalid_grant');
    await expectOAuthError(await redeem(w, c, { code: 'nope' }), 400, 'invalid_grant');
    expect((await redeem(w, c)).status).toBe(200); // failed attempts did not burn the code
  });

  test('[1.7] codes expire after code_ttl', async () => {
    await using w = await startOAuthWorld({ settings: { code_ttl: 60_000 } });
    const c = await codeFor(w);
    w.clock.advance(60_001);
    await expectOAuthError(await redeem(w, c), 400, 'invalid_grant');
  });

  test('[1.7] resource must match the authorization -> invalid_target; trailing slash tolerated', async () => {
    await using w = await startOAuthWorld();
    const c = await codeFor(w);
    await expectOAuthError(await redeem(w, c, { resource: 'https://other.example/mcp' }), 400, 'invalid_target');
    expect((await redeem(w, c, { resource: `${w.url}/mcp/` })).status).toBe(200);
  });

  test('[1.7] malformed requests: missing grant_type, unknown grant, missing verifier, repeated parameter, wrong media type', async () => {
    await using w = await startOAuthWorld();
    const c = await codeFor(w);
    await expectOAuthError(await redeem(w, c, { grant_type: undefined }), 400, 'invalid_request');
    await expectOAuthError(await redeem(w, c, { grant_type: 'password' }), 400, 'unsupported_grant_type');
    await expectOAuthError(await redeem(w, c, { code_verifier: undefined }), 400, 'invalid_request');
    const dup = await fetch(`${w.url}/token`, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: `grant_type=authorization_code&code=${c.code}&code=${c.code}` });
    await expectOAuthError(dup, 400, 'invalid_request');
    const json = await fetch(`${w.url}/token`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ grant_type: 'authorization_code' }) });
    await expectOAuthError(json, 400, 'invalid_request');
  });
});

describe('client authentication', () => {
  test('[1.5][1.7] a DCR client_secret_post client authenticates with post or basic; wrong secret -> 401 invalid_client', async () => {
    await using w = await startOAuthWorld();
    const reg = (await (await register(w, { ...CLAUDE_DCR_BODY, redirect_uris: [LOOPBACK_REDIRECT] })).json()) as { client_id: string; client_secret: string };
    const c1 = await codeFor(w, reg.client_id);
    await expectOAuthError(await redeem(w, c1), 401, 'invalid_client'); // secret missing
    await expectOAuthError(await redeem(w, c1, { client_secret: 'wrong' }), 401, 'invalid_client');
    expect((await redeem(w, c1, { client_secret: reg.client_secret })).status).toBe(200);
    const c2 = await codeFor(w, reg.client_id);
    const basic = (id: string, secret: string) => ({ Authorization: `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}` });
    const bad = await postForm(w, '/token', { grant_type: 'authorization_code', code: c2.code, code_verifier: c2.verifier, redirect_uri: LOOPBACK_REDIRECT }, basic(reg.client_id, 'nope'));
    await expectOAuthError(bad, 401, 'invalid_client');
    expect(bad.headers.get('www-authenticate')).toBe('Basic realm="mcpgw"');
    const good = await postForm(w, '/token', { grant_type: 'authorization_code', code: c2.code, code_verifier: c2.verifier, redirect_uri: LOOPBACK_REDIRECT }, basic(reg.client_id, reg.client_secret));
    expect(good.status).toBe(200);
  });

  test('[1.7] a public client presenting a secret, an unknown client, or no client -> 401 invalid_client', async () => {
    await using w = await startOAuthWorld();
    const c = await codeFor(w);
    await expectOAuthError(await redeem(w, c, { client_secret: 'x' }), 401, 'invalid_client');
    await expectOAuthError(await redeem(w, c, { client_id: 'who' }), 401, 'invalid_client');
    await expectOAuthError(await redeem(w, c, { client_id: undefined }), 401, 'invalid_client');
  });

  test('[1.4] pre-registered clients from config: public and confidential (PHC secret hash)', async () => {
    const secretHash = await Bun.password.hash('s3cret', { algorithm: 'argon2id', memoryCost: 4096, timeCost: 1 });
    await using w = await startOAuthWorld({
      settings: {
        registration: { enabled: false },
        clients: [
          { client_id: 'cli-public', client_name: 'My CLI', redirect_uris: [LOOPBACK_REDIRECT] },
          { client_id: 'cli-secret', redirect_uris: [LOOPBACK_REDIRECT], client_secret_hash: secretHash },
        ],
      },
    });
    expect((await obtainTokens(w, { clientId: 'cli-public' })).access_token).toBeString();
    const c = await codeFor(w, 'cli-secret');
    await expectOAuthError(await redeem(w, c), 401, 'invalid_client');
    expect((await redeem(w, c, { client_secret: 's3cret' })).status).toBe(200);
  });
});

describe('refresh_token grant', () => {
  test('[1.7] rotation: a new pair each time; the new access token works', async () => {
    await using w = await startOAuthWorld();
    const t = await obtainTokens(w);
    const res = await postForm(w, '/token', { grant_type: 'refresh_token', refresh_token: t.refresh_token, client_id: t.clientId });
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const n = (await res.json()) as { access_token: string; refresh_token: string; scope: string };
    expect(n.refresh_token).not.toBe(t.refresh_token);
    expect(n.scope).toBe('mcp');
    expect((await callMcp(w, n.access_token)).status).toBe(200);
  });

  test('[1.7] a refresh token presented by another client -> invalid_grant, and it keeps working for its owner', async () => {
    await using w = await startOAuthWorld();
    const t = await obtainTokens(w);
    const other = await registerPublicClient(w);
    await expectOAuthError(await postForm(w, '/token', { grant_type: 'refresh_token', refresh_token: t.refresh_token, client_id: other }), 400, 'invalid_grant');
    expect((await postForm(w, '/token', { grant_type: 'refresh_token', refresh_token: t.refresh_token, client_id: t.clientId })).status).toBe(200);
  });

  test('[1.7] reuse inside refresh_grace succeeds; reuse after it -> invalid_grant and the family is revoked', async () => {
    await using w = await startOAuthWorld({ settings: { refresh_grace: 120_000 } });
    const t = await obtainTokens(w);
    const refresh = () => postForm(w, '/token', { grant_type: 'refresh_token', refresh_token: t.refresh_token, client_id: t.clientId });
    const a = (await (await refresh()).json()) as { access_token: string; refresh_token: string };
    w.clock.advance(119_000);
    const b = await refresh();
    expect(b.status).toBe(200);
    w.clock.advance(2_000);
    await expectOAuthError(await refresh(), 400, 'invalid_grant');
    expect((await callMcp(w, a.access_token)).status).toBe(401);
    await expectOAuthError(await postForm(w, '/token', { grant_type: 'refresh_token', refresh_token: a.refresh_token, client_id: t.clientId }), 400, 'invalid_grant');
  });

  test('[1.7] refresh tokens expire after refresh_token_ttl; unknown ones are invalid_grant', async () => {
    await using w = await startOAuthWorld({ settings: { refresh_token_ttl: 24 * 60 * 60 * 1000 } });
    const t = await obtainTokens(w);
    await expectOAuthError(await postForm(w, '/token', { grant_type: 'refresh_token', refresh_token: 'mcpgw_rt_nope', client_id: t.clientId }), 400, 'invalid_grant');
    w.clock.advance(24 * 60 * 60 * 1000 + 1);
    await expectOAuthError(await postForm(w, '/token', { grant_type: 'refresh_token', refresh_token: t.refresh_token, client_id: t.clientId }), 400, 'invalid_grant');
  });

  test('[1.7] refresh with a foreign resource -> invalid_target', async () => {
    await using w = await startOAuthWorld();
    const t = await obtainTokens(w);
    await expectOAuthError(
      await postForm(w, '/token', { grant_type: 'refresh_token', refresh_token: t.refresh_token, client_id: t.clientId, resource: 'https://x.example/mcp' }),
      400,
      'invalid_target',
    );
  });
});

describe('storage', () => {
  test('[6] tokens and codes are stored only as hashes', async () => {
    await using w = await startOAuthWorld();
    const t = await obtainTokens(w);
    const dump = JSON.stringify(['clients', 'authorization_codes', 'refresh_tokens', 'access_tokens', 'grants'].map((tb) => w.db.query(`SELECT * FROM ${tb}`).all()));
    expect(dump).not.toContain(t.refresh_token);
    expect(dump).not.toContain(t.access_token);
  });
});
