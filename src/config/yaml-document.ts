/**
 * @module gateway.yaml read with the yaml package's document: every issue gets its YAML path, line and column.
 * Loaded only when a file is not read cleanly by the fast path in load.ts (a syntax error, an invalid value, a
 * duplicate key, an anchor): a gateway whose config is fine never evaluates the yaml package (issue 7, memory).
 */
import { dirname, resolve } from 'node:path';
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, type Document } from 'yaml';
import { formatPath, interpolateString, restoreDeferred, type ConfigIssue, type Deferred, type InterpolationContext, type Path, type Position, type ReadFile } from './interpolate.ts';
import { validateConfig, type Config } from './schema.ts';

type Visit = (node: { value: unknown; range?: [number, number, number] | null }, path: Path) => void;

/** Visits every string scalar in VALUE position (keys are never interpolated); aliases are visited at their anchor. */
function walkStrings(node: unknown, path: Path, visit: Visit): void {
  if (isMap(node)) for (const pair of node.items) walkStrings(pair.value, [...path, keyText(pair.key)], visit);
  else if (isSeq(node)) node.items.forEach((item, i) => walkStrings(item, [...path, i], visit));
  else if (isScalar(node) && typeof node.value === 'string') visit(node, path);
}

function keyText(key: unknown): string {
  return isScalar(key) ? String(key.value) : String(key);
}

/** Interpolates in place; returns an issue per failed reference, the paths whose values stayed unresolved, and deferred templates. */
function interpolateDocument(doc: Document, ctx: InterpolationContext, at: (offset?: number) => Position) {
  const issues: ConfigIssue[] = [];
  const failed: string[] = [];
  const deferred: Deferred = [];
  walkStrings(doc.contents, [], (node, path) => {
    const r = interpolateString(node.value as string, path, ctx);
    if (r.errors.length === 0) {
      node.value = r.value;
      if (r.template !== undefined) deferred.push({ path, template: r.template });
    } else failed.push(formatPath(path));
    for (const message of r.errors) issues.push({ path: formatPath(path), message, ...at(node.range?.[0]) });
  });
  return { issues, failed, deferred };
}

function rangeStart(node: unknown): number | undefined {
  return (node as { range?: [number, number, number] } | null)?.range?.[0];
}

/** An empty value (`key:` with nothing after it) has no useful position; point at its key instead. */
function isEmptyValue(node: unknown): boolean {
  return node == null || (isScalar(node) && node.value === null && !node.source);
}

/** Offset for an issue: the value node (or key, for unknown keys); for a missing key, the nearest existing parent. */
function locate(doc: Document, path: Path, at: 'key' | 'value'): number | undefined {
  let node: unknown = doc.contents;
  let offset = rangeStart(node);
  for (let i = 0; i < path.length; i++) {
    if (isAlias(node)) node = node.resolve(doc);
    if (isSeq(node) && typeof path[i] === 'number') {
      node = node.items[path[i] as number];
    } else if (isMap(node)) {
      const pair = node.items.find((p) => keyText(p.key) === String(path[i]));
      if (!pair) return offset;
      const last = i === path.length - 1;
      if (last && (at === 'key' || isEmptyValue(pair.value))) return rangeStart(pair.key);
      node = isEmptyValue(pair.value) ? pair.key : pair.value;
    } else {
      return offset;
    }
    if (node == null) return offset;
    offset = rangeStart(node) ?? offset;
  }
  return offset;
}

function byPosition(a: ConfigIssue, b: ConfigIssue): number {
  return (a.line ?? Infinity) - (b.line ?? Infinity) || (a.col ?? 0) - (b.col ?? 0);
}

const isUnder = (path: string, parents: string[]) => parents.some((p) => path === p || path.startsWith(`${p}.`) || path.startsWith(`${p}[`));

/**
 * An empty file (or one holding only comments) or a top level that is not a mapping is refused rather than read
 * as "all defaults": a half-saved file must never replace a running config with one that has no backends.
 */
function topLevelIssue(doc: Document, at: (offset?: number) => Position): ConfigIssue | undefined {
  const top = doc.contents;
  if (top === null || (isScalar(top) && (top.value === null || top.value === ''))) {
    return { path: '', message: 'config file is empty; it needs at least a mapping of keys (see gateway.example.yaml), or {} for all defaults' };
  }
  if (isMap(top)) return undefined;
  const kind = isSeq(top) ? 'a list' : isScalar(top) ? `a ${typeof top.value} (${JSON.stringify(top.value)})` : 'not a mapping';
  return { path: '', message: `the top level must be a mapping of keys (listen:, backends:, …), got ${kind}`, ...at(rangeStart(top)) };
}

/**
 * Parses and validates gateway.yaml text with the yaml package's document, whose positions give every issue its
 * line and column. `file` names the file in messages and anchors relative paths (data_dir, cwd, `${file:PATH}`).
 */
export function parseWithPositions(
  text: string,
  file: string,
  env: Readonly<Record<string, string | undefined>>,
  readFile: ReadFile,
): { ok: true; config: Config } | { ok: false; issues: ConfigIssue[] } {
  const lineCounter = new LineCounter();
  const at = (offset?: number): Position => (offset === undefined ? {} : lineCounter.linePos(offset));
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      issues: doc.errors.map((e) => ({
        path: '',
        message: e.code === 'MULTIPLE_DOCS' ? 'only one YAML document is allowed' : `YAML syntax error: ${e.message}`,
        ...at(e.pos[0]),
      })),
    };
  }
  const shape = topLevelIssue(doc, at);
  if (shape) return { ok: false, issues: [shape] };
  const ctx: InterpolationContext = { env, configDir: dirname(resolve(file)), readFile };
  const interpolation = interpolateDocument(doc, ctx, at);
  const validation = validateConfig(doc.toJS() ?? {}, ctx);
  if (validation.ok && interpolation.issues.length === 0) {
    restoreDeferred(validation.value, interpolation.deferred);
    return { ok: true, config: validation.value };
  }
  const schemaIssues = validation.ok ? [] : validation.issues;
  const issues = [
    ...interpolation.issues,
    ...schemaIssues
      .map((i) => ({ path: formatPath(i.path), message: i.message, ...at(locate(doc, i.path, i.at)) }))
      // A value whose reference failed is reported once, not again as an invalid value.
      .filter((i) => !isUnder(i.path, interpolation.failed)),
  ];
  return { ok: false, issues: issues.sort(byPosition) };
}

