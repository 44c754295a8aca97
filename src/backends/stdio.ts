/**
 * @module Child-process wire for stdio backends: newline-delimited JSON-RPC on stdin/stdout with the
 * gateway's own framing and a per-message size limit, stderr lines into the gateway log at a bounded
 * rate, and the whole process group killed on close (npx/uvx start grandchildren that a plain kill
 * would leave behind).
 */
import type { Child, SpawnFn } from '../deps.ts';
import { GatewayError, errorMessage } from '../errors.ts';
import type { Logger } from '../log.ts';
import { LineSplitter, idOfOverflow, type Overflow } from './framing.ts';
import { receivedAs, type RpcId, type RpcMessage, type Wire } from './rpc.ts';

/** How to start a stdio backend. */
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

/** Limits of one stdio wire. */
export interface StdioLimits {
  backend: string;
  maxMessageBytes: number;
  /** Stderr lines logged per second on average, and in a burst; the rest are counted and dropped. */
  stderrPerSecond?: number;
  stderrBurst?: number;
  /** Monotonic ms for the stderr rate; default performance.now. */
  now?: () => number;
}

const decoder = new TextDecoder();
const DROP_REPORT_MS = 10_000;

/** A JSON-RPC wire over a child process that owns its own process group. */
export class StdioWire implements Wire {
  onmessage?: (msg: RpcMessage) => void;
  onfail?: (id: RpcId, err: Error) => void;
  onclose?: (err?: Error) => void;
  private child?: Child;
  private closed = false;
  private closing?: Promise<void>;
  private queued = 0;
  private stderrTail: string[] = [];
  private readonly lines: LineSplitter;
  private readonly stderr: StderrLimiter;

