/** @module `mcpgw backends diff|approve`: tool pinning (rug-pull defence) from the terminal; reads and writes the pins in the database. */
import type { Command } from 'commander';
import { databasePath } from '../src/gateway.ts';
import { adminRequest } from '../src/http/admin.ts';
import { openStore } from '../src/store/db.ts';
import { approvePins, changedParts, loadPins, type Pin } from '../src/store/pins.ts';
import { loadCliBackend } from './config.ts';
import { runAction, type CliContext } from './context.ts';
import { formatTable, printError } from './io.ts';
import { ok } from './passwd.ts';

interface Options {
  config?: string;
  json?: boolean;
}

/** Lines only in `a` as `-`, only in `b` as `+` (enough to see what a description or schema gained or lost). */
function lineDiff(a: string, b: string, indent: string): string[] {
  const left = a.split('\n');
  const right = b.split('\n');
  return [...left.filter((l) => !right.includes(l)).map((l) => `${indent}- ${l}`), ...right.filter((l) => !left.includes(l)).map((l) => `${indent}+ ${l}`)];
}

function changeJson(p: Pin, pinning: string) {
  const seen = p.seen!;
  return {
    tool: p.tool,
    changed: changedParts(p.pinned, seen),
    state: pinning === 'strict' ? 'withheld' : 'listed',
    pinned_hash: p.pinned.hash,
    new_hash: seen.hash,
    pinned_at: new Date(p.pinnedAt).toISOString(),
    changed_at: p.changedAt === undefined ? null : new Date(p.changedAt).toISOString(),
    pinned: { description: p.pinned.description, inputSchema: p.pinned.inputSchema },
    new: { description: seen.description, inputSchema: seen.inputSchema },
  };
}

function withPins<T>(ctx: CliContext, o: Options, name: string, fn: (pins: Map<string, Pin>, pinning: string, approve: (tool?: string) => string[], dataDir: string) => T): T | number {
  const loaded = loadCliBackend(name, o.config, ctx.deps().env, ctx.io);
  if (!loaded.ok) return loaded.code;
  const b = loaded.backend;
  const db = openStore(databasePath(loaded.config.data_dir));
  try {
    return fn(loadPins(db, name), b.pinning, (tool) => approvePins(db, name, tool, ctx.deps().clock.now()), loaded.config.data_dir);
  } finally {
    db.close();
  }
}

function diff(name: string, o: Options, ctx: CliContext): number {
  const { io } = ctx;
  const r = withPins(ctx, o, name, (pins, pinning) => {
    const changes = [...pins.values()].filter((p) => p.seen).map((p) => changeJson(p, pinning));
    if (o.json) return io.out(JSON.stringify({ backend: name, pinning, pinned: pins.size, changes }, null, 2)), 0;
    if (pins.size === 0) return io.err(`note: no tools of '${name}' are pinned yet; the gateway pins them when it first lists them`), 0;
    if (changes.length === 0) return io.out(`${name}: ${pins.size} tools pinned, none changed since (pinning: ${pinning})`), 0;
    const short = (h: string) => h.slice(0, 12);
    io.out(formatTable(['TOOL', 'CHANGED', 'PINNED', 'NOW', 'SINCE', 'STATE'], changes.map((c) => [c.tool, c.changed.join(','), short(c.pinned_hash), short(c.new_hash), c.changed_at ?? undefined, c.state])));
    for (const c of changes) {
      io.out(`\n${c.tool}:`);
      if (c.changed.includes('description')) io.out(['  description:', ...lineDiff(c.pinned.description ?? '', c.new.description ?? '', '    ')].join('\n'));
      if (c.changed.includes('input_schema')) io.out(['  input schema:', ...lineDiff(JSON.stringify(c.pinned.inputSchema, null, 2), JSON.stringify(c.new.inputSchema, null, 2), '    ')].join('\n'));
    }
    io.err(`hint: mcpgw backends approve ${name}${changes.length === 1 ? ` ${changes[0].tool}` : ' [TOOL]'} accepts the new definition`);
    return 0;
  });
  return r;
}

async function approve(name: string, tool: string | undefined, o: Options, ctx: CliContext): Promise<number> {
  const { io } = ctx;
  let dataDir = '';
  const r = withPins(ctx, o, name, (pins, _pinning, accept, dir) => {
    dataDir = dir;
    if (tool !== undefined && !pins.get(tool)?.seen) {
      printError(io, `tool '${tool}' of '${name}' has no change waiting for approval`, `mcpgw backends diff ${name}`);
      return 1;
    }
    const approved = accept(tool);
    if (o.json) io.out(JSON.stringify({ backend: name, approved }));
    if (approved.length === 0) io.err(`nothing to approve: no tool of '${name}' changed since it was pinned`);
    else io.err(ok(io, `approved ${approved.join(', ')} of '${name}': the new definitions are pinned`));
    return approved.length === 0 ? -1 : 0;
  });
  if (r !== 0) return r === -1 ? 0 : r;
  if (await adminRequest(dataDir, '/pins', 'POST')) io.err(ok(io, 'the running gateway re-read the pins; clients get list_changed'));
  else io.err("note: the gateway is not running here; 'mcpgw serve' reads the pins when it starts");
  return 0;
}

/** Registers `mcpgw backends diff` and `mcpgw backends approve` under the `backends` command. */
export function registerBackendsPins(backends: Command, ctx: CliContext): void {
  backends
    .command('diff')
    .description("Show a backend's tools whose description or input schema changed since they were pinned")
    .argument('<name>', 'backend name')
    .option('-c, --config <file>', 'config file')
    .option('--json', 'print {"backend","pinning","pinned","changes":[{tool,changed,state,pinned_hash,new_hash,pinned_at,changed_at,pinned,new}]}')
    .addHelpText('after', '\nExamples:\n  mcpgw backends diff github\n  mcpgw backends diff github --json | jq \'.changes[].tool\'')
    .action((name: string, o: Options) => runAction(ctx, () => diff(name, o, ctx)));
  backends
    .command('approve')
    .description('Accept the changed definitions of a backend\'s tools (all, or one) as the new pins')
    .argument('<name>', 'backend name')
    .argument('[tool]', "the tool's original name (default: every changed tool)")
    .option('-c, --config <file>', 'config file')
    .option('--json', 'print {"backend","approved":[tool…]}')
    .addHelpText('after', '\nExamples:\n  mcpgw backends diff github\n  mcpgw backends approve github create_issue\n  mcpgw backends approve github')
    .action((name: string, tool: string | undefined, o: Options) => runAction(ctx, () => approve(name, tool, o, ctx)));
}
