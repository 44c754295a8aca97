/** @module Consent POST: binding record, CSRF, backend choice, password, and the sign-in back-off. */
import { describe, expect, test } from 'bun:test';
import { authorizeUrl, authParams, openConsent, parseConsentForm, pkce, registerPublicClient, submitConsent, type ConsentForm } from '../helpers/oauth-client.ts';
import { startOAuthWorld, TEST_IP_HEADER, type OAuthWorld } from '../helpers/oauth-world.ts';

async function consentForm(w: OAuthWorld): Promise<ConsentForm> {
  const id = await registerPublicClient(w);
  return (await openConsent(authorizeUrl(w, authParams(w, id, pkce().challenge)))).form;
}

async function expectRefusedPage(res: Response, status = 400) {
  expect(res.status).toBe(status);
  expect(res.headers.get('location')).toBeNull();
  expect(res.headers.get('content-type')).toContain('text/html');
  return res.text();
}

function codeCount(w: OAuthWorld): number {
  return (w.db.query('SELECT COUNT(*) AS n FROM authorization_codes').get() as { n: number }).n;
}

describe('consent binding', () => {
  test('[1.6] the right password redirects with code, state and iss, each exactly once', async () => {
    await using w = await startOAuthWorld();
    const res = await submitConsent(w, await consentForm(w));
    expect(res.status).toBe(302);
    const loc = new URL(res.headers.get('location')!);
    for (const p of ['code', 'state', 'iss']) expect(loc.searchParams.getAll(p)).toHaveLength(1);
    expect(loc.searchParams.get('state')).toBe('st-123');
    expect(loc.searchParams.get('iss')).toBe(w.url);
    expect(res.headers.get('cache-control')).toBe('no-store');
  });

  test('[1.6] the binding record is single use: replaying the same POST fails', async () => {
    await using w = await startOAuthWorld();
    const form = await consentForm(w);
    expect((await submitConsent(w, form)).status).toBe(302);
    expect(await expectRefusedPage(await submitConsent(w, form))).toContain('expired or was already used');
    expect(codeCount(w)).toBe(1);
  });

  for (const [field, value] of [
    ['client_id', 'mcpgw_client_other'],
    ['redirect_uri', 'http://127.0.0.1:9876/other'],
    ['code_challenge', 'A'.repeat(43)],
    ['csrf', 'forged'],
    ['request', 'guessed'],
  ] as const) {
    test(`[1.6] a replay with a changed ${field} is refused and issues no code`, async () => {
      await using w = await startOAuthWorld();
      const form = await consentForm(w);
      await expectRefusedPage(await submitConsent(w, form, { override: { [field]: value } }));
      expect(codeCount(w)).toBe(0);
      // a failed attempt consumes the record it named; a guessed id names none
      expect((await submitConsent(w, form)).status).toBe(field === 'request' ? 302 : 400);
    });
  }

  test('[1.6] backends outside what was offered, or removed since, are refused', async () => {
    await using w = await startOAuthWorld({ backends: ['github', 'notes'] });
    await expectRefusedPage(await submitConsent(w, await consentForm(w), { backends: ['github', 'secret-admin'] }));
    const form = await consentForm(w);
    w.backends = ['github'];
    await expectRefusedPage(await submitConsent(w, form, { backends: ['github', 'notes'] }));
    expect(codeCount(w)).toBe(0);
  });

  test('an expired consent page is refused', async () => {
    await using w = await startOAuthWorld();
    const form = await consentForm(w);
    w.clock.advance(11 * 60 * 1000);
    expect(await expectRefusedPage(await submitConsent(w, form))).toContain('expired');
  });

  test('a cross-origin form post is refused; Origin null (no-referrer) is fine', async () => {
    await using w = await startOAuthWorld();
    await expectRefusedPage(await submitConsent(w, await consentForm(w), { headers: { Origin: 'https://evil.example' } }), 403);
    expect((await submitConsent(w, await consentForm(w), { headers: { Origin: 'null' } })).status).toBe(302);
  });

  test('Deny redirects with access_denied, state and iss, and no code', async () => {
    await using w = await startOAuthWorld();
    const res = await submitConsent(w, await consentForm(w), { action: 'deny', password: '' });
    const loc = new URL(res.headers.get('location')!);
    expect(loc.searchParams.get('error')).toBe('access_denied');
    expect(loc.searchParams.get('state')).toBe('st-123');
    expect(loc.searchParams.get('code')).toBeNull();
  });

  test('no backend ticked -> page again asking for one; not counted as a password failure', async () => {
    await using w = await startOAuthWorld();
    const res = await submitConsent(w, await consentForm(w), { backends: [] });
    expect(await expectRefusedPage(res)).toContain('Choose at least one backend');
    expect(w.db.query('SELECT * FROM login_throttle').all()).toEqual([]);
  });
});

