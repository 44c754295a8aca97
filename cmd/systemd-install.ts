/**
 * @module `mcpgw systemd --install` and `--check`: the service user, /etc/mcpgw/gateway.yaml (root:mcpgw 0640) with
 * data_dir written into it, the state and cache directories, the unit, and a check run as the service user.
 */
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { editConfigText, setValue, writeNewConfigFile } from '../src/config/edit.ts';
import { formatIssue, parseConfigText } from '../src/config/load.ts';
import { errorMessage } from '../src/errors.ts';
import { databasePath } from '../src/gateway.ts';
import { openStore } from '../src/store/db.ts';
import { loadCliConfig, userName } from './config.ts';
import type { CliContext } from './context.ts';
import { printError, type CliIo } from './io.ts';
import { confirm, ok, type PromptInput } from './passwd.ts';

/** Where a system install puts things (relative to `--root`, `/` in production). */
export const SYSTEM_LAYOUT = {
  config: '/etc/mcpgw/gateway.yaml',
  dataDir: '/var/lib/mcpgw',
  cacheDir: '/var/cache/mcpgw',
  unit: '/etc/systemd/system/mcpgw.service',
  sysusers: '/etc/sysusers.d/mcpgw.conf',
} as const;

export interface InstallOptions {
  /** Install into this directory instead of / (tests; a package build's DESTDIR). Paths inside the files stay absolute. */
  root?: string;
  serviceUser?: string;
  yes?: boolean;
}

interface Account {
  name: string;
  uid: number;
  gid: number;
}

/** A local account from /etc/passwd, or undefined. */
export function lookupUser(name: string, passwd = '/etc/passwd'): Account | undefined {
  let text = '';
  try {
    text = readFileSync(passwd, 'utf8');
  } catch {
    return undefined;
  }
  const f = text.split('\n').map((l) => l.split(':')).find((p) => p[0] === name);
  return f ? { name, uid: Number(f[2]), gid: Number(f[3]) } : undefined;
}

/** sysusers.d(5) line for the service user: a system user and group with the state directory as home, no login. */
export function sysusersEntry(name: string): string {
  return `# written by 'mcpgw systemd --install': the user mcpgw.service runs as\nu ${name} - "mcpgw MCP gateway" ${SYSTEM_LAYOUT.dataDir} /usr/sbin/nologin\n`;
}

/** Creates the system user (useradd, as systemd-sysusers would from the entry) unless it exists. */
function ensureUser(name: string, io: CliIo): Account | undefined {
  const existing = lookupUser(name);
  if (existing) return existing;
  const r = Bun.spawnSync(
    ['useradd', '--system', '--user-group', '--home-dir', SYSTEM_LAYOUT.dataDir, '--no-create-home', '--shell', '/usr/sbin/nologin', '--comment', 'mcpgw MCP gateway', name],
    { stdout: 'pipe', stderr: 'pipe' },
  );
  const created = lookupUser(name);
  if (r.exitCode === 0 && created) {
    io.err(ok(io, `created system user ${name}`));
    return created;
  }
  printError(io, `cannot create the system user ${name}: ${r.stderr.toString().trim() || `useradd exited ${r.exitCode}`}`, `create it yourself: systemd-sysusers ${SYSTEM_LAYOUT.sysusers}`);
  return undefined;
}

/** Asks before replacing a different existing file; true when it may be written. */
async function mayReplace(path: string, next: string, yes: boolean | undefined, io: CliIo, input: PromptInput, rerun: string): Promise<boolean | number> {
  let existing: string | undefined;
  try {
    existing = readFileSync(path, 'utf8');
  } catch {
    return true;
  }
  if (existing === next || yes) return true;
  if (!input.isTTY) {
    printError(io, `${path} exists and differs; not replacing it`, `compare with '${rerun}', then rerun with --yes to replace it`);
    return 2;
  }
  return (await confirm(input, `Replace ${path}?`)) ? true : 1;
}

