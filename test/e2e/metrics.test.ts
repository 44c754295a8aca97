/**
 * /metrics through the compiled binary (issue 9 item 4): a real sign-in (registration, a wrong password, a
 * denial, consent, tokens, refresh, revocation) and tool calls, then a scrape parsed by an independent
 * Prometheus text-format parser; scrapes without the right token are refused.
 */
import { describe, expect, test } from 'bun:test';
import { connect as netConnect, type Socket } from 'node:net';
import { join } from 'node:path';
import { createPersonalToken } from '../../src/store/personal-tokens.ts';
import { openStore } from '../../src/store/db.ts';
import { BACKEND_PATH } from '../helpers/clients.ts';
import { baseConfig, startGatewayProcess } from '../helpers/gateway-process.ts';
import { authorizeUrl, authParams, obtainTokens, openConsent, pkce, postForm, registerPublicClient, submitConsent } from '../helpers/oauth-client.ts';
import { passwordHash, type OAuthWorld } from '../helpers/oauth-world.ts';
import { parseFamilies, samples, valueOf } from '../helpers/prometheus.ts';

type Json = Record<string, unknown>;
const alpha = { command: process.execPath, args: [BACKEND_PATH, '--name', 'alpha'] };

function post(url: string, body: Json, headers: Record<string, string>): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers }, body: JSON.stringify(body) });
}

