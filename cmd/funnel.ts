/**
 * @module `mcpgw funnel on|off|status`: puts the listener on the public internet with Tailscale Funnel by running the
 * real `tailscale` CLI (1.52+ syntax: `tailscale funnel --bg <port>`, `tailscale funnel --https=443 off`,
 * `tailscale funnel status --json`, `tailscale status --json`).
 */
import { Argument, type Command } from 'commander';
import { editConfigFile, setValue } from '../src/config/edit.ts';
import { parseListen, type Config } from '../src/config/schema.ts';
import type { Child, Deps } from '../src/deps.ts';
import { errorMessage } from '../src/errors.ts';
import { adminRequest } from '../src/http/admin.ts';
import { loadCliConfig } from './config.ts';
import type { CliContext } from './context.ts';
import { printError, type CliIo } from './io.ts';
import { checkThroughFunnel, reportChecks } from './funnel-check.ts';
import { confirm, ok, processInput, PromptInterrupted, type PromptInput } from './passwd.ts';

/** The stable `--json` shape: whether the funnel is on for port 443, its public base URL and the local target it proxies to. */
export interface FunnelSummary {
  enabled: boolean;
  url: string | null;
  target: string | null;
}

/** A known failure: what went wrong, the next step, and the exit code. */
export interface Failure {
  error: string;
  hint: string;
  code: 1 | 2;
}

/** The parts of `tailscale status --json` (ipnstate.Status) that funnel needs. */
export interface TailscaleStatus {
  BackendState?: string;
  AuthURL?: string;
  Self?: { DNSName?: string; Capabilities?: string[] | null; CapMap?: Record<string, unknown> | null } | null;
}

const FUNNEL_PORTS_CAP = 'https://tailscale.com/cap/funnel-ports';
const ADMIN_DNS = 'https://login.tailscale.com/admin/dns';

const fail = (error: string, hint: string, code: 1 | 2 = 1): Failure => ({ error, hint, code });

/**
 * Maps the tailscale CLI's own messages (cmd/tailscale/cli and ipn/serve.go) to an error with a next step;
 * undefined for output it does not know.
 */
export function classifyTailscaleOutput(output: string, retry: string): Failure | undefined {
  const loginUrl = /Log in at: (\S+)/.exec(output)?.[1];
  const table: [RegExp, () => Failure][] = [
    [/failed to connect to local (tailscaled|Tailscale)/i, () => fail('tailscaled is not running', 'start it: sudo systemctl enable --now tailscaled')],
    [/Logged out\./, () => fail('tailscale is not logged in', loginUrl ? `log in at ${loginUrl} (or run: sudo tailscale up), then ${retry}` : `log in: sudo tailscale up, then ${retry}`)],
    [/Tailscale is stopped\./, () => fail('tailscale is stopped', `start it: sudo tailscale up, then ${retry}`)],
    [/Machine is not yet (approved|authorized) by tailnet admin/, () => fail('this machine is waiting for approval by a tailnet admin', 'approve it at https://login.tailscale.com/admin/machines')],
    [/HTTPS must be enabled/, () => httpsFailure(retry)],
    [/"funnel" node attribute not set/, () => policyFailure(retry)],
    [/port \d+ is not allowed for funnel/, () => fail(`the tailnet policy does not allow Funnel on port 443 (${/allowed ports are: (\S+)/.exec(output)?.[1] ?? 'no ports allowed'})`, 'allow port 443 in the funnel nodeAttrs of the tailnet policy: https://login.tailscale.com/admin/acls')],
    [/Access denied/, () => fail('tailscale refused: this user may not change the serve config', `allow it once with: sudo tailscale set --operator=$USER, then ${retry}`)],
    [/flag provided but not defined: -(bg|https)/, () => fail('this tailscale is too old for `tailscale funnel --bg` (1.52 or newer is needed)', 'update it: https://tailscale.com/download')],
  ];
  return table.find(([re]) => re.test(output))?.[1]();
}

function httpsFailure(retry: string): Failure {
  return fail('HTTPS certificates are not enabled for this tailnet (Funnel needs them)', `enable HTTPS at ${ADMIN_DNS} (https://tailscale.com/s/https), then ${retry}`);
}

function policyFailure(retry: string): Failure {
  return fail(
    'Funnel is not allowed for this machine by the tailnet policy',
    `add a nodeAttrs entry with "attr": ["funnel"] for it at https://login.tailscale.com/admin/acls (https://tailscale.com/s/no-funnel), or run 'tailscale funnel' once to enable it interactively; then ${retry}`,
  );
}

