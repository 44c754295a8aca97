/** The connector sign-in trace (issue 9 item 2) from a real authorization server: claude.ai-style attempts, failing and succeeding. */
import { describe, expect, test } from 'bun:test';
import { buildTrace, type TraceAttempt } from '../../src/oauth/trace.ts';
import { queryAudit } from '../../src/store/audit.ts';
import { authorizeUrl, authParams, callMcp, CLAUDE_DCR_BODY, openConsent, pkce, postForm, register, submitConsent } from '../helpers/oauth-client.ts';
import { startDocServer } from '../helpers/oauth-tls.ts';
import { startOAuthWorld, TEST_IP_HEADER, type OAuthWorld } from '../helpers/oauth-world.ts';

const CALLBACK = 'https://claude.ai/api/mcp/auth_callback';
/** claude.ai's servers make the 401, metadata, registration and /token requests; the owner's browser opens /authorize. */
const CONNECTOR = { [TEST_IP_HEADER]: '203.0.113.5', 'User-Agent': 'Claude-User' };
const BROWSER = { [TEST_IP_HEADER]: '198.51.100.7', 'User-Agent': 'Mozilla/5.0 (iPhone)' };

function traceOf(w: OAuthWorld): TraceAttempt[] {
  w.audit.flush();
  return buildTrace(queryAudit(w.db, { kinds: ['auth'], limit: 10_000 }), { now: w.clock.now() });
}

async function discover(w: OAuthWorld): Promise<{ client_id: string; client_secret: string }> {
  expect((await callMcp(w, undefined, { headers: CONNECTOR })).status).toBe(401);
  expect((await fetch(`${w.url}/.well-known/oauth-protected-resource/mcp`, { headers: CONNECTOR })).status).toBe(200);
  expect((await fetch(`${w.url}/.well-known/oauth-authorization-server`, { headers: CONNECTOR })).status).toBe(200);
  const reg = await register(w, CLAUDE_DCR_BODY, CONNECTOR);
  expect(reg.status).toBe(201);
  return (await reg.json()) as { client_id: string; client_secret: string };
}

function authorizeHref(w: OAuthWorld, clientId: string, challenge: string, o: { redirect?: string; resource?: string } = {}): string {
  const url = new URL(`${w.url}/authorize`);
  const params = { response_type: 'code', client_id: clientId, redirect_uri: o.redirect ?? CALLBACK, code_challenge: challenge, code_challenge_method: 'S256', state: 's1', scope: 'offline_access', resource: o.resource ?? `${w.url}/` };
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  return url.href;
}

async function consentCode(w: OAuthWorld, clientId: string, challenge: string): Promise<string> {
  const page = await openConsent(authorizeHref(w, clientId, challenge));
  expect(page.res.status).toBe(200);
  const post = await submitConsent(w, page.form, { headers: { [TEST_IP_HEADER]: BROWSER[TEST_IP_HEADER] } });
  expect(post.status).toBe(302);
  return new URL(post.headers.get('location')!).searchParams.get('code')!;
}

function redeem(w: OAuthWorld, client: { client_id: string; client_secret: string }, code: string, verifier: string): Promise<Response> {
  return postForm(w, '/token', { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: CALLBACK, client_id: client.client_id, client_secret: client.client_secret, resource: `${w.url}/` }, CONNECTOR);
}

