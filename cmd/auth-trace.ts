/** @module `mcpgw auth trace`: each connector sign-in attempt as steps with time and HTTP status, and why a failed one failed. */
import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { parseDuration } from '../src/config/duration.ts';
import { databasePath } from '../src/gateway.ts';
import { attemptMatches, buildTrace, DEFAULT_ABANDON_MS, type TraceAttempt, type TraceStep } from '../src/oauth/trace.ts';
import { queryAudit } from '../src/store/audit.ts';
import { openStore, type Database } from '../src/store/db.ts';
import { loadCliConfig } from './config.ts';
import { runAction, type CliContext } from './context.ts';
import { printError, truncateText, type CliIo } from './io.ts';
import { parseSince } from './logs.ts';

interface TraceOptions {
  config?: string;
  client?: string;
  since: string;
  follow?: boolean;
  json?: boolean;
  limit: string;
  abandon: string;
  interval: string;
}

const STEP_LABEL: Record<TraceStep['step'], string> = {
  challenge: '401 challenge',
  resource_metadata: 'resource metadata',
  server_metadata: 'server metadata',
  registration: 'registration',
  authorize: 'authorize',
  consent: 'consent',
  token: 'token',
  first_call: 'first MCP call',
};

function clock(iso: string): string {
  return iso.slice(11, 19);
}

/** An attempt as text: a header line, one line per step, and the verdict. Pure. */
export function attemptLines(a: TraceAttempt): string[] {
  const who = a.client_name && a.client_id ? `${a.client_name} (${a.client_id})` : (a.client_name ?? a.client_id ?? 'unknown client');
  const from = [a.ip && `from ${a.ip}`, a.user_agent && `"${truncateText(a.user_agent, 60)}"`].filter(Boolean).join(' ');
  const lines = [`sign-in attempt ${a.started.slice(0, 19).replace('T', ' ')}  ${who}${from ? `  ${from}` : ''}`];
  for (const s of a.steps) {
    const status = s.status === null ? '  -' : String(s.status);
    const mark = s.ok ? '✓' : '✗';
    const repeated = s.repeated > 0 ? ` (and ${s.repeated} more like it)` : '';
    lines.push(`  ${clock(s.time)}  ${status}  ${mark} ${STEP_LABEL[s.step].padEnd(17)}  ${s.summary}${s.reason ? `: ${s.reason}` : ''}${repeated}`);
  }
  if (a.status === 'succeeded') lines.push('  ✓ signed in');
  else if (a.status === 'failed') lines.push(`  ✗ failed: ${a.reason}`);
  else lines.push('  … in progress');
  return lines;
}

function printAttempts(io: CliIo, attempts: TraceAttempt[], json: boolean): void {
  for (const a of attempts) {
    if (json) io.out(JSON.stringify(a));
    else io.out([...attemptLines(a), ''].join('\n'));
  }
}

interface Plan {
  since: number;
  limit: number;
  abandonMs: number;
  intervalMs: number;
}

function plan(o: TraceOptions, now: number, io: CliIo): Plan | undefined {
  const since = parseSince(o.since, now);
  if (since === undefined) {
    printError(io, `--since must be a duration like 1h or 7d, or an ISO time like 2026-01-31T12:00:00Z; got '${o.since}'`);
    return undefined;
  }
  const limit = Number(o.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) {
    printError(io, `--limit must be a whole number from 1 to 10000; got '${o.limit}'`);
    return undefined;
  }
  const abandonMs = parseDuration(o.abandon);
  if (abandonMs === undefined || abandonMs <= 0) {
    printError(io, `--abandon must be a duration like 5m; got '${o.abandon}'`);
    return undefined;
  }
  return { since, limit, abandonMs, intervalMs: Math.max(100, Number(o.interval) || 1000) };
}

function attemptsNow(db: Database, p: Plan, o: TraceOptions, now: number): TraceAttempt[] {
  const rows = queryAudit(db, { since: p.since, kinds: ['auth'], limit: 100_000 });
  const all = buildTrace(rows, { now, abandonMs: p.abandonMs });
  return o.client === undefined ? all : all.filter((a) => attemptMatches(a, o.client!));
}

