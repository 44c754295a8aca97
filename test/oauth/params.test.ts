/** @module Pure parameter rules: scope, resource, PKCE, redirect URIs, SSRF address classes, throttle policy. */
import { describe, expect, test } from 'bun:test';
import { addFailure, backoffAfter, backoffLeft, checkSlots, FORGET_AFTER, formatWait, liveState } from '../../src/oauth/login-throttle.ts';
import { endpointsFor } from '../../src/oauth/metadata.ts';
import { isValidCodeVerifier, narrowScope, normalizeScope, pkceMatches, resolveResource } from '../../src/oauth/params.ts';
import { redirectUriMatches, redirectUriProblem } from '../../src/oauth/redirect-uri.ts';
import { isPublicAddress } from '../../src/oauth/ssrf.ts';
import { pkce } from '../helpers/oauth-client.ts';

const e = endpointsFor('https://gw.example.com');

describe('identity', () => {
  test('[1.0] issuer is the origin without trailing slash; resource is issuer + /mcp', () => {
    expect(e.issuer).toBe('https://gw.example.com');
    expect(e.resource).toBe('https://gw.example.com/mcp');
    expect(e.resourceMetadata).toBe('https://gw.example.com/.well-known/oauth-protected-resource/mcp');
    expect(endpointsFor('https://gw.example.com/').issuer).toBe('https://gw.example.com');
    expect(() => endpointsFor('https://gw.example.com/prefix')).toThrow(/origin/);
  });
});

describe('scope', () => {
  test('[1.6] tolerant: leading space, offline_access, claudeai, read write, empty -> the supported scope', () => {
    for (const raw of [' offline_access', 'claudeai', 'read write', '', undefined, '  mcp\t offline_access ']) expect(normalizeScope(raw)).toBe('mcp');
  });
  test('refresh may only narrow the granted scope', () => {
    expect(narrowScope('mcp', undefined)).toBe('mcp');
    expect(narrowScope('mcp', 'admin')).toBe('mcp');
  });
});

describe('resource (RFC 8707)', () => {
  test('[1.6] accepts the resource, a trailing slash, the bare origin, case and default-port variants', () => {
    for (const r of ['https://gw.example.com/mcp', 'https://gw.example.com/mcp/', 'https://gw.example.com', 'https://gw.example.com/', 'HTTPS://GW.example.com:443/mcp', undefined]) {
      expect(resolveResource(r, e)).toBe('https://gw.example.com/mcp');
    }
  });
  test('[1.6] a foreign resource is invalid_target', () => {
    for (const r of ['https://other.example/mcp', 'https://gw.example.com/other', 'http://gw.example.com/mcp', 'https://gw.example.com:8443/mcp', 'https://gw.example.com/mcp#x', 'not a url']) {
      expect(() => resolveResource(r, e)).toThrow(expect.objectContaining({ code: 'invalid_target' }));
    }
  });
});

describe('PKCE (RFC 7636)', () => {
  test('S256 verification and verifier syntax', () => {
    const { verifier, challenge } = pkce();
    expect(pkceMatches(verifier, challenge)).toBe(true);
    expect(pkceMatches(verifier + 'a', challenge)).toBe(false);
    expect(pkceMatches(challenge, challenge)).toBe(false); // "plain" use of the challenge as verifier fails
    expect(isValidCodeVerifier('a'.repeat(42))).toBe(false);
    expect(isValidCodeVerifier('a'.repeat(129))).toBe(false);
    expect(isValidCodeVerifier('a'.repeat(43))).toBe(true);
  });
});

