/** @module The identity strings (issuer, resource) and the RFC 8414 / RFC 9728 metadata documents. Pure. */
import { GatewayError } from '../errors.ts';
import type { AuthSettings } from './settings.ts';

/** Scopes mcpgw knows; kept minimal (spec-checklist [1.10]): one scope covers the MCP endpoint. */
export const SCOPES_SUPPORTED = ['mcp'] as const;

/** Every absolute URL the AS and RS publish, derived once from `public_url`. */
export interface Endpoints {
  /** `public_url` without a trailing slash; byte-identical everywhere ([1.0]). */
  issuer: string;
  /** `<issuer>/mcp`: the RFC 8707 resource and the JWT `aud`. */
  resource: string;
  /** Path-inserted RFC 9728 URL that the 401 challenge names ([1.1]). */
  resourceMetadata: string;
  authorization: string;
  token: string;
  registration: string;
  revocation: string;
  jwks: string;
}

/** Derives the endpoints; refuses a `public_url` with a path, query or fragment (well-known paths assume an origin). */
export function endpointsFor(publicUrl: string): Endpoints {
  let url: URL;
  try {
    url = new URL(publicUrl);
  } catch (cause) {
    throw new GatewayError('config_invalid', `public_url is not a URL: ${publicUrl}`, { cause });
  }
  if (url.pathname !== '/' || url.search || url.hash || url.username || url.password) {
    throw new GatewayError('config_invalid', `public_url must be an origin without path (got ${publicUrl})`);
  }
  const issuer = url.origin;
  return {
    issuer,
    resource: `${issuer}/mcp`,
    resourceMetadata: `${issuer}/.well-known/oauth-protected-resource/mcp`,
    authorization: `${issuer}/authorize`,
    token: `${issuer}/token`,
    registration: `${issuer}/register`,
    revocation: `${issuer}/revoke`,
    jwks: `${issuer}/jwks.json`,
  };
}

/** RFC 9728 §2 protected-resource metadata; served at the path-inserted and root URLs ([1.2]). */
export function protectedResourceMetadata(e: Endpoints): Record<string, unknown> {
  return {
    resource: e.resource,
    authorization_servers: [e.issuer],
    scopes_supported: [...SCOPES_SUPPORTED],
    bearer_methods_supported: ['header'],
    resource_name: 'mcpgw',
  };
}

/** RFC 8414 §2 authorization-server metadata with every default spelled out ([1.3]). */
export function authorizationServerMetadata(e: Endpoints, s: AuthSettings): Record<string, unknown> {
  const authMethods = ['none', 'client_secret_post', 'client_secret_basic'];
  return {
    issuer: e.issuer,
    authorization_endpoint: e.authorization,
    token_endpoint: e.token,
    ...(s.registration.enabled ? { registration_endpoint: e.registration } : {}),
    revocation_endpoint: e.revocation,
    jwks_uri: e.jwks,
    scopes_supported: [...SCOPES_SUPPORTED],
    response_types_supported: ['code'],
    response_modes_supported: ['query'],
    grant_types_supported: ['authorization_code', 'refresh_token'],
    code_challenge_methods_supported: ['S256'],
    token_endpoint_auth_methods_supported: authMethods,
    revocation_endpoint_auth_methods_supported: authMethods,
    client_id_metadata_document_supported: s.cimd.enabled,
    authorization_response_iss_parameter_supported: true,
  };
}

/** The same document for `/.well-known/openid-configuration`, plus the fields OIDC Discovery requires ([1.3]). */
export function openIdConfiguration(e: Endpoints, s: AuthSettings): Record<string, unknown> {
  return {
    ...authorizationServerMetadata(e, s),
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: ['ES256'],
  };
}
