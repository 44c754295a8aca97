/**
 * @module The checks `mcpgw doctor` runs (issue 9 item 3): each returns a result with a one-line detail and, when it
 * fails, the command that fixes it. Pure where they can be; the I/O is the filesystem, the admin socket and deps.fetch.
 */
import { accessSync, constants, existsSync, readFileSync, realpathSync, statSync, type Stats } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Config } from '../src/config/schema.ts';
import { isLoopbackHost } from '../src/config/schema.ts';
import type { Deps } from '../src/deps.ts';
import { errorMessage } from '../src/errors.ts';
import { databasePath } from '../src/gateway.ts';
import { adminRequest } from '../src/http/admin.ts';
import { fileIdentity, type DbIdentity } from '../src/store/db-watch.ts';
import { lockPaths } from '../src/store/lock.ts';
import { probeBackend } from './backend-probe.ts';
import { userName } from './config.ts';
import { checkThroughFunnel } from './funnel-check.ts';
import { lookupUser, SYSTEM_LAYOUT } from './systemd-install.ts';

/** One line of the doctor's report; `hint` is the command that fixes a failure (null when there is nothing to do). */
export interface DoctorCheck {
  id: string;
  ok: boolean;
  title: string;
  detail: string;
  hint: string | null;
}

const pass = (id: string, title: string, detail: string, hint: string | null = null): DoctorCheck => ({ id, ok: true, title, detail, hint });
const fail = (id: string, title: string, detail: string, hint: string): DoctorCheck => ({ id, ok: false, title, detail, hint });

/** Who runs the service, and where that was read from. */
export interface ServiceAccount {
  name: string;
  uid: number;
  gid: number;
  /** The unit file it came from, or undefined when the service runs as this user (no unit names this config). */
  unit?: string;
}

/** The `--config` path in a unit's ExecStart=, and its User= (pure). */
export function parseUnit(text: string): { config?: string; user?: string } {
  const exec = /^ExecStart=(.*)$/m.exec(text)?.[1] ?? '';
  const words = exec.match(/"(?:[^"\\]|\\.)*"|\S+/g)?.map((w) => w.replace(/^"|"$/g, '')) ?? [];
  const i = words.indexOf('--config');
  return { config: i >= 0 ? words[i + 1] : undefined, user: /^User=(\S+)$/m.exec(text)?.[1] };
}

const samePath = (a: string, b: string) => {
  try {
    return realpathSync(a) === realpathSync(b);
  } catch {
    return a === b;
  }
};

/** The account the service runs as: User= of a system unit whose ExecStart uses this config; else the current user. */
export function serviceAccount(configPath: string, unitFiles: string[]): ServiceAccount {
  for (const unit of unitFiles) {
    let text: string;
    try {
      text = readFileSync(unit, 'utf8');
    } catch {
      continue;
    }
    const u = parseUnit(text);
    if (!u.config || !samePath(u.config, configPath)) continue;
    // A system unit without User= runs as root; a user unit runs as its owner, this user.
    const account = u.user ? lookupUser(u.user) : unit === SYSTEM_LAYOUT.unit ? { name: 'root', uid: 0, gid: 0 } : currentAccount();
    if (account) return { ...account, unit };
  }
  return currentAccount();
}

function currentAccount(): ServiceAccount {
  const uid = process.getuid?.() ?? 0;
  return { name: userName(uid), uid, gid: process.getgid?.() ?? 0 };
}

/** Whether `account` may write (and, for a directory, enter) what `st` describes, from owner/group/other mode bits. */
export function writableBy(st: Pick<Stats, 'uid' | 'gid' | 'mode'>, account: { uid: number; gid: number }, dir: boolean): boolean {
  if (account.uid === 0) return true;
  const need = dir ? 0o3 : 0o2;
  const shift = st.uid === account.uid ? 6 : st.gid === account.gid ? 3 : 0;
  return ((st.mode >> shift) & need) === need;
}

