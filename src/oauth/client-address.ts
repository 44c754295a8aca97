/** @module The client's address: the TCP peer, or the right-most untrusted X-Forwarded-For hop when the peer is a trusted proxy. */
import { AddressSet, isIP } from '../ip.ts';

/** Trusted proxies when `http.trusted_proxies` is not set: loopback, which is how `tailscale funnel` and `tailscale serve` arrive. */
export const DEFAULT_TRUSTED_PROXIES = ['127.0.0.0/8', '::1'];

/** A set of trusted proxy addresses and networks. */
export interface TrustedProxies {
  has(address: string): boolean;
}

/** Whether `entry` is an IP address or CIDR (`10.0.0.0/8`, `fd7a:115c:a1e0::/48`). Pure. */
export function isIpOrCidr(entry: string): boolean {
  const [addr, prefix, ...rest] = entry.trim().split('/');
  const family = isIP(addr ?? '');
  if (family === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128);
}

/** Builds the trusted set; throws on an entry that is neither an IP nor a CIDR (the config schema checks first). */
export function createTrustedProxies(entries: readonly string[]): TrustedProxies {
  const list = new AddressSet();
  for (const raw of entries) {
    if (!isIpOrCidr(raw)) throw new Error(`not an IP address or CIDR: ${raw}`);
    const [addr, prefix] = raw.trim().split('/');
    list.add(addr!, prefix === undefined ? undefined : Number(prefix));
  }
  return { has: (address) => list.has(normalizeAddress(address)) };
}

/** `::ffff:1.2.3.4` (an IPv4 peer on a dual-stack socket) becomes `1.2.3.4`; brackets and zone ids are dropped. Pure. */
export function normalizeAddress(address: string): string {
  let a = address.trim().replace(/^\[(.*)\]$/, '$1');
  const zone = a.indexOf('%');
  if (zone >= 0) a = a.slice(0, zone);
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(a);
  return (mapped ? mapped[1]! : a).toLowerCase();
}

/**
 * The address to throttle by. Only a trusted peer may speak for the client: then the X-Forwarded-For hops are
 * read from the right (each proxy appends the address it saw) and the first one that is not itself a trusted
 * proxy is the client. A malformed hop stops the walk there: what lies left of it cannot be trusted. Pure.
 */
export function clientAddress(peer: string, forwardedFor: string | null, trusted: TrustedProxies): string {
  const self = normalizeAddress(peer);
  if (!forwardedFor || !trusted.has(self)) return self;
  const hops = forwardedFor.split(',').map((h) => normalizeAddress(h)).filter((h) => h !== '');
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i]!;
    if (isIP(hop) === 0) return self;
    if (!trusted.has(hop)) return hop;
  }
  // Every hop is a trusted proxy: the left-most one is the closest to the client we know of.
  return hops[0] ?? self;
}
