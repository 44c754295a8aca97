import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configuredDataDir, quoteExecArg, registerSystemd, renderUnit, type UnitOptions } from '../../cmd/systemd.ts';
import { lookupUser } from '../../cmd/systemd-install.ts';
import { BINARY, ensureBinary, firstLine, runBinary, runCli, scriptedInput } from '../helpers/cli.ts';

const SYSTEMD_ANALYZE = Bun.which('systemd-analyze');

function tempDir(): { dir: string } & Disposable {
  const dir = mkdtempSync(join(tmpdir(), 'mcpgw-systemd-'));
  return { dir, [Symbol.dispose]: () => rmSync(dir, { recursive: true, force: true }) };
}

const SYSTEM: UnitOptions = { exec: ['/usr/local/bin/mcpgw'], configPath: '/etc/mcpgw/gateway.yaml', user: false, version: '0.1.0' };

/** `systemd-analyze verify` (Debian package systemd) on a unit; its complaints about this unit, if any. */
function verify(unit: string): { code: number; complaints: string[] } {
  using t = tempDir();
  const path = join(t.dir, 'mcpgw.service');
  writeFileSync(path, unit);
  const r = Bun.spawnSync([SYSTEMD_ANALYZE!, 'verify', path], { stdout: 'pipe', stderr: 'pipe' });
  const complaints = `${r.stdout}${r.stderr}`.split('\n').filter((l) => l.includes('mcpgw.service'));
  return { code: r.exitCode, complaints };
}

function directives(unit: string): string[] {
  return unit.split('\n').filter((l) => /^[A-Z][A-Za-z]+=/.test(l));
}