function hasCap(self: NonNullable<TailscaleStatus['Self']>, cap: string): boolean {
  return Boolean(self.Capabilities?.includes(cap)) || Object.hasOwn(self.CapMap ?? {}, cap);
}

/** Whether port 443 is in the node's funnel-ports capability (`…/funnel-ports?ports=443,8443,10000`, ranges `a-b`); true when absent. */
function funnelPortAllowed(self: NonNullable<TailscaleStatus['Self']>, port: number): boolean {
  const caps = [...(self.Capabilities ?? []), ...Object.keys(self.CapMap ?? {})].filter((c) => c.startsWith(FUNNEL_PORTS_CAP));
  if (caps.length === 0) return true;
  const ports = caps.flatMap((c) => (URL.canParse(c) ? (new URL(c).searchParams.get('ports') ?? '').split(',') : []));
  return ports.some((p) => {
    const [a, b] = p.split('-').map(Number);
    return b === undefined ? a === port : port >= a && port <= b;
  });
}

/** Checks `tailscale status --json` before turning Funnel on: running, logged in, a DNS name, HTTPS and funnel allowed. */
export function checkTailscaleStatus(st: TailscaleStatus, retry: string): Failure | { dnsName: string } {
  const state = st.BackendState ?? '';
  if (state === 'NeedsLogin') return classifyTailscaleOutput(`Logged out.${st.AuthURL ? `\nLog in at: ${st.AuthURL}` : ''}`, retry)!;
  if (state === 'Stopped') return classifyTailscaleOutput('Tailscale is stopped.', retry)!;
  if (state === 'NeedsMachineAuth') return classifyTailscaleOutput('Machine is not yet approved by tailnet admin.', retry)!;
  if (state !== 'Running' && state !== 'Starting') return fail(`tailscale is not running (state: ${state || 'unknown'})`, `check 'tailscale status', then ${retry}`);
  const self = st.Self;
  const dnsName = (self?.DNSName ?? '').replace(/\.$/, '');
  if (!self || !dnsName) return fail('tailscale reports no DNS name for this machine', `enable MagicDNS at ${ADMIN_DNS}, then ${retry}`);
  // Only judge capabilities when the status lists them; an unknown shape is left to `tailscale funnel` itself.
  if (self.Capabilities != null || self.CapMap != null) {
    if (!hasCap(self, 'https')) return httpsFailure(retry);
    if (!hasCap(self, 'funnel')) return policyFailure(retry);
    if (!funnelPortAllowed(self, 443)) return classifyTailscaleOutput('port 443 is not allowed for funnel', retry)!;
  }
  return { dnsName };
}

type ServeConfig = {
  AllowFunnel?: Record<string, boolean> | null;
  Web?: Record<string, { Handlers?: Record<string, { Proxy?: string }> | null }> | null;
} | null;

/** Summarizes `tailscale funnel status --json` (an ipn.ServeConfig, or null) for port 443. */
export function summarizeServeConfig(sc: ServeConfig): FunnelSummary {
  const hostPort = Object.entries(sc?.AllowFunnel ?? {}).find(([hp, on]) => on && hp.endsWith(':443'))?.[0];
  if (!hostPort) return { enabled: false, url: null, target: null };
  const host = hostPort.slice(0, -':443'.length);
  return { enabled: true, url: `https://${host}`, target: sc?.Web?.[hostPort]?.Handlers?.['/']?.Proxy ?? null };
}

