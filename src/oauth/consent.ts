/** @module The consent POST: check the binding record, CSRF and backend choice, the password and its throttle, then issue a code. */
import { takeAuthRequest, type AuthRequestRecord } from '../store/auth-requests.ts';
import { insertCode } from '../store/codes.ts';
import { randomToken, safeEqual, sha256Hex } from '../store/secrets.ts';
import { chooseRedirectUri, type AuthorizeRequest } from './authorize-params.ts';
import { newNonce, redirectToClient, showConsent } from './authorize.ts';
import type { ResolvedClient } from './clients.ts';
import type { AuthContext } from './context.ts';
import { OAuthError } from './errors.ts';
import { errorPage } from './html.ts';
import { formatWait } from './login-throttle.ts';
import { param } from './request.ts';

/** The subject of every grant: mcpgw has one owner. */
export const OWNER_SUBJECT = 'owner';

type Checked = { ok: true; record: AuthRequestRecord; chosen: string[] } | { ok: false; why: string };

/**
 * Binds the POST to its record: the record exists and is unexpired, the CSRF token matches, the echoed
 * client_id / redirect_uri / code_challenge are unchanged, and the chosen backends are a subset of those
 * offered that still exist. The record is consumed either way (single use).
 */
export function checkBinding(form: Map<string, string[]>, ctx: AuthContext): Checked {
  const id = param(form, 'request');
  const record = id === undefined ? undefined : takeAuthRequest(ctx.db, sha256Hex(id));
  if (!record || record.expiresAt <= ctx.deps.clock.now()) return { ok: false, why: 'This approval page expired or was already used.' };
  if (!safeEqual(sha256Hex(param(form, 'csrf') ?? ''), record.csrfHash)) return { ok: false, why: 'The form token is invalid.' };
  const same = (name: string, value: string) => param(form, name) === value;
  if (!same('client_id', record.clientId) || !same('redirect_uri', record.redirectUri) || !same('code_challenge', record.codeChallenge)) {
    return { ok: false, why: 'The form does not match the authorization request.' };
  }
  const current = new Set(ctx.backendNames());
  const chosen = form.get('backend') ?? [];
  if (new Set(chosen).size !== chosen.length || !chosen.every((b) => record.backendsOffered.includes(b) && current.has(b))) {
    return { ok: false, why: 'The backend selection does not match what was offered.' };
  }
  return { ok: true, record, chosen };
}

/** Handles POST /authorize from the consent page. */
export async function handleConsent(form: Map<string, string[]>, clientIp: string, ctx: AuthContext): Promise<Response> {
  const binding = checkBinding(form, ctx);
  if (!binding.ok) {
    ctx.deps.log.warn('consent form refused', { ip: clientIp, reason: binding.why });
    ctx.audit({ event: 'sign_in_refused', clientId: param(form, 'client_id'), ip: clientIp, error: binding.why });
    return errorPage('Request expired', binding.why, newNonce(ctx));
  }
  const { record, chosen } = binding;
  const req: AuthorizeRequest = { ...record };
  let client: ResolvedClient;
  try {
    client = await ctx.clients.forAuthorize(record.clientId);
    // The client may have changed since the page was shown (a CIMD document is refetched when stale).
    chooseRedirectUri(client, record.redirectUri);
  } catch (err) {
    if (!(err instanceof OAuthError)) throw err;
    return errorPage('Invalid request', err.description, newNonce(ctx));
  }
  const who = { clientId: client.clientId, clientName: client.clientName, ip: clientIp };
  if (param(form, 'action') === 'deny') {
    ctx.events({ type: 'consent_denied', clientId: client.clientId });
    ctx.audit({ event: 'consent_denied', ...who, error: 'the owner denied access' });
    return redirectToClient(ctx, record.redirectUri, { error: 'access_denied', error_description: 'the owner denied access', state: record.state });
  }
  const again = (status: number, error: string, headers?: Record<string, string>) =>
    showConsent(ctx, client, req, { status, error, checked: new Set(chosen), headers });
  const passwordHash = ctx.settings.password_hash;
  if (passwordHash === undefined) return showConsent(ctx, client, req, { status: 503, checked: new Set(chosen) });
  const offered = record.backendsOffered;
  if (offered.length > 0 && chosen.length === 0) return again(400, 'Choose at least one backend.');
  // During a back-off the password is neither checked nor counted: the right one later still gets in (issue 8 finding 3).
  const ticket = await ctx.throttle.begin(clientIp);
  if (!ticket.allowed) {
    const why = ticket.scope === 'busy' ? 'Too many sign-in attempts at once.' : ticket.scope === 'global' ? 'Too many wrong passwords from many addresses.' : 'Too many wrong passwords.';
    ctx.audit({ event: 'sign_in_refused', ...who, error: `${why} Back-off: ${formatWait(ticket.retryAfterMs)}.` });
    return again(429, `${why} Try again ${formatWait(ticket.retryAfterMs)}.`, { 'Retry-After': String(Math.ceil(ticket.retryAfterMs / 1000)) });
  }
  let correct = false;
  try {
    correct = await verifyPassword(param(form, 'password') ?? '', passwordHash);
  } finally {
    ticket.finish(correct);
  }
  if (!correct) {
    ctx.events({ type: 'password_failed', clientId: client.clientId });
    ctx.audit({ event: 'password_failed', ...who, error: 'wrong password' });
    return again(403, 'Wrong password.');
  }
  const now = ctx.deps.clock.now();
  // Every current backend ticked means "all", which also covers backends added later (as the page says).
  const backends = offered.length === 0 || offered.every((b) => chosen.includes(b)) ? null : chosen;
  const code = issueCode(ctx, client, record, backends, now);
  ctx.deps.log.info('authorization approved', { client_id: client.clientId, backends: backends ?? 'all' });
  ctx.events({ type: 'consent_granted', clientId: client.clientId });
  ctx.audit({ event: 'consent_granted', ...who, detail: { backends: backends ?? 'all' } });
  return redirectToClient(ctx, record.redirectUri, { code, state: record.state });
}

async function verifyPassword(password: string, hash: string): Promise<boolean> {
  try {
    return password !== '' && (await Bun.password.verify(password, hash));
  } catch {
    return false;
  }
}

function issueCode(ctx: AuthContext, client: ResolvedClient, r: AuthRequestRecord, backends: string[] | null, now: number): string {
  const code = randomToken(ctx.deps.random, 32);
  insertCode(ctx.db, sha256Hex(code), {
    clientId: r.clientId,
    redirectUri: r.redirectUri,
    redirectUriSent: r.redirectUriSent,
    codeChallenge: r.codeChallenge,
    scope: r.scope,
    resource: r.resource,
    backends,
    subject: OWNER_SUBJECT,
    createdAt: now,
    expiresAt: now + ctx.settings.code_ttl,
  });
  ctx.clients.remember(client, now);
  return code;
}
