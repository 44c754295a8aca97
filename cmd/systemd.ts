/** @module `mcpgw systemd`: prints (or installs) a hardened systemd unit that runs `mcpgw serve`. */
import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { locateCliConfig } from './config.ts';
import type { CliContext } from './context.ts';
import { printError } from './io.ts';
import { checkAccess, installSystem, installUser } from './systemd-install.ts';
import { processInput, PromptInterrupted, type PromptInput } from './passwd.ts';

/** What the unit is rendered from; everything is already absolute. */
export interface UnitOptions {
  /** The program and its leading arguments (the compiled binary, or `bun cmd/mcpgw.ts` in development). */
  exec: string[];
  configPath: string;
  /** A user unit (~/.config/systemd/user) instead of a system unit with a dynamic user. */
  user: boolean;
  /** Directories of node/npx/uvx found on the current PATH, added to the unit's PATH. */
  extraPath?: string[];
  /** data_dir when the config sets one outside the state directory (system units make it writable). */
  dataDir?: string;
  /** The system user the service runs as (default mcpgw). */
  serviceUser?: string;
  version: string;
}

const SYSTEM_PATH = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];
const STATE_DIR = '/var/lib/mcpgw';
const CACHE_DIR = '/var/cache/mcpgw';
const HOME_PREFIXES = ['/home/', '/root/', '/run/user/'];

/** Quotes one ExecStart word for systemd: `%` and `$` are escaped (specifiers and variable expansion), spaces and quotes quoted. */
export function quoteExecArg(arg: string): string {
  const escaped = arg.replace(/%/g, '%%').replace(/\$/g, '$$$$');
  if (escaped !== '' && !/[\s"'\\]/.test(escaped)) return escaped;
  return `"${escaped.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** Quotes a path for directives like ReadWritePaths= (specifiers expand there, variables do not). */
function quotePath(path: string): string {
  const escaped = path.replace(/%/g, '%%');
  return /[\s"]/.test(escaped) ? `"${escaped.replace(/"/g, '\\"')}"` : escaped;
}

function uniq(xs: string[]): string[] {
  return [...new Set(xs)];
}

const underHome = (p: string) => HOME_PREFIXES.some((h) => p.startsWith(h));

/** Renders the unit file (pure). See systemd.exec(5) and systemd.service(5) for each directive. */
export function renderUnit(o: UnitOptions): string {
  const execStart = [...o.exec, 'serve', '--config', o.configPath].map(quoteExecArg).join(' ');
  const installCmds = o.user
    ? ['systemctl --user daemon-reload', 'systemctl --user enable --now mcpgw', 'loginctl enable-linger "$USER"   # keep it running after logout']
    : ['systemctl daemon-reload', 'systemctl enable --now mcpgw'];
  const logs = o.user ? 'journalctl --user -u mcpgw -f' : 'journalctl -u mcpgw -f';
  const lines = [
    `# mcpgw.service, written by 'mcpgw systemd${o.user ? ' --user' : ''}' (mcpgw ${o.version}).`,
    `# Install: mcpgw systemd${o.user ? ' --user' : ''} --install, or save this as ${o.user ? '~/.config/systemd/user/mcpgw.service' : '/etc/systemd/system/mcpgw.service'}; then:`,
    ...installCmds.map((c) => `#   ${c}`),
    `# Logs: ${logs}`,
    '',
    '[Unit]',
    'Description=mcpgw MCP gateway',
    'After=network-online.target',
    'Wants=network-online.target',
    '',
    '[Service]',
    'Type=simple',
    `ExecStart=${execStart}`,
    // serve reloads gateway.yaml on SIGHUP (and when the file changes).
    'ExecReload=/bin/kill -HUP $MAINPID',
    'Restart=on-failure',
    'RestartSec=2s',
    ...(o.user ? userService(o) : systemService(o)),
    '',
    '# Secrets: hand files to the service as credentials instead of putting them in gateway.yaml, e.g.',
    `#LoadCredential=erp_token:${o.user ? '%h/.config/mcpgw/erp_token' : '/etc/mcpgw/erp_token'}`,
    '# and refer to them in gateway.yaml as',
    '#   headers: { Authorization: "Bearer ${file:${CREDENTIALS_DIRECTORY}/erp_token}" }',
    '',
    '[Install]',
    `WantedBy=${o.user ? 'default.target' : 'multi-user.target'}`,
    '',
  ];
  return lines.join('\n');
}

function servicePath(o: UnitOptions, home: string): string {
  return uniq([`${home}/.local/bin`, ...(o.extraPath ?? []), ...SYSTEM_PATH]).join(':');
}

