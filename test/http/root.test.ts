/** `GET /` (issue 9 item 9): a small HTML page saying what this is and where the MCP endpoint is, never backend names. */
import { describe, expect, test } from 'bun:test';
import { BASE, startWorld } from '../helpers/world.ts';

describe('root page (issue 9 item 9)', () => {
  test('GET / is HTML naming mcpgw and <public_url>/mcp, with the page security headers and no backend names', async () => {
    await using w = await startWorld({ backends: { 'secret-erp': { url: 'http://127.0.0.1:9/mcp', description: 'Payroll of ACME' } } });
    const res = await w.gw.fetch(new Request(`${BASE}/`));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    const html = await res.text();
    expect(html).toContain('<title>mcpgw: MCP gateway</title>');
    expect(html).toContain('MCP gateway');
    expect(html).toContain(`<code>${BASE}/mcp</code>`);
    expect(html).not.toContain('secret-erp');
    expect(html).not.toContain('Payroll');
    expect(html).not.toMatch(/<script|<link|src=/);
    const head = await w.gw.fetch(new Request(`${BASE}/`, { method: 'HEAD' }));
    expect(head.status).toBe(200);
  });

  test('other methods on / and unknown paths still get the JSON 404', async () => {
    await using w = await startWorld({});
    const post = await w.gw.fetch(new Request(`${BASE}/`, { method: 'POST' }));
    expect(post.status).toBe(404);
    expect(((await post.json()) as { error: string }).error).toBe('not_found');
    expect((await w.gw.fetch(new Request(`${BASE}/nope`))).status).toBe(404);
  });
});
