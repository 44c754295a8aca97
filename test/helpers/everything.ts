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
  while (!/port \d+/i.test(seen)) {
    if (Date.now() > deadline || proc.exitCode !== null) throw new Error(`server-everything did not start: ${seen}`);
    const { value, done } = await Promise.race([reader.read(), Bun.sleep(200).then(() => ({ value: undefined, done: false }))]);
    if (done) break;
    if (value) seen += decoder.decode(value);
  }
  void (async () => {
    while (!(await reader.read().catch(() => ({ done: true }))).done);
  })();
  const stop = async () => {
    if (proc.exitCode === null) proc.kill('SIGTERM');
    await proc.exited;
  };
  return { url: `http://127.0.0.1:${port}/${mode === 'sse' ? 'sse' : 'mcp'}`, pid: proc.pid, stop, [Symbol.asyncDispose]: stop };
}
