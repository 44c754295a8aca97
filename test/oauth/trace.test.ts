/** Grouping audit rows into sign-in attempts (issue 9 item 2), pure. */
import { describe, expect, test } from 'bun:test';
import { attemptMatches, buildTrace, explainFailure } from '../../src/oauth/trace.ts';
import type { AuditRow } from '../../src/store/audit.ts';

const T0 = Date.UTC(2026, 0, 1);
const SEC = 1000;
const MIN = 60 * SEC;
const UA = 'Claude-User';
const CONNECTOR = '203.0.113.5';

let nextId = 1;
function row(at: number, event: string, o: Partial<AuditRow> & { ua?: string; status?: number; document?: string } = {}): AuditRow {
  const { ua, status, document, ...rest } = o;
  const detail: Record<string, unknown> = { ...(ua ? { user_agent: ua } : {}), ...(status !== undefined ? { status } : {}), ...(document ? { document } : {}) };
  const failed = ['token_failed', 'authorize_failed', 'register_failed', 'consent_denied', 'password_failed', 'mcp_token_refused'].includes(event);
  return {
    id: nextId++,
    time: new Date(T0 + at).toISOString(),
    kind: 'auth',
    event,
    outcome: failed ? 'error' : 'ok',
    grant_id: null,
    client_id: null,
    client_name: null,
    backend: null,
    tool: null,
    duration_ms: null,
    error: null,
    ip: null,
    detail: Object.keys(detail).length ? detail : null,
    ...rest,
  };
}

const discovery = (at: number, ip = CONNECTOR) => [
  row(at, 'mcp_unauthorized', { ip, ua: UA, status: 401 }),
  row(at + SEC, 'metadata_fetched', { ip, ua: UA, status: 200, document: 'protected-resource' }),
  row(at + 2 * SEC, 'metadata_fetched', { ip, ua: UA, status: 200, document: 'authorization-server' }),
];

describe('buildTrace', () => {
  test('issue 9 item 2: a registration from another address of the same connector (same User-Agent) joins its discovery steps', () => {
    const rows = [...discovery(0), row(3 * SEC, 'client_registered', { ip: '203.0.113.99', ua: UA, client_id: 'c1', client_name: 'Claude' })];
    const [a, ...rest] = buildTrace(rows, { now: T0 + 4 * SEC });
    expect(rest).toEqual([]);
    expect(a!.client_id).toBe('c1');
    expect(a!.steps.map((s) => s.step)).toEqual(['challenge', 'resource_metadata', 'server_metadata', 'registration']);
    expect(a!.status).toBe('in_progress');
  });

  test('issue 9 item 2: a 401 from an unrelated address is its own attempt, and never came back', () => {
    const rows = [...discovery(0), row(SEC, 'mcp_unauthorized', { ip: '192.0.2.66', ua: 'curl/8', status: 401 })];
    const attempts = buildTrace(rows, { now: T0 + 6 * MIN });
    expect(attempts).toHaveLength(2);
    expect(attempts[1]!.reason).toBe('the client never came back after the 401: it did not fetch the protected-resource metadata within 5 min');
    expect(attempts[0]!.reason).toBe('the client read the authorization-server metadata but never registered or opened /authorize (within 5 min)');
  });

  test('issue 9 item 2: a wrong password and then the right one are one attempt; a denial ends it', () => {
    const who = { client_id: 'c1', ip: '198.51.100.7' };
    const rows = [
      row(0, 'authorize_requested', { ...who, status: 200 }),
      row(10 * SEC, 'password_failed', { ...who, error: 'wrong password' }),
      row(20 * SEC, 'consent_granted', who),
      row(30 * SEC, 'authorize_requested', { ...who, status: 200 }),
      row(40 * SEC, 'consent_denied', { ...who, error: 'the owner denied access' }),
    ];
    const [first, second] = buildTrace(rows, { now: T0 + 50 * SEC });
    expect(first!.steps.map((s) => [s.event, s.status])).toEqual([['authorize_requested', 200], ['password_failed', 403], ['consent_granted', 302]]);
    expect(first!.status).toBe('in_progress');
    expect(second!.status).toBe('failed');
    expect(second!.reason).toBe('the owner pressed Deny on the consent page');
  });

  test('issue 9 item 2: consent granted but no /token call: the verdict says so after the abandon time', () => {
    const who = { client_id: 'c1', ip: '198.51.100.7' };
    const rows = [row(0, 'authorize_requested', who), row(SEC, 'consent_granted', who)];
    expect(buildTrace(rows, { now: T0 + 2 * MIN })[0]!.status).toBe('in_progress');
    const [a] = buildTrace(rows, { now: T0 + 10 * MIN, abandonMs: 3 * MIN });
    expect(a!.reason).toBe('consent was granted but the client never redeemed the code at /token (within 3 min): did the redirect to the client arrive?');
  });

  test('issue 9 item 2: an expired token refreshed after the 401 is one succeeded attempt; a refresh on its own is no attempt', () => {
    const rows = [
      row(0, 'token_refreshed', { client_id: 'c1', ip: CONNECTOR }),
      row(MIN, 'mcp_token_refused', { ip: CONNECTOR, ua: UA, status: 401, error: 'invalid_token: token expired' }),
      row(MIN + SEC, 'token_refreshed', { client_id: 'c1', ip: CONNECTOR, grant_id: 'g_1' }),
    ];
    const attempts = buildTrace(rows, { now: T0 + 20 * MIN });
    expect(attempts).toHaveLength(1);
    expect(attempts[0]!.status).toBe('succeeded');
    expect(attempts[0]!.steps.map((s) => [s.step, s.ok])).toEqual([['challenge', false], ['token', true]]);
    expect(attemptMatches(attempts[0]!, 'g_1')).toBe(true);
    expect(attemptMatches(attempts[0]!, 'c2')).toBe(false);
  });

  test('issue 9 item 2: steps further apart than the window are separate attempts; repeats are reported', () => {
    const rows = [row(0, 'mcp_unauthorized', { ip: CONNECTOR, ua: UA, status: 401, detail: { suppressed: 12, status: 401 } }), row(20 * MIN, 'metadata_fetched', { ip: CONNECTOR, ua: UA, document: 'protected-resource' })];
    const attempts = buildTrace(rows, { now: T0 + 21 * MIN });
    expect(attempts).toHaveLength(2);
    expect(attempts[0]!.steps[0]!.repeated).toBe(12);
  });

  test('issue 9 item 2: a second /token failure is a retry: its own attempt with its own reason', () => {
    const who = { client_id: 'c1', ip: CONNECTOR };
    const rows = [
      row(0, 'token_failed', { ...who, error: 'invalid_grant: authorization code expired', status: 400 }),
      row(SEC, 'token_failed', { ...who, error: 'invalid_grant: redirect_uri does not match the authorization request', status: 400 }),
    ];
    expect(buildTrace(rows, { now: T0 + 2 * SEC }).map((a) => a.reason)).toEqual([
      'the authorization code expired before the client redeemed it (auth.code_ttl)',
      'redirect_uri at /token differs from the one sent to /authorize',
    ]);
  });
});

