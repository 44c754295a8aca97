/** Call statistics (mcpgw status "calls per minute"): per-second buckets over a sliding minute, manual clock. */
import { describe, expect, test } from 'bun:test';
import { manualClock } from '../../src/deps.ts';
import { CallStats } from '../../src/mcp/call-stats.ts';
import { recordingLogger } from '../helpers/world.ts';

const rec = { tool: 't', backend: 'b', duration_ms: 1, outcome: 'ok' as const };

describe('CallStats', () => {
  test('calls per minute counts the calls of the last minute only, in constant memory', () => {
    const clock = manualClock(1_700_000_000_000);
    const stats = new CallStats(clock, recordingLogger([]));
    for (let i = 0; i < 3; i++) stats.record(rec, clock.now(), {}, {});
    clock.advance(30_000);
    for (let i = 0; i < 2; i++) stats.record(rec, clock.now(), {}, {});
    expect(stats.perMinute()).toBe(5);
    clock.advance(31_000);
    expect(stats.perMinute()).toBe(2);
    clock.advance(60_000);
    expect(stats.perMinute()).toBe(0);
    // a burst within one second, then a full minute of one call per second
    for (let i = 0; i < 100_000; i++) stats.record(rec, clock.now(), {}, {});
    expect(stats.perMinute()).toBe(100_000);
    for (let s = 0; s < 60; s++) (clock.advance(1000), stats.record(rec, clock.now(), {}, {}));
    expect(stats.perMinute()).toBe(60);
    expect(stats.recent.length).toBe(50);
  });

  test('the recent calls are the last 50, oldest first, with their start times', () => {
    const clock = manualClock(1_700_000_000_000);
    const stats = new CallStats(clock, recordingLogger([]));
    for (let i = 0; i < 123; i++) stats.record({ ...rec, tool: `t${i}` }, clock.now() + i, {}, {});
    const recent = stats.recent;
    expect(recent.map((r) => r.tool)).toEqual(Array.from({ length: 50 }, (_, i) => `t${73 + i}`));
    expect(recent[0].time).toBe(new Date(1_700_000_000_000 + 73).toISOString());
  });
});
