/** @module SSRF guard for outbound fetches: which IP addresses are public (RFC 6890 special-use ranges refused). Pure. */
import { isIPv4, isIPv6 } from '../ip.ts';

// [base, prefix length]; everything here is loopback, private, link-local (incl. cloud metadata), CGNAT,
// documentation, benchmarking, multicast or reserved.
const V4_SPECIAL: [string, number][] = [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.0.2.0', 24], ['192.88.99.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15],
  ['198.51.100.0', 24], ['203.0.113.0', 24], ['224.0.0.0', 4], ['240.0.0.0', 4],
];

function v4ToInt(ip: string): number {
  return ip.split('.').reduce((acc, part) => (acc << 8) + Number(part), 0) >>> 0;
}

function inV4Range(ip: number, base: string, bits: number): boolean {
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  return (ip & mask) === (v4ToInt(base) & mask);
}

/** Expands an IPv6 address into eight 16-bit groups (handles `::` and an embedded dotted IPv4 tail). */
function ipv6Groups(ip: string): number[] {
  let text = ip.replace(/^\[|\]$/g, '').split('%')[0]!;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const n = v4ToInt(v4[1]!);
    text = text.slice(0, v4.index) + `${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const fill = tail === undefined ? [] : Array(8 - h.length - t.length).fill('0');
  return [...h, ...fill, ...t].map((g) => parseInt(g, 16));
}

function isPublicV6(ip: string): boolean {
  const g = ipv6Groups(ip);
  if (g.length !== 8 || g.some((x) => Number.isNaN(x))) return false;
  const first = g[0]!;
  // ::ffff:a.b.c.d (v4-mapped) and ::a.b.c.d (v4-compatible): judge the embedded IPv4 address.
  if (g.slice(0, 5).every((x) => x === 0) && (g[5] === 0xffff || g[5] === 0)) {
    if (g[5] === 0 && g[6] === 0 && (g[7] === 0 || g[7] === 1)) return false; // :: and ::1
    return isPublicV4(`${g[6]! >> 8}.${g[6]! & 255}.${g[7]! >> 8}.${g[7]! & 255}`);
  }
  if ((first & 0xe000) !== 0x2000) return false; // only global unicast 2000::/3
  if (first === 0x2001 && g[1]! < 0x0200) return false; // 2001::/23 IETF protocol assignments (Teredo, ORCHID…)
  if (first === 0x2001 && g[1] === 0x0db8) return false; // documentation
  if (first === 0x2002) return false; // 6to4 can embed any IPv4 address
  return true;
}

function isPublicV4(ip: string): boolean {
  const n = v4ToInt(ip);
  return !V4_SPECIAL.some(([base, bits]) => inV4Range(n, base, bits));
}

/** True when `ip` is a public unicast address; false for special-use, malformed, or non-IP input. */
export function isPublicAddress(ip: string): boolean {
  if (isIPv4(ip)) return isPublicV4(ip);
  if (isIPv6(ip.replace(/^\[|\]$/g, ''))) return isPublicV6(ip);
  return false;
}
