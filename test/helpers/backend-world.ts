/**
 * @module One `Backend` (src/backends/backend.ts) outside the gateway, with its hooks and logs
 * recorded; plus the fault backend (`fault-backend.ts`) as a child process.
 */
import { fileURLToPath } from 'node:url';
import { Backend, type BackendHooks, type BackendOptions } from '../../src/backends/backend.ts';
import { systemDeps } from '../../src/deps.ts';
import { createLogger } from '../../src/log.ts';

/** Absolute path of the fault backend script. */
export const FAULT_BACKEND_PATH = fileURLToPath(new URL('./fault-backend.ts', import.meta.url));

export type LogRecord = { level: string; msg: string } & Record<string, unknown>;

/** A started backend with what it told the gateway. */
export interface BackendWorld extends AsyncDisposable {
  backend: Backend;
  logs: LogRecord[];
  changed: number[];
  notifications: { method: string; params?: Record<string, unknown> }[];
  serverRequests: { method: string; params?: Record<string, unknown> }[];
}

/** Creates and starts a Backend; `serverRequest` answers relayed requests (default: roots). */
export async function startBackend(opts: Partial<BackendOptions> & Pick<BackendOptions, 'transport'>, serverRequest?: BackendHooks['serverRequest']): Promise<BackendWorld> {
  const logs: LogRecord[] = [];
  const log = createLogger({ json: true, level: 'debug', write: (line) => void logs.push(JSON.parse(line) as LogRecord) });
  const world = { logs, changed: [] as number[], notifications: [] as BackendWorld['notifications'], serverRequests: [] as BackendWorld['serverRequests'] };
  const hooks: BackendHooks = {
    changed: () => void world.changed.push(performance.now()),
    notification: (_name, method, params) => void world.notifications.push({ method, params }),
    serverRequest: async (name, method, params, signal) => {
      world.serverRequests.push({ method, params });
      if (serverRequest) return serverRequest(name, method, params, signal);
      return { roots: [{ uri: 'file:///work', name: 'work' }] };
    },
  };
  const backend = new Backend(
    { name: 'b', timeout: 5_000, connectTimeout: 5_000, retryInitial: 50, retryMax: 200, enabled: true, ...opts },
    systemDeps({ log }),
    hooks,
  );
  backend.start();
  await backend.ready();
  return { backend, ...world, [Symbol.asyncDispose]: () => backend.close() };
}

/** A running fault backend over HTTP. */
export interface FaultHttp extends AsyncDisposable {
  url: string;
  port: number;
  stop(): Promise<void>;
}

/** Starts `fault-backend.ts --http` (optionally on a fixed port) and waits for its listening line. */
export async function spawnFaultHttp(port = 0): Promise<FaultHttp> {
  const child = Bun.spawn([process.execPath, FAULT_BACKEND_PATH, '--http', '--port', String(port)], { stdin: 'ignore', stdout: 'pipe', stderr: 'inherit' });
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGKILL');
    await child.exited;
  };
  const reader = child.stdout.getReader();
  const decoder = new TextDecoder();
  let text = '';
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('fault backend: no listening line within 5 s')), 5_000)));
  try {
    for (;;) {
      const match = /^listening (\S+)$/m.exec(text);
      if (match) {
        reader.releaseLock();
        return { url: match[1], port: Number(new URL(match[1]).port), stop, [Symbol.asyncDispose]: stop };
      }
      const { value, done } = await Promise.race([reader.read(), timeout]);
      if (done) throw new Error('fault backend exited before listening');
      text += decoder.decode(value, { stream: true });
    }
  } catch (err) {
    await stop();
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

/** The text of a tools/call result. */
export function textOf(result: Record<string, unknown>): string {
  return ((result.content as { text?: string }[] | undefined) ?? []).map((b) => b.text ?? '').join('');
}
