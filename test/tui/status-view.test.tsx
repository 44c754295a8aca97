import { describe, expect, test } from 'bun:test';
import { render } from 'ink-testing-library';
import type { StatusSnapshot } from '../../src/tui/events.ts';
import { formatUptime, StatusView, truncate } from '../../src/tui/StatusView.tsx';

const SNAPSHOT: StatusSnapshot = {
  version: '0.1.0',
  uptime_s: 3725,
  sessions: 2,
  calls_per_minute: 4.5,
  backends: [
    { name: 'everything', state: 'up', transport: 'stdio', tools: 12, prompts: 3, resources: 7, latencyMs: 41.6 },
    { name: 'erp', state: 'down', transport: 'streamable-http', tools: 0, prompts: 0, resources: 0, lastError: 'connect ECONNREFUSED 10.0.0.5:443 (retrying in 8s, attempt 4 of a very long series)' },
    { name: 'crm', state: 'connecting', transport: 'sse', tools: 0, prompts: 0, resources: 0 },
    { name: 'old', state: 'disabled', transport: 'stdio', tools: 0, prompts: 0, resources: 0 },
  ],
  recent_calls: Array.from({ length: 12 }, (_, i) => ({
    time: `12:00:${String(i).padStart(2, '0')}`,
    tool: i % 3 === 2 ? 'erp_create_invoice_with_a_rather_long_generated_name' : 'everything_echo',
    backend: i % 3 === 2 ? 'erp' : 'everything',
    duration_ms: 10 * i + 3,
    outcome: i % 3 === 2 ? ('error' as const) : ('ok' as const),
    client: i % 2 === 0 ? 'Claude' : 'Claude Code (laptop)',
    error: i % 3 === 2 ? `backend 'erp' is down; last error: connect ECONNREFUSED 10.0.0.5:443 (call ${i})` : undefined,
  })),
  backend_history: [
    { time: '11-30 09:00', backend: 'erp', state: 'up' },
    { time: '11:58:02', backend: 'erp', state: 'down', reason: 'connect ECONNREFUSED 10.0.0.5:443' },
    { time: '11:58:40', backend: 'everything', state: 'up' },
  ],
  sign_ins: [
    { time: '11:50:00', event: 'client_registered', client: 'Claude', outcome: 'ok', detail: 'from 100.64.0.7' },
    { time: '11:50:09', event: 'password_failed', client: 'Claude', outcome: 'error', detail: 'wrong password from 100.64.0.7' },
    { time: '11:50:20', event: 'consent_granted', client: 'Claude', outcome: 'ok', detail: 'backends: all from 100.64.0.7' },
    { time: '11:50:21', event: 'token_failed', client: 'mcpgw_client_x', outcome: 'error', detail: 'invalid_grant: PKCE verification failed' },
  ],
};

function frame(snapshot: StatusSnapshot, color = false): string {
  const view = render(<StatusView snapshot={snapshot} color={color} />);
  const out = view.lastFrame() ?? '';
  view.unmount();
  return out;
}

describe('StatusView', () => {
  test('full dashboard frame', () => {
    expect(frame(SNAPSHOT)).toMatchSnapshot();
  });

  test('empty gateway: no backends, no calls', () => {
    expect(frame({ version: '0.1.0', uptime_s: 5, sessions: 1, calls_per_minute: 0, backends: [], recent_calls: [] })).toMatchSnapshot();
  });

  test('issue 9 item 6: empty audit log: the history sections say there is nothing yet', () => {
    const f = frame({ version: '0.1.0', uptime_s: 5, sessions: 1, calls_per_minute: 0, backends: [], recent_calls: [], backend_history: [], sign_ins: [] });
    expect(f).toContain('Backend history\nno backend changes recorded');
    expect(f).toContain('Sign-in attempts\nno sign-in attempts recorded');
  });

  test('issue 9 item 6: calls show client and error; backend history shows transitions with reasons; sign-ins in plain words', () => {
    const f = frame(SNAPSHOT);
    const lines = f.split('\n');
    const at = lines.findIndex((l) => l.startsWith('12:00:11'));
    expect(lines[at]).toMatch(/Claude Code \(laptop\)\s+113ms  ✗ error$/);
    // The error is on its own line under the call, whole (it fits the width).
    expect(lines[at + 1].trim()).toBe("↳ backend 'erp' is down; last error: connect ECONNREFUSED 10.0.0.5:443 (call 11)");
    expect(lines[at + 2]).toMatch(/^12:00:10 .*✓ ok$/);
    const history = f.slice(f.indexOf('Backend history'), f.indexOf('Sign-in attempts'));
    expect(history).toMatch(/11:58:02\s+erp\s+✗ down\s+connect ECONNREFUSED 10\.0\.0\.5:443/);
    expect(history.indexOf('11:58:40')).toBeLessThan(history.indexOf('11:58:02'));
    const signIns = f.slice(f.indexOf('Sign-in attempts'));
    expect(signIns).toMatch(/11:50:09\s+Claude\s+wrong password\s+✗ error\s+wrong password from 100\.64\.0\.7/);
    expect(signIns).toMatch(/token refused\s+✗ error\s+invalid_grant: PKCE verification failed/);
  });

  test('every state is a glyph with a word; the newest 10 calls, newest first; footer', () => {
    const f = frame(SNAPSHOT);
    for (const word of ['✓ up', '✗ down', '… connecting', '– disabled']) expect(f).toContain(word);
    expect(f).toContain('12:00:11');
    expect(f).not.toContain('12:00:01 ');
    expect(f.indexOf('12:00:11')).toBeLessThan(f.indexOf('12:00:10'));
    expect(f.split('\n').at(-1)).toBe('q quit');
    expect(f.split('\n')[0]).toBe('mcpgw 0.1.0 · up 1h 2m · 2 sessions · 4.5 calls/min');
  });

  test('with colour on, the same words are there (colour is never the only signal)', () => {
    const plain = frame(SNAPSHOT, false);
    const coloured = frame(SNAPSHOT, true).replace(/\u001b\[[0-9;]*m/g, '');
    expect(coloured).toBe(plain);
  });

  test('formatUptime and truncate', () => {
    expect([formatUptime(42), formatUptime(303), formatUptime(3725), formatUptime(3 * 86400 + 4 * 3600 + 5)]).toEqual(['42s', '5m 3s', '1h 2m', '3d 4h']);
    expect(truncate('abcdef', 4)).toBe('abc…');
    expect(truncate('abc', 4)).toBe('abc');
  });
});
