import { beforeAll, describe, expect, test } from 'bun:test';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configuredDataDir, quoteExecArg, registerSystemd, renderUnit, type UnitOptions } from '../../cmd/systemd.ts';
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
  test('system unit: ExecStart, dynamic user, state/config dirs, sandboxing, restart, PATH, HOME', () => {
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
      'DynamicUser=yes',
      'User=mcpgw',
      'Group=mcpgw',
      'StateDirectory=mcpgw',
      'StateDirectoryMode=0700',
      'ConfigurationDirectory=mcpgw',
      'Environment=HOME=/var/lib/mcpgw',
      'Environment=XDG_STATE_HOME=/var/lib',
      'Environment=PATH=/var/lib/mcpgw/.local/bin:/opt/node/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      'UMask=0077',
      'NoNewPrivileges=yes',
      'ProtectSystem=strict',
      'ProtectHome=yes',
      'PrivateTmp=yes',
      'PrivateDevices=yes',
      'ProtectKernelTunables=yes',
      'ProtectKernelModules=yes',
      'ProtectControlGroups=yes',
      'RestrictSUIDSGID=yes',
      'LockPersonality=yes',
      'WantedBy=multi-user.target',
    ]);
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
    expect(d.some((l) => l.startsWith('DynamicUser') || l.startsWith('ProtectSystem'))).toBe(false);
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
    expect(r.stdout).toContain('DynamicUser=yes');
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
    expect(r.stderr.split('\n').slice(0, 4)).toEqual([`✓ wrote ${unitPath}`, 'Next:', '  systemctl --user daemon-reload', '  systemctl --user enable --now mcpgw']);
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
    const r = await runBinary(['systemd', '--user', '--install'], { cwd: t.dir, env: { XDG_CONFIG_HOME: join(t.dir, 'xdg') } });
    expect(r.code).toBe(0);
    expect(firstLine(r.stderr)).toBe(`✓ wrote ${join(t.dir, 'xdg/systemd/user/mcpgw.service')}`);
    expect(existsSync(join(t.dir, 'xdg/systemd/user/mcpgw.service'))).toBe(true);
  });
});