/** What `tailscale funnel --bg` proxies to: the bare port (tailscale expands it to http://127.0.0.1:<port>) unless the gateway listens elsewhere. */
export function funnelTarget(listen: string): string {
  const { host, port } = parseListen(listen);
  if (['127.0.0.1', 'localhost', '0.0.0.0', '::', ''].includes(host)) return String(port);
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** Whether a funnel's proxy target is this gateway's listener. */
export function targetsListener(target: string | null, listen: string): boolean {
  if (!target || !URL.canParse(target)) return false;
  const expected = funnelTarget(listen);
  const url = new URL(target);
  if (/^\d+$/.test(expected)) return url.port === expected && ['127.0.0.1', 'localhost'].includes(url.hostname);
  return url.origin === new URL(expected).origin;
}

// ---------------------------------------------------------------------------------------------------------------
// Running tailscale

interface ToolResult {
  code: number | null;
  output: string;
  stdout: string;
  notFound?: boolean;
  timedOut?: boolean;
}

/** Runs `tailscale <args>` found on the injected environment's PATH; never throws for a failing or missing program. */
function runTailscale(deps: Deps, args: string[], timeoutMs = 30_000): Promise<ToolResult> {
  const path = Bun.which('tailscale', { PATH: deps.env.PATH ?? '' });
  if (!path) return Promise.resolve({ code: null, output: '', stdout: '', notFound: true });
  let child: Child;
  try {
    child = deps.spawn([path, ...args], { stdin: 'ignore', env: { ...deps.env } });
  } catch (err) {
    return Promise.resolve({ code: null, output: errorMessage(err), stdout: '', notFound: (err as { code?: unknown }).code === 'ENOENT' });
  }
  let timedOut = false;
  // `tailscale funnel` can block waiting for someone to enable Funnel in a browser; do not hang with it.
  const timer = setTimeout(() => ((timedOut = true), child.kill('SIGTERM')), timeoutMs);
  return Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]).then(([stdout, stderr, exitCode]) => {
    clearTimeout(timer);
    const code = child.signalCode ? null : exitCode;
    return { code, output: `${stderr}\n${stdout}`.trim(), stdout, timedOut };
  });
}

const NOT_INSTALLED = fail("tailscale is not installed (no 'tailscale' on PATH)", 'install it (https://tailscale.com/download, Debian: curl -fsSL https://tailscale.com/install.sh | sh), then run: sudo tailscale up');

/** A failed run as a Failure: known texts get their own message; otherwise the command and tailscale's first line. */
function toolFailure(r: ToolResult, args: string[], retry: string): Failure {
  if (r.notFound) return NOT_INSTALLED;
  const known = classifyTailscaleOutput(r.output, retry);
  if (known) return known;
  const cmd = `tailscale ${args.join(' ')}`;
  if (r.timedOut) return fail(`${cmd} did not finish`, `it may be waiting for Funnel to be enabled in a browser: run '${cmd}' yourself, then ${retry}`);
  const first = r.output.split('\n').find((l) => l.trim()) ?? `exit code ${r.code}`;
  return fail(`${cmd} failed: ${first.trim()}`, `run '${cmd}' yourself to see all of its output`);
}

async function readStatus(deps: Deps, retry: string): Promise<Failure | { dnsName: string }> {
  const args = ['status', '--json'];
  const r = await runTailscale(deps, args);
  if (r.code !== 0) return toolFailure(r, args, retry);
  try {
    return checkTailscaleStatus(JSON.parse(r.stdout) as TailscaleStatus, retry);
  } catch {
    return classifyTailscaleOutput(r.output, retry) ?? fail('tailscale status --json printed something that is not JSON', "run 'tailscale status' to see what is wrong");
  }
}

async function readFunnel(deps: Deps, retry: string): Promise<Failure | FunnelSummary> {
  const args = ['funnel', 'status', '--json'];
  const r = await runTailscale(deps, args);
  if (r.code !== 0) return toolFailure(r, args, retry);
  const text = r.stdout.trim();
  if (text === '' || text === 'No serve config') return summarizeServeConfig(null);
  try {
    return summarizeServeConfig(JSON.parse(text) as ServeConfig);
  } catch {
    return fail('tailscale funnel status --json printed something that is not JSON', "run 'tailscale funnel status' to see what is wrong");
  }
}

const isFailure = (x: object): x is Failure => 'error' in x && 'hint' in x;

// ---------------------------------------------------------------------------------------------------------------
// Actions

interface FunnelOptions {
  config?: string;
  yes?: boolean;
  json?: boolean;
}

function report(io: CliIo, f: Failure): number {
  printError(io, f.error, f.hint);
  return f.code;
}

/** Whether `public_url` may become `url`: already is, --yes, or "y" on a terminal; otherwise the exit code (nothing changed). */
async function mayChangePublicUrl(config: Config, path: string, url: string, opts: FunnelOptions, io: CliIo, input: PromptInput): Promise<true | number> {
  if (config.public_url === url || opts.yes) return true;
  if (!input.isTTY) {
    // issue 8 finding 4: a funnel without public_url leaves /mcp refusing the funnel's host; change both or neither.
    printError(io, `the funnel needs public_url: ${url} in ${path}; not turning it on without --yes`, `mcpgw funnel on --yes${opts.config ? ` --config ${path}` : ''}`);
    return 2;
  }
  if (await confirm(input, `Set public_url to ${url} in ${path}?`)) return true;
  io.err(`nothing changed: without public_url: ${url}, clients cannot sign in through the funnel`);
  return 1;
}

