/**
 * @module Bridging the two protocol eras per call (issue 10 item 2; spec-checklist §3.13).
 *
 * - 2026-07-28 client, 2026-07-28 backend: `input_required` results and `requestState` pass through
 *   untouched; `modernParams` puts the retry fields the SDK lifted off the request back on it.
 * - 2025 client, 2026-07-28 backend: `fulfillInputRequired` turns each `inputRequests` entry into the
 *   matching server-to-client request on the client's call stream and retries with the answers.
 * - 2026-07-28 client, 2025 backend: `PendingInputs` parks the backend's server-to-client requests,
 *   answers the client with an `input_required` result whose `requestState` is an HMAC-signed,
 *   expiring, single-use token bound to the grant, and answers the waiting requests on the retry.
 */
import type { Clock } from '../deps.ts';
import { RpcError } from '../errors.ts';

type Json = Record<string, unknown>;

/** Capability a server-to-client request needs from the client. */
export const CAPABILITY_FOR: Record<string, string> = { 'sampling/createMessage': 'sampling', 'elicitation/create': 'elicitation', 'roots/list': 'roots' };
/** Upper bound of input rounds one call may ask a 2025 client for. */
export const MAX_INPUT_ROUNDS = 16;
/** Upper bound of input requests in one round. */
export const MAX_INPUT_REQUESTS = 32;
const INVALID_PARAMS = -32602;
const MISSING_CAPABILITY = -32021;
const STATE_PREFIX = 'mcpgw1.';

/** The error the SDK and the spec use for a requestState that fails verification (2026-07-28 basic/patterns/mrtr). */
export function invalidState(why: string): RpcError {
  return new RpcError(INVALID_PARAMS, `Invalid or expired requestState: ${why}`, { reason: 'invalid_request_state' });
}

/** The request params a 2026 backend gets on a retry: the SDK lifted `inputResponses`/`requestState` off them. */
export function modernParams(params: Json, mcpReq: { inputResponses?: unknown; requestState?: () => unknown }): Json {
  const state = mcpReq.requestState?.();
  const responses = mcpReq.inputResponses;
  if (state === undefined && responses === undefined) return params;
  return { ...params, ...(responses !== undefined && { inputResponses: responses }), ...(state !== undefined && { requestState: state }) };
}

/** What a call needs from its client to answer input requests (a slice of the aggregator's CallContext). */
export interface InputClient {
  capabilities?: Json;
  signal?: AbortSignal;
  relay?: (method: string, params: Json | undefined, signal: AbortSignal) => Promise<Json>;
}

/** Whether the client declared the capability `method` needs (roots/list, sampling, elicitation). */
export function clientSupports(caps: Json | undefined, method: string): boolean {
  const cap = CAPABILITY_FOR[method];
  return cap !== undefined && caps !== undefined && caps !== null && caps[cap] !== undefined && caps[cap] !== null && caps[cap] !== false;
}

/**
 * 2025 client, 2026-07-28 backend: answers each `input_required` result by sending its input requests
 * to the client (on the call's stream), then retries with `inputResponses` and the backend's exact
 * `requestState`, for as many rounds as the backend asks (bounded).
 */
export async function fulfillInputRequired(first: Json, client: InputClient, retry: (extra: Json) => Promise<Json>): Promise<Json> {
  let result = first;
  for (let round = 0; result.resultType === 'input_required'; round++) {
    if (round >= MAX_INPUT_ROUNDS) throw new RpcError(-32603, `mcpgw: the backend asked for input more than ${MAX_INPUT_ROUNDS} times in one call`);
    const requests = (result.inputRequests ?? {}) as Record<string, { method?: unknown; params?: unknown }>;
    const keys = Object.keys(requests);
    if (keys.length > MAX_INPUT_REQUESTS) throw new RpcError(-32603, `mcpgw: the backend asked for ${keys.length} inputs at once (limit ${MAX_INPUT_REQUESTS})`);
    const signal = client.signal ?? new AbortController().signal;
    const answers = await Promise.all(
      keys.map(async (key) => {
        const req = requests[key] ?? {};
        const method = String(req.method ?? '');
        if (!CAPABILITY_FOR[method]) throw new RpcError(-32603, `mcpgw: the backend asked for input with an unknown method '${method}'`);
        if (!clientSupports(client.capabilities, method) || !client.relay) {
          throw new RpcError(MISSING_CAPABILITY, `mcpgw: the backend needs ${CAPABILITY_FOR[method]} (${method}), which the client did not declare or cannot receive on this request`, {
            requiredCapabilities: { [CAPABILITY_FOR[method]]: {} },
          });
        }
        return [key, await client.relay(method, req.params as Json | undefined, signal)] as const;
      }),
    );
    const extra: Json = { inputResponses: Object.fromEntries(answers) };
    if (typeof result.requestState === 'string') extra.requestState = result.requestState;
    result = await retry(extra);
  }
  return result;
}

