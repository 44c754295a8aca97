/**
 * @module Backend faults of issue 7 (faults 1, 6, 7) and issue 8 (auto connect timeout), against
 * `test/helpers/fault-backend.ts` as a real child process on loopback.
 */
import { expect, test } from 'bun:test';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Backend } from '../../src/backends/backend.ts';
import { systemDeps } from '../../src/deps.ts';
import { silentLogger } from '../../src/log.ts';
import { FAULT_BACKEND_PATH, spawnFaultHttp, startBackend, textOf } from '../helpers/backend-world.ts';
import { spawnBackend, waitFor } from '../helpers/clients.ts';

const MiB = 1024 * 1024;
const stdioFault = { transport: 'stdio' as const, command: process.execPath, args: [FAULT_BACKEND_PATH], maxMessageBytes: MiB };
const echo = { name: 'echo', arguments: { text: 'still here' } };

test('issue 7 fault 1: a 12 MB stdio message fails that call naming the limit, and the backend keeps working', async () => {
  await using w = await startBackend(stdioFault);
  const b = w.backend;
  expect(b.state).toBe('up');
  Bun.gc(true);
  const rss0 = process.memoryUsage().rss;
  for (let i = 0; i < 2; i++) {
    const t0 = performance.now();
    const err = await b.request('tools/call', { name: 'big', arguments: {} }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toContain("backend 'b'");
    expect((err as Error).message).toContain(`over the limit of ${MiB} bytes (max_message_bytes)`);
    expect((err as { code?: string }).code).toBe('backend_message_too_large');
    expect(performance.now() - t0).toBeLessThan(3_000);
    expect(textOf(await b.request('tools/call', echo))).toBe('still here');
  }
  Bun.gc(true);
  // The old ReadBuffer held each 12 MB line (and its decoded copy); the splitter keeps 1 KiB of it.
  expect(process.memoryUsage().rss - rss0).toBeLessThan(24 * MiB);
  expect(b.state).toBe('up');
  expect(w.logs.some((l) => l.level === 'warn' && l.msg.includes('over the size limit') && l.limit === MiB)).toBe(true);
}, 10_000);

test('issue 7 item 5: stdio stderr is logged at a bounded rate and dropped lines are counted', async () => {
  await using w = await startBackend({ ...stdioFault });
  await w.backend.request('tools/call', { name: 'stderr', arguments: { lines: 600 } });
  await waitFor(() => w.logs.filter((l) => l.msg === 'backend stderr').length + (w.backend.status().droppedStderrLines ?? 0) >= 600, {
    timeoutMs: 3_000,
    what: 'all stderr lines seen',
  });
  const logged = w.logs.filter((l) => l.msg === 'backend stderr').length;
  expect(logged).toBeGreaterThanOrEqual(100);
  expect(logged).toBeLessThan(200);
  expect(w.backend.status().droppedStderrLines).toBe(600 - logged);
  await w.backend.close();
  const reports = w.logs.filter((l) => l.msg.startsWith('backend stderr lines dropped'));
  expect(reports.reduce((sum, l) => sum + Number(l.dropped), 0)).toBe(600 - logged);
  expect(reports.at(-1)?.dropped_total).toBe(600 - logged);
});

test('issue 7 fault 6: an HTTP backend that ends its SSE response before the result fails the call at once', async () => {
  await using server = await spawnFaultHttp();
  await using w = await startBackend({ transport: 'streamable-http', url: server.url, timeout: 30_000 });
  expect(w.backend.state).toBe('up');
  const t0 = performance.now();
  const err = await w.backend.request('tools/call', { name: 'cut', arguments: {} }).catch((e: Error) => e);
  expect(performance.now() - t0).toBeLessThan(1_000);
  expect((err as Error).message).toContain("backend 'b'");
  expect((err as Error).message).toContain('ended before the result');
  expect(textOf(await w.backend.request('tools/call', echo))).toBe('still here');
  expect(w.backend.state).toBe('up');
});

test('issue 7 fault 6: an HTTP backend that resets the socket mid-response fails the call at once', async () => {
  await using server = await spawnFaultHttp();
  await using w = await startBackend({ transport: 'streamable-http', url: server.url, timeout: 30_000 });
  const t0 = performance.now();
  const err = await w.backend.request('tools/call', { name: 'reset', arguments: {} }).catch((e: Error) => e);
  expect(performance.now() - t0).toBeLessThan(1_000);
  expect((err as Error).message).toMatch(/backend 'b' failed during the call: the response stream (broke|ended) before the result/);
  expect(textOf(await w.backend.request('tools/call', echo))).toBe('still here');
});

test('issue 7 item 7: an HTTP message over max_message_bytes fails its call and the backend keeps working', async () => {
  await using server = await spawnFaultHttp();
  await using w = await startBackend({ transport: 'streamable-http', url: server.url, maxMessageBytes: MiB });
  const err = await w.backend.request('tools/call', { name: 'big', arguments: {} }).catch((e: Error) => e);
  expect((err as Error).message).toContain(`over the limit of ${MiB} bytes (max_message_bytes)`);
  expect(textOf(await w.backend.request('tools/call', echo))).toBe('still here');
});

test('issue 7 item 7: a 404 on the backend session re-initializes it and retries the call once (spec-checklist §2.4)', async () => {
  await using server = await spawnFaultHttp();
  await using w = await startBackend({ transport: 'streamable-http', url: server.url });
  await w.backend.request('tools/call', { name: 'expire', arguments: {} });
  expect(textOf(await w.backend.request('tools/call', echo))).toBe('still here');
  const stats = JSON.parse(textOf(await w.backend.request('tools/call', { name: 'stats', arguments: {} }))) as Record<string, number>;
  expect(stats.initialize).toBe(2);
  expect(stats['notifications/initialized']).toBe(2);
  expect(w.backend.state).toBe('up');
  // The new session may offer other tools: the catalog is listed again.
  await waitFor(() => w.logs.some((l) => l.msg === 'catalog refreshed'), { timeoutMs: 2_000, what: 'catalog re-listed' });
});

test('issue 7 fault 7: a dead HTTP backend is detected by the health ping, marked down with last_error and a warn line, and comes back up', async () => {
  let server = await spawnFaultHttp();
  try {
    await using w = await startBackend({ transport: 'streamable-http', url: server.url, healthInterval: 150, connectTimeout: 1_000, retryInitial: 100, retryMax: 200 });
    expect(w.backend.state).toBe('up');
    const changes = w.changed.length;
    await server.stop();
    await waitFor(() => w.backend.state === 'down', { timeoutMs: 2_000, what: 'backend marked down' });
    const status = w.backend.status();
    expect(status.lastError).toContain('health check failed');
    expect(status.lastErrorAt).toBeDefined();
    expect(w.changed.length).toBeGreaterThan(changes);
    expect(w.logs.some((l) => l.level === 'warn' && l.msg === 'backend down' && String(l.error).includes('health check failed'))).toBe(true);
    const retry = w.backend.status().nextRetryAt ?? (await waitFor(() => w.backend.status().nextRetryAt, { timeoutMs: 1_000, what: 'nextRetryAt' }));
    expect(Date.parse(retry)).toBeGreaterThan(Date.now() - 1_000);
    server = await spawnFaultHttp(server.port);
    await waitFor(() => w.backend.state === 'up', { timeoutMs: 3_000, what: 'backend up again' });
    expect(textOf(await w.backend.request('tools/call', echo))).toBe('still here');
  } finally {
    await server.stop();
  }
});

test('issue 7 fault 7: with pings off, a failed call triggers a health check that marks a dead HTTP backend down', async () => {
  await using server = await spawnFaultHttp();
  await using w = await startBackend({ transport: 'streamable-http', url: server.url, healthInterval: 0, retryInitial: 5_000, retryMax: 5_000 });
  await server.stop();
  const err = await w.backend.request('tools/call', echo).catch((e: Error) => e);
  expect((err as Error).message).toContain("backend 'b' failed during the call");
  await waitFor(() => w.backend.state === 'down', { timeoutMs: 2_000, what: 'backend marked down after the failed call' });
  expect(w.backend.status().lastError).toContain('health check failed');
});

test('issue 8: connect_timeout bounds the whole auto attempt (streamable-http then sse) and says so truthfully', async () => {
  const sockets = new Set<Socket>();
  const silent = createServer((s) => void sockets.add(s));
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  try {
    const port = (silent.address() as { port: number }).port;
    const t0 = performance.now();
    await using w = await startBackend({ transport: 'auto', url: `http://127.0.0.1:${port}/mcp`, connectTimeout: 500, retryInitial: 60_000, retryMax: 60_000 });
    const elapsed = performance.now() - t0;
    expect(w.backend.state).toBe('down');
    expect(elapsed).toBeGreaterThanOrEqual(450);
    expect(elapsed).toBeLessThan(1_000);
    expect(w.backend.status().lastError).toBe('streamable-http: connect timed out after 500 ms');
  } finally {
    for (const s of sockets) s.destroy();
    silent.close();
  }
});

test('issue 8: auto falls back from streamable-http to sse at once when the server refuses the POST (spec-checklist §2.11)', async () => {
  await using sse = await spawnBackend({ sse: true });
  const t0 = performance.now();
  await using w = await startBackend({ transport: 'auto', url: sse.url, connectTimeout: 5_000 });
  expect(w.backend.state).toBe('up');
  expect(w.backend.status().transport).toBe('sse');
  expect(performance.now() - t0).toBeLessThan(3_000);
  expect(textOf(await w.backend.request('tools/call', echo))).toBe('still here');
});

test('closing a stdio backend that is still connecting kills its child at once', async () => {
  const pidFile = join(tmpdir(), `mcpgw-pid-${crypto.randomUUID()}`);
  const script = `require('fs').writeFileSync(${JSON.stringify(pidFile)}, String(process.pid)); setInterval(() => {}, 1000)`;
  const backend = new Backend(
    { name: 'mute', transport: 'stdio', command: process.execPath, args: ['-e', script], timeout: 5_000, connectTimeout: 20_000, retryInitial: 1_000, retryMax: 1_000, enabled: true },
    systemDeps({ log: silentLogger }),
    { changed() {}, notification() {}, serverRequest: async () => ({}) },
  );
  backend.start();
  try {
    const pid = await waitFor(() => existsSync(pidFile) && Number(readFileSync(pidFile, 'utf8')), { timeoutMs: 5_000, what: 'child pid' });
    const t0 = performance.now();
    await backend.close();
    await backend.ready();
    expect(performance.now() - t0).toBeLessThan(3_000);
    expect(() => process.kill(pid, 0)).toThrow();
  } finally {
    await backend.close();
    rmSync(pidFile, { force: true });
  }
});

test('issue 7 item 5: a stdio child that stops reading its stdin fails new calls instead of growing the write buffer', async () => {
  await using w = await startBackend({ ...stdioFault, timeout: 3_000 });
  await w.backend.request('tools/call', { name: 'deaf', arguments: {} });
  const payload = { name: 'echo', arguments: { text: 'z'.repeat(600 * 1024) } };
  const stuck: Promise<unknown>[] = [];
  let refused: Error | undefined;
  for (let i = 0; i < 10 && !refused; i++) {
    const call = w.backend.request('tools/call', payload);
    stuck.push(call.catch((e: Error) => e));
    const settled = await Promise.race([call.then(() => undefined, (e: Error) => e), Bun.sleep(50).then(() => undefined)]);
    if (settled instanceof Error && settled.message.includes('not reading its stdin')) refused = settled;
  }
  expect(refused?.message).toContain("backend 'b' failed during the call: backend is not reading its stdin");
  await w.backend.close();
  await Promise.all(stuck);
});

test('a stdio child that exits during initialize is one failed attempt: one warn line, one retry timer, its exit in last_error', async () => {
  await using w = await startBackend({ transport: 'stdio', command: process.execPath, args: ['-e', 'process.stderr.write("no config\\n"); process.exit(3)'], retryInitial: 60_000, retryMax: 60_000 });
  expect(w.backend.state).toBe('down');
  await Bun.sleep(100);
  expect(w.logs.filter((l) => l.msg === 'backend connect failed')).toHaveLength(1);
  expect(w.backend.status().lastError).toMatch(/process exited with code 3.*stderr: no config/);
});

test('issue 7 item 5: a cancelled or timed-out HTTP call frees its connection instead of holding the SSE answer open', async () => {
  await using server = await spawnFaultHttp();
  await using w = await startBackend({ transport: 'streamable-http', url: server.url, timeout: 200 });
  for (let i = 0; i < 4; i++) {
    const ac = new AbortController();
    const call = w.backend.request('tools/call', { name: 'hang', arguments: {} }, { signal: ac.signal }).catch((e: Error) => e);
    await Bun.sleep(50);
    ac.abort(new Error('client went away'));
    expect(((await call) as Error).message).toBe('client went away');
  }
  for (let i = 0; i < 2; i++) expect(((await w.backend.request('tools/call', { name: 'hang', arguments: {} }).catch((e: Error) => e)) as Error).message).toContain('did not answer within 200 ms');
  const stats = await waitFor(
    async () => {
      const s = JSON.parse(textOf(await w.backend.request('tools/call', { name: 'stats', arguments: {} }))) as Record<string, number>;
      return s.connections <= 3 && s;
    },
    { timeoutMs: 2_000, what: 'hung answers released' },
  );
  expect(stats['notifications/cancelled']).toBe(6);
});

test('issue 7 fault 7: a backend too busy to answer a ping during a call is not marked down (its call completes)', async () => {
  await using server = await spawnFaultHttp();
  await using w = await startBackend({ transport: 'streamable-http', url: server.url, healthInterval: 100, connectTimeout: 300 });
  const result = await w.backend.request('tools/call', { name: 'block', arguments: { ms: 1_200 } });
  expect(textOf(result)).toBe('unblocked');
  expect(w.backend.state).toBe('up');
  expect(w.logs.some((l) => l.msg === 'health ping not answered while calls are in flight')).toBe(true);
});
