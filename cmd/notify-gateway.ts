/** @module After a CLI edit of gateway.yaml: tell the running gateway to reload (over the admin socket). */
import type { Config } from '../src/config/schema.ts';
import { adminRequest } from '../src/http/admin.ts';
import type { CliContext } from './context.ts';
import { ok } from './passwd.ts';

/** Asks the running gateway to reload its config, and says whether it did. */
export async function notifyGateway(ctx: CliContext, config: Config): Promise<void> {
  const answer = await adminRequest(config.data_dir, '/reload', 'POST');
  if (answer) ctx.io.err(ok(ctx.io, 'the running gateway reloaded its config; connected clients get list_changed'));
  else ctx.io.err("note: the gateway is not running here; 'mcpgw serve' will pick the change up");
}
