/** The package ships no types; it returns metric families with string values. */
declare module 'parse-prometheus-text-format' {
  export default function parsePrometheusTextFormat(text: string): { name: string; help: string; type: string; metrics: unknown[] }[];
}
