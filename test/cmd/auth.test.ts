/** @module `mcpgw auth unlock` through the compiled binary, against a live authorization server on the same database. */
import { beforeAll, describe, expect, test } from 'bun:test';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { authorizeUrl, authParams, openConsent, pkce, registerPublicClient, submitConsent } from '../helpers/oauth-client.ts';
import { startOAuthWorld, type OAuthWorld } from '../helpers/oauth-world.ts';
import { ensureBinary, firstLine, runBinary } from '../helpers/cli.ts';

beforeAll(() => ensureBinary());

const FWD = 'x-forwarded-for';

async function tryPassword(w: OAuthWorld, ip: string, password?: string): Promise<number> {
  const id = await registerPublicClient(w);
  const { form } = await openConsent(authorizeUrl(w, authParams(w, id, pkce().challenge)));
  return (await submitConsent(w, form, { password, headers: { [FWD]: ip } })).status;
}

async function lockOut(w: OAuthWorld, ip: string): Promise<void> {
  for (let i = 0; i < 3; i++) expect(await tryPassword(w, ip, 'nope')).toBe(403);
  expect(await tryPassword(w, ip)).toBe(429);
}

function writeConfig(w: OAuthWorld): string {
  const path = join(w.dataDir, 'gateway.yaml');
  writeFileSync(path, `data_dir: ${w.dataDir}\n`, { mode: 0o600 });
  return path;
}

describe('mcpgw auth unlock', () => {
  test('issue 8 finding 3: `auth unlock --ip` ends one address\'s back-off at once in the running server; others stay', async () => {
    await using w = await startOAuthWorld({ settings: { login: { max_failures: 3, global_max_failures: 1000 } } });
    await lockOut(w, '203.0.113.7');
    await lockOut(w, '203.0.113.8');
    const r = await runBinary(['auth', 'unlock', '--ip', '203.0.113.7', '--config', writeConfig(w)]);
    expect(r.code).toBe(0);
    expect(firstLine(r.stderr)).toBe('✓ cleared the sign-in back-off for 203.0.113.7; the running gateway accepts its password at once');
    expect(r.stdout).toBe('');
    expect(await tryPassword(w, '203.0.113.7')).toBe(302);
    expect(await tryPassword(w, '203.0.113.8')).toBe(429);
  });

  test('issue 8 finding 3: `auth unlock` clears every address and the global ceiling', async () => {
    await using w = await startOAuthWorld({ settings: { login: { max_failures: 3, global_max_failures: 3 } } });
    await lockOut(w, '203.0.113.7');
    expect(await tryPassword(w, '192.0.2.1')).toBe(429);
    const config = writeConfig(w);
    const one = await runBinary(['auth', 'unlock', '--ip', '198.51.100.1', '--config', config]);
    expect(one.stderr).toContain('no sign-in failures are recorded for 198.51.100.1');
    expect(one.stderr).toContain("hint: addresses that never signed in are still slowed by the global back-off; run 'mcpgw auth unlock' to clear it too");
    const all = await runBinary(['auth', 'unlock', '--config', config]);
    expect(all.code).toBe(0);
    expect(firstLine(all.stderr)).toBe('✓ cleared the sign-in back-off for every address; the running gateway accepts the password at once');
    expect(await tryPassword(w, '203.0.113.7')).toBe(302);
    expect(await tryPassword(w, '192.0.2.1')).toBe(302);
  });

  test('a bad --ip exits 2 and changes nothing; --help has examples', async () => {
    await using w = await startOAuthWorld({ settings: { login: { max_failures: 3 } } });
    await lockOut(w, '203.0.113.7');
    const bad = await runBinary(['auth', 'unlock', '--ip', 'somewhere', '--config', writeConfig(w)]);
    expect(bad.code).toBe(2);
    expect(firstLine(bad.stderr)).toBe("error: --ip must be an IP address; got 'somewhere'");
    expect(await tryPassword(w, '203.0.113.7')).toBe(429);
    const help = await runBinary(['auth', 'unlock', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Examples:\n  mcpgw auth unlock\n  mcpgw auth unlock --ip 203.0.113.7');
  });
});
