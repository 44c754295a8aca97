/**
 * @module Reads /metrics text with an independent Prometheus text-format parser (parse-prometheus-text-format,
 * a dev dependency), so the tests check the wire format rather than our own writer.
 */
import parsePrometheusTextFormat from 'parse-prometheus-text-format';

/** One parsed sample: its labels and value as the parser returns them (strings). */
export interface Sample {
  labels: Record<string, string>;
  value: string;
}

/** One metric family as the parser returns it. */
export interface Family {
  name: string;
  help: string;
  type: string;
  metrics: unknown[];
}

/** Every family of an exposition; throws on a line the parser rejects. */
export function parseFamilies(text: string): Family[] {
  return parsePrometheusTextFormat(text) as Family[];
}

/**
 * Every sample of `name` with its full label set. The parser folds a histogram's series into one bucket
 * map without their labels, so histogram families are read with their TYPE line dropped: each of
 * `_bucket`, `_sum` and `_count` then parses as a plain family with all labels.
 */
export function samples(text: string, name: string): Sample[] {
  const untyped = text.split('\n').filter((l) => !/^# TYPE \S+ histogram$/.test(l)).join('\n');
  // A histogram's lines alternate between the three names per series, so one name comes back as several runs.
  const runs = parseFamilies(untyped).filter((f) => f.name === name);
  return runs.flatMap((f) => f.metrics as { labels?: Record<string, string>; value: string }[]).map((m) => ({ labels: m.labels ?? {}, value: m.value }));
}

/** The value of the sample of `name` whose labels include `match`; undefined when there is none. */
export function valueOf(text: string, name: string, match: Record<string, string> = {}): number | undefined {
  const hit = samples(text, name).find((s) => Object.entries(match).every(([k, v]) => s.labels[k] === v));
  return hit === undefined ? undefined : Number(hit.value);
}