/** The config as the service gets it: the operator's file with `data_dir: /var/lib/mcpgw` written in. */
function serviceConfigText(source: string, io: CliIo, env: Readonly<Record<string, string | undefined>>): { text: string; oldDataDir?: string } | undefined {
  const text = readFileSync(source, 'utf8');
  const parsed = parseConfigText(text, source, env);
  if (!parsed.ok) {
    printError(io, `${source} is not a valid config; not installing it`);
    for (const issue of parsed.issues) io.err(`  ${formatIssue(issue, source)}`);
    return undefined;
  }
  const next = editConfigText(text, (doc) => setValue(doc, ['data_dir'], SYSTEM_LAYOUT.dataDir));
  return { text: next, oldDataDir: parsed.config.data_dir };
}

function ownedDir(path: string, mode: number, uid: number, gid: number): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
  mkdirSync(path, { recursive: true, mode });
  chownSync(path, uid, gid);
  chmodSync(path, mode);
}

/** Runs `mcpgw systemd --check` as the service user (setpriv), so a layout the service cannot use is caught before enabling it. */
function checkAsUser(exec: string[], account: Account, config: string, dataDir: string): { ok: boolean; output: string } {
  const argv = ['setpriv', `--reuid=${account.uid}`, `--regid=${account.gid}`, '--init-groups', '--', ...exec, 'systemd', '--check', '--config', config, '--data-dir', dataDir];
  const r = Bun.spawnSync(argv, { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dataDir, NO_COLOR: '1' }, cwd: '/', stdout: 'pipe', stderr: 'pipe' });
  return { ok: r.exitCode === 0, output: `${r.stdout.toString()}${r.stderr.toString()}`.trim() };
}

/**
 * System install: service user, config root:<user> 0640 with data_dir, state and cache directories owned by the user,
 * the unit, then the check as that user. Returns the exit code.
 */
export async function installSystem(sourceConfig: string, renderUnit: (configPath: string) => string, exec: string[], o: InstallOptions, ctx: CliContext, input: PromptInput): Promise<number> {
  const { io } = ctx;
  if (process.getuid?.() !== 0) {
    printError(io, 'installing a system service needs root', 'sudo mcpgw systemd --install, or a user service: mcpgw systemd --user --install');
    return 1;
  }
  const root = resolve(o.root ?? '/');
  const at = (p: string) => join(root, p);
  const name = o.serviceUser ?? 'mcpgw';
  const target = at(SYSTEM_LAYOUT.config);
  const source = realpathSync(sourceConfig);
  const config = serviceConfigText(source, io, ctx.deps().env);
  if (!config) return 2;
  const unit = renderUnit(SYSTEM_LAYOUT.config);
  const unitPath = at(SYSTEM_LAYOUT.unit);
  for (const [path, text] of [[target, config.text], [unitPath, unit]] as const) {
    const may = path === source ? true : await mayReplace(path, text, o.yes, io, input, 'mcpgw systemd');
    if (may !== true) return may as number;
  }
  mkdirSync(dirname(at(SYSTEM_LAYOUT.sysusers)), { recursive: true });
  writeFileSync(at(SYSTEM_LAYOUT.sysusers), sysusersEntry(name), { mode: 0o644 });
  const account = ensureUser(name, io);
  if (!account) return 1;
  ownedDir(dirname(target), 0o750, 0, account.gid);
  writeNewConfigFile(target, config.text, { overwrite: true });
  // Readable by the service's group and no one else but root; mcpgw's own edits keep owner and mode.
  chownSync(target, 0, account.gid);
  chmodSync(target, 0o640);
  io.err(ok(io, `wrote ${target} (root:${name} 0640, data_dir: ${SYSTEM_LAYOUT.dataDir})`));
  ownedDir(at(SYSTEM_LAYOUT.dataDir), 0o700, account.uid, account.gid);
  // A database root created there earlier (e.g. 'mcpgw serve' run by hand) must become the service's too.
  for (const f of readdirSync(at(SYSTEM_LAYOUT.dataDir))) chownSync(join(at(SYSTEM_LAYOUT.dataDir), f), account.uid, account.gid);
  ownedDir(at(SYSTEM_LAYOUT.cacheDir), 0o700, account.uid, account.gid);
  mkdirSync(dirname(unitPath), { recursive: true });
  writeFileSync(unitPath, unit, { mode: 0o644 });
  io.err(ok(io, `wrote ${unitPath}`));
  const check = checkAsUser(exec, account, target, at(SYSTEM_LAYOUT.dataDir));
  if (!check.ok) {
    printError(io, `the service user ${name} cannot use the installed files: ${check.output.split('\n')[0]}`, 'fix that before enabling the service');
    return 1;
  }
  io.err(ok(io, `checked as ${name}: it reads the config and writes ${SYSTEM_LAYOUT.dataDir}`));
  if (config.oldDataDir && config.oldDataDir !== SYSTEM_LAYOUT.dataDir && existsSync(databasePath(config.oldDataDir))) {
    io.err(`note: ${config.oldDataDir} holds a database the service will not use; to keep its grants, stop the service and`);
    io.err(`  cp -a ${config.oldDataDir}/. ${SYSTEM_LAYOUT.dataDir}/ && chown -R ${name}: ${SYSTEM_LAYOUT.dataDir}`);
  }
  if (source !== target) io.err(`note: the service reads ${SYSTEM_LAYOUT.config}; edit that file from now on (--config ${SYSTEM_LAYOUT.config})`);
  printNext(io, false, name);
  return 0;
}

