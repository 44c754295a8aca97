/** @module OAuthError: an RFC error code, a client-safe description and the HTTP status; mapped in oauth/respond.ts. */

/** Error codes of RFC 6749 §5.2/§4.1.2.1, RFC 6750 §3.1, RFC 7591 §3.2.2 and RFC 8707 §2. */
export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'unsupported_response_type'
  | 'invalid_scope'
  | 'access_denied'
  | 'server_error'
  | 'temporarily_unavailable'
  | 'invalid_token'
  | 'insufficient_scope'
  | 'invalid_target'
  | 'invalid_redirect_uri'
  | 'invalid_client_metadata';

/** An OAuth protocol error; `description` reaches the client, so it never holds secrets. */
export class OAuthError extends Error {
  readonly code: OAuthErrorCode;
  readonly description: string;
  readonly status: number;
  /** Extra response headers (e.g. `WWW-Authenticate: Basic` for a failed Basic client authentication). */
  readonly headers: Record<string, string>;
  constructor(code: OAuthErrorCode, description: string, status = 400, opts: { cause?: unknown; headers?: Record<string, string> } = {}) {
    super(`${code}: ${description}`, { cause: opts.cause });
    this.name = 'OAuthError';
    this.code = code;
    this.description = description;
    this.status = status;
    this.headers = opts.headers ?? {};
  }
}
