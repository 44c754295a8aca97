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
  })),
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