function systemService(o: UnitOptions): string[] {
  // Paths under /home or /root stay readable (not writable) if the binary, config or tools live there.
  const homeNeeded = [...o.exec, o.configPath, ...(o.extraPath ?? [])].some(underHome);
  const dataDir = o.dataDir && o.dataDir !== STATE_DIR && !o.dataDir.startsWith(`${STATE_DIR}/`) ? o.dataDir : undefined;
  const user = o.serviceUser ?? 'mcpgw';
  return [
    // A real system user, not DynamicUser: files it creates keep one owner, and the operator can act as it
    // (`sudo -u mcpgw mcpgw tokens revoke …`). --install creates it (sysusers.d) and gives it the config as root:mcpgw 0640.
    `User=${user}`,
    `Group=${user}`,
    // data_dir is /var/lib/mcpgw, written into the config by --install so the CLI uses the same database.
    'StateDirectory=mcpgw',
    'StateDirectoryMode=0700',
    // npx/uvx backends need a writable HOME and cache under ProtectSystem=strict.
    'CacheDirectory=mcpgw',
    'CacheDirectoryMode=0700',
    `Environment=HOME=${STATE_DIR}`,
    `Environment=XDG_CACHE_HOME=${CACHE_DIR}`,
    `Environment=npm_config_cache=${CACHE_DIR}/npm`,
    `Environment=UV_CACHE_DIR=${CACHE_DIR}/uv`,
    `Environment=PATH=${servicePath(o, STATE_DIR)}`,
    ...(dataDir ? ['# data_dir from the config, outside the state directory; create it first (mkdir -p).', `ReadWritePaths=${quotePath(dataDir)}`] : []),
    'UMask=0077',
    // Sandboxing, scored by `systemd-analyze security --offline=true` at 1.2 (the test requires <= 2.5). Not set, on
    // purpose: MemoryDenyWriteExecute (node, bun and python JITs need writable+executable memory), PrivateNetwork and
    // IPAddressDeny (backends and clients are on the network), ProcSubset=pid (node and uv read /proc/cpuinfo).
    'NoNewPrivileges=yes',
    'CapabilityBoundingSet=',
    'AmbientCapabilities=',
    'ProtectSystem=strict',
    `ProtectHome=${homeNeeded ? 'read-only' : 'yes'}`,
    'PrivateTmp=yes',
    'PrivateDevices=yes',
    // Maps only root, the service user and group into the unit: the config (root:mcpgw 0640) stays readable.
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
    // Unix sockets (admin socket), IPv4/IPv6 (listener, HTTP backends); netlink for os.networkInterfaces().
    'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK',
    'SystemCallArchitectures=native',
    // @system-service is what ordinary daemons (and node/python/uv child processes) use; the rest fails with EPERM.
    // @resources stays allowed: node, bun and uv raise RLIMIT_NOFILE with setrlimit, and tools call nice/setpriority.
    'SystemCallFilter=@system-service',
    'SystemCallFilter=~@privileged',
    'SystemCallErrorNumber=EPERM',
  ];
}

function userService(o: UnitOptions): string[] {
  // User managers cannot drop capabilities or mount namespaces for unprivileged users on every system; only what
  // works everywhere. data_dir is written explicitly into the config by --install.
  return [
    `Environment=PATH=${servicePath(o, '%h')}`,
    'UMask=0077',
    'NoNewPrivileges=yes',
    'LockPersonality=yes',
    'RestrictRealtime=yes',
    'RestrictSUIDSGID=yes',
    'SystemCallArchitectures=native',
  ];
}

/** How to start this very program again: the compiled binary itself, or bun with the entry script in development. */
export function execCommand(): string[] {
  // A compiled binary's modules live under /$bunfs/; from source, execPath is bun and Bun.main the script.
  if (import.meta.path.startsWith('/$bunfs/') || import.meta.path.startsWith('B:/~BUN/')) return [process.execPath];
  return [process.execPath, resolve(Bun.main)];
}

/** Directories holding node, npx, uvx or uv on `pathEnv`, so that stdio backends find them under systemd. */
export function toolDirs(pathEnv: string | undefined): string[] {
  const found = ['node', 'npx', 'uvx', 'uv'].map((t) => Bun.which(t, { PATH: pathEnv ?? '' })).filter((p): p is string => Boolean(p));
  return uniq(found.map((p) => dirname(p))).filter((d) => !SYSTEM_PATH.includes(d));
}

/** data_dir as the service will see it, when the config sets it explicitly (`~` is the service's HOME). */
export function configuredDataDir(configText: string, configPath: string, serviceHome: string): string | undefined {
  let raw: unknown;
  try {
    raw = parseDocument(configText).get('data_dir');
  } catch {
    return undefined;
  }
  if (typeof raw !== 'string' || raw === '' || raw.includes('${')) return undefined;
  if (raw === '~' || raw.startsWith('~/')) return join(serviceHome, raw.slice(1));
  return isAbsolute(raw) ? resolve(raw) : resolve(dirname(configPath), raw);
}

