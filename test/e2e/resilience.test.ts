/** A dying backend, config reload and shutdown, through the compiled binary (issue 2 §3, §7). */
import { describe, expect, test } from 'bun:test';
import { BACKEND_PATH, backendArgs, connectV2, waitFor } from '../helpers/clients.ts';
import { EVERYTHING } from '../helpers/everything.ts';
import { baseConfig, startGatewayProcess } from '../helpers/gateway-process.ts';
import { alive, childProcesses } from '../helpers/procs.ts';

const alpha = { command: process.execPath, args: [BACKEND_PATH, ...backendArgs({ name: 'alpha' })], timeout: '5s' };
const everything = { command: 'node', args: [EVERYTHING, 'stdio'] };
const text = (r: { content?: unknown }) => ((r.content as { text: string }[]) ?? [])[0]?.text ?? '';

describe('resilience', () => {
  test('kill -9 of a stdio backend: error result in time, others answer, its tools stay listed, it restarts, no list_changed storm (issue 7 fault 8)', async () => {
    await using gw = await startGatewayProcess((d) => baseConfig(d, { alpha, everything }));
    await gw.waitForLog(() => gw.logs.filter((l) => l.msg === 'backend up').length >= 2, 30_000);
    await using c = await connectV2(gw.mcpUrl);
    const child = childProcesses(gw.pid).find((p) => p.cmdline.includes('--name alpha'))!;
    expect(child).toBeDefined();
    const inflight = c.client.callTool({ name: 'alpha_slow', arguments: { ms: 20_000, steps: 20 } });
    await Bun.sleep(300);
    const started = Date.now();
    process.kill(child.pid, 'SIGKILL');
    const r = await inflight;
    expect(r.isError).toBe(true);
    expect(text(r)).toContain("backend 'alpha'");
    expect(Date.now() - started).toBeLessThan(5_000);
    // the other backend keeps answering
    expect(text(await c.client.callTool({ name: 'everything_echo', arguments: { message: 'still here' } }))).toContain('still here');
    // while down, its tools stay listed (last known catalog) and a call is a tool error naming it, never "Unknown tool"
    await gw.waitForLog((l) => l.msg === 'backend down' && l.backend === 'alpha', 5000);
    expect((await c.client.listTools()).tools.some((t) => t.name === 'alpha_echo')).toBe(true);
    const whileDown = await c.client.callTool({ name: 'alpha_echo', arguments: { text: 'x' } });
    if (whileDown.isError) expect(text(whileDown)).toContain("backend 'alpha'");
    // it is restarted with backoff and answers again
    await waitFor(async () => text(await c.client.callTool({ name: 'alpha_echo', arguments: { text: 'back' } })) === 'back', { timeoutMs: 15_000, intervalMs: 200, what: 'alpha back' });
    // the catalog did not change across the restart, so clients got no list_changed for it
    expect(c.notifications.filter((n) => n.method === 'notifications/tools/list_changed')).toEqual([]);
    expect(gw.logs.filter((l) => l.msg === 'backend down' && l.backend === 'alpha').length).toBe(1);
    expect(childProcesses(gw.pid).find((p) => p.cmdline.includes('--name alpha'))!.pid).not.toBe(child.pid);
    const health = (await (await fetch(`${gw.url}/health`)).json()) as { backends: { up: number } };
    expect(health.backends.up).toBe(2);
  }, 60_000);

  test('a backend that cannot start is marked down with its error; the gateway serves the others', async () => {
    await using gw = await startGatewayProcess((d) => baseConfig(d, { everything, broken: { command: '/nonexistent/mcp-server' } }));
    await gw.waitForLog((l) => l.msg === 'backend connect failed' && l.backend === 'broken', 20_000);
    await gw.waitForLog((l) => l.msg === 'backend up' && l.backend === 'everything', 20_000);
    const status = (await (await fetch(`${gw.url}/status`)).json()) as { backends: { name: string; state: string; lastError?: string; tools: number }[] };
    const broken = status.backends.find((b) => b.name === 'broken')!;
    expect(broken.state).not.toBe('up');
    expect(broken.lastError).toContain('/nonexistent/mcp-server');
    const ok = status.backends.find((b) => b.name === 'everything')!;
    expect(ok).toMatchObject({ state: 'up', transport: 'stdio' });
    expect(ok.tools).toBeGreaterThan(0);
    expect(await (await fetch(`${gw.url}/health`)).json()).toEqual({ status: 'degraded', backends: { up: 1, down: 1 } });
  }, 60_000);

  test('reload adds and removes a backend without dropping an open session; an invalid config is rejected', async () => {
    let config: Record<string, unknown> = {};
    await using gw = await startGatewayProcess((d) => (config = baseConfig(d, { everything })));
    await gw.waitForLog((l) => l.msg === 'backend up', 20_000);
    await using c = await connectV2(gw.mcpUrl);
    expect((await c.client.listTools()).tools.some((t) => t.name.startsWith('alpha_'))).toBe(false);

    gw.writeConfig({ ...config, backends: { everything, alpha } });
    await waitFor(() => c.notifications.some((n) => n.method === 'notifications/tools/list_changed'), { timeoutMs: 15_000, what: 'list_changed after add' });
    await waitFor(async () => (await c.client.listTools()).tools.some((t) => t.name === 'alpha_echo'), { timeoutMs: 15_000 });
    expect(text(await c.client.callTool({ name: 'alpha_echo', arguments: { text: 'same session' } }))).toBe('same session');
    const alphaPid = childProcesses(gw.pid).find((p) => p.cmdline.includes('--name alpha'))!.pid;

    // an invalid config is logged and the old one keeps serving
    (await import('node:fs')).writeFileSync(gw.configPath, 'listen: [oops\n');
    process.kill(gw.pid, 'SIGHUP');
    const rejected = await gw.waitForLog((l) => l.msg === 'config reload rejected; the old config keeps serving', 10_000);
    expect(JSON.stringify(rejected.issues)).toContain('gateway.yaml:');
    expect(text(await c.client.callTool({ name: 'alpha_echo', arguments: { text: 'old config' } }))).toBe('old config');

    const before = c.notifications.length;
    gw.writeConfig({ ...config, backends: { everything } });
    process.kill(gw.pid, 'SIGHUP');
    await waitFor(() => c.notifications.slice(before).some((n) => n.method === 'notifications/tools/list_changed'), { timeoutMs: 15_000, what: 'list_changed after remove' });
    await waitFor(async () => !(await c.client.listTools()).tools.some((t) => t.name === 'alpha_echo'), { timeoutMs: 15_000 });
    await waitFor(() => !alive(alphaPid), { timeoutMs: 5000, what: 'removed backend process killed' });
    // the session survived both reloads
    expect(text(await c.client.callTool({ name: 'everything_echo', arguments: { message: 'alive' } }))).toContain('alive');
  }, 90_000);

  test('a backend slower than its timeout gives an error result naming it, not a hang', async () => {
    await using gw = await startGatewayProcess((d) => baseConfig(d, { alpha: { ...alpha, timeout: '1s' } }));
    await gw.waitForLog((l) => l.msg === 'backend up', 20_000);
    await using c = await connectV2(gw.mcpUrl);
    const started = Date.now();
    const r = await c.client.callTool({ name: 'alpha_slow', arguments: { ms: 5000, steps: 1 } });
    expect(r.isError).toBe(true);
    expect(text(r)).toContain("backend 'alpha' did not answer within 1000 ms");
    expect(Date.now() - started).toBeLessThan(4000);
  }, 30_000);

  test('removing a stdio backend kills its whole process group, grandchildren included', async () => {
    let config: Record<string, unknown> = {};
    const script = `sleep 300 & echo $! > "$PIDFILE"; exec "${process.execPath}" "${BACKEND_PATH}" --name sh`;
    await using gw = await startGatewayProcess((d) => (config = baseConfig(d, { wrapped: { command: 'sh', args: ['-c', script], env: { PIDFILE: `${d}/sleep.pid` } }, everything })));
    await gw.waitForLog(() => gw.logs.filter((l) => l.msg === 'backend up').length >= 2, 30_000);
    const sleepPid = Number((await Bun.file(`${gw.dir}/sleep.pid`).text()).trim());
    expect(alive(sleepPid)).toBe(true);
    gw.writeConfig({ ...config, backends: { everything } });
    await waitFor(() => !alive(sleepPid), { timeoutMs: 10_000, what: 'grandchild killed with the group' });
  }, 60_000);

  test('SIGTERM lets an in-flight call finish, kills children and exits 0', async () => {
    const gw = await startGatewayProcess((d) => baseConfig(d, { alpha, everything }));
    try {
      await gw.waitForLog(() => gw.logs.filter((l) => l.msg === 'backend up').length >= 2, 30_000);
      const children = childProcesses(gw.pid).map((p) => p.pid);
      expect(children.length).toBeGreaterThanOrEqual(2);
      const c = await connectV2(gw.mcpUrl);
      const call = c.client.callTool({ name: 'alpha_slow', arguments: { ms: 1500, steps: 3 } });
      await Bun.sleep(200);
      const exit = gw.stop('SIGTERM');
      expect(text(await call)).toBe('done');
      expect(await exit).toBe(0);
      for (const pid of children) expect(alive(pid)).toBe(false);
      expect(gw.logs.some((l) => l.msg === 'stopped')).toBe(true);
    } finally {
      await gw[Symbol.asyncDispose]();
    }
  }, 60_000);
});
