/** The audit log store (issue 9 item 1): batched writes, retention pruning by the injected clock, redaction. */
import { describe, expect, test } from 'bun:test';
import { manualClock } from '../../src/deps.ts';
import { silentLogger } from '../../src/log.ts';
import { AuditLog, queryAudit, redactArguments, type AuditOptions } from '../../src/store/audit.ts';
import { openStore, type Database } from '../../src/store/db.ts';

const DAY = 24 * 60 * 60 * 1000;

function setup(o: Partial<AuditOptions> = {}) {
  const db = openStore(':memory:');
  const clock = manualClock(Date.UTC(2026, 0, 10));
  const audit = new AuditLog(db, { clock, log: silentLogger, logArguments: false, retentionMs: 30 * DAY, pruneMs: 0, ...o });
  return { db, clock, audit, [Symbol.dispose]: () => (audit.close(), db.close()) };
}

const count = (db: Database) => (db.query('SELECT COUNT(*) AS n FROM audit_log').get() as { n: number }).n;
const call = (time: number, extra: Record<string, unknown> = {}) => ({ time, backend: 'alpha', tool: 'alpha_echo', durationMs: 3, outcome: 'ok' as const, ...extra });

async function until(pred: () => boolean, ms = 2000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await Bun.sleep(5);
  }
}

