/** @module What every endpoint handler receives, built once by createAuthServer. */
import type { Database } from 'bun:sqlite';
import type { Deps } from '../deps.ts';
import type { AuthEventRecorder } from '../store/audit.ts';
import type { ClientDirectory } from './clients.ts';
import type { AuthEventSink } from './events.ts';
import type { SigningKey } from './keys.ts';
import type { LoginThrottle } from './login-throttle.ts';
import type { Endpoints } from './metadata.ts';
import type { AuthSettings } from './settings.ts';
import type { TraceRecorder } from './trace-record.ts';

/** Shared state of the authorization server. */
export interface AuthContext {
  settings: AuthSettings;
  endpoints: Endpoints;
  db: Database;
  deps: Deps;
  key: SigningKey;
  clients: ClientDirectory;
  throttle: LoginThrottle;
  backendNames: () => string[];
  /** Each backend's `description` from the config, shown on the consent page (issue 9 item 9). */
  backendDescriptions?: () => Record<string, string>;
  /** Tells the bearer check about revocations made here, so cached tokens stop working at once. */
  revocations: { grantsRevoked(grantIds: string[]): void; accessTokenRevoked(jti: string): void };
  /** Registrations, consent outcomes, failed passwords, issued/refreshed/revoked tokens, reuse (metrics, audit). */
  events: AuthEventSink;
  /** Records registration, consent, password, token and revocation events in the audit log. */
  audit: AuthEventRecorder;
  /** Records the rate-limited sign-in trace steps (issue 9 item 2). */
  trace: TraceRecorder;
}
