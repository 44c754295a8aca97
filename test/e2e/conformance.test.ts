/**
 * The official MCP conformance suite (`@modelcontextprotocol/conformance`, default server suite)
 * against the suite's reference everything-server alone and behind the compiled mcpgw (auth none,
 * Streamable HTTP backend, `prefix: false`): every scenario that passes alone must pass through
 * mcpgw. Issue 7 fault 11 / "What to build" item 10: "Conformance through mcpgw in front of one
 * unprefixed backend equals the backend alone."
 *
 * The reference server comes from the shared folder beside the project (`../shared/conformance`,
 * read-only; `MCPGW_SHARED_DIR` overrides) and is copied into the gitignored `.tmp/` so that its
 * imports (SDK 1.x, express, cors, zod) resolve from the project's pinned devDependencies. Both the
 * server and the suite's CLI run under Bun (the CLI needs `fs.globSync`, which Node 20 lacks).
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { appendFileSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { freePort } from '../helpers/everything.ts';
import { baseConfig, ROOT, startGatewayProcess, type GatewayProcess } from '../helpers/gateway-process.ts';

const CONFORMANCE_PKG = join(ROOT, 'node_modules/@modelcontextprotocol/conformance');
const CONFORMANCE_CLI = join(CONFORMANCE_PKG, 'dist/index.js');
const LOOPBACK = join(ROOT, 'test/helpers/loopback-listen.mjs');
const WORK = join(ROOT, '.tmp/conformance');

/**
 * Scenarios allowed to fail through mcpgw although they pass alone, each with the reason. Empty:
 * the gateway must equal the backend alone. Add an entry only with a named gap and an issue.
 */
const KNOWN_GAPS: Record<string, string> = {};
/** The same for `--requirements 2026-07-28` (issue 10). */
const KNOWN_GAPS_2026: Record<string, string> = {};

interface Check {
  id: string;
  status: string;
  errorMessage?: string;
}
type Results = Map<string, Check[]>;

/** The shared folder: `$MCPGW_SHARED_DIR`, else `shared/` beside the project (or beside the main checkout, for a git worktree). */
function sharedConformanceDir(): string {
  const candidates = [process.env.MCPGW_SHARED_DIR, resolve(ROOT, '../shared'), resolve(ROOT, '../../shared')].filter((d): d is string => Boolean(d));
  for (const d of candidates) if (existsSync(join(d, 'conformance/everything-server.ts'))) return join(d, 'conformance');
  throw new Error(`conformance reference server not found: looked for conformance/everything-server.ts in ${candidates.join(', ')} (set MCPGW_SHARED_DIR)`);
}

function version(pkgJson: string): string {
  return String((JSON.parse(readFileSync(pkgJson, 'utf8')) as { version?: string }).version);
}

interface Proc {
  pid: number;
  stop(): Promise<void>;
}

/** Runs the everything-server on a free loopback port and resolves once it announced itself. */
async function startEverythingServer(file: string): Promise<Proc & { url: string }> {
  const port = freePort();
  const proc = Bun.spawn([process.execPath, '--preload', LOOPBACK, file], {
    cwd: WORK,
    env: { ...process.env, PORT: String(port) },
    stdout: 'pipe',
    stderr: 'pipe',
  });
  const stop = async () => {
    if (proc.exitCode === null) proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
    await proc.exited;
    clearTimeout(timer);
  };
  const stderr = new Response(proc.stderr).text();
  const reader = proc.stdout.getReader();
  const decoder = new TextDecoder();
  let seen = '';
  const deadline = Date.now() + 20_000;
  let pending = reader.read();
  while (!seen.includes('MCP endpoint')) {
    const next = await Promise.race([pending, Bun.sleep(200).then(() => undefined)]);
    if (next?.done || Date.now() > deadline || proc.exitCode !== null) {
      await stop();
      throw new Error(`everything-server did not start (exit ${proc.exitCode}): ${seen}\n${await stderr}`);
    }
    if (!next) continue;
    seen += decoder.decode(next.value);
    pending = reader.read();
  }
  void (async () => {
    while (!(await pending.catch(() => ({ done: true }))).done) pending = reader.read();
  })();
  return { url: `http://127.0.0.1:${port}/mcp`, pid: proc.pid, stop };
}

