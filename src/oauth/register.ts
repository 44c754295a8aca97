/** @module /register: RFC 7591 dynamic client registration, rate-limited, secrets stored hashed. */
import type { Database } from 'bun:sqlite';
import type { Deps } from '../deps.ts';
import type { AuthEventRecorder } from '../store/audit.ts';
import { clipField } from './trace-record.ts';
import { upsertClient, type TokenAuthMethod } from '../store/clients.ts';
import { randomToken, sha256Hex } from '../store/secrets.ts';
import { hitRateLimit } from '../store/throttle.ts';
import { OAuthError } from './errors.ts';
import type { AuthEventSink } from './events.ts';
import { redirectUriProblem } from './redirect-uri.ts';
import { mediaType, readBodyText } from './request.ts';
import { oauthJson } from './respond.ts';
import type { AuthSettings } from './settings.ts';

/** Largest registration body accepted. */
export const MAX_REGISTRATION_BYTES = 16 * 1024;
const HOUR = 60 * 60 * 1000;

/** Client metadata mcpgw keeps from a registration request. */
export interface ClientRegistration {
  redirectUris: string[];
  authMethod: TokenAuthMethod;
  clientName?: string;
  scope?: string;
  applicationType?: 'web' | 'native';
}

type Issue = { code: 'invalid_redirect_uri' | 'invalid_client_metadata'; message: string };

function optionalString(d: Record<string, unknown>, key: string, max: number, issues: Issue[]): string | undefined {
  const v = d[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' || v.length > max) issues.push({ code: 'invalid_client_metadata', message: `${key} must be a string of at most ${max} characters` });
  return typeof v === 'string' ? v : undefined;
}

function parseRedirectUris(v: unknown, issues: Issue[]): string[] {
  if (!Array.isArray(v) || v.length === 0 || v.length > 20 || !v.every((u) => typeof u === 'string')) {
    issues.push({ code: 'invalid_redirect_uri', message: 'redirect_uris must be a non-empty array of at most 20 strings' });
    return [];
  }
  for (const u of v as string[]) {
    const p = redirectUriProblem(u);
    if (p) issues.push({ code: 'invalid_redirect_uri', message: p });
  }
  return v as string[];
}

function parseAuthMethod(v: unknown, issues: Issue[]): TokenAuthMethod {
  // RFC 7591 defaults to client_secret_basic; mcpgw registers a public client instead, which the AS may do (§3.2.1).
  if (v === undefined || v === null) return 'none';
  if (v === 'none' || v === 'client_secret_post' || v === 'client_secret_basic') return v;
  issues.push({ code: 'invalid_client_metadata', message: 'token_endpoint_auth_method must be none, client_secret_post or client_secret_basic' });
  return 'none';
}

function checkGrantsAndResponses(d: Record<string, unknown>, issues: Issue[]): void {
  const grants = d.grant_types;
  if (grants !== undefined && (!Array.isArray(grants) || !grants.includes('authorization_code'))) {
    issues.push({ code: 'invalid_client_metadata', message: 'grant_types must include authorization_code' });
  }
  const responses = d.response_types;
  if (responses !== undefined && (!Array.isArray(responses) || !responses.includes('code'))) {
    issues.push({ code: 'invalid_client_metadata', message: 'response_types must include code' });
  }
  const app = d.application_type;
  if (app !== undefined && app !== 'web' && app !== 'native') {
    issues.push({ code: 'invalid_client_metadata', message: 'application_type must be web or native' });
  }
}

/**
 * Validates an RFC 7591 §2 request body, gathering every problem; unknown fields and unknown scopes are
 * ignored (spec-checklist [1.5]), and claude.ai's exact body is accepted. Pure.
 */
export function parseClientRegistration(body: unknown): { ok: true; value: ClientRegistration } | { ok: false; issues: Issue[] } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return { ok: false, issues: [{ code: 'invalid_client_metadata', message: 'body must be a JSON object' }] };
  }
  const d = body as Record<string, unknown>;
  const issues: Issue[] = [];
  const redirectUris = parseRedirectUris(d.redirect_uris, issues);
  const authMethod = parseAuthMethod(d.token_endpoint_auth_method, issues);
  checkGrantsAndResponses(d, issues);
  const clientName = optionalString(d, 'client_name', 200, issues);
  const scope = optionalString(d, 'scope', 1000, issues);
  if (issues.length > 0) return { ok: false, issues };
  const applicationType = d.application_type as ClientRegistration['applicationType'];
  return { ok: true, value: { redirectUris, authMethod, clientName, scope, applicationType } };
}

