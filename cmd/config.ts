/** @module Finds and loads the config for a command, printing `error:`/`hint:` and giving exit code 2 on failure. */
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

/** Finds the config (see locateCliConfig), then validates the file. */
export function loadCliConfig(flag: string | undefined, env: Readonly<Record<string, string | undefined>>, io: CliIo): Loaded {
  const path = locateCliConfig(flag, env, io);
  if (path === undefined) return { ok: false, code: 2 };
  try {
    return { ok: true, config: loadConfigFile(path, env), path };
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    const [first, ...rest] = err.message.split('\n');
    printError(io, first);
    for (const line of rest) io.err(`  ${line}`);
    io.err('hint: every key is documented in gateway.example.yaml');
    return { ok: false, code: 2 };
  }
}
