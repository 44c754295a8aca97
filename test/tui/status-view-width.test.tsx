/** issue 9 item 11: the status dashboard pads and cuts by terminal cells, so a CJK client name keeps the columns aligned. */
import { expect, test } from 'bun:test';
import { render } from 'ink-testing-library';
import type { StatusSnapshot } from '../../src/tui/events.ts';
import { StatusView, truncate } from '../../src/tui/StatusView.tsx';
import { displayWidth } from '../../src/text.ts';

const call = (time: string, client: string, outcome: 'ok' | 'error') => ({ time, tool: 'docs_search', backend: 'docs', duration_ms: 12, outcome, client });

test('issue 9 item 11: recent calls stay aligned with wide-character client names (CJK, emoji)', () => {
  const snapshot: StatusSnapshot = {
    version: '0.1.0', uptime_s: 5, sessions: 1, calls_per_minute: 1,
    backends: [{ name: 'docs', state: 'up', transport: 'stdio', tools: 1, prompts: 0, resources: 0 }],
    recent_calls: [call('12:00:03', '克劳德桌面版', 'ok'), call('12:00:02', 'Claude', 'ok'), call('12:00:01', '🤖 bot 👩‍💻', 'error'), call('12:00:00', '社内アシスタント・長い名前のクライアント', 'ok')],
    backend_history: [], sign_ins: [],
  };
  const view = render(<StatusView snapshot={snapshot} color={false} />);
  const lines = (view.lastFrame() ?? '').split('\n');
  view.unmount();
  const header = lines.find((l) => l.startsWith('TIME') && l.includes('OUTCOME'))!;
  const at = displayWidth(header.slice(0, header.indexOf('OUTCOME')));
  const rows = lines.filter((l) => /^12:00:0\d/.test(l));
  expect(rows).toHaveLength(4);
  for (const row of rows) expect(displayWidth(row.slice(0, row.search(/[✓✗] /)))).toBe(at);
  expect(rows.find((r) => r.includes('社内'))).toContain('…'); // the long name is cut to the column, by cells
});

test('issue 9 item 11: truncate counts cells and never splits a character', () => {
  expect(truncate('克劳德桌面版', 12)).toBe('克劳德桌面版');
  expect(truncate('克劳德桌面版', 7)).toBe('克劳德…');
  expect(truncate('abcdef', 4)).toBe('abc…');
});
