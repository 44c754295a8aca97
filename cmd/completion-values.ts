/** @module `mcpgw __complete backends|grants` (hidden): the values completion scripts offer, read at completion time; silent on any problem. */
import { Database } from 'bun:sqlite';
import type { Command } from 'commander';
import { existsSync, readFileSync } from 'node:fs';
import { findConfigPath } from '../src/config/find.ts';
import { parseConfigText } from '../src/config/load.ts';
import type { Config } from '../src/config/schema.ts';
import { databasePath } from '../src/gateway.ts';
import { listGrants } from '../src/store/grants.ts';
import { dataDirProblem } from './config.ts';
import type { CliContext } from './context.ts';

function quietConfig(flag: string | undefined, env: Readonly<Record<string, string | undefined>>): Config | undefined {
  const found = findConfigPath({ flag, env, cwd: process.cwd() });
  if (!('path' in found)) return undefined;
  try {
    const parsed = parseConfigText(readFileSync(found.path, 'utf8'), found.path, env);
    return parsed.ok ? parsed.config : undefined;
  } catch {
    return undefined;
  }
}

/** Backend names from the config, or active grant ids from the database (read-only; never as a user who must not touch data_dir). */
export function completionValues(kind: string, config: Config, now: number): string[] {
  if (kind === 'backends') return Object.keys(config.backends);
  if (kind !== 'grants') return [];
  const path = databasePath(config.data_dir);
  // Opening the database may create its -shm file: not as root in a service user's data_dir.
  if (!existsSync(path) || dataDirProblem(config.data_dir, 'tokens list')) return [];
  const db = new Database(path, { readonly: true });
  try {
    return listGrants(db, { now }).map((g) => g.id);
  } finally {
    db.close();
  }
}

/** Registers the hidden `__complete` command the completion scripts call. */
export function registerCompletionValues(program: Command, ctx: CliContext, name: string): void {
  program
    .command(name, { hidden: true })
    .argument('<kind>', 'backends or grants')
    .option('-c, --config <file>', 'config file')
    .action((kind: string, o: { config?: string }) => {
      ctx.result.code = 0;
      try {
        const deps = ctx.deps();
        const config = quietConfig(o.config, deps.env);
        if (config) for (const v of completionValues(kind, config, deps.clock.now())) ctx.io.out(v);
      } catch {
        /* completion never prints errors into the user's command line */
      }
    });
}