/** One server-to-client request of a 2025 backend waiting for a 2026 client's retry. */
interface Ask {
  key: string;
  method: string;
  params?: Json;
  resolve(result: Json): void;
  reject(err: unknown): void;
}

/** A parked call: the backend call still running and the asks it is waiting on. */
interface Entry {
  id: string;
  grantKey: string;
  round: number;
  call: Promise<Json>;
  settled?: { ok: true; value: Json } | { ok: false; error: unknown };
  asks: Ask[];
  seq: number;
  abort: AbortController;
  timer?: ReturnType<typeof setTimeout>;
  /** Wakes the request currently waiting on this entry (a result or a new ask). */
  wake?: () => void;
}

/** Options of the pending-input table; every limit has a default. */
export interface PendingInputsOptions {
  ttlMs?: number;
  maxEntries?: number;
  maxPerGrant?: number;
}

/**
 * 2026-07-28 client, 2025 backend: the calls parked on a server-to-client request, keyed by an id
 * carried in a signed `requestState`. A class because it owns the table, the key and the timers.
 */
export class PendingInputs {
  /** How long a parked call waits for the client's retry; settable for tests. */
  ttlMs: number;
  private readonly maxEntries: number;
  private readonly maxPerGrant: number;
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly key: Uint8Array,
    private readonly clock: Clock,
    private readonly random: (n: number) => Uint8Array,
    opts: PendingInputsOptions = {},
  ) {
    this.ttlMs = opts.ttlMs ?? 5 * 60_000;
    this.maxEntries = opts.maxEntries ?? 1000;
    this.maxPerGrant = opts.maxPerGrant ?? 50;
  }

  /** Parked calls. */
  get size(): number {
    return this.entries.size;
  }

  /** Whether `requestState` is one of the gateway's own (else it is a 2026 backend's, passed through). */
  static owns(requestState: unknown): requestState is string {
    return typeof requestState === 'string' && requestState.startsWith(STATE_PREFIX);
  }

  /**
   * Runs one request of a 2026 client. `start` begins the backend call with a relay that parks the
   * backend's server-to-client requests; a retry carrying the gateway's `requestState` resumes it.
   */
  async run(params: Json, grantKey: string, signal: AbortSignal | undefined, start: (relay: InputClient['relay'], signal: AbortSignal) => Promise<Json>): Promise<Json> {
    const state = params.requestState;
    let entry: Entry;
    if (PendingInputs.owns(state)) {
      entry = this.resume(state, grantKey, (params.inputResponses ?? {}) as Json);
    } else {
      const abort = new AbortController();
      // The id is drawn when the call parks: most calls never ask the client anything.
      entry = { id: '', grantKey, round: 0, asks: [], seq: 0, abort, call: undefined as unknown as Promise<Json> };
      const relay = (method: string, p: Json | undefined, s: AbortSignal) => this.ask(entry, method, p, s);
      // Until the call parks, the client closing its request cancels it; after that the retry resumes it.
      signal?.addEventListener('abort', () => !this.entries.has(entry.id) && !entry.settled && abort.abort(signal.reason), { once: true });
      entry.call = start(relay, abort.signal);
      entry.call.then(
        (value) => this.settle(entry, { ok: true, value }),
        (error) => this.settle(entry, { ok: false, error }),
      );
    }
    return this.next(entry);
  }

  /** Fails every parked call (shutdown). */
  close(): void {
    for (const e of this.entries.values()) this.drop(e, new Error('gateway shutting down'));
  }

  private resume(state: string, grantKey: string, responses: Json): Entry {
    const payload = this.verify(state);
    const entry = this.entries.get(payload.i);
    if (!entry || entry.grantKey !== grantKey || payload.g !== grantTag(grantKey)) throw invalidState('unknown, already used or from another grant');
    if (payload.r !== entry.round) throw invalidState('already used');
    clearTimeout(entry.timer);
    entry.timer = undefined;
    entry.round++;
    const answered = entry.asks.filter((a) => responses[a.key] !== undefined && responses[a.key] !== null);
    entry.asks = entry.asks.filter((a) => !answered.includes(a));
    for (const a of answered) a.resolve(responses[a.key] as Json);
    return entry;
  }

  /** Waits for the call's result or for asks to hand to the client (collected for one macrotask). */
  private async next(entry: Entry): Promise<Json> {
    for (;;) {
      if (entry.settled) {
        this.entries.delete(entry.id);
        clearTimeout(entry.timer);
        if (entry.settled.ok) return entry.settled.value;
        throw entry.settled.error;
      }
      if (entry.asks.length > 0) {
        // Several requests a backend sends together go out in one input_required result.
        await new Promise((r) => setTimeout(r, 0));
        if (entry.settled) continue;
        return this.park(entry);
      }
      await new Promise<void>((resolve) => (entry.wake = resolve));
      entry.wake = undefined;
    }
  }

  private park(entry: Entry): Json {
    if (!entry.id) entry.id = Buffer.from(this.random(12)).toString('base64url');
    if (!this.entries.has(entry.id)) {
      let mine = 0;
      for (const e of this.entries.values()) if (e.grantKey === entry.grantKey) mine++;
      if (this.entries.size >= this.maxEntries || mine >= this.maxPerGrant) {
        this.drop(entry, new RpcError(-32603, 'mcpgw: too many calls are waiting for client input'));
        throw new RpcError(-32603, `mcpgw: too many calls are waiting for client input (limit ${mine >= this.maxPerGrant ? this.maxPerGrant : this.maxEntries})`);
      }
      this.entries.set(entry.id, entry);
    }
    const expires = this.clock.now() + this.ttlMs;
    clearTimeout(entry.timer);
    entry.timer = setTimeout(() => this.drop(entry, new RpcError(-32603, 'mcpgw: the client did not answer the input request in time')), this.ttlMs);
    entry.timer.unref?.();
    const inputRequests: Json = {};
    for (const a of entry.asks) inputRequests[a.key] = { method: a.method, ...(a.params !== undefined && { params: a.params }) };
    return { resultType: 'input_required', inputRequests, requestState: this.sign({ i: entry.id, r: entry.round, e: expires, g: grantTag(entry.grantKey) }) };
  }

  private ask(entry: Entry, method: string, params: Json | undefined, signal: AbortSignal): Promise<Json> {
    if (entry.asks.length >= MAX_INPUT_REQUESTS) return Promise.reject(new RpcError(-32603, 'mcpgw: too many input requests at once'));
    return new Promise<Json>((resolve, reject) => {
      const a: Ask = { key: `input-${++entry.seq}`, method, params, resolve, reject };
      const onAbort = () => {
        entry.asks = entry.asks.filter((x) => x !== a);
        reject(signal.reason ?? new Error('cancelled'));
      };
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      entry.asks.push(a);
      entry.wake?.();
    });
  }

  private settle(entry: Entry, outcome: NonNullable<Entry['settled']>): void {
    entry.settled = outcome;
    entry.wake?.();
  }

  private drop(entry: Entry, err: unknown): void {
    clearTimeout(entry.timer);
    this.entries.delete(entry.id);
    for (const a of entry.asks) a.reject(err);
    entry.asks = [];
    entry.abort.abort(err);
  }

  private sign(payload: StatePayload): string {
    const body = Buffer.from(JSON.stringify(payload)).toString('base64url');
    return `${STATE_PREFIX}${body}.${new Bun.CryptoHasher('sha256', this.key).update(body).digest('base64url')}`;
  }

  private verify(state: string): StatePayload {
    const rest = state.slice(STATE_PREFIX.length);
    const dot = rest.lastIndexOf('.');
    if (dot < 0 || state.length > 1024) throw invalidState('malformed');
    const body = rest.slice(0, dot);
    const mac = Buffer.from(rest.slice(dot + 1), 'base64url');
    const want = new Bun.CryptoHasher('sha256', this.key).update(body).digest();
    if (mac.length !== want.length || !crypto.timingSafeEqual(mac, want)) throw invalidState('integrity check failed');
    let payload: StatePayload;
    try {
      payload = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as StatePayload;
    } catch {
      throw invalidState('malformed');
    }
    if (typeof payload.e !== 'number' || payload.e < this.clock.now()) throw invalidState('expired');
    return payload;
  }
}

interface StatePayload {
  /** Entry id. */
  i: string;
  /** Round: a state is good for one retry. */
  r: number;
  /** Expiry, ms since the epoch. */
  e: number;
  /** Tag of the grant that started the call. */
  g: string;
}

function grantTag(grantKey: string): string {
  return new Bun.CryptoHasher('sha256').update(grantKey).digest('base64url').slice(0, 16);
}