  constructor(
    private readonly params: StdioParams,
    private readonly spawn: SpawnFn,
    private readonly log: Logger,
    private readonly limits: StdioLimits,
  ) {
    this.lines = new LineSplitter(limits.maxMessageBytes, (line) => this.line(line), (o) => this.overflow(o));
    this.stderr = new StderrLimiter(log, limits.stderrPerSecond ?? 20, limits.stderrBurst ?? 100, limits.now ?? (() => performance.now()));
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** The last lines the child wrote to stderr; used in error messages. */
  get recentStderr(): string {
    return this.stderrTail.join('\n');
  }

  /** Stderr lines not logged because of the rate limit. */
  get droppedStderrLines(): number {
    return this.stderr.droppedTotal;
  }

  async start(): Promise<void> {
    let child: Child;
    try {
      child = this.spawn([this.params.command, ...this.params.args], { cwd: this.params.cwd, env: this.params.env, stdin: 'pipe', detached: true });
    } catch (err) {
      throw new Error(`cannot start '${this.params.command}': ${errorMessage(err)}`);
    }
    this.child = child;
    void this.readStdout(child.stdout);
    void this.readStderr(child.stderr);
    // Bun hands over what the child wrote before it exited ahead of the exit itself (test/backends/stdio.test.ts).
    void child.exited.then((code) => {
      const signal = child.signalCode;
      if (!this.closed) this.log.warn('backend process exited', { pid: child.pid, code: signal ? null : code, signal });
      this.finish(new Error(signal ? `process killed by ${signal}` : `process exited with code ${code}`));
    });
  }

  /** Bun's pipe reader: each chunk goes straight to the line splitter (no node stream in between). */
  private async readStdout(stream: ReadableStream<Uint8Array>): Promise<void> {
    const reader = stream.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        this.lines.push(value);
      }
    } catch {
      // the pipe broke: the exit handler reports the process
    }
  }

  private line(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    let msg: RpcMessage;
    const text = decoder.decode(bytes);
    try {
      msg = JSON.parse(text) as RpcMessage;
    } catch {
      this.log.warn('backend wrote a line that is not JSON', { line: decoder.decode(bytes.subarray(0, 200)) });
      return;
    }
    if (msg.method === undefined && this.outstanding > 0) this.outstanding--;
    if (msg !== null && typeof msg === 'object') receivedAs(msg, text);
    this.onmessage?.(msg);
  }

  /** Fault 1 of issue 7: an oversized message fails its own call and the wire keeps reading. */
  private overflow(o: Overflow): void {
    const id = idOfOverflow(o);
    const limit = this.limits.maxMessageBytes;
    this.log.warn('backend message over the size limit, discarded', { bytes: o.bytes, limit, id });
    if (id === undefined) return;
    if (this.outstanding > 0) this.outstanding--;
    const message = `backend '${this.limits.backend}' sent a message of ${o.bytes} bytes, over the limit of ${limit} bytes (max_message_bytes)`;
    this.onfail?.(id, new GatewayError('backend_message_too_large', message, { detail: { backend: this.limits.backend, bytes: o.bytes, limit } }));
  }

  private async readStderr(stream: ReadableStream<Uint8Array>): Promise<void> {
    const utf8 = new TextDecoder();
    let partial = '';
    try {
      for await (const chunk of stream) {
        const lines = (partial + utf8.decode(chunk, { stream: true })).split('\n');
        partial = (lines.pop() ?? '').slice(-4096);
        for (const line of lines) {
          if (!line.trim()) continue;
          if (this.stderrTail.length >= 10) this.stderrTail.shift();
          this.stderrTail.push(line.slice(0, 500));
          this.stderr.line(line);
        }
      }
    } catch {
      // the pipe broke: nothing more to log
    }
  }

  send(msg: RpcMessage): void {
    const stdin = this.child?.stdin;
    if (!stdin || this.closed) throw new Error('backend process is not running');
    // Bounded: a child that stopped reading its stdin fails new calls instead of growing our buffer
    // (bytes whose flush is still pending are counted here).
    if (this.queued > this.limits.maxMessageBytes) throw new Error(`backend is not reading its stdin (${this.queued} bytes queued)`);
    const line = JSON.stringify(msg) + '\n';
    // Messages sent in the same turn of the event loop go out in one write (many concurrent calls cost one
    // syscall, not one each): with other requests in flight the flush waits until the turn's callbacks and
    // their promise chains have settled; a lone request goes out at the end of its own microtask run.
    if (this.batch === '') {
      if (this.outstanding > 0) setImmediate(this.flush);
      else queueMicrotask(this.flush);
    }
    this.batch += line;
    if (msg.method !== undefined && msg.id !== undefined && msg.id !== null) this.outstanding++;
  }

  private batch = '';
  /** Requests written and not answered, given up on or discarded yet (it only chooses when writes go out). */
  private outstanding = 0;

  /** The peer gave up on a request (cancelled, timed out): its answer is no longer awaited. */
  abandon(_id: RpcId): void {
    if (this.outstanding > 0) this.outstanding--;
  }
  private readonly flush = (): void => {
    const text = this.batch;
    this.batch = '';
    const stdin = this.child?.stdin;
    if (!text || !stdin || this.closed) return;
    try {
      const wrote = stdin.write(text);
      if (typeof wrote !== 'number') wrote.catch(() => {});
      const flushed = stdin.flush();
      // A full pipe: the rest goes out when the child reads; until then it counts against the bound.
      if (typeof flushed !== 'number') {
        const bytes = text.length;
        this.queued += bytes;
        const release = () => void (this.queued -= bytes);
        flushed.then(release, release);
      }
    } catch {
      // the pipe is closed: the exit handler fails what is in flight
    }
  };

  /** Ends the child and its process group: SIGTERM, then SIGKILL after a grace period. */
  close(): Promise<void> {
    this.closing ??= this.end();
    return this.closing;
  }

  private async end(): Promise<void> {
    const child = this.child;
    this.stderr.flush();
    if (!child || child.exitCode !== null || child.signalCode !== null) return this.finish();
    this.closed = true;
    const exited = child.exited.then(() => {});
    try {
      void Promise.resolve(child.stdin?.end()).catch(() => {});
    } catch {
      // already closed
    }
    killGroup(child.pid, 'SIGTERM');
    const timer = setTimeout(() => killGroup(child.pid, 'SIGKILL'), 2000);
    await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
    clearTimeout(timer);
    killGroup(child.pid, 'SIGKILL');
    this.finish();
  }

  private finish(err?: Error): void {
    this.closed = true;
    this.outstanding = 0;
    this.lines.reset();
    this.stderr.flush();
    const cb = this.onclose;
    this.onclose = undefined;
    cb?.(err);
  }
}

/** Logs backend stderr lines through a token bucket; counts and periodically reports the dropped ones. */
class StderrLimiter {
  droppedTotal = 0;
  private unreported = 0;
  private tokens: number;
  private last: number;
  private reportTimer?: ReturnType<typeof setTimeout>;

  constructor(
    private readonly log: Logger,
    private readonly rate: number,
    private readonly burst: number,
    private readonly now: () => number,
  ) {
    this.tokens = burst;
    this.last = now();
  }

  line(line: string): void {
    const t = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((t - this.last) * this.rate) / 1000);
    this.last = t;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      if (this.unreported > 0) this.flush();
      this.log.info('backend stderr', { line: line.slice(0, 2000) });
      return;
    }
    this.droppedTotal++;
    this.unreported++;
    if (!this.reportTimer) {
      this.reportTimer = setTimeout(() => this.flush(), DROP_REPORT_MS);
      this.reportTimer.unref?.();
    }
  }

  /** Logs how many lines were dropped since the last report, if any. */
  flush(): void {
    clearTimeout(this.reportTimer);
    this.reportTimer = undefined;
    if (this.unreported === 0) return;
    this.log.warn('backend stderr lines dropped (rate limit)', { dropped: this.unreported, dropped_total: this.droppedTotal });
    this.unreported = 0;
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
