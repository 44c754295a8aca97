/** @module The consent page in real headless Chromium (Debian `chromium`, driven by playwright-core). */
import { describe, expect, test } from 'bun:test';
import { decodeJwt } from 'jose';
import { existsSync } from 'node:fs';
import { chromium } from 'playwright-core';
import { authorizeUrl, authParams, pkce, postForm, registerPublicClient } from '../helpers/oauth-client.ts';
import { PASSWORD, startOAuthWorld } from '../helpers/oauth-world.ts';

const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--no-sandbox', '--headless', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

/** A loopback "client" that receives the browser's redirect. */
function startCallbackServer() {
  let resolve!: (q: URLSearchParams) => void;
  const received = new Promise<URLSearchParams>((r) => (resolve = r));
  const server = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    fetch(req) {
      resolve(new URL(req.url).searchParams);
      return new Response('<!doctype html><title>done</title><h1>connected</h1>', { headers: { 'Content-Type': 'text/html' } });
    },
  });
  return { redirect: `http://127.0.0.1:${server.port}/callback`, received, [Symbol.asyncDispose]: () => server.stop(true) };
}

describe('consent page in Chromium', () => {
  test('[1.6] the owner unticks a backend, types the password, is redirected; the token lacks that backend', async () => {
    // Required, not optional: a missing browser must fail this test, never skip it (.ci/run installs it).
    expect(existsSync(CHROMIUM)).toBe(true);
    await using w = await startOAuthWorld({ backends: ['github', 'notes', 'weather'] });
    await using cb = startCallbackServer();
    const clientId = await registerPublicClient(w, cb.redirect, 'Browser test app');
    const { verifier, challenge } = pkce();
    const url = authorizeUrl(w, { ...authParams(w, clientId, challenge), redirect_uri: cb.redirect });

    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
    try {
      const page = await browser.newPage({ viewport: { width: 390, height: 844 }, isMobile: true });
      const cspViolations: string[] = [];
      page.on('console', (m) => {
        if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text());
      });
      await page.goto(url);
      expect(await page.title()).toBe('Authorize Browser test app');
      // The nonce'd stylesheet applied: the primary button is blue.
      expect(await page.$eval('button.primary', (b) => getComputedStyle(b).backgroundColor)).toBe('rgb(31, 111, 235)');
      expect(await page.isChecked('input[name=backend][value=weather]')).toBe(true);
      await page.uncheck('input[name=backend][value=weather]');
      await page.fill('input[name=password]', PASSWORD);
      await Promise.all([page.waitForURL(/\/callback\?/), page.click('button.primary')]);
      expect(await page.textContent('h1')).toBe('connected');
      expect(cspViolations).toEqual([]);
    } finally {
      await browser.close();
    }

    const q = await cb.received;
    expect(q.get('state')).toBe('st-123');
    expect(q.get('iss')).toBe(w.url);
    const res = await postForm(w, '/token', { grant_type: 'authorization_code', code: q.get('code')!, code_verifier: verifier, redirect_uri: cb.redirect, client_id: clientId });
    expect(res.status).toBe(200);
    const claims = decodeJwt(((await res.json()) as { access_token: string }).access_token);
    expect(claims.backends).toEqual(['github', 'notes']);
  });
});

describe('consent page on a phone (issue 9 item 9)', () => {
  test('a 320 px viewport: long client name and redirect host wrap (no sideways scroll), descriptions and what the client may do are shown', async () => {
    expect(existsSync(CHROMIUM)).toBe(true);
    const descriptions = { github: 'Issues and pull requests of my repositories', notes: 'My Obsidian vault, read and write' };
    await using w = await startOAuthWorld({ backends: ['github', 'notes', 'weather'], descriptions });
    const longHost = 'connectors-callback-handler-for-a-very-long-named-tenant.internal-apps.example-company.com';
    const clientId = await registerPublicClient(w, `https://${longHost}/oauth/callback`, 'AVeryLongClientNameWithoutAnySpacesThatWouldOverflowAPhoneScreen');
    const { challenge } = pkce();
    const url = authorizeUrl(w, { ...authParams(w, clientId, challenge), redirect_uri: `https://${longHost}/oauth/callback` });
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
    try {
      const page = await browser.newPage({ viewport: { width: 320, height: 900 }, isMobile: true, deviceScaleFactor: 1 });
      await page.goto(url);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      expect(overflow).toBe(0);
      const text = await page.innerText('main');
      expect(text).toContain('Issues and pull requests of my repositories');
      expect(text).toContain('My Obsidian vault, read and write');
      expect(text).toContain('call the tools, read the resources and use the prompts of the backends ticked below');
      expect(text).toContain(longHost);
      // A screenshot to look at: MCPGW_SCREENSHOT=/tmp/consent.png bun test test/oauth/consent-browser.test.ts
      if (process.env.MCPGW_SCREENSHOT) await page.screenshot({ path: process.env.MCPGW_SCREENSHOT, fullPage: true });
    } finally {
      await browser.close();
    }
  });
});
