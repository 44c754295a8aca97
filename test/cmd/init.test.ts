import { beforeAll, describe, expect, test } from 'bun:test';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseBackendSpec, registerInit, renderInitConfig, splitCommand, validateField } from '../../cmd/init.ts';
import { parseConfigText } from '../../src/config/load.ts';
import type { InitAnswers, InitFlowOptions } from '../../cmd/init-flow.ts';
import { ensureBinary, firstLine, runBinary, runCli, scriptedInput } from '../helpers/cli.ts';

function tempDir(): { dir: string } & Disposable {
  const dir = mkdtempSync(join(tmpdir(), 'mcpgw-init-'));
  return { dir, [Symbol.dispose]: () => rmSync(dir, { recursive: true, force: true }) };
}

const ENV = { HOME: '/home/test' };

function parsed(path: string) {
  const r = parseConfigText(readFileSync(path, 'utf8'), path, ENV);
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return r.config;
}

type FlowFn = (opts: InitFlowOptions) => Promise<InitAnswers | null>;
const noFlow: FlowFn = async () => {
  throw new Error('the prompt flow must not run here');
};

function run(args: string[], cwd: string, opts: { stdin?: string[]; tty?: boolean; flow?: FlowFn } = {}) {
  const input = scriptedInput(opts.stdin ?? [], { isTTY: opts.tty });
  return runCli(['init', ...args], { register: (p, c) => registerInit(p, c, input, opts.flow ?? noFlow), cwd, env: ENV });
}

describe('init: pure parts', () => {
  test('splitCommand: quotes and escapes', () => {
    expect(splitCommand(`npx -y "@scope/server fs" '/srv/my share' a\\ b`)).toEqual(['npx', '-y', '@scope/server fs', '/srv/my share', 'a b']);
    expect(splitCommand('  uvx   mcp-server-git  ')).toEqual(['uvx', 'mcp-server-git']);
    expect(splitCommand(`x ""`)).toEqual(['x', '']);
  });

  test('parseBackendSpec: URL or command', () => {
    expect(parseBackendSpec('erp=https://erp.lan/mcp')).toEqual({ name: 'erp', entry: { url: 'https://erp.lan/mcp' } });
    expect(parseBackendSpec('git=uvx mcp-server-git --repository /srv/repo')).toEqual({ name: 'git', entry: { command: 'uvx', args: ['mcp-server-git', '--repository', '/srv/repo'] } });
    expect(parseBackendSpec('solo=my-server')).toEqual({ name: 'solo', entry: { command: 'my-server' } });
    expect(parseBackendSpec('nothing')).toEqual({ error: "'nothing' is not NAME=URL or NAME=COMMAND" });
  });

  test('the generated file validates with parseConfigText and carries comments', () => {
    const text = renderInitConfig({
      listen: '127.0.0.1:4444',
      publicUrl: 'https://gw.tail1234.ts.net',
      dataDir: '~/mcpgw-state',
      passwordHash: '$argon2id$v=19$m=65536,t=2,p=1$c2FsdA$aGFzaA',
      backends: [parseBackendSpec('erp=https://erp.lan/mcp') as never, parseBackendSpec('files=npx -y @modelcontextprotocol/server-filesystem /srv') as never],
    });
    const r = parseConfigText(text, '/etc/mcpgw/gateway.yaml', ENV);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.config.public_url).toBe('https://gw.tail1234.ts.net');
    expect(r.config.data_dir).toBe('/home/test/mcpgw-state');
    expect(r.config.auth.mode).toBe('oauth');
    expect(Object.keys(r.config.backends)).toEqual(['erp', 'files']);
    expect(text).toContain('# Where the database and signing keys live.');
    expect(text).toContain("# Hash of the consent password (argon2id). Change it with 'mcpgw passwd'");
    expect(text.split('\n').filter((l) => l.trimStart().startsWith('#')).length).toBeGreaterThan(10);
  });

  test('without optional values: commented defaults and `backends: {}`', () => {
    const text = renderInitConfig({ listen: '127.0.0.1:4444', passwordHash: '$argon2id$x', backends: [] });
    expect(text).toContain('\n# public_url: https://mcp.example.com\n');
    expect(text).toContain('\n# data_dir: ~/.local/state/mcpgw\n');
    expect(text.endsWith('backends: {}\n')).toBe(true);
    expect(parseConfigText(text, '/x/gateway.yaml', ENV).ok).toBe(true);
  });

  test('validateField reports the schema\'s message for the field', () => {
    expect(validateField('listen', '127.0.0.1:4444', '/x/gateway.yaml', ENV)).toBeUndefined();
    expect(validateField('listen', 'nope', '/x/gateway.yaml', ENV)).toBe('listen: must be host:port, like 127.0.0.1:4444 or [::1]:4444 (port 0-65535)');
    expect(validateField('publicUrl', 'http://gw.example.com', '/x/gateway.yaml', ENV)).toBe('public_url: must be https unless the host is loopback');
    expect(validateField('publicUrl', '', '/x/gateway.yaml', ENV)).toBeUndefined();
    expect(validateField('backend', 'bad name!=https://x/mcp', '/x/gateway.yaml', ENV)).toStartWith('backends');
    expect(validateField('backend', 'oops', '/x/gateway.yaml', ENV)).toBe("'oops' is not NAME=URL or NAME=COMMAND");
    expect(validateField('password', '', '/x/gateway.yaml', ENV)).toBe('an empty password is refused');
  });
});

