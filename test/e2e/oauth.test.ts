/**
 * OAuth through the compiled binary: the SDK's own client-side OAuth against mcpgw, the consent page
 * in Chromium, backend grants filtering everything, sessions bound to their client, revocation from
 * another process within a second, and restarts that keep everyone signed in (issue 3 §1, §5, §6, §7).
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { Client, StreamableHTTPClientTransport, UnauthorizedError } from '@modelcontextprotocol/client';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { BACKEND_PATH, backendArgs, connectV2, readEvents, spawnBackend, waitFor, type SpawnedBackend } from '../helpers/clients.ts';
import { freePort } from '../helpers/everything.ts';
import { baseConfig, startGatewayProcess, type GatewayProcess } from '../helpers/gateway-process.ts';
import { authorizeUrl, authParams, pkce, postForm, registerPublicClient } from '../helpers/oauth-client.ts';
import { HeadlessProvider } from '../helpers/oauth-sdk.ts';
import { PASSWORD, passwordHash, type OAuthWorld } from '../helpers/oauth-world.ts';
import { openStore } from '../../src/store/db.ts';
import { createPersonalToken } from '../../src/store/personal-tokens.ts';
import { revokeGrant } from '../../src/store/grants.ts';

let gw: GatewayProcess;
let beta: SpawnedBackend;
let events: string;
let port: number;
let config: Record<string, unknown>;
const world = () => ({ url: gw.url, resource: gw.mcpUrl }) as unknown as OAuthWorld;

async function start() {
  gw = await startGatewayProcess(() => config);
  await gw.waitForLog(() => gw.logs.filter((l) => l.msg === 'backend up').length >= 2, 30_000);
}

/** The SDK client's OAuth: connect -> 401 -> discovery -> DCR -> consent -> finishAuth -> reconnect. */
async function signIn(backends?: string[]): Promise<{ client: Client; provider: HeadlessProvider }> {
  const provider = new HeadlessProvider(world(), { backends });
  const first = new Client({ name: 'oauth-e2e', version: '1' });
  const transport = new StreamableHTTPClientTransport(new URL(gw.mcpUrl), { authProvider: provider });
  const err = await first.connect(transport).catch((e) => e);
  expect(err).toBeInstanceOf(UnauthorizedError);
  // RFC 9207: the SDK checks the authorization response's iss against the issuer.
  await transport.finishAuth(provider.callback!);
  const client = new Client({ name: 'oauth-e2e', version: '1' });
  await client.connect(new StreamableHTTPClientTransport(new URL(gw.mcpUrl), { authProvider: provider }));
  return { client, provider };
}

function pat(backends: string[] | null): { token: string; grantId: string } {
  const db = openStore(join(gw.dir, 'state', 'mcpgw.db'));
  try {
    return createPersonalToken(db, { name: 'e2e', backends, resource: gw.mcpUrl, now: Date.now(), random: (n) => crypto.getRandomValues(new Uint8Array(n)) });
  } finally {
    db.close();
  }
}

beforeAll(async () => {
  beta = await spawnBackend({ http: true, name: 'beta', events: (events = join((await import('node:os')).tmpdir(), `mcpgw-oauth-beta-${process.pid}.jsonl`)) });
  port = freePort();
  const hash = await passwordHash();
  config = {};
  gw = await startGatewayProcess((d) =>
    (config = {
      ...baseConfig(d, {
        alpha: { command: process.execPath, args: [BACKEND_PATH, ...backendArgs({ name: 'alpha' })] },
        beta: { url: beta.url, headers: { 'X-Test': 'configured' } },
      }),
      listen: `127.0.0.1:${port}`,
      auth: { mode: 'oauth', password_hash: hash },
    }),
  );
  await gw.waitForLog(() => gw.logs.filter((l) => l.msg === 'backend up').length >= 2, 30_000);
}, 60_000);

afterAll(async () => {
  await gw?.[Symbol.asyncDispose]();
  await beta?.stop();
}, 60_000);