/** Runs the default server suite against `url` (bounded) and reads each scenario's checks.json. */
async function runSuite(url: string, out: string, extra: string[] = []): Promise<{ results: Results; output: string }> {
  const proc = Bun.spawn([process.execPath, CONFORMANCE_CLI, 'server', '--url', url, '-o', out, '--timeout', '15000', ...extra], {
    cwd: WORK,
    env: { ...process.env, NO_COLOR: '1' },
    stdout: 'pipe',
    stderr: 'pipe',
  });
  const timer = setTimeout(() => proc.kill('SIGKILL'), 60_000);
  const [stdout, stderr] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  await proc.exited;
  clearTimeout(timer);
  const results: Results = new Map();
  for (const dir of existsSync(out) ? readdirSync(out) : []) {
    const m = /^server-(.+)-\d{4}-\d{2}-\d{2}T[\d-]+Z$/.exec(dir);
    const file = join(out, dir, 'checks.json');
    if (m && existsSync(file)) results.set(m[1], JSON.parse(readFileSync(file, 'utf8')) as Check[]);
  }
  if (process.env.MCPGW_CONFORMANCE_DUMP) appendFileSync(process.env.MCPGW_CONFORMANCE_DUMP, `${JSON.stringify({ url, extra, results: Object.fromEntries([...results].map(([k, v]) => [k, v.map((c) => `${c.id}:${c.status}`)])) })}\n`);
  return { results, output: `${stdout}\n${stderr}` };
}

const passed = (checks: Check[] | undefined) => checks !== undefined && checks.length > 0 && checks.every((c) => c.status !== 'FAILURE');
const failures = (checks: Check[] | undefined) =>
  checks === undefined ? 'no result (the scenario did not run or did not finish)' : checks.filter((c) => c.status === 'FAILURE').map((c) => `${c.id}: ${c.errorMessage ?? 'failed'}`).join('; ');

let server: (Proc & { url: string }) | undefined;
let gw: GatewayProcess | undefined;
/** The same backend with `protocol: legacy`, the state before issue 10 (for the counts only). */
let gwLegacy: GatewayProcess | undefined;
let outDir: string;

beforeAll(async () => {
  const shared = sharedConformanceDir();
  // the CLI and the reference server's dependencies are the project's pinned devDependencies: they must match the shared folder's pins
  const pins = (JSON.parse(readFileSync(join(shared, 'package.json'), 'utf8')) as { dependencies: Record<string, string> }).dependencies;
  for (const pkg of ['@modelcontextprotocol/conformance', '@modelcontextprotocol/sdk', 'express', 'cors', 'zod']) {
    const installed = version(join(ROOT, 'node_modules', pkg, 'package.json'));
    if (pins[pkg] && pins[pkg] !== installed) throw new Error(`${pkg} ${installed} is installed but ${shared}/package.json pins ${pins[pkg]}: update mcpgw's devDependencies`);
  }
  mkdirSync(WORK, { recursive: true });
  const file = join(WORK, 'everything-server.ts');
  copyFileSync(join(shared, 'everything-server.ts'), file);
  outDir = mkdtempSync(join(tmpdir(), 'mcpgw-conformance-'));
  server = await startEverythingServer(file);
  const backendUrl = server.url;
  // issue 10: one config (protocol: auto) serves both suites: 2026 clients on the backend's 2026 side,
  // 2025 clients on its 2025 session (dual-era HTTP backend)
  gw = await startGatewayProcess((d) => baseConfig(d, { conf: { url: backendUrl, transport: 'streamable-http', prefix: false, protocol: 'auto' } }));
  gwLegacy = await startGatewayProcess((d) => baseConfig(d, { conf: { url: backendUrl, transport: 'streamable-http', prefix: false, protocol: 'legacy' } }));
  await gw.waitForLog((l) => l.msg === 'backend up' && l.backend === 'conf', 20_000);
  await gwLegacy.waitForLog((l) => l.msg === 'backend up' && l.backend === 'conf', 20_000);
}, 60_000);

afterAll(async () => {
  await gw?.[Symbol.asyncDispose]();
  await gwLegacy?.[Symbol.asyncDispose]();
  await server?.stop();
  if (outDir) rmSync(outDir, { recursive: true, force: true });
}, 30_000);

