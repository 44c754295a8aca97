/** @module A JSON-RPC error with its code and data, thrown by the MCP layer and mapped once per wire. */

/** A JSON-RPC 2.0 error (JSON-RPC §5.1); the SDK's modern handler maps it by its numeric `code` too. */
export class RpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(message);
    this.name = 'RpcError';
  }
}