describe('buildTrace after a final failure', () => {
  test('issue 9 item 2: nothing joins an attempt that ended in a final failure, even a later phase (a second browser round)', () => {
    const who = { client_id: 'c1', ip: '198.51.100.7' };
    const rows = [
      row(0, 'authorize_failed', { ...who, status: 400, error: 'redirect URI https://x/cb is not registered for this client' }),
      row(SEC, 'consent_granted', who),
      row(2 * SEC, 'token_issued', who),
    ];
    const attempts = buildTrace(rows, { now: T0 + 3 * SEC });
    expect(attempts.map((a) => a.steps.map((s) => s.step))).toEqual([['authorize'], ['consent', 'token']]);
    expect(attempts[0]!.reason).toBe('redirect URI https://x/cb is not registered for this client');
  });
});

describe('buildTrace at volume', () => {
  test('issue 9 item 2: a day of scanner 401s from 20,000 addresses groups into 20,000 abandoned attempts (within the test timeout)', () => {
    const rows = Array.from({ length: 20_000 }, (_, i) => row(i * 4 * SEC, 'mcp_unauthorized', { ip: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, status: 401 }));
    const attempts = buildTrace(rows, { now: T0 + 2 * 24 * 60 * MIN });
    expect(attempts).toHaveLength(20_000);
    expect(attempts.every((a) => a.status === 'failed' && a.reason!.startsWith('the client never came back after the 401'))).toBe(true);
  });
});

describe('explainFailure', () => {
  test('issue 9 item 2: known /token errors in plain words; unknown ones as recorded', () => {
    expect(explainFailure({ event: 'token_failed', error: 'invalid_grant: PKCE verification failed' })).toStartWith('PKCE verifier does not match the challenge');
    expect(explainFailure({ event: 'token_failed', error: 'invalid_client: client authentication failed' })).toBe('client authentication failed at /token: client authentication failed');
    expect(explainFailure({ event: 'authorize_failed', error: 'invalid_client: unknown client' })).toBe('invalid_client: unknown client');
    expect(explainFailure({ event: 'register_failed', error: 'invalid_redirect_uri: http redirect URIs are only allowed on loopback' })).toBe('invalid_redirect_uri: http redirect URIs are only allowed on loopback');
  });
});
