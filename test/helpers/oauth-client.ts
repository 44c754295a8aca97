/** @module Wire-level OAuth client steps for tests: register, authorize, consent, token, refresh, revoke. */
import { createHash } from 'node:crypto';
import { PASSWORD, type OAuthWorld } from './oauth-world.ts';

/** claude.ai's observed DCR body (spec-checklist [1.5], [4.1]). */
export const CLAUDE_DCR_BODY = {
  redirect_uris: ['https://claude.ai/api/mcp/auth_callback'],
  token_endpoint_auth_method: 'client_secret_post',
  grant_types: ['authorization_code', 'refresh_token'],
  response_types: ['code'],
  client_name: 'Claude',
};

/** A loopback redirect URI used by most tests. */
export const LOOPBACK_REDIRECT = 'http://127.0.0.1:9876/callback';

/** A PKCE verifier and its S256 challenge. */
export function pkce(): { verifier: string; challenge: string } {
  const verifier = Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

/** POST /register with a JSON body. */
export function register(w: OAuthWorld, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${w.url}/register`, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify(body) });
}

/** Registers a public loopback client and returns its id. */
export async function registerPublicClient(w: OAuthWorld, redirect = LOOPBACK_REDIRECT, name = 'Test client'): Promise<string> {
  const res = await register(w, { redirect_uris: [redirect], token_endpoint_auth_method: 'none', client_name: name });
  if (res.status !== 201) throw new Error(`registration failed: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { client_id: string }).client_id;
}

/** The /authorize URL for the given parameters (undefined values are left out). */
export function authorizeUrl(w: OAuthWorld, params: Record<string, string | undefined>): string {
  const url = new URL(`${w.url}/authorize`);
  for (const [k, v] of Object.entries(params)) if (v !== undefined) url.searchParams.set(k, v);
  return url.href;
}

/** Standard authorization parameters for a client. */
export function authParams(w: OAuthWorld, clientId: string, challenge: string, extra: Record<string, string | undefined> = {}) {
  return {
    response_type: 'code',
    client_id: clientId,
    redirect_uri: LOOPBACK_REDIRECT,
    code_challenge: challenge,
    code_challenge_method: 'S256',
    state: 'st-123',
    resource: w.resource,
    scope: 'mcp',
    ...extra,
  };
}

function unescapeHtml(s: string): string {
  return s.replace(/&#(\d+);/g, (_, n: string) => String.fromCharCode(Number(n))).replace(/&amp;/g, '&');
}

/** Hidden inputs and backend checkboxes of a consent page. */
export interface ConsentForm {
  hidden: Record<string, string>;
  backends: { name: string; checked: boolean }[];
}

/** Parses the consent form out of our own page HTML. */
export function parseConsentForm(html: string): ConsentForm {
  const hidden: Record<string, string> = {};
  for (const m of html.matchAll(/<input type="hidden" name="([^"]*)" value="([^"]*)">/g)) hidden[unescapeHtml(m[1]!)] = unescapeHtml(m[2]!);
  const backends = [...html.matchAll(/<input type="checkbox" name="backend" value="([^"]*)"( checked)?>/g)].map((m) => ({
    name: unescapeHtml(m[1]!),
    checked: m[2] !== undefined,
  }));
  return { hidden, backends };
}

/** GET the authorize URL and parse the consent form. */
export async function openConsent(url: string): Promise<{ res: Response; html: string; form: ConsentForm }> {
  const res = await fetch(url, { redirect: 'manual' });
  const html = await res.text();
  return { res, html, form: parseConsentForm(html) };
}

/** Submits a consent form; by default the right password and the pre-ticked backends. */
export function submitConsent(
  w: OAuthWorld,
  form: ConsentForm,
  o: { password?: string; backends?: string[]; override?: Record<string, string>; action?: string; headers?: Record<string, string> } = {},
): Promise<Response> {
  const body = new URLSearchParams({ ...form.hidden, ...o.override });
  for (const b of o.backends ?? form.backends.filter((x) => x.checked).map((x) => x.name)) body.append('backend', b);
  body.set('password', o.password ?? PASSWORD);
  body.set('action', o.action ?? 'allow');
  return fetch(`${w.url}/authorize`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...o.headers },
    body,
  });
}

/** Runs authorize + consent and returns the redirect's query parameters (code, state, iss). */
export async function approve(w: OAuthWorld, url: string, o: { backends?: string[] } = {}): Promise<URLSearchParams> {
  const { res, form, html } = await openConsent(url);
  if (res.status !== 200) throw new Error(`consent page: ${res.status} ${html}`);
  const post = await submitConsent(w, form, { backends: o.backends });
  const location = post.headers.get('location');
  if (post.status !== 302 || !location) throw new Error(`consent post: ${post.status} ${await post.text()}`);
  return new URL(location).searchParams;
}

/** POST /token (or /revoke) with a form body. */
export function postForm(w: OAuthWorld, path: string, form: Record<string, string | undefined>, headers: Record<string, string> = {}): Promise<Response> {
  const body = new URLSearchParams();
  for (const [k, v] of Object.entries(form)) if (v !== undefined) body.set(k, v);
  return fetch(`${w.url}${path}`, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...headers }, body });
}

/** Token response body. */
export interface Tokens {
  access_token: string;
  refresh_token: string;
  token_type: string;
  expires_in: number;
  scope: string;
}

/** Registers a public client, approves, and exchanges the code: the shortest path to a token pair. */
export async function obtainTokens(w: OAuthWorld, o: { backends?: string[]; clientId?: string } = {}): Promise<Tokens & { clientId: string }> {
  const clientId = o.clientId ?? (await registerPublicClient(w));
  const { verifier, challenge } = pkce();
  const q = await approve(w, authorizeUrl(w, authParams(w, clientId, challenge)), { backends: o.backends });
  const res = await postForm(w, '/token', {
    grant_type: 'authorization_code',
    code: q.get('code')!,
    code_verifier: verifier,
    redirect_uri: LOOPBACK_REDIRECT,
    client_id: clientId,
    resource: w.resource,
  });
  if (res.status !== 200) throw new Error(`token: ${res.status} ${await res.text()}`);
  return { ...((await res.json()) as Tokens), clientId };
}

/** Calls the protected /mcp endpoint with a bearer token. */
export function callMcp(w: OAuthWorld, token: string | undefined, init: RequestInit & { path?: string } = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (token !== undefined) headers.set('Authorization', `Bearer ${token}`);
  return fetch(`${w.url}${init.path ?? '/mcp'}`, { method: 'POST', body: '{}', ...init, headers });
}
