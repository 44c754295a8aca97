/** @module `mcpgw logs` (alias `audit`): the audit log of tool calls, sign-ins and backend changes, from the database in data_dir. */
import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { parseDuration } from '../src/config/duration.ts';
import { databasePath } from '../src/gateway.ts';
import { lastAuditId, queryAudit, type AuditQuery, type AuditRow } from '../src/store/audit.ts';
import { openStore, type Database } from '../src/store/db.ts';
import { loadCliConfig } from './config.ts';
import { runAction, type CliContext } from './context.ts';
import { padEndWidth, printError, truncateText, type CliIo } from './io.ts';

interface LogsOptions {
  config?: string;
  client?: string;
  backend?: string;
  tool?: string;
  since?: string;
  errors?: boolean;
  follow?: boolean;
  json?: boolean;
  limit: string;
  interval: string;
}

/** Rows one poll of --follow reads at most before it prints them. */
const FOLLOW_BATCH = 1000;

/** `1h`, `30m`, `7d` (that long ago) or an ISO 8601 time, as ms since the epoch; undefined if neither. Pure. */
export function parseSince(value: string, now: number): number | undefined {
  const ago = parseDuration(value);
  if (ago !== undefined && /[a-z]$/i.test(value.trim())) return now - ago;
  if (!/^\d{4}-\d{2}-\d{2}/.test(value.trim())) return undefined;
  const t = Date.parse(value);
  return Number.isNaN(t) ? undefined : t;
}

const COLUMNS: [string, number][] = [['TIME', 19], ['KIND', 7], ['EVENT', 24], ['OUTCOME', 7], ['CLIENT', 20], ['BACKEND', 14], ['DURATION', 8]];

/** The table header (fixed widths, so --follow lines stay aligned). */
export function headerLine(): string {
  return [...COLUMNS.map(([h, w]) => h.padEnd(w)), 'DETAIL'].join('  ');
}

/** One row of the table: time in UTC, the tool (calls) or event name, ✓/✗ with a word, the error or context. Pure. */
export function rowLine(r: AuditRow): string {
  const what = r.kind === 'call' ? (r.tool ?? '') : r.event;
  const client = r.client_name ?? r.client_id ?? '-';
  const context = Object.entries(r.detail ?? {}).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
  const detail = r.error ?? [...context, ...(r.ip ? [`from ${r.ip}`] : [])].join(' ');
  const cells = [r.time.slice(0, 19).replace('T', ' '), r.kind, what, r.outcome === 'ok' ? '✓ ok' : '✗ error', client, r.backend ?? '-', r.duration_ms === null ? '-' : `${r.duration_ms}ms`];
  return [...cells.map((c, i) => padEndWidth(truncateText(c, COLUMNS[i][1]), COLUMNS[i][1])), truncateText(detail, 200)].join('  ').trimEnd();
}

function print(io: CliIo, rows: AuditRow[], json: boolean): void {
  for (const r of rows) io.out(json ? JSON.stringify(r) : rowLine(r));
}

/** Resolves after `ms`, or at once when `signal` aborts. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

/** Polls for rows after `lastId` until `signal` aborts; each poll reads only rows that existed when it began. */
export async function followAudit(db: Database, q: AuditQuery, lastId: number, o: { intervalMs: number; signal: AbortSignal; onRows: (rows: AuditRow[]) => void }): Promise<void> {
  while (!o.signal.aborted) {
    await pause(o.intervalMs, o.signal);
    if (o.signal.aborted) break;
    const top = lastAuditId(db);
    while (lastId < top) {
      const rows = queryAudit(db, { ...q, afterId: lastId, untilId: top, limit: FOLLOW_BATCH });
      if (rows.length > 0) o.onRows(rows);
      lastId = rows.length === FOLLOW_BATCH ? rows[rows.length - 1].id : top;
    }
  }
}

function buildQuery(o: LogsOptions, now: number, io: CliIo): AuditQuery | undefined {
  const limit = Number(o.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 100_000) {
    printError(io, `--limit must be a whole number from 1 to 100000; got '${o.limit}'`);
    return undefined;
  }
  let since: number | undefined;
  if (o.since !== undefined) {
    since = parseSince(o.since, now);
    if (since === undefined) {
      printError(io, `--since must be a duration like 1h or 7d, or an ISO time like 2026-01-31T12:00:00Z; got '${o.since}'`);
      return undefined;
    }
  }
  return { since, client: o.client, backend: o.backend, tool: o.tool, errorsOnly: o.errors, limit };
}

async function logs(o: LogsOptions, ctx: CliContext): Promise<number> {
  const deps = ctx.deps();
  const query = buildQuery(o, deps.clock.now(), ctx.io);
  if (!query) return 2;
  const loaded = loadCliConfig(o.config, deps.env, ctx.io);
  if (!loaded.ok) return loaded.code;
  const path = databasePath(loaded.config.data_dir);
  if (!existsSync(path)) {
    printError(ctx.io, `no audit log yet: ${path} does not exist`, `mcpgw serve --config ${loaded.path}`);
    return 1;
  }
  const db = openStore(path);
  try {
    const rows = queryAudit(db, query);
    if (!o.json && (rows.length > 0 || o.follow)) ctx.io.out(headerLine());
    print(ctx.io, rows, Boolean(o.json));
    if (!o.follow) {
      if (rows.length === 0) ctx.io.err('no matching events in the audit log');
      return 0;
    }
    const stop = new AbortController();
    const onSignal = () => stop.abort();
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    try {
      const intervalMs = Math.max(100, Number(o.interval) || 1000);
      await followAudit(db, query, rows.at(-1)?.id ?? lastAuditId(db), { intervalMs, signal: stop.signal, onRows: (r) => print(ctx.io, r, Boolean(o.json)) });
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
    return 0;
  } finally {
    db.close();
  }
}

/** Registers `mcpgw logs` and its alias `mcpgw audit`. */
export function registerLogs(program: Command, ctx: CliContext): void {
  program
    .command('logs')
    .alias('audit')
    .description('Show the audit log: tool calls, sign-in events and backend up/down changes')
    .option('-c, --config <file>', 'config file')
    .option('--client <id-or-name>', 'only this client (client id, client name or grant id)')
    .option('--backend <name>', 'only this backend')
    .option('--tool <name>', 'only this tool (as clients call it, e.g. github_create_issue)')
    .option('--since <when>', 'only events since a duration ago (1h, 7d) or an ISO time')
    .option('--errors', 'only failures: failed calls, refused sign-ins, backends going down')
    .option('-f, --follow', 'keep printing new events as they happen (Ctrl-C ends it)')
    .option('--json', 'one JSON object per line: {id,time,kind,event,outcome,grant_id,client_id,client_name,backend,tool,duration_ms,error,ip,detail}')
    .option('-n, --limit <n>', 'print at most the newest n events', '100')
    .option('--interval <ms>', 'how often --follow looks for new events', '1000')
    .addHelpText(
      'after',
      `
Examples:
  mcpgw logs                               the newest 100 events
  mcpgw logs --errors --since 1h           what failed in the last hour
  mcpgw logs --backend github --follow     watch one backend's calls
  mcpgw logs --client Claude --json | jq .  one client's events for scripts

Kinds: call (a tools/call), auth (client_registered, consent_granted, consent_denied, password_failed,
sign_in_refused, token_issued, token_refreshed, token_failed, code_reuse_detected, refresh_reuse_detected,
token_revoked, and the sign-in steps of 'mcpgw auth trace') and backend (up, down). Retention: audit.retention in the config (default 30d).`,
    )
    .action((o: LogsOptions) => runAction(ctx, () => logs(o, ctx)));
}
