/** @module The validated auth settings the gateway passes in (config/schema.ts owns parsing and defaults). */

/** `auth:` section of gateway.yaml after validation; every duration is in milliseconds. */
export interface AuthSettings {
  mode: 'oauth' | 'none';
  /** PHC string from Bun.password.hash (argon2id); absent until `mcpgw passwd` ran. */
  password_hash?: string;
  access_token_ttl: number;
  refresh_token_ttl: number;
  refresh_grace: number;
  code_ttl: number;
  registration: { enabled: boolean; rate_limit: number /* per hour per IP */; unused_client_ttl: number };
  cimd: { enabled: boolean; allow_private_addresses: boolean; allow_http: boolean; timeout: number; max_bytes: number };
  clients: { client_id: string; client_name?: string; redirect_uris: string[]; client_secret_hash?: string }[];
  login: { max_failures: number; lockout: number; global_max_failures: number };
}
