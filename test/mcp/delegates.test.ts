/**
 * The aggregator's delegates (issue 7 item 2: "split by responsibility"): receivers and their
 * subscriptions (subscribers.ts) and backends' server-to-client requests (server-requests.ts;
 * spec-checklist §3.12), in-process with plain objects.
 */
import { describe, expect, test } from 'bun:test';
import type { CallContext, ListKind, SessionSink } from '../../src/mcp/call-context.ts';
import { ServerRequests } from '../../src/mcp/server-requests.ts';
import { Subscribers } from '../../src/mcp/subscribers.ts';

type Json = Record<string, unknown>;

function sink(id: string, logLevel?: string): SessionSink & { heard: string[] } {
  const heard: string[] = [];
  return { id, grant: { key: id, backends: null }, subscriptions: new Set(), logLevel, heard, listChanged: (k: ListKind) => void heard.push(`list:${k}`), resourceUpdated: (u) => void heard.push(`updated:${u}`), log: (p) => void heard.push(`log:${String(p.logger)}:${String(p.data)}`) };
}

describe('Subscribers', () => {
  test('a URI is watched at the backend once for all receivers, and released when the last one leaves', () => {
    const s = new Subscribers();
    const a = sink('a');
    const b = sink('b');
    s.add(a, 0);
    s.add(b, 0);
    expect(s.watch('x://1', a)).toBe(true);
    expect(s.watch('x://1', a)).toBeUndefined();
    expect(s.watch('x://1', b)).toBe(false);
    expect(s.unwatch('x://1', a)).toBe(false);
    expect(s.remove(b)).toEqual(['x://1']);
    expect(s.unwatch('x://1', b)).toBe(true);
  });

  test('receivers hear only of list changes after they joined, of their URIs, and of logs at their level; a throwing receiver does not stop the others', () => {
    const s = new Subscribers();
    const early = sink('early', 'warning');
    const late = sink('late');
    const broken: SessionSink = { ...sink('broken', 'debug'), listChanged: () => { throw new Error('gone'); }, log: () => { throw new Error('gone'); } };
    s.add(broken, 0);
    s.add(early, 1);
    s.add(late, 3);
    s.watch('x://1', late);
    s.listChanged([['tools', 2], ['prompts', 4]]);
    s.resourceUpdated('x://1');
    s.log('m', { level: 'error', logger: 'db', data: 'boom' }, () => true);
    s.log('m', { level: 'info', data: 'chatty' }, () => true);
    expect(early.heard).toEqual(['list:tools', 'list:prompts', 'log:m/db:boom']);
    expect(late.heard).toEqual(['list:prompts', 'updated:x://1']);
  });
});

describe('ServerRequests (spec-checklist §3.12)', () => {
  const call = (caps: Json | undefined, answer: string): CallContext => ({ grant: { key: 'g', backends: null }, capabilities: caps, relay: async () => ({ answer }) });

  test('a backend request goes to its most recent call in flight; an undeclared capability is refused with -32601', async () => {
    const r = new ServerRequests();
    const signal = new AbortController().signal;
    const first = call({ elicitation: {} }, 'first');
    const second = call({ elicitation: {} }, 'second');
    r.enter('m', first);
    r.enter('m', second);
    expect(r.active).toBe(2);
    expect(await r.route('m', 'elicitation/create', {}, signal)).toEqual({ answer: 'second' });
    r.leave('m', second);
    expect(await r.route('m', 'elicitation/create', {}, signal)).toEqual({ answer: 'first' });
    await expect(r.route('m', 'sampling/createMessage', {}, signal)).rejects.toMatchObject({ code: -32601 });
    r.leave('m', first);
    expect(r.active).toBe(0);
    // No call in flight: roots/list is answered empty, anything else is refused.
    expect(await r.route('m', 'roots/list', undefined, signal)).toEqual({ roots: [] });
    await expect(r.route('m', 'elicitation/create', {}, signal)).rejects.toMatchObject({ code: -32602 });
  });
});
