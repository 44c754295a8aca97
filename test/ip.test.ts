/** src/ip.ts reads addresses exactly as node:net does (it replaces node:net on the serve path: issue 7, memory). */
import { describe, expect, test } from 'bun:test';
import * as net from 'node:net';
import { AddressSet, isIP, isIPv4, isIPv6 } from '../src/ip.ts';

const CASES = [
  '1.2.3.4', '0.0.0.0', '255.255.255.255', '01.2.3.4', '256.1.1.1', '1.2.3', '1.2.3.4.5', ' 1.2.3.4', '1.2.3.4 ', '1.2.3.-4', '1.2.3.04',
  '::', '::1', '::ffff:1.2.3.4', '::1.2.3.4', '1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8:9', '1::2::3', 'fe80::1%eth0', 'fe80::1%', 'fe80::1%a b',
  '2001:db8::', '2001:db8:::1', ':1.2.3.4', '1:2:3:4:5:6:1.2.3.4', '1:2:3:4:5:6:7:1.2.3.4', '::ffff:1.2.3', '[::1]', '12345::', 'g::1',
  '::ffff:01.2.3.4', '1::', ':', '', 'a:b:c:d:e:f:0:1', '::0:0:0:0:0:0:0', '::0:0:0:0:0:0', '0:0:0:0:0:0:0::', '1:2:3:4:5:6:7::',
  '::2:3:4:5:6:7:8', 'fe80::1%25', 'fe80::%1', '1.2.3.4%x', '::1.2.3.4%x', 'FE80::ABCD', 'localhost', '1:2:3:4:5:6:7', ':::', '1:::2',
];

describe('src/ip.ts', () => {
  test.each(CASES)('%p is read as node:net reads it', (s) => {
    expect([isIP(s), isIPv4(s), isIPv6(s)]).toEqual([net.isIP(s) as 0 | 4 | 6, net.isIPv4(s), net.isIPv6(s)]);
  });

  test('5,000 generated strings of address characters are read as node:net reads them', () => {
    let seed = 11;
    const rnd = (n: number) => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % n);
    const parts = ['1', '0', '255', '256', 'ff', 'ffff', 'fffff', 'a', ':', '::', '.', '%', 'eth0', '01', '1.2.3.4'];
    const differing: string[] = [];
    for (let i = 0; i < 5000; i++) {
      let s = '';
      for (let n = 1 + rnd(10); n > 0; n--) s += parts[rnd(parts.length)];
      if (isIP(s) !== net.isIP(s)) differing.push(s);
    }
    expect(differing).toEqual([]);
  });

  test('AddressSet matches addresses and subnets as node:net BlockList does (an IPv4-mapped address also IPv4 rules)', () => {
    const mine = new AddressSet();
    const theirs = new net.BlockList();
    const rules: [string, number | undefined][] = [['127.0.0.0', 8], ['10.1.2.3', undefined], ['fd7a:115c:a1e0::', 48], ['::1', undefined], ['192.168.4.0', 22]];
    for (const [a, bits] of rules) {
      mine.add(a, bits);
      const type = net.isIP(a) === 4 ? 'ipv4' : 'ipv6';
      if (bits === undefined) theirs.addAddress(a, type);
      else theirs.addSubnet(a, bits, type);
    }
    const probes = ['127.0.0.1', '127.255.255.255', '128.0.0.1', '10.1.2.3', '10.1.2.4', 'fd7a:115c:a1e0:ab12::1', 'fd7a:115c:a1e1::1', '::1', '::2', '192.168.7.255', '192.168.8.0', '::ffff:127.0.0.1'];
    for (const p of probes) expect([p, mine.has(p)]).toEqual([p, theirs.check(p, net.isIP(p) === 4 ? 'ipv4' : 'ipv6')]);
    expect(mine.has('not an address')).toBe(false);
  });
});
