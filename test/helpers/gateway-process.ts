/** Starts the compiled dist/mcpgw on a temp config (port 0) and reads its JSON log lines. */
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';

export const ROOT = resolve(import.meta.dir, '../..');
export const BINARY = join(ROOT, 'dist/mcpgw');

export interface GatewayProcess extends AsyncDisposable {
  url: string;
  mcpUrl: string;
  pid: number;
  dir: string;
  configPath: string;
  logs: Record<string, unknown>[];
  /** Rewrites the config file (the gateway reloads on change and on SIGHUP). */
  writeConfig(config: Record<string, unknown>): void;
  /** Waits until a log line matches, bounded. */
  waitForLog(pred: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  stop(signal?: NodeJS.Signals): Promise<number>;
}

/** A config object for a loopback gateway with auth none on port 0. */
export function baseConfig(dir: string, backends: Record<string, unknown>, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { listen: '127.0.0.1:0', data_dir: join(dir, 'state'), auth: { mode: 'none' }, backend_defaults: { retry_initial: '200ms', retry_max: '1s', connect_timeout: '20s' }, ...extra, backends };
}

/** Spawns `dist/mcpgw serve --config <tmp>` and resolves once it logged `listening`. */
export async function startGatewayProcess(makeConfig: (dir: string) => Record<string, unknown>, opts: { env?: Record<string, string> } = {}): Promise<GatewayProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'mcpgw-e2e-'));
  const configPath = join(dir, 'gateway.yaml');
  const write = (c: Record<string, unknown>) => writeFileSync(configPath, stringify(c));
  write(makeConfig(dir));
  const proc = Bun.spawn([BINARY, 'serve', '--config', configPath], {
    cwd: ROOT,
    env: { ...process.env, NO_COLOR: '1', ...opts.env },
    stdout: 'pipe',
    stderr: 'pipe',
  });
  const logs: Record<string, unknown>[] = [];
  const waiters = new Set<() => void>();
  void (async () => {
    let buf = '';
    const decoder = new TextDecoder();
    for await (const chunk of proc.stdout) {
      buf += decoder.decode(chunk);
      const lines = buf.split('\n');
      buf = lines.pop() ?? '';
      for (const line of lines) {
        try {
          logs.push(JSON.parse(line));
        } catch {
          logs.push({ raw: line });
        }
      }
      for (const w of waiters) w();
    }
  })();
  const stderr = new Response(proc.stderr).text();
  const waitForLog = async (pred: (l: Record<string, unknown>) => boolean, timeoutMs = 15_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = logs.find(pred);
      if (hit) return hit;
      if (Date.now() > deadline || proc.exitCode !== null) {
        throw new Error(`log line not seen within ${timeoutMs} ms (exit ${proc.exitCode}); logs:\n${logs.map((l) => JSON.stringify(l)).join('\n')}\nstderr: ${proc.exitCode !== null ? await stderr : ''}`);
      }
      await new Promise<void>((r) => {
        const t = setTimeout(r, 50);
        waiters.add(() => (clearTimeout(t), r()));
      });
      waiters.clear();
    }
  };
  const listening = await waitForLog((l) => l.msg === 'listening');
  const stop = async (signal: NodeJS.Signals = 'SIGTERM') => {
    if (proc.exitCode === null) proc.kill(signal);
    const timer = setTimeout(() => proc.kill('SIGKILL'), 15_000);
    const code = await proc.exited;
    clearTimeout(timer);
    return code;
  };
  return {
    url: String(listening.url),
    mcpUrl: `${String(listening.url)}/mcp`,
    pid: proc.pid,
    dir,
    configPath,
    logs,
    writeConfig: write,
    waitForLog,
    stop,
    async [Symbol.asyncDispose]() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
