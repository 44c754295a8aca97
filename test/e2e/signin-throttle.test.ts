/**
 * Issue 8 finding 3 through the compiled binary: behind a loopback proxy (how `tailscale funnel` arrives)
 * the sign-in back-off is per forwarded client address, the owner gets in during a stranger's back-off,
 * and `mcpgw auth unlock --ip` ends a back-off in the running gateway.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { join } from 'node:path';
import { openStore } from '../../src/store/db.ts';
import { putThrottle } from '../../src/store/throttle.ts';
import { ensureBinary, firstLine, runBinary } from '../helpers/cli.ts';
import { baseConfig, startGatewayProcess, type GatewayProcess } from '../helpers/gateway-process.ts';
import { authorizeUrl, authParams, openConsent, pkce, registerPublicClient, submitConsent } from '../helpers/oauth-client.ts';
import { passwordHash, type OAuthWorld } from '../helpers/oauth-world.ts';

let gw: GatewayProcess;
const world = () => ({ url: gw.url, resource: gw.mcpUrl }) as unknown as OAuthWorld;

/** One consent POST as if forwarded by a loopback proxy for `ip`. */
async function signIn(ip: string, password?: string): Promise<Response> {
  const id = await registerPublicClient(world());
  const { form } = await openConsent(authorizeUrl(world(), authParams(world(), id, pkce().challenge)));
  return submitConsent(world(), form, { password, headers: { 'x-forwarded-for': ip } });
}

beforeAll(async () => {
  ensureBinary();
  const hash = await passwordHash();
  gw = await startGatewayProcess((d) => ({ ...baseConfig(d, {}), auth: { mode: 'oauth', password_hash: hash } }));
}, 60_000);

afterAll(async () => {
  await gw?.[Symbol.asyncDispose]();
}, 30_000);

describe('sign-in back-off through the binary (issue 8 finding 3)', () => {
  test('issue 8 finding 3: wrong passwords are counted against the forwarded address, not the proxy', async () => {
    expect((await signIn('203.0.113.50', 'wrong')).status).toBe(403);
    const line = await gw.waitForLog((l) => l.msg === 'wrong owner password', 5000);
    expect(line.ip).toBe('203.0.113.50');
  });

  test("issue 8 finding 3: the owner gets in during a stranger's 15-minute back-off; `auth unlock --ip` ends the stranger's", async () => {
    // A stranger hammered from 203.0.113.66: the state a running or restarted gateway finds in its database.
    const db = openStore(join(gw.dir, 'state', 'mcpgw.db'));
    putThrottle(db, 'ip:203.0.113.66', { failures: 30, lastFailureAt: Date.now(), blockedUntil: Date.now() + 15 * 60 * 1000 });
    db.close();
    const stranger = await signIn('203.0.113.66');
    expect(stranger.status).toBe(429);
    expect(await stranger.text()).toContain('Too many wrong passwords. Try again in 15 minutes.');
    expect((await signIn('198.51.100.20')).status).toBe(302);

    const r = await runBinary(['auth', 'unlock', '--ip', '203.0.113.66', '--config', gw.configPath]);
    expect(r.code).toBe(0);
    expect(firstLine(r.stderr)).toBe('✓ cleared the sign-in back-off for 203.0.113.66; the running gateway accepts its password at once');
    expect((await signIn('203.0.113.66')).status).toBe(302);
  });
});