/** Resolves after `ms`, or at once when `signal` aborts. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    if (signal.aborted) return done();
    signal.addEventListener('abort', done, { once: true });
  });
}

/** Prints attempts that are new or changed (another step, another verdict) since the last poll, until Ctrl-C. */
async function follow(db: Database, p: Plan, o: TraceOptions, ctx: CliContext, shown: Map<number, string>): Promise<void> {
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    while (!stop.signal.aborted) {
      await pause(p.intervalMs, stop.signal);
      if (stop.signal.aborted) break;
      const changed = attemptsNow(db, p, o, ctx.deps().clock.now()).filter((a) => shown.get(a.id) !== `${a.steps.length}:${a.status}`);
      for (const a of changed) shown.set(a.id, `${a.steps.length}:${a.status}`);
      printAttempts(ctx.io, changed, Boolean(o.json));
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

async function trace(o: TraceOptions, ctx: CliContext): Promise<number> {
  const deps = ctx.deps();
  const p = plan(o, deps.clock.now(), ctx.io);
  if (!p) return 2;
  const loaded = loadCliConfig(o.config, deps.env, ctx.io);
  if (!loaded.ok) return loaded.code;
  const path = databasePath(loaded.config.data_dir);
  if (!existsSync(path)) {
    printError(ctx.io, `no sign-in attempts recorded yet: ${path} does not exist`, `mcpgw serve --config ${loaded.path}`);
    return 1;
  }
  const db = openStore(path);
  try {
    const attempts = attemptsNow(db, p, o, deps.clock.now()).slice(-p.limit);
    printAttempts(ctx.io, attempts, Boolean(o.json));
    if (!o.follow) {
      if (attempts.length === 0) ctx.io.err(`no sign-in attempts${o.client === undefined ? '' : ` of ${o.client}`} since ${new Date(p.since).toISOString()}`);
      return 0;
    }
    await follow(db, p, o, ctx, new Map(attempts.map((a) => [a.id, `${a.steps.length}:${a.status}`])));
    return 0;
  } finally {
    db.close();
  }
}

/** Registers `mcpgw auth trace` under the `auth` command. */
export function registerAuthTrace(auth: Command, ctx: CliContext): void {
  auth
    .command('trace')
    .description('Show each connector sign-in attempt step by step, and why a failed one failed')
    .option('-c, --config <file>', 'config file')
    .option('--client <id-or-name>', 'only this client (client id, client name or grant id)')
    .option('--since <when>', 'attempts since a duration ago (1h, 7d) or an ISO time', '24h')
    .option('-f, --follow', 'keep printing attempts as they gain steps (Ctrl-C ends it)')
    .option('--json', 'one JSON object per attempt per line: {id,client_id,client_name,grant_id,ip,user_agent,started,ended,status,reason,steps:[{time,step,event,summary,status,ok,reason,repeated}]}')
    .option('-n, --limit <n>', 'print at most the newest n attempts', '20')
    .option('--abandon <duration>', 'an unfinished attempt silent this long has failed ("never came back")', `${DEFAULT_ABANDON_MS / 60000}m`)
    .option('--interval <ms>', 'how often --follow looks for new steps', '1000')
    .addHelpText(
      'after',
      `
Examples:
  mcpgw auth trace                         the last day's sign-in attempts
  mcpgw auth trace --client Claude --follow   watch a connector sign in
  mcpgw auth trace --since 1h --json | jq 'select(.status == "failed") | .reason'

Steps: 401 challenge on /mcp -> protected-resource metadata -> authorization-server metadata ->
registration (or client metadata document) -> /authorize -> consent -> /token -> first MCP call.
A failed attempt names why, e.g. "redirect URI https://x/cb is not registered for this client",
"PKCE verifier does not match the challenge", "the client never came back after the 401".
The 401 and metadata steps are recorded at most once per address per 10 s (repeats are counted).`,
    )
    .action((o: TraceOptions) => runAction(ctx, () => trace(o, ctx)));
}
