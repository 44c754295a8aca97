/** @module What the authorization server reports as it works: one typed event per sign-in step outcome. */

/** Kinds of authorization-server events (a fixed set: metrics use it as a label). */
export const AUTH_EVENT_TYPES = [
  'client_registered',
  'consent_granted',
  'consent_denied',
  'password_failed',
  'tokens_issued',
  'tokens_refreshed',
  'tokens_revoked',
  'token_reuse_detected',
] as const;
export type AuthEventType = (typeof AUTH_EVENT_TYPES)[number];

/** One event; identifiers only, never a secret. */
export interface AuthEvent {
  type: AuthEventType;
  clientId?: string;
  grantId?: string;
}

/** Receives events (metrics, the audit log); must not throw into the request. */
export type AuthEventSink = (e: AuthEvent) => void;

/** Wraps sinks so that a failing one never fails a sign-in step. */
export function authEventSink(...sinks: (AuthEventSink | undefined)[]): AuthEventSink {
  const live = sinks.filter((s): s is AuthEventSink => s !== undefined);
  return (e) => {
    for (const s of live) {
      try {
        s(e);
      } catch {
        // observers are best effort
      }
    }
  };
}