describe('metrics through the binary', () => {
  test('issue 9 item 4: a scrape after sign-in steps and tool calls parses and counts each of them; unauthorized scrapes are refused', async () => {
    const hash = await passwordHash();
    await using gw = await startGatewayProcess((d) => ({ ...baseConfig(d, { alpha }), auth: { mode: 'oauth', password_hash: hash } }));
    await gw.waitForLog((l) => l.msg === 'backend up' && l.backend === 'alpha');
    const db = openStore(join(gw.dir, 'state', 'mcpgw.db'));
    const personal = (backends: string[] | null) =>
      createPersonalToken(db, { name: 'prometheus', backends, resource: gw.mcpUrl, now: Date.now(), random: (n) => crypto.getRandomValues(new Uint8Array(n)) }).token;
    let full: string;
    let limited: string;
    try {
      full = personal(null);
      limited = personal(['alpha']);
    } finally {
      db.close();
    }
    const scrape = (token?: string) => fetch(`${gw.url}/metrics`, { headers: token ? { authorization: `Bearer ${token}` } : {} });

    // Sign-in steps, each an OAuth event.
    const w = { url: gw.url, resource: gw.mcpUrl } as OAuthWorld;
    const clientId = await registerPublicClient(w);
    const consent = async () => (await openConsent(authorizeUrl(w, authParams(w, clientId, pkce().challenge)))).form;
    expect((await submitConsent(w, await consent(), { password: 'wrong password' })).status).toBe(403);
    const denied = await submitConsent(w, await consent(), { action: 'deny' });
    expect(new URL(denied.headers.get('location')!).searchParams.get('error')).toBe('access_denied');
    const tokens = await obtainTokens(w, { clientId });
    const connector = await scrape(tokens.access_token);
    expect(connector.status).toBe(403);
    expect(((await connector.json()) as Json).error).toBe('insufficient_scope');
    const refreshed = await postForm(w, '/token', { grant_type: 'refresh_token', refresh_token: tokens.refresh_token, client_id: clientId });
    expect(refreshed.status).toBe(200);
    const { refresh_token } = (await refreshed.json()) as { refresh_token: string };
    expect((await postForm(w, '/revoke', { token: refresh_token, client_id: clientId })).status).toBe(200);

    // Tool calls with the personal token.
    const auth = { authorization: `Bearer ${full}` };
    const init = await post(gw.mcpUrl, { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } }, auth);
    const sid = init.headers.get('mcp-session-id')!;
    await init.text();
    for (const [id, text] of [[2, 'a'], [3, 'b']] as const) {
      const res = await post(gw.mcpUrl, { jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'alpha_echo', arguments: { text } } }, { ...auth, 'mcp-session-id': sid });
      expect(res.status).toBe(200);
      await res.text();
    }

    // Refused scrapes: none, a connector's token (above), a personal token for some backends only.
    const anonymous = await scrape();
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toContain('Bearer resource_metadata=');
    expect((await scrape(limited)).status).toBe(403);

    const res = await scrape(full);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const text = await res.text();
    const families = parseFamilies(text);
    expect(families.every((f) => f.name.startsWith('mcpgw_') && f.help.length > 0)).toBe(true);
    expect(families.find((f) => f.name === 'mcpgw_tool_call_duration_seconds')?.type).toBe('HISTOGRAM');
    const events = Object.fromEntries(samples(text, 'mcpgw_oauth_events_total').map((s) => [s.labels.event, Number(s.value)]));
    expect(events).toEqual({
      client_registered: 1,
      consent_granted: 1,
      consent_denied: 1,
      password_failed: 1,
      tokens_issued: 1,
      tokens_refreshed: 1,
      tokens_revoked: 1,
      token_reuse_detected: 0,
    });
    expect(samples(text, 'mcpgw_tool_calls_total')).toEqual([{ labels: { backend: 'alpha', tool: 'alpha_echo', outcome: 'ok' }, value: '2' }]);
    expect(valueOf(text, 'mcpgw_tool_call_duration_seconds_count', { backend: 'alpha', tool: 'alpha_echo' })).toBe(2);
    expect(valueOf(text, 'mcpgw_backend_state', { backend: 'alpha', state: 'up' })).toBe(1);
    expect(valueOf(text, 'mcpgw_sessions')).toBe(1);
    expect(valueOf(text, 'mcpgw_build_info', { version: '0.1.0' })).toBe(1);
    const requests = (endpoint: string, method: string, code: string) => valueOf(text, 'mcpgw_http_requests_total', { endpoint, method, code });
    expect(requests('/register', 'POST', '201')).toBe(1);
    expect(requests('/authorize', 'GET', '200')).toBe(3);
    expect(requests('/authorize', 'POST', '403')).toBe(1);
    expect(requests('/authorize', 'POST', '302')).toBe(2);
    expect(requests('/token', 'POST', '200')).toBe(2);
    expect(requests('/revoke', 'POST', '200')).toBe(1);
    expect(requests('/mcp', 'POST', '200')).toBe(3);
    expect(requests('/metrics', 'GET', '401')).toBe(1);
    expect(requests('/metrics', 'GET', '403')).toBe(2);
    // Label sets are the documented ones and nothing else.
    const names = families.flatMap((f) => (f.type === 'HISTOGRAM' ? ['_bucket', '_sum', '_count'].map((x) => f.name + x) : [f.name]));
    const labelSets = new Set(names.flatMap((n) => samples(text, n).map((s) => `${n}{${Object.keys(s.labels).sort().join(',')}}`)));
    expect([...labelSets].sort()).toEqual([
      'mcpgw_backend_state{backend,state}',
      'mcpgw_build_info{version}',
      'mcpgw_http_requests_total{code,endpoint,method}',
      'mcpgw_notifications_dropped_total{}',
      'mcpgw_oauth_events_total{event}',
      'mcpgw_sessions{}',
      'mcpgw_slow_clients_disconnected_total{}',
      'mcpgw_streams_open{}',
      'mcpgw_tool_call_duration_seconds_bucket{backend,le,tool}',
      'mcpgw_tool_call_duration_seconds_count{backend,tool}',
      'mcpgw_tool_call_duration_seconds_sum{backend,tool}',
      'mcpgw_tool_calls_total{backend,outcome,tool}',
    ]);
  }, 60_000);

  test('issue 9 item 4: notifications dropped for a client that does not read its stream are counted, and its stream is open', async () => {
    await using gw = await startGatewayProcess((d) => baseConfig(d, { alpha: { ...alpha, protocol: 'legacy' } }, { http: { stream_buffer_bytes: 16 * 1024 } }));
    await gw.waitForLog((l) => l.msg === 'backend up' && l.backend === 'alpha');
    const init = await post(gw.mcpUrl, { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } }, {});
    const sid = init.headers.get('mcp-session-id')!;
    await init.text();
    await (await post(gw.mcpUrl, { jsonrpc: '2.0', id: 2, method: 'logging/setLevel', params: { level: 'debug' } }, { 'mcp-session-id': sid })).text();
    const u = new URL(gw.url);
    // A GET stream on a raw socket that is never read: the kernel buffers fill, then the gateway's budget.
    const socket = await new Promise<Socket>((resolve, reject) => {
      const s = netConnect({ host: u.hostname, port: Number(u.port) }, () => {
        s.write(`GET /mcp HTTP/1.1\r\nHost: ${u.host}\r\nAccept: text/event-stream\r\nMcp-Session-Id: ${sid}\r\n\r\n`);
        s.pause();
        resolve(s);
      });
      s.on('error', reject);
    });
    try {
      const flood = await post(gw.mcpUrl, { jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'alpha_flood', arguments: { count: 5000, size: 2000 } } }, {});
      expect(await flood.text()).toContain('flooded 5000');
      const status = (await (await fetch(`${gw.url}/status`)).json()) as { streams: { open: number; dropped: number } };
      const text = await (await fetch(`${gw.url}/metrics`)).text();
      expect(status.streams.dropped).toBeGreaterThan(0);
      expect(valueOf(text, 'mcpgw_notifications_dropped_total')).toBe(status.streams.dropped);
      expect(valueOf(text, 'mcpgw_streams_open')).toBe(1);
      expect(valueOf(text, 'mcpgw_slow_clients_disconnected_total')).toBe(0);
    } finally {
      socket.destroy();
    }
  }, 60_000);
});
