/** @module Token/revocation endpoint client authentication: none, client_secret_post, client_secret_basic (RFC 6749 §2.3). */
import { safeEqual, sha256Hex } from '../store/secrets.ts';
import type { ResolvedClient } from './clients.ts';
import { OAuthError } from './errors.ts';
import { param } from './request.ts';

/** What the request presented to identify its client. */
export interface ClientCredentials {
  clientId: string;
  secret?: string;
  method: 'none' | 'client_secret_post' | 'client_secret_basic';
}

const BASIC_CHALLENGE = { 'WWW-Authenticate': 'Basic realm="mcpgw"' };

function formDecode(s: string): string {
  return decodeURIComponent(s.replace(/\+/g, ' '));
}

/** Reads client credentials from the Authorization header or the form; one method only (RFC 6749 §2.3). Pure. */
export function parseClientCredentials(headers: Headers, form: Map<string, string[]>): ClientCredentials {
  const auth = headers.get('authorization');
  const formId = param(form, 'client_id');
  const formSecret = param(form, 'client_secret');
  if (auth && /^basic\s/i.test(auth)) {
    if (formSecret !== undefined) throw new OAuthError('invalid_request', 'use one client authentication method');
    let decoded: string;
    try {
      decoded = Buffer.from(auth.slice(6).trim(), 'base64').toString('utf8');
      const i = decoded.indexOf(':');
      if (i < 0) throw new Error('no colon');
      const clientId = formDecode(decoded.slice(0, i));
      const secret = formDecode(decoded.slice(i + 1));
      if (formId !== undefined && formId !== clientId) throw new Error('client_id mismatch');
      return { clientId, secret, method: 'client_secret_basic' };
    } catch (cause) {
      throw new OAuthError('invalid_client', 'malformed Basic credentials', 401, { cause, headers: BASIC_CHALLENGE });
    }
  }
  if (formId === undefined) throw new OAuthError('invalid_client', 'client authentication required', 401);
  return formSecret === undefined ? { clientId: formId, method: 'none' } : { clientId: formId, secret: formSecret, method: 'client_secret_post' };
}

/** Checks presented credentials against the client; a confidential client may use either secret method. */
export async function authenticateClient(creds: ClientCredentials, client: ResolvedClient | undefined): Promise<ResolvedClient> {
  const fail = (why: string) =>
    new OAuthError('invalid_client', why, 401, { headers: creds.method === 'client_secret_basic' ? BASIC_CHALLENGE : {} });
  if (!client) throw fail('client authentication failed');
  if (client.authMethod === 'none') {
    if (creds.secret !== undefined) throw fail('client authentication failed');
    return client;
  }
  if (creds.secret === undefined || !client.secretHash || !(await secretMatches(creds.secret, client.secretHash))) {
    throw fail('client authentication failed');
  }
  return client;
}

/** Compares a presented secret with its stored hash (`sha256:<hex>` or a PHC string). */
export async function secretMatches(secret: string, stored: string): Promise<boolean> {
  if (stored.startsWith('sha256:')) return safeEqual(sha256Hex(secret), stored.slice(7));
  try {
    return await Bun.password.verify(secret, stored);
  } catch {
    return false;
  }
}
