/**
 * Startup, memory and per-call latency of the compiled gateway on loopback.
 * Run: npm run build && bun bench/gateway.bench.ts [calls]
 * Prints one JSON object; bounded (default 500 calls), stops every process it starts by PID.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';

const ROOT = resolve(import.meta.dir, '..');
const calls = Math.min(Number(process.argv[2] ?? 500), 10_000);
const dir = mkdtempSync(join(tmpdir(), 'mcpgw-bench-'));
const config = join(dir, 'gateway.yaml');
writeFileSync(
  config,
  stringify({
    listen: '127.0.0.1:0',
    data_dir: join(dir, 'state'),
    auth: { mode: 'none' },
    backends: { alpha: { command: process.execPath, args: [join(ROOT, 'test/helpers/backend.ts'), '--name', 'alpha'] } },
  }),
);

const rssKb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
const pct = (xs: number[], p: number) => xs.slice().sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];

const t0 = performance.now();
const proc = Bun.spawn([join(ROOT, 'dist/mcpgw'), 'serve', '--config', config], { stdout: 'pipe', stderr: 'ignore' });
let out = '';
let listeningMs = 0;
let upMs = 0;
const reader = proc.stdout.getReader();
while (!out.includes('"backend up"')) {
  const { value, done } = await reader.read();
  if (done) throw new Error('gateway exited');
  out += new TextDecoder().decode(value);
  if (!listeningMs && out.includes('"listening"')) listeningMs = performance.now() - t0;
  if (performance.now() - t0 > 30_000) throw new Error('gateway did not start');
}
upMs = performance.now() - t0;
void (async () => {
  while (!(await reader.read()).done);
})();
const url = JSON.parse(out.split('\n').find((l) => l.includes('"listening"'))!).mcp as string;
const rssIdle = rssKb(proc.pid);

const post = async (body: unknown) => {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' }, body: JSON.stringify(body) });
  await res.text();
  if (res.status !== 200) throw new Error(`status ${res.status}`);
};
const time = async (body: Record<string, unknown>) => {
  const samples: number[] = [];
  for (let i = 0; i < calls; i++) {
    const s = performance.now();
    await post({ jsonrpc: '2.0', id: i, ...body });
    samples.push(performance.now() - s);
  }
  return { p50_ms: +pct(samples, 50).toFixed(2), p95_ms: +pct(samples, 95).toFixed(2), p99_ms: +pct(samples, 99).toFixed(2) };
};
const list = await time({ method: 'tools/list' });
const call = await time({ method: 'tools/call', params: { name: 'alpha_echo', arguments: { text: 'hi' } } });
const rssAfter = rssKb(proc.pid);
proc.kill('SIGTERM');
await proc.exited;
rmSync(dir, { recursive: true, force: true });
console.log(JSON.stringify({ calls, startup_listening_ms: Math.round(listeningMs), startup_backend_up_ms: Math.round(upMs), rss_idle_mb: +(rssIdle / 1024).toFixed(1), rss_after_mb: +(rssAfter / 1024).toFixed(1), tools_list: list, tools_call_stdio_echo: call }, null, 2));
