/** @module `mcpgw backends add|list|remove|show|test` (`import` in backends-import.ts, `diff|approve` in backends-pins.ts): edits gateway.yaml (comments kept) and tells the running gateway. */
import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { editConfigFile, editConfigText, removeBackend, setBackend, type ConfigDoc } from '../src/config/edit.ts';
import { formatIssue, parseConfigText } from '../src/config/load.ts';
import { adminRequest } from '../src/http/admin.ts';
import type { GatewaySnapshot } from '../src/gateway.ts';
import { buildView } from '../src/mcp/catalog.ts';
import { loadCliConfig, loadCliBackend } from './config.ts';
import { runAction, type CliContext } from './context.ts';
import { formatTable, printError, truncateText } from './io.ts';
import { confirm, ok, processInput, type PromptInput } from './passwd.ts';
import { probeBackend } from './backend-probe.ts';
import { registerBackendsImport } from './backends-import.ts';
import { registerBackendsPins } from './backends-pins.ts';
import { registerBackendsTools, warnUnmatched } from './backends-tools.ts';
import { notifyGateway } from './notify-gateway.ts';
import { checkNewBackend } from './backends-add-check.ts';

interface AddOptions {
  config?: string;
  transport?: string;
  header: string[];
  env: string[];
  prefix?: string;
  allow: string[];
  deny: string[];
  description?: string;
  check: boolean;
  replace?: boolean;
  json?: boolean;
  connectTimeout?: string;
}

const collect = (v: string, prev: string[]) => [...prev, v];

/** Parses repeated K=V flags; undefined entries are reported by the caller. */
export function parsePairs(pairs: string[]): { ok: true; value: Record<string, string> } | { ok: false; bad: string } {
  const out: Record<string, string> = {};
  for (const p of pairs) {
    const i = p.indexOf('=');
    if (i <= 0) return { ok: false, bad: p };
    out[p.slice(0, i)] = p.slice(i + 1);
  }
  return { ok: true, value: out };
}

/** The YAML entry `backends add` writes, from its arguments; only keys the user gave are written. */
export function backendEntry(target: string[], o: AddOptions, headers: Record<string, string>, env: Record<string, string>): Record<string, unknown> {
  const [first, ...rest] = target;
  // Anything shaped like scheme://… is meant as a URL; the schema then insists on http(s).
  const isUrl = target.length === 1 && /^[a-z][a-z0-9+.-]*:\/\//i.test(first);
  const entry: Record<string, unknown> = isUrl ? { url: first } : { command: first, ...(rest.length > 0 ? { args: rest } : {}) };
  if (o.transport) entry.transport = o.transport;
  if (Object.keys(headers).length > 0) entry.headers = headers;
  if (Object.keys(env).length > 0) entry.env = env;
  if (o.prefix !== undefined) entry.prefix = o.prefix === 'false' ? false : o.prefix;
  if (o.description) entry.description = o.description;
  if (o.connectTimeout) entry.connect_timeout = o.connectTimeout;
  if (o.allow.length > 0 || o.deny.length > 0) entry.tools = { ...(o.allow.length > 0 ? { allow: o.allow } : {}), ...(o.deny.length > 0 ? { deny: o.deny } : {}) };
  return entry;
}

async function add(name: string, target: string[], o: AddOptions, ctx: CliContext): Promise<number> {
  const { io } = ctx;
  const loaded = loadCliConfig(o.config, ctx.deps().env, io);
  if (!loaded.ok) return loaded.code;
  if (target.length === 0) {
    printError(io, 'backends add needs a URL or a command', 'mcpgw backends add NAME https://host/mcp  or  mcpgw backends add NAME -- npx -y some-mcp-server');
    return 2;
  }
  if (loaded.config.backends[name] && !o.replace) {
    printError(io, `a backend named '${name}' exists already`, `use --replace to overwrite it, or 'mcpgw backends remove ${name}'`);
    return 1;
  }
  const headers = parsePairs(o.header);
  const env = parsePairs(o.env);
  if (!headers.ok || !env.ok) {
    printError(io, `expected KEY=VALUE, got '${!headers.ok ? headers.bad : !env.ok ? env.bad : ''}'`);
    return 2;
  }
  const edit = (doc: ConfigDoc) => setBackend(doc, name, backendEntry(target, o, headers.value, env.value));
  const after = editConfigText(readFileSync(loaded.path, 'utf8'), edit);
  const parsed = parseConfigText(after, loaded.path, ctx.deps().env);
  if (!parsed.ok) {
    printError(io, `backend '${name}' would make the config invalid`);
    for (const issue of parsed.issues) io.err(`  ${formatIssue(issue, loaded.path)}`);
    return 2;
  }
  if (o.check && !(await checkNewBackend(name, parsed.config, ctx))) return 1;
  editConfigFile(loaded.path, edit);
  io.err(ok(io, `added backend '${name}' to ${loaded.path}`));
  if (o.json) io.out(JSON.stringify({ name, added: true, config: loaded.path }));
  await notifyGateway(ctx, parsed.config);
  return 0;
}

