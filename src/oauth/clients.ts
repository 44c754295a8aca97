/** @module Client lookup across the three sources: pre-registered (config), CIMD (URL client_id), DCR (database). */
import type { Database } from 'bun:sqlite';
import { getClient, upsertClient, type Registration, type TokenAuthMethod } from '../store/clients.ts';
import type { CimdResolver } from './cimd.ts';
import { looksLikeCimdClientId } from './cimd-document.ts';
import { OAuthError } from './errors.ts';
import type { AuthSettings } from './settings.ts';

/** A client as /authorize, /token and /revoke need it. */
export interface ResolvedClient {
  clientId: string;
  registration: Registration;
  clientName?: string;
  redirectUris: string[];
  authMethod: TokenAuthMethod;
  /** `sha256:<hex>` for secrets mcpgw issued, or a PHC string from config. */
  secretHash?: string;
}

/** Finds clients; /authorize may fetch a CIMD document, /token and /revoke use only what is known locally. */
export interface ClientDirectory {
  /** For /authorize: may fetch a metadata document. Throws `invalid_client` when unknown. */
  forAuthorize(clientId: string): Promise<ResolvedClient>;
  /** For /token and /revoke: no network. Undefined when unknown. */
  known(clientId: string): ResolvedClient | undefined;
  /** Stores a CIMD client seen at consent, so the token endpoint knows it without fetching. */
  remember(client: ResolvedClient, now: number): void;
}

/** Creates the client directory. Priority per spec-checklist [1.4]: pre-registered, then CIMD, then DCR. */
export function createClientDirectory(settings: AuthSettings, db: Database, cimd: CimdResolver): ClientDirectory {
  const preregistered = new Map(settings.clients.map((c) => [c.client_id, c]));
  const fromConfig = (id: string): ResolvedClient | undefined => {
    const c = preregistered.get(id);
    if (!c) return undefined;
    return {
      clientId: c.client_id,
      registration: 'preregistered',
      clientName: c.client_name,
      redirectUris: c.redirect_uris,
      authMethod: c.client_secret_hash ? 'client_secret_basic' : 'none',
      secretHash: c.client_secret_hash,
    };
  };
  const fromDb = (id: string): ResolvedClient | undefined => {
    const c = getClient(db, id);
    if (!c || c.registration === 'preregistered' || (c.registration === 'cimd' && !settings.cimd.enabled)) return undefined;
    return {
      clientId: c.clientId,
      registration: c.registration,
      clientName: c.clientName,
      redirectUris: c.redirectUris,
      authMethod: c.tokenEndpointAuthMethod,
      secretHash: c.clientSecretHash,
    };
  };
  return {
    async forAuthorize(clientId) {
      const configured = fromConfig(clientId);
      if (configured) return configured;
      if (settings.cimd.enabled && looksLikeCimdClientId(clientId, settings.cimd.allow_http)) {
        const doc = await cimd(clientId);
        return { clientId, registration: 'cimd', clientName: doc.clientName, redirectUris: doc.redirectUris, authMethod: 'none' };
      }
      const dcr = fromDb(clientId);
      if (dcr?.registration === 'dcr') return dcr;
      throw new OAuthError('invalid_client', 'unknown client_id');
    },
    known: (clientId) => fromConfig(clientId) ?? fromDb(clientId),
    remember(client, now) {
      if (client.registration !== 'cimd') return;
      upsertClient(db, {
        clientId: client.clientId,
        registration: 'cimd',
        clientName: client.clientName,
        redirectUris: client.redirectUris,
        tokenEndpointAuthMethod: 'none',
        metadata: {},
        createdAt: now,
      });
    },
  };
}
