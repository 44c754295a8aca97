/** @module createAuthServer edge cases: auth.mode none, public_url validation, revocation events, store sweeping. */
import { describe, expect, test } from 'bun:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { manualClock, secureRandom, type Deps } from '../../src/deps.ts';
import { silentLogger } from '../../src/log.ts';
import { createAuthServer } from '../../src/oauth/server.ts';
import { openStore } from '../../src/store/db.ts';
import { sweepStore } from '../../src/store/sweep.ts';
import { approve, authorizeUrl, authParams, callMcp, LOOPBACK_REDIRECT, obtainTokens, pkce, postForm, registerPublicClient } from '../helpers/oauth-client.ts';
import { startOAuthWorld, testSettings } from '../helpers/oauth-world.ts';

function deps(): Deps {
  return { clock: manualClock(), fetch, random: secureRandom, spawn: () => { throw new Error('no'); }, log: silentLogger, env: {} };
}

describe('createAuthServer', () => {
  test('auth.mode none: serves no OAuth routes and lets every request through as the anonymous principal', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mcpgw-none-'));
    const auth = await createAuthServer({ settings: testSettings(undefined, { mode: 'none' }), publicUrl: 'https://gw.example.com', db: openStore(':memory:'), dataDir: dir, backendNames: () => [], deps: deps() });
    expect(await auth.handle(new Request('https://gw.example.com/.well-known/oauth-authorization-server'), '1.2.3.4')).toBeUndefined();
    const r = await auth.authenticate(new Request('https://gw.example.com/mcp', { method: 'POST' }));
    expect(r.ok && r.principal.backends).toBeNull();
    auth.onRevoked(() => {})();
    auth.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a public_url with a path is refused with config_invalid', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mcpgw-url-'));
    const make = () => createAuthServer({ settings: testSettings(undefined), publicUrl: 'https://gw.example.com/gw', db: openStore(':memory:'), dataDir: dir, backendNames: () => [], deps: deps() });
    await expect(make()).rejects.toMatchObject({ code: 'config_invalid' });
    rmSync(dir, { recursive: true, force: true });
  });

  test('issue 7 item 11: onRevoked reports grants revoked by refresh-token reuse and by a reused code; the tokens 401 at once', async () => {
    await using w = await startOAuthWorld({ settings: { refresh_grace: 1000 }, bearerCache: { pollInterval: 60_000 } });
    const seen: string[][] = [];
    w.auth.onRevoked((ids) => seen.push(ids));
    const t = await obtainTokens(w);
    const grantOf = async (token: string) => ((await (await callMcp(w, token)).json()) as { principal: { grantId: string } }).principal.grantId;
    const grantId = await grantOf(t.access_token);
    const refresh = () => postForm(w, '/token', { grant_type: 'refresh_token', refresh_token: t.refresh_token, client_id: t.clientId });
    const next = (await (await refresh()).json()) as { access_token: string };
    expect(await grantOf(next.access_token)).toBe(grantId);
    w.clock.advance(2000);
    expect((await refresh()).status).toBe(400);
    expect(seen).toEqual([[grantId]]);
    expect((await callMcp(w, next.access_token)).status).toBe(401);
    expect((await callMcp(w, t.access_token)).status).toBe(401);

    const id = await registerPublicClient(w);
    const { verifier, challenge } = pkce();
    const q = await approve(w, authorizeUrl(w, authParams(w, id, challenge)));
    const redeem = () => postForm(w, '/token', { grant_type: 'authorization_code', code: q.get('code')!, code_verifier: verifier, redirect_uri: LOOPBACK_REDIRECT, client_id: id, resource: w.resource });
    const first = (await (await redeem()).json()) as { access_token: string };
    const second = await grantOf(first.access_token);
    expect((await redeem()).status).toBe(400);
    expect(seen).toEqual([[grantId], [second]]);
    expect((await callMcp(w, first.access_token)).status).toBe(401);
  });

  test('close() stops the revocation poll and the last-used flush, writing what was pending', async () => {
    await using w = await startOAuthWorld({ bearerCache: { pollInterval: 10, flushInterval: 60_000 } });
    const t = await obtainTokens(w);
    expect((await callMcp(w, t.access_token)).status).toBe(200);
    w.auth.close();
    expect((w.db.query('SELECT last_used_at FROM grants').get() as { last_used_at: number }).last_used_at).toBe(w.clock.now());
    const seen: string[][] = [];
    w.auth.onRevoked((ids) => seen.push(ids));
    const cli = openStore(w.dbPath);
    cli.query('UPDATE grants SET revoked_at = 1').run();
    cli.close();
    // Absence can only be checked over a bounded time: 100 ms is ten poll intervals of a live server.
    await Bun.sleep(100);
    expect(seen).toEqual([]);
  });

  test('[6] sweeping removes expired codes, requests and token rows but keeps live grants', async () => {
    await using w = await startOAuthWorld();
    const t = await obtainTokens(w);
    w.clock.advance(31 * 24 * 60 * 60 * 1000);
    const removed = sweepStore(w.db, w.clock.now(), { unusedClientTtl: 1, rateWindow: 60 * 60 * 1000, lockout: 1 });
    expect(removed).toMatchObject({ codes: 1, accessTokens: 1, refreshTokens: 1, requests: 0, clients: 0 });
    expect(w.db.query('SELECT COUNT(*) AS n FROM grants').get()).toEqual({ n: 1 });
    expect(t.access_token).toBeString();
  });
  test('issue 7 item 11: the peer address is read only when the sign-in trace records it (a first call, a refused token), not per call', async () => {
    await using w = await startOAuthWorld();
    const t = await obtainTokens(w);
    let reads = 0;
    const peer = () => (reads++, '192.0.2.7');
    const call = (token: string) => w.auth.authenticate(new Request(w.resource, { method: 'POST', headers: { authorization: `Bearer ${token}` } }), peer);
    expect((await call(t.access_token)).ok).toBe(true);
    expect(reads).toBe(1);
    for (let i = 0; i < 5; i++) expect((await call(t.access_token)).ok).toBe(true);
    expect(reads).toBe(1);
    expect((await call('not-a-valid-token')).ok).toBe(false);
    expect(reads).toBe(2);
    w.audit.flush();
    const rows = w.db.query("SELECT event, ip FROM audit_log WHERE kind = 'auth' AND event IN ('mcp_first_call', 'mcp_token_refused') ORDER BY id").all();
    expect(rows).toEqual([
      { event: 'mcp_first_call', ip: '192.0.2.7' },
      { event: 'mcp_token_refused', ip: '192.0.2.7' },
    ]);
  });
});