interface SystemdOptions {
  config?: string;
  user?: boolean;
  install?: boolean;
  yes?: boolean;
  check?: boolean;
  dataDir?: string;
  root?: string;
  serviceUser?: string;
}

function unitPath(user: boolean, env: Readonly<Record<string, string | undefined>>): string | undefined {
  if (!user) return '/etc/systemd/system/mcpgw.service';
  const base = env.XDG_CONFIG_HOME && isAbsolute(env.XDG_CONFIG_HOME) ? env.XDG_CONFIG_HOME : env.HOME ? join(env.HOME, '.config') : undefined;
  return base ? join(base, 'systemd', 'user', 'mcpgw.service') : undefined;
}

async function systemd(opts: SystemdOptions, ctx: CliContext, input: PromptInput): Promise<number> {
  const { io } = ctx;
  const env = ctx.deps().env;
  if (opts.check) return checkAccess(opts.config, opts.dataDir, ctx);
  const configPath = locateCliConfig(opts.config, env, io);
  if (configPath === undefined) return 2;
  const user = Boolean(opts.user);
  let text = '';
  try {
    text = readFileSync(configPath, 'utf8');
  } catch {
    /* findConfigPath saw it; an unreadable file is serve's problem to report */
  }
  const exec = execCommand();
  const unitFor = (config: string, dataDir?: string) =>
    renderUnit({ exec, configPath: config, user, extraPath: toolDirs(env.PATH), dataDir, serviceUser: opts.serviceUser, version: ctx.version });
  if (!opts.install) {
    io.out(unitFor(configPath, user ? undefined : configuredDataDir(text, configPath, STATE_DIR)));
    return 0;
  }
  const install = { root: opts.root, serviceUser: opts.serviceUser, yes: opts.yes };
  if (!user) return installSystem(configPath, (c) => unitFor(c), exec, install, ctx, input);
  const path = unitPath(true, env);
  if (!path) {
    printError(io, 'cannot tell where user units go: HOME and XDG_CONFIG_HOME are unset', 'print the unit instead: mcpgw systemd --user > mcpgw.service');
    return 2;
  }
  return installUser(configPath, path, unitFor(configPath), install, ctx, input);
}

/** Registers `mcpgw systemd`; `input` answers the replace question (tests pass a scripted one). */
export function registerSystemd(program: Command, ctx: CliContext, input: PromptInput = processInput()): void {
  program
    .command('systemd')
    .description('Print a systemd unit that runs the gateway, or install it with --install')
    .option('-c, --config <file>', 'config file the service uses (default: $MCPGW_CONFIG, ./gateway.yaml, …)')
    .option('--user', 'a user service (~/.config/systemd/user) instead of a system service')
    .option('--install', 'set up the service (user, config, directories, unit) and check it, instead of printing the unit')
    .option('-y, --yes', 'replace an existing, different unit or config file without asking')
    .option('--service-user <name>', 'the system user the service runs as', 'mcpgw')
    .option('--root <dir>', 'install under this directory instead of / (package builds, tests)')
    .option('--check', 'check that this user can read the config and write data_dir, then exit')
    .option('--data-dir <dir>', 'with --check: the data_dir to check instead of the config\'s')
    .addHelpText(
      'after',
      `
--install (as root) creates the system user mcpgw (and /etc/sysusers.d/mcpgw.conf), copies the config to
/etc/mcpgw/gateway.yaml (root:mcpgw, mode 0640) with data_dir: /var/lib/mcpgw written into it (the unit's
StateDirectory=; without that line data_dir would be $XDG_STATE_HOME/mcpgw), creates /var/lib/mcpgw and
/var/cache/mcpgw (npx/uvx caches) for that user, writes the unit, and checks as that user that it can read
the config and write data_dir. Then enable it with systemctl. Tokens live in the service's database:
  sudo -u mcpgw mcpgw tokens list --config /etc/mcpgw/gateway.yaml
--user --install writes data_dir into your config and installs a user unit. Secrets can come from
LoadCredential= as \${file:\${CREDENTIALS_DIRECTORY}/name} in gateway.yaml.

Examples:
  sudo mcpgw systemd --install --config ./gateway.yaml
  sudo systemctl daemon-reload && sudo systemctl enable --now mcpgw
  mcpgw systemd --config /etc/mcpgw/gateway.yaml > mcpgw.service
  mcpgw systemd --user --install
  journalctl -u mcpgw -f`,
    )
    .action(async (opts: SystemdOptions) => {
      try {
        ctx.result.code = await systemd(opts, ctx, input);
      } catch (err) {
        if (!(err instanceof PromptInterrupted)) throw err;
        ctx.result.code = 130;
      }
    });
}
