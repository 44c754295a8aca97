/** @module `mcpgw tokens list|revoke|create`: the connectors holding grants, in the gateway's SQLite database. */
import type { Command } from 'commander';
import { mkdirSync } from 'node:fs';
import { parseDuration } from '../src/config/duration.ts';
import type { Config } from '../src/config/schema.ts';
import { databasePath } from '../src/gateway.ts';
import { openStore, type Database } from '../src/store/db.ts';
import { listGrants, revokeAll, revokeClient, revokeGrant, type GrantSummary } from '../src/store/grants.ts';
import { createPersonalToken } from '../src/store/personal-tokens.ts';
import { loadCliConfig } from './config.ts';
import { reportLiveEffect } from './live-db.ts';
import { runAction, type CliContext } from './context.ts';
import { formatTable, printError } from './io.ts';
import { confirm, processInput, type PromptInput } from './passwd.ts';

function withStore<T>(config: Config, fn: (db: Database) => T): T {
  mkdirSync(config.data_dir, { recursive: true, mode: 0o700 });
  const db = openStore(databasePath(config.data_dir));
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

const iso = (t?: number) => (t === undefined ? null : new Date(t).toISOString());

/** The stable `--json` shape of one grant. */
export function grantJson(g: GrantSummary) {
  return {
    id: g.id,
    client_name: g.clientName ?? null,
    client_id: g.clientId,
    registered: g.registration,
    backends: g.backends,
    status: g.status,
    created: iso(g.createdAt),
    last_used: iso(g.lastUsedAt),
    expires: iso(g.expiresAt),
  };
}

function list(o: { config?: string; json?: boolean; all?: boolean }, ctx: CliContext): number {
  const loaded = loadCliConfig(o.config, ctx.deps().env, ctx.io, 'tokens list');
  if (!loaded.ok) return loaded.code;
  const now = ctx.deps().clock.now();
  const grants = withStore(loaded.config, (db) => listGrants(db, { now, includeInactive: o.all }));
  if (o.json) {
    ctx.io.out(JSON.stringify({ grants: grants.map(grantJson) }, null, 2));
    return 0;
  }
  if (grants.length === 0) {
    ctx.io.err("no connectors hold a grant yet; add the connector in claude.ai, or run 'mcpgw tokens create --name NAME'");
    return 0;
  }
  const day = (t?: number) => (t === undefined ? undefined : new Date(t).toISOString().slice(0, 16).replace('T', ' '));
  ctx.io.out(
    formatTable(
      ['ID', 'CLIENT', 'CLIENT ID', 'REGISTERED', 'BACKENDS', 'CREATED', 'LAST USED', 'EXPIRES', ...(o.all ? ['STATUS'] : [])],
      grants.map((g) => [g.id, g.clientName, g.clientId.length > 40 ? `${g.clientId.slice(0, 39)}…` : g.clientId, g.registration, g.backends === null ? 'all' : g.backends.join(','), day(g.createdAt), day(g.lastUsedAt), day(g.expiresAt) ?? 'never', ...(o.all ? [g.status] : [])]),
    ),
  );
  return 0;
}

interface RevokeOptions {
  config?: string;
  client?: string;
  all?: boolean;
  yes?: boolean;
}

async function revoke(id: string | undefined, o: RevokeOptions, ctx: CliContext, input: PromptInput): Promise<number> {
  const chosen = [id !== undefined, o.client !== undefined, Boolean(o.all)].filter(Boolean).length;
  if (chosen !== 1) {
    printError(ctx.io, 'say which grants to revoke: an ID, --client CLIENT_ID, or --all', 'mcpgw tokens list');
    return 2;
  }
  const loaded = loadCliConfig(o.config, ctx.deps().env, ctx.io, 'tokens revoke');
  if (!loaded.ok) return loaded.code;
  const what = id !== undefined ? `grant ${id}` : o.client !== undefined ? `every grant of client ${o.client}` : 'EVERY grant (all connectors will have to sign in again)';
  if (!o.yes) {
    if (!input.isTTY) {
      printError(ctx.io, `refusing to revoke ${what} without confirmation`, 'run it in a terminal, or pass --yes');
      return 2;
    }
    if (!(await confirm(input, `Revoke ${what}?`))) {
      ctx.io.err('nothing changed');
      return 1;
    }
  }
  const now = ctx.deps().clock.now();
  const count = withStore(loaded.config, (db) => (id !== undefined ? Number(revokeGrant(db, id, now, 'mcpgw tokens revoke')) : o.client !== undefined ? revokeClient(db, o.client, now, 'mcpgw tokens revoke') : revokeAll(db, now, 'mcpgw tokens revoke')));
  if (count === 0) {
    printError(ctx.io, id !== undefined ? `no active grant ${id}` : 'no active grants matched', 'mcpgw tokens list');
    return 1;
  }
  await reportLiveEffect(ctx.io, loaded.config.data_dir, `revoked ${count} grant${count === 1 ? '' : 's'}`, 'the running gateway refuses their tokens from now on');
  return 0;
}

/** A personal token's lifetime unless `--ttl` says otherwise. */
export const DEFAULT_TOKEN_TTL = '90d';

interface CreateOptions {
  config?: string;
  name: string;
  backends?: string;
  ttl?: string;
  json?: boolean;
}

async function create(o: CreateOptions, ctx: CliContext): Promise<number> {
  const loaded = loadCliConfig(o.config, ctx.deps().env, ctx.io, 'tokens create');
  if (!loaded.ok) return loaded.code;
  const { config } = loaded;
  const backends = o.backends ? o.backends.split(',').map((b) => b.trim()).filter(Boolean) : null;
  const unknown = (backends ?? []).filter((b) => !config.backends[b]);
  if (unknown.length > 0) {
    printError(ctx.io, `unknown backend${unknown.length > 1 ? 's' : ''}: ${unknown.join(', ')}`, 'mcpgw backends list');
    return 2;
  }
  // issue 8 finding 8: a forgotten token should not work forever; `--ttl never` says so explicitly.
  const ttlText = o.ttl ?? DEFAULT_TOKEN_TTL;
  const ttl = ttlText === 'never' ? undefined : parseDuration(ttlText);
  if (ttlText !== 'never' && ttl === undefined) {
    printError(ctx.io, `--ttl must be a duration like 30d or 12h, or 'never'; got '${o.ttl}'`);
    return 2;
  }
  const deps = ctx.deps();
  const now = deps.clock.now();
  const resource = `${config.public_url}/mcp`;
  const { token, grantId } = withStore(config, (db) => createPersonalToken(db, { name: o.name, backends, expiresAt: ttl === undefined ? undefined : now + ttl, resource, now, random: deps.random }));
  if (o.json) ctx.io.out(JSON.stringify({ token, id: grantId, expires: iso(ttl === undefined ? undefined : now + ttl) }));
  else ctx.io.out(token);
  await reportLiveEffect(ctx.io, config.data_dir, `created personal token '${o.name}' (grant ${grantId}); it is shown only this once`, 'the running gateway accepts it now');
  ctx.io.err(`hint: claude mcp add --transport http mcpgw ${resource} --header "Authorization: Bearer <token>"`);
  return 0;
}

/** Registers `mcpgw tokens …`. */
export function registerTokens(program: Command, ctx: CliContext, input: PromptInput = processInput()): void {
  const run = (fn: () => number | Promise<number>) => runAction(ctx, fn);
  const tokens = program.command('tokens').description('List, revoke and create the grants connectors hold');
  tokens
    .command('list')
    .description('List connectors holding grants: client, how registered, backends, created, last used, expiry')
    .option('-c, --config <file>', 'config file')
    .option('--all', 'include revoked and expired grants')
    .option('--json', 'print {"grants":[{id,client_name,client_id,registered,backends,status,created,last_used,expires}]}')
    .addHelpText('after', '\nExamples:\n  mcpgw tokens list\n  mcpgw tokens list --json')
    .action((o) => run(() => list(o, ctx)));
  tokens
    .command('revoke')
    .description('Revoke a grant, every grant of a client, or all grants (asks first)')
    .argument('[id]', 'grant id from mcpgw tokens list')
    .option('-c, --config <file>', 'config file')
    .option('--client <client_id>', 'revoke every grant of this client')
    .option('--all', 'revoke every grant')
    .option('-y, --yes', 'do not ask')
    .addHelpText('after', '\nExamples:\n  mcpgw tokens revoke g_4f2a9c01b3d2\n  mcpgw tokens revoke --client mcpgw_client_abc --yes\n  mcpgw tokens revoke --all')
    .action((id: string | undefined, o: RevokeOptions) => run(() => revoke(id, o, ctx, input)));
  tokens
    .command('create')
    .description('Create a personal access token for Claude Code, scripts and benchmarks (printed once)')
    .requiredOption('--name <name>', 'what the token is for')
    .option('-c, --config <file>', 'config file')
    .option('--backends <a,b>', 'only these backends (default: all)')
    .option('--ttl <duration>', `lifetime like 30d or 12h, or 'never' (default: ${DEFAULT_TOKEN_TTL})`)
    .option('--json', 'print {"token","id","expires"}')
    .addHelpText('after', '\nExamples:\n  mcpgw tokens create --name laptop-claude-code\n  mcpgw tokens create --name ci --ttl 30d\n  mcpgw tokens create --name homelab-script --ttl never\n  mcpgw tokens create --name bench --backends everything --json')
    .action((o: CreateOptions) => run(() => create(o, ctx)));
}