describe('audit log store (issue 9 item 1)', () => {
  test('writes are queued, not done on the call path; one flush after the interval writes them all', async () => {
    using w = setup({ flushMs: 40 });
    for (let i = 0; i < 5; i++) w.audit.call(call(w.clock.now()));
    expect(count(w.db)).toBe(0);
    await until(() => count(w.db) === 5);
    expect(count(w.db)).toBe(5);
  });

  test('a full batch (100 rows) is written on the next tick, without waiting for the interval', async () => {
    using w = setup({ flushMs: 60_000, batchSize: 100 });
    for (let i = 0; i < 100; i++) w.audit.call(call(w.clock.now()));
    expect(count(w.db)).toBe(0);
    await until(() => count(w.db) === 100, 1000);
  });

  test('close() writes what is queued and later records are ignored', () => {
    const w = setup({ flushMs: 60_000 });
    w.audit.call(call(w.clock.now(), { outcome: 'error', error: 'boom' }));
    w.audit.close();
    w.audit.call(call(w.clock.now()));
    expect(queryAudit(w.db, { limit: 10 }).map((r) => [r.kind, r.outcome, r.error])).toEqual([['call', 'error', 'boom']]);
    w.db.close();
  });

  test('retention: rows older than audit.retention are pruned, at start and on the timer, by the injected clock', async () => {
    const db = openStore(':memory:');
    const clock = manualClock(Date.UTC(2026, 0, 1));
    const first = new AuditLog(db, { clock, log: silentLogger, logArguments: false, retentionMs: 30 * DAY, pruneMs: 0 });
    first.call(call(clock.now() - 31 * DAY));
    first.call(call(clock.now() - 29 * DAY));
    first.auth({ event: 'token_issued', clientId: 'c1' });
    first.close();
    expect(count(db)).toBe(3);
    // A new writer (a restart) prunes at once: the 31-day-old row goes.
    const second = new AuditLog(db, { clock, log: silentLogger, logArguments: false, retentionMs: 30 * DAY, pruneMs: 20 });
    expect(count(db)).toBe(2);
    // Two days later the timer removes the 29-day-old call; the auth event from "now" stays.
    clock.advance(2 * DAY);
    await until(() => count(db) === 1);
    expect(queryAudit(db, { limit: 10 }).map((r) => r.event)).toEqual(['token_issued']);
    second.close();
    db.close();
  });

  test('arguments and results are kept only with log_arguments, with secret fields redacted by name', () => {
    using on = setup({ logArguments: true });
    const args = { query: 'weather', password: 'hunter2', github_token: 'ghp_abc', apiKey: 'k-1', nested: { client_secret: 'x', note: 'Bearer abcdefghijk' }, token_count: 4 };
    on.audit.call(call(on.clock.now(), { args, result: { content: [{ type: 'text', text: 'ok' }], session_id: 's1' } }));
    on.audit.flush();
    const [row] = queryAudit(on.db, { limit: 1 });
    expect(row.detail).toEqual({
      arguments: { query: 'weather', password: '[redacted]', github_token: '[redacted]', apiKey: '[redacted]', nested: { client_secret: '[redacted]', note: 'Bearer [redacted]' }, token_count: 4 },
      result: { content: [{ type: 'text', text: 'ok' }], session_id: '[redacted]' },
    });
    expect(JSON.stringify(on.db.query('SELECT * FROM audit_log').all())).not.toContain('hunter2');

    using off = setup({ logArguments: false });
    off.audit.call(call(off.clock.now(), { args }));
    off.audit.flush();
    expect(queryAudit(off.db, { limit: 1 })[0].detail).toBeNull();
    expect(JSON.stringify(off.db.query('SELECT * FROM audit_log').all())).not.toContain('hunter2');
  });

  test('redactArguments keeps identifiers and counts, removes token-looking strings anywhere', () => {
    expect(redactArguments({ id: 'g_123', exit_code: 1, text: 'use mcpgw_rt_abcdefghijklmnop now', list: [{ secret: 's' }] })).toEqual({
      id: 'g_123',
      exit_code: 1,
      text: 'use [redacted-token] now',
      list: [{ secret: '[redacted]' }],
    });
  });

  test('a flush of many rows (multi-row INSERTs and single rows) keeps queue order, every field and the grant lookup', () => {
    using w = setup({ flushMs: 60_000, batchSize: 10_000 });
    w.db.query("INSERT INTO grants (id, kind, registration, client_id, client_name, subject, scope, resource, created_at) VALUES ('g_1', 'oauth', 'dcr', 'c1', 'Claude', 'owner', 'mcp', 'r', 0)").run();
    const t = w.clock.now();
    // 123 rows = two statements of 50 rows and 23 single rows; named and unnamed rows interleave.
    for (let i = 0; i < 123; i++) {
      if (i % 41 === 7) w.audit.backend({ backend: `b${i}`, state: 'down', reason: `r${i}` });
      else w.audit.call(call(t + i, { tool: `t${i}`, durationMs: i, grantId: 'g_1', ...(i % 3 === 0 ? {} : { clientName: `n${i}` }), ...(i % 5 === 0 ? { outcome: 'error', error: `e${i}` } : {}) }));
    }
    expect(w.audit.flush()).toBe(123);
    const rows = queryAudit(w.db, { limit: 1000 });
    expect(rows).toHaveLength(123);
    expect(rows.map((r) => r.id)).toEqual([...rows.map((r) => r.id)].sort((a, b) => a - b));
    rows.forEach((r, i) => {
      if (i % 41 === 7) expect([r.kind, r.backend, r.error, r.client_name]).toEqual(['backend', `b${i}`, `r${i}`, null]);
      else {
        expect([r.kind, r.time, r.tool, r.duration_ms, r.grant_id]).toEqual(['call', new Date(t + i).toISOString(), `t${i}`, i, 'g_1']);
        expect(r.client_name).toBe(i % 3 === 0 ? 'Claude' : `n${i}`);
        expect([r.outcome, r.error]).toEqual(i % 5 === 0 ? ['error', `e${i}`] : ['ok', null]);
      }
    });
  });

  test('queries filter by client, backend, tool, errors and time; the client name comes from the grant when unknown', () => {
    using w = setup();
    const t = w.clock.now();
    w.db.query("INSERT INTO grants (id, kind, registration, client_id, client_name, subject, scope, resource, created_at) VALUES ('g_1', 'oauth', 'dcr', 'c1', 'Claude', 'owner', 'mcp', 'r', 0)").run();
    w.audit.call(call(t - 3 * 3600_000, { grantId: 'g_1', clientId: 'c1' }));
    w.audit.call(call(t - 60_000, { backend: 'beta', tool: 'beta_fail', outcome: 'error', error: 'nope', clientId: 'c2', clientName: 'Cursor' }));
    w.audit.backend({ backend: 'beta', state: 'down', reason: 'spawn ENOENT' });
    w.audit.auth({ event: 'password_failed', clientId: 'c1', ip: '10.0.0.1', error: 'wrong password' });
    w.audit.flush();
    expect(queryAudit(w.db, { limit: 10, client: 'Claude' }).map((r) => [r.tool, r.client_name])).toEqual([['alpha_echo', 'Claude']]);
    expect(queryAudit(w.db, { limit: 10, backend: 'beta' }).map((r) => r.event)).toEqual(['tools/call', 'down']);
    expect(queryAudit(w.db, { limit: 10, tool: 'beta_fail' })).toHaveLength(1);
    expect(queryAudit(w.db, { limit: 10, errorsOnly: true }).map((r) => r.event)).toEqual(['tools/call', 'down', 'password_failed']);
    expect(queryAudit(w.db, { limit: 10, since: t - 3600_000 })).toHaveLength(3);
    expect(queryAudit(w.db, { limit: 2 }).map((r) => r.kind)).toEqual(['backend', 'auth']);
    const all = queryAudit(w.db, { limit: 10 });
    expect(queryAudit(w.db, { limit: 10, afterId: all[1].id }).map((r) => r.id)).toEqual([all[2].id, all[3].id]);
  });
});
