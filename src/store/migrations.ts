/** @module Numbered schema migrations; append only, never edit a released one. Documented in store/schema.md. */

/** One schema step; `sql` may hold several statements. */
export interface Migration {
  version: number;
  sql: string;
}

/** All migrations in order. */
export const MIGRATIONS: Migration[] = [
  {
    version: 1,
    sql: `
CREATE TABLE clients (
  client_id TEXT PRIMARY KEY,
  registration TEXT NOT NULL CHECK (registration IN ('dcr', 'cimd', 'preregistered')),
  client_name TEXT,
  redirect_uris TEXT NOT NULL,
  token_endpoint_auth_method TEXT NOT NULL,
  client_secret_hash TEXT,
  metadata TEXT NOT NULL DEFAULT '{}',
  created_at INTEGER NOT NULL,
  last_used_at INTEGER
);

CREATE TABLE authorization_requests (
  id_hash TEXT PRIMARY KEY,
  csrf_hash TEXT NOT NULL,
  client_id TEXT NOT NULL,
  redirect_uri TEXT NOT NULL,
  redirect_uri_sent INTEGER NOT NULL,
  code_challenge TEXT NOT NULL,
  scope TEXT NOT NULL,
  resource TEXT NOT NULL,
  state TEXT,
  backends_offered TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
);

CREATE TABLE grants (
  id TEXT PRIMARY KEY,
  kind TEXT NOT NULL CHECK (kind IN ('oauth', 'personal')),
  registration TEXT NOT NULL CHECK (registration IN ('dcr', 'cimd', 'preregistered', 'personal')),
  client_id TEXT NOT NULL,
  client_name TEXT,
  subject TEXT NOT NULL,
  scope TEXT NOT NULL,
  resource TEXT NOT NULL,
  backends TEXT,
  created_at INTEGER NOT NULL,
  last_used_at INTEGER,
  expires_at INTEGER,
  revoked_at INTEGER,
  revoked_reason TEXT
);
CREATE INDEX grants_client ON grants (client_id);

CREATE TABLE authorization_codes (
  code_hash TEXT PRIMARY KEY,
  client_id TEXT NOT NULL,
  redirect_uri TEXT NOT NULL,
  redirect_uri_sent INTEGER NOT NULL,
  code_challenge TEXT NOT NULL,
  scope TEXT NOT NULL,
  resource TEXT NOT NULL,
  backends TEXT,
  subject TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  redeemed_at INTEGER,
  grant_id TEXT REFERENCES grants (id) ON DELETE SET NULL
);

CREATE TABLE refresh_tokens (
  token_hash TEXT PRIMARY KEY,
  grant_id TEXT NOT NULL REFERENCES grants (id) ON DELETE CASCADE,
  client_id TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  rotated_at INTEGER
);
CREATE INDEX refresh_tokens_grant ON refresh_tokens (grant_id);

CREATE TABLE access_tokens (
  jti TEXT PRIMARY KEY,
  grant_id TEXT NOT NULL REFERENCES grants (id) ON DELETE CASCADE,
  client_id TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  revoked_at INTEGER
);
CREATE INDEX access_tokens_grant ON access_tokens (grant_id);

CREATE TABLE personal_tokens (
  token_hash TEXT PRIMARY KEY,
  grant_id TEXT NOT NULL UNIQUE REFERENCES grants (id) ON DELETE CASCADE,
  created_at INTEGER NOT NULL
);

CREATE TABLE login_throttle (
  key TEXT PRIMARY KEY,
  failures INTEGER NOT NULL,
  last_failure_at INTEGER NOT NULL,
  locked_until INTEGER
);

CREATE TABLE rate_limits (
  key TEXT PRIMARY KEY,
  window_start INTEGER NOT NULL,
  count INTEGER NOT NULL
);
`,
  },
  {
    version: 2,
    sql: `
CREATE TABLE mcp_sessions (
  id_hash TEXT PRIMARY KEY,
  grant_key TEXT NOT NULL,
  protocol_version TEXT NOT NULL,
  client_capabilities TEXT NOT NULL DEFAULT '{}',
  log_level TEXT,
  subscriptions TEXT NOT NULL DEFAULT '[]',
  created_at INTEGER NOT NULL,
  last_active_at INTEGER NOT NULL
);
CREATE INDEX mcp_sessions_grant ON mcp_sessions (grant_key);

CREATE TABLE backend_catalogs (
  backend TEXT PRIMARY KEY,
  catalog TEXT NOT NULL,
  capabilities TEXT NOT NULL DEFAULT '{}',
  instructions TEXT,
  server_name TEXT,
  updated_at INTEGER NOT NULL
);
`,
  },
  {
    version: 3,
    sql: `
CREATE TABLE login_known_addresses (
  address TEXT PRIMARY KEY,
  last_success_at INTEGER NOT NULL
);
`,
  },
  {
    version: 4,
    sql: `
CREATE TABLE audit_log (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  time INTEGER NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('call', 'auth', 'backend')),
  event TEXT NOT NULL,
  outcome TEXT NOT NULL CHECK (outcome IN ('ok', 'error')),
  grant_id TEXT,
  client_id TEXT,
  client_name TEXT,
  backend TEXT,
  tool TEXT,
  duration_ms INTEGER,
  error TEXT,
  ip TEXT,
  detail TEXT
);
CREATE INDEX audit_log_time ON audit_log (time);
CREATE INDEX audit_log_kind ON audit_log (kind, id);
`,
  },
  {
    version: 5,
    sql: `
CREATE TABLE tool_pins (
  backend TEXT NOT NULL,
  tool TEXT NOT NULL,
  hash TEXT NOT NULL,
  definition TEXT NOT NULL,
  pinned_at INTEGER NOT NULL,
  seen_hash TEXT,
  seen_definition TEXT,
  changed_at INTEGER,
  PRIMARY KEY (backend, tool)
);
`,
  },
];
