/** /metrics scraped from an in-process gateway with real stdio backends, parsed by an independent parser (issue 9 item 4). */
import { describe, expect, test } from 'bun:test';
import { createPersonalToken } from '../../src/store/personal-tokens.ts';
import { BACKEND_PATH } from '../helpers/clients.ts';
import { passwordHash } from '../helpers/oauth-world.ts';
import { parseFamilies, samples, valueOf } from '../helpers/prometheus.ts';
import { BASE, startWorld, type World } from '../helpers/world.ts';

type Json = Record<string, unknown>;
const alpha = { command: process.execPath, args: [BACKEND_PATH, '--name', 'alpha'] };

async function scrape(w: World, headers: Record<string, string> = {}): Promise<Response> {
  return w.gw.fetch(new Request(`${BASE}/metrics`, { headers }));
}

async function call(w: World, sid: string, name: string, args: Json): Promise<Json> {
  return w.rpc('tools/call', { name, arguments: args }, { 'mcp-session-id': sid });
}

describe('metrics in-process', () => {
  test('issue 9 item 4: requests by route and code, tool calls by backend/tool/outcome with latency, backend state, sessions', async () => {
    await using w = await startWorld({ backends: { alpha } });
    await w.up('alpha');
    const sid = await w.open();
    await call(w, sid, 'alpha_echo', { text: 'a' });
    await call(w, sid, 'alpha_echo', { text: 'b' });
    expect(((await call(w, sid, 'alpha_remove_tool', { name: 'nope' })).result as Json).isError).toBe(true);
    expect((await w.gw.fetch(new Request(`${BASE}/wp-admin/x.php`))).status).toBe(404);
    const res = await scrape(w);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const text = await res.text();
    const types = Object.fromEntries(parseFamilies(text).map((f) => [f.name, f.type]));
    expect(types).toEqual({
      mcpgw_build_info: 'GAUGE',
      mcpgw_http_requests_total: 'COUNTER',
      mcpgw_tool_calls_total: 'COUNTER',
      mcpgw_tool_call_duration_seconds: 'HISTOGRAM',
      mcpgw_backend_state: 'GAUGE',
      mcpgw_backend_reconnects_total: 'COUNTER',
      mcpgw_sessions: 'GAUGE',
      mcpgw_streams_open: 'GAUGE',
      mcpgw_notifications_dropped_total: 'COUNTER',
      mcpgw_slow_clients_disconnected_total: 'COUNTER',
      mcpgw_oauth_events_total: 'COUNTER',
    });
    expect(samples(text, 'mcpgw_tool_calls_total')).toEqual([
      { labels: { backend: 'alpha', tool: 'alpha_echo', outcome: 'ok' }, value: '2' },
      { labels: { backend: 'alpha', tool: 'alpha_remove_tool', outcome: 'error' }, value: '1' },
    ]);
    expect(valueOf(text, 'mcpgw_tool_call_duration_seconds_count', { backend: 'alpha', tool: 'alpha_echo' })).toBe(2);
    expect(valueOf(text, 'mcpgw_tool_call_duration_seconds_bucket', { backend: 'alpha', tool: 'alpha_echo', le: '+Inf' })).toBe(2);
    expect(samples(text, 'mcpgw_tool_call_duration_seconds_bucket').every((s) => Object.keys(s.labels).sort().join() === 'backend,le,tool')).toBe(true);
    expect(samples(text, 'mcpgw_backend_state')).toEqual(
      ['connecting', 'up', 'down', 'disabled'].map((state) => ({ labels: { backend: 'alpha', state }, value: state === 'up' ? '1' : '0' })),
    );
    expect(valueOf(text, 'mcpgw_sessions')).toBe(1);
    expect(valueOf(text, 'mcpgw_build_info', { version: 'test' })).toBe(1);
    expect(valueOf(text, 'mcpgw_http_requests_total', { endpoint: '/mcp', method: 'POST', code: '200' })).toBeGreaterThanOrEqual(4);
    expect(valueOf(text, 'mcpgw_http_requests_total', { endpoint: '/mcp', method: 'POST', code: '202' })).toBe(1);
    expect(valueOf(text, 'mcpgw_http_requests_total', { endpoint: 'other', method: 'GET', code: '404' })).toBe(1);
    // No raw path ever becomes a label value.
    expect(text).not.toContain('wp-admin');
    for (const event of ['client_registered', 'consent_granted', 'consent_denied', 'password_failed', 'tokens_issued', 'tokens_refreshed', 'tokens_revoked', 'token_reuse_detected']) {
      expect(valueOf(text, 'mcpgw_oauth_events_total', { event })).toBe(0);
    }
    // The scrape itself is counted once it is answered.
    expect(valueOf(await (await scrape(w)).text(), 'mcpgw_http_requests_total', { endpoint: '/metrics', method: 'GET', code: '200' })).toBe(1);
  }, 30_000);

  test('issue 9 item 4: a backend that drops and comes back counts one reconnect; the failed call counts as an error', async () => {
    await using w = await startWorld({ backends: { alpha } });
    await w.up('alpha');
    const sid = await w.open();
    const first = w.gw.aggregator.pool.get('alpha')!.pid;
    await call(w, sid, 'alpha_crash', {});
    const deadline = Date.now() + 10_000;
    while (!(w.gw.aggregator.pool.get('alpha')!.state === 'up' && w.gw.aggregator.pool.get('alpha')!.pid !== first)) {
      if (Date.now() > deadline) throw new Error('alpha did not come back');
      await Bun.sleep(20);
    }
    const text = await (await scrape(w)).text();
    expect(samples(text, 'mcpgw_backend_reconnects_total')).toEqual([{ labels: { backend: 'alpha' }, value: '1' }]);
    expect(valueOf(text, 'mcpgw_tool_calls_total', { backend: 'alpha', tool: 'alpha_crash', outcome: 'error' })).toBe(1);
    expect(valueOf(text, 'mcpgw_backend_state', { backend: 'alpha', state: 'up' })).toBe(1);
  }, 30_000);

  test('issue 9 item 4: tool label values are capped by metrics.max_tool_labels, the rest count as "other"', async () => {
    await using w = await startWorld({ backends: { alpha }, metrics: { max_tool_labels: 1 } });
    await w.up('alpha');
    const sid = await w.open();
    await call(w, sid, 'alpha_echo', { text: 'a' });
    await call(w, sid, 'alpha_add', { a: 1, b: 2 });
    await call(w, sid, 'alpha_search', { query: 'q' });
    const text = await (await scrape(w)).text();
    expect(samples(text, 'mcpgw_tool_calls_total')).toEqual([
      { labels: { backend: 'alpha', tool: 'alpha_echo', outcome: 'ok' }, value: '1' },
      { labels: { backend: 'alpha', tool: 'other', outcome: 'ok' }, value: '2' },
    ]);
    expect(samples(text, 'mcpgw_tool_call_duration_seconds_count').map((s) => s.labels.tool)).toEqual(['alpha_echo', 'other']);
  }, 30_000);

  test('issue 9 item 4: metrics.enabled false leaves no /metrics route', async () => {
    await using w = await startWorld({ metrics: { enabled: false } });
    expect((await scrape(w)).status).toBe(404);
  });

  test('issue 9 item 4: with OAuth, only a personal token for every backend may scrape; others get 401 or 403', async () => {
    const hash = await passwordHash();
    await using w = await startWorld({ auth: { mode: 'oauth', password_hash: hash } });
    const make = (backends: string[] | null) =>
      createPersonalToken(w.db, { name: 'prom', backends, resource: `${BASE}/mcp`, now: Date.now(), random: (n) => crypto.getRandomValues(new Uint8Array(n)) }).token;
    const none = await scrape(w);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toContain('resource_metadata=');
    expect(await none.text()).not.toContain('mcpgw_');
    expect((await scrape(w, { authorization: 'Bearer mcpgw_pat_notARealTokenAtAll0000000000' })).status).toBe(401);
    const limited = await scrape(w, { authorization: `Bearer ${make(['alpha'])}` });
    expect(limited.status).toBe(403);
    expect(((await limited.json()) as Json).error).toBe('insufficient_scope');
    const full = await scrape(w, { authorization: `Bearer ${make(null)}` });
    expect(full.status).toBe(200);
    const text = await full.text();
    expect(valueOf(text, 'mcpgw_http_requests_total', { endpoint: '/metrics', method: 'GET', code: '401' })).toBe(2);
    expect(valueOf(text, 'mcpgw_http_requests_total', { endpoint: '/metrics', method: 'GET', code: '403' })).toBe(1);
    expect((await w.gw.fetch(new Request(`${BASE}/metrics`, { method: 'POST' }))).status).toBe(405);
  });
});
