/**
 * @module IP address syntax and subnets, as node:net's isIP/isIPv4/isIPv6 and BlockList read them, without loading
 * node:net (which brings Bun's node:stream machinery, about 3 MB of a gateway's idle memory: issue 7). Pure.
 */

const V4_PART = '(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
const V4 = new RegExp(`^${V4_PART}(?:\\.${V4_PART}){3}$`);
const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;
const ZONE = /^[0-9a-zA-Z\-.:]+$/;

/** Dotted-quad IPv4 without leading zeros (`127.0.0.1`, not `127.0.0.01`). */
export function isIPv4(s: string): boolean {
  return V4.test(s);
}

/** An IPv6 address (`::1`, `fe80::1%eth0`, `::ffff:1.2.3.4`). */
export function isIPv6(s: string): boolean {
  return ipv6Groups(s) !== undefined;
}

/** 4, 6, or 0 when `s` is not an IP address. */
export function isIP(s: string): 0 | 4 | 6 {
  return isIPv4(s) ? 4 : isIPv6(s) ? 6 : 0;
}

/** The eight 16-bit groups of an IPv6 address, or undefined when it is not one. */
function ipv6Groups(s: string): number[] | undefined {
  let text = s;
  const zone = text.indexOf('%');
  if (zone >= 0) {
    if (!ZONE.test(text.slice(zone + 1))) return undefined;
    text = text.slice(0, zone);
  }
  let tail: number[] = [];
  const lastColon = text.lastIndexOf(':');
  if (lastColon >= 0 && text.includes('.', lastColon)) {
    // An embedded IPv4 address in the last 32 bits (`::ffff:1.2.3.4`).
    const v4 = text.slice(lastColon + 1);
    if (!isIPv4(v4)) return undefined;
    const b = v4.split('.').map(Number);
    tail = [(b[0]! << 8) | b[1]!, (b[2]! << 8) | b[3]!];
    const prefix = text.slice(0, lastColon + 1);
    text = prefix.endsWith('::') ? prefix : prefix.slice(0, -1);
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const parse = (part: string): number[] | undefined => {
    if (part === '') return [];
    const groups = part.split(':');
    if (!groups.every((g) => HEX_GROUP.test(g))) return undefined;
    return groups.map((g) => parseInt(g, 16));
  };
  const head = parse(halves[0]!);
  if (!head) return undefined;
  if (halves.length === 1) {
    const all = [...head, ...tail];
    return all.length === 8 ? all : undefined;
  }
  const rest = parse(halves[1]!);
  if (!rest) return undefined;
  const known = head.length + rest.length + tail.length;
  if (known > 7) return undefined;
  return [...head, ...Array<number>(8 - known).fill(0), ...rest, ...tail];
}

/** The address's bytes: 4 for IPv4, 16 for IPv6; undefined when it is not an address. */
function addressBytes(s: string): Uint8Array | undefined {
  if (isIPv4(s)) return new Uint8Array(s.split('.').map(Number));
  const g = ipv6Groups(s);
  if (!g) return undefined;
  const out = new Uint8Array(16);
  g.forEach((v, i) => ((out[2 * i] = v >> 8), (out[2 * i + 1] = v & 0xff)));
  return out;
}

/** A set of addresses and subnets of either family; an address matches rules of its own family (an IPv4-mapped IPv6 address also the IPv4 ones). */
export class AddressSet {
  private readonly rules: { bytes: Uint8Array; bits: number }[] = [];

  /** Adds an address (`bits` omitted) or a subnet; throws on an address that is not one. */
  add(address: string, bits?: number): void {
    const bytes = addressBytes(address);
    if (!bytes) throw new Error(`not an IP address: ${address}`);
    const max = bytes.length * 8;
    this.rules.push({ bytes, bits: bits === undefined ? max : Math.max(0, Math.min(max, bits)) });
  }

  has(address: string): boolean {
    const bytes = addressBytes(address);
    if (!bytes) return false;
    if (this.rules.some((r) => r.bytes.length === bytes.length && samePrefix(r.bytes, bytes, r.bits))) return true;
    const mapped = bytes.length === 16 && bytes.subarray(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
    return mapped && this.rules.some((r) => r.bytes.length === 4 && samePrefix(r.bytes, bytes.subarray(12), r.bits));
  }
}

function samePrefix(a: Uint8Array, b: Uint8Array, bits: number): boolean {
  const whole = bits >> 3;
  for (let i = 0; i < whole; i++) if (a[i] !== b[i]) return false;
  const rest = bits & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return (a[whole]! & mask) === (b[whole]! & mask);
}