describe('renderUnit', () => {
  test('issue 8 finding 1: system unit: a real system user (no DynamicUser), state and cache dirs, HOME, sandboxing', () => {
    const unit = renderUnit({ ...SYSTEM, extraPath: ['/opt/node/bin'] });
    expect(directives(unit)).toEqual([
      'Description=mcpgw MCP gateway',
      'After=network-online.target',
      'Wants=network-online.target',
      'Type=simple',
      'ExecStart=/usr/local/bin/mcpgw serve --config /etc/mcpgw/gateway.yaml',
      'ExecReload=/bin/kill -HUP $MAINPID',
      'Restart=on-failure',
      'RestartSec=2s',
      'User=mcpgw',
      'Group=mcpgw',
      'StateDirectory=mcpgw',
      'StateDirectoryMode=0700',
      'CacheDirectory=mcpgw',
      'CacheDirectoryMode=0700',
      'Environment=HOME=/var/lib/mcpgw',
      'Environment=XDG_CACHE_HOME=/var/cache/mcpgw',
      'Environment=npm_config_cache=/var/cache/mcpgw/npm',
      'Environment=UV_CACHE_DIR=/var/cache/mcpgw/uv',
      'Environment=PATH=/var/lib/mcpgw/.local/bin:/opt/node/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      'UMask=0077',
      'NoNewPrivileges=yes',
      'CapabilityBoundingSet=',
      'AmbientCapabilities=',
      'ProtectSystem=strict',
      'ProtectHome=yes',
      'PrivateTmp=yes',
      'PrivateDevices=yes',
      'PrivateUsers=yes',
      'ProtectKernelTunables=yes',
      'ProtectKernelModules=yes',
      'ProtectKernelLogs=yes',
      'ProtectControlGroups=yes',
      'ProtectClock=yes',
      'ProtectHostname=yes',
      'ProtectProc=invisible',
      'RestrictSUIDSGID=yes',
      'RestrictRealtime=yes',
      'RestrictNamespaces=yes',
      'LockPersonality=yes',
      'RemoveIPC=yes',
      'PrivateMounts=yes',
      'DevicePolicy=closed',
      'KeyringMode=private',
      'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK',
      'SystemCallArchitectures=native',
      'SystemCallFilter=@system-service',
      'SystemCallFilter=~@privileged',
      'SystemCallErrorNumber=EPERM',
      'WantedBy=multi-user.target',
    ]);
    // JITs (node, bun, python) need writable+executable memory; stdio backends must keep running.
    expect(unit).not.toContain('MemoryDenyWriteExecute');
    expect(unit).not.toContain('DynamicUser');
    expect(unit).toContain('#LoadCredential=erp_token:/etc/mcpgw/erp_token\n');
    expect(unit).toContain('${file:${CREDENTIALS_DIRECTORY}/erp_token}');
    expect(unit).toContain('#   systemctl daemon-reload\n#   systemctl enable --now mcpgw\n# Logs: journalctl -u mcpgw -f\n');
  });

  test('system unit: a binary or config under /home keeps /home readable; a data_dir elsewhere is made writable', () => {
    const unit = renderUnit({ ...SYSTEM, exec: ['/home/ada/bin/mcpgw'], dataDir: '/srv/mcpgw state' });
    expect(unit).toContain('\nProtectHome=read-only\n');
    expect(unit).toContain('\nReadWritePaths="/srv/mcpgw state"\n');
    expect(renderUnit({ ...SYSTEM, dataDir: '/var/lib/mcpgw/db' })).not.toContain('ReadWritePaths');
  });

  test('user unit: default.target, %h paths, no system-only sandboxing', () => {
    const unit = renderUnit({ ...SYSTEM, user: true, configPath: '/home/ada/.config/mcpgw/gateway.yaml' });
    const d = directives(unit);
    expect(d).toContain('ExecStart=/usr/local/bin/mcpgw serve --config /home/ada/.config/mcpgw/gateway.yaml');
    expect(d).toContain('Environment=PATH=%h/.local/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin');
    expect(d).toContain('WantedBy=default.target');
    expect(d).toContain('NoNewPrivileges=yes');
    expect(d).toContain('Restart=on-failure');
    expect(d.some((l) => l.startsWith('User=') || l.startsWith('ProtectSystem'))).toBe(false);
    expect(unit).toContain('# Logs: journalctl --user -u mcpgw -f');
  });

  test('ExecStart words are escaped for systemd (%, $, spaces, quotes)', () => {
    expect(quoteExecArg('/opt/mcpgw/mcpgw')).toBe('/opt/mcpgw/mcpgw');
    expect(quoteExecArg('/srv/my gw/gateway.yaml')).toBe('"/srv/my gw/gateway.yaml"');
    expect(quoteExecArg('/srv/100%/a$b')).toBe('/srv/100%%/a$$b');
    expect(quoteExecArg('say "hi"')).toBe('"say \\"hi\\""');
    const unit = renderUnit({ ...SYSTEM, exec: ['/usr/bin/bun', '/srv/my gw/cmd/mcpgw.ts'] });
    expect(unit).toContain('ExecStart=/usr/bin/bun "/srv/my gw/cmd/mcpgw.ts" serve --config /etc/mcpgw/gateway.yaml\n');
  });

  test('configuredDataDir: only an explicit data_dir, as the service sees it', () => {
    expect(configuredDataDir('listen: 127.0.0.1:1\n', '/etc/mcpgw/gateway.yaml', '/var/lib/mcpgw')).toBeUndefined();
    expect(configuredDataDir('data_dir: ./state\n', '/etc/mcpgw/gateway.yaml', '/var/lib/mcpgw')).toBe('/etc/mcpgw/state');
    expect(configuredDataDir('data_dir: ~/db\n', '/etc/mcpgw/gateway.yaml', '/var/lib/mcpgw')).toBe('/var/lib/mcpgw/db');
    expect(configuredDataDir('data_dir: "${STATE}"\n', '/etc/mcpgw/gateway.yaml', '/var/lib/mcpgw')).toBeUndefined();
  });

  // The Debian `systemd` package provides systemd-analyze; .ci/run installs it, so this always runs.
  test('issue 8 finding 1: systemd-analyze security --offline rates the system unit at most 2.5', () => {
    using t = tempDir();
    const path = join(t.dir, 'mcpgw.service');
    writeFileSync(path, renderUnit({ ...SYSTEM, exec: [process.execPath] }));
    const r = Bun.spawnSync([SYSTEMD_ANALYZE!, 'security', '--offline=true', path], { stdout: 'pipe', stderr: 'pipe' });
    const m = /Overall exposure level for mcpgw\.service: ([\d.]+)/.exec(`${r.stdout}${r.stderr}`);
    expect(m).not.toBeNull();
    const score = Number(m![1]);
    console.log(`systemd-analyze security exposure: ${score}`);
    expect(score).toBeLessThanOrEqual(2.5);
  });

  test('systemd-analyze verify accepts the system and the user unit', () => {
    const exec = [process.execPath];
    for (const unit of [renderUnit({ ...SYSTEM, exec, dataDir: '/srv/mcpgw' }), renderUnit({ ...SYSTEM, exec, user: true })]) {
      const r = verify(unit);
      expect(r.complaints).toEqual([]);
      expect(r.code).toBe(0);
    }
  });
});

