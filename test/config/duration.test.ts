import { describe, expect, test } from 'bun:test';
import { parseDuration } from '../../src/config/duration.ts';

describe('parseDuration', () => {
  test('units: ms, s, m, h, d -> milliseconds', () => {
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('30s')).toBe(30_000);
    expect(parseDuration('5m')).toBe(300_000);
    expect(parseDuration('1h')).toBe(3_600_000);
    expect(parseDuration('30d')).toBe(2_592_000_000);
  });

  test('combined units add up', () => {
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('1m30s500ms')).toBe(90_500);
  });

  test('plain numbers (and numeric strings from ${VAR}) are seconds', () => {
    expect(parseDuration(30)).toBe(30_000);
    expect(parseDuration(0.25)).toBe(250);
    expect(parseDuration('45')).toBe(45_000);
    expect(parseDuration('1.5h')).toBe(5_400_000);
  });

  test('anything else -> undefined', () => {
    for (const bad of ['', '5 minutes', '1w', 'h', '-5s', '1h-30m', 's30', '1h 30m']) expect(parseDuration(bad)).toBeUndefined();
    expect(parseDuration(-1)).toBeUndefined();
    expect(parseDuration(Number.NaN)).toBeUndefined();
    expect(parseDuration(Number.POSITIVE_INFINITY)).toBeUndefined();
  });
});