interface Row {
  name: string;
  transport: string;
  state: string;
  tools: number | null;
  prompts: number | null;
  resources: number | null;
  last_error: string | null;
  /** The MCP revision spoken with the backend (2026-07-28 after server/discover, else the initialize answer). */
  protocol_version: string | null;
}

async function list(o: { config?: string; json?: boolean }, ctx: CliContext): Promise<number> {
  const loaded = loadCliConfig(o.config, ctx.deps().env, ctx.io);
  if (!loaded.ok) return loaded.code;
  const live = (await adminRequest(loaded.config.data_dir, '/status')) as GatewaySnapshot | undefined;
  const rows: Row[] = Object.entries(loaded.config.backends).map(([name, b]) => {
    const s = live?.backends.find((x) => x.name === name);
    if (s) return { name, transport: s.transport, state: s.state, tools: s.tools, prompts: s.prompts, resources: s.resources, last_error: s.lastError ?? null, protocol_version: s.protocolVersion ?? null };
    return { name, transport: b.transport, state: !b.enabled ? 'disabled' : 'unknown', tools: null, prompts: null, resources: null, last_error: null, protocol_version: null };
  });
  if (o.json) {
    ctx.io.out(JSON.stringify({ source: live ? 'gateway' : 'config', backends: rows }, null, 2));
    return 0;
  }
  if (!live) ctx.io.err('note: the gateway is not running; states are unknown (showing the config)');
  const glyph = (s: string) => (s === 'up' ? '✓ up' : s === 'down' ? '✗ down' : s === 'connecting' ? '… connecting' : s);
  ctx.io.out(
    formatTable(
      ['NAME', 'TRANSPORT', 'STATE', 'PROTOCOL', 'TOOLS', 'PROMPTS', 'RESOURCES', 'LAST ERROR'],
      rows.map((r) => [r.name, r.transport, glyph(r.state), r.protocol_version ?? undefined, r.tools ?? undefined, r.prompts ?? undefined, r.resources ?? undefined, r.last_error ? truncateText(r.last_error, 60) : undefined]),
    ),
  );
  return 0;
}

async function remove(name: string, o: { config?: string; yes?: boolean }, ctx: CliContext, input: PromptInput): Promise<number> {
  const loaded = loadCliBackend(name, o.config, ctx.deps().env, ctx.io);
  if (!loaded.ok) return loaded.code;
  if (!o.yes) {
    if (!input.isTTY) {
      printError(ctx.io, `refusing to remove '${name}' without confirmation`, 'run it in a terminal, or pass --yes');
      return 2;
    }
    if (!(await confirm(input, `Remove backend '${name}' from ${loaded.path}?`))) {
      ctx.io.err('nothing changed');
      return 1;
    }
  }
  editConfigFile(loaded.path, (doc) => void removeBackend(doc, name));
  ctx.io.err(ok(ctx.io, `removed backend '${name}'`));
  await notifyGateway(ctx, loaded.config);
  return 0;
}

async function show(name: string, o: { config?: string; json?: boolean }, ctx: CliContext): Promise<number> {
  const loaded = loadCliBackend(name, o.config, ctx.deps().env, ctx.io);
  if (!loaded.ok) return loaded.code;
  const b = loaded.backend;
  let tools = ((await adminRequest(loaded.config.data_dir, '/tools')) as { exposed: string; backend: string; original: string; description?: string }[] | undefined)?.filter((t) => t.backend === name);
  if (!tools || tools.length === 0) {
    const probe = await probeBackend(name, loaded.config, ctx.deps());
    if (!probe.ok) {
      printError(ctx.io, `cannot connect to '${name}': ${probe.error}`, `mcpgw backends test ${name}`);
      return 1;
    }
    const policy = { prefix: b.prefix, allow: b.tools.allow, deny: b.tools.deny, rename: b.tools.rename, descriptions: b.tools.descriptions };
    const view = buildView([{ name, policy, ...probe.catalog }], { separator: loaded.config.naming.separator, maxLength: loaded.config.naming.max_length });
    warnUnmatched(ctx.io, name, b.tools, probe.catalog.tools.map((t) => String(t.name)));
    tools = view.tools.map((t) => ({ exposed: String(t.item.name), backend: name, original: view.toolRoutes.get(String(t.item.name))!.original, description: t.item.description as string | undefined }));
  }
  if (o.json) {
    const live = (await adminRequest(loaded.config.data_dir, '/status')) as GatewaySnapshot | undefined;
    const protocolVersion = live?.backends.find((x) => x.name === name)?.protocolVersion ?? null;
    ctx.io.out(JSON.stringify({ name, transport: b.transport, protocol_version: protocolVersion, tools: tools.map(({ exposed, original, description }) => ({ exposed, original, description: description ?? null })) }, null, 2));
    return 0;
  }
  ctx.io.out(formatTable(['EXPOSED', 'ORIGINAL', 'DESCRIPTION'], tools.map((t) => [t.exposed, t.original, truncateText(t.description ?? '', 60)])));
  return 0;
}

