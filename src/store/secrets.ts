/** @module Token hashing and random identifiers; the store keeps only SHA-256 hashes of tokens. */

/** Random bytes source (Deps.random). */
export type RandomFn = (bytes: number) => Uint8Array;

/** Lower-case hex SHA-256 of a UTF-8 string; the lookup key for every stored token. */
export function sha256Hex(value: string): string {
  return new Bun.CryptoHasher('sha256').update(value, 'utf8').digest('hex');
}

/** Base64url without padding (RFC 4648 §5). */
export function base64url(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64url');
}

/** A random URL-safe string of `bytes` bytes of entropy, with an optional prefix such as `mcpgw_rt_`. */
export function randomToken(random: RandomFn, bytes = 32, prefix = ''): string {
  return prefix + base64url(random(bytes));
}

/** Constant-time string equality (lengths may leak, contents do not). */
export function safeEqual(a: string, b: string): boolean {
  const ab = Buffer.from(a, 'utf8');
  const bb = Buffer.from(b, 'utf8');
  return ab.length === bb.length && crypto.timingSafeEqual(ab, bb);
}
