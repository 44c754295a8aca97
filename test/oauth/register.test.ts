/** @module /register (RFC 7591): claude.ai's body, secrets hashed, redirect URI rules, limits, cleanup. */
import { describe, expect, test } from 'bun:test';
import { sha256Hex } from '../../src/store/secrets.ts';
import { CLAUDE_DCR_BODY, postForm, register } from '../helpers/oauth-client.ts';
import { startOAuthWorld } from '../helpers/oauth-world.ts';

type Reg = Record<string, unknown> & { client_id: string; client_secret?: string };

describe('dynamic client registration', () => {
  test("[1.5][4.1] claude.ai's exact body -> 201 with a secret (client_secret_post honoured), stored only as a hash", async () => {
    await using w = await startOAuthWorld();
    const res = await register(w, CLAUDE_DCR_BODY);
    expect(res.status).toBe(201);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    const body = (await res.json()) as Reg;
    expect(body).toMatchObject({
      redirect_uris: CLAUDE_DCR_BODY.redirect_uris,
      token_endpoint_auth_method: 'client_secret_post',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      client_name: 'Claude',
      client_secret_expires_at: 0,
    });
    expect(body.client_id).not.toStartWith('https://');
    expect(body.client_id_issued_at).toBe(Math.floor(w.clock.now() / 1000));
    const row = w.db.query('SELECT * FROM clients WHERE client_id = ?').get(body.client_id) as Record<string, string>;
    expect(row.client_secret_hash).toBe(`sha256:${sha256Hex(body.client_secret!)}`);
    expect(JSON.stringify(row)).not.toContain(body.client_secret!);
  });

  test('[1.5] a client asking for none gets no secret; an omitted method registers a public client', async () => {
    await using w = await startOAuthWorld();
    for (const body of [{ ...CLAUDE_DCR_BODY, token_endpoint_auth_method: 'none' }, { redirect_uris: ['http://localhost:8080/cb'] }]) {
      const reg = (await (await register(w, body)).json()) as Reg;
      expect(reg.token_endpoint_auth_method).toBe('none');
      expect(reg.client_secret).toBeUndefined();
      expect(reg.client_secret_expires_at).toBeUndefined();
    }
  });

  test('[1.5] unknown fields, unknown scopes and application_type native are accepted', async () => {
    await using w = await startOAuthWorld();
    const res = await register(w, { redirect_uris: ['claude://callback', 'http://127.0.0.1/cb'], scope: 'claudeai', application_type: 'native', logo_uri: 'http://10.0.0.1/x.png', foo: 1 });
    expect(res.status).toBe(201);
    expect(((await res.json()) as Reg).scope).toBe('claudeai');
  });

  test('[1.5] bad redirect URIs -> 400 invalid_redirect_uri', async () => {
    await using w = await startOAuthWorld();
    for (const uri of ['http://evil.example/cb', 'javascript:alert(1)', 'data:text/html,hi', 'https://a.example/cb#x', 'https://u:p@a.example/cb']) {
      const res = await register(w, { redirect_uris: [uri] });
      expect(res.status).toBe(400);
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect(((await res.json()) as { error: string }).error).toBe('invalid_redirect_uri');
    }
    const none = await register(w, { client_name: 'x' });
    expect(((await none.json()) as { error: string }).error).toBe('invalid_redirect_uri');
  });

  test('[1.5] bad metadata -> 400 invalid_client_metadata (auth method, grant types, name length, not JSON, not an object)', async () => {
    await using w = await startOAuthWorld();
    const ok = { redirect_uris: ['https://a.example/cb'] };
    for (const body of [
      { ...ok, token_endpoint_auth_method: 'private_key_jwt' },
      { ...ok, grant_types: ['client_credentials'] },
      { ...ok, response_types: ['token'] },
      { ...ok, client_name: 'x'.repeat(201) },
      { ...ok, application_type: 'desktop' },
      [ok],
    ]) {
      const res = await register(w, body);
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: string }).error).toBe('invalid_client_metadata');
    }
    const text = await fetch(`${w.url}/register`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{nope' });
    expect(((await text.json()) as { error: string }).error).toBe('invalid_client_metadata');
    const form = await fetch(`${w.url}/register`, { method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: '{}' });
    expect(((await form.json()) as { error: string }).error).toBe('invalid_client_metadata');
  });

  test('[1.5] bodies over 16 KB are refused with 413', async () => {
    await using w = await startOAuthWorld();
    const res = await register(w, { redirect_uris: ['https://a.example/cb'], client_name: 'x', pad: 'y'.repeat(17 * 1024) });
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error: string }).error).toBe('invalid_request');
  });

  test('[1.5] registrations are rate-limited per IP per hour -> 429 with Retry-After; other IPs unaffected; window resets', async () => {
    await using w = await startOAuthWorld({ settings: { registration: { rate_limit: 5 } } });
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) statuses.push((await register(w, CLAUDE_DCR_BODY)).status);
    expect(statuses).toEqual([201, 201, 201, 201, 201, 429, 429, 429]);
    const limited = await register(w, CLAUDE_DCR_BODY);
    expect(limited.headers.get('retry-after')).toBe('3600');
    expect(((await limited.json()) as { error: string }).error).toBe('temporarily_unavailable');
    expect((await register(w, CLAUDE_DCR_BODY, { 'x-test-client-ip': '198.51.100.7' })).status).toBe(201);
    w.clock.advance(60 * 60 * 1000);
    expect((await register(w, CLAUDE_DCR_BODY)).status).toBe(201);
  });

  test('[1.5] clients that never obtained a token are removed after unused_client_ttl; used ones stay', async () => {
    await using w = await startOAuthWorld({ settings: { registration: { unused_client_ttl: 60 * 60 * 1000 } } });
    const unused = ((await (await register(w, CLAUDE_DCR_BODY)).json()) as Reg).client_id;
    const used = ((await (await register(w, CLAUDE_DCR_BODY)).json()) as Reg).client_id;
    w.db.query('UPDATE clients SET last_used_at = ? WHERE client_id = ?').run(w.clock.now(), used);
    w.clock.advance(2 * 60 * 60 * 1000);
    await register(w, CLAUDE_DCR_BODY); // registration sweeps lazily
    const ids = (w.db.query('SELECT client_id FROM clients').all() as { client_id: string }[]).map((r) => r.client_id);
    expect(ids).toContain(used);
    expect(ids).not.toContain(unused);
    const res = await postForm(w, '/token', { grant_type: 'refresh_token', refresh_token: 'x', client_id: unused });
    expect(res.status).toBe(401);
  });
});
