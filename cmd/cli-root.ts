/**
 * @module The root command, the `serve` command and the argv runner. `mcpgw serve` runs from this module alone
 * (issue 7: start-up memory and time): the other commands, and what they load, stay unread in the binary.
 */
import { Command, CommanderError } from 'commander';
import { systemDeps, type Deps } from '../src/deps.ts';
import { printError, processIo, type CliIo } from './io.ts';
import { serve } from './serve.ts';

declare const MCPGW_VERSION: string | undefined;
/** The version baked in at build time (package.json). */
export const VERSION = typeof MCPGW_VERSION === 'string' ? MCPGW_VERSION : '0.1.0-dev';

/** The `mcpgw` command with its options and help, and the `serve` command; the caller adds the others. */
export function createRoot(io: CliIo, deps: () => Deps, result: { code: number }): Command {
  const program = new Command('mcpgw')
    .description('Self-hosted MCP gateway: many MCP servers behind one Streamable HTTP endpoint')
    .version(VERSION, '-V, --version', 'print the version')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s.trimEnd()), writeErr: (s) => io.err(s.trimEnd()), outputError: (s, write) => write(s) })
    .showHelpAfterError('(run with --help for usage)');
  program.addHelpText(
    'after',
    `
Examples:
  mcpgw serve --config /etc/mcpgw/gateway.yaml   run the gateway
  mcpgw serve                                    use ./gateway.yaml (or $MCPGW_CONFIG)

Config is looked up at --config, $MCPGW_CONFIG, ./gateway.yaml, $XDG_CONFIG_HOME/mcpgw/gateway.yaml, /etc/mcpgw/gateway.yaml.`,
  );
  program
    .command('serve')
    .description('Run the gateway: connect backends and serve <public_url>/mcp')
    .option('-c, --config <file>', 'config file (default: $MCPGW_CONFIG, ./gateway.yaml, …)')
    .addHelpText(
      'after',
      `
Examples:
  mcpgw serve
  mcpgw serve --config ./gateway.yaml
  MCPGW_CONFIG=/etc/mcpgw/gateway.yaml mcpgw serve

Signals: SIGHUP reloads the config (so does saving the file); SIGTERM/SIGINT stop gracefully.`,
    )
    .action(async (opts: { config?: string }) => {
      result.code = await serve(opts, io, deps(), VERSION);
    });
  return program;
}

/** Parses argv with `program` and runs the command; returns the exit code. */
export async function runProgram(program: Command, argv: string[], io: CliIo, result: { code: number }): Promise<number> {
  try {
    await program.parseAsync(argv, { from: 'user' });
    return result.code;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return 0;
      return 2;
    }
    printError(io, err instanceof Error ? err.message : String(err));
    if (argv.includes('--debug') && err instanceof Error) io.err(err.stack ?? '');
    return 1;
  }
}

/** `mcpgw serve …` with only the serve command loaded. */
export function runServe(argv: string[], io: CliIo = processIo(), deps: () => Deps = () => systemDeps()): Promise<number> {
  const result = { code: 0 };
  return runProgram(createRoot(io, deps, result), argv, io, result);
}
