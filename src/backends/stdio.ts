/**
 * @module Child-process transport for stdio backends: newline-delimited JSON-RPC on stdin/stdout,
 * stderr lines into the gateway log, and the whole process group killed on close (npx/uvx start
 * grandchildren that a plain kill would leave behind).
 */
import type { ChildProcess } from 'node:child_process';
import { ReadBuffer, serializeMessage, type JSONRPCMessage, type Transport } from '@modelcontextprotocol/client';
import type { SpawnFn } from '../deps.ts';
import type { Logger } from '../log.ts';

export interface StdioParams {
  command: string;
  args: string[];
  env: Record<string, string>;
  cwd?: string;
}

const EXTRA_PATHS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin', '/opt/homebrew/bin'];
const HOME_PATHS = ['.local/bin', '.npm-global/bin', '.bun/bin', '.cargo/bin', '.volta/bin', '.deno/bin'];

/**
 * The environment a stdio backend starts with: a minimal safe base (PATH with the usual places
 * npx/uvx/node live, HOME, LANG) plus the backend's own `env`. Nothing else of the gateway's
 * environment leaks into backends.
 */
export function backendEnv(parent: Readonly<Record<string, string | undefined>>, extra: Record<string, string>, execDir?: string): Record<string, string> {
  const home = parent.HOME ?? '/';
  const parts = [...(parent.PATH ?? '').split(':'), ...(execDir ? [execDir] : []), ...HOME_PATHS.map((p) => `${home}/${p}`), ...EXTRA_PATHS];
  const path = [...new Set(parts.filter(Boolean))].join(':');
  return { PATH: path, HOME: home, LANG: parent.LANG ?? 'C.UTF-8', ...extra };
}

/** An MCP client transport over a child process that owns its own process group. */
export class StdioProcessTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;
  private child?: ChildProcess;
  private readonly buffer = new ReadBuffer();
  private closed = false;
  private stderrTail: string[] = [];

  constructor(
    private readonly params: StdioParams,
    private readonly spawn: SpawnFn,
    private readonly log: Logger,
  ) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** The last lines the child wrote to stderr; used in error messages. */
  get recentStderr(): string {
    return this.stderrTail.join('\n');
  }

  async start(): Promise<void> {
    const child = this.spawn(this.params.command, this.params.args, {
      cwd: this.params.cwd,
      env: this.params.env,
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true,
    });
    this.child = child;
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', () => resolve());
      child.once('error', (err) => reject(new Error(`cannot start '${this.params.command}': ${err.message}`)));
    });
    child.on('error', (err) => this.onerror?.(err));
    child.on('exit', (code, signal) => {
      if (!this.closed) this.log.warn('backend process exited', { pid: child.pid, code, signal });
      this.finish();
    });
    child.stdout!.on('data', (chunk: Buffer) => this.onData(chunk));
    child.stdin!.on('error', () => {});
    this.pipeStderr(child);
  }

  private onData(chunk: Buffer): void {
    this.buffer.append(chunk);
    for (;;) {
      let msg: JSONRPCMessage | null;
      try {
        msg = this.buffer.readMessage();
      } catch (err) {
        this.onerror?.(err as Error);
        continue;
      }
      if (!msg) break;
      this.onmessage?.(msg);
    }
  }

  private pipeStderr(child: ChildProcess): void {
    let partial = '';
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (text: string) => {
      const lines = (partial + text).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        if (!line.trim()) continue;
        this.stderrTail = [...this.stderrTail.slice(-9), line.slice(0, 500)];
        this.log.info('backend stderr', { line: line.slice(0, 2000) });
      }
    });
  }

  async send(message: JSONRPCMessage): Promise<void> {
    const stdin = this.child?.stdin;
    if (!stdin || this.closed) throw new Error('backend process is not running');
    await new Promise<void>((resolve, reject) => {
      stdin.write(serializeMessage(message), (err) => (err ? reject(err) : resolve()));
    });
  }

  /** Ends the child and its process group: SIGTERM, then SIGKILL after a grace period. */
  async close(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return this.finish();
    this.closed = true;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.stdin?.end();
    killGroup(child.pid, 'SIGTERM');
    const timer = setTimeout(() => killGroup(child.pid, 'SIGKILL'), 2000);
    await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
    clearTimeout(timer);
    killGroup(child.pid, 'SIGKILL');
    this.finish();
  }

  private finish(): void {
    if (this.closed && !this.onclose) return;
    this.closed = true;
    const cb = this.onclose;
    this.onclose = undefined;
    cb?.();
  }
}

function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (!pid) return;
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}
