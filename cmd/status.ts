/** @module `mcpgw status`: a live dashboard on a TTY; one snapshot (text, or --json) otherwise. */
import type { Command } from 'commander';
import { adminRequest } from '../src/http/admin.ts';
import type { GatewaySnapshot } from '../src/gateway.ts';
import type { StatusSnapshot } from '../src/tui/events.ts';
import { loadCliConfig } from './config.ts';
import { runAction, type CliContext } from './context.ts';
import { printError } from './io.ts';

/** The dashboard's view of a gateway snapshot (call times shown as HH:MM:SS). */
export function toStatusSnapshot(s: GatewaySnapshot): StatusSnapshot {
  return { ...s, recent_calls: s.recent_calls.map((c) => ({ ...c, time: c.time.slice(11, 19) })) };
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
  if (!ctx.io.isTTY) {
    ctx.io.out(renderStatusText(toStatusSnapshot(first)));
    return 0;
  }
  const load = async () => {
    const s = (await adminRequest(dataDir, '/status')) as GatewaySnapshot | undefined;
    return s && toStatusSnapshot(s);
  };
  await runStatusApp({ load, intervalMs: Math.max(250, Number(o.interval) || 1000), color: ctx.io.color });
  return 0;
}

/** Registers `mcpgw status`. */
export function registerStatus(program: Command, ctx: CliContext): void {
  program
    .command('status')
    .description('Show the running gateway: backends, clients, calls per minute and recent calls')
    .option('-c, --config <file>', 'config file')
    .option('--json', 'print one snapshot: {version,uptime_s,sessions,calls_per_minute,backends[],recent_calls[]}')
    .option('--interval <ms>', 'refresh interval of the live view', '1000')
    .addHelpText('after', '\nExamples:\n  mcpgw status            live view on a terminal (q quits)\n  mcpgw status --json     one snapshot for scripts')
    .action((o) => runAction(ctx, () => status(o, ctx)));
}
