/**
 * mcpgw benchmark (issue 7): `npm run bench` (builds dist/mcpgw, then runs this file).
 *
 * On loopback, the load generator (this process) pinned to CPU 1 and every server to CPU 0 with `taskset`:
 *   direct       bench/echo-backend.ts over Streamable HTTP, called directly
 *   mcpgw-http   dist/mcpgw (auth.mode oauth, a personal token) in front of that backend over HTTP
 *   mcpgw-stdio  dist/mcpgw in front of bench/echo-backend.ts over stdio (default `protocol: auto`: the backend
 *                answers server/discover, so mcpgw speaks 2026-07-28 to it)
 *   mcpgw-stdio-2025  the same with `protocol: legacy`: the backend serves the 2025-11-25 session the client
 *                and `direct` use, so the two differ only by the gateway
 *   passthrough  bench/passthrough.ts (a do-nothing Bun proxy) in front of the HTTP backend: the floor
 *   stdio-floor  bench/stdio-relay.ts (a bare Bun HTTP -> stdio relay, ids remapped, nothing else) in front of
 *                bench/echo-backend.ts over stdio: the floor of the stdio path
 *   mcp-proxy, supergateway, mcp-hub   peers over stdio, when installed (never installed by this script)
 * Closed-loop `tools/call echo` at concurrency 1 and 32, one session per target, warm-up, three rounds with the
 * order of targets rotated; then tools/list over 2,000 tools, cold start, idle RSS, RSS per idle session, and
 * RSS under a log flood with non-reading clients. Prints a Markdown report and writes bench/results.json.
 *
 * Options: --seconds S (per measurement, default 2.5), --warmup S (default 2: the servers' JIT is still compiling their request path well after half a second), --rounds N (default 3),
 *          --sessions N (idle sessions, default 1000), --flood-seconds S (default 5), --only a,b (targets).
 * --only also picks the other measurements: `extra` (all of them) or any of tools2000, cold, idle, flood; e.g.
 * `--only cold,idle` measures only cold start and idle/per-session RSS (no load phase).
 */
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { closedLoop, findEchoTool, percentile, Session, SseSession, type LoadResult } from './client.ts';
import { anonKb, CLIENT_CPU, cpuSeconds, findBinary, freePort, HAS_TASKSET, hwmKb, pinSelf, rssKb, sampleRss, SERVER_CPU, spawnServer, stop, stopAll, type Server } from './procs.ts';

const ROOT = resolve(import.meta.dir, '..');
const BUN = realpathSync(process.execPath);
const MCPGW = join(ROOT, 'dist/mcpgw');
const ECHO = join(ROOT, 'bench/echo-backend.ts');
const PASS = join(ROOT, 'bench/passthrough.ts');
const STDIO_RELAY = join(ROOT, 'bench/stdio-relay.ts');
const RESULTS = join(ROOT, 'bench/results.json');

const { values: argv } = parseArgs({
  args: process.argv.slice(2),
  options: {
    seconds: { type: 'string', default: '2.5' },
    warmup: { type: 'string', default: '2' },
    rounds: { type: 'string', default: '3' },
    sessions: { type: 'string', default: '1000' },
    'flood-seconds': { type: 'string', default: '5' },
    only: { type: 'string' },
  },
});
const clamp = (v: string | undefined, lo: number, hi: number, dflt: number) => {
  const n = Number(v);
  return Number.isFinite(n) ? Math.min(hi, Math.max(lo, n)) : dflt;
};
const MEASURE_MS = clamp(argv.seconds, 0.2, 60, 2.5) * 1000;
const WARMUP_MS = clamp(argv.warmup, 0, 30, 2) * 1000;
const ROUNDS = Math.round(clamp(argv.rounds, 1, 10, 3));
const IDLE_SESSIONS = Math.round(clamp(argv.sessions, 10, 10_000, 1000));
const FLOOD_MS = clamp(argv['flood-seconds'], 1, 30, 5) * 1000;
const ONLY = argv.only ? new Set(argv.only.split(',')) : undefined;
const CONCURRENCIES = [1, 32];
/** A hard bound on the whole run: past it, everything is stopped and the script exits non-zero. */
const HARD_LIMIT_MS = 15 * 60_000;

