/** @module The error types every layer throws; each wire maps them once. */

/** Gateway error codes (snake_case, stable). */
export type GatewayErrorCode =
  | 'config_invalid'
  | 'config_not_found'
  | 'backend_unavailable'
  | 'backend_timeout'
  | 'backend_message_too_large'
  | 'tool_not_found'
  | 'prompt_not_found'
  | 'resource_not_found'
  | 'name_collision'
  | 'request_too_large'
  | 'forbidden_origin'
  | 'forbidden_host'
  | 'internal';

/** An error of the gateway's own making, with a stable code and optional detail. */
export class GatewayError extends Error {
  readonly code: GatewayErrorCode;
  readonly detail?: Record<string, unknown>;
  constructor(code: GatewayErrorCode, message: string, opts: { cause?: unknown; detail?: Record<string, unknown> } = {}) {
    super(message, { cause: opts.cause });
    this.name = 'GatewayError';
    this.code = code;
    this.detail = opts.detail;
  }
}

/** Message of anything thrown, without a stack. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return typeof err === 'string' ? err : JSON.stringify(err);
}

/** A JSON-RPC 2.0 error (JSON-RPC §5.1) with its code and data: a backend's error passed through, or one the MCP layer raises; mapped once per wire. */
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
