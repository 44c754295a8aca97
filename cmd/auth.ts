/** @module `mcpgw auth unlock`: ends the sign-in back-off for every address or one, in the gateway's SQLite database. */
import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { isIP } from 'node:net';
import { databasePath } from '../src/gateway.ts';
import { normalizeAddress } from '../src/oauth/client-address.ts';
import { openStore } from '../src/store/db.ts';
import { clearLoginThrottle, listThrottles } from '../src/store/throttle.ts';
import { registerAuthTrace } from './auth-trace.ts';
import { loadCliConfig } from './config.ts';
import { runAction, type CliContext } from './context.ts';
import { printError } from './io.ts';
import { ok } from './passwd.ts';

interface UnlockOptions {
  config?: string;
  ip?: string;
}

function unlock(o: UnlockOptions, ctx: CliContext): number {
  const address = o.ip === undefined ? undefined : normalizeAddress(o.ip);
  if (address !== undefined && isIP(address) === 0) {
    printError(ctx.io, `--ip must be an IP address; got '${o.ip}'`);
    return 2;
  }
  const loaded = loadCliConfig(o.config, ctx.deps().env, ctx.io);
  if (!loaded.ok) return loaded.code;
  const path = databasePath(loaded.config.data_dir);
  if (!existsSync(path)) {
    ctx.io.err(ok(ctx.io, 'nothing to unlock: no sign-in failures are recorded'));
    return 0;
  }
  const db = openStore(path);
  try {
    const removed = clearLoginThrottle(db, address);
    // The gateway's clock decides whether a back-off still runs; any recorded global back-off is worth the hint.
    const globalLeft = listThrottles(db).some((r) => r.key === 'global' && r.blockedUntil !== undefined);
    if (address === undefined) {
      ctx.io.err(ok(ctx.io, removed === 0 ? 'nothing to unlock: no sign-in failures are recorded' : 'cleared the sign-in back-off for every address; the running gateway accepts the password at once'));
      return 0;
    }
    ctx.io.err(ok(ctx.io, removed === 0 ? `no sign-in failures are recorded for ${address}` : `cleared the sign-in back-off for ${address}; the running gateway accepts its password at once`));
    if (globalLeft) ctx.io.err("hint: addresses that never signed in are still slowed by the global back-off; run 'mcpgw auth unlock' to clear it too");
    return 0;
  } finally {
    db.close();
  }
}

/** Registers `mcpgw auth …`. */
export function registerAuth(program: Command, ctx: CliContext): void {
  const auth = program.command('auth').description('Manage sign-in to the consent page and trace connector sign-ins');
  auth
    .command('unlock')
    .description('End the back-off after wrong passwords, for every address or one')
    .option('-c, --config <file>', 'config file')
    .option('--ip <address>', 'only this client address (as logged in "wrong owner password")')
    .addHelpText(
      'after',
      `
Examples:
  mcpgw auth unlock
  mcpgw auth unlock --ip 203.0.113.7
  sudo -u mcpgw mcpgw auth unlock --config /etc/mcpgw/gateway.yaml

After auth.login.max_failures wrong passwords from one address, that address waits 1 s, 2 s, 4 s …
(at most auth.login.lockout) before its next try; the wait survives restarts.`,
    )
    .action((o: UnlockOptions) => runAction(ctx, () => unlock(o, ctx)));
  registerAuthTrace(auth, ctx);
}
