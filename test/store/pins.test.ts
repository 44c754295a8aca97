/** Tool pins in SQLite (issue 9 item 10): canonical hashing, first-seen pinning, change tracking, approval. */
import { describe, expect, test } from 'bun:test';
import { openStore } from '../../src/store/db.ts';
import { approvePins, canonicalJson, checkPins, fingerprint, loadPins, toolDefinition } from '../../src/store/pins.ts';

const echo = { name: 'echo', description: 'Echoes', inputSchema: { type: 'object', properties: { text: { type: 'string' } } } };

describe('tool pins', () => {
  test('canonical JSON ignores key order, so a reordered schema is not a change', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { y: 2, x: 1 }], c: null } })).toBe('{"a":{"c":null,"d":[1,{"x":1,"y":2}]},"b":1}');
    const reordered = { inputSchema: { properties: { text: { type: 'string' } }, type: 'object' }, description: 'Echoes', name: 'echo' };
    expect(fingerprint(toolDefinition(reordered))).toEqual(fingerprint(toolDefinition(echo)));
  });

  test('first sight pins; a change is reported once as fresh, then as known; a revert clears it; approve re-pins', () => {
    const db = openStore(':memory:');
    expect(checkPins(db, 'a', [echo], 1000)).toEqual([]);
    expect(loadPins(db, 'a').get('echo')?.pinnedAt).toBe(1000);
    const changed = { ...echo, inputSchema: { type: 'object', properties: { text: { type: 'string' }, path: { type: 'string' } } } };
    const first = checkPins(db, 'a', [changed], 2000);
    expect(first.map((c) => [c.tool, c.fresh, c.pin.changedAt])).toEqual([['echo', true, 2000]]);
    expect(checkPins(db, 'a', [changed], 3000).map((c) => [c.fresh, c.pin.changedAt])).toEqual([[false, 2000]]);
    expect(checkPins(db, 'a', [echo], 4000)).toEqual([]);
    expect(loadPins(db, 'a').get('echo')?.seen).toBeUndefined();
    checkPins(db, 'a', [changed], 5000);
    expect(approvePins(db, 'b', undefined, 6000)).toEqual([]);
    expect(approvePins(db, 'a', undefined, 6000)).toEqual(['echo']);
    const pin = loadPins(db, 'a').get('echo')!;
    expect([pin.pinned.hash, pin.pinnedAt, pin.seen]).toEqual([fingerprint(toolDefinition(changed)).hash, 6000, undefined]);
    expect(checkPins(db, 'a', [changed], 7000)).toEqual([]);
    db.close();
  });
});
