/** @module Resource-server check on /mcp: challenge format, token validation, per-request revocation, personal tokens. */
import { describe, expect, test } from 'bun:test';
import { importJWK, SignJWT, type JWK } from 'jose';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SIGNING_KEY_FILE } from '../../src/oauth/keys.ts';
import { openStore } from '../../src/store/db.ts';
import { revokeAll, revokeClient, revokeGrant } from '../../src/store/grants.ts';
import { createPersonalToken } from '../../src/store/personal-tokens.ts';
import { manualClock, secureRandom } from '../../src/deps.ts';
import { createBearerVerifier } from '../../src/auth/verifier.ts';
import { silentLogger } from '../../src/log.ts';
import type { Endpoints } from '../../src/oauth/metadata.ts';
import type { SigningKey } from '../../src/oauth/keys.ts';
import { callMcp, obtainTokens, postForm } from '../helpers/oauth-client.ts';
import { startOAuthWorld, type OAuthWorld } from '../helpers/oauth-world.ts';

/** Resolves with the next grant ids the auth server reports revoked; rejects after `ms`. */
function nextRevocation(w: OAuthWorld, ms = 1000): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`no revocation reported within ${ms} ms`));
    }, ms);
    const off = w.auth.onRevoked((ids) => {
      clearTimeout(timer);
      off();
      resolve(ids);
    });
  });
}

async function grantOf(w: OAuthWorld, token: string): Promise<string> {
  return ((await (await callMcp(w, token)).json()) as { principal: { grantId: string } }).principal.grantId;
}

function prmUrl(w: OAuthWorld) {
  return `${w.url}/.well-known/oauth-protected-resource/mcp`;
}

async function expectInvalidToken(w: OAuthWorld, token: string) {
  const res = await callMcp(w, token);
  expect(res.status).toBe(401);
  const h = res.headers.get('www-authenticate')!;
  expect(h).toStartWith(`Bearer resource_metadata="${prmUrl(w)}", error="invalid_token"`);
  expect(((await res.json()) as { error: string }).error).toBe('invalid_token');
}

/** Signs with the gateway's real private key, to show claim checks hold even with a valid signature. */
async function signWithGatewayKey(w: OAuthWorld, claims: Record<string, unknown>, header: Record<string, unknown> = {}) {
  const file = JSON.parse(readFileSync(join(w.dataDir, SIGNING_KEY_FILE), 'utf8')) as { jwk: JWK };
  const key = await importJWK(file.jwk, 'ES256');
  const now = Math.floor(w.clock.now() / 1000);
  return new SignJWT({ client_id: 'c', scope: 'mcp', jti: 'j', sub: 'owner', iss: w.url, aud: w.resource, iat: now, exp: now + 3600, ...claims })
    .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', ...header })
    .sign(key);
}

describe('the 401 challenge', () => {
  test('[1.1] no token -> 401 with exactly `Bearer resource_metadata="<abs path-inserted PRM>"`, for POST, GET and DELETE', async () => {
    await using w = await startOAuthWorld();
    for (const method of ['POST', 'GET', 'DELETE']) {
      const res = await fetch(`${w.url}/mcp`, { method, headers: { Accept: '*/*' }, body: method === 'POST' ? '{"jsonrpc":"2.0","id":1,"method":"initialize"}' : undefined });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe(`Bearer resource_metadata="${prmUrl(w)}"`);
      expect(res.headers.get('cache-control')).toBe('no-store');
    }
  });

  test('[1.1] a non-Bearer scheme counts as no token; a malformed bearer counts as invalid_token', async () => {
    await using w = await startOAuthWorld();
    const basic = await fetch(`${w.url}/mcp`, { headers: { Authorization: 'Basic dXNlcjpwdw==' } });
    expect(basic.headers.get('www-authenticate')).toBe(`Bearer resource_metadata="${prmUrl(w)}"`);
    await expectInvalidToken(w, 'not a token');
    await expectInvalidToken(w, 'abc.def.ghi');
  });

  test('[1.1] a token in the query string is refused (400 invalid_request), even next to a valid header', async () => {
    await using w = await startOAuthWorld();
    const t = await obtainTokens(w);
    for (const headers of [{}, { Authorization: `Bearer ${t.access_token}` }] as Record<string, string>[]) {
      const res = await fetch(`${w.url}/mcp?access_token=${t.access_token}`, { method: 'POST', headers });
      expect(res.status).toBe(400);
      expect(res.headers.get('www-authenticate')).toContain('error="invalid_request"');
      expect(res.headers.get('www-authenticate')).toContain(`resource_metadata="${prmUrl(w)}"`);
    }
  });

  test('/status is protected the same way', async () => {
    await using w = await startOAuthWorld();
    expect((await fetch(`${w.url}/status`)).status).toBe(401);
    const t = await obtainTokens(w);
    expect((await callMcp(w, t.access_token, { path: '/status', method: 'GET', body: undefined })).status).toBe(200);
  });
});

