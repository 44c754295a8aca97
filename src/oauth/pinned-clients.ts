/**
 * @module Pinned copies of well-known clients' metadata documents (draft-ietf-oauth-client-id-metadata-document,
 * "Pre-Registering Client ID Metadata Document URLs"). claude.ai's document has been seen to answer a
 * Cloudflare challenge (403 text/html) to servers in datacenters (spec-checklist §1.4 REALITY), which
 * would make the connector impossible to add; these copies are used when fetching the live document fails.
 */

/** Documents as their publishers serve them; checked by the same validator as fetched ones. */
export const PINNED_CLIENT_DOCUMENTS: Readonly<Record<string, Record<string, unknown>>> = {
  'https://claude.ai/oauth/mcp-oauth-client-metadata': {
    client_id: 'https://claude.ai/oauth/mcp-oauth-client-metadata',
    client_name: 'Claude',
    redirect_uris: ['https://claude.ai/api/mcp/auth_callback'],
    grant_types: ['authorization_code', 'refresh_token', 'urn:ietf:params:oauth:grant-type:jwt-bearer'],
    response_types: ['code'],
    token_endpoint_auth_method: 'none',
  },
  'https://claude.ai/oauth/claude-code-client-metadata': {
    client_id: 'https://claude.ai/oauth/claude-code-client-metadata',
    client_name: 'Claude Code',
    // Loopback redirect URIs match any port (RFC 8252 §7.3).
    redirect_uris: ['http://localhost/callback', 'http://127.0.0.1/callback'],
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: 'none',
  },
};