const work = mkdtempSync(join(tmpdir(), 'mcpgw-bench-'));
const notes: string[] = [];
const note = (s: string) => {
  notes.push(s);
  console.error(`note: ${s}`);
};
const progress = (s: string) => console.error(`[${((performance.now() - T0) / 1000).toFixed(0).padStart(3)}s] ${s}`);
const T0 = performance.now();
const loadavg = () => {
  try {
    return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  } catch {
    return 'unknown';
  }
};
const LOADAVG_START = loadavg();

// ---------------------------------------------------------------------------------------------------------------
// Servers

const LISTENING = /^listening (http\S+)/;

function startEcho(name: string, extra: string[] = []): Promise<Server> {
  return spawnServer(name, [BUN, ECHO, '--http', ...extra], LISTENING);
}

interface Gateway {
  server: Server;
  url: string;
  token: string;
  dir: string;
}

let gatewayCount = 0;
/** Starts dist/mcpgw with `backends`, OAuth on, and a personal token created with `mcpgw tokens create`. */
async function startGateway(name: string, backends: Record<string, unknown>, opts: { waitBackends?: number; http?: Record<string, unknown> } = {}): Promise<Gateway> {
  const dir = join(work, `gw${++gatewayCount}`);
  const port = await freePort();
  const config = join(dir, 'gateway.yaml');
  mkdirSync(dir, { recursive: true });
  writeFileSync(config, stringify({ listen: `127.0.0.1:${port}`, data_dir: join(dir, 'state'), log_level: 'info', auth: { mode: 'oauth' }, ...(opts.http ? { http: opts.http } : {}), backends }));
  const created = Bun.spawnSync([MCPGW, 'tokens', 'create', '--name', 'bench', '--config', config, '--json'], { stdout: 'pipe', stderr: 'pipe' });
  if (created.exitCode !== 0) throw new Error(`mcpgw tokens create failed: ${created.stderr.toString()}`);
  const token = (JSON.parse(created.stdout.toString()) as { token: string }).token;
  const server = await spawnServer(name, [MCPGW, 'serve', '--config', config], /listening/);
  if (opts.waitBackends) await server.waitCount(/backend up/, opts.waitBackends, 60_000);
  return { server, url: `http://127.0.0.1:${port}/mcp`, token, dir };
}

const stdioEcho = (extra: string[] = []) => ({ command: BUN, args: [ECHO, ...extra] });

// ---------------------------------------------------------------------------------------------------------------
// Targets

interface Target {
  name: string;
  /** The process whose RSS and CPU count for this target (with its children when `tree`). */
  server: Server;
  tree: boolean;
  url: string;
  headers: Record<string, string>;
  /** The peer serves only the 2024-11-05 HTTP+SSE transport (mcp-hub). */
  legacySse?: boolean;
  session?: Session;
  tool?: string;
}

/** Opens a session, retrying while the target (or the backend behind it) is still starting. */
async function openSession(target: Target, deadlineMs = 30_000): Promise<void> {
  const end = performance.now() + deadlineMs;
  let last: unknown;
  while (performance.now() < end) {
    try {
      const session = target.legacySse ? new SseSession(target.url, target.headers) : new Session(target.url, target.headers);
      await session.open();
      target.tool = await findEchoTool(session);
      target.session = session;
      return;
    } catch (err) {
      last = err;
      await Bun.sleep(200);
    }
  }
  throw new Error(`${target.name}: no session: ${last instanceof Error ? last.message : String(last)}`);
}

async function startPeer(name: string, bin: string): Promise<Target> {
  const port = await freePort();
  const backendCmd = `${BUN} ${ECHO}`;
  let cmd: string[];
  if (name === 'mcp-proxy') cmd = [bin, '--port', String(port), '--server', 'stream', '--', BUN, ECHO];
  else if (name === 'supergateway') cmd = [bin, '--stdio', backendCmd, '--outputTransport', 'streamableHttp', '--stateful', '--port', String(port)];
  else {
    const cfg = join(work, 'mcp-hub.json');
    writeFileSync(cfg, JSON.stringify({ mcpServers: { echo: { command: BUN, args: [ECHO] } } }));
    cmd = [bin, '--port', String(port), '--config', cfg];
  }
  // Peers log in their own formats: readiness is a working session (openSession retries).
  const server = await spawnServer(name, cmd, null);
  // mcp-hub serves MCP only over the deprecated HTTP+SSE transport (GET /mcp, POST /messages).
  const target: Target = { name, server, tree: true, url: `http://127.0.0.1:${port}/mcp`, headers: {}, legacySse: name === 'mcp-hub' };
  try {
    await openSession(target, 30_000);
  } catch (err) {
    await stop(server);
    throw new Error(`${err instanceof Error ? err.message : String(err)}\n${server.lines.slice(-5).join('\n')}`);
  }
  return target;
}