describe('password', () => {
  test('[1.6] a wrong password shows the page again with an error, no code, and a fresh binding', async () => {
    await using w = await startOAuthWorld({ backends: ['github', 'notes'] });
    const first = await consentForm(w);
    const res = await submitConsent(w, first, { password: 'wrong', backends: ['notes'] });
    const html = await expectRefusedPage(res, 403);
    expect(html).toContain('Wrong password');
    expect(codeCount(w)).toBe(0);
    const again = parseConsentForm(html);
    expect(again.hidden.request).not.toBe(first.hidden.request);
    expect(again.backends).toEqual([{ name: 'github', checked: false }, { name: 'notes', checked: true }]);
    expect((await submitConsent(w, again)).status).toBe(302);
    expect(w.logs.some((l) => l.level === 'warn' && l.msg === 'wrong owner password')).toBe(true);
  });

  test('[1.6] parallel guesses cannot outrun the counter: at most max_failures passwords are checked', async () => {
    await using w = await startOAuthWorld();
    const forms = await Promise.all(Array.from({ length: 20 }, () => consentForm(w)));
    const statuses = await Promise.all(forms.map((f, i) => submitConsent(w, f, { password: `parallel-${i}` }).then((r) => r.status)));
    expect(statuses.filter((s) => s === 403).length).toBe(10);
    expect(statuses.filter((s) => s === 429).length).toBe(10);
  });
});

