/** @module Finds and loads the config for a command, printing `error:`/`hint:` and giving exit code 2 on failure. */
import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import { findConfigPath } from '../src/config/find.ts';
import { ConfigError, loadConfigFile } from '../src/config/load.ts';
import type { Config } from '../src/config/schema.ts';
import { printError, type CliIo } from './io.ts';

export type Loaded = { ok: true; config: Config; path: string } | { ok: false; code: number };

/** Resolves `--config`, `$MCPGW_CONFIG` and the default locations; prints `error:`/`hint:` when there is none. */
export function locateCliConfig(flag: string | undefined, env: Readonly<Record<string, string | undefined>>, io: CliIo): string | undefined {
  const found = findConfigPath({ flag, env, cwd: process.cwd() });
  if ('path' in found) return found.path;
  printError(io, found.error, found.hint);
  return undefined;
}

/** The name of a local user by uid, from /etc/passwd; the number when it is not listed. */
export function userName(uid: number, passwd = '/etc/passwd'): string {
  try {
    const line = readFileSync(passwd, 'utf8').split('\n').find((l) => l.split(':')[2] === String(uid));
    if (line) return line.split(':')[0];
  } catch {
    /* no passwd file: fall through */
  }
  return String(uid);
}

/**
 * Why this process must not open the database in `dataDir`, or undefined when it may: the directory is not writable, or
 * it belongs to a service user and this is root (files root creates there, like SQLite's -wal, would lock the service out).
 * The hint runs the same command as the directory's owner, so the CLI acts on the database the service uses.
 */
export function dataDirProblem(dataDir: string, command: string): { error: string; hint: string } | undefined {
  let owner: number;
  try {
    owner = statSync(dataDir).uid;
  } catch {
    return undefined; // created on first use
  }
  const uid = process.getuid?.() ?? owner;
  const hint = `run it as the service's user: sudo -u ${userName(owner)} mcpgw ${command}`;
  if (uid === 0 && owner !== 0) return { error: `data_dir ${dataDir} belongs to ${userName(owner)}; root must not create files there`, hint };
  try {
    accessSync(dataDir, constants.W_OK | constants.X_OK);
  } catch {
    return { error: `cannot write data_dir ${dataDir} (it belongs to ${userName(owner)})`, hint };
  }
  return undefined;
}

/**
 * Finds the config (see locateCliConfig), then validates the file. With `store`, the command (e.g. `tokens list`) opens
 * the database, and a data_dir this user must not write is refused with a hint (exit 1).
 */
export function loadCliConfig(flag: string | undefined, env: Readonly<Record<string, string | undefined>>, io: CliIo, store?: string): Loaded {
  const path = locateCliConfig(flag, env, io);
  if (path === undefined) return { ok: false, code: 2 };
  try {
    const config = loadConfigFile(path, env);
    const problem = store === undefined ? undefined : dataDirProblem(config.data_dir, `${store} …`);
    if (problem) {
      printError(io, problem.error, problem.hint);
      return { ok: false, code: 1 };
    }
    return { ok: true, config, path };
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    const [first, ...rest] = err.message.split('\n');
    printError(io, first);
    for (const line of rest) io.err(`  ${line}`);
    io.err('hint: every key is documented in gateway.example.yaml');
    return { ok: false, code: 2 };
  }
}

/** loadCliConfig plus the named backend; a missing backend is `error: no backend named …` with a hint (exit 1). */
export function loadCliBackend(name: string, flag: string | undefined, env: Readonly<Record<string, string | undefined>>, io: CliIo): (Loaded & { ok: true; backend: Config['backends'][string] }) | { ok: false; code: number } {
  const loaded = loadCliConfig(flag, env, io);
  if (!loaded.ok) return loaded;
  const backend = loaded.config.backends[name];
  if (!backend) {
    printError(io, `no backend named '${name}'`, 'mcpgw backends list');
    return { ok: false, code: 1 };
  }
  return { ...loaded, backend };
}