async function testBackend(name: string, o: { config?: string; json?: boolean }, ctx: CliContext): Promise<number> {
  const loaded = loadCliBackend(name, o.config, ctx.deps().env, ctx.io);
  if (!loaded.ok) return loaded.code;
  const p = await probeBackend(name, loaded.config, ctx.deps());
  const counts = { tools: p.catalog.tools.length, prompts: p.catalog.prompts.length, resources: p.catalog.resources.length + p.catalog.templates.length };
  if (o.json) ctx.io.out(JSON.stringify({ name, ok: p.ok, transport: p.transport, connect_ms: p.connectMs, ping_ms: p.pingMs ?? null, ...counts, error: p.error ?? null }, null, 2));
  if (!p.ok) {
    printError(ctx.io, `'${name}' failed after ${p.connectMs} ms: ${p.error}`, 'check the URL or command and its environment');
    return 1;
  }
  if (!o.json) ctx.io.out(`${ok(ctx.io, `${name}: connected over ${p.transport} in ${p.connectMs} ms, ping ${p.pingMs} ms`)}\n  ${counts.tools} tools, ${counts.prompts} prompts, ${counts.resources} resources`);
  return 0;
}

/** Registers `mcpgw backends …`. */
export function registerBackends(program: Command, ctx: CliContext, input: PromptInput = processInput()): void {
  const run = (p: Promise<number>) => runAction(ctx, () => p);
  const backends = program.command('backends').description('Add, list, inspect and remove the MCP servers behind the gateway');
  backends
    .command('add')
    .description('Add a backend (an MCP server URL, or a command after --) and check it connects')
    .argument('<name>', 'backend name (tools become <name>_<tool>)')
    .argument('[target...]', 'URL, or -- COMMAND [ARGS…]')
    .option('-c, --config <file>', 'config file')
    .option('--transport <kind>', 'auto | streamable-http | sse | stdio')
    .option('--header <K=V>', 'HTTP header sent to the backend (repeatable; values may use ${VAR})', collect, [])
    .option('--env <K=V>', 'environment variable for a command backend (repeatable)', collect, [])
    .option('--prefix <prefix>', "tool name prefix, or 'false' for none")
    .option('--allow <glob>', 'only expose tools matching (repeatable)', collect, [])
    .option('--deny <glob>', 'hide tools matching (repeatable)', collect, [])
    .option('--description <text>', 'one-line summary shown to clients')
    .option('--connect-timeout <duration>', 'how long connecting may take (written as connect_timeout; default backend_defaults.connect_timeout, 30s)')
    .option('--no-check', 'write it without connecting first')
    .option('--replace', 'overwrite an existing backend of that name')
    .option('--json', 'print {"name","added","config"} on stdout')
    .addHelpText(
      'after',
      `
Examples:
  mcpgw backends add erp https://erp.lan/mcp --header 'Authorization=Bearer \${ERP_TOKEN}'
  mcpgw backends add files --connect-timeout 2m -- npx -y @modelcontextprotocol/server-filesystem /srv/share
  mcpgw backends add ha http://ha.lan:8123/mcp_server/sse --transport sse --deny 'delete_*'`,
    )
    .action((name: string, target: string[], o: AddOptions) => run(add(name, target, o, ctx)));
  backends
    .command('list')
    .description('List backends with their state (live from the running gateway, else from the config)')
    .option('-c, --config <file>', 'config file')
    .option('--json', 'print {"source","backends":[{name,transport,state,tools,prompts,resources,last_error}]}')
    .addHelpText('after', '\nExamples:\n  mcpgw backends list\n  mcpgw backends list --json | jq \'.backends[] | select(.state != "up")\'')
    .action((o) => run(list(o, ctx)));
  backends
    .command('remove')
    .description('Remove a backend from the config (asks first)')
    .argument('<name>', 'backend name')
    .option('-c, --config <file>', 'config file')
    .option('-y, --yes', 'do not ask')
    .addHelpText('after', '\nExamples:\n  mcpgw backends remove erp\n  mcpgw backends remove erp --yes')
    .action((name: string, o) => run(remove(name, o, ctx, input)));
  backends
    .command('show')
    .description("Show a backend's tools with their exposed and original names")
    .argument('<name>', 'backend name')
    .option('-c, --config <file>', 'config file')
    .option('--json', 'print {"name","transport","tools":[{exposed,original,description}]}')
    .addHelpText('after', '\nExamples:\n  mcpgw backends show erp\n  mcpgw backends show erp --json')
    .action((name: string, o) => run(show(name, o, ctx)));
  backends
    .command('test')
    .description('Connect to a backend, list its catalog and ping it, with timings')
    .argument('<name>', 'backend name')
    .option('-c, --config <file>', 'config file')
    .option('--json', 'print {"name","ok","transport","connect_ms","ping_ms","tools","prompts","resources","error"}')
    .addHelpText('after', '\nExamples:\n  mcpgw backends test erp')
    .action((name: string, o) => run(testBackend(name, o, ctx)));
  registerBackendsImport(backends, ctx, input);
  registerBackendsPins(backends, ctx);
  registerBackendsTools(backends, ctx);
}
