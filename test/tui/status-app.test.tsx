import { expect, test } from 'bun:test';
import { render } from 'ink-testing-library';
import { StatusApp } from '../../src/tui/StatusApp.tsx';
import type { StatusSnapshot } from '../../src/tui/events.ts';

const snap = (calls: number): StatusSnapshot => ({
  version: '0.1.0',
  uptime_s: 65,
  sessions: 1,
  calls_per_minute: calls,
  backends: [{ name: 'erp', state: 'up', transport: 'stdio', tools: 3, prompts: 0, resources: 1 }],
  recent_calls: [],
});

async function until(pred: () => boolean): Promise<void> {
  for (let i = 0; i < 100 && !pred(); i++) await Bun.sleep(10);
}

test('the live status view refreshes from its source and shows when the gateway goes away', async () => {
  const answers: (StatusSnapshot | undefined)[] = [snap(1), snap(7), undefined];
  let n = 0;
  const load = async () => answers[Math.min(n++, answers.length - 1)];
  const app = render(<StatusApp load={load} intervalMs={20} color={false} />);
  await until(() => (app.lastFrame() ?? '').includes('1 calls/min') || (app.lastFrame() ?? '').includes('1 call'));
  expect(app.lastFrame()).toContain('erp');
  await until(() => (app.lastFrame() ?? '').includes('7'));
  expect(app.lastFrame()).toContain('7');
  await until(() => (app.lastFrame() ?? '').includes('stopped answering'));
  expect(app.lastFrame()).toContain('✗ the gateway stopped answering');
  // the last good snapshot stays on screen
  expect(app.lastFrame()).toContain('erp');
  app.unmount();
});

test('q quits the live view: it stops polling', async () => {
  let loads = 0;
  const app = render(<StatusApp load={async () => (loads++, snap(0))} intervalMs={20} color={false} />);
  await until(() => (app.lastFrame() ?? '').includes('q quit'));
  app.stdin.write('q');
  await Bun.sleep(60);
  const after = loads;
  await Bun.sleep(150);
  expect(loads).toBe(after);
  expect(app.frames.some((f) => f.includes('erp'))).toBe(true);
  app.unmount();
});
