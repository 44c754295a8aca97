/** `mcpgw status` reads the audit log (issue 9 item 6): calls, backend changes and sign-ins survive a restart. */
import { expect, test } from 'bun:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readAuditView, shortTime, toStatusSnapshot } from '../../cmd/status.ts';
import { manualClock } from '../../src/deps.ts';
import type { GatewaySnapshot } from '../../src/gateway.ts';
import { silentLogger } from '../../src/log.ts';
import { AuditLog } from '../../src/store/audit.ts';
import { openStore } from '../../src/store/db.ts';
import { renderStatusText } from '../../src/tui/StatusApp.tsx';
import { BACKEND_PATH } from '../helpers/clients.ts';
import { startWorld } from '../helpers/world.ts';

const alpha = { command: process.execPath, args: [BACKEND_PATH, '--name', 'alpha'] };

test('issue 9 item 6: after a restart the dashboard still shows the calls with client and error, backend ups and sign-in attempts', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mcpgw-status-'));
  const path = join(dir, 'mcpgw.db');
  try {
    {
      await using w = await startWorld({ backends: { alpha } }, { db: path });
      await w.up('alpha');
      const sid = await w.open();
      await w.rpc('tools/call', { name: 'alpha_echo', arguments: { text: 'a' } }, { 'mcp-session-id': sid });
      await w.rpc('tools/call', { name: 'alpha_remove_tool', arguments: { name: 'ghost' } }, { 'mcp-session-id': sid });
      const clock = manualClock(Date.now());
      const auth = new AuditLog(w.db, { clock, log: silentLogger, logArguments: false, retentionMs: 86_400_000, pruneMs: 0 });
      auth.auth({ event: 'password_failed', clientId: 'mcpgw_client_abc', clientName: 'Claude', ip: '100.64.0.7', error: 'wrong password' });
      auth.auth({ event: 'token_refreshed', clientId: 'mcpgw_client_abc' });
      auth.close();
    }
    // A new process: its in-memory recent calls are empty; the database is not.
    const db = openStore(path);
    const now = Date.now();
    const view = readAuditView(db, now);
    db.close();
    expect(view.recent_calls.map((c) => [c.tool, c.outcome, c.error])).toEqual([
      ['alpha_echo', 'ok', undefined],
      ['alpha_remove_tool', 'error', 'tool ghost does not exist'],
    ]);
    expect(view.backend_history.map((h) => [h.backend, h.state])).toEqual([['alpha', 'up']]);
    // Token refreshes are routine, not sign-in attempts.
    expect(view.sign_ins.map((s) => [s.event, s.client, s.detail])).toEqual([['password_failed', 'Claude', 'wrong password from 100.64.0.7']]);
    const fresh: GatewaySnapshot = { version: 't', uptime_s: 1, sessions: 0, streams: { open: 0, dropped: 0, disconnected: 0 }, calls_per_minute: 0, backends: [], recent_calls: [] };
    const text = renderStatusText(toStatusSnapshot(fresh, view));
    expect(text).toContain('↳ tool ghost does not exist');
    expect(text).toMatch(/Backend history\nTIME\s+BACKEND\s+STATE\s+REASON\n\S+\s+alpha\s+✓ up/);
    expect(text).toMatch(/Claude\s+wrong password\s+✗ error\s+wrong password from 100\.64\.0\.7/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('shortTime: HH:MM:SS on the same UTC day, else MM-DD HH:MM', () => {
  const now = Date.UTC(2026, 11, 1, 12, 0, 0);
  expect(shortTime('2026-12-01T11:59:30.000Z', now)).toBe('11:59:30');
  expect(shortTime('2026-11-30T23:59:30.000Z', now)).toBe('11-30 23:59');
});