async function funnelOn(config: Config, path: string, opts: FunnelOptions, ctx: CliContext, input: PromptInput): Promise<number> {
  const { io } = ctx;
  if (config.auth.mode === 'none') {
    return report(io, fail('refusing to put a gateway without authentication on the internet (auth.mode is none)', "set 'auth: { mode: oauth }' and run 'mcpgw passwd', then 'mcpgw funnel on'", 2));
  }
  const { port } = parseListen(config.listen);
  if (port === 0) return report(io, fail(`listen ${config.listen} has no fixed port to funnel to`, 'set listen to a fixed port, e.g. 127.0.0.1:4444', 2));
  const deps = ctx.deps();
  const retry = "run 'mcpgw funnel on' again";
  const status = await readStatus(deps, retry);
  if (isFailure(status)) return report(io, status);
  const may = await mayChangePublicUrl(config, path, `https://${status.dnsName}`, opts, io, input);
  if (may !== true) return may;
  const target = funnelTarget(config.listen);
  const existing = await readFunnel(deps, retry);
  if (isFailure(existing)) return report(io, existing);
  if (existing.enabled && !targetsListener(existing.target, config.listen)) {
    // `tailscale funnel --bg` would silently replace whatever else this machine publishes on :443.
    return report(io, fail(`the funnel on ${existing.url} already serves ${existing.target ?? 'something else'}, not this gateway (${config.listen})`, "turn it off first with: tailscale funnel --https=443 off"));
  }
  const args = ['funnel', '--bg', target];
  const run = await runTailscale(deps, args, 60_000);
  if (run.code !== 0) return report(io, toolFailure(run, args, retry));
  const summary = await readFunnel(deps, retry);
  if (isFailure(summary)) return report(io, summary);
  if (!summary.enabled) {
    // tailscale exits 0 after printing an "enable Funnel" link when the tailnet has not enabled it yet.
    printError(io, 'tailscale did not turn Funnel on');
    for (const line of run.output.split('\n').filter((l) => l.trim())) io.err(`  tailscale: ${line.trim()}`);
    io.err(`hint: follow the link tailscale printed above (if any), or run 'tailscale ${args.join(' ')}' yourself; then ${retry}`);
    return 1;
  }
  const url = summary.url ?? `https://${status.dnsName}`;
  io.err(ok(io, `funnel on: ${url} -> ${summary.target ?? target}`));
  io.out(opts.json ? JSON.stringify(summary) : `${url}/mcp`);
  if (!(await setPublicUrl(config, path, url, io))) return 1;
  reportChecks(io, await checkThroughFunnel(deps, url), config.listen);
  return 0;
}

/** Writes public_url and has the running gateway reload, so the funnel's host is allowed without a restart. */
async function setPublicUrl(config: Config, path: string, url: string, io: CliIo): Promise<boolean> {
  if (config.public_url === url) {
    io.err(ok(io, `public_url is ${url}`));
    return true;
  }
  try {
    editConfigFile(path, (doc) => setValue(doc, ['public_url'], url));
  } catch (err) {
    printError(io, `cannot update ${path}: ${errorMessage(err)}`, `set 'public_url: ${url}' by hand`);
    return false;
  }
  const live = await adminRequest(config.data_dir, '/reload', 'POST');
  io.err(ok(io, `public_url set to ${url} in ${path}${live ? '; the running gateway uses it now' : "; 'mcpgw serve' uses it when it starts"}`));
  return true;
}

async function funnelOff(config: Config, opts: FunnelOptions, ctx: CliContext): Promise<number> {
  const { io } = ctx;
  const deps = ctx.deps();
  const retry = "run 'mcpgw funnel off' again";
  const before = await readFunnel(deps, retry);
  if (isFailure(before)) return report(io, before);
  if (!before.enabled) {
    io.err(ok(io, 'funnel is already off'));
    if (opts.json) io.out(JSON.stringify(before));
    return 0;
  }
  if (!targetsListener(before.target, config.listen)) {
    return report(io, fail(`the funnel on ${before.url} serves ${before.target ?? 'something else'}, not this gateway (${config.listen}); leaving it alone`, "turn it off anyway with: tailscale funnel --https=443 off"));
  }
  // The command tailscale itself prints after `funnel --bg` ("To disable the proxy, run: …").
  const args = ['funnel', '--https=443', 'off'];
  const run = await runTailscale(deps, args);
  if (run.code !== 0) return report(io, toolFailure(run, args, retry));
  const after = await readFunnel(deps, retry);
  if (isFailure(after)) return report(io, after);
  if (after.enabled) return report(io, fail('tailscale did not turn the funnel off', `run 'tailscale ${args.join(' ')}' yourself to see why`));
  io.err(ok(io, `funnel off: ${before.url} no longer reaches this gateway`));
  if (opts.json) io.out(JSON.stringify(after));
  return 0;
}