describe('token validation [1.8]', () => {
  test('a valid token yields the principal with client, grant, backends, scopes, expiry', async () => {
    await using w = await startOAuthWorld();
    const t = await obtainTokens(w, { backends: ['notes'] });
    const res = await callMcp(w, t.access_token);
    const { principal } = (await res.json()) as { principal: Record<string, unknown> };
    expect(principal).toMatchObject({ subject: 'owner', clientId: t.clientId, clientName: 'Test client', backends: ['notes'], scopes: ['mcp'], kind: 'oauth' });
    expect(principal.expiresAt).toBe(w.clock.now() + 3600_000);
    expect(String(principal.grantId)).toStartWith('g_');
  });

  test('alg none, HS256 (key confusion), foreign issuer, wrong audience, missing typ -> 401 invalid_token', async () => {
    await using w = await startOAuthWorld();
    const t = await obtainTokens(w);
    const [h, p] = t.access_token.split('.');
    const none = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'at+jwt' })).toString('base64url')}.${p}.`;
    await expectInvalidToken(w, none);
    const jwks = (await (await fetch(`${w.url}/jwks.json`)).json()) as { keys: JWK[] };
    const hs = await new SignJWT(JSON.parse(Buffer.from(p!, 'base64url').toString()))
      .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt' })
      .sign(new TextEncoder().encode(JSON.stringify(jwks.keys[0])));
    await expectInvalidToken(w, hs);
    await expectInvalidToken(w, await signWithGatewayKey(w, { iss: 'https://evil.example' }));
    await expectInvalidToken(w, await signWithGatewayKey(w, { aud: 'https://other.example/mcp' }));
    await expectInvalidToken(w, await signWithGatewayKey(w, { aud: w.url }));
    await expectInvalidToken(w, await signWithGatewayKey(w, {}, { typ: 'JWT' }));
    await expectInvalidToken(w, `${h}.${p}.AAAA`); // bad signature
  });

  test('a correctly signed token that mcpgw never issued (unknown jti) is refused', async () => {
    await using w = await startOAuthWorld();
    await expectInvalidToken(w, await signWithGatewayKey(w, { jti: 'never-issued' }));
  });

  test('expiry uses the injected clock', async () => {
    await using w = await startOAuthWorld();
    const t = await obtainTokens(w);
    w.clock.advance(3600_000 - 1000);
    expect((await callMcp(w, t.access_token)).status).toBe(200);
    w.clock.advance(1000);
    await expectInvalidToken(w, t.access_token);
  });

  test('[1.8] revocation written by another connection (another process, e.g. the CLI) applies within 1 s', async () => {
    await using w = await startOAuthWorld();
    const a = await obtainTokens(w);
    const b = await obtainTokens(w);
    const c = await obtainTokens(w);
    const grantId = await grantOf(w, a.access_token);
    const cli = openStore(w.dbPath);
    const started = performance.now();
    let revoked = nextRevocation(w);
    expect(revokeGrant(cli, grantId, Date.now())).toBe(true);
    expect(await revoked).toEqual([grantId]);
    await expectInvalidToken(w, a.access_token);
    expect(performance.now() - started).toBeLessThan(1000);
    const bGrant = await grantOf(w, b.access_token);
    revoked = nextRevocation(w);
    expect(revokeClient(cli, b.clientId, Date.now())).toBe(1);
    expect(await revoked).toEqual([bGrant]);
    await expectInvalidToken(w, b.access_token);
    const cGrant = await grantOf(w, c.access_token);
    revoked = nextRevocation(w);
    expect(revokeAll(cli, Date.now())).toBe(1);
    expect(await revoked).toEqual([cGrant]);
    await expectInvalidToken(w, c.access_token);
    cli.close();
  });

  test('[1.8] revocation by a separate OS process writing the same database file applies within 1 s', async () => {
    await using w = await startOAuthWorld();
    const t = await obtainTokens(w);
    const grantId = ((await (await callMcp(w, t.access_token)).json()) as { principal: { grantId: string } }).principal.grantId;
    const script = join(w.dataDir, 'revoke.ts');
    const root = join(import.meta.dir, '..', '..');
    await Bun.write(
      script,
      `import { openStore } from ${JSON.stringify(join(root, 'src/store/db.ts'))};
