/** @module The TCP peer's address, read from the socket only when something needs it. */

/**
 * The TCP peer's address, or a function that reads it: the socket is asked only when an address is needed
 * (sign-in routes, a refused or first bearer), not on every MCP call.
 */
export type PeerAddress = string | (() => string);

/** The address itself. */
export function peerAddress(peer: PeerAddress | undefined): string | undefined {
  return typeof peer === 'function' ? peer() : peer;
}