async function funnelStatus(config: Config, opts: FunnelOptions, ctx: CliContext): Promise<number> {
  const { io } = ctx;
  const summary = await readFunnel(ctx.deps(), "run 'mcpgw funnel status' again");
  if (isFailure(summary)) return report(io, summary);
  const ours = summary.enabled && targetsListener(summary.target, config.listen);
  // Only a funnel to this gateway is checked: what claude.ai fetches, through the public URL.
  const checks = ours && summary.url ? await checkThroughFunnel(ctx.deps(), summary.url) : undefined;
  if (opts.json) io.out(JSON.stringify(checks ? { ...summary, checks: Object.fromEntries(checks.map((c) => [c.name, c.ok])) } : summary));
  else io.out(summary.enabled ? `${ok(io, 'on')}  ${summary.url}/mcp -> ${summary.target ?? '?'}` : '○ off');
  if (summary.enabled && !ours) io.err(`warning: the funnel serves ${summary.target ?? 'something else'}, not this gateway (${config.listen})`);
  if (checks) {
    reportChecks(io, checks, config.listen);
    if (config.public_url !== summary.url) io.err(`warning: public_url is ${config.public_url}, not ${summary.url}; fix it with: mcpgw funnel on --yes`);
  }
  if (!summary.enabled && !opts.json) io.err("hint: 'mcpgw funnel on' puts this gateway on the internet");
  return 0;
}

/** Registers `mcpgw funnel [on|off|status]`; `input` answers the public_url question (tests pass a scripted one). */
export function registerFunnel(program: Command, ctx: CliContext, input: PromptInput = processInput()): void {
  program
    .command('funnel')
    .description('Put the gateway on the internet with Tailscale Funnel, or show or stop that')
    .addArgument(new Argument('[action]', 'on, off or status').choices(['on', 'off', 'status']).default('status'))
    .option('-c, --config <file>', 'config file (default: $MCPGW_CONFIG, ./gateway.yaml, …)')
    .option('-y, --yes', 'set public_url to the funnel URL without asking (needed without a terminal)')
    .option('--json', 'print {"enabled": bool, "url": "https://<name>" | null, "target": "http://127.0.0.1:<port>" | null}; status adds "checks": {protected_resource, authorization_server, mcp_challenge}')
    .addHelpText(
      'after',
      `
'on' sets public_url to the funnel URL (asks on a terminal; needs --yes otherwise, or changes nothing),
runs 'tailscale funnel --bg <listen port>' (public HTTPS on port 443), prints the connector URL
(https://<machine>.<tailnet>.ts.net/mcp) on stdout, has the running gateway reload (no restart), and
fetches through the funnel what claude.ai fetches: the protected-resource and authorization-server
metadata and a 401 from /mcp naming resource_metadata. 'status' repeats that check.
'off' runs 'tailscale funnel --https=443 off'. A gateway with auth.mode none is never funneled.

Examples:
  mcpgw funnel on
  sudo mcpgw funnel on --yes --config /etc/mcpgw/gateway.yaml
  mcpgw funnel status --json
  mcpgw funnel off`,
    )
    .action(async (action: 'on' | 'off' | 'status', opts: FunnelOptions) => {
      const loaded = loadCliConfig(opts.config, ctx.deps().env, ctx.io);
      if (!loaded.ok) return void (ctx.result.code = loaded.code);
      try {
        if (action === 'on') ctx.result.code = await funnelOn(loaded.config, loaded.path, opts, ctx, input);
        else if (action === 'off') ctx.result.code = await funnelOff(loaded.config, opts, ctx);
        else ctx.result.code = await funnelStatus(loaded.config, opts, ctx);
      } catch (err) {
        if (!(err instanceof PromptInterrupted)) throw err;
        ctx.result.code = 130;
      }
    });
}
