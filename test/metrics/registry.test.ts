/** The hand-rolled registry writes text format 0.0.4 that an independent parser reads back (issue 9 item 4). */
import { describe, expect, test } from 'bun:test';
import { endpointLabel } from '../../src/metrics/gateway-metrics.ts';
import { escapeLabelValue, formatValue, labelCap, Registry } from '../../src/metrics/registry.ts';
import { parseFamilies, samples, valueOf } from '../helpers/prometheus.ts';

describe('metrics registry', () => {
  test('issue 9 item 4: counters, gauges and histograms parse back with HELP, TYPE, labels and values', () => {
    const r = new Registry();
    const c = r.counter<'backend' | 'outcome'>({ name: 'x_calls_total', help: 'Calls.', labelNames: ['backend', 'outcome'] });
    const g = r.gauge({ name: 'x_sessions', help: 'Sessions.' });
    const h = r.histogram<'backend'>({ name: 'x_duration_seconds', help: 'Duration.', labelNames: ['backend'], buckets: [0.1, 1] });
    c.inc({ backend: 'a', outcome: 'ok' });
    c.inc({ backend: 'a', outcome: 'ok' }, 2);
    c.inc({ backend: 'b', outcome: 'error' });
    g.set({}, 7);
    h.observe({ backend: 'a' }, 0.05);
    h.observe({ backend: 'a' }, 0.5);
    h.observe({ backend: 'a' }, 5);
    h.observe({ backend: 'b' }, 0.2);
    const text = r.expose();
    const families = parseFamilies(text);
    expect(families.map((f) => [f.name, f.type, f.help])).toEqual([
      ['x_calls_total', 'COUNTER', 'Calls.'],
      ['x_sessions', 'GAUGE', 'Sessions.'],
      ['x_duration_seconds', 'HISTOGRAM', 'Duration.'],
    ]);
    expect(samples(text, 'x_calls_total')).toEqual([
      { labels: { backend: 'a', outcome: 'ok' }, value: '3' },
      { labels: { backend: 'b', outcome: 'error' }, value: '1' },
    ]);
    expect(valueOf(text, 'x_sessions')).toBe(7);
    expect(samples(text, 'x_duration_seconds_bucket').filter((s) => s.labels.backend === 'a')).toEqual([
      { labels: { backend: 'a', le: '0.1' }, value: '1' },
      { labels: { backend: 'a', le: '1' }, value: '2' },
      { labels: { backend: 'a', le: '+Inf' }, value: '3' },
    ]);
    expect(valueOf(text, 'x_duration_seconds_count', { backend: 'a' })).toBe(3);
    expect(valueOf(text, 'x_duration_seconds_sum', { backend: 'a' })).toBeCloseTo(5.55);
    expect(valueOf(text, 'x_duration_seconds_count', { backend: 'b' })).toBe(1);
    expect(text.endsWith('\n')).toBe(true);
  });

  test('issue 9 item 4: label values and HELP are escaped per the format (backslash, quote, line feed)', () => {
    const r = new Registry();
    const c = r.counter<'tool'>({ name: 'x_total', help: 'Back\\slash and\nnew line.', labelNames: ['tool'] });
    const nasty = 'a"b\\c\nd}{,=';
    c.inc({ tool: nasty });
    const text = r.expose();
    expect(text).toContain('# HELP x_total Back\\\\slash and\\nnew line.\n');
    expect(text).toContain('x_total{tool="a\\"b\\\\c\\nd}{,="} 1\n');
    expect(parseFamilies(text)[0]!.help).toBe('Back\\slash and\nnew line.');
    expect(samples(text, 'x_total')).toEqual([{ labels: { tool: nasty }, value: '1' }]);
    expect(escapeLabelValue('\\"\n')).toBe('\\\\\\"\\n');
    expect([formatValue(Infinity), formatValue(-Infinity), formatValue(NaN), formatValue(0.25)]).toEqual(['+Inf', '-Inf', 'NaN', '0.25']);
  });

  test('issue 9 item 4: names follow the conventions or are refused', () => {
    const r = new Registry();
    expect(() => r.counter({ name: 'x_calls', help: 'h' })).toThrow(/_total/);
    expect(() => r.gauge({ name: 'x-y', help: 'h' })).toThrow(/metric name/);
    expect(() => r.gauge<'le'>({ name: 'x', help: 'h', labelNames: ['le'] })).toThrow(/label name/);
    expect(() => r.gauge<'__x'>({ name: 'x', help: 'h', labelNames: ['__x'] })).toThrow(/label name/);
    r.gauge({ name: 'x', help: 'h' });
    expect(() => r.gauge({ name: 'x', help: 'h' })).toThrow(/twice/);
    const c = r.counter({ name: 'y_total', help: 'h' });
    expect(() => c.inc({}, -1)).toThrow(/down/);
    expect(() => r.histogram({ name: 'z', help: 'h', buckets: [1, 1] })).toThrow(/increasing/);
  });

  test('issue 9 item 4: label cardinality is capped, later values become "other"', () => {
    const cap = labelCap(2);
    expect(['a', 'b', 'c', 'a', 'd', 'b'].map(cap)).toEqual(['a', 'b', 'other', 'a', 'other', 'b']);
  });

  test('issue 9 item 4: the endpoint label is the route, never the raw path', () => {
    expect(endpointLabel('/mcp')).toBe('/mcp');
    expect(endpointLabel('/mcp/')).toBe('/mcp');
    expect(endpointLabel('/.well-known/oauth-protected-resource/mcp')).toBe('/.well-known/oauth-protected-resource');
    expect(endpointLabel('/.well-known/oauth-authorization-server')).toBe('/.well-known/oauth-authorization-server');
    expect(endpointLabel('/messages')).toBe('/messages');
    expect(endpointLabel('/wp-admin/setup.php')).toBe('other');
    expect(endpointLabel('/mcp/../../etc/passwd')).toBe('other');
    expect(endpointLabel('/')).toBe('other');
  });

  test('collectors run before each exposition; reset gauges drop series that went away', () => {
    const r = new Registry();
    const g = r.gauge<'backend'>({ name: 'x_up', help: 'h', labelNames: ['backend'] });
    let names = ['a', 'b'];
    r.onCollect(() => {
      g.reset();
      for (const n of names) g.set({ backend: n }, 1);
    });
    expect(samples(r.expose(), 'x_up').map((s) => s.labels.backend)).toEqual(['a', 'b']);
    names = ['b'];
    expect(samples(r.expose(), 'x_up').map((s) => s.labels.backend)).toEqual(['b']);
  });
});