function canWrite(path: string, st: Stats, account: ServiceAccount): boolean {
  if (account.uid !== (process.getuid?.() ?? -1)) return writableBy(st, account, st.isDirectory());
  try {
    accessSync(path, st.isDirectory() ? constants.W_OK | constants.X_OK : constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

const chownHint = (account: ServiceAccount, path: string) => `sudo chown -R ${account.name}: ${path}`;

/** data_dir exists (or can be created), belongs to the service's user and is writable by it. */
export function checkDataDir(dataDir: string, account: ServiceAccount): DoctorCheck {
  const title = 'data_dir';
  let st: Stats;
  try {
    st = statSync(dataDir);
  } catch {
    const parent = dirname(dataDir);
    const pst = existsSync(parent) ? statSync(parent) : undefined;
    if (pst && canWrite(parent, pst, account)) return pass('data_dir', title, `${dataDir} does not exist yet; the gateway creates it at first start`);
    return fail('data_dir', title, `${dataDir} does not exist and ${account.name} cannot create it`, `sudo install -d -m 0700 -o ${account.name} ${dataDir}`);
  }
  if (!st.isDirectory()) return fail('data_dir', title, `${dataDir} is not a directory`, `point data_dir at a directory in the config`);
  const who = `${account.name}${account.unit ? ` (the service's user, from ${account.unit})` : ''}`;
  if (!canWrite(dataDir, st, account)) return fail('data_dir', title, `${who} cannot write ${dataDir} (it belongs to ${userName(st.uid)}, mode ${(st.mode & 0o777).toString(8)})`, chownHint(account, dataDir));
  if (st.uid !== account.uid) return fail('data_dir', title, `${dataDir} belongs to ${userName(st.uid)}, not to ${who}`, chownHint(account, dataDir));
  return pass('data_dir', title, `${dataDir} belongs to ${who} and is writable`);
}

/** The database and its -wal/-shm files belong to the service's user and are writable by it (root-owned -wal locks it out). */
export function checkDatabase(dataDir: string, account: ServiceAccount): DoctorCheck {
  const db = databasePath(dataDir);
  const files = [db, `${db}-wal`, `${db}-shm`].filter((f) => existsSync(f));
  if (files.length === 0) return pass('database', 'database', `${db} does not exist yet; the gateway creates it at first start`);
  for (const f of files) {
    const st = statSync(f);
    if (st.uid !== account.uid || !canWrite(f, st, account)) {
      return fail('database', 'database', `${f} belongs to ${userName(st.uid)} (mode ${(st.mode & 0o777).toString(8)}); ${account.name} must own and write it`, chownHint(account, dataDir));
    }
  }
  return pass('database', 'database', `${db} belongs to ${account.name} and is writable`);
}

function readPidFile(dataDir: string): number | undefined {
  try {
    const n = Number(readFileSync(lockPaths(dataDir).pid, 'utf8').trim());
    return Number.isInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

function canEnter(dir: string): boolean {
  try {
    accessSync(dir, constants.R_OK | constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as { code?: string }).code === 'EPERM';
  }
}

/** Exactly one gateway serves data_dir (the lock's PID answers on the admin socket) and it has this very database open. */
export async function checkGateway(config: Config, configPath: string, account: ServiceAccount): Promise<DoctorCheck> {
  const title = 'gateway running';
  const dataDir = config.data_dir;
  const start = account.unit ? 'sudo systemctl start mcpgw' : `mcpgw serve --config ${configPath}`;
  const live = (await adminRequest(dataDir, '/db-identity')) as DbIdentity | undefined;
  const pid = readPidFile(dataDir);
  if (!live && existsSync(dataDir) && !canEnter(dataDir)) {
    const me = userName(process.getuid?.() ?? -1);
    return fail('gateway', title, `${me} cannot look into data_dir ${dataDir} (its socket and lock): cannot tell whether a gateway runs`, `run doctor as the service's user: sudo -u ${account.uid === process.getuid?.() ? userName(statSync(dataDir).uid) : account.name} mcpgw doctor --config ${configPath}`);
  }
  if (!live) {
    if (pid && alive(pid)) return fail('gateway', title, `pid ${pid} holds data_dir ${dataDir} but its admin socket does not answer`, account.unit ? 'sudo systemctl restart mcpgw' : `kill ${pid}, then: ${start}`);
    return fail('gateway', title, `no gateway is running on data_dir ${dataDir}`, start);
  }
  if (pid !== undefined && pid !== live.pid) return fail('gateway', title, `the admin socket answers for pid ${live.pid} but the lock names pid ${pid}`, `stop the extra gateway (kill ${live.pid}), then restart: ${start}`);
  const mine = fileIdentity(databasePath(dataDir));
  if (live.problem || !mine || mine.dev !== live.dev || mine.ino !== live.ino) {
    const why = live.problem ?? `it has inode ${live.ino} open, while ${databasePath(dataDir)} is ${mine ? `inode ${mine.ino}` : 'missing'}`;
    return fail('gateway', title, `the gateway (pid ${live.pid}) uses another database file: ${why}`, account.unit ? 'sudo systemctl restart mcpgw' : `restart it (kill ${live.pid}; ${start})`);
  }
  return pass('gateway', title, `pid ${live.pid} serves data_dir ${dataDir}; the CLI uses the same database`);
}

/** A consent password is set (auth.mode oauth), so connectors can sign in. */
export function checkPassword(config: Config, configPath: string): DoctorCheck {
  if (config.auth.mode === 'none') return pass('password', 'consent password', 'auth.mode is none: no sign-in (loopback only)');
  if (config.auth.password_hash) return pass('password', 'consent password', 'auth.password_hash is set');
  return fail('password', 'consent password', 'no consent password: connectors cannot sign in', `mcpgw passwd --config ${configPath}`);
}

/** Connects to every enabled backend at once (connect_timeout capped at `timeoutMs`), lists and pings it. */
export async function checkBackends(config: Config, configPath: string, deps: Deps, timeoutMs: number): Promise<DoctorCheck[]> {
  const names = Object.keys(config.backends);
  return Promise.all(
    names.map(async (name): Promise<DoctorCheck> => {
      const id = `backend:${name}`;
      const b = config.backends[name];
      if (!b.enabled) return pass(id, `backend ${name}`, 'disabled in the config; not checked');
      const capped = { ...config, backends: { ...config.backends, [name]: { ...b, connect_timeout: Math.min(b.connect_timeout ?? config.backend_defaults.connect_timeout, timeoutMs) } } };
      try {
        const p = await probeBackend(name, capped, deps);
        if (!p.ok) return fail(id, `backend ${name}`, `failed after ${p.connectMs} ms: ${p.error}`, `mcpgw backends test ${name} --config ${configPath}`);
        const c = p.catalog;
        return pass(id, `backend ${name}`, `connected over ${p.transport} in ${p.connectMs} ms: ${c.tools.length} tools, ${c.prompts.length} prompts, ${c.resources.length + c.templates.length} resources`);
      } catch (err) {
        return fail(id, `backend ${name}`, errorMessage(err), `mcpgw backends test ${name} --config ${configPath}`);
      }
    }),
  );
}

const isLoopbackUrl = (url: string) => isLoopbackHost(new URL(url).hostname.replace(/^\[|\]$/g, ''));

/** What claude.ai fetches before it signs in, through public_url: PRM, AS metadata, and the 401 naming resource_metadata. */
export async function checkPublicUrl(config: Config, deps: Deps, gatewayOk: boolean): Promise<DoctorCheck> {
  const url = config.public_url;
  const title = 'public_url';
  if (config.auth.mode === 'none') return pass('public_url', title, `${url}: auth.mode is none, so there is no sign-in to discover (loopback only)`);
  const checks = await checkThroughFunnel(deps, url);
  const failed = checks.filter((c) => !c.ok);
  const loopback = isLoopbackUrl(url);
  if (failed.length > 0) {
    const hint = !gatewayOk ? 'start the gateway first (see the gateway check)' : loopback ? 'put it on the internet: mcpgw funnel on' : 'mcpgw funnel status';
    // Three refused connections are one problem: say it once.
    const unreachable = failed.length === checks.length && failed.every((c) => c.detail.startsWith('did not answer'));
    const detail = unreachable ? `${url} ${failed[0].detail}` : failed.map((c) => `${c.url} ${c.detail}`).join('; ');
    return fail('public_url', title, detail, hint);
  }
  if (loopback) return pass('public_url', title, `${url} answers the discovery chain, but only on this machine: claude.ai cannot reach a loopback URL`, 'for claude.ai: mcpgw funnel on');
  return pass('public_url', title, `${url} answers the discovery chain claude.ai follows (protected-resource and authorization-server metadata, 401 with resource_metadata)`);
}

/** How far this clock is from a server's `Date` header (1 s resolution), in ms. */
export function clockSkew(localBefore: number, localAfter: number, dateHeader: string): number | undefined {
  const remote = Date.parse(dateHeader);
  if (Number.isNaN(remote)) return undefined;
  // The header is truncated to the second: compare with the middle of that second.
  return Math.round((localBefore + localAfter) / 2 - (remote + 500));
}

/** The largest clock skew doctor accepts: tokens' `exp`/`iat` are checked by others against their own clocks. */
export const MAX_SKEW_MS = 60_000;

/** Compares the injected clock with the `Date` header of the first reference URL that answers (another machine's clock). */
export async function checkClock(config: Config, deps: Deps, timeUrls: string[], timeoutMs: number): Promise<DoctorCheck> {
  const title = 'clock';
  const ttl = `access tokens live ${Math.round(config.auth.access_token_ttl / 60_000)} min`;
  for (const url of timeUrls) {
    const before = deps.clock.now();
    let date: string | null = null;
    try {
      // GET, not HEAD: Bun.serve (and so the gateway itself) sends no Date header on HEAD.
      const res = await deps.fetch(url, { redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) });
      date = res.headers.get('date');
      await res.body?.cancel();
    } catch {
      continue;
    }
    const skew = date ? clockSkew(before, deps.clock.now(), date) : undefined;
    if (skew === undefined) continue;
    const host = new URL(url).host;
    const secs = Math.round(Math.abs(skew) / 1000);
    if (Math.abs(skew) > MAX_SKEW_MS) {
      return fail('clock', title, `this clock is ${secs} s ${skew > 0 ? 'ahead of' : 'behind'} ${host}'s (more than ${MAX_SKEW_MS / 1000} s; ${ttl})`, 'sudo timedatectl set-ntp true');
    }
    return pass('clock', title, `within ${Math.max(secs, 1)} s of ${host}'s clock (${ttl})`);
  }
  return pass('clock', title, `not compared: none of ${timeUrls.join(', ')} answered with a Date header`, 'timedatectl status');
}

/** Unit files that may run this config: the system unit, then the user unit. */
export function unitCandidates(env: Readonly<Record<string, string | undefined>>): string[] {
  const user = env.XDG_CONFIG_HOME ?? (env.HOME ? join(env.HOME, '.config') : undefined);
  return [SYSTEM_LAYOUT.unit, ...(user ? [join(user, 'systemd/user/mcpgw.service')] : [])];
}
