/** The client-facing endpoint's wire rules, through the compiled binary (spec-checklist §2). */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { baseConfig, startGatewayProcess, type GatewayProcess } from '../helpers/gateway-process.ts';
import { EVERYTHING } from '../helpers/everything.ts';

let gw: GatewayProcess;
const post = (body: string, headers: Record<string, string> = {}) =>
  fetch(gw.mcpUrl, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers }, body });
const rpc = (method: string, params: Record<string, unknown> = {}, id = 1) => JSON.stringify({ jsonrpc: '2.0', id, method, params });
const init = rpc('initialize', { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 't', version: '1' } });

async function expectHealthy() {
  const res = await fetch(`${gw.url}/health`);
  expect(res.status).toBe(200);
  expect(await res.json()).toEqual({ status: 'ok', backends: { up: 1, down: 0 } });
}

beforeAll(async () => {
  gw = await startGatewayProcess((dir) => baseConfig(dir, { everything: { command: 'node', args: [EVERYTHING, 'stdio'] } }));
  await gw.waitForLog((l) => l.msg === 'backend up');
}, 60_000);
afterAll(async () => {
  await gw?.[Symbol.asyncDispose]();
}, 60_000);

describe('endpoint [spec-checklist 2.1-2.8]', () => {
  test('health answers without auth and names no backend', async () => {
    const res = await fetch(`${gw.url}/health`);
    expect(res.status).toBe(200);
    expect(await res.text()).not.toContain('everything');
  });

  test('Accept: */* or no Accept is answered with JSON, never 406 [2.1 REALITY]', async () => {
    for (const accept of ['*/*', '']) {
      const res = await fetch(gw.mcpUrl, { method: 'POST', headers: { 'content-type': 'application/json', ...(accept ? { accept } : {}) }, body: rpc('tools/list') });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toContain('application/json');
      const body = (await res.json()) as { result: { tools: { name: string }[] } };
      expect(body.result.tools.some((t) => t.name === 'everything_echo')).toBe(true);
    }
  });

  test('a stateless tools/call without any session works [2.8]', async () => {
    const res = await post(rpc('tools/call', { name: 'everything_echo', arguments: { message: 'hi' } }), { accept: 'application/json' });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { result: { content: { text: string }[] } };
    expect(body.result.content[0].text).toContain('hi');
  });

  test('initialize opens a session; unknown session id -> 404; DELETE ends it [2.4]', async () => {
    const res = await post(init);
    expect(res.status).toBe(200);
    const sid = res.headers.get('mcp-session-id');
    expect(sid).toMatch(/^[\x21-\x7e]+$/);
    await res.text();
    const unknown = await post(rpc('tools/list'), { 'mcp-session-id': 'nope', 'mcp-protocol-version': '2025-11-25' });
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { error: { code: number } }).error.code).toBe(-32001);
    const del = await fetch(gw.mcpUrl, { method: 'DELETE', headers: { 'mcp-session-id': sid!, 'mcp-protocol-version': '2025-11-25' } });
    expect(del.status).toBe(200);
    const after = await post(rpc('tools/list'), { 'mcp-session-id': sid!, 'mcp-protocol-version': '2025-11-25' });
    expect(after.status).toBe(404);
    await expectHealthy();
  });

  test('notifications, also with a stale session id, get 202 and an empty body [2.1]', async () => {
    for (const headers of [{}, { 'mcp-session-id': 'stale' }] as Record<string, string>[]) {
      const res = await post(JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }), headers);
      expect(res.status).toBe(202);
      expect(await res.text()).toBe('');
    }
  });

  test('GET without a session -> 405 [2.2]', async () => {
    const res = await fetch(gw.mcpUrl, { headers: { accept: 'text/event-stream' } });
    expect(res.status).toBe(405);
  });

  test('a 5 MiB body -> 413 before parsing, server stays healthy [6 limits]', async () => {
    const big = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: { pad: 'x'.repeat(5 * 1024 * 1024) } });
    const res = await post(big);
    expect(res.status).toBe(413);
    await expectHealthy();
  });

  test('malformed JSON -> 400 with JSON-RPC -32700 [2.1]', async () => {
    const res = await post('{"jsonrpc": "2.0", "id": 1, "method": ');
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: number } }).error.code).toBe(-32700);
    await expectHealthy();
  });

  test('request headers over the limit -> 431, server stays healthy', async () => {
    const res = await post(rpc('tools/list'), { 'x-padding': 'x'.repeat(20_000) });
    expect(res.status).toBe(431);
    await res.text();
    await expectHealthy();
  });

  test('JSON nested deeper than the limit -> 400 -32600', async () => {
    const deep = '{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"a":' + '['.repeat(100) + ']'.repeat(100) + '}}';
    const res = await post(deep);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: number } }).error.code).toBe(-32600);
    await expectHealthy();
  });

  test('foreign Origin -> 403; the public origin passes [2.7]', async () => {
    const bad = await post(rpc('tools/list'), { origin: 'https://evil.example' });
    expect(bad.status).toBe(403);
    expect(((await bad.json()) as { error: { data: { reason: string } } }).error.data.reason).toBe('forbidden_origin');
    const good = await post(rpc('tools/list'), { origin: new URL(gw.url).origin });
    expect(good.status).toBe(200);
    await good.text();
    await expectHealthy();
  });

  test('foreign Host (DNS rebinding) -> 403 [2.7]', async () => {
    const port = new URL(gw.url).port;
    const res = await fetch(gw.mcpUrl, { method: 'POST', headers: { host: `evil.example:${port}`, 'content-type': 'application/json', accept: '*/*' }, body: rpc('tools/list') });
    expect(res.status).toBe(403);
    const local = await fetch(`http://localhost:${port}/mcp`, { method: 'POST', headers: { 'content-type': 'application/json', accept: '*/*' }, body: rpc('tools/list') });
    expect(local.status).toBe(200);
    await local.text();
  });

  test('unsupported MCP-Protocol-Version -> 400 [2.5]', async () => {
    const res = await post(rpc('tools/list'), { 'mcp-protocol-version': '1999-01-01' });
    expect(res.status).toBe(400);
    await res.text();
  });

  test('server/discover (2026-07-28) is answered with a DiscoverResult, never 5xx [2.10]', async () => {
    const res = await post(
      JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'server/discover', params: { _meta: { 'io.modelcontextprotocol/protocolVersion': '2026-07-28', 'io.modelcontextprotocol/clientCapabilities': {}, 'io.modelcontextprotocol/clientInfo': { name: 'probe', version: '1' } } } }),
      { 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'server/discover' },
    );
    const text = await res.text();
    expect(res.status).toBe(200);
    expect(text).toContain('supportedVersions');
    expect(text).toContain('2026-07-28');
  });

  test('unknown tool -> JSON-RPC invalid params', async () => {
    const res = await post(rpc('tools/call', { name: 'nope_nope', arguments: {} }), { accept: 'application/json' });
    const body = (await res.json()) as { error: { code: number; message: string } };
    expect(body.error.code).toBe(-32602);
  });
});
