/**
 * @module The benchmark servers' common listener: `handler` at http://127.0.0.1:<free port>/mcp (404 elsewhere, no
 * idle timeout), announced by the one stdout line `listening <url>` that bench/gateway.bench.ts waits for.
 */
export function serveMcp(handler: (request: Request) => Response | Promise<Response>): void {
  const server = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    idleTimeout: 0,
    fetch(request) {
      if (new URL(request.url).pathname !== '/mcp') return new Response('Not found', { status: 404 });
      return handler(request);
    },
  });
  process.stdout.write(`listening http://127.0.0.1:${server.port}/mcp\n`);
}
