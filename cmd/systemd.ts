/** @module `mcpgw systemd`: prints (or installs) a hardened systemd unit that runs `mcpgw serve`. */
import type { Command } from 'commander';
import { mkdirSync, readFileSync } from 'node:fs';
import { writeFileAtomic } from '../src/config/atomic-write.ts';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { errorMessage } from '../src/errors.ts';
import { locateCliConfig } from './config.ts';
import type { CliContext } from './context.ts';
import { printError } from './io.ts';
import { confirm, ok, processInput, PromptInterrupted, type PromptInput } from './passwd.ts';

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
  version: string;
}

const SYSTEM_PATH = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];
const STATE_DIR = '/var/lib/mcpgw';
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
  return [
    '# A transient user, unless a system user named mcpgw exists (then that one is used). It must be able to',
    `# read the config (mode 0600): 'useradd --system --home-dir ${STATE_DIR} --shell /usr/sbin/nologin mcpgw'`,
    `# and 'chown mcpgw:mcpgw ${o.configPath}' once; mcpgw's own edits keep the file's owner.`,
    'DynamicUser=yes',
    'User=mcpgw',
    'Group=mcpgw',
    // The default data_dir ($XDG_STATE_HOME/mcpgw) becomes the state directory; stdio backends get a writable HOME for npm/uv caches.
    'StateDirectory=mcpgw',
    'StateDirectoryMode=0700',
    'ConfigurationDirectory=mcpgw',
    `Environment=HOME=${STATE_DIR}`,
    'Environment=XDG_STATE_HOME=/var/lib',
    `Environment=PATH=${servicePath(o, STATE_DIR)}`,
    ...(dataDir ? ['# data_dir from the config, outside the state directory; create it first (mkdir -p).', `ReadWritePaths=${quotePath(dataDir)}`] : []),
    'UMask=0077',
    'NoNewPrivileges=yes',
    'ProtectSystem=strict',
    `ProtectHome=${homeNeeded ? 'read-only' : 'yes'}`,
    'PrivateTmp=yes',
    'PrivateDevices=yes',
    'ProtectKernelTunables=yes',
    'ProtectKernelModules=yes',
    'ProtectControlGroups=yes',
    'RestrictSUIDSGID=yes',
    'LockPersonality=yes',
  ];
}

function userService(o: UnitOptions): string[] {
  return [`Environment=PATH=${servicePath(o, '%h')}`, 'UMask=0077', 'NoNewPrivileges=yes'];
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
}

function unitPath(user: boolean, env: Readonly<Record<string, string | undefined>>): string | undefined {
  if (!user) return '/etc/systemd/system/mcpgw.service';
  const base = env.XDG_CONFIG_HOME && isAbsolute(env.XDG_CONFIG_HOME) ? env.XDG_CONFIG_HOME : env.HOME ? join(env.HOME, '.config') : undefined;
  return base ? join(base, 'systemd', 'user', 'mcpgw.service') : undefined;
}

async function systemd(opts: SystemdOptions, ctx: CliContext, input: PromptInput): Promise<number> {
  const { io } = ctx;
  const env = ctx.deps().env;
  const configPath = locateCliConfig(opts.config, env, io);
  if (configPath === undefined) return 2;
  const found = { path: configPath };
  const user = Boolean(opts.user);
  let text = '';
  try {
    text = readFileSync(found.path, 'utf8');
  } catch {
    /* findConfigPath saw it; an unreadable file is serve's problem to report */
  }
  const unit = renderUnit({
    exec: execCommand(),
    configPath: found.path,
    user,
    extraPath: toolDirs(env.PATH),
    dataDir: user ? undefined : configuredDataDir(text, found.path, STATE_DIR),
    version: ctx.version,
  });
  if (!opts.install) {
    io.out(unit);
    return 0;
  }
  return install(unit, user, opts, ctx, input);
}

async function install(unit: string, user: boolean, opts: SystemdOptions, ctx: CliContext, input: PromptInput): Promise<number> {
  const { io } = ctx;
  const path = unitPath(user, ctx.deps().env);
  if (!path) {
    printError(io, 'cannot tell where user units go: HOME and XDG_CONFIG_HOME are unset', 'print the unit instead: mcpgw systemd --user > mcpgw.service');
    return 2;
  }
  let existing: string | undefined;
  try {
    existing = readFileSync(path, 'utf8');
  } catch {
    existing = undefined;
  }
  if (existing !== undefined && existing !== unit && !opts.yes) {
    if (!input.isTTY) {
      printError(io, `${path} exists and differs; not replacing it`, `compare with 'mcpgw systemd${user ? ' --user' : ''}', then rerun with --yes to replace it`);
      return 2;
    }
    if (!(await confirm(input, `Replace ${path}?`))) return 1;
  }
  try {
    mkdirSync(dirname(path), { recursive: true });
    writeFileAtomic(path, unit, { mode: 0o644 });
  } catch (err) {
    const denied = (err as NodeJS.ErrnoException).code === 'EACCES' || (err as NodeJS.ErrnoException).code === 'EPERM';
    printError(io, `cannot write ${path}: ${errorMessage(err)}`, denied && !user ? 'run it with sudo, or install a user service with --user' : undefined);
    return 1;
  }
  const sc = user ? 'systemctl --user' : 'systemctl';
  io.err(ok(io, `${existing === unit ? 'unchanged' : 'wrote'} ${path}`));
  io.err('Next:');
  io.err(`  ${sc} daemon-reload`);
  io.err(`  ${sc} enable --now mcpgw`);
  if (user) io.err('  loginctl enable-linger "$USER"     # keep it running after logout');
  io.err(`  journalctl ${user ? '--user ' : ''}-u mcpgw -f        # logs`);
  return 0;
}

/** Registers `mcpgw systemd`; `input` answers the replace question (tests pass a scripted one). */
export function registerSystemd(program: Command, ctx: CliContext, input: PromptInput = processInput()): void {
  program
    .command('systemd')
    .description('Print a systemd unit that runs the gateway, or install it with --install')
    .option('-c, --config <file>', 'config file the service uses (default: $MCPGW_CONFIG, ./gateway.yaml, …)')
    .option('--user', 'a user service (~/.config/systemd/user) instead of a system service')
    .option('--install', 'write the unit file instead of printing it')
    .option('-y, --yes', 'replace an existing, different unit file without asking')
    .addHelpText(
      'after',
      `
The system unit runs as a dynamic user with StateDirectory=/var/lib/mcpgw (the default data_dir),
ProtectSystem=strict and a PATH that finds npx/uvx/node; secrets can come from LoadCredential= as
\${file:\${CREDENTIALS_DIRECTORY}/name} in gateway.yaml.

Examples:
  mcpgw systemd --config /etc/mcpgw/gateway.yaml > mcpgw.service
  sudo mcpgw systemd --install --config /etc/mcpgw/gateway.yaml
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