// ---------------------------------------------------------------------------------------------------------------
// Measurements

interface Cell {
  target: string;
  concurrency: number;
  rounds: { rps: number; requests: number; errors: number; seconds: number }[];
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  requests: number;
  peakRssMb: number;
  cpuUsPerReq: number;
  /** CPU of the front process alone (mcpgw without its stdio backend), µs per request. */
  selfCpuUsPerReq: number;
  firstError?: string;
}

const median = (xs: number[]) => {
  const s = xs.slice().sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const mb = (kb: number) => +(kb / 1024).toFixed(1);
const r2 = (x: number) => +x.toFixed(2);
const r3 = (x: number) => +x.toFixed(3);

async function measure(target: Target, concurrency: number): Promise<{ load: LoadResult; cpu: number; selfCpu: number; peakKb: number }> {
  const session = target.session!;
  const call = () => session.request('tools/call', { name: target.tool!, arguments: { text: 'hello' } });
  if (WARMUP_MS > 0) await closedLoop(call, concurrency, WARMUP_MS);
  const sampler = sampleRss(target.server.pid, target.tree, 100);
  const cpu0 = cpuSeconds(target.server.pid, target.tree);
  const self0 = cpuSeconds(target.server.pid);
  const load = await closedLoop(call, concurrency, MEASURE_MS);
  const cpu = cpuSeconds(target.server.pid, target.tree) - cpu0;
  const selfCpu = cpuSeconds(target.server.pid) - self0;
  return { load, cpu, selfCpu, peakKb: sampler.stop() };
}

async function loadPhase(targets: Target[]): Promise<Cell[]> {
  const cells = new Map<string, Cell & { latencies: number[]; cpu: number; selfCpu: number }>();
  for (let round = 0; round < ROUNDS; round++) {
    const order = targets.map((_, i) => targets[(i + round) % targets.length]);
    for (const concurrency of CONCURRENCIES) {
      for (const target of order) {
        const key = `${target.name}@${concurrency}`;
        const cell = cells.get(key) ?? { target: target.name, concurrency, rounds: [], rps: 0, p50: 0, p99: 0, errors: 0, requests: 0, peakRssMb: 0, cpuUsPerReq: 0, selfCpuUsPerReq: 0, latencies: [], cpu: 0, selfCpu: 0 };
        cells.set(key, cell);
        const { load, cpu, selfCpu, peakKb } = await measure(target, concurrency);
        cell.rounds.push({ rps: Math.round(load.requests / load.seconds), requests: load.requests, errors: load.errors, seconds: r2(load.seconds) });
        for (const l of load.latenciesMs) cell.latencies.push(l);
        cell.errors += load.errors;
        cell.requests += load.requests;
        cell.cpu += cpu;
        cell.selfCpu += selfCpu;
        cell.peakRssMb = Math.max(cell.peakRssMb, mb(peakKb));
        cell.firstError ??= load.firstError;
        progress(`round ${round + 1}/${ROUNDS} C=${concurrency} ${target.name}: ${Math.round(load.requests / load.seconds)} req/s, p50 ${percentile(load.latenciesMs, 50).toFixed(2)} ms${load.errors ? `, ${load.errors} errors (${load.firstError})` : ''}`);
      }
    }
  }
  return [...cells.values()].map(({ latencies, cpu, selfCpu, ...c }) => ({
    ...c,
    rps: Math.round(median(c.rounds.map((r) => r.rps))),
    p50: r2(percentile(latencies, 50)),
    p99: r2(percentile(latencies, 99)),
    cpuUsPerReq: c.requests ? Math.round((cpu / c.requests) * 1e6) : NaN,
    selfCpuUsPerReq: c.requests ? Math.round((selfCpu / c.requests) * 1e6) : NaN,
  }));
}

/** p50 at the client (and at the server, from Server-Timing) of `tools/list` over 10 stdio backends x 200 tools behind mcpgw. */
async function toolsListAtScale(): Promise<Record<string, number>> {
  const backends: Record<string, unknown> = {};
  for (let i = 0; i < 10; i++) backends[`b${i}`] = stdioEcho(['--tools', '200']);
  const gw = await startGateway('mcpgw-2000-tools', backends, { waitBackends: 10 });
  try {
    const session = new Session(gw.url, { authorization: `Bearer ${gw.token}` });
    await session.open();
    const tools = (await session.listTools()).length;
    const samples: number[] = [];
    const atServer: number[] = [];
    const end = performance.now() + 15_000;
    for (let i = 0; i < 60 && performance.now() < end; i++) {
      const s = performance.now();
      await session.listTools();
      if (i < 10) continue;
      samples.push(performance.now() - s);
      if (session.lastServerMs !== undefined) atServer.push(session.lastServerMs);
    }
    await session.close();
    const server: Record<string, number> = atServer.length ? { server_p50_ms: r3(percentile(atServer, 50)), server_p99_ms: r3(percentile(atServer, 99)) } : {};
    return { tools, calls: samples.length, p50_ms: r2(percentile(samples, 50)), p99_ms: r2(percentile(samples, 99)), ...server };
  } finally {
    await stop(gw.server);
  }
}

/** Spawn -> "listening" log line, median of 5, with one stdio backend configured. */
async function coldStart(): Promise<Record<string, number>> {
  const times: number[] = [];
  for (let i = 0; i < 5; i++) {
    const gw = await startGateway(`mcpgw-cold-${i}`, { echo: stdioEcho() });
    times.push(gw.server.readyMs);
    await stop(gw.server);
  }
  return { runs: times.length, median_ms: Math.round(median(times)), min_ms: Math.round(Math.min(...times)) };
}

/**
 * Idle RSS with 3 backends, then RSS per idle session at IDLE_SESSIONS sessions; then a second batch of as many
 * sessions: the first batch also pays one-time costs (JIT tiers, heap and allocator growth), the second one is
 * the marginal cost of a session. RssAnon is the RSS without the executable's clean (shared, reclaimable) pages.
 */
async function idleAndSessions(): Promise<Record<string, number>> {
  // All sessions come from one token: the per-grant cap (default 100) is raised so that every one stays open.
  const gw = await startGateway('mcpgw-idle', { a: stdioEcho(), b: stdioEcho(), c: stdioEcho() }, { waitBackends: 3, http: { max_sessions_per_grant: 2 * IDLE_SESSIONS + 10 } });
  try {
    const headers = { authorization: `Bearer ${gw.token}` };
    // One session and call first so lazily loaded code paths count as idle, not as per-session cost.
    const first = new Session(gw.url, headers);
    await first.open();
    await first.request('tools/call', { name: await findEchoTool(first), arguments: { text: 'x' } });
    await Bun.sleep(1_000);
    const idleKb = rssKb(gw.server.pid);
    const idleAnonKb = anonKb(gw.server.pid);
    const idleTreeKb = rssKb(gw.server.pid, true);
    const sessions: Session[] = [];
    let failed = 0;
    const end = performance.now() + 60_000;
    const openBatch = async () => {
      let next = 0;
      const opener = async () => {
        while (next < IDLE_SESSIONS && performance.now() < end) {
          next++;
          const s = new Session(gw.url, headers);
          try {
            await s.open();
            sessions.push(s);
          } catch {
            failed++;
          }
        }
      };
      await Promise.all(Array.from({ length: 8 }, opener));
      await Bun.sleep(1_000);
    };
    await openBatch();
    const opened = sessions.length;
    const afterKb = rssKb(gw.server.pid);
    const afterAnonKb = anonKb(gw.server.pid);
    await openBatch();
    const secondKb = rssKb(gw.server.pid);
    const opened2 = sessions.length - opened;
    return {
      idle_rss_mb: mb(idleKb),
      idle_rss_anon_mb: mb(idleAnonKb),
      idle_rss_with_backends_mb: mb(idleTreeKb),
      sessions_opened: opened,
      sessions_failed: failed,
      rss_after_sessions_mb: mb(afterKb),
      kb_per_session: opened ? r2((afterKb - idleKb) / opened) : NaN,
      anon_kb_per_session: opened ? r2((afterAnonKb - idleAnonKb) / opened) : NaN,
      kb_per_session_second_batch: opened2 ? r2((secondKb - afterKb) / opened2) : NaN,
    };
  } finally {
    await stop(gw.server);
  }
}

/** A GET /mcp SSE stream on a raw socket that is never read (the kernel buffers fill, then the server's). */
function openUnreadStream(url: string, headers: Record<string, string>): Promise<Socket> {
  const u = new URL(url);
  return new Promise((resolveSocket, reject) => {
    const socket = connect({ host: u.hostname, port: Number(u.port) }, () => {
      const lines = [`GET ${u.pathname} HTTP/1.1`, `Host: ${u.host}`, 'Accept: text/event-stream', ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`), '', ''];
      socket.write(lines.join('\r\n'));
      // Read just the status line, then stop reading for good.
      socket.once('data', (chunk) => {
        socket.pause();
        const status = chunk.toString('latin1').split('\r\n')[0];
        if (!/ 200 /.test(status)) reject(new Error(`GET stream: ${status}`));
        else resolveSocket(socket);
      });
    });
    socket.once('error', reject);
    socket.setTimeout(10_000, () => reject(new Error('GET stream: no answer')));
  });
}

/** RSS of mcpgw while a backend floods log notifications to 3 sessions whose GET streams are never read. */
async function logFlood(): Promise<Record<string, number | string>> {
  const gw = await startGateway('mcpgw-flood', { echo: stdioEcho() }, { waitBackends: 1 });
  const sockets: Socket[] = [];
  try {
    const headers = { authorization: `Bearer ${gw.token}` };
    for (let i = 0; i < 3; i++) {
      const s = new Session(gw.url, headers);
      await s.open();
      await s.request('logging/setLevel', { level: 'debug' });
      sockets.push(await openUnreadStream(gw.url, s.headers('text/event-stream')));
    }
    const caller = new Session(gw.url, headers);
    await caller.open();
    const flood = (await caller.listTools()).map((t) => String(t.name)).find((n) => /flood$/.test(n));
    if (!flood) throw new Error('no flood tool');
    await Bun.sleep(500);
    const idleKb = rssKb(gw.server.pid);
    const idleTreeKb = rssKb(gw.server.pid, true);
    const sampler = sampleRss(gw.server.pid, false, 100);
    const treeSampler = sampleRss(gw.server.pid, true, 250);
    const t0 = performance.now();
    const result = await caller.request('tools/call', { name: flood, arguments: { count: 1_000_000, bytes: 512, ms: FLOOD_MS } }).catch((err: Error) => ({ error: err.message }));
    const floodMs = performance.now() - t0;
    await Bun.sleep(1_000);
    const peakKb = sampler.stop();
    const peakTreeKb = treeSampler.stop();
    const sent = /sent (\d+)/.exec(JSON.stringify(result))?.[1];
    return {
      flood_ms: Math.round(floodMs),
      notifications_sent: sent ? Number(sent) : `failed: ${JSON.stringify(result).slice(0, 120)}`,
      idle_rss_mb: mb(idleKb),
      peak_rss_mb: mb(peakKb),
      peak_minus_idle_mb: mb(peakKb - idleKb),
      peak_minus_idle_with_backend_mb: mb(peakTreeKb - idleTreeKb),
      gateway_alive: gw.server.proc.exitCode === null ? 'yes' : `no (exit ${gw.server.proc.exitCode})`,
    };
  } finally {
    for (const s of sockets) s.destroy();
    await stop(gw.server);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Report

function fmtRatio(x: number): string {
  return Number.isFinite(x) ? x.toFixed(2) : '–';
}

function report(cells: Cell[], extra: Record<string, unknown>): string {
  const out: string[] = [];
  const get = (t: string, c: number) => cells.find((x) => x.target === t && x.concurrency === c);
  out.push(`## mcpgw benchmark (${new Date().toISOString().slice(0, 16)}Z)`);
  out.push('');
  out.push(`Loopback, load generator on CPU ${CLIENT_CPU}, servers on CPU ${SERVER_CPU}${HAS_TASKSET ? '' : ' (taskset missing: not pinned)'}; ${ROUNDS} rounds x ${MEASURE_MS / 1000} s per cell after ${WARMUP_MS / 1000} s warm-up; req/s is the median of rounds, p50/p99 over all rounds.`);
  out.push('x direct = direct req/s / target req/s (throughput) and target p50 / direct p50; x floor = the same against passthrough (the HTTP floor); x stdio floor = the same against stdio-floor.');
  out.push('');
  for (const c of CONCURRENCIES) {
    out.push(`### tools/call echo, concurrency ${c}`);
    out.push('');
    out.push('| target | req/s | p50 ms | p99 ms | errors | peak RSS MB | CPU µs/req | front CPU µs/req | thr x direct | p50 x direct | thr x floor | p50 x floor | thr x stdio floor | p50 x stdio floor |');
    out.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
    const direct = get('direct', c);
    const floor = get('passthrough', c);
    const stdioFloor = get('stdio-floor', c);
    for (const cell of cells.filter((x) => x.concurrency === c)) {
      out.push(
        `| ${cell.target} | ${cell.rps} | ${cell.p50} | ${cell.p99} | ${cell.errors} | ${cell.peakRssMb} | ${cell.cpuUsPerReq} | ${cell.selfCpuUsPerReq} | ${fmtRatio(direct ? direct.rps / cell.rps : NaN)} | ${fmtRatio(direct ? cell.p50 / direct.p50 : NaN)} | ${fmtRatio(floor ? floor.rps / cell.rps : NaN)} | ${fmtRatio(floor ? cell.p50 / floor.p50 : NaN)} | ${fmtRatio(stdioFloor ? stdioFloor.rps / cell.rps : NaN)} | ${fmtRatio(stdioFloor ? cell.p50 / stdioFloor.p50 : NaN)} |`,
      );
    }
    out.push('');
  }
  out.push('### Other measurements');
  out.push('');
  out.push('| measurement | value |');
  out.push('|---|---|');
  for (const [group, values] of Object.entries(extra)) {
    if (values && typeof values === 'object') for (const [k, v] of Object.entries(values)) out.push(`| ${group}.${k} | ${v} |`);
    else out.push(`| ${group} | ${values} |`);
  }
  out.push('');
  if (notes.length) {
    out.push('Notes:');
    for (const n of notes) out.push(`- ${n}`);
    out.push('');
  }
  out.push('Peak RSS is sampled every 100 ms: direct = the backend; passthrough = the proxy; stdio-floor = the relay plus its stdio backend; mcpgw-http = mcpgw and its children (none: the backend is shared); mcpgw-stdio and peers = the front process plus its stdio backend. CPU µs/req counts the same processes; front CPU µs/req counts the front process alone (mcpgw without its stdio backend).');
  return out.join('\n');
}

// ---------------------------------------------------------------------------------------------------------------
// Main

async function main(): Promise<void> {
  if (!(await Bun.file(MCPGW).exists())) throw new Error(`${MCPGW} is missing: run 'bun cmd/build.ts' first (npm run bench does)`);
  if (!pinSelf()) note(HAS_TASKSET ? 'one CPU only: load generator and servers share it' : 'taskset not found: load generator and servers are not pinned');
  const wanted = (name: string) => !ONLY || ONLY.has(name);

  progress('starting servers');
  const backend = await startEcho('echo-http');
  const backendUrl = backend.match[1];
  const targets: Target[] = [];
  const servers: Server[] = [backend];
  try {
    if (wanted('direct')) targets.push({ name: 'direct', server: backend, tree: false, url: backendUrl, headers: {} });
    if (wanted('mcpgw-http')) {
      const gw = await startGateway('mcpgw-http', { echo: { url: backendUrl, transport: 'streamable-http' } }, { waitBackends: 1 });
      servers.push(gw.server);
      targets.push({ name: 'mcpgw-http', server: gw.server, tree: true, url: gw.url, headers: { authorization: `Bearer ${gw.token}` } });
    }
    if (wanted('mcpgw-stdio')) {
      const gw = await startGateway('mcpgw-stdio', { echo: stdioEcho() }, { waitBackends: 1 });
      servers.push(gw.server);
      targets.push({ name: 'mcpgw-stdio', server: gw.server, tree: true, url: gw.url, headers: { authorization: `Bearer ${gw.token}` } });
    }
    if (wanted('mcpgw-stdio-2025')) {
      const gw = await startGateway('mcpgw-stdio-2025', { echo: { ...stdioEcho(), protocol: 'legacy' } }, { waitBackends: 1 });
      servers.push(gw.server);
      targets.push({ name: 'mcpgw-stdio-2025', server: gw.server, tree: true, url: gw.url, headers: { authorization: `Bearer ${gw.token}` } });
    }
    if (wanted('passthrough')) {
      const pass = await spawnServer('passthrough', [BUN, PASS, backendUrl], LISTENING);
      servers.push(pass);
      targets.push({ name: 'passthrough', server: pass, tree: false, url: pass.match[1], headers: {} });
    }
    if (wanted('stdio-floor')) {
      const relay = await spawnServer('stdio-floor', [BUN, STDIO_RELAY, BUN, ECHO], LISTENING);
      servers.push(relay);
      targets.push({ name: 'stdio-floor', server: relay, tree: true, url: relay.match[1], headers: {} });
    }
    for (const t of targets) await openSession(t);
    for (const peer of ['mcp-proxy', 'supergateway', 'mcp-hub']) {
      if (!wanted(peer)) continue;
      const bin = findBinary(ROOT, peer);
      if (!bin) {
        note(`${peer} is not installed (node_modules/.bin or PATH): skipped`);
        continue;
      }
      try {
        const t = await startPeer(peer, bin);
        servers.push(t.server);
        targets.push(t);
      } catch (err) {
        note(`${peer} did not start: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
      }
    }

    progress(`load: ${targets.map((t) => t.name).join(', ')}`);
    const cells = await loadPhase(targets);
    for (const t of targets) await t.session?.close();
    const rssUnderLoad: Record<string, number> = {};
    for (const c of cells.filter((x) => x.concurrency === 32 && x.target.startsWith('mcpgw'))) rssUnderLoad[`${c.target}_peak_mb`] = c.peakRssMb;
    // VmHWM: the kernel's lifetime peak, catching spikes between samples (summed over the tree, an upper bound).
    for (const t of targets.filter((x) => x.name.startsWith('mcpgw'))) rssUnderLoad[`${t.name}_vmhwm_mb`] = mb(hwmKb(t.server.pid, t.tree));
    for (const s of servers.slice(1)) await stop(s);

    const extra: Record<string, unknown> = { rss_under_c32_load: rssUnderLoad };
    const wantedExtra = (name: string) => !ONLY || ONLY.has('extra') || ONLY.has(name);
    if (wantedExtra('tools2000')) {
      progress('tools/list over 2,000 tools');
      extra.tools_list_2000 = await toolsListAtScale();
    }
    if (wantedExtra('cold')) {
      progress('cold start');
      extra.cold_start_to_listening = await coldStart();
    }
    if (wantedExtra('idle')) {
      progress(`idle RSS with 3 backends, ${IDLE_SESSIONS} idle sessions`);
      extra.idle = await idleAndSessions();
    }
    if (wantedExtra('flood')) {
      progress('log flood with non-reading clients');
      extra.log_flood = await logFlood();
    }
    const elapsed = Math.round((performance.now() - T0) / 1000);
    extra.run_seconds = elapsed;
    // Other work on the machine skews every figure: the load average says how much.
    extra.loadavg_start = LOADAVG_START;
    extra.loadavg_end = loadavg();
    const md = report(cells, extra);
    console.log(md);
    const { version } = await Bun.file(join(ROOT, 'package.json')).json();
    writeFileSync(RESULTS, `${JSON.stringify({ date: new Date().toISOString(), mcpgw_version: version, bun: Bun.version, pinned: HAS_TASKSET, rounds: ROUNDS, measure_s: MEASURE_MS / 1000, warmup_s: WARMUP_MS / 1000, cells, extra, notes }, null, 2)}\n`);
    progress(`wrote ${RESULTS}`);
  } finally {
    await stop(backend);
    await stopAll();
  }
}

const hardLimit = setTimeout(() => {
  console.error(`bench: still running after ${HARD_LIMIT_MS / 60_000} min; stopping everything`);
  void stopAll().finally(() => process.exit(3));
}, HARD_LIMIT_MS);
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => void stopAll().finally(() => process.exit(130)));

try {
  await main();
  clearTimeout(hardLimit);
} catch (err) {
  console.error(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  await stopAll();
  process.exitCode = 1;
  clearTimeout(hardLimit);
} finally {
  rmSync(work, { recursive: true, force: true });
}