describe('mcpgw systemd (in-process)', () => {
  test('prints the unit for the found config on stdout', async () => {
    using t = tempDir();
    const config = join(t.dir, 'gateway.yaml');
    writeFileSync(config, 'listen: 127.0.0.1:4444\n');
    const r = await runCli(['systemd', '--config', config], { register: (p, c) => registerSystemd(p, c, scriptedInput([])) });
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain(`serve --config ${config}\n`);
    expect(r.stdout).toContain('User=mcpgw\n');
  });

  test('--user --install writes $XDG_CONFIG_HOME/systemd/user/mcpgw.service and tells the next commands', async () => {
    using t = tempDir();
    const config = join(t.dir, 'gateway.yaml');
    writeFileSync(config, 'listen: 127.0.0.1:4444\n');
    const env = { XDG_CONFIG_HOME: join(t.dir, 'xdg'), HOME: t.dir };
    const register = (p: Parameters<typeof registerSystemd>[0], c: Parameters<typeof registerSystemd>[1]) => registerSystemd(p, c, scriptedInput([]));
    const r = await runCli(['systemd', '--user', '--install', '--config', config], { register, env });
    const unitPath = join(t.dir, 'xdg/systemd/user/mcpgw.service');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
    const dataDir = join(t.dir, '.local/state/mcpgw');
    expect(r.stderr.split('\n').slice(0, 6)).toEqual([
      `✓ wrote data_dir: ${dataDir} into ${config}, so the CLI and the service use one database`,
      `✓ wrote ${unitPath}`,
      `✓ root can read ${config} and write ${dataDir}`,
      'Next:',
      '  systemctl --user daemon-reload',
      '  systemctl --user enable --now mcpgw',
    ]);
    expect(readFileSync(config, 'utf8')).toContain(`data_dir: ${dataDir}\n`);
    expect(readFileSync(unitPath, 'utf8')).toContain('WantedBy=default.target');
    expect(statSync(unitPath).mode & 0o777).toBe(0o644);
    // Same unit again: nothing to ask.
    expect(firstLine((await runCli(['systemd', '--user', '--install', '--config', config], { register, env })).stderr)).toBe(`✓ unchanged ${unitPath}`);
  });

  test('--install over a different unit: refused without a TTY (exit 2), asks on a TTY, --yes replaces', async () => {
    using t = tempDir();
    const config = join(t.dir, 'gateway.yaml');
    writeFileSync(config, 'listen: 127.0.0.1:4444\n');
    const env = { XDG_CONFIG_HOME: join(t.dir, 'xdg'), HOME: t.dir };
    const unitPath = join(t.dir, 'xdg/systemd/user/mcpgw.service');
    const args = ['systemd', '--user', '--install', '--config', config];
    await runCli(args, { register: (p, c) => registerSystemd(p, c, scriptedInput([])), env });
    writeFileSync(unitPath, '# edited by hand\n');
    const refused = await runCli(args, { register: (p, c) => registerSystemd(p, c, scriptedInput([])), env });
    expect(refused.code).toBe(2);
    expect(firstLine(refused.stderr)).toBe(`error: ${unitPath} exists and differs; not replacing it`);
    expect(readFileSync(unitPath, 'utf8')).toBe('# edited by hand\n');
    const input = scriptedInput(['n'], { isTTY: true });
    const declined = await runCli(args, { register: (p, c) => registerSystemd(p, c, input), env });
    expect(input.prompts).toEqual([`Replace ${unitPath}? [y/N] `]);
    expect(declined.code).toBe(1);
    const replaced = await runCli([...args, '--yes'], { register: (p, c) => registerSystemd(p, c, scriptedInput([])), env });
    expect(replaced.code).toBe(0);
    expect(readFileSync(unitPath, 'utf8')).toContain('ExecStart=');
  });

  test('no config file -> exit 2 with the init hint', async () => {
    using t = tempDir();
    const r = await runCli(['systemd', '--config', join(t.dir, 'missing.yaml')], { register: (p, c) => registerSystemd(p, c, scriptedInput([])) });
    expect(r.code).toBe(2);
    expect(firstLine(r.stderr)).toBe(`error: config file not found: ${join(t.dir, 'missing.yaml')} (from --config)`);
  });

  test('--help has a description and examples', async () => {
    const r = await runCli(['systemd', '--help'], { register: (p, c) => registerSystemd(p, c, scriptedInput([])) });
    expect(r.stdout).toContain('Print a systemd unit that runs the gateway');
    expect(r.stdout).toContain('Examples:');
    // issue 8 finding 1: /var/lib/mcpgw is written into the config, not a default (README: default $XDG_STATE_HOME/mcpgw).
    expect(r.stdout).toContain('data_dir: /var/lib/mcpgw written into it');
    expect(r.stdout).toContain('without that line data_dir would be $XDG_STATE_HOME/mcpgw');
    expect(r.stdout).not.toContain('(the default data_dir)');
    expect(r.stdout).toContain('sudo -u mcpgw mcpgw tokens list --config /etc/mcpgw/gateway.yaml');
  });
});

