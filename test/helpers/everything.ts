/** @modelcontextprotocol/server-everything from npm as a real Streamable HTTP or SSE backend on 127.0.0.1. */
import { join } from 'node:path';
import { ROOT } from './gateway-process.ts';

export const EVERYTHING = join(ROOT, 'node_modules/@modelcontextprotocol/server-everything/dist/index.js');

/** A free loopback port (bound and released; the race is acceptable for tests). */
export function freePort(): number {
  const s = Bun.serve({ hostname: '127.0.0.1', port: 0, fetch: () => new Response() });
  const port = s.port!;
  s.stop(true);
  return port;
}

export interface EverythingProcess extends AsyncDisposable {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

/** Starts server-everything over `streamableHttp` (URL ends /mcp) or `sse` (URL ends /sse). */
export async function startEverything(mode: 'streamableHttp' | 'sse'): Promise<EverythingProcess> {
  const port = freePort();
  const proc = Bun.spawn(['node', '--import', join(ROOT, 'test/helpers/loopback-listen.mjs'), EVERYTHING, mode], {
    env: { ...process.env, PORT: String(port) },
    stdout: 'ignore',
    stderr: 'pipe',
  });
  const decoder = new TextDecoder();
  let seen = '';
  const reader = proc.stderr.getReader();
  const deadline = Date.now() + 15_000;
  let pending = reader.read();
  while (!/port \d+/i.test(seen)) {
    if (Date.now() > deadline || proc.exitCode !== null) {
      proc.kill('SIGKILL');
      throw new Error(`server-everything did not start: ${seen}`);
    }
    const next = await Promise.race([pending, Bun.sleep(200).then(() => undefined)]);
    if (!next) continue;
    if (next.done) break;
    seen += decoder.decode(next.value);
    pending = reader.read();
  }
  // keep draining stderr so the child never blocks on a full pipe
  void (async () => {
    while (!(await pending.catch(() => ({ done: true }))).done) pending = reader.read();
  })();
  const stop = async () => {
    if (proc.exitCode === null) proc.kill('SIGTERM');
    await proc.exited;
  };
  return { url: `http://127.0.0.1:${port}/${mode === 'sse' ? 'sse' : 'mcp'}`, pid: proc.pid, stop, [Symbol.asyncDispose]: stop };
}
