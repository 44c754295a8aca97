/** @module `mcpgw backends import FILE`: adds the servers of another MCP client's config as backends (comments kept). */
import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { editConfigFile, editConfigText, setBackend, type ConfigDoc } from '../src/config/edit.ts';
import { findServers, parseJsonc, planImport, type ImportCandidate } from '../src/config/import.ts';
import { formatIssue, parseConfigText } from '../src/config/load.ts';
import { adminRequest } from '../src/http/admin.ts';
import { errorMessage } from '../src/errors.ts';
import { loadCliConfig } from './config.ts';
import { runAction, type CliContext } from './context.ts';
import { formatTable, printError, truncateText } from './io.ts';
import { confirm, ok, type PromptInput } from './passwd.ts';

interface ImportOptions {
  config?: string;
  only?: string;
  yes?: boolean;
  dryRun?: boolean;
  json?: boolean;
}

function readServers(file: string): { ok: true; shape: string; servers: Record<string, unknown> } | { ok: false; error: string } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    return { ok: false, error: `cannot read ${file}: ${(err as { code?: string }).code ?? errorMessage(err)}` };
  }
  let doc: unknown;
  try {
    doc = parseJsonc(text);
  } catch (err) {
    return { ok: false, error: `${file} is not valid JSON: ${errorMessage(err)}` };
  }
  const found = findServers(doc);
  return found.ok ? found : { ok: false, error: `${file}: ${found.error}` };
}

function printPlan(ctx: CliContext, file: string, shape: string, plan: ImportCandidate[], o: ImportOptions): void {
  if (o.json) {
    const rows = plan.map((c) => ({ name: c.name, source_name: c.sourceName, transport: c.transport, target: c.target, action: c.skip ? 'skip' : 'add', reason: c.skip ?? null, secrets: c.secrets, notes: c.notes }));
    ctx.io.out(JSON.stringify({ source: file, shape, backends: rows }, null, 2));
    return;
  }
  const rows = plan.map((c) => [c.skip ? 'skip' : 'add', c.name, c.sourceName === c.name ? undefined : c.sourceName, c.transport, truncateText(c.target, 50), c.skip]);
  ctx.io.out(formatTable(['ACTION', 'NAME', 'FROM', 'TRANSPORT', 'TARGET', 'NOTE'], rows));
  for (const c of plan) for (const n of c.notes) ctx.io.err(`note: ${c.name}: ${n}`);
}

async function importBackends(file: string, o: ImportOptions, ctx: CliContext, input: PromptInput): Promise<number> {
  const { io } = ctx;
  const env = ctx.deps().env;
  const loaded = loadCliConfig(o.config, env, io);
  if (!loaded.ok) return loaded.code;
  const source = resolve(file);
  const read = readServers(source);
  if (!read.ok) {
    printError(io, read.error, 'give a claude_desktop_config.json, .mcp.json, or a Cursor/VS Code mcp.json');
    return 2;
  }
  const only = o.only?.split(',').map((s) => s.trim()).filter(Boolean);
  const plan = planImport(read.servers, new Set(Object.keys(loaded.config.backends)), { file: source, env }, only);
  const unknown = (only ?? []).filter((n) => !plan.some((c) => c.sourceName === n || c.name === n));
  if (unknown.length > 0) {
    printError(io, `--only names servers that ${source} does not have: ${unknown.join(', ')}`, `it has: ${plan.map((c) => c.sourceName).join(', ')}`);
    return 2;
  }
  printPlan(ctx, source, read.shape, plan, o);
  const adds = plan.filter((c) => c.entry);
  if (adds.length === 0) {
    io.err('nothing to add');
    return 0;
  }
  const edit = (doc: ConfigDoc) => adds.forEach((c) => setBackend(doc, c.name, c.entry!));
  const parsed = parseConfigText(editConfigText(readFileSync(loaded.path, 'utf8'), edit), loaded.path, env);
  if (!parsed.ok) {
    printError(io, 'the imported backends would make the config invalid');
    for (const issue of parsed.issues) io.err(`  ${formatIssue(issue, loaded.path)}`);
    return 2;
  }
  if (o.dryRun) return 0;
  if (!o.yes) {
    if (!input.isTTY) {
      printError(io, `refusing to add ${adds.length} backend(s) without confirmation; nothing changed`, 'run it in a terminal, or pass --yes (--dry-run only shows the plan)');
      return 2;
    }
    if (!(await confirm(input, `Add ${adds.length} backend(s) to ${loaded.path}?`))) {
      io.err('nothing changed');
      return 1;
    }
  }
  editConfigFile(loaded.path, edit);
  io.err(ok(io, `added ${adds.map((c) => c.name).join(', ')} to ${loaded.path}`));
  for (const c of adds.filter((a) => a.secrets.length > 0)) {
    io.err(`warning: ${c.name}: ${c.secrets.join(', ')} are now stored in ${loaded.path} as written (the file stays mode 0600); move them to the environment as \${VAR} references to keep them out of it`);
  }
  const answer = await adminRequest(loaded.config.data_dir, '/reload', 'POST');
  if (answer) io.err(ok(io, 'the running gateway reloaded its config; connected clients get list_changed'));
  else io.err("note: the gateway is not running here; 'mcpgw serve' will pick the change up");
  io.err(`hint: mcpgw backends test NAME checks that one connects`);
  return 0;
}

/** Registers `mcpgw backends import` under the `backends` command. */
export function registerBackendsImport(backends: Command, ctx: CliContext, input: PromptInput): void {
  backends
    .command('import')
    .description("Add the MCP servers of a Claude Desktop, Claude Code, Cursor or VS Code config as backends")
    .argument('<file>', 'claude_desktop_config.json, .mcp.json, or mcp.json')
    .option('-c, --config <file>', 'config file')
    .option('--only <names>', 'import only these servers (comma-separated, original or backend names)')
    .option('-y, --yes', 'do not ask')
    .option('--dry-run', 'show what would be added and change nothing')
    .option('--json', 'print the plan as {"source","shape","backends":[{name,source_name,transport,target,action,reason,secrets,notes}]}')
    .addHelpText(
      'after',
      `
Examples:
  mcpgw backends import ~/.config/Claude/claude_desktop_config.json
  mcpgw backends import .mcp.json --only github,sentry --yes
  mcpgw backends import .vscode/mcp.json --dry-run --json

Servers whose name exists already are skipped. \${VAR} and \${env:VAR} stay references (the variable must be
set); literal tokens in env/headers are written as they are, and a warning names them.`,
    )
    .action((file: string, o: ImportOptions) => runAction(ctx, () => importBackends(file, o, ctx, input)));
}
