/** @module createAuthServer edge cases: auth.mode none, public_url validation, store sweeping. */
import { describe, expect, test } from 'bun:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { manualClock, secureRandom, type Deps } from '../../src/deps.ts';
import { silentLogger } from '../../src/log.ts';
import { createAuthServer } from '../../src/oauth/server.ts';
import { openStore } from '../../src/store/db.ts';
import { sweepStore } from '../../src/store/sweep.ts';
import { obtainTokens } from '../helpers/oauth-client.ts';
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
    auth.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a public_url with a path is refused with config_invalid', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mcpgw-url-'));
    const make = () => createAuthServer({ settings: testSettings(undefined), publicUrl: 'https://gw.example.com/gw', db: openStore(':memory:'), dataDir: dir, backendNames: () => [], deps: deps() });
    await expect(make()).rejects.toMatchObject({ code: 'config_invalid' });
    rmSync(dir, { recursive: true, force: true });
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
});
