/**
 * Operator conveniences for backends (issue 9 item 8), through the compiled binary: `backends tools --enable/--disable`,
 * `backends add --connect-timeout` with progress and a preview that applies allow/deny, and allow/deny globs that
 * match no tool warned about at add, reload (log) and `backends tools`/`show`.
 */
import { describe, expect, test } from 'bun:test';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { adminRequest } from '../../src/http/admin.ts';
import { editToolLists, unmatchedGlobs } from '../../src/mcp/tool-lists.ts';
import { BACKEND_PATH, backendArgs, waitFor } from '../helpers/clients.ts';
import { ensureBinary, runBinary } from '../helpers/cli.ts';
import { baseConfig, startGatewayProcess } from '../helpers/gateway-process.ts';

ensureBinary();

const backend = (name: string, extra: Record<string, unknown> = {}) => ({ command: process.execPath, args: [BACKEND_PATH, ...backendArgs({ name })], timeout: '5s', ...extra });

function tempDir() {
  const dir = mkdtempSync(join(tmpdir(), 'mcpgw-tools-'));
  return { dir, [Symbol.dispose]: () => rmSync(dir, { recursive: true, force: true }) };
}

describe('issue 9 item 8: tool lists', () => {
  test('editToolLists: disable adds to deny; enable removes from deny and adds to a narrow allow; a covering glob is reported', () => {
    expect(editToolLists(['*'], [], [], ['echo'])).toEqual({ allow: ['*'], deny: ['echo'], stillHidden: [] });
    expect(editToolLists(['*'], ['echo'], ['echo'], [])).toEqual({ allow: ['*'], deny: [], stillHidden: [] });
    expect(editToolLists(['read_*'], [], ['echo'], [])).toEqual({ allow: ['read_*', 'echo'], deny: [], stillHidden: [] });
    expect(editToolLists(['echo'], [], [], ['echo'])).toEqual({ allow: ['echo'], deny: ['echo'], stillHidden: [] });
    expect(editToolLists(['*'], ['ad*'], ['add'], [])).toEqual({ allow: ['*'], deny: ['ad*'], stillHidden: [{ tool: 'add', glob: 'ad*' }] });
    expect(unmatchedGlobs({ allow: ['*', 'ech?'], deny: ['nope_*'] }, ['echo'])).toEqual([{ list: 'deny', glob: 'nope_*' }]);
  });

  test('backends tools --disable/--enable edit tools.deny with comments kept, and the running gateway hides and shows the tool', async () => {
    await using gw = await startGatewayProcess((d) => baseConfig(d, { alpha: backend('alpha') }));
    await gw.waitForLog((l) => l.msg === 'backend up', 20_000);
    writeFileSync(gw.configPath, `# hand-written comment stays\n${readFileSync(gw.configPath, 'utf8')}`);
    const dataDir = join(gw.dir, 'state');
    const exposed = async () => ((await adminRequest(dataDir, '/tools')) as { exposed: string }[]).map((t) => t.exposed);
    const cli = (...args: string[]) => runBinary(['backends', 'tools', ...args, '--config', gw.configPath]);

    const off = await cli('alpha', '--disable', 'echo', 'add');
    expect(off.code).toBe(0);
    expect(off.stderr.split('\n')[0]).toBe(`✓ disabled echo, add in backend 'alpha': tools.allow ["*"], tools.deny ["echo","add"]`);
    expect(off.stderr).toContain('the running gateway reloaded its config');
    const text = readFileSync(gw.configPath, 'utf8');
    expect(text.startsWith('# hand-written comment stays\n')).toBe(true);
    await waitFor(async () => !(await exposed()).includes('alpha_echo'), { timeoutMs: 10_000, what: 'alpha_echo hidden' });
    expect(await exposed()).not.toContain('alpha_add');

    const list = await cli('alpha', '--json');
    expect(list.code).toBe(0);
    const tools = (JSON.parse(list.stdout) as { tools: { name: string; enabled: boolean; reason: string | null }[]; unmatched: unknown[] });
    expect(tools.tools.find((t) => t.name === 'echo')).toEqual({ name: 'echo', enabled: false, reason: 'deny echo' });
    expect(tools.tools.find((t) => t.name === 'slow')).toEqual({ name: 'slow', enabled: true, reason: null });
    expect(tools.unmatched).toEqual([]);

    const on = await cli('alpha', '--enable', 'echo');
    expect(on.code).toBe(0);
    await waitFor(async () => (await exposed()).includes('alpha_echo'), { timeoutMs: 10_000, what: 'alpha_echo back' });
    expect(readFileSync(gw.configPath, 'utf8').startsWith('# hand-written comment stays\n')).toBe(true);
  }, 60_000);

  test('enabling a tool a deny glob covers: the glob is named, exit 1', async () => {
    using t = tempDir();
    const path = join(t.dir, 'gateway.yaml');
    writeFileSync(path, `data_dir: ${join(t.dir, 'state')}\nauth: { mode: none }\nbackends:\n  alpha:\n    command: ${process.execPath}\n    tools:\n      deny: ["ad*"]\n`);
    const r = await runBinary(['backends', 'tools', 'alpha', '--enable', 'add', '--config', path]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`warning: 'add' stays disabled: tools.deny 'ad*' covers it (edit that glob in ${path})`);
  });

  test('backends add previews with --deny applied, warns about a glob that matches nothing, and writes --connect-timeout', async () => {
    using t = tempDir();
    const path = join(t.dir, 'gateway.yaml');
    writeFileSync(path, `data_dir: ${join(t.dir, 'state')}\nauth: { mode: none }\n`);
    const r = await runBinary(['backends', 'add', 'alpha', '--deny', 'ad*', '--deny', 'nomatch_*', '--connect-timeout', '20s', '--config', path, '--', process.execPath, BACKEND_PATH, '--name', 'alpha']);
    expect(r.code).toBe(0);
    expect(r.stderr.split('\n')[0]).toBe("connecting to 'alpha' (up to 20 s)…");
    expect(r.stderr).toMatch(/connected over stdio: 17 tools \(14 exposed, 3 disabled by allow\/deny\)/);
    expect(r.stderr).toContain('  add  (disabled: deny ad*)');
    expect(r.stderr).toContain('  add_tool  (disabled: deny ad*)');
    expect(r.stderr).toContain("warning: tools.deny 'nomatch_*' of backend 'alpha' matches none of its 17 tools");
    expect(readFileSync(path, 'utf8')).toContain('connect_timeout: 20s');
  }, 30_000);

  test('backends add shows elapsed time and the child\'s stderr while connecting, and names --connect-timeout when it runs out', async () => {
    using t = tempDir();
    const path = join(t.dir, 'gateway.yaml');
    writeFileSync(path, `data_dir: ${join(t.dir, 'state')}\nauth: { mode: none }\n`);
    const started = Date.now();
    const r = await runBinary(['backends', 'add', 'slow', '--connect-timeout', '2500ms', '--config', path, '--', process.execPath, '-e', 'console.error("downloading package"); setInterval(() => {}, 1000)']);
    expect(Date.now() - started).toBeLessThan(8_000);
    expect(r.code).toBe(1);
    const lines = r.stderr.split('\n');
    expect(lines[0]).toBe("connecting to 'slow' (up to 3 s)…");
    expect(lines).toContain('  stderr: downloading package');
    expect(lines.indexOf('  … 1 s')).toBeGreaterThan(0);
    expect(lines.indexOf('  … 2 s')).toBeGreaterThan(lines.indexOf('  … 1 s'));
    expect(r.stderr).toMatch(/error: cannot connect to 'slow' after 2\.\d s: .*timed out/);
    expect(r.stderr).toContain('hint: raise --connect-timeout (now 3 s), or check the URL or command');
    expect(readFileSync(path, 'utf8')).not.toContain('slow');
  }, 30_000);

  test('a glob that matches no tool is logged at warn when the backend comes up and again after a reload; backends show warns too', async () => {
    let config: Record<string, unknown> = {};
    await using gw = await startGatewayProcess((d) => (config = baseConfig(d, { alpha: backend('alpha', { tools: { deny: ['nomatch_*'] } }) })));
    const first = await gw.waitForLog((l) => l.msg === 'tool glob matches no tool of the backend', 20_000);
    expect(first).toMatchObject({ level: 'warn', backend: 'alpha', list: 'tools.deny', glob: 'nomatch_*', tools: 17 });
    gw.writeConfig({ ...config, backends: { alpha: backend('alpha', { tools: { deny: ['nomatch_*'], allow: ['ech?', 'typo_*'] } }) } });
    const second = await gw.waitForLog((l) => l.msg === 'tool glob matches no tool of the backend' && l.glob === 'typo_*', 20_000);
    expect(second.list).toBe('tools.allow');
    await gw.stop();
    const show = await runBinary(['backends', 'show', 'alpha', '--config', gw.configPath]);
    expect(show.code).toBe(0);
    expect(show.stderr).toContain("warning: tools.allow 'typo_*' of backend 'alpha' matches none of its 17 tools");
  }, 60_000);
});
