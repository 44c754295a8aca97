/** @module The commander tree. */
import { Command } from 'commander';
declare const MCPGW_VERSION: string | undefined;
export const VERSION = typeof MCPGW_VERSION === 'string' ? MCPGW_VERSION : '0.1.0-dev';

export async function runCli(argv: string[]): Promise<number | undefined> {
  const program = new Command('mcpgw').version(VERSION);
  program.command('serve').option('--config <file>').action(async () => {
    const { Server } = await import('@modelcontextprotocol/server');
    console.log(typeof Server);
  });
  await program.parseAsync(argv, { from: 'user' });
  return 0;
}
