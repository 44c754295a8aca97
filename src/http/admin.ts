/**
 * @module The operator's local control channel: HTTP over a unix domain socket in data_dir (mode
 * 0600, owner only), never TCP. The CLI uses it for live status and to make the gateway reload.
 */
import { chmodSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../log.ts';

/** Where the socket lives for a data dir. */
export function adminSocketPath(dataDir: string): string {
  return join(dataDir, 'mcpgw.sock');
}

export interface AdminHandlers {
  status(): unknown;
  tools(): unknown;
  reload(): Promise<unknown>;
  /** The database file the gateway has open (dev, inode), so CLI writes can confirm the gateway sees them. */
  dbIdentity?(): unknown;
  /** Re-reads the tool pins after `mcpgw backends approve` wrote them (issue 9 item 10). */
  pins?(): unknown;
}

/** Listens on the socket; a stale socket file from a crashed run is replaced (the data-dir lock ensures no live gateway owns it). */
export function startAdminSocket(path: string, handlers: AdminHandlers, log: Logger): { stop(): void } {
  rmSync(path, { force: true });
  const server = Bun.serve({
    unix: path,
    fetch: async (req) => {
      const { pathname } = new URL(req.url);
      try {
        if (pathname === '/status' && req.method === 'GET') return Response.json(handlers.status());
        if (pathname === '/tools' && req.method === 'GET') return Response.json(handlers.tools());
        if (pathname === '/reload' && req.method === 'POST') return Response.json(await handlers.reload());
        if (pathname === '/db-identity' && req.method === 'GET') {
          const id = handlers.dbIdentity?.();
          return id === undefined ? Response.json({ error: 'no_database' }, { status: 404 }) : Response.json(id);
        }
        if (pathname === '/pins' && req.method === 'POST' && handlers.pins) return Response.json(handlers.pins());
        return Response.json({ error: 'not_found' }, { status: 404 });
      } catch (err) {
        log.error('admin request failed', { path: pathname, error: err instanceof Error ? err.message : String(err) });
        return Response.json({ error: 'server_error' }, { status: 500 });
      }
    },
  });
  chmodSync(path, 0o600);
  return {
    stop: () => {
      server.stop(true);
      rmSync(path, { force: true });
    },
  };
}

/** Calls the running gateway over its socket; undefined when it is not running. */
export async function adminRequest(dataDir: string, path: string, method: 'GET' | 'POST' = 'GET'): Promise<unknown | undefined> {
  try {
    const res = await fetch(`http://mcpgw${path}`, { method, unix: adminSocketPath(dataDir) } as RequestInit);
    if (!res.ok) return undefined;
    return await res.json();
  } catch {
    return undefined;
  }
}
