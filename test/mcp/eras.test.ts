/**
 * Issue 10 item 2: the pending-input table of 2026-07-28 clients calling 2025 backends (signed,
 * single-use, grant-bound, bounded, expiring requestState) and the bounded input_required loop for
 * 2025 clients, in-process with a manual clock.
 */
import { describe, expect, test } from 'bun:test';
import { manualClock, secureRandom } from '../../src/deps.ts';
import { PendingInputs, fulfillInputRequired, type InputClient } from '../../src/mcp/eras.ts';

type Json = Record<string, unknown>;

/** A backend call that asks the client once through `relay` and returns what it answered. */
const askingCall = (relay: InputClient['relay']) => relay!('elicitation/create', { message: 'q?' }, new AbortController().signal).then((answer) => ({ content: [{ type: 'text', text: JSON.stringify(answer) }] }));

describe('PendingInputs (2026 client, 2025 backend)', () => {
  test('the state is bound to the grant that started the call', async () => {
    const table = new PendingInputs(secureRandom(32), manualClock(), secureRandom);
    const r1 = await table.run({}, 'grant-a', undefined, (relay) => askingCall(relay));
    expect(r1.resultType).toBe('input_required');
    const [key] = Object.keys(r1.inputRequests as Json);
    const retry = { requestState: r1.requestState, inputResponses: { [key]: { action: 'accept', content: { a: 1 } } } };
    await expect(table.run(retry, 'grant-b', undefined, () => Promise.reject(new Error('must not start')))).rejects.toMatchObject({ code: -32602 });
    const done = await table.run(retry, 'grant-a', undefined, () => Promise.reject(new Error('must not start')));
    expect(JSON.stringify(done.content)).toContain('accept');
    expect(table.size).toBe(0);
  });

  test('a state past its expiry is refused even before the sweep (manual clock)', async () => {
    const clock = manualClock();
    const table = new PendingInputs(secureRandom(32), clock, secureRandom);
    const r1 = await table.run({}, 'g', undefined, (relay) => askingCall(relay));
    clock.advance(table.ttlMs + 1);
    const [key] = Object.keys(r1.inputRequests as Json);
    await expect(table.run({ requestState: r1.requestState, inputResponses: { [key]: {} } }, 'g', undefined, () => Promise.reject(new Error('no')))).rejects.toThrow(/expired/);
    table.close();
  });

  test('a state signed with another key (another gateway) is refused', async () => {
    const a = new PendingInputs(secureRandom(32), manualClock(), secureRandom);
    const b = new PendingInputs(secureRandom(32), manualClock(), secureRandom);
    const r1 = await a.run({}, 'g', undefined, (relay) => askingCall(relay));
    await expect(b.run({ requestState: r1.requestState }, 'g', undefined, () => Promise.reject(new Error('no')))).rejects.toThrow(/integrity/);
    a.close();
  });

  test('parked calls are bounded per grant; the call over the limit fails and its backend request gets an error', async () => {
    const table = new PendingInputs(secureRandom(32), manualClock(), secureRandom, { maxPerGrant: 2 });
    let backendSaw: unknown;
    for (let i = 0; i < 2; i++) expect((await table.run({}, 'g', undefined, (relay) => askingCall(relay))).resultType).toBe('input_required');
    await expect(
      table.run({}, 'g', undefined, (relay) => askingCall(relay).catch((err) => ((backendSaw = err), Promise.reject(err)))),
    ).rejects.toThrow(/too many calls/);
    await Promise.resolve();
    expect(String(backendSaw)).toMatch(/too many calls/);
    expect(table.size).toBe(2);
    // another grant still has room
    expect((await table.run({}, 'h', undefined, (relay) => askingCall(relay))).resultType).toBe('input_required');
    table.close();
    expect(table.size).toBe(0);
  });

  test('a call that finishes without asking is answered directly and parks nothing', async () => {
    const table = new PendingInputs(secureRandom(32), manualClock(), secureRandom);
    expect(await table.run({}, 'g', undefined, async () => ({ content: [] }))).toEqual({ content: [] });
    expect(table.size).toBe(0);
  });
});

describe('fulfillInputRequired (2025 client, 2026 backend)', () => {
  test('a backend that keeps asking is stopped after a bounded number of rounds', async () => {
    let rounds = 0;
    const again = { resultType: 'input_required', inputRequests: { k: { method: 'roots/list' } }, requestState: 's' };
    const client: InputClient = { capabilities: { roots: {} }, relay: async () => ({ roots: [] }) };
    await expect(fulfillInputRequired(again, client, async () => (rounds++, again))).rejects.toThrow(/more than 16 times/);
    expect(rounds).toBe(16);
  });

  test('the backend exact requestState goes back with the answers', async () => {
    const seen: Json[] = [];
    const client: InputClient = { capabilities: { sampling: {} }, relay: async (method) => ({ model: 'm', role: 'assistant', content: { type: 'text', text: method } }) };
    const first = { resultType: 'input_required', inputRequests: { s: { method: 'sampling/createMessage', params: { messages: [] } } }, requestState: 'opaque-state' };
    const out = await fulfillInputRequired(first, client, async (extra) => (seen.push(extra), { content: [] }));
    expect(out).toEqual({ content: [] });
    expect(seen).toEqual([{ inputResponses: { s: { model: 'm', role: 'assistant', content: { type: 'text', text: 'sampling/createMessage' } } }, requestState: 'opaque-state' }]);
  });

  test('an input the client did not declare fails the call with -32021 and is never sent to it', async () => {
    let sent = 0;
    const client: InputClient = { capabilities: {}, relay: async () => (sent++, {}) };
    const first = { resultType: 'input_required', inputRequests: { e: { method: 'elicitation/create', params: {} } } };
    await expect(fulfillInputRequired(first, client, async () => ({}))).rejects.toMatchObject({ code: -32021 });
    expect(sent).toBe(0);
  });
});
