/** A tool call longer than Bun's default 10 s idle timeout, with sparse progress, completes over SSE: keep-alives (spec-checklist §2.1, appendix 9). */
import { expect, test } from 'bun:test';
import { BACKEND_PATH, backendArgs } from '../helpers/clients.ts';
import { baseConfig, startGatewayProcess } from '../helpers/gateway-process.ts';

test('an 11 s tool call with sparse progress streams to completion, with keep-alives in the quiet stretches', async () => {
  await using gw = await startGatewayProcess((d) => baseConfig(d, { alpha: { command: process.execPath, args: [BACKEND_PATH, ...backendArgs({ name: 'alpha' })] } }, { http: { sse_keepalive: '2s' } }));
  await gw.waitForLog((l) => l.msg === 'backend up', 20_000);
  const res = await fetch(gw.mcpUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    // progress every 5.5 s, the whole call longer than Bun's default 10 s idle timeout
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'alpha_slow', arguments: { ms: 11_000, steps: 2 }, _meta: { progressToken: 'p1' } } }),
  });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toContain('text/event-stream');
  const text = await res.text();
  const data = text.split('\n').filter((l) => l.startsWith('data: ')).map((l) => JSON.parse(l.slice(6)));
  const progress = data.filter((m) => m.method === 'notifications/progress');
  expect(progress.length).toBeGreaterThanOrEqual(2);
  expect(progress.every((p) => p.params.progressToken === 'p1')).toBe(true);
  expect(data.at(-1)).toMatchObject({ id: 1, result: { content: [{ type: 'text', text: 'done' }] } });
  // keep-alive comments were sent while the call ran
  expect(text.split('\n').filter((l) => l.startsWith(':')).length).toBeGreaterThanOrEqual(2);
}, 60_000);