/** Handles POST /register; 201 with the registered metadata, or RFC 7591 §3.2.2 errors. */
export async function handleRegister(
  req: Request,
  clientIp: string,
  ctx: { db: Database; settings: AuthSettings; deps: Deps; events: AuthEventSink; audit?: AuthEventRecorder },
): Promise<Response> {
  const now = ctx.deps.clock.now();
  const limit = hitRateLimit(ctx.db, `register:${clientIp}`, now, HOUR, ctx.settings.registration.rate_limit);
  if (!limit.allowed) {
    ctx.deps.log.warn('registration rate limit hit', { ip: clientIp });
    throw new OAuthError('temporarily_unavailable', 'too many registrations; try later', 429, {
      headers: { 'Retry-After': String(Math.ceil(limit.retryAfterMs / 1000)) },
    });
  }
  if (mediaType(req) !== 'application/json') throw new OAuthError('invalid_client_metadata', 'body must be application/json');
  let body: unknown;
  try {
    body = JSON.parse(await readBodyText(req, MAX_REGISTRATION_BYTES));
  } catch (err) {
    if (err instanceof OAuthError) throw err;
    throw new OAuthError('invalid_client_metadata', 'body is not valid JSON');
  }
  const parsed = parseClientRegistration(body);
  if (!parsed.ok) throw new OAuthError(parsed.issues[0]!.code, parsed.issues.map((i) => i.message).join('; '));
  const registered = registerClient(parsed.value, now, ctx);
  // The User-Agent links the registration to the connector's 401 and metadata fetches in `mcpgw auth trace`.
  const userAgent = clipField(req.headers.get('user-agent'), 200);
  ctx.audit?.({ event: 'client_registered', clientId: String(registered.client_id), clientName: parsed.value.clientName, ip: clientIp, detail: { status: 201, ...(userAgent ? { user_agent: userAgent } : {}) } });
  return oauthJson(registered, 201);
}

function registerClient(r: ClientRegistration, now: number, ctx: { db: Database; deps: Deps; events: AuthEventSink }): Record<string, unknown> {
  // Never an https:// prefix: those are CIMD client ids (spec-checklist [1.4]).
  const clientId = randomToken(ctx.deps.random, 16, 'mcpgw_client_');
  const secret = r.authMethod === 'none' ? undefined : randomToken(ctx.deps.random, 32, 'mcpgw_cs_');
  upsertClient(ctx.db, {
    clientId,
    registration: 'dcr',
    clientName: r.clientName,
    redirectUris: r.redirectUris,
    tokenEndpointAuthMethod: r.authMethod,
    // A 256-bit random secret needs no slow hash; SHA-256 keeps registration cheap under claude.ai's bursts.
    clientSecretHash: secret ? `sha256:${sha256Hex(secret)}` : undefined,
    metadata: { scope: r.scope, application_type: r.applicationType },
    createdAt: now,
  });
  ctx.deps.log.info('client registered', { client_id: clientId, client_name: r.clientName, method: r.authMethod });
  ctx.events({ type: 'client_registered', clientId });
  return {
    client_id: clientId,
    client_id_issued_at: Math.floor(now / 1000),
    ...(secret ? { client_secret: secret, client_secret_expires_at: 0 } : {}),
    redirect_uris: r.redirectUris,
    token_endpoint_auth_method: r.authMethod,
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    ...(r.clientName !== undefined ? { client_name: r.clientName } : {}),
    ...(r.scope !== undefined ? { scope: r.scope } : {}),
    ...(r.applicationType !== undefined ? { application_type: r.applicationType } : {}),
  };
}
