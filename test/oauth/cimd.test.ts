/** @module Client ID Metadata Documents on the wire: SSRF guard, document rules, caching. */
import { describe, expect, test } from 'bun:test';
import { authorizeUrl, authParams, openConsent, pkce, submitConsent } from '../helpers/oauth-client.ts';
import { startDocServer, type DocServer } from '../helpers/oauth-tls.ts';
import { startOAuthWorld, type OAuthWorld, type SettingsOverrides } from '../helpers/oauth-world.ts';

const PATH = '/oauth/client.json';

function goodDoc(docs: DocServer, extra: Record<string, unknown> = {}) {
  return { client_id: `${docs.origin}${PATH}`, client_name: 'Doc App', redirect_uris: ['http://127.0.0.1/callback'], token_endpoint_auth_method: 'none', ...extra };
}

async function authorizeWith(w: OAuthWorld, clientId: string) {
  return openConsent(authorizeUrl(w, authParams(w, clientId, pkce().challenge)));
}

async function setup(settings: SettingsOverrides = {}) {
  const docs = startDocServer(() => new Response('unset', { status: 500 }));
  const w = await startOAuthWorld({ settings: { ...settings, cimd: { allow_private_addresses: true, ...settings.cimd } } });
  return { docs, w, clientId: `${docs.origin}${PATH}` };
}