describe('mcpgw systemd (compiled binary)', () => {
  beforeAll(() => ensureBinary());

  test('ExecStart is the binary itself with the absolute config path', async () => {
    using t = tempDir();
    writeFileSync(join(t.dir, 'gateway.yaml'), 'listen: 127.0.0.1:4444\n');
    const r = await runBinary(['systemd'], { cwd: t.dir });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`\nExecStart=${BINARY} serve --config ${join(t.dir, 'gateway.yaml')}\n`);
    expect(verify(r.stdout).complaints).toEqual([]);
  });

  test('--user --install writes the unit', async () => {
    using t = tempDir();
    writeFileSync(join(t.dir, 'gateway.yaml'), 'listen: 127.0.0.1:4444\n');
    const r = await runBinary(['systemd', '--user', '--install'], { cwd: t.dir, env: { XDG_CONFIG_HOME: join(t.dir, 'xdg'), HOME: t.dir } });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`✓ wrote ${join(t.dir, 'xdg/systemd/user/mcpgw.service')}\n`);
    expect(existsSync(join(t.dir, 'xdg/systemd/user/mcpgw.service'))).toBe(true);
  });
});

/** Runs the compiled binary as another user (setpriv, util-linux), the way the service runs it. */
function runAs(account: { uid: number; gid: number }, args: string[], cwd = '/'): { code: number; stdout: string; stderr: string } {
  const r = Bun.spawnSync(['setpriv', `--reuid=${account.uid}`, `--regid=${account.gid}`, '--clear-groups', '--', BINARY, ...args], {
    cwd,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: '/nonexistent', NO_COLOR: '1', TZ: 'UTC' },
    stdout: 'pipe',
    stderr: 'pipe',
  });
  return { code: r.exitCode, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

// Tests run as root (here and in CI): --install creates a throwaway system user, removed at the end.
describe('issue 8 finding 1: systemd --install (system mode, compiled binary, into --root)', () => {
  const name = `mcpgwt${Math.random().toString(16).slice(2, 8)}`;
  let dir: string;
  let root: string;
  let install: { code: number; stdout: string; stderr: string };
  const nobody = { uid: 65534, gid: 65534 };
  const account = () => lookupUser(name)!;

  beforeAll(async () => {
    ensureBinary();
    dir = mkdtempSync(join(tmpdir(), 'mcpgw-install-'));
    // The service user must be able to reach the installed tree, as it can reach / in production.
    chmodSync(dir, 0o755);
    root = join(dir, 'root');
    writeFileSync(join(dir, 'gateway.yaml'), '# mine\nlisten: 127.0.0.1:4444\nbackends:\n  erp:\n    url: https://erp.lan/mcp\n    headers: { Authorization: "Bearer ${ERP_TOKEN}" }\n', { mode: 0o600 });
    install = await runBinary(['systemd', '--install', '--root', root, '--service-user', name, '--config', join(dir, 'gateway.yaml')]);
  }, 30_000);

  afterAll(() => {
    Bun.spawnSync(['userdel', name], { stdout: 'ignore', stderr: 'ignore' });
    Bun.spawnSync(['groupdel', name], { stdout: 'ignore', stderr: 'ignore' });
    rmSync(dir, { recursive: true, force: true });
  });

  test('creates the system user, the config root:user 0640 with data_dir, the state and cache dirs, the unit; checks as the user', () => {
    expect(install.stderr).toContain(`✓ created system user ${name}`);
    expect(install.code).toBe(0);
    expect(install.stderr).toContain(`✓ checked as ${name}: it reads the config and writes /var/lib/mcpgw`);
    expect(install.stderr).toContain(`sudo -u ${name} mcpgw tokens list --config /etc/mcpgw/gateway.yaml`);
    const a = account();
    expect(a).toBeDefined();
    const config = statSync(join(root, 'etc/mcpgw/gateway.yaml'));
    expect([config.uid, config.gid, config.mode & 0o777]).toEqual([0, a.gid, 0o640]);
    const text = readFileSync(join(root, 'etc/mcpgw/gateway.yaml'), 'utf8');
    expect(text).toStartWith('# mine\n');
    expect(text).toContain('data_dir: /var/lib/mcpgw\n');
    for (const d of ['var/lib/mcpgw', 'var/cache/mcpgw']) {
      const st = statSync(join(root, d));
      expect([st.uid, st.mode & 0o777]).toEqual([a.uid, 0o700]);
    }
    expect(readFileSync(join(root, 'etc/sysusers.d/mcpgw.conf'), 'utf8')).toContain(`u ${name} - "mcpgw MCP gateway" /var/lib/mcpgw /usr/sbin/nologin`);
    const unitPath = join(root, 'etc/systemd/system/mcpgw.service');
    const unit = readFileSync(unitPath, 'utf8');
    expect(unit).toContain(`\nUser=${name}\n`);
    expect(unit).toContain(`\nExecStart=${BINARY} serve --config /etc/mcpgw/gateway.yaml\n`);
    expect(verify(unit).complaints).toEqual([]);
  }, 30_000);

  test('the installed layout, used as the service user: it reads the config and writes data_dir; nobody else can', () => {
    const config = join(root, 'etc/mcpgw/gateway.yaml');
    const dataDir = join(root, 'var/lib/mcpgw');
    const asService = runAs(account(), ['systemd', '--check', '--config', config, '--data-dir', dataDir]);
    expect(asService.stderr.split('\n')[0]).toBe(`✓ ${name} can read ${config} and write ${dataDir}`);
    expect(asService.code).toBe(0);
    const asNobody = runAs(nobody, ['systemd', '--check', '--config', config, '--data-dir', dataDir]);
    expect(asNobody.code).not.toBe(0);
  }, 30_000);

  test('the operator CLI acts on the service database, and says how when it cannot', () => {
    const dataDir = join(root, 'var/lib/mcpgw');
    // A config readable by everyone, pointing at the service's data_dir (as /etc/mcpgw/gateway.yaml does at /var/lib/mcpgw).
    const config = join(dir, 'ops.yaml');
    writeFileSync(config, `listen: 127.0.0.1:4444\ndata_dir: ${dataDir}\n`, { mode: 0o644 });
    const created = runAs(account(), ['tokens', 'create', '--name', 'phone', '--json', '--config', config]);
    expect(created.code).toBe(0);
    const listed = runAs(account(), ['tokens', 'list', '--json', '--config', config]);
    expect(listed.stdout).toContain('"phone"');
    // Every file in data_dir stays the service user's.
    for (const f of readdirSync(dataDir)) expect(statSync(join(dataDir, f)).uid).toBe(account().uid);
    const asOther = runAs(nobody, ['tokens', 'revoke', '--all', '--yes', '--config', config]);
    expect(asOther.code).toBe(1);
    expect(asOther.stderr.split('\n').slice(0, 2)).toEqual([
      `error: cannot write data_dir ${dataDir} (it belongs to ${name})`,
      `hint: run it as the service's user: sudo -u ${name} mcpgw tokens revoke …`,
    ]);
    return runBinary(['tokens', 'list', '--config', config]).then((asRoot) => {
      expect(asRoot.code).toBe(1);
      expect(asRoot.stderr.split('\n').slice(0, 2)).toEqual([
        `error: data_dir ${dataDir} belongs to ${name}; root must not create files there`,
        `hint: run it as the service's user: sudo -u ${name} mcpgw tokens list …`,
      ]);
    });
  }, 30_000);
});
