/** @module `mcpgw doctor`: every check between "installed" and "claude.ai can use it", each with ✓/✗ and the command that fixes it (issue 9 item 3). */
import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { parseDuration } from '../src/config/duration.ts';
import { findConfigPath } from '../src/config/find.ts';
import { formatIssue, parseConfigText } from '../src/config/load.ts';
import type { Config } from '../src/config/schema.ts';
import { errorMessage } from '../src/errors.ts';
import type { CliContext } from './context.ts';
import { runAction } from './context.ts';
import { printError, type CliIo } from './io.ts';
import {
  checkBackends,
  checkClock,
  checkDatabase,
  checkDataDir,
  checkGateway,
  checkPassword,
  checkPublicUrl,
  serviceAccount,
  unitCandidates,
  type DoctorCheck,
} from './doctor-checks.ts';

interface DoctorOptions {
  config?: string;
  json?: boolean;
  timeout: string;
  timeUrl: string[];
}

/** Where the clock is compared by default: the service claude.ai users reach, and public_url when it is another machine's. */
export const DEFAULT_TIME_URLS = ['https://claude.ai'];

/** Finds, reads and validates the config; the failure names the YAML path and line of every problem. */
function checkConfig(flag: string | undefined, env: Readonly<Record<string, string | undefined>>): { check: DoctorCheck; config?: Config; path?: string } {
  const found = findConfigPath({ flag, env, cwd: process.cwd() });
  if (!('path' in found)) return { check: { id: 'config', ok: false, title: 'config', detail: found.error, hint: found.hint } };
  const path = found.path;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as { code?: string }).code ?? errorMessage(err);
    return { check: { id: 'config', ok: false, title: 'config', detail: `cannot read ${path}: ${code}`, hint: `ls -l ${path}` } };
  }
  const parsed = parseConfigText(text, path, env);
  if (!parsed.ok) {
    const detail = `${path}: ${parsed.issues.map((i) => formatIssue(i, path)).join('; ')}`;
    return { check: { id: 'config', ok: false, title: 'config', detail, hint: `edit ${path} (every key is documented in gateway.example.yaml)` }, path };
  }
  return { check: { id: 'config', ok: true, title: 'config', detail: `${path} is valid`, hint: null }, config: parsed.config, path };
}

/** Runs every check; the config must be valid for the others to run. */
export async function runDoctor(o: DoctorOptions, ctx: CliContext): Promise<DoctorCheck[]> {
  const deps = ctx.deps();
  const { check, config, path } = checkConfig(o.config, deps.env);
  if (!config || !path) return [check];
  const timeoutMs = parseDuration(o.timeout) ?? 15_000;
  const account = serviceAccount(path, unitCandidates(deps.env));
  const timeUrls = o.timeUrl.length > 0 ? o.timeUrl : DEFAULT_TIME_URLS;
  const [gateway, backends, clock] = await Promise.all([
    checkGateway(config, path, account),
    checkBackends(config, path, deps, timeoutMs),
    checkClock(config, deps, timeUrls, Math.min(timeoutMs, 5_000)),
  ]);
  const publicUrl = await checkPublicUrl(config, deps, gateway.ok);
  return [check, checkDataDir(config.data_dir, account), checkDatabase(config.data_dir, account), gateway, checkPassword(config, path), ...backends, publicUrl, clock];
}

/** Prints one line per check (`✓`/`✗` and a word), the hint under each failure, on stdout. */
export function printChecks(io: CliIo, checks: DoctorCheck[]): void {
  const paint = (code: number, s: string) => (io.color ? `\u001b[${code}m${s}\u001b[0m` : s);
  const width = Math.max(...checks.map((c) => c.title.length));
  for (const c of checks) {
    const mark = c.ok ? paint(32, '✓ ok    ') : paint(31, '✗ failed');
    io.out(`${mark}  ${c.title.padEnd(width)}  ${c.detail}`);
    if (c.hint) io.out(`${' '.repeat(10 + width)}  hint: ${c.hint}`);
  }
}

/** Registers `mcpgw doctor`. */
export function registerDoctor(program: Command, ctx: CliContext): void {
  program
    .command('doctor')
    .description('Check config, data_dir, the running gateway, password, backends, public_url and clock, with a fix for each')
    .option('-c, --config <file>', 'config file (default: $MCPGW_CONFIG, ./gateway.yaml, …)')
    .option('--json', 'print {"checks":[{id,ok,title,detail,hint}]} on stdout')
    .option('--timeout <duration>', 'how long each backend and URL may take', '15s')
    .option('--time-url <url>', `compare the clock with this server's Date header (repeatable; default ${DEFAULT_TIME_URLS.join(', ')})`, (v: string, acc: string[]) => [...acc, v], [])
    .addHelpText(
      'after',
      `
Exit code: 0 when every check passes, 1 when any fails, 2 for bad usage.
Check ids in --json: config, data_dir, database, gateway, password, backend:<name>, public_url, clock.

Examples:
  mcpgw doctor
  sudo -u mcpgw mcpgw doctor --config /etc/mcpgw/gateway.yaml
  mcpgw doctor --json | jq '.checks[] | select(.ok | not)'`,
    )
    .action((o: DoctorOptions) =>
      runAction(ctx, async () => {
        if (parseDuration(o.timeout) === undefined) {
          printError(ctx.io, `--timeout: '${o.timeout}' is not a duration like 10s or 1m`);
          return 2;
        }
        const checks = await runDoctor(o, ctx);
        if (o.json) ctx.io.out(JSON.stringify({ checks }, null, 2));
        else printChecks(ctx.io, checks);
        const failed = checks.filter((c) => !c.ok).length;
        ctx.io.err(failed === 0 ? `all ${checks.length} checks passed` : `${failed} of ${checks.length} checks failed`);
        return checks.every((c) => c.ok) ? 0 : 1;
      }),
    );
}
