/** @module Pure parsers: token requests, client credentials, registration bodies, CIMD documents and caching. */
import { describe, expect, test } from 'bun:test';
import { cacheLifetime, cimdUrlProblem, parseClientMetadataDocument } from '../../src/oauth/cimd-document.ts';
import { parseClientCredentials } from '../../src/oauth/client-auth.ts';
import { parseClientRegistration } from '../../src/oauth/register.ts';
import { parseForm } from '../../src/oauth/request.ts';
import { parseTokenRequest } from '../../src/oauth/token-request.ts';
import { CLAUDE_DCR_BODY } from '../helpers/oauth-client.ts';

const form = (s: string) => parseForm(s);
const V = 'v'.repeat(43);

describe('parseTokenRequest', () => {
  test('authorization_code and refresh_token requests', () => {
    expect(parseTokenRequest(form(`grant_type=authorization_code&code=c&code_verifier=${V}&redirect_uri=x&resource=r`))).toEqual({
      grantType: 'authorization_code', code: 'c', codeVerifier: V, redirectUri: 'x', resource: 'r',
    });
    expect(parseTokenRequest(form('grant_type=refresh_token&refresh_token=t&scope=mcp'))).toEqual({ grantType: 'refresh_token', refreshToken: 't', scope: 'mcp', resource: undefined });
  });
  test('errors carry RFC 6749 §5.2 codes', () => {
    const code = (s: string) => {
      try {
        parseTokenRequest(form(s));
      } catch (e) {
        return (e as { code: string }).code;
      }
    };
    expect(code('')).toBe('invalid_request');
    expect(code('grant_type=client_credentials')).toBe('unsupported_grant_type');
    expect(code('grant_type=authorization_code&code=c')).toBe('invalid_request');
    expect(code('grant_type=authorization_code&code=c&code_verifier=short')).toBe('invalid_grant');
    expect(code('grant_type=refresh_token')).toBe('invalid_request');
    expect(() => form('a=1&a=2')).toThrow(/repeated/);
  });
});

describe('parseClientCredentials', () => {
  test('none, post, basic (form-urlencoded id and secret); two methods at once is invalid', () => {
    const basic = (id: string, s: string) => new Headers({ Authorization: `Basic ${btoa(`${encodeURIComponent(id)}:${encodeURIComponent(s)}`)}` });
    expect(parseClientCredentials(new Headers(), form('client_id=a'))).toEqual({ clientId: 'a', method: 'none' });
    expect(parseClientCredentials(new Headers(), form('client_id=a&client_secret=s'))).toEqual({ clientId: 'a', secret: 's', method: 'client_secret_post' });
    expect(parseClientCredentials(basic('a:b', 's p'), form(''))).toEqual({ clientId: 'a:b', secret: 's p', method: 'client_secret_basic' });
    expect(() => parseClientCredentials(basic('a', 's'), form('client_secret=s'))).toThrow(/one client authentication method/);
    expect(() => parseClientCredentials(basic('a', 's'), form('client_id=b'))).toThrow(/Basic/);
    expect(() => parseClientCredentials(new Headers(), form(''))).toThrow(/client authentication required/);
  });
});

describe('parseClientRegistration', () => {
  test("claude.ai's body; gathers every issue", () => {
    expect(parseClientRegistration(CLAUDE_DCR_BODY)).toEqual({
      ok: true,
      value: { redirectUris: CLAUDE_DCR_BODY.redirect_uris, authMethod: 'client_secret_post', clientName: 'Claude', scope: undefined, applicationType: undefined },
    });
    const bad = parseClientRegistration({ redirect_uris: ['http://evil/cb'], token_endpoint_auth_method: 'tls_client_auth', client_name: 5 });
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.issues.map((i) => i.code)).toEqual(['invalid_redirect_uri', 'invalid_client_metadata', 'invalid_client_metadata']);
  });
});

describe('CIMD documents', () => {
  const url = 'https://app.example/oauth/client.json';
  test('a minimal document; name defaults to the host', () => {
    expect(parseClientMetadataDocument({ client_id: url, redirect_uris: ['https://app.example/cb'] }, url)).toEqual({
      ok: true,
      value: { clientId: url, clientName: 'app.example', redirectUris: ['https://app.example/cb'] },
    });
  });
  test('gathers problems', () => {
    const r = parseClientMetadataDocument({ client_id: 'x', client_secret: 'y', redirect_uris: [], application_type: 'tv' }, url);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.issues).toHaveLength(4);
    expect(parseClientMetadataDocument([], url).ok).toBe(false);
  });
  test('URL rules', () => {
    expect(cimdUrlProblem(url, false)).toBeUndefined();
    expect(cimdUrlProblem('https://APP.example/oauth/client.json', false)).toMatch(/canonical/);
    expect(cimdUrlProblem('https://app.example:443/c.json', false)).toMatch(/canonical/);
    expect(cimdUrlProblem('http://app.example/c.json', false)).toMatch(/https/);
    expect(cimdUrlProblem('http://app.example/c.json', true)).toBeUndefined();
    expect(cimdUrlProblem('https://app.example/./c.json', false)).toMatch(/dot segments/);
  });
  test('cache lifetime from Cache-Control, bounded', () => {
    expect(cacheLifetime('max-age=60')).toBe(60_000);
    expect(cacheLifetime('public, max-age=999999999')).toBe(24 * 60 * 60 * 1000);
    expect(cacheLifetime(null)).toBe(5 * 60 * 1000);
    expect(cacheLifetime('no-cache')).toBe(0);
    expect(cacheLifetime('no-store, max-age=60')).toBe('no-store');
  });
});
