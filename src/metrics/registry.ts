/**
 * @module A small metrics registry: counters, gauges and histograms with labels, written in the Prometheus
 * text exposition format 0.0.4 (https://prometheus.io/docs/instrumenting/exposition_formats/).
 */

/** Label values by label name. */
export type Labels = Record<string, string>;

/** The Content-Type of the text format this registry writes. */
export const EXPOSITION_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Latency buckets in seconds, from a fast local tool (5 ms) to a long-running one (5 min). */
export const DEFAULT_SECONDS_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

/** Label value escaping: backslash, double quote and line feed (exposition format "label_value"). */
export function escapeLabelValue(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** HELP text escaping: backslash and line feed only. */
export function escapeHelp(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/** A sample value as the format spells it (Go's ParseFloat spellings for the non-finite ones). */
export function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

interface MetricOptions<L extends string> {
  name: string;
  help: string;
  labelNames?: readonly L[];
}

abstract class Metric<L extends string> {
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly L[];
  abstract readonly type: 'counter' | 'gauge' | 'histogram';

  constructor(o: MetricOptions<L>) {
    if (!METRIC_NAME.test(o.name)) throw new Error(`invalid metric name: ${o.name}`);
    for (const l of o.labelNames ?? []) if (!LABEL_NAME.test(l) || l.startsWith('__') || l === 'le') throw new Error(`invalid label name: ${l}`);
    this.name = o.name;
    this.help = o.help;
    this.labelNames = o.labelNames ?? [];
  }

  /** The series key: label values in declared order (a label left out is the empty string). */
  protected key(labels: Partial<Record<L, string>>): string {
    return JSON.stringify(this.labelNames.map((n) => labels[n] ?? ''));
  }

  protected labelText(key: string, extra = ''): string {
    const values = JSON.parse(key) as string[];
    const parts = this.labelNames.map((n, i) => `${n}="${escapeLabelValue(values[i]!)}"`);
    if (extra) parts.push(extra);
    return parts.length > 0 ? `{${parts.join(',')}}` : '';
  }

  /** The family's lines, HELP and TYPE first. */
  expose(): string {
    return `# HELP ${this.name} ${escapeHelp(this.help)}\n# TYPE ${this.name} ${this.type}\n${this.samples()}`;
  }

  protected abstract samples(): string;
}

/** A value that only goes up (resets on restart); its name ends in `_total`. */
export class Counter<L extends string = never> extends Metric<L> {
  readonly type = 'counter';
  private readonly values = new Map<string, number>();

  constructor(o: MetricOptions<L>) {
    super(o);
    if (!o.name.endsWith('_total')) throw new Error(`counter names end in _total: ${o.name}`);
  }

  inc(labels: Record<L, string> = {} as Record<L, string>, by = 1): void {
    if (!(by >= 0)) throw new Error(`a counter cannot go down (${this.name})`);
    const k = this.key(labels);
    this.values.set(k, (this.values.get(k) ?? 0) + by);
  }

  /** Takes a total counted elsewhere (it must never go down), sampled at scrape time. */
  setTotal(labels: Record<L, string>, total: number): void {
    this.values.set(this.key(labels), total);
  }

  /** The current value of one series (0 when never incremented). */
  get(labels: Record<L, string> = {} as Record<L, string>): number {
    return this.values.get(this.key(labels)) ?? 0;
  }

  protected samples(): string {
    let out = '';
    for (const [k, v] of this.values) out += `${this.name}${this.labelText(k)} ${formatValue(v)}\n`;
    return out;
  }
}

/** A value that goes up and down; gauges of live state are usually reset and refilled at scrape time. */
export class Gauge<L extends string = never> extends Metric<L> {
  readonly type = 'gauge';
  private values = new Map<string, number>();

  set(labels: Record<L, string>, v: number): void {
    this.values.set(this.key(labels), v);
  }

  /** Forgets every series (before refilling from live state, so a removed backend's series disappears). */
  reset(): void {
    this.values = new Map();
  }

  protected samples(): string {
    let out = '';
    for (const [k, v] of this.values) out += `${this.name}${this.labelText(k)} ${formatValue(v)}\n`;
    return out;
  }
}

/** Observations counted into cumulative `le` buckets, with their `_sum` and `_count`. */
export class Histogram<L extends string = never> extends Metric<L> {
  readonly type = 'histogram';
  readonly buckets: readonly number[];
  private readonly series = new Map<string, { counts: number[]; sum: number; count: number }>();

  constructor(o: MetricOptions<L> & { buckets?: readonly number[] }) {
    super(o);
    const b = [...(o.buckets ?? DEFAULT_SECONDS_BUCKETS)];
    if (b.length === 0 || b.some((x, i) => !Number.isFinite(x) || (i > 0 && x <= b[i - 1]!))) throw new Error(`buckets must be finite and increasing (${this.name})`);
    this.buckets = b;
  }

  observe(labels: Record<L, string>, v: number): void {
    const k = this.key(labels);
    let s = this.series.get(k);
    if (!s) this.series.set(k, (s = { counts: this.buckets.map(() => 0), sum: 0, count: 0 }));
    for (let i = 0; i < this.buckets.length; i++) if (v <= this.buckets[i]!) s.counts[i]!++;
    s.sum += v;
    s.count++;
  }

  protected samples(): string {
    let out = '';
    for (const [k, s] of this.series) {
      this.buckets.forEach((le, i) => (out += `${this.name}_bucket${this.labelText(k, `le="${formatValue(le)}"`)} ${s.counts[i]}\n`));
      out += `${this.name}_bucket${this.labelText(k, 'le="+Inf"')} ${s.count}\n`;
      out += `${this.name}_sum${this.labelText(k)} ${formatValue(s.sum)}\n`;
      out += `${this.name}_count${this.labelText(k)} ${s.count}\n`;
    }
    return out;
  }
}

/**
 * Bounds a label's cardinality: the first `max` distinct values pass, later ones become `other`
 * (label values that come from outside, such as tool names, must not grow the series without limit).
 */
export function labelCap(max: number, overflow = 'other'): (value: string) => string {
  const seen = new Set<string>();
  return (value) => {
    if (seen.has(value)) return value;
    if (seen.size >= max) return overflow;
    seen.add(value);
    return value;
  };
}

/** The metric families of one process, written in registration order. */
export class Registry {
  private readonly metrics: Metric<string>[] = [];
  private readonly collectors: (() => void)[] = [];

  private add<M extends Metric<string>>(m: M): M {
    if (this.metrics.some((x) => x.name === m.name)) throw new Error(`metric registered twice: ${m.name}`);
    this.metrics.push(m);
    return m;
  }

  counter<L extends string = never>(o: MetricOptions<L>): Counter<L> {
    return this.add(new Counter(o) as Metric<string>) as unknown as Counter<L>;
  }

  gauge<L extends string = never>(o: MetricOptions<L>): Gauge<L> {
    return this.add(new Gauge(o) as Metric<string>) as unknown as Gauge<L>;
  }

  histogram<L extends string = never>(o: MetricOptions<L> & { buckets?: readonly number[] }): Histogram<L> {
    return this.add(new Histogram(o) as Metric<string>) as unknown as Histogram<L>;
  }

  /** Runs before every exposition: reads live state into gauges and sampled counters. */
  onCollect(fn: () => void): void {
    this.collectors.push(fn);
  }

  /** The whole exposition text. */
  expose(): string {
    for (const c of this.collectors) c();
    return this.metrics.map((m) => m.expose()).join('');
  }
}