/** User install: data_dir written into the config, the user unit, then the same check as this user. */
export async function installUser(configPath: string, unitPath: string, unit: string, o: InstallOptions, ctx: CliContext, input: PromptInput): Promise<number> {
  const { io } = ctx;
  const loaded = loadCliConfig(configPath, ctx.deps().env, io);
  if (!loaded.ok) return loaded.code;
  const text = readFileSync(configPath, 'utf8');
  const withDataDir = editConfigText(text, (doc) => setValue(doc, ['data_dir'], loaded.config.data_dir));
  const may = await mayReplace(unitPath, unit, o.yes, io, input, 'mcpgw systemd --user');
  if (may !== true) return may as number;
  if (withDataDir !== text) {
    writeNewConfigFile(realpathSync(configPath), withDataDir, { overwrite: true });
    io.err(ok(io, `wrote data_dir: ${loaded.config.data_dir} into ${configPath}, so the CLI and the service use one database`));
  }
  let existing: string | undefined;
  try {
    existing = readFileSync(unitPath, 'utf8');
  } catch {
    existing = undefined;
  }
  try {
    mkdirSync(dirname(unitPath), { recursive: true });
    writeFileSync(unitPath, unit, { mode: 0o644 });
  } catch (err) {
    printError(io, `cannot write ${unitPath}: ${errorMessage(err)}`);
    return 1;
  }
  io.err(ok(io, `${existing === unit ? 'unchanged' : 'wrote'} ${unitPath}`));
  // The user service runs as this very user, so the check runs here.
  if (checkAccess(configPath, undefined, ctx) !== 0) {
    io.err('hint: fix that before enabling the service');
    return 1;
  }
  printNext(io, true);
  return 0;
}

function printNext(io: CliIo, user: boolean, name = 'mcpgw'): void {
  const sc = user ? 'systemctl --user' : 'sudo systemctl';
  io.err('Next:');
  io.err(`  ${sc} daemon-reload`);
  io.err(`  ${sc} enable --now mcpgw`);
  if (user) io.err('  loginctl enable-linger "$USER"     # keep it running after logout');
  io.err(`  journalctl ${user ? '--user ' : ''}-u mcpgw -f        # logs`);
  if (!user) io.err(`  sudo -u ${name} mcpgw tokens list --config ${SYSTEM_LAYOUT.config}   # tokens live in the service's database`);
}

/** `mcpgw systemd --check`: this user can read the config and write data_dir (opens the database). */
export function checkAccess(configFlag: string | undefined, dataDirFlag: string | undefined, ctx: CliContext): number {
  const { io } = ctx;
  const loaded = loadCliConfig(configFlag, ctx.deps().env, io);
  if (!loaded.ok) return loaded.code;
  const dataDir = dataDirFlag ?? loaded.config.data_dir;
  const who = userName(process.getuid?.() ?? -1);
  try {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const probe = join(dataDir, `.mcpgw-check-${process.pid}`);
    writeFileSync(probe, '');
    rmSync(probe);
    openStore(databasePath(dataDir)).close();
  } catch (err) {
    printError(io, `${who} cannot write data_dir ${dataDir}: ${(err as { code?: string }).code ?? errorMessage(err)}`);
    return 1;
  }
  io.err(ok(io, `${who} can read ${loaded.path} and write ${dataDir}`));
  return 0;
}