describe('oauth through the binary', () => {
  test('[1.1] the first request, Accept */* and no session, gets the 401 challenge before any other check', async () => {
    for (const [method, headers, body] of [
      ['POST', { accept: '*/*', 'content-type': 'text/plain' }, 'garbage'],
      ['GET', {}, undefined],
      ['DELETE', { 'mcp-session-id': 'x' }, undefined],
    ] as const) {
      const res = await fetch(gw.mcpUrl, { method, headers, body });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe(`Bearer resource_metadata="${gw.url}/.well-known/oauth-protected-resource/mcp"`);
    }
    const bad = await fetch(gw.mcpUrl, { method: 'POST', headers: { authorization: 'Bearer nope' }, body: '{}' });
    expect(bad.status).toBe(401);
    expect(bad.headers.get('www-authenticate')).toContain('error="invalid_token"');
    expect((await fetch(`${gw.url}/status`)).status).toBe(401);
    const health = await fetch(`${gw.url}/health`);
    expect(health.status).toBe(200);
    expect(await health.text()).not.toMatch(/alpha|beta/);
  });

  test('[1.2][1.3] metadata is served with the byte-identical issuer', async () => {
    const prm = (await (await fetch(`${gw.url}/.well-known/oauth-protected-resource/mcp`)).json()) as { resource: string; authorization_servers: string[] };
    expect(prm.resource).toBe(gw.mcpUrl);
    expect(prm.authorization_servers).toEqual([gw.url]);
    const asm = (await (await fetch(`${gw.url}/.well-known/oauth-authorization-server`)).json()) as { issuer: string; client_id_metadata_document_supported: boolean };
    expect(asm.issuer).toBe(gw.url);
    expect(asm.client_id_metadata_document_supported).toBe(true);
  });

  test('[1.5]-[1.9] SDK OAuth: sign in with one backend unticked, list/call only the granted one, refresh, revoke -> 401', async () => {
    const { client, provider } = await signIn(['alpha']);
    const names = (await client.listTools()).tools.map((t) => t.name);
    expect(names).toContain('alpha_echo');
    expect(names.some((n) => n.startsWith('beta_'))).toBe(false);
    const denied = await client.callTool({ name: 'beta_echo', arguments: { text: 'x' } }).catch((e) => e);
    expect((denied as { code?: number }).code).toBe(-32602);
    expect(((await client.callTool({ name: 'alpha_echo', arguments: { text: 'ok' } })).content as { text: string }[])[0].text).toBe('ok');
    const status = await fetch(`${gw.url}/status`, { headers: { authorization: `Bearer ${provider.tokens()!.access_token}` } });
    expect(status.status).toBe(200);
    expect(((await status.json()) as { backends: { name: string }[] }).backends.map((b) => b.name)).toEqual(['alpha']);

    const clientId = provider.clientInformation()!.client_id;
    const refreshed = await postForm(world(), '/token', { grant_type: 'refresh_token', refresh_token: provider.tokens()!.refresh_token!, client_id: clientId });
    expect(refreshed.status).toBe(200);
    const tokens = (await refreshed.json()) as { access_token: string; refresh_token: string };
    await using c2 = await connectV2(gw.mcpUrl, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    expect((await c2.client.listTools()).tools.length).toBe(names.length);

    expect((await postForm(world(), '/revoke', { token: tokens.refresh_token, client_id: clientId })).status).toBe(200);
    const after = await fetch(gw.mcpUrl, { method: 'POST', headers: { authorization: `Bearer ${tokens.access_token}`, 'content-type': 'application/json' }, body: '{"jsonrpc":"2.0","id":1,"method":"ping"}' });
    expect(after.status).toBe(401);
    expect(after.headers.get('www-authenticate')).toContain('error="invalid_token"');
    await client.close();
  });

  test('[1.6] consent in headless Chromium: untick a backend, type the password; the token sees only the rest', async () => {
    expect(existsSync('/usr/bin/chromium')).toBe(true);
    let resolve!: (q: URLSearchParams) => void;
    const received = new Promise<URLSearchParams>((r) => (resolve = r));
    const cb = Bun.serve({ hostname: '127.0.0.1', port: 0, fetch: (req) => (resolve(new URL(req.url).searchParams), new Response('<h1>connected</h1>', { headers: { 'content-type': 'text/html' } })) });
    try {
      const redirect = `http://127.0.0.1:${cb.port}/callback`;
      const clientId = await registerPublicClient(world(), redirect, 'Browser e2e');
      const { verifier, challenge } = pkce();
      const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--headless', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'] });
      try {
        const page = await browser.newPage();
        await page.goto(authorizeUrl(world(), { ...authParams(world(), clientId, challenge), redirect_uri: redirect }));
        await page.uncheck('input[name=backend][value=alpha]');
        await page.fill('input[name=password]', PASSWORD);
        await Promise.all([page.waitForURL(/\/callback\?/), page.click('button.primary')]);
      } finally {
        await browser.close();
      }
      const q = await received;
      const res = await postForm(world(), '/token', { grant_type: 'authorization_code', code: q.get('code')!, code_verifier: verifier, redirect_uri: redirect, client_id: clientId });
      const { access_token } = (await res.json()) as { access_token: string };
      await using c = await connectV2(gw.mcpUrl, { headers: { authorization: `Bearer ${access_token}` } });
      const names = (await c.client.listTools()).tools.map((t) => t.name);
      expect(names).toContain('beta_echo');
      expect(names.some((n) => n.startsWith('alpha_'))).toBe(false);
    } finally {
      cb.stop(true);
    }
  }, 60_000);

  test('[1.8] a session is bound to its client: another token using it gets 404', async () => {
    const a = pat(null);
    const b = pat(null);
    await using ca = await connectV2(gw.mcpUrl, { headers: { authorization: `Bearer ${a.token}` } });
    const sid = (ca.client.transport as StreamableHTTPClientTransport).sessionId!;
    expect(sid).toBeString();
    const res = await fetch(gw.mcpUrl, {
      method: 'POST',
      headers: { authorization: `Bearer ${b.token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-session-id': sid, 'mcp-protocol-version': '2025-11-25' },
      body: '{"jsonrpc":"2.0","id":1,"method":"tools/list"}',
    });
    expect(res.status).toBe(404);
    expect((await ca.client.listTools()).tools.length).toBeGreaterThan(0);
  });

  test('[1.8] the bearer token is never forwarded to backends', async () => {
    const { token } = pat(['beta']);
    await using c = await connectV2(gw.mcpUrl, { headers: { authorization: `Bearer ${token}` } });
    await c.client.callTool({ name: 'beta_echo', arguments: { text: 'x' } });
    const http = (await readEvents(events)).filter((e) => e.event === 'http') as { headers: Record<string, string> }[];
    expect(http.length).toBeGreaterThan(0);
    for (const e of http) {
      expect(e.headers.authorization).toBeUndefined();
      expect(e.headers['x-test']).toBe('configured');
    }
  });

  test('[1.8] revocation written to the database by another process applies within one second', async () => {
    const { token, grantId } = pat(null);
    await using c = await connectV2(gw.mcpUrl, { headers: { authorization: `Bearer ${token}` } });
    expect((await c.client.listTools()).tools.length).toBeGreaterThan(0);
    const db = openStore(join(gw.dir, 'state', 'mcpgw.db'));
    revokeGrant(db, grantId, Date.now(), 'e2e');
    db.close();
    const started = Date.now();
    await waitFor(
      async () => (await fetch(gw.mcpUrl, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: '{"jsonrpc":"2.0","id":1,"method":"ping"}' })).status === 401,
      { timeoutMs: 1000, intervalMs: 50, what: '401 after revocation' },
    );
    expect(Date.now() - started).toBeLessThan(1000);
  });

  test('[6] restarting serve keeps clients signed in: access token still verifies, refresh still works', async () => {
    const { client, provider } = await signIn();
    const before = (await client.listTools()).tools.length;
    await client.close();
    const dir = gw.dir;
    expect(await gw.stop()).toBe(0);
    await start();
    expect(gw.dir).not.toBe(dir); // a new temp dir holds the config; data_dir is the same absolute path
    await using again = await connectV2(gw.mcpUrl, { headers: { authorization: `Bearer ${provider.tokens()!.access_token}` } });
    expect((await again.client.listTools()).tools.length).toBe(before);
    const refreshed = await postForm(world(), '/token', { grant_type: 'refresh_token', refresh_token: provider.tokens()!.refresh_token!, client_id: provider.clientInformation()!.client_id });
    expect(refreshed.status).toBe(200);
  }, 60_000);
});
