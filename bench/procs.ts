/**
 * @module Process helpers for the benchmark: spawn servers pinned to CPU 0, wait for a log line, read RSS and CPU
 * time of a process tree from /proc, and stop every process by PID (or its process group).
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { createServer } from 'node:net';

export const HAS_TASKSET = existsSync('/usr/bin/taskset') || existsSync('/bin/taskset');
const CPUS = navigatorCpus();
/** Servers run on this CPU, the load generator on the other (when there are two or more CPUs). */
export const SERVER_CPU = 0;
export const CLIENT_CPU = CPUS > 1 ? 1 : 0;
const CLK_TCK = 100;

function navigatorCpus(): number {
  try {
    return readFileSync('/proc/cpuinfo', 'utf8').split('\n').filter((l) => l.startsWith('processor')).length || 1;
  } catch {
    return 1;
  }
}

/** Pins this process (every thread) to the client CPU. */
export function pinSelf(): boolean {
  if (!HAS_TASKSET || CPUS < 2) return false;
  return Bun.spawnSync(['taskset', '-a', '-cp', String(CLIENT_CPU), String(process.pid)], { stdout: 'ignore', stderr: 'ignore' }).exitCode === 0;
}

/** A free TCP port on 127.0.0.1 (bound on port 0, then released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

export interface Server {
  name: string;
  pid: number;
  proc: Bun.Subprocess<'ignore', 'pipe', 'pipe'>;
  /** Every output line so far (stdout and stderr). */
  lines: string[];
  /** ms from spawn to the line that matched `ready`. */
  readyMs: number;
  match: RegExpMatchArray;
  /** Resolves with the first line matching `re` (bounded). */
  waitLine(re: RegExp, timeoutMs: number): Promise<RegExpMatchArray>;
  /** Counts lines matching `re` until `count` are seen (bounded). */
  waitCount(re: RegExp, count: number, timeoutMs: number): Promise<void>;
}

const live = new Set<Server>();

/**
 * Spawns `cmd` (under `taskset -c 0` when available) in its own process group and waits for a stdout/stderr
 * line matching `ready` (when `ready` is null, returns at once).
 */
export async function spawnServer(name: string, cmd: string[], ready: RegExp | null, opts: { env?: Record<string, string>; cwd?: string; timeoutMs?: number } = {}): Promise<Server> {
  const argv = HAS_TASKSET ? ['taskset', '-c', String(SERVER_CPU), ...cmd] : cmd;
  const t0 = performance.now();
  const proc = Bun.spawn(argv, { stdin: 'ignore', stdout: 'pipe', stderr: 'pipe', env: { ...process.env, ...opts.env }, cwd: opts.cwd, detached: true });
  const lines: string[] = [];
  const waiters = new Set<() => void>();
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder();
    let buf = '';
    for await (const chunk of stream) {
      buf += decoder.decode(chunk, { stream: true });
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        lines.push(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
        // Keep memory bounded on chatty servers.
        if (lines.length > 20_000) lines.splice(0, 10_000);
      }
      for (const w of waiters) w();
    }
  };
  void pump(proc.stdout).catch(() => {});
  void pump(proc.stderr).catch(() => {});
  let exited = false;
  void proc.exited.then(() => {
    exited = true;
    for (const w of waiters) w();
  });
  const waitFor = <T>(check: () => T | undefined, what: string, timeoutMs: number): Promise<T> =>
    new Promise((resolve, reject) => {
      const done = () => {
        const v = check();
        if (v !== undefined) {
          cleanup();
          resolve(v);
        } else if (exited) {
          cleanup();
          reject(new Error(`${name} exited (code ${proc.exitCode}) before ${what}:\n${lines.slice(-15).join('\n')}`));
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`${name}: no ${what} within ${timeoutMs} ms:\n${lines.slice(-15).join('\n')}`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        waiters.delete(done);
      };
      waiters.add(done);
      done();
    });
  const server: Server = {
    name,
    pid: proc.pid,
    proc,
    lines,
    readyMs: 0,
    match: [] as unknown as RegExpMatchArray,
    waitLine: (re, timeoutMs) =>
      waitFor(() => {
        for (const l of lines) {
          const m = l.match(re);
          if (m) return m;
        }
        return undefined;
      }, String(re), timeoutMs),
    waitCount: (re, count, timeoutMs) => waitFor(() => (lines.filter((l) => re.test(l)).length >= count ? true : undefined), `${count} x ${re}`, timeoutMs).then(() => {}),
  };
  live.add(server);
  try {
    if (ready) server.match = await server.waitLine(ready, opts.timeoutMs ?? 30_000);
  } catch (err) {
    await stop(server);
    throw err;
  }
  server.readyMs = performance.now() - t0;
  return server;
}

