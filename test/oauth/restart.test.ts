/** @module Persistence: a restart (new createAuthServer on the same data_dir) keeps everyone logged in. */
import { describe, expect, test } from 'bun:test';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { SIGNING_KEY_FILE } from '../../src/oauth/keys.ts';
import { callMcp, obtainTokens, postForm } from '../helpers/oauth-client.ts';
import { startOAuthWorld } from '../helpers/oauth-world.ts';

describe('restart', () => {
  test('[6] access tokens still verify and refresh still works after a restart; key and DB are mode 0600', async () => {
    await using w = await startOAuthWorld();
    const t = await obtainTokens(w, { backends: ['notes'] });
    const keyPath = join(w.dataDir, SIGNING_KEY_FILE);
    const keyBefore = await Bun.file(keyPath).text();
    await w.restart();
    expect(await Bun.file(keyPath).text()).toBe(keyBefore);
    expect(statSync(keyPath).mode & 0o777).toBe(0o600);
    expect(statSync(w.dbPath).mode & 0o777).toBe(0o600);
    const res = await callMcp(w, t.access_token);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { principal: { backends: string[] } }).principal.backends).toEqual(['notes']);
    const r = await postForm(w, '/token', { grant_type: 'refresh_token', refresh_token: t.refresh_token, client_id: t.clientId });
    expect(r.status).toBe(200);
    expect((await callMcp(w, ((await r.json()) as { access_token: string }).access_token)).status).toBe(200);
  });

  test('[6] a key file with loose permissions is tightened to 0600 and reused', async () => {
    await using w = await startOAuthWorld();
    const t = await obtainTokens(w);
    const { chmodSync } = await import('node:fs');
    chmodSync(join(w.dataDir, SIGNING_KEY_FILE), 0o644);
    await w.restart();
    expect(statSync(join(w.dataDir, SIGNING_KEY_FILE)).mode & 0o777).toBe(0o600);
    expect(w.logs.some((l) => l.msg.includes('loose permissions'))).toBe(true);
    expect((await callMcp(w, t.access_token)).status).toBe(200);
  });

  test('[6] a DCR client registered before the restart can still authorize afterwards', async () => {
    await using w = await startOAuthWorld();
    const t = await obtainTokens(w);
    await w.restart();
    expect((await obtainTokens(w, { clientId: t.clientId })).access_token).toBeString();
  });
});
