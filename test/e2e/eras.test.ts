/**
 * Issue 10: both protocol eras end to end. In-process gateway (test/helpers/world.ts) in front of
 * the SDK v2 test backend (serves 2025 and 2026-07-28) and of server-everything (2025 only).
 */
import { describe, expect, test } from 'bun:test';
import { join } from 'node:path';
import { BACKEND_PATH, readEvents, spawnBackend, waitFor } from '../helpers/clients.ts';
import { EVERYTHING } from '../helpers/everything.ts';
import { startWorld } from '../helpers/world.ts';

type Json = Record<string, unknown>;

describe('issue 10 item 1: speak each backend newest revision', () => {
  test('a 2026-07-28 HTTP backend is discovered and called per request with the SEP-2243 headers and no session', async () => {
    await using w0 = await startWorld({});
    const events = join(w0.dir, 'events.jsonl');
    await using backend = await spawnBackend({ http: true, name: 'm', events });
    await using w = await startWorld({ backends: { m: { url: backend.url, transport: 'streamable-http', protocol: 'auto' } } });
    await w.up('m');
    expect(w.gw.aggregator.pool.get('m')!.status().protocolVersion).toBe('2026-07-28');
    const sid = await w.open();
    const res = (await w.rpc('tools/call', { name: 'm_echo', arguments: { text: 'über' } }, { 'mcp-session-id': sid })) as { result: Json };
    expect(JSON.stringify(res.result)).toContain('über');
    const seen = await readEvents(events);
    const posts = seen.filter((e): e is Extract<typeof e, { event: 'http' }> => e.event === 'http' && e.method === 'POST');
    expect(posts.some((e) => e.headers['mcp-method'] === 'server/discover')).toBe(true);
    // no 2025 handshake at all
    expect(posts.some((e) => e.headers['mcp-method'] === undefined)).toBe(false);
    const call = posts.find((e) => e.headers['mcp-method'] === 'tools/call')!;
    expect(call.headers['mcp-protocol-version']).toBe('2026-07-28');
    expect(call.headers['mcp-name']).toBe('echo');
    expect(call.headers['mcp-session-id']).toBeUndefined();
    const calls = seen.filter((e) => e.event === 'call');
    expect(calls.map((c) => (c as { era: string }).era)).toEqual(['modern']);
  });

  test('a 2026-07-28 stdio backend is discovered; protocol: legacy keeps initialize', async () => {
    const alpha = { command: process.execPath, args: [BACKEND_PATH, '--name', 'alpha'], protocol: 'auto' };
    const beta = { command: process.execPath, args: [BACKEND_PATH, '--name', 'beta'], protocol: 'legacy' };
    await using w = await startWorld({ backends: { alpha, beta } });
    await w.up('alpha');
    await w.up('beta');
    expect(w.gw.aggregator.pool.get('alpha')!.status().protocolVersion).toBe('2026-07-28');
    expect(w.gw.aggregator.pool.get('beta')!.status().protocolVersion).toBe('2025-11-25');
    const res = (await w.rpc('tools/call', { name: 'alpha_add', arguments: { a: 2, b: 3 } })) as { result: Json };
    expect(JSON.stringify(res.result)).toContain('5');
  });

  test('a 2025-only backend answers server/discover with an error and mcpgw falls back to initialize', async () => {
    await using w = await startWorld({ backends: { ev: { command: 'node', args: [EVERYTHING, 'stdio'], protocol: 'auto' } } });
    await w.up('ev');
    const st = w.gw.aggregator.pool.get('ev')!.status();
    expect(st.protocolVersion).toMatch(/^2025-/);
    expect(st.tools).toBeGreaterThan(0);
  });
});