/** SIGTERM to the process, wait (bounded) for it to exit, then SIGKILL whatever is left of its process group. */
export async function stop(server: Server, graceMs = 10_000): Promise<void> {
  live.delete(server);
  if (server.proc.exitCode === null && server.proc.signalCode === null) {
    try {
      process.kill(server.pid, 'SIGTERM');
    } catch {}
    await Promise.race([server.proc.exited, Bun.sleep(graceMs)]);
  }
  try {
    process.kill(-server.pid, 'SIGKILL');
  } catch {}
  if (server.proc.exitCode === null && server.proc.signalCode === null) {
    try {
      process.kill(server.pid, 'SIGKILL');
    } catch {}
    await Promise.race([server.proc.exited, Bun.sleep(2_000)]);
  }
}

/** Stops every server still running (used on errors and signals). */
export async function stopAll(): Promise<void> {
  await Promise.all([...live].map((s) => stop(s, 3_000)));
}

/** The PIDs of `pid` and all its descendants. */
export function tree(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(entry));
      children.set(ppid, list);
    } catch {}
  }
  const out: number[] = [];
  const queue = [pid];
  while (queue.length > 0 && out.length < 10_000) {
    const p = queue.shift()!;
    out.push(p);
    queue.push(...(children.get(p) ?? []));
  }
  return out;
}

function statusKb(pid: number, key: 'VmRSS' | 'VmHWM' | 'RssAnon'): number {
  try {
    const m = new RegExp(`${key}:\\s+(\\d+)`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** RSS in KiB of the process (and its descendants when `withChildren`). */
export function rssKb(pid: number, withChildren = false): number {
  return (withChildren ? tree(pid) : [pid]).reduce((sum, p) => sum + statusKb(p, 'VmRSS'), 0);
}

/** The anonymous part of the RSS (RssAnon) in KiB: heap and allocator memory, without the executable's clean file pages. */
export function anonKb(pid: number): number {
  return statusKb(pid, 'RssAnon');
}

/** Peak RSS (VmHWM) in KiB of the process (summed over its descendants when `withChildren`). */
export function hwmKb(pid: number, withChildren = false): number {
  return (withChildren ? tree(pid) : [pid]).reduce((sum, p) => sum + statusKb(p, 'VmHWM'), 0);
}

/** User+system CPU seconds of the process (and its descendants when `withChildren`). */
export function cpuSeconds(pid: number, withChildren = false): number {
  let ticks = 0;
  for (const p of withChildren ? tree(pid) : [pid]) {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // Fields 14 and 15 of /proc/pid/stat (utime, stime); f[0] is field 3.
      ticks += Number(f[11]) + Number(f[12]);
    } catch {}
  }
  return ticks / CLK_TCK;
}

/** Samples RSS every `everyMs` until stopped; returns the peak in KiB. */
export function sampleRss(pid: number, withChildren: boolean, everyMs = 100): { stop(): number } {
  // The tree is read once: walking /proc on every sample would load the client CPU.
  const pids = withChildren ? tree(pid) : [pid];
  const read = () => pids.reduce((sum, p) => sum + statusKb(p, 'VmRSS'), 0);
  let peak = read();
  const timer = setInterval(() => {
    peak = Math.max(peak, read());
  }, everyMs);
  return {
    stop() {
      clearInterval(timer);
      peak = Math.max(peak, read());
      return peak;
    },
  };
}

/** The first executable named `name` in node_modules/.bin or on PATH. */
export function findBinary(root: string, name: string): string | undefined {
  const local = `${root}/node_modules/.bin/${name}`;
  if (existsSync(local)) return local;
  return Bun.which(name) ?? undefined;
}
