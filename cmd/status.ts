/** @module `mcpgw status`: a live dashboard on a TTY; one snapshot (text, or --json) otherwise. */
import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { adminRequest } from '../src/http/admin.ts';
import { databasePath, type GatewaySnapshot } from '../src/gateway.ts';
import { queryAudit, type AuditRow } from '../src/store/audit.ts';
import { openStore, type Database } from '../src/store/db.ts';
import type { BackendTransition, CallSummary, SignInSummary, StatusSnapshot } from '../src/tui/events.ts';
import { loadCliConfig } from './config.ts';
import { runAction, type CliContext } from './context.ts';
import { printError } from './io.ts';

/** What the dashboard reads from the audit log (so it shows what happened before a restart too). */
export type AuditView = Required<Pick<StatusSnapshot, 'recent_calls' | 'backend_history' | 'sign_ins'>>;

/** An event time as the dashboard shows it: `HH:MM:SS` on the same (UTC) day as `now`, else `MM-DD HH:MM`. Pure. */
export function shortTime(iso: string, now: number): string {
  return iso.slice(0, 10) === new Date(now).toISOString().slice(0, 10) ? iso.slice(11, 19) : `${iso.slice(5, 10)} ${iso.slice(11, 16)}`;
}

const SIGN_IN_EVENTS = ['client_registered', 'consent_granted', 'consent_denied', 'password_failed', 'sign_in_refused', 'token_issued', 'token_failed', 'code_reuse_detected', 'refresh_reuse_detected', 'token_revoked'];

function signInDetail(r: AuditRow): string | undefined {
  const backends = r.detail?.backends;
  const parts = [r.error ?? (backends === undefined ? undefined : `backends: ${Array.isArray(backends) ? backends.join(', ') : String(backends)}`), r.ip ? `from ${r.ip}` : undefined];
  return parts.filter(Boolean).join(' ') || undefined;
}

/** The newest calls, backend up/down changes and sign-in steps from the audit log, oldest first. */
export function readAuditView(db: Database, now: number): AuditView {
  const calls = queryAudit(db, { kinds: ['call'], limit: 10 });
  const backends = queryAudit(db, { kinds: ['backend'], limit: 6 });
  const auth = queryAudit(db, { kinds: ['auth'], events: SIGN_IN_EVENTS, limit: 6 });
  const client = (r: AuditRow) => r.client_name ?? r.client_id ?? undefined;
  return {
    recent_calls: calls.map((r): CallSummary => ({ time: shortTime(r.time, now), tool: r.tool ?? '', backend: r.backend ?? '', duration_ms: r.duration_ms ?? 0, outcome: r.outcome, client: client(r), error: r.error ?? undefined })),
    backend_history: backends.map((r): BackendTransition => ({ time: shortTime(r.time, now), backend: r.backend ?? '', state: r.event === 'up' ? 'up' : 'down', reason: r.error ?? undefined })),
    sign_ins: auth.map((r): SignInSummary => ({ time: shortTime(r.time, now), event: r.event, client: client(r) ?? '-', outcome: r.outcome, detail: signInDetail(r) })),
  };
}

/** The dashboard's view of a gateway snapshot (call times shown as HH:MM:SS), with the audit log's history when read. */
export function toStatusSnapshot(s: GatewaySnapshot, audit?: AuditView): StatusSnapshot {
  const recent = s.recent_calls.map((c): CallSummary => ({ time: c.time.slice(11, 19), tool: c.tool, backend: c.backend, duration_ms: c.duration_ms, outcome: c.outcome, client: c.client_name ?? c.client_id, error: c.error }));
  return { ...s, recent_calls: recent, ...audit };
}

/** Reads the audit view, or undefined when the database is missing or unreadable (the live part still shows). */
function tryAuditView(db: Database | undefined, now: number): AuditView | undefined {
  try {
    return db && readAuditView(db, now);
  } catch {
    return undefined;
  }
}

async function status(o: { config?: string; json?: boolean; interval: string }, ctx: CliContext): Promise<number> {
  const loaded = loadCliConfig(o.config, ctx.deps().env, ctx.io);
  if (!loaded.ok) return loaded.code;
  const dataDir = loaded.config.data_dir;
  const first = (await adminRequest(dataDir, '/status')) as GatewaySnapshot | undefined;
  if (!first) {
    printError(ctx.io, `the gateway is not running (no answer on ${dataDir}/mcpgw.sock)`, `mcpgw serve --config ${loaded.path}`);
    return 1;
  }
  if (o.json) {
    ctx.io.out(JSON.stringify(first, null, 2));
    return 0;
  }
  // ink and react load only here: `serve` and the other commands never pay for them (issue 7 item 12).
  const { renderStatusText, runStatusApp } = await import('../src/tui/StatusApp.tsx');
  const path = databasePath(dataDir);
  const db = existsSync(path) ? openStore(path) : undefined;
  const clock = ctx.deps().clock;
  try {
    if (!ctx.io.isTTY) {
      ctx.io.out(renderStatusText(toStatusSnapshot(first, tryAuditView(db, clock.now()))));
      return 0;
    }
    const load = async () => {
      const s = (await adminRequest(dataDir, '/status')) as GatewaySnapshot | undefined;
      return s && toStatusSnapshot(s, tryAuditView(db, clock.now()));
    };
    await runStatusApp({ load, intervalMs: Math.max(250, Number(o.interval) || 1000), color: ctx.io.color });
    return 0;
  } finally {
    db?.close();
  }
}

/** Registers `mcpgw status`. */
export function registerStatus(program: Command, ctx: CliContext): void {
  program
    .command('status')
    .description('Show the running gateway: backends, recent calls, backend history and sign-in attempts')
    .option('-c, --config <file>', 'config file')
    .option('--json', 'print one snapshot: {version,uptime_s,sessions,calls_per_minute,backends[],recent_calls[]}')
    .option('--interval <ms>', 'refresh interval of the live view', '1000')
    .addHelpText('after', '\nExamples:\n  mcpgw status            live view on a terminal (q quits)\n  mcpgw status --json     one snapshot for scripts')
    .action((o) => runAction(ctx, () => status(o, ctx)));
}
