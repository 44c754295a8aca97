/** @module Consent POST: binding record, CSRF, backend choice, password, throttling and lockout. */
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

  test('[1.6] 30 rapid wrong passwords hit the lockout: 429 "try later", even the right password is refused, then it lifts', async () => {
    await using w = await startOAuthWorld({ settings: { login: { max_failures: 10, lockout: 15 * 60 * 1000 } } });
    let form = await consentForm(w);
    const statuses: number[] = [];
    let last = '';
    for (let i = 0; i < 30; i++) {
      const res = await submitConsent(w, form, { password: `guess-${i}` });
      statuses.push(res.status);
      last = await res.text();
      form = parseConsentForm(last);
    }
    expect(statuses.slice(0, 3)).toEqual([403, 403, 403]);
    expect(statuses.at(-1)).toBe(429);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(20);
    expect(last).toContain('Try again later');
    const right = await submitConsent(w, form);
    expect(right.status).toBe(429);
    expect(right.headers.get('retry-after')).toBeString();
    expect(w.logs.some((l) => l.msg === 'password attempts locked out')).toBe(true);
    expect(codeCount(w)).toBe(0);

    w.clock.advance(15 * 60 * 1000 + 1);
    const after = await submitConsent(w, await consentForm(w));
    expect(after.status).toBe(302);
  });

  test('[1.6] parallel guesses cannot outrun the counter: at most 3 passwords are checked before the delay', async () => {
    await using w = await startOAuthWorld();
    const forms = await Promise.all(Array.from({ length: 20 }, () => consentForm(w)));
    const statuses = await Promise.all(forms.map((f, i) => submitConsent(w, f, { password: `parallel-${i}` }).then((r) => r.status)));
    expect(statuses.filter((s) => s === 403).length).toBeLessThanOrEqual(3);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(17);
  });

  test('[1.6] the lockout survives a restart (stored in SQLite)', async () => {
    await using w = await startOAuthWorld({ settings: { login: { max_failures: 3 } } });
    for (let i = 0; i < 3; i++) await submitConsent(w, await consentForm(w), { password: 'nope' });
    await w.restart();
    expect((await submitConsent(w, await consentForm(w))).status).toBe(429);
  });

  test('[1.6] the global lockout stops guessing spread over many IPs', async () => {
    await using w = await startOAuthWorld({ settings: { login: { max_failures: 100, global_max_failures: 5 } } });
    for (let i = 0; i < 5; i++) {
      const res = await submitConsent(w, await consentForm(w), { password: 'nope', headers: { [TEST_IP_HEADER]: `203.0.113.${i}` } });
      expect(res.status).toBe(403);
    }
    const res = await submitConsent(w, await consentForm(w), { headers: { [TEST_IP_HEADER]: '198.51.100.1' } });
    expect(res.status).toBe(429);
    expect(w.logs.some((l) => l.msg === 'password attempts locked out globally')).toBe(true);
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