import { revokeGrant } from ${JSON.stringify(join(root, 'src/store/grants.ts'))};
const db = openStore(process.argv[2]!);
console.log(revokeGrant(db, process.argv[3]!, Date.now()));
db.close();`,
    );
    const child = Bun.spawn([process.execPath, script, w.dbPath, grantId], { stdout: 'pipe', stderr: 'inherit' });
    expect(await child.exited).toBe(0);
    const committed = performance.now();
    expect((await new Response(child.stdout).text()).trim()).toBe('true');
    let status = 0;
    while (performance.now() - committed < 1000) {
      status = (await callMcp(w, t.access_token)).status;
      if (status === 401) break;
    }
    expect(status).toBe(401);
  });

  test('issue 7 item 11: last use is recorded in batches: not per request, but on flush (here: close)', async () => {
    await using w = await startOAuthWorld();
    const t = await obtainTokens(w);
    const lastUsed = () => (w.db.query('SELECT last_used_at FROM grants').get() as { last_used_at: number | null }).last_used_at;
    w.clock.advance(5000);
    expect((await callMcp(w, t.access_token)).status).toBe(200);
    w.clock.advance(1000);
    expect((await callMcp(w, t.access_token)).status).toBe(200);
    expect(lastUsed()).toBeNull();
    w.auth.close();
    expect(lastUsed()).toBe(w.clock.now());
  });
});

describe('verified-token cache (issue 7 item 11: the token check costs nothing per call)', () => {
  /** Counts the statements the auth server prepares on its connection, apart from the revocation poll. */
  function countQueries(w: OAuthWorld): { readonly n: number } {
    const counter = { n: 0 };
    const query = w.db.query.bind(w.db);
    w.db.query = ((sql: string) => {
      if (!sql.startsWith('PRAGMA data_version')) counter.n++;
      return query(sql);
    }) as typeof w.db.query;
    return counter;
  }

  test('issue 7 item 11: a repeated bearer makes no database query until the cache entry ages out', async () => {
    await using w = await startOAuthWorld({ bearerCache: { cacheTtl: 5000 } });
    const t = await obtainTokens(w);
    const pat = createPersonalToken(w.db, { name: 'bench', backends: null, resource: w.resource, now: w.clock.now(), random: secureRandom });
    const queries = countQueries(w);
    for (const token of [t.access_token, pat.token]) expect((await callMcp(w, token)).status).toBe(200);
    const afterFirst = queries.n;
    expect(afterFirst).toBeGreaterThan(0);
    for (let i = 0; i < 20; i++) for (const token of [t.access_token, pat.token]) expect((await callMcp(w, token)).status).toBe(200);
    expect(queries.n).toBe(afterFirst);
    w.clock.advance(5000);
    expect((await callMcp(w, t.access_token)).status).toBe(200);
    expect(queries.n).toBeGreaterThan(afterFirst);
  });

  test('a cached token still expires on the injected clock', async () => {
    await using w = await startOAuthWorld({ bearerCache: { cacheTtl: 60 * 60 * 1000 } });
    const t = await obtainTokens(w);
    w.clock.advance(3600_000 - 1);
    expect((await callMcp(w, t.access_token)).status).toBe(200);
    w.clock.advance(1);
    await expectInvalidToken(w, t.access_token);
  });

  test('issue 7 item 11: /revoke of a refresh token -> the next request is 401 at once and onRevoked fires', async () => {
    await using w = await startOAuthWorld({ bearerCache: { pollInterval: 60_000 } });
    const t = await obtainTokens(w);
    const grantId = await grantOf(w, t.access_token);
    const seen: string[][] = [];
    w.auth.onRevoked((ids) => seen.push(ids));
    expect((await postForm(w, '/revoke', { token: t.refresh_token, client_id: t.clientId })).status).toBe(200);
    expect(seen).toEqual([[grantId]]);
    await expectInvalidToken(w, t.access_token);
  });

  test('issue 7 item 11: /revoke of an access token drops it from the cache at once (its grant lives on)', async () => {
    await using w = await startOAuthWorld({ bearerCache: { pollInterval: 60_000 } });
    const t = await obtainTokens(w);
    expect((await callMcp(w, t.access_token)).status).toBe(200);
    const seen: string[][] = [];
    w.auth.onRevoked((ids) => seen.push(ids));
    expect((await postForm(w, '/revoke', { token: t.access_token, client_id: t.clientId })).status).toBe(200);
    await expectInvalidToken(w, t.access_token);
    expect(seen).toEqual([]);
  });

  test('issue 7 item 11: a grant revoked by a separate connection (the CLI) -> onRevoked within 1 s, then 401, also after its cache entry aged out', async () => {
    await using w = await startOAuthWorld({ bearerCache: { cacheTtl: 5000 } });
    const a = await obtainTokens(w);
    const b = await obtainTokens(w);
    const aGrant = await grantOf(w, a.access_token);
    const bGrant = await grantOf(w, b.access_token);
    w.clock.advance(10_000); // both cache entries are stale now; the grants are still watched
    const cli = openStore(w.dbPath);
    try {
      const revoked = nextRevocation(w, 1000);
      expect(revokeAll(cli, Date.now(), 'test')).toBe(2);
      expect((await revoked).sort()).toEqual([aGrant, bGrant].sort());
    } finally {
      cli.close();
    }
    await expectInvalidToken(w, a.access_token);
    await expectInvalidToken(w, b.access_token);
  });

  test('a listener that throws does not stop the others; unsubscribing works', async () => {
    await using w = await startOAuthWorld({ bearerCache: { pollInterval: 60_000 } });
    const t = await obtainTokens(w);
    const seen: string[][] = [];
    w.auth.onRevoked(() => {
      throw new Error('boom');
    });
    const off = w.auth.onRevoked((ids) => seen.push(ids));
    off();
    const kept: string[][] = [];
    w.auth.onRevoked((ids) => kept.push(ids));
    await postForm(w, '/revoke', { token: t.refresh_token, client_id: t.clientId });
    expect(seen).toEqual([]);
    expect(kept).toHaveLength(1);
    expect(w.logs.some((l) => l.msg === 'revocation listener failed')).toBe(true);
  });
});

describe('personal access tokens', () => {
  test('an mcpgw_pat_ token is accepted with kind personal and its backends; revoked or expired -> 401', async () => {
    await using w = await startOAuthWorld();
    const now = w.clock.now();
    const pat = createPersonalToken(w.db, { name: 'backup job', backends: ['github'], resource: w.resource, now, expiresAt: now + 10_000, random: secureRandom });
    const res = await callMcp(w, pat.token);
    expect(res.status).toBe(200);
    const { principal } = (await res.json()) as { principal: Record<string, unknown> };
    expect(principal).toMatchObject({ kind: 'personal', clientName: 'backup job', backends: ['github'], grantId: pat.grantId, expiresAt: now + 10_000 });
    w.clock.advance(10_000);
    await expectInvalidToken(w, pat.token);
    const forever = createPersonalToken(w.db, { name: 'x', backends: null, resource: w.resource, now, random: secureRandom });
    expect((await callMcp(w, forever.token)).status).toBe(200);
    const cli = openStore(w.dbPath);
    const revoked = nextRevocation(w);
    revokeGrant(cli, forever.grantId, now);
    cli.close();
    expect(await revoked).toEqual([forever.grantId]);
    await expectInvalidToken(w, forever.token);
    await expectInvalidToken(w, 'mcpgw_pat_doesnotexist');
  });

  test('a personal token made for another public_url is refused', async () => {
    await using w = await startOAuthWorld();
    const pat = createPersonalToken(w.db, { name: 'x', backends: null, resource: 'https://old.example/mcp', now: w.clock.now(), random: secureRandom });
    await expectInvalidToken(w, pat.token);
  });
});

test('issue 7 item 11: tokens are cached as they are, so one not presented again is forgotten once its time is up', async () => {
  const db = openStore(':memory:');
  const clock = manualClock(Date.UTC(2026, 0, 1));
  const base = 'https://gw.example.com';
  const endpoints = { issuer: base, resource: `${base}/mcp`, resourceMetadata: `${base}/.well-known/oauth-protected-resource/mcp` } as Endpoints;
  const verifier = createBearerVerifier({ endpoints, db, key: {} as SigningKey, clock, log: silentLogger }, { cacheTtl: 5000, pollInterval: 60_000, flushInterval: 60_000 });
  try {
    const pat = createPersonalToken(db, { name: 'a', backends: null, resource: endpoints.resource, now: clock.now(), random: secureRandom });
    const call = () => verifier.authenticate(new Request(endpoints.resource, { method: 'POST', headers: { authorization: `Bearer ${pat.token}` } }));
    expect((await call()).ok).toBe(true);
    expect(verifier.cachedTokens).toBe(1);
    verifier.flush();
    expect(verifier.cachedTokens).toBe(1);
    clock.advance(5000);
    verifier.flush();
    expect(verifier.cachedTokens).toBe(0);
    expect((await call()).ok).toBe(true);
    expect(verifier.cachedTokens).toBe(1);
  } finally {
    verifier.close();
    db.close();
  }
});