describe('mcpgw init (in-process)', () => {
  test('flags + --password-stdin: writes a valid commented file with mode 0600 and prints next steps', async () => {
    using t = tempDir();
    const r = await run(
      ['--password-stdin', '--public-url', 'https://gw.tail1234.ts.net', '--backend', 'erp=https://erp.lan/mcp', '--backend', 'files=npx -y @modelcontextprotocol/server-filesystem /srv'],
      t.dir,
      { stdin: ['pw from pipe'] },
    );
    const path = join(t.dir, 'gateway.yaml');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr.split('\n')).toEqual([
      `✓ wrote ${path} (mode 0600)`,
      '',
      'Next steps:',
      `  mcpgw serve --config ${path}         start the gateway`,
      `  mcpgw funnel on --config ${path}     put it on the internet with Tailscale Funnel`,
      '  connector URL for claude.ai: https://gw.tail1234.ts.net/mcp',
      '',
    ]);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const config = parsed(path);
    expect(config.auth.mode).toBe('oauth');
    expect(await Bun.password.verify('pw from pipe', config.auth.password_hash!)).toBe(true);
    expect(config.auth.password_hash).toStartWith('$argon2id$');
    expect(Object.keys(config.backends)).toEqual(['erp', 'files']);
    expect(readFileSync(path, 'utf8')).toContain('# MCP servers behind the gateway');
  });

  test('without a public URL the next steps point at mcpgw funnel on', async () => {
    using t = tempDir();
    const r = await run(['--password-stdin', '--listen', '127.0.0.1:5555'], t.dir, { stdin: ['pw from pipe'] });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("  connector URL for claude.ai: <public_url>/mcp ('mcpgw funnel on' prints it; locally http://127.0.0.1:5555/mcp)");
  });

  test('issue 8 finding 1: without --data-dir the default data_dir is written out explicitly', async () => {
    using t = tempDir();
    const r = await run(['--password-stdin'], t.dir, { stdin: ['a long enough pw'] });
    expect(r.code).toBe(0);
    expect(readFileSync(join(t.dir, 'gateway.yaml'), 'utf8')).toContain(`\ndata_dir: ${join(ENV.HOME!, '.local/state/mcpgw')}\n`);
  });

  test('an existing file is not overwritten without --force (exit 1), and is with it', async () => {
    using t = tempDir();
    const path = join(t.dir, 'gateway.yaml');
    writeFileSync(path, '# mine\n');
    const refused = await run(['--password-stdin'], t.dir, { stdin: ['pw from pipe'] });
    expect(refused.code).toBe(1);
    expect(refused.stderr.split('\n').slice(0, 2)).toEqual([`error: ${path} already exists`, 'hint: keep it, or overwrite it with --force (or write elsewhere with --config FILE)']);
    expect(readFileSync(path, 'utf8')).toBe('# mine\n');
    const forced = await run(['--password-stdin', '--force'], t.dir, { stdin: ['pw from pipe'] });
    expect(forced.code).toBe(0);
    expect(readFileSync(path, 'utf8')).toContain('mode: oauth');
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  test('--config into a new directory creates it', async () => {
    using t = tempDir();
    const path = join(t.dir, 'etc/mcpgw/gateway.yaml');
    const r = await run(['--password-stdin', '--config', path], t.dir, { stdin: ['pw from pipe'] });
    expect(r.code).toBe(0);
    expect(existsSync(path)).toBe(true);
  });

  test('no terminal and no --password-stdin -> exit 2, nothing written', async () => {
    using t = tempDir();
    const r = await run([], t.dir);
    expect(r.code).toBe(2);
    expect(firstLine(r.stderr)).toBe('error: a consent password is needed');
    expect(existsSync(join(t.dir, 'gateway.yaml'))).toBe(false);
  });

  test('issue 8 finding 8 (init too): a piped password shorter than 12 characters -> exit 1, nothing written', async () => {
    using t = tempDir();
    const r = await run(['--password-stdin'], t.dir, { stdin: ['elevenchars'] });
    expect(r.code).toBe(1);
    expect(firstLine(r.stderr)).toBe('error: password too short: at least 12 characters; nothing was written');
    expect(existsSync(join(t.dir, 'gateway.yaml'))).toBe(false);
    expect(validateField('password', 'elevenchars', '/x/gateway.yaml', ENV)).toBe('password too short: at least 12 characters');
    expect(validateField('password', 'twelve chars', '/x/gateway.yaml', ENV)).toBeUndefined();
  });

  test('an empty piped password -> exit 1', async () => {
    using t = tempDir();
    const r = await run(['--password-stdin'], t.dir, { stdin: [''] });
    expect(r.code).toBe(1);
    expect(firstLine(r.stderr)).toBe('error: empty password refused');
  });

  test('invalid flags -> exit 2 with every problem, nothing written', async () => {
    using t = tempDir();
    const r = await run(['--password-stdin', '--listen', '0.0.0.0:4444', '--public-url', 'http://gw.example.com'], t.dir, { stdin: ['pw from pipe'] });
    expect(r.code).toBe(2);
    expect(firstLine(r.stderr)).toBe('error: the answers do not make a valid config (1 problem)');
    expect(r.stderr).toContain('public_url: must be https unless the host is loopback');
    expect(existsSync(join(t.dir, 'gateway.yaml'))).toBe(false);
    const badBackend = await run(['--password-stdin', '--backend', 'nothing'], t.dir, { stdin: ['pw from pipe'] });
    expect(badBackend.code).toBe(2);
    expect(firstLine(badBackend.stderr)).toBe("error: --backend 'nothing' is not NAME=URL or NAME=COMMAND");
  });

  test('on a terminal the prompt flow runs with the flags as defaults and the schema as validator', async () => {
    using t = tempDir();
    let seen: InitFlowOptions | undefined;
    const flow: FlowFn = async (props) => {
      seen = props;
      return { publicUrl: '', listen: '127.0.0.1:6000', dataDir: '', password: 'typed', backend: 'git=uvx mcp-server-git' };
    };
    const r = await run(['--listen', '127.0.0.1:6000', '--backend', 'erp=https://erp.lan/mcp'], t.dir, { tty: true, flow });
    expect(r.code).toBe(0);
    expect(seen?.initial).toEqual({ publicUrl: undefined, listen: '127.0.0.1:6000', dataDir: undefined });
    expect(seen?.validate('listen', 'nope')).toStartWith('listen: must be host:port');
    const config = parsed(join(t.dir, 'gateway.yaml'));
    expect(config.listen).toBe('127.0.0.1:6000');
    expect(Object.keys(config.backends)).toEqual(['git', 'erp']);
    expect(await Bun.password.verify('typed', config.auth.password_hash!)).toBe(true);
  });

  test('cancelling the prompt flow -> exit 130, nothing written', async () => {
    using t = tempDir();
    const r = await run([], t.dir, { tty: true, flow: async () => null });
    expect(r.code).toBe(130);
    expect(firstLine(r.stderr)).toBe('cancelled; nothing was written');
    expect(existsSync(join(t.dir, 'gateway.yaml'))).toBe(false);
  });

  test('--help has a description and examples', async () => {
    using t = tempDir();
    const r = await run(['--help'], t.dir);
    expect(r.stdout).toContain('Write a commented gateway.yaml');
    expect(r.stdout).toContain('Examples:');
  });
});

describe('mcpgw init (compiled binary)', () => {
  beforeAll(() => ensureBinary());

  test('--password-stdin writes a valid file; a second run refuses to overwrite', async () => {
    using t = tempDir();
    const path = join(t.dir, 'gateway.yaml');
    const r = await runBinary(['init', '--password-stdin', '--backend', 'erp=https://erp.lan/mcp'], { cwd: t.dir, stdin: 'long secret pw\n' });
    expect(r.code).toBe(0);
    expect(firstLine(r.stderr)).toBe(`✓ wrote ${path} (mode 0600)`);
    expect(r.stderr).toContain(`mcpgw serve --config ${path}`);
    expect(r.stderr).toContain('mcpgw funnel on');
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(await Bun.password.verify('long secret pw', parsed(path).auth.password_hash!)).toBe(true);
    const again = await runBinary(['init', '--password-stdin'], { cwd: t.dir, stdin: 'long secret pw\n' });
    expect(again.code).toBe(1);
    expect(firstLine(again.stderr)).toBe(`error: ${path} already exists`);
  });

  test('no terminal and no --password-stdin -> exit 2', async () => {
    using t = tempDir();
    const r = await runBinary(['init'], { cwd: t.dir });
    expect(r.code).toBe(2);
    expect(firstLine(r.stderr)).toBe('error: a consent password is needed');
  });
});
