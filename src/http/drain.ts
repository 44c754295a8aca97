/**
 * @module Shutdown without TCP resets (issue 8 finding 8): requests to /mcp still open when the shutdown grace ends
 * get a JSON-RPC error response (-32603 "gateway shutting down") for every request id they carry, and open event
 * streams are ended cleanly, before the server closes its sockets.
 */

/** JSON-RPC code and message sent for calls cut off by shutdown (JSON-RPC 2.0 §5.1: internal error). */
export const SHUTDOWN_ERROR = { code: -32603, message: 'gateway shutting down' } as const;

type Handler<A extends unknown[]> = (req: Request, ...rest: A) => Promise<Response>;

export interface Drain {
  /** Wraps a fetch handler so its open /mcp requests can be answered by `finish`. */
  wrap<A extends unknown[]>(handler: Handler<A>): Handler<A>;
  /** Answers every request still open and ends every open stream; returns how many requests it answered. */
  finish(): number;
}

type Id = string | number;

/** Request ids in a JSON-RPC message or batch (notifications and responses have none to answer). */
export function requestIds(body: unknown): Id[] {
  const messages = Array.isArray(body) ? body : [body];
  return messages.flatMap((m) => {
    const msg = m as { id?: unknown; method?: unknown } | null;
    return msg && typeof msg.method === 'string' && (typeof msg.id === 'string' || typeof msg.id === 'number') ? [msg.id] : [];
  });
}

const errorMessage = (id: Id) => ({ jsonrpc: '2.0' as const, id, error: SHUTDOWN_ERROR });

/** Creates the drain; one per listening server. */
export function createDrain(): Drain {
  const open = new Set<() => void>();
  let finishing = false;
  return {
    wrap(handler) {
      return async (req, ...rest) => {
        const { pathname } = new URL(req.url);
        if (finishing || (pathname !== '/mcp' && pathname !== '/mcp/')) return handler(req, ...rest);
        // The handler consumes the body; a copy keeps the request ids for an answer at shutdown.
        const ids = req.method === 'POST' ? req.clone().json().then(requestIds, () => [] as Id[]) : Promise.resolve([] as Id[]);
        let cutOff!: () => void;
        const cut = new Promise<Response>((resolve) => {
          cutOff = () => void ids.then((known) => resolve(known.length === 0 ? Response.json({ error: 'temporarily_unavailable' }, { status: 503 }) : Response.json(known.length === 1 ? errorMessage(known[0]) : known.map(errorMessage))));
        });
        open.add(cutOff);
        try {
          const res = await Promise.race([handler(req, ...rest), cut]);
          if (finishing || !res.body || !(res.headers.get('content-type') ?? '').includes('text/event-stream')) return res;
          return new Response(endable(res.body, open, await ids), { status: res.status, statusText: res.statusText, headers: res.headers });
        } finally {
          open.delete(cutOff);
        }
      };
    },
    finish() {
      finishing = true;
      const n = open.size;
      for (const end of [...open]) end();
      return n;
    },
  };
}

/** Passes an event stream through; `finish` sends an error event per unanswered request id, then ends it. */
function endable(body: ReadableStream<Uint8Array>, open: Set<() => void>, ids: Id[]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  const reader = body.getReader();
  let done = false;
  let end!: () => void;
  return new ReadableStream<Uint8Array>({
    start(controller) {
      end = () => {
        if (done) return;
        done = true;
        open.delete(end);
        for (const id of ids) controller.enqueue(encoder.encode(`event: message\ndata: ${JSON.stringify(errorMessage(id))}\n\n`));
        controller.close();
        void reader.cancel().catch(() => {});
      };
      open.add(end);
    },
    async pull(controller) {
      if (done) return;
      const { value, done: ended } = await reader.read().catch(() => ({ value: undefined, done: true }));
      if (done) return;
      if (ended) {
        done = true;
        open.delete(end);
        controller.close();
      } else if (value) controller.enqueue(value);
    },
    cancel(reason) {
      done = true;
      open.delete(end);
      return reader.cancel(reason);
    },
  });
}