describe('redirect URIs', () => {
  test('[1.5] registration accepts https, http loopback and private-use schemes', () => {
    for (const u of ['https://claude.ai/api/mcp/auth_callback', 'http://localhost:3000/cb', 'http://127.0.0.1/callback', 'http://[::1]:8080/cb', 'claude://callback', 'com.example.app:/oauth']) {
      expect(redirectUriProblem(u)).toBeUndefined();
    }
  });
  test('[1.5] registration refuses http off loopback, fragments, userinfo, javascript:, data:, file:', () => {
    for (const u of ['http://evil.example/cb', 'https://a.example/cb#frag', 'https://user:pw@a.example/cb', 'javascript:alert(1)', 'data:text/html,x', 'file:///etc/passwd', 'relative/path', 'https://x/' + 'a'.repeat(2000)]) {
      expect(redirectUriProblem(u)).toBeString();
    }
  });
  test('[1.4] exact match, except loopback may differ in port only (RFC 8252 §7.3)', () => {
    expect(redirectUriMatches('https://claude.ai/api/mcp/auth_callback', 'https://claude.ai/api/mcp/auth_callback')).toBe(true);
    expect(redirectUriMatches('https://claude.ai/api/mcp/auth_callback', 'https://claude.ai/api/mcp/auth_callback/')).toBe(false);
    expect(redirectUriMatches('https://claude.ai/cb', 'https://claude.ai:8443/cb')).toBe(false);
    expect(redirectUriMatches('http://localhost/callback', 'http://localhost:53682/callback')).toBe(true);
    expect(redirectUriMatches('http://127.0.0.1:33418/callback', 'http://127.0.0.1:40000/callback')).toBe(true);
    expect(redirectUriMatches('http://localhost/callback', 'http://127.0.0.1:53682/callback')).toBe(false);
    expect(redirectUriMatches('http://localhost/callback', 'http://localhost:53682/other')).toBe(false);
    expect(redirectUriMatches('http://localhost/callback', 'http://localhost:53682/callback?x=1')).toBe(false);
    expect(redirectUriMatches('http://localhost/callback', 'http://localhost:5/callback#f')).toBe(false);
  });
});

describe('SSRF address classes', () => {
  test('[1.4] refuses loopback, RFC 1918, link-local/metadata, CGNAT, ULA, v4-mapped and reserved addresses', () => {
    for (const ip of ['127.0.0.1', '10.0.0.1', '172.16.5.4', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '224.0.0.1', '255.255.255.255', '::1', '::', 'fe80::1', 'fc00::1', 'fd12:3456::1', '::ffff:127.0.0.1', '::ffff:10.0.0.1', '64:ff9b::a00:1', '2001:db8::1', '2002:a00:1::', 'ff02::1', 'not-an-ip']) {
      expect(isPublicAddress(ip)).toBe(false);
    }
  });
  test('accepts public unicast addresses', () => {
    for (const ip of ['1.1.1.1', '160.79.106.1', '8.8.8.8', '2606:4700:4700::1111', '::ffff:1.1.1.1', '[2a00:1450::1]']) expect(isPublicAddress(ip)).toBe(true);
  });
});

describe('login throttle policy', () => {
  test('[1.6] issue 8 finding 3: free failures, then a back-off of 1 s doubling, capped (no hard lockout)', () => {
    expect([0, 4, 5, 6, 7, 14, 15, 40, 5000].map((n) => backoffAfter(n, 5, 900_000))).toEqual([0, 0, 1000, 2000, 4000, 512_000, 900_000, 900_000, 900_000]);
  });
  test('[1.6] a back-off ends by itself; failures are forgotten after a day without one', () => {
    let s = undefined as ReturnType<typeof addFailure> | undefined;
    for (let i = 0; i < 6; i++) s = addFailure(s, 100, 5, 900_000);
    expect(s).toEqual({ failures: 6, lastFailureAt: 100, blockedUntil: 2100 });
    expect(backoffLeft(s, 600)).toBe(1500);
    expect(backoffLeft(s, 2100)).toBe(0);
    expect(liveState(s, 100 + FORGET_AFTER - 1)).toBe(s!);
    expect(liveState(s, 100 + FORGET_AFTER)).toBeUndefined();
  });
  test('[1.6] parallel checks are limited to the failures still free, then one at a time', () => {
    expect(checkSlots(undefined, 5)).toBe(5);
    expect(checkSlots({ failures: 3, lastFailureAt: 0 }, 5)).toBe(2);
    expect(checkSlots({ failures: 9, lastFailureAt: 0 }, 5)).toBe(1);
  });
  test('issue 8 finding 3: waits are said in minutes, not "about 900 s"', () => {
    expect([1000, 59_999, 60_000, 60_001, 150_000, 900_000].map(formatWait)).toEqual([
      'in less than a minute',
      'in less than a minute',
      'in 1 minute',
      'in 2 minutes',
      'in 3 minutes',
      'in 15 minutes',
    ]);
  });
});