describe('sign-in back-off (issue 8 finding 3: a stranger can lock the owner out)', () => {
  const FWD = 'x-forwarded-for';
  const throttleRow = (w: OAuthWorld, key: string) =>
    w.db.query('SELECT failures, locked_until AS blockedUntil FROM login_throttle WHERE key = ?').get(key) as { failures: number; blockedUntil: number | null } | null;

  test('issue 8 finding 3: the right password during its own back-off is refused unchecked and not counted; after it, it gets in', async () => {
    await using w = await startOAuthWorld({ settings: { login: { max_failures: 5 } } });
    for (let i = 0; i < 5; i++) expect((await submitConsent(w, await consentForm(w), { password: 'nope' })).status).toBe(403);
    const before = throttleRow(w, 'ip:127.0.0.1');
    expect(before).toEqual({ failures: 5, blockedUntil: w.clock.now() + 1000 });
    const during = await submitConsent(w, await consentForm(w));
    expect(during.status).toBe(429);
    expect(during.headers.get('retry-after')).toBe('1');
    expect(await during.text()).toContain('Too many wrong passwords. Try again in less than a minute.');
    // Hammering the back-off with wrong passwords does not grow it either.
    for (let i = 0; i < 5; i++) expect((await submitConsent(w, await consentForm(w), { password: 'nope' })).status).toBe(429);
    expect(throttleRow(w, 'ip:127.0.0.1')).toEqual(before);
    w.clock.advance(1000);
    expect((await submitConsent(w, await consentForm(w))).status).toBe(302);
    expect(throttleRow(w, 'ip:127.0.0.1')).toBeNull();
    expect(codeCount(w)).toBe(1);
  });

  test('issue 8 finding 3: the back-off doubles per failure up to lockout and is said in minutes', async () => {
    await using w = await startOAuthWorld({ settings: { login: { max_failures: 1, lockout: 15 * 60 * 1000 } } });
    for (let i = 0; i < 12; i++) {
      expect((await submitConsent(w, await consentForm(w), { password: 'nope' })).status).toBe(403);
      expect((await submitConsent(w, await consentForm(w))).status).toBe(429);
      if (i < 11) w.clock.advance(Math.min(1000 * 2 ** i, 15 * 60 * 1000));
    }
    w.clock.advance(60_000);
    const res = await submitConsent(w, await consentForm(w));
    expect(res.status).toBe(429);
    expect(await res.text()).toContain('Try again in 14 minutes.');
    expect(res.headers.get('retry-after')).toBe(String(14 * 60));
    expect(w.logs.some((l) => l.msg === 'password back-off' && l.fields.retry_after_s === 900)).toBe(true);
  });

  test('issue 8 finding 3: behind a loopback proxy, wrong passwords from one forwarded address do not block another', async () => {
    await using w = await startOAuthWorld({ settings: { login: { max_failures: 3 } } });
    for (let i = 0; i < 6; i++) await submitConsent(w, await consentForm(w), { password: 'nope', headers: { [FWD]: '203.0.113.66' } });
    expect((await submitConsent(w, await consentForm(w), { headers: { [FWD]: '203.0.113.66' } })).status).toBe(429);
    expect(throttleRow(w, 'ip:203.0.113.66')?.failures).toBe(3);
    // The owner, during the stranger's back-off, from another address through the same proxy.
    expect((await submitConsent(w, await consentForm(w), { headers: { [FWD]: '198.51.100.20' } })).status).toBe(302);
    // The proxy itself (loopback) is not the one throttled.
    expect(throttleRow(w, 'ip:127.0.0.1')).toBeNull();
  });

  test('an untrusted peer cannot pick its throttle key with X-Forwarded-For', async () => {
    await using w = await startOAuthWorld({ settings: { login: { max_failures: 2 } } });
    for (let i = 0; i < 2; i++) {
      await submitConsent(w, await consentForm(w), { password: 'nope', headers: { [TEST_IP_HEADER]: '198.51.100.7', [FWD]: `203.0.113.${i}` } });
    }
    expect(throttleRow(w, 'ip:198.51.100.7')?.failures).toBe(2);
    expect((await submitConsent(w, await consentForm(w), { headers: { [TEST_IP_HEADER]: '198.51.100.7', [FWD]: '203.0.113.99' } })).status).toBe(429);
  });

  test('issue 8 finding 3: 8 concurrent consents with the right password all succeed, even after wrong ones', async () => {
    await using w = await startOAuthWorld({ settings: { login: { max_failures: 5 } } });
    const run = async () => {
      const forms = await Promise.all(Array.from({ length: 8 }, () => consentForm(w)));
      return Promise.all(forms.map((f) => submitConsent(w, f).then((r) => r.status)));
    };
    expect(await run()).toEqual(Array(8).fill(302));
    // Four failures leave one check slot: the right passwords queue for it instead of being refused.
    for (let i = 0; i < 4; i++) expect((await submitConsent(w, await consentForm(w), { password: 'nope' })).status).toBe(403);
    expect(await run()).toEqual(Array(8).fill(302));
    expect(w.db.query('SELECT * FROM login_throttle WHERE key LIKE ?').all('ip:%')).toEqual([]);
  });

  test('[1.6] the back-off survives a restart (stored in SQLite)', async () => {
    await using w = await startOAuthWorld({ settings: { login: { max_failures: 3 } } });
    for (let i = 0; i < 3; i++) await submitConsent(w, await consentForm(w), { password: 'nope' });
    await w.restart();
    expect((await submitConsent(w, await consentForm(w))).status).toBe(429);
  });

  test('[1.6] the global ceiling slows unknown addresses but not an address that signed in before', async () => {
    await using w = await startOAuthWorld({ settings: { login: { max_failures: 100, global_max_failures: 5 } } });
    const from = (ip: string) => ({ headers: { [FWD]: ip } });
    expect((await submitConsent(w, await consentForm(w), from('198.51.100.1'))).status).toBe(302);
    for (let i = 0; i < 5; i++) expect((await submitConsent(w, await consentForm(w), { password: 'nope', ...from(`203.0.113.${i}`) })).status).toBe(403);
    const unknown = await submitConsent(w, await consentForm(w), from('192.0.2.50'));
    expect(unknown.status).toBe(429);
    expect(await unknown.text()).toContain('Too many wrong passwords from many addresses.');
    expect(w.logs.some((l) => l.msg === 'password back-off for unknown addresses')).toBe(true);
    expect((await submitConsent(w, await consentForm(w), from('198.51.100.1'))).status).toBe(302);
    w.clock.advance(1000);
    expect((await submitConsent(w, await consentForm(w), from('192.0.2.50'))).status).toBe(302);
  });

  test('without password_hash a POST issues no code', async () => {
    await using w = await startOAuthWorld({ settings: { password_hash: undefined } });
    const id = await registerPublicClient(w);
    await openConsent(authorizeUrl(w, authParams(w, id, pkce().challenge)));
    const res = await submitConsent(w, { hidden: { request: 'x', csrf: 'y' }, backends: [] });
    expect(res.status).toBe(400);
    expect(codeCount(w)).toBe(0);
  });
});
