/** @module Discovery documents on the wire: PRM (RFC 9728), ASM (RFC 8414), JWKS, CORS. */
import { OAuthMetadataSchema, OAuthProtectedResourceMetadataSchema, OpenIdProviderDiscoveryMetadataSchema } from '@modelcontextprotocol/sdk/shared/auth.js';
import { describe, expect, test } from 'bun:test';
import { startOAuthWorld } from '../helpers/oauth-world.ts';

const PRM_PATHS = ['/.well-known/oauth-protected-resource/mcp', '/.well-known/oauth-protected-resource'];
const ASM_PATHS = ['/.well-known/oauth-authorization-server', '/.well-known/oauth-authorization-server/mcp', '/.well-known/openid-configuration'];

describe('discovery', () => {
  test('[1.2] PRM is served identically at the path-inserted and root URLs, resource = <public_url>/mcp', async () => {
    await using w = await startOAuthWorld();
    const docs = await Promise.all(PRM_PATHS.map(async (p) => {
      const res = await fetch(w.url + p);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toContain('application/json');
      expect(res.headers.get('access-control-allow-origin')).toBe('*');
      return res.json() as Promise<Record<string, unknown>>;
    }));
    expect(docs[0]).toEqual(docs[1]!);
    OAuthProtectedResourceMetadataSchema.parse(docs[0]);
    expect(docs[0]).toMatchObject({ resource: `${w.url}/mcp`, authorization_servers: [w.url], bearer_methods_supported: ['header'] });
    expect(docs[0]!.scopes_supported).not.toContain('offline_access');
  });

  test('[1.3] ASM at three paths with every field listed explicitly; issuer byte-identical to PRM', async () => {
    await using w = await startOAuthWorld();
    const prm = (await (await fetch(w.url + PRM_PATHS[0])).json()) as { authorization_servers: string[] };
    for (const p of ASM_PATHS) {
      const res = await fetch(w.url + p);
      expect(res.status).toBe(200);
      expect(res.headers.get('access-control-allow-origin')).toBe('*');
      const asm = (await res.json()) as Record<string, unknown>;
      OAuthMetadataSchema.parse(asm);
      expect(asm.issuer).toBe(prm.authorization_servers[0]!);
      expect(asm.issuer).toBe(w.url);
      expect(asm).toMatchObject({
        authorization_endpoint: `${w.url}/authorize`,
        token_endpoint: `${w.url}/token`,
        registration_endpoint: `${w.url}/register`,
        revocation_endpoint: `${w.url}/revoke`,
        response_types_supported: ['code'],
        grant_types_supported: ['authorization_code', 'refresh_token'],
        code_challenge_methods_supported: ['S256'],
        token_endpoint_auth_methods_supported: ['none', 'client_secret_post', 'client_secret_basic'],
        client_id_metadata_document_supported: true,
        authorization_response_iss_parameter_supported: true,
        scopes_supported: ['mcp'],
      });
      if (p.includes('openid')) OpenIdProviderDiscoveryMetadataSchema.parse(asm);
    }
  });

  test('[1.3] every advertised endpoint resolves (JWKS holds one public ES256 key)', async () => {
    await using w = await startOAuthWorld();
    const asm = (await (await fetch(`${w.url}/.well-known/oauth-authorization-server`)).json()) as Record<string, string>;
    const jwks = (await (await fetch(asm.jwks_uri!)).json()) as { keys: Record<string, string>[] };
    expect(jwks.keys).toHaveLength(1);
    expect(jwks.keys[0]).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
    expect(jwks.keys[0]!.d).toBeUndefined();
    for (const key of ['token_endpoint', 'registration_endpoint', 'revocation_endpoint']) {
      expect((await fetch(asm[key]!, { method: 'OPTIONS' })).status).toBe(204);
    }
    expect((await fetch(asm.authorization_endpoint!)).status).toBe(400); // reachable; no client_id -> error page
  });

  test('[1.2] CORS preflight allows MCP-Protocol-Version on metadata, token, register, revoke', async () => {
    await using w = await startOAuthWorld();
    for (const p of [...PRM_PATHS, ...ASM_PATHS, '/token', '/register', '/revoke', '/jwks.json']) {
      const res = await fetch(w.url + p, {
        method: 'OPTIONS',
        headers: { Origin: 'http://localhost:6274', 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'mcp-protocol-version, content-type' },
      });
      expect(res.status).toBe(204);
      expect(res.headers.get('access-control-allow-origin')).toBe('*');
      expect(res.headers.get('access-control-allow-headers')!.toLowerCase()).toContain('mcp-protocol-version');
    }
  });

  test('[1.6] /authorize never carries CORS headers, not even on a preflight', async () => {
    await using w = await startOAuthWorld();
    const pre = await fetch(`${w.url}/authorize`, { method: 'OPTIONS', headers: { Origin: 'https://evil.example', 'Access-Control-Request-Method': 'POST' } });
    expect(pre.status).toBe(405);
    expect(pre.headers.get('access-control-allow-origin')).toBeNull();
    const get = await fetch(`${w.url}/authorize?client_id=x`, { headers: { Origin: 'https://evil.example' } });
    expect(get.headers.get('access-control-allow-origin')).toBeNull();
  });

  test('registration disabled: no registration_endpoint and /register is not served', async () => {
    await using w = await startOAuthWorld({ settings: { registration: { enabled: false } } });
    const asm = (await (await fetch(`${w.url}/.well-known/oauth-authorization-server`)).json()) as Record<string, unknown>;
    expect(asm.registration_endpoint).toBeUndefined();
    expect((await fetch(`${w.url}/register`, { method: 'POST', body: '{}' })).status).toBe(404);
  });

  test('unknown paths and wrong methods: undefined (the gateway 404s) and 405 with Allow', async () => {
    await using w = await startOAuthWorld();
    expect(await w.auth.handle(new Request(`${w.url}/nope`), '127.0.0.1')).toBeUndefined();
    const res = await fetch(`${w.url}/token`);
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('POST, OPTIONS');
  });
});
