/** @module `mcpgw backends tools NAME [--enable TOOL…] [--disable TOOL…]`: which tools a backend exposes, and edits of its allow/deny lists (issue 9 item 8). */
import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { editConfigFile, editConfigText, setValue, type ConfigDoc } from '../src/config/edit.ts';
import { formatIssue, parseConfigText } from '../src/config/load.ts';
import type { Config } from '../src/config/schema.ts';
import { editToolLists, hiddenBecause, unmatchedGlobs } from '../src/mcp/tool-lists.ts';
import { probeBackend } from './backend-probe.ts';
import { loadCliBackend } from './config.ts';
import { runAction, type CliContext } from './context.ts';
import { formatTable, printError, type CliIo } from './io.ts';
import { notifyGateway } from './notify-gateway.ts';
import { ok } from './passwd.ts';

interface ToolsOptions {
  config?: string;
  enable?: string[];
  disable?: string[];
  json?: boolean;
}

const same = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x, i) => x === b[i]);

/** Prints a `warning:` line for every allow/deny glob that matches none of the backend's tools. */
export function warnUnmatched(io: CliIo, name: string, lists: { allow: string[]; deny: string[] }, tools: string[]): void {
  for (const u of unmatchedGlobs(lists, tools)) io.err(`warning: tools.${u.list} '${u.glob}' of backend '${name}' matches none of its ${tools.length} tools`);
}

async function listTools(name: string, config: Config, o: ToolsOptions, ctx: CliContext): Promise<number> {
  const lists = config.backends[name].tools;
  const probe = await probeBackend(name, config, ctx.deps());
  if (!probe.ok) {
    printError(ctx.io, `cannot connect to '${name}': ${probe.error}`, `mcpgw backends test ${name}`);
    return 1;
  }
  const names = probe.catalog.tools.map((t) => String(t.name));
  const rows = names.map((tool) => ({ name: tool, enabled: hiddenBecause(lists, tool) === undefined, reason: hiddenBecause(lists, tool) ?? null }));
  const unmatched = unmatchedGlobs(lists, names);
  if (o.json) {
    ctx.io.out(JSON.stringify({ name, tools: rows, unmatched }, null, 2));
    return 0;
  }
  ctx.io.out(formatTable(['TOOL', 'STATE'], rows.map((r) => [r.name, r.enabled ? 'enabled' : `disabled (${r.reason})`])));
  warnUnmatched(ctx.io, name, lists, names);
  return 0;
}

async function editTools(name: string, loaded: { config: Config; path: string }, o: ToolsOptions, ctx: CliContext): Promise<number> {
  const { io } = ctx;
  const lists = loaded.config.backends[name].tools;
  const next = editToolLists(lists.allow, lists.deny, o.enable ?? [], o.disable ?? []);
  const edit = (cd: ConfigDoc) => {
    if (!same(next.allow, lists.allow)) setValue(cd, ['backends', name, 'tools', 'allow'], next.allow);
    if (!same(next.deny, lists.deny)) setValue(cd, ['backends', name, 'tools', 'deny'], next.deny);
  };
  const after = editConfigText(readFileSync(loaded.path, 'utf8'), edit);
  const parsed = parseConfigText(after, loaded.path, ctx.deps().env);
  if (!parsed.ok) {
    printError(io, `the change would make the config invalid`);
    for (const issue of parsed.issues) io.err(`  ${formatIssue(issue, loaded.path)}`);
    return 2;
  }
  const changed = editConfigFile(loaded.path, edit);
  const what = [...(o.enable?.length ? [`enabled ${o.enable.join(', ')}`] : []), ...(o.disable?.length ? [`disabled ${o.disable.join(', ')}`] : [])].join('; ');
  io.err(ok(io, `${what} in backend '${name}': tools.allow ${JSON.stringify(next.allow)}, tools.deny ${JSON.stringify(next.deny)}`));
  for (const h of next.stillHidden) io.err(`warning: '${h.tool}' stays disabled: tools.deny '${h.glob}' covers it (edit that glob in ${loaded.path})`);
  if (changed.after !== changed.before) await notifyGateway(ctx, parsed.config);
  return next.stillHidden.length > 0 ? 1 : 0;
}

async function tools(name: string, o: ToolsOptions, ctx: CliContext): Promise<number> {
  const loaded = loadCliBackend(name, o.config, ctx.deps().env, ctx.io);
  if (!loaded.ok) return loaded.code;
  if (!o.enable?.length && !o.disable?.length) return listTools(name, loaded.config, o, ctx);
  const both = (o.enable ?? []).filter((t) => o.disable?.includes(t));
  if (both.length > 0) {
    printError(ctx.io, `${both.join(', ')} is both enabled and disabled`);
    return 2;
  }
  return editTools(name, loaded, o, ctx);
}

/** Registers `mcpgw backends tools` under `backends`. */
export function registerBackendsTools(backends: Command, ctx: CliContext): void {
  backends
    .command('tools')
    .description("List a backend's tools as enabled or disabled, or enable/disable tools (edits tools.allow/deny, comments kept)")
    .argument('<name>', 'backend name')
    .option('-c, --config <file>', 'config file')
    .option('--enable <tool...>', "expose these tools (the backend's own names)")
    .option('--disable <tool...>', 'hide these tools')
    .option('--json', 'print {"name","tools":[{name,enabled,reason}],"unmatched":[{list,glob}]} (listing only)')
    .addHelpText(
      'after',
      `
Disabling adds the tool to tools.deny; enabling removes it from tools.deny and adds it to tools.allow when
allow does not cover it. A deny glob (e.g. delete_*) that still covers an enabled tool is reported (exit 1).
The running gateway reloads; connected clients get list_changed.

Examples:
  mcpgw backends tools github
  mcpgw backends tools github --disable delete_repository create_fork
  mcpgw backends tools github --enable create_fork`,
    )
    .action((name: string, o: ToolsOptions) => runAction(ctx, () => tools(name, o, ctx)));
}
