/** The sign-in trace recorder's flood limits (issue 9 item 2): one row per key per window, a cap across keys, first call once. */
import { describe, expect, test } from 'bun:test';
import { manualClock } from '../../src/deps.ts';
import { createLogger } from '../../src/log.ts';
import { createTraceRecorder } from '../../src/oauth/trace-record.ts';
import type { AuthAuditEntry } from '../../src/store/audit.ts';

function recorder(limits = {}, seen: (id: string) => boolean = () => false) {
  const rows: AuthAuditEntry[] = [];
  const clock = manualClock();
  const log = createLogger({ level: 'error', json: true, write: () => {} });
  const trace = createTraceRecorder((e) => void rows.push(e), clock, log, seen, limits);
  return { rows, clock, trace };
}

describe('trace recorder', () => {
  test('issue 9 item 2: 1000 requests of one address in 10 s write one row; the next row counts the 999 others', () => {
    const { rows, clock, trace } = recorder();
    for (let i = 0; i < 1000; i++) trace.step({ event: 'mcp_unauthorized' }, { ip: '192.0.2.1', userAgent: 'x' }, { path: '/mcp', status: 401 });
    expect(rows).toHaveLength(1);
    clock.advance(10_000);
    trace.step({ event: 'mcp_unauthorized' }, { ip: '192.0.2.1' }, { path: '/mcp', status: 401 });
    expect(rows.map((r) => r.detail?.suppressed)).toEqual([undefined, 999]);
    expect(rows[0]).toEqual({ event: 'mcp_unauthorized', ip: '192.0.2.1', detail: { path: '/mcp', status: 401, user_agent: 'x' } });
  });

  test('issue 9 item 2: many addresses at once are capped per window across all of them', () => {
    const { rows, clock, trace } = recorder({ maxPerWindow: 50, maxKeys: 100 });
    for (let i = 0; i < 5000; i++) trace.step({ event: 'metadata_fetched' }, { ip: `2001:db8::${i.toString(16)}` }, { path: '/.well-known/oauth-protected-resource' });
    expect(rows).toHaveLength(50);
    clock.advance(10_000);
    trace.step({ event: 'metadata_fetched' }, { ip: '192.0.2.9' }, {});
    expect(rows).toHaveLength(51);
  });

  test('issue 9 item 2: a long User-Agent is clipped; the first call of a grant is recorded once, and not when stored before', () => {
    const { rows, trace } = recorder({}, (id) => id === 'g_old');
    trace.step({ event: 'mcp_unauthorized' }, { ip: '192.0.2.1', userAgent: 'A'.repeat(5000) }, {});
    expect(String(rows[0]!.detail!.user_agent).length).toBe(200);
    for (let i = 0; i < 3; i++) trace.firstCall({ grantId: 'g_new', clientId: 'c1' }, { ip: '192.0.2.1' }, { path: '/mcp' });
    trace.firstCall({ grantId: 'g_old', clientId: 'c1' }, { ip: '192.0.2.1' }, { path: '/mcp' });
    expect(rows.filter((r) => r.event === 'mcp_first_call').map((r) => r.grantId)).toEqual(['g_new']);
  });
});