describe('MCP conformance suite (issue 7 item 10)', () => {
  test('issue 7 fault 11: every scenario of the default server suite that passes alone passes through mcpgw with prefix: false (and protocol: auto)', async () => {
    // sequential: the reference server keeps global state (resource subscriptions)
    const alone = await runSuite(server!.url, join(outDir, 'alone'));
    const through = await runSuite(gw!.mcpUrl, join(outDir, 'mcpgw'));
    const scenarios = [...alone.results.keys()].sort();
    const passingAlone = scenarios.filter((s) => passed(alone.results.get(s)));
    const passingThrough = passingAlone.filter((s) => passed(through.results.get(s)));
    console.log(`conformance default suite: alone ${passingAlone.length}/${scenarios.length} scenarios, through mcpgw ${passingThrough.length}/${passingAlone.length} of those`);
    // the reference server must actually have been exercised (a broken setup must not pass vacuously)
    expect(scenarios.length, `no scenario results from the run alone; CLI output:\n${alone.output}`).toBeGreaterThanOrEqual(25);
    expect(scenarios).toContain('resources-read-text');
    const regressions = passingAlone
      .filter((s) => !passed(through.results.get(s)))
      .filter((s) => !(s in KNOWN_GAPS))
      .map((s) => `${s} -> ${failures(through.results.get(s))}`);
    expect(regressions, `scenarios passing alone but failing through mcpgw:\n${regressions.join('\n')}\nCLI output through mcpgw:\n${through.output.slice(-4000)}`).toEqual([]);
    // an allowlisted gap that now passes must be removed from KNOWN_GAPS
    const fixedGaps = Object.keys(KNOWN_GAPS).filter((s) => passed(through.results.get(s)));
    expect(fixedGaps, 'KNOWN_GAPS entries that now pass through mcpgw; remove them').toEqual([]);
  }, 90_000);

  test('issue 10: every scenario of --requirements 2026-07-28 that passes alone passes through mcpgw with protocol: auto', async () => {
    const req = ['--requirements', '2026-07-28'];
    const alone = await runSuite(server!.url, join(outDir, 'alone-2026'), req);
    const through = await runSuite(gw!.mcpUrl, join(outDir, 'mcpgw-2026'), req);
    const before = await runSuite(gwLegacy!.mcpUrl, join(outDir, 'mcpgw-2026-legacy'), req);
    const scenarios = [...alone.results.keys()].sort();
    const passingAlone = scenarios.filter((s) => passed(alone.results.get(s)));
    const count = (r: Results) => [...r.values()].filter(passed).length;
    const checks = (r: Results) => [...r.values()].flat().filter((c) => c.status === 'SUCCESS').length;
    console.log(
      `conformance 2026-07-28: alone ${passingAlone.length}/${scenarios.length} scenarios (${checks(alone.results)} checks); ` +
        `through mcpgw (protocol: auto) ${count(through.results)} (${checks(through.results)} checks), ${passingAlone.filter((s) => passed(through.results.get(s))).length} of those passing alone; ` +
        `through mcpgw (protocol: legacy, before issue 10) ${count(before.results)} (${checks(before.results)} checks)`,
    );
    const onlyThrough = scenarios.filter((s) => !passed(alone.results.get(s)) && passed(through.results.get(s)));
    if (onlyThrough.length > 0) console.log(`passing through mcpgw only: ${onlyThrough.join(', ')}`);
    const failingThrough = scenarios.filter((s) => !passed(through.results.get(s)));
    if (process.env.MCPGW_CONFORMANCE_VERBOSE) for (const s of failingThrough) console.log(`failing through mcpgw: ${s}${passed(alone.results.get(s)) ? '' : ' (fails alone too)'} -> ${failures(through.results.get(s)).slice(0, 300)}`);
    expect(scenarios.length, `no scenario results from the run alone; CLI output:\n${alone.output}`).toBeGreaterThanOrEqual(40);
    const regressions = passingAlone
      .filter((s) => !passed(through.results.get(s)))
      .filter((s) => !(s in KNOWN_GAPS_2026))
      .map((s) => `${s} -> ${failures(through.results.get(s))}`);
    expect(regressions, `2026-07-28 scenarios passing alone but failing through mcpgw:\n${regressions.join('\n')}`).toEqual([]);
    const fixedGaps = Object.keys(KNOWN_GAPS_2026).filter((s) => passed(through.results.get(s)));
    expect(fixedGaps, 'KNOWN_GAPS_2026 entries that now pass through mcpgw; remove them').toEqual([]);
  }, 180_000);
});
