/** @module /authorize: validate the request, then show the consent page bound to a server-side record. */
import { insertAuthRequest } from '../store/auth-requests.ts';
import { base64url, randomToken, sha256Hex } from '../store/secrets.ts';
import {
  authorizationResponseUrl,
  chooseRedirectUri,
  validateAuthorizeParams,
  type AuthorizeRequest,
} from './authorize-params.ts';
import { looksLikeCimdClientId } from './cimd-document.ts';
import type { ResolvedClient } from './clients.ts';
import { renderConsentPage } from './consent-page.ts';
import type { AuthContext } from './context.ts';
import { OAuthError } from './errors.ts';
import { cspSourceFor, errorPage, htmlResponse } from './html.ts';
import { param } from './request.ts';
import { isLoopbackHost, redirectDisplayHost } from './redirect-uri.ts';
import { clipField, type RequestSource } from './trace-record.ts';

/** How long a consent page stays answerable. */
export const CONSENT_TTL = 10 * 60 * 1000;

/** A fresh nonce for the page's inline style. */
export function newNonce(ctx: AuthContext): string {
  return base64url(ctx.deps.random(16));
}

/** 302 back to the client with `iss` always added (RFC 9207 §2). */
export function redirectToClient(ctx: AuthContext, redirectUri: string, params: Record<string, string | undefined>): Response {
  const location = authorizationResponseUrl(redirectUri, { ...params, iss: ctx.endpoints.issuer });
  return new Response(null, { status: 302, headers: { Location: location, 'Cache-Control': 'no-store', 'Referrer-Policy': 'no-referrer' } });
}

/** Handles an authorization request (GET query or POST form): error page, error redirect, or consent page. */
export async function handleAuthorizeRequest(q: Map<string, string[]>, ctx: AuthContext, src: RequestSource = {}): Promise<Response> {
  const nonce = newNonce(ctx);
  const clientId = param(q, 'client_id');
  // A new sign-in has a new PKCE challenge: two attempts within seconds are both recorded, a flood of one is not.
  const challenge = param(q, 'code_challenge') ?? '';
  const failed = (status: number, error: string) => ctx.trace.step({ event: 'authorize_failed', clientId: clipField(clientId), error }, src, { status }, challenge);
  if (clientId === undefined) {
    failed(400, 'client_id is missing');
    return errorPage('Invalid request', 'client_id is missing.', nonce);
  }
  let found: ResolvedClient | undefined;
  let client: ResolvedClient;
  let redirectUri: string;
  try {
    client = found = await ctx.clients.forAuthorize(clientId);
    // The client metadata document (CIMD) is the registration step of a URL client_id.
    if (client.registration === 'cimd') ctx.trace.step({ event: 'client_metadata_resolved', clientId, clientName: client.clientName }, src, {}, challenge);
    redirectUri = chooseRedirectUri(client, param(q, 'redirect_uri'));
  } catch (err) {
    if (!(err instanceof OAuthError)) throw err;
    ctx.deps.log.warn('authorization request refused', { client_id: clientId, error: err.description });
    const cimd = ctx.settings.cimd;
    if (!found && cimd.enabled && looksLikeCimdClientId(clientId, cimd.allow_http)) {
      ctx.trace.step({ event: 'client_metadata_failed', clientId: clipField(clientId), error: `${err.code}: ${err.description}` }, src, { status: 400 }, challenge);
    } else {
      failed(400, authorizeFailure(err, q, ctx, found));
    }
    return errorPage('Invalid request', err.description, nonce);
  }
  const state = q.get('state')?.[0];
  try {
    const rest = validateAuthorizeParams(q, ctx.endpoints);
    const req: AuthorizeRequest = { clientId, redirectUri, redirectUriSent: param(q, 'redirect_uri') !== undefined, state, ...rest };
    const res = showConsent(ctx, client, req, { status: 200, checked: new Set(ctx.backendNames()) });
    if (res.status === 503) failed(503, 'no owner password is set, so the consent page cannot approve anything: run mcpgw passwd');
    else ctx.trace.step({ event: 'authorize_requested', clientId, clientName: client.clientName }, src, { status: res.status, registration: client.registration }, challenge);
    return res;
  } catch (err) {
    if (!(err instanceof OAuthError)) throw err;
    failed(302, authorizeFailure(err, q, ctx, client));
    return redirectToClient(ctx, redirectUri, { error: err.code, error_description: err.description, state });
  }
}

/** A refused authorization request in plain words, with the values that did not match (for `mcpgw auth trace`). */
function authorizeFailure(err: OAuthError, q: Map<string, string[]>, ctx: AuthContext, client: ResolvedClient | undefined): string {
  const redirect = clipField(param(q, 'redirect_uri'));
  if (client && redirect !== undefined && err.description === 'redirect_uri is not registered for this client') {
    return `redirect URI ${redirect} is not registered for this client (registered: ${client.redirectUris.join(', ')})`;
  }
  if (err.code === 'invalid_target') return `\`resource\` ${clipField(param(q, 'resource'))} does not match ${ctx.endpoints.resource}`;
  return `${err.code}: ${err.description}`;
}

/**
 * Stores a new single-use binding record for `req` and renders the consent page whose hidden fields carry
 * its id and CSRF token. Each render (first view, wrong password, throttled) gets a fresh record.
 */
export function showConsent(
  ctx: AuthContext,
  client: ResolvedClient,
  req: AuthorizeRequest,
  o: { status: number; checked: ReadonlySet<string>; error?: string; headers?: Record<string, string> },
): Response {
  const nonce = newNonce(ctx);
  const now = ctx.deps.clock.now();
  const backends = ctx.backendNames();
  const passwordConfigured = ctx.settings.password_hash !== undefined;
  const hidden: Record<string, string> = {};
  if (passwordConfigured) {
    const id = randomToken(ctx.deps.random, 32);
    const csrf = randomToken(ctx.deps.random, 32);
    insertAuthRequest(ctx.db, sha256Hex(id), sha256Hex(csrf), { ...req, backendsOffered: backends, createdAt: now, expiresAt: now + CONSENT_TTL });
    Object.assign(hidden, { request: id, csrf, client_id: req.clientId, redirect_uri: req.redirectUri, code_challenge: req.codeChallenge });
  }
  const html = renderConsentPage(
    {
      clientName: client.clientName ?? 'Unnamed client',
      registration: client.registration,
      clientId: client.clientId,
      redirectHost: redirectDisplayHost(req.redirectUri),
      redirectIsLoopback: isLoopbackHost(new URL(req.redirectUri).hostname),
      scope: req.scope,
      backends,
      descriptions: ctx.backendDescriptions?.() ?? {},
      checked: o.checked,
      error: o.error,
      hidden,
      passwordConfigured,
    },
    nonce,
  );
  const status = passwordConfigured ? o.status : 503;
  return htmlResponse(html, { status, nonce, formAction: [cspSourceFor(req.redirectUri)], headers: o.headers });
}
