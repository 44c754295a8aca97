/**
 * @module `mcpgw backup FILE` / `mcpgw restore FILE` (issue 9 item 8): one file holding an online copy of the database
 * (SQLite `VACUUM INTO`, consistent while the gateway writes) plus the config text, mode 0600. The file is itself a
 * SQLite database with one extra table, `mcpgw_backup`, so `sqlite3 FILE` can inspect it.
 */
import { Database } from 'bun:sqlite';
import type { Command } from 'commander';
import { chmodSync, closeSync, copyFileSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { writeFileAtomic } from '../src/config/atomic-write.ts';
import { formatIssue, parseConfigText } from '../src/config/load.ts';
import { errorMessage } from '../src/errors.ts';
import { databasePath } from '../src/gateway.ts';
import { openStore, schemaVersion } from '../src/store/db.ts';
import { acquireDataDirLock, DataDirLockedError } from '../src/store/lock.ts';
import { loadCliConfig } from './config.ts';
import { runAction, type CliContext } from './context.ts';
import { printError } from './io.ts';
import { confirm, ok, processInput, type PromptInput } from './passwd.ts';

const TABLE = 'mcpgw_backup';
const FORMAT = '1';

/** What a backup file says about itself. */
export interface BackupInfo {
  format: string;
  created: string;
  version: string;
  schema_version: string;
  config_path: string;
  config: string;
}

/** Writes `target` (0600, atomically): the database at `dbPath` copied online, plus the config text. */
export function writeBackup(dbPath: string, target: string, meta: Omit<BackupInfo, 'format' | 'schema_version'>): void {
  const tmp = `${target}.${process.pid}.tmp`;
  rmSync(tmp, { force: true });
  // VACUUM INTO accepts an empty file: create it owner-only first, so no secret is ever readable by others.
  closeSync(openSync(tmp, 'wx', 0o600));
  try {
    const src = new Database(dbPath, { readonly: true });
    try {
      src.run('PRAGMA busy_timeout = 5000');
      src.query('VACUUM INTO ?').run(tmp);
    } finally {
      src.close();
    }
    const out = new Database(tmp);
    try {
      const info: BackupInfo = { ...meta, format: FORMAT, schema_version: String(schemaVersion(out)) };
      out.run(`PRAGMA journal_mode = DELETE`);
      out.run(`CREATE TABLE ${TABLE} (key TEXT PRIMARY KEY, value TEXT NOT NULL)`);
      const insert = out.query(`INSERT INTO ${TABLE} (key, value) VALUES (?, ?)`);
      for (const [k, v] of Object.entries(info)) insert.run(k, v);
    } finally {
      out.close();
    }
    chmodSync(tmp, 0o600);
    renameSync(tmp, target);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

/** Reads a backup's description; throws when the file is no mcpgw backup. */
export function readBackupInfo(file: string): BackupInfo {
  let db: Database;
  try {
    db = new Database(file, { readonly: true });
  } catch (err) {
    throw new Error(`cannot open ${file}: ${errorMessage(err)}`);
  }
  try {
    const rows = db.query(`SELECT key, value FROM ${TABLE}`).all() as { key: string; value: string }[];
    const info = Object.fromEntries(rows.map((r) => [r.key, r.value])) as unknown as BackupInfo;
    if (info.format !== FORMAT) throw new Error(`${file} is a backup in format ${info.format}; this mcpgw reads format ${FORMAT}`);
    return info;
  } catch (err) {
    if (err instanceof Error && err.message.includes('no such table')) throw new Error(`${file} is not an mcpgw backup (no ${TABLE} table)`);
    if (err instanceof Error && /not a database|file is not/.test(err.message)) throw new Error(`${file} is not an mcpgw backup (not a SQLite file)`);
    throw err;
  } finally {
    db.close();
  }
}

async function backup(file: string, o: { config?: string }, ctx: CliContext): Promise<number> {
  const { io } = ctx;
  // Reading a WAL database can create its -shm file: as root in the service user's data_dir that is refused.
  const loaded = loadCliConfig(o.config, ctx.deps().env, io, 'backup');
  if (!loaded.ok) return loaded.code;
  const dbPath = databasePath(loaded.config.data_dir);
  if (!existsSync(dbPath)) {
    printError(io, `no database at ${dbPath} to back up`, `is data_dir right? mcpgw doctor --config ${loaded.path}`);
    return 1;
  }
  const target = resolve(file);
  const created = new Date(ctx.deps().clock.now()).toISOString();
  writeBackup(dbPath, target, { created, version: ctx.version, config_path: loaded.path, config: readFileSync(loaded.path, 'utf8') });
  io.err(ok(io, `backed up ${dbPath} and ${loaded.path} to ${target} (mode 0600)`));
  io.err('note: secrets the config reads from ${ENV} or ${file:…} are not in the backup; keep them with it');
  return 0;
}

interface RestoreOptions {
  config?: string;
  yes?: boolean;
  withConfig: boolean;
}

/** Replaces the database (the old one is kept as mcpgw.db.before-restore) and, unless --database-only, the config file. */
async function restore(file: string, o: RestoreOptions, ctx: CliContext, input: PromptInput): Promise<number> {
  const { io } = ctx;
  const loaded = loadCliConfig(o.config, ctx.deps().env, io, 'restore');
  if (!loaded.ok) return loaded.code;
  const info = readBackupInfo(resolve(file));
  if (o.withConfig) {
    const parsed = parseConfigText(info.config, loaded.path, ctx.deps().env);
    if (!parsed.ok) {
      printError(io, `the config in ${file} is not valid here`, 'restore only the database with --database-only');
      for (const issue of parsed.issues) io.err(`  ${formatIssue(issue, loaded.path)}`);
      return 2;
    }
  }
  const dataDir = loaded.config.data_dir;
  const what = `the database in ${dataDir}${o.withConfig ? ` and ${loaded.path}` : ''}`;
  if (!o.yes) {
    if (!input.isTTY) {
      printError(io, `refusing to replace ${what} without confirmation`, 'run it in a terminal, or pass --yes');
      return 2;
    }
    if (!(await confirm(input, `Replace ${what} with the backup of ${info.created}?`))) return 1;
  }
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  let lock;
  try {
    // Holding the lock proves no gateway serves data_dir, and keeps one from starting until the restore is done.
    lock = acquireDataDirLock(dataDir);
  } catch (err) {
    if (!(err instanceof DataDirLockedError)) throw err;
    printError(io, `${err.message}; stop it before restoring`, 'sudo systemctl stop mcpgw (or end that mcpgw serve), then run restore again');
    return 1;
  }
  try {
    replaceDatabase(resolve(file), databasePath(dataDir));
  } finally {
    lock.release();
  }
  io.err(ok(io, `restored the database of ${info.created} into ${databasePath(dataDir)} (the old one is ${databasePath(dataDir)}.before-restore)`));
  if (o.withConfig) {
    writeFileAtomic(loaded.path, info.config);
    io.err(ok(io, `restored ${loaded.path}`));
  }
  return 0;
}

function replaceDatabase(backupFile: string, dbPath: string): void {
  const tmp = `${dbPath}.restore.${process.pid}.tmp`;
  copyFileSync(backupFile, tmp);
  chmodSync(tmp, 0o600);
  const db = new Database(tmp);
  try {
    db.run(`DROP TABLE ${TABLE}`);
  } finally {
    db.close();
  }
  if (existsSync(dbPath)) {
    // Fold the WAL into the main file first, so the kept copy is complete on its own.
    const old = new Database(dbPath);
    old.run('PRAGMA wal_checkpoint(TRUNCATE)');
    old.close();
    renameSync(dbPath, `${dbPath}.before-restore`);
  }
  for (const f of [`${dbPath}-wal`, `${dbPath}-shm`]) rmSync(f, { force: true });
  renameSync(tmp, dbPath);
  // Brings an older backup's schema up to date (and proves the file opens).
  openStore(dbPath).close();
}

/** Registers `mcpgw backup` and `mcpgw restore`; `input` answers restore's question (tests pass a scripted one). */
export function registerBackup(program: Command, ctx: CliContext, input: PromptInput = processInput()): void {
  program
    .command('backup')
    .description('Copy the database (online, while the gateway runs) and the config into one file (mode 0600)')
    .argument('<file>', 'the backup file to write')
    .option('-c, --config <file>', 'config file')
    .addHelpText('after', '\nThe file is a SQLite database with an extra table mcpgw_backup (the config text and when it was made).\n\nExamples:\n  mcpgw backup /root/mcpgw-$(date +%F).backup\n  sudo -u mcpgw mcpgw backup /var/lib/mcpgw/nightly.backup --config /etc/mcpgw/gateway.yaml')
    .action((file: string, o) => runAction(ctx, () => backup(file, o, ctx)));
  program
    .command('restore')
    .description('Replace the database and the config with a backup (asks first; refused while a gateway runs)')
    .argument('<file>', 'a file written by mcpgw backup')
    .option('-c, --config <file>', 'config file to replace (its data_dir receives the database)')
    .option('--database-only', 'restore only the database, keep the config file as it is')
    .option('-y, --yes', 'do not ask')
    .addHelpText('after', '\nThe database it replaces is kept as mcpgw.db.before-restore.\n\nExamples:\n  sudo systemctl stop mcpgw && sudo -u mcpgw mcpgw restore mcpgw.backup --config /etc/mcpgw/gateway.yaml\n  mcpgw restore mcpgw.backup --database-only --yes')
    .action((file: string, o: { config?: string; yes?: boolean; databaseOnly?: boolean }) =>
      runAction(ctx, () => restore(file, { config: o.config, withConfig: !o.databaseOnly, yes: o.yes }, ctx, input)),
    );
}
