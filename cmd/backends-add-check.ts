/** @module The connect check of `mcpgw backends add` (issue 9 item 8): progress while it connects, then a preview that applies allow/deny. */
import type { Config } from '../src/config/schema.ts';
import { hiddenBecause } from '../src/mcp/tool-lists.ts';
import { probeBackend } from './backend-probe.ts';
import { warnUnmatched } from './backends-tools.ts';
import type { CliContext } from './context.ts';
import { printError, truncateText } from './io.ts';
import { ok } from './passwd.ts';

/** Whether an elapsed-time line is printed after `secs` seconds: 1, 2, 5, then every 5 s. */
export const progressDue = (secs: number) => secs <= 2 || secs % 5 === 0;

/**
 * Connects to the new backend as `config` (the edited config) describes it, printing elapsed time and the child's
 * stderr lines as they come; returns false (after `error:`/`hint:`) when it does not connect.
 */
export async function checkNewBackend(name: string, config: Config, ctx: CliContext): Promise<boolean> {
  const { io } = ctx;
  const b = config.backends[name];
  const limit = b.connect_timeout ?? config.backend_defaults.connect_timeout;
  io.err(`connecting to '${name}' (up to ${Math.round(limit / 1000)} s)…`);
  let secs = 0;
  const tick = setInterval(() => {
    secs++;
    if (progressDue(secs)) io.err(`  … ${secs} s`);
  }, 1000);
  let probe;
  try {
    probe = await probeBackend(name, config, ctx.deps(), { onStderr: (line) => io.err(`  stderr: ${truncateText(line, 200)}`) });
  } finally {
    clearInterval(tick);
  }
  if (!probe.ok) {
    const slow = /timed out/.test(probe.error ?? '') ? `raise --connect-timeout (now ${Math.round(limit / 1000)} s), or ` : '';
    printError(io, `cannot connect to '${name}' after ${(probe.connectMs / 1000).toFixed(1)} s: ${probe.error}`, `${slow}check the URL or command, or add it anyway with --no-check`);
    return false;
  }
  const c = probe.catalog;
  const names = c.tools.map((t) => String(t.name));
  const hidden = names.filter((t) => hiddenBecause(b.tools, t) !== undefined).length;
  const exposed = hidden > 0 ? ` (${names.length - hidden} exposed, ${hidden} disabled by allow/deny)` : '';
  io.err(ok(io, `connected over ${probe.transport}: ${c.tools.length} tools${exposed}, ${c.prompts.length} prompts, ${c.resources.length + c.templates.length} resources (in ${(probe.connectMs / 1000).toFixed(1)} s)`));
  for (const t of c.tools.slice(0, 20)) {
    const why = hiddenBecause(b.tools, String(t.name));
    io.err(`  ${String(t.name)}  ${why ? `(disabled: ${why})` : truncateText(String(t.description ?? ''), 60)}`);
  }
  if (c.tools.length > 20) io.err(`  … and ${c.tools.length - 20} more`);
  warnUnmatched(io, name, b.tools, names);
  return true;
}
