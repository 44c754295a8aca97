/** @module Maps errors on non-MCP, non-OAuth routes to JSON responses: 4xx say why, 5xx give a log id only. */
import type { Logger } from '../log.ts';
import { errorMessage } from '../errors.ts';

/** A JSON error body `{error, error_description}` with the given status. */
export function jsonError(status: number, error: string, description: string, headers: Record<string, string> = {}): Response {
  return Response.json({ error, error_description: description }, { status, headers: { 'cache-control': 'no-store', ...headers } });
}

/** An unexpected failure: logged with a random id, answered 500 with only that id. */
export function internalError(err: unknown, log: Logger, random: (n: number) => Uint8Array): Response {
  const id = Buffer.from(random(6)).toString('hex');
  log.error('internal error', { log_id: id, error: errorMessage(err), stack: err instanceof Error ? err.stack : undefined });
  return jsonError(500, 'server_error', `internal error (log id ${id})`);
}