describe('auth trace from the authorization server', () => {
  test('issue 9 item 2: a failing claude.ai sign-in (wrong redirect URI, wrong resource, PKCE mismatch) names each reason; the next try succeeds', async () => {
    await using w = await startOAuthWorld();
    const client = await discover(w);
    const { verifier, challenge } = pkce();
    // Humans retry after seconds, not milliseconds: the recorder keeps one row per address and step per 10 s.
    const wrongRedirect = await fetch(authorizeHref(w, client.client_id, challenge, { redirect: 'https://x.example/cb' }), { headers: BROWSER });
    expect(wrongRedirect.status).toBe(400);
    w.clock.advance(30_000);
    const wrongResource = await fetch(authorizeHref(w, client.client_id, challenge, { resource: 'https://other.example/mcp' }), { headers: BROWSER, redirect: 'manual' });
    expect(wrongResource.status).toBe(302);
    expect(new URL(wrongResource.headers.get('location')!).searchParams.get('error')).toBe('invalid_target');
    w.clock.advance(30_000);
    const code = await consentCode(w, client.client_id, challenge);
    const badPkce = await redeem(w, client, code, pkce().verifier);
    expect(badPkce.status).toBe(400);
    w.clock.advance(30_000);
    const good = pkce();
    const ok = await redeem(w, client, await consentCode(w, client.client_id, good.challenge), good.verifier);
    expect(ok.status).toBe(200);
    const { access_token } = (await ok.json()) as { access_token: string };
    expect((await callMcp(w, access_token, { headers: CONNECTOR })).status).toBe(200);
    expect((await callMcp(w, access_token, { headers: CONNECTOR })).status).toBe(200);

    const attempts = traceOf(w);
    expect(attempts.map((a) => [a.status, a.reason])).toEqual([
      ['failed', `redirect URI https://x.example/cb is not registered for this client (registered: ${CALLBACK})`],
      ['failed', `\`resource\` https://other.example/mcp does not match ${w.resource}`],
      ['failed', 'PKCE verifier does not match the challenge (the client sent another code_verifier than the one it derived the code_challenge from)'],
      ['succeeded', null],
    ]);
    expect(attempts.every((a) => a.client_id === client.client_id && a.client_name === 'Claude')).toBe(true);
    // The connector's discovery steps open the first attempt, linked to its registration by address and User-Agent.
    expect(attempts[0]!.steps.map((s) => [s.step, s.status, s.ok])).toEqual([
      ['challenge', 401, true],
      ['resource_metadata', 200, true],
      ['server_metadata', 200, true],
      ['registration', 201, true],
      ['authorize', 400, false],
    ]);
    expect(attempts[0]!.ip).toBe('203.0.113.5');
    expect(attempts[0]!.user_agent).toBe('Claude-User');
    expect(attempts[1]!.steps.map((s) => [s.step, s.status])).toEqual([['authorize', 302]]);
    expect(attempts[2]!.steps.map((s) => [s.step, s.status, s.ok])).toEqual([
      ['authorize', 200, true],
      ['consent', 302, true],
      ['token', 400, false],
    ]);
    expect(attempts[3]!.steps.map((s) => s.step)).toEqual(['authorize', 'consent', 'token', 'first_call']);
    expect(attempts[3]!.grant_id).toStartWith('g_');
    // Nothing secret reaches the audit log: no code, verifier, client secret or token.
    const stored = JSON.stringify(queryAudit(w.db, { limit: 10_000 }));
    for (const secret of [code, verifier, good.verifier, client.client_secret, access_token]) expect(stored).not.toContain(secret);
  });

  test('issue 9 item 2: a successful sign-in shows every step, from the 401 to the first MCP call', async () => {
    await using w = await startOAuthWorld();
    const client = await discover(w);
    const { verifier, challenge } = pkce();
    const res = await redeem(w, client, await consentCode(w, client.client_id, challenge), verifier);
    const { access_token } = (await res.json()) as { access_token: string };
    expect((await callMcp(w, access_token, { headers: CONNECTOR })).status).toBe(200);
    const [attempt, ...rest] = traceOf(w);
    expect(rest).toEqual([]);
    expect(attempt!.status).toBe('succeeded');
    expect(attempt!.steps.map((s) => [s.step, s.event, s.status])).toEqual([
      ['challenge', 'mcp_unauthorized', 401],
      ['resource_metadata', 'metadata_fetched', 200],
      ['server_metadata', 'metadata_fetched', 200],
      ['registration', 'client_registered', 201],
      ['authorize', 'authorize_requested', 200],
      ['consent', 'consent_granted', 302],
      ['token', 'token_issued', 200],
      ['first_call', 'mcp_first_call', null],
    ]);
    // Once per grant, also after a restart.
    await w.restart();
    expect((await callMcp(w, access_token, { headers: CONNECTOR })).status).toBe(200);
    expect(traceOf(w).flatMap((a) => a.steps).filter((s) => s.step === 'first_call')).toHaveLength(1);
  });

  test('issue 9 item 2: a client that never comes back after the 401 fails with that reason after the abandon time', async () => {
    await using w = await startOAuthWorld();
    expect((await callMcp(w, undefined, { headers: CONNECTOR })).status).toBe(401);
    expect(traceOf(w).map((a) => a.status)).toEqual(['in_progress']);
    w.clock.advance(5 * 60 * 1000 + 1);
    const [a] = traceOf(w);
    expect(a!.status).toBe('failed');
    expect(a!.reason).toStartWith('the client never came back after the 401');
  });

  test('issue 9 item 2: a flood of unauthenticated requests writes one row per address per 10 s and counts the rest', async () => {
    await using w = await startOAuthWorld();
    for (let i = 0; i < 50; i++) expect((await callMcp(w, undefined, { headers: CONNECTOR })).status).toBe(401);
    for (let i = 0; i < 20; i++) expect((await fetch(`${w.url}/.well-known/oauth-protected-resource/mcp`, { headers: CONNECTOR })).status).toBe(200);
    w.audit.flush();
    expect(queryAudit(w.db, { kinds: ['auth'], limit: 1000 }).map((r) => r.event)).toEqual(['mcp_unauthorized', 'metadata_fetched']);
    w.clock.advance(10_000);
    expect((await callMcp(w, undefined, { headers: CONNECTOR })).status).toBe(401);
    w.audit.flush();
    const rows = queryAudit(w.db, { kinds: ['auth'], events: ['mcp_unauthorized'], limit: 1000 }).filter((r) => r.event === 'mcp_unauthorized');
    expect(rows.map((r) => r.detail?.suppressed ?? 0)).toEqual([0, 49]);
  });

  test('issue 9 item 2: a refused token is a step with the 401\'s reason', async () => {
    await using w = await startOAuthWorld();
    expect((await callMcp(w, 'not-a-real-token', { headers: CONNECTOR })).status).toBe(401);
    const [a] = traceOf(w);
    expect(a!.steps.map((s) => [s.event, s.status, s.ok])).toEqual([['mcp_token_refused', 401, false]]);
    expect(a!.steps[0]!.reason).toStartWith('invalid_token: ');
  });

  test('issue 9 item 2: a URL client_id shows its client metadata document as the registration step, and names why it was refused', async () => {
    await using docs = startDocServer(() => new Response('no', { status: 404 }));
    await using w = await startOAuthWorld();
    const clientId = `${docs.origin}/oauth/client.json`;
    expect((await openConsent(authorizeUrl(w, authParams(w, clientId, pkce().challenge)))).res.status).toBe(400);
    docs.respond = () => Response.json({ client_id: clientId, client_name: 'Doc App', redirect_uris: ['http://127.0.0.1/callback'], token_endpoint_auth_method: 'none' });
    expect((await openConsent(authorizeUrl(w, authParams(w, clientId, pkce().challenge)))).res.status).toBe(200);
    const attempts = traceOf(w);
    expect(attempts.map((a) => [a.status, a.reason, a.steps.map((s) => [s.event, s.status])])).toEqual([
      ['failed', 'invalid_client: client metadata document answered HTTP 404', [['client_metadata_failed', 400]]],
      ['in_progress', null, [['client_metadata_resolved', null], ['authorize_requested', 200]]],
    ]);
    expect(attempts[1]!.steps[0]!.summary).toBe(`client metadata document ${clientId} resolved (CIMD)`);
    expect(attempts[1]!.client_name).toBe('Doc App');
  });
});
