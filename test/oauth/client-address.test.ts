/** @module The client address behind a trusted proxy (issue 8 finding 3). */
import { describe, expect, test } from 'bun:test';
import { clientAddress, createTrustedProxies, DEFAULT_TRUSTED_PROXIES, isIpOrCidr, normalizeAddress } from '../../src/oauth/client-address.ts';

const loopback = createTrustedProxies(DEFAULT_TRUSTED_PROXIES);

describe('clientAddress', () => {
  test('issue 8 finding 3: behind a loopback proxy (tailscale funnel) the forwarded address is the client', () => {
    expect(clientAddress('127.0.0.1', '203.0.113.7', loopback)).toBe('203.0.113.7');
    expect(clientAddress('::1', '2001:db8::5', loopback)).toBe('2001:db8::5');
    expect(clientAddress('::ffff:127.0.0.1', '203.0.113.7', loopback)).toBe('203.0.113.7');
  });

  test('an untrusted peer cannot choose its address with X-Forwarded-For', () => {
    expect(clientAddress('198.51.100.9', '203.0.113.7', loopback)).toBe('198.51.100.9');
    expect(clientAddress('::ffff:198.51.100.9', '127.0.0.1', loopback)).toBe('198.51.100.9');
  });

  test('the right-most untrusted hop wins: a client cannot prepend a spoofed address', () => {
    expect(clientAddress('127.0.0.1', '1.2.3.4, 203.0.113.7', loopback)).toBe('203.0.113.7');
    const chain = createTrustedProxies(['127.0.0.1', '10.0.0.0/8']);
    expect(clientAddress('127.0.0.1', '1.2.3.4, 203.0.113.7, 10.1.2.3', chain)).toBe('203.0.113.7');
    expect(clientAddress('127.0.0.1', '10.0.0.2, 10.1.2.3', chain)).toBe('10.0.0.2');
  });

  test('no header or a malformed hop falls back to the nearest address that can be trusted', () => {
    expect(clientAddress('127.0.0.1', null, loopback)).toBe('127.0.0.1');
    expect(clientAddress('127.0.0.1', '', loopback)).toBe('127.0.0.1');
    expect(clientAddress('127.0.0.1', 'evil, not-an-ip', loopback)).toBe('127.0.0.1');
    expect(clientAddress('127.0.0.1', 'evil, 203.0.113.7', loopback)).toBe('203.0.113.7');
  });

  test('an empty trusted list believes no header', () => {
    expect(clientAddress('127.0.0.1', '203.0.113.7', createTrustedProxies([]))).toBe('127.0.0.1');
  });
});

describe('trusted proxy entries', () => {
  test('IPs and CIDRs of both families are accepted; anything else is not', () => {
    for (const ok of ['127.0.0.1', '127.0.0.0/8', '::1', 'fd7a:115c:a1e0::/48', '0.0.0.0/0']) expect(isIpOrCidr(ok)).toBe(true);
    for (const bad of ['localhost', '10.0.0.0/33', '::/129', '10.0.0.0/8/1', '10.0.0.0/x', '']) expect(isIpOrCidr(bad)).toBe(false);
    expect(() => createTrustedProxies(['localhost'])).toThrow('not an IP address or CIDR: localhost');
  });
  test('CIDR membership, IPv4-mapped peers and bracketed IPv6', () => {
    const t = createTrustedProxies(['100.64.0.0/10', 'fd7a:115c:a1e0::/48']);
    expect(t.has('100.100.1.2')).toBe(true);
    expect(t.has('::ffff:100.100.1.2')).toBe(true);
    expect(t.has('[fd7a:115c:a1e0::9]')).toBe(true);
    expect(t.has('100.128.0.1')).toBe(false);
    expect(t.has('garbage')).toBe(false);
    expect(normalizeAddress(' FE80::1%eth0 ')).toBe('fe80::1');
  });
});
