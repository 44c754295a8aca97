import { expect, test } from 'bun:test';
import { backendEnv, StdioWire } from '../../src/backends/stdio.ts';
import { bunSpawn, type Child, type SpawnFn } from '../../src/deps.ts';
import { silentLogger } from '../../src/log.ts';

test('stdio backends get a minimal environment: PATH with the usual tool places, HOME, LANG, plus their env', () => {
  const env = backendEnv({ PATH: '/custom/bin', HOME: '/home/u', LANG: 'de_DE.UTF-8', SECRET_TOKEN: 'x', AWS_KEY: 'y' }, { API: 'k' }, '/opt/mcpgw');
  expect(Object.keys(env).sort()).toEqual(['API', 'HOME', 'LANG', 'PATH']);
  const path = env.PATH.split(':');
  for (const p of ['/custom/bin', '/opt/mcpgw', '/home/u/.local/bin', '/home/u/.npm-global/bin', '/usr/local/bin', '/usr/bin', '/bin']) expect(path).toContain(p);
  expect(new Set(path).size).toBe(path.length);
  expect(env.API).toBe('k');
  expect(backendEnv({}, {}).LANG).toBe('C.UTF-8');
});

/** A stdio child that answers every request line with an empty result (no SDK: only the wire is under test). */
const ANSWERER = `
let buf = '';
process.stdin.on('data', (c) => {
  buf += c;
  let nl;
  while ((nl = buf.indexOf('\\n')) >= 0) {
    const m = JSON.parse(buf.slice(0, nl));
    buf = buf.slice(nl + 1);
    if (m.id !== undefined && m.method !== 'silent') process.stdout.write(JSON.stringify({ jsonrpc: '2.0', id: m.id, result: { n: m.params.n } }) + '\\n');
  }
});`;

test('issue 7 speed: requests sent across one turn of the event loop share one write to the child; a lone request goes out at once', async () => {
  const writes: number[] = [];
  // The real child, with its stdin's writes counted (each write is one syscall when the pipe has room).
  const spawn: SpawnFn = (argv, options) => {
    const child = bunSpawn(argv, options);
    const stdin = child.stdin!;
    const counted: Child['stdin'] = {
      write: (chunk) => (writes.push(String(chunk).split('\n').length - 1), stdin.write(chunk)),
      flush: () => stdin.flush(),
      end: () => stdin.end(),
    };
    return {
      pid: child.pid,
      stdin: counted,
      stdout: child.stdout,
      stderr: child.stderr,
      exited: child.exited,
      get exitCode() {
        return child.exitCode;
      },
      get signalCode() {
        return child.signalCode;
      },
      kill: (signal) => child.kill(signal),
    };
  };
  const wire = new StdioWire({ command: process.execPath, args: ['-e', ANSWERER], env: backendEnv(process.env, {}) }, spawn, silentLogger, { backend: 't', maxMessageBytes: 1 << 20 });
  const answers = new Map<number, unknown>();
  let waiting: (() => void) | undefined;
  wire.onmessage = (m) => (answers.set(Number(m.id), m.result), waiting?.());
  await wire.start();
  try {
    const until = async (n: number) => {
      const end = Date.now() + 5000;
      while (answers.size < n && Date.now() < end) await new Promise<void>((r) => ((waiting = r), setTimeout(r, 50)));
    };
    // A lone request: written on its own, at once.
    wire.send({ jsonrpc: '2.0', id: 1, method: 'm', params: { n: 1 } });
    await until(1);
    expect(writes).toEqual([1]);
    // 40 requests from separate promise continuations of one turn (as concurrent HTTP requests arrive).
    for (let i = 2; i <= 41; i++) {
      await Promise.resolve();
      wire.send({ jsonrpc: '2.0', id: i, method: 'm', params: { n: i } });
    }
    await until(41);
    expect(answers.size).toBe(41);
    expect([...answers.keys()].sort((a, b) => a - b)).toEqual(Array.from({ length: 41 }, (_, i) => i + 1));
    expect(writes.reduce((a, b) => a + b, 0)).toBe(41);
    // The first of the 40 finds nothing in flight and goes at once; the rest wait for the end of the turn.
    expect(writes.length).toBeLessThanOrEqual(3);
    // A request never answered but given up on (cancelled, timed out) no longer counts as in flight: the next
    // lone request is written within its own microtask run, before any other event-loop work.
    wire.send({ jsonrpc: '2.0', id: 100, method: 'silent', params: { n: 0 } });
    await new Promise((r) => setTimeout(r, 20));
    wire.abandon(100);
    const before = writes.length;
    wire.send({ jsonrpc: '2.0', id: 42, method: 'm', params: { n: 42 } });
    for (let i = 0; i < 5; i++) await Promise.resolve();
    expect(writes.length).toBe(before + 1);
    await until(42);
    expect(answers.get(42)).toEqual({ n: 42 });
  } finally {
    await wire.close();
  }
});

/** A child that answers its first request, then exits at once (a one-shot tool, or a crash right after answering). */
const ONE_SHOT = `
let buf = '';
process.stdin.on('data', (c) => {
  buf += c;
  const nl = buf.indexOf('\\n');
  if (nl < 0) return;
  const m = JSON.parse(buf.slice(0, nl));
  const big = 'x'.repeat(200000);
  process.stdout.write(JSON.stringify({ jsonrpc: '2.0', id: m.id, result: { big } }) + '\\n', () => process.exit(0));
});`;

test('an answer written just before the child exits still reaches its call before the wire closes', async () => {
  for (let round = 0; round < 5; round++) {
    const wire = new StdioWire({ command: process.execPath, args: ['-e', ONE_SHOT], env: backendEnv(process.env, {}) }, bunSpawn, silentLogger, { backend: 't', maxMessageBytes: 1 << 20 });
    let answer: unknown;
    let closedBeforeAnswer = false;
    const closed = new Promise<void>((resolve) => {
      wire.onclose = () => {
        if (answer === undefined) closedBeforeAnswer = true;
        resolve();
      };
    });
    wire.onmessage = (m) => void (answer = m.result);
    await wire.start();
    wire.send({ jsonrpc: '2.0', id: 1, method: 'm', params: {} });
    await closed;
    expect(closedBeforeAnswer).toBe(false);
    expect((answer as { big: string }).big.length).toBe(200000);
  }
});