describe('CIMD', () => {
  test('[1.4] a valid document -> consent page naming the client_id host; its port-less loopback redirect matches :9876', async () => {
    const { docs, w, clientId } = await setup();
    await using _d = docs;
    await using _w = w;
    docs.respond = () => Response.json(goodDoc(docs));
    const { res, html } = await authorizeWith(w, clientId);
    expect(res.status).toBe(200);
    expect(html).toContain('Doc App');
    expect(html).toContain(`<code>127.0.0.1:${new URL(docs.origin).port}</code>`);
    expect(html).not.toContain('self-asserted');
  });

  for (const [name, respond, msg] of [
    ['client_id differs from the URL', (d: DocServer) => Response.json(goodDoc(d, { client_id: 'https://evil.example/x.json' })), /client_id does not equal/],
    ['document carries a client_secret', (d: DocServer) => Response.json(goodDoc(d, { client_secret: 's' })), /must not contain a client secret/],
    ['shared-secret auth method', (d: DocServer) => Response.json(goodDoc(d, { token_endpoint_auth_method: 'client_secret_post' })), /must be none/],
    ['redirect_uri not in the document', (d: DocServer) => Response.json(goodDoc(d, { redirect_uris: ['https://elsewhere.example/cb'] })), /redirect_uri is not registered/],
    ['302 redirect (not followed)', () => new Response(null, { status: 302, headers: { Location: '/other.json' } }), /HTTP 302/],
    ['404', () => new Response('no', { status: 404 }), /HTTP 404/],
    ['not JSON', () => new Response('<html>challenge</html>', { headers: { 'Content-Type': 'text/html' } }), /not JSON/],
    ['invalid JSON', () => new Response('{', { headers: { 'Content-Type': 'application/json' } }), /not valid JSON/],
    ['over 5 KB', (d: DocServer) => Response.json(goodDoc(d, { pad: 'x'.repeat(6 * 1024) })), /too large/],
  ] as const) {
    test(`[1.4] refused when ${name}: error page, no redirect`, async () => {
      const { docs, w, clientId } = await setup();
      await using _d = docs;
      await using _w = w;
      docs.respond = () => respond(docs);
      const { res, html } = await authorizeWith(w, clientId);
      expect(res.status).toBe(400);
      expect(res.headers.get('location')).toBeNull();
      expect(html).toMatch(msg);
    });
  }

  test('[1.4] a streamed body over max_bytes without Content-Length is cut off', async () => {
    const { docs, w, clientId } = await setup();
    await using _d = docs;
    await using _w = w;
    docs.respond = () => {
      const chunk = new TextEncoder().encode(' '.repeat(1024));
      let n = 0;
      const body = new ReadableStream({ pull: (c) => (n++ < 10 ? c.enqueue(chunk) : c.close()) });
      return new Response(body, { headers: { 'Content-Type': 'application/json' } });
    };
    expect((await authorizeWith(w, clientId)).html).toMatch(/too large/);
  });

  test('[1.4] addresses that are loopback/private/link-local are refused without connecting unless allowed', async () => {
    const { docs, w } = await setup({ cimd: { allow_private_addresses: false } });
    await using _d = docs;
    await using _w = w;
    docs.respond = () => Response.json(goodDoc(docs));
    const port = new URL(docs.origin).port;
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, '10.0.0.1', '169.254.169.254', '[::1]', '[fd00::1]', '192.168.1.10']) {
      const { res, html } = await authorizeWith(w, `https://${host}${PATH}`);
      expect(res.status).toBe(400);
      expect(html).toContain('non-public address');
    }
    expect(docs.hits).toBe(0);
  });

  test('[1.4] URL rules: http refused unless allow_http; no query, fragment, userinfo, root path, dot segments', async () => {
    const { docs, w } = await setup();
    await using _d = docs;
    await using _w = w;
    const o = docs.origin;
    for (const id of [`${o.replace('https', 'http')}${PATH}`, `${o}${PATH}?x=1`, `${o}/`, `https://u@${o.slice(8)}${PATH}`, `${o}/a/../b.json`]) {
      const { res } = await authorizeWith(w, id);
      expect(res.status).toBe(400);
    }
    expect(docs.hits).toBe(0);
  });

  test('[1.4] Cache-Control max-age is honoured; after expiry it refetches; stale copy used when the refetch fails', async () => {
    const { docs, w, clientId } = await setup();
    await using _d = docs;
    await using _w = w;
    docs.respond = () => Response.json(goodDoc(docs), { headers: { 'Cache-Control': 'public, max-age=60' } });
    await authorizeWith(w, clientId);
    await authorizeWith(w, clientId);
    expect(docs.hits).toBe(1);
    w.clock.advance(61_000);
    await authorizeWith(w, clientId);
    expect(docs.hits).toBe(2);
    w.clock.advance(61_000);
    docs.respond = () => new Response('down', { status: 503 });
    const { res } = await authorizeWith(w, clientId);
    expect(res.status).toBe(200);
    expect(docs.hits).toBe(3);
    expect(w.logs.some((l) => l.msg.includes('using cached copy'))).toBe(true);
  });

  test('[1.4] failures are never cached; no-store documents are fetched every time', async () => {
    const { docs, w, clientId } = await setup();
    await using _d = docs;
    await using _w = w;
    docs.respond = () => new Response('down', { status: 500 });
    expect((await authorizeWith(w, clientId)).res.status).toBe(400);
    docs.respond = () => Response.json(goodDoc(docs), { headers: { 'Cache-Control': 'no-store' } });
    expect((await authorizeWith(w, clientId)).res.status).toBe(200);
    expect((await authorizeWith(w, clientId)).res.status).toBe(200);
    expect(docs.hits).toBe(3);
  });

  test('[1.4] a document that drops the redirect URI between page and POST -> no code', async () => {
    const { docs, w, clientId } = await setup();
    await using _d = docs;
    await using _w = w;
    docs.respond = () => Response.json(goodDoc(docs), { headers: { 'Cache-Control': 'no-cache' } });
    const { form } = await authorizeWith(w, clientId);
    docs.respond = () => Response.json(goodDoc(docs, { redirect_uris: ['https://elsewhere.example/cb'] }), { headers: { 'Cache-Control': 'no-cache' } });
    const res = await submitConsent(w, form);
    expect(res.status).toBe(400);
    expect(res.headers.get('location')).toBeNull();
    expect(docs.hits).toBe(2);
  });

  test('[1.4] CIMD disabled: URL client ids are unknown and metadata says so', async () => {
    const { docs, w, clientId } = await setup({ cimd: { enabled: false } });
    await using _d = docs;
    await using _w = w;
    const asm = (await (await fetch(`${w.url}/.well-known/oauth-authorization-server`)).json()) as Record<string, unknown>;
    expect(asm.client_id_metadata_document_supported).toBe(false);
    expect((await authorizeWith(w, clientId)).res.status).toBe(400);
    expect(docs.hits).toBe(0);
  });
});
