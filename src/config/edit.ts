/** @module Comment-preserving edits of gateway.yaml: the yaml Document finds the entry, the change is spliced into the text so every other byte stays as written. */
import { readFileSync, realpathSync } from 'node:fs';
import { writeFileAtomic } from './atomic-write.ts';
import { isCollection, isMap, isPair, isScalar, parseDocument, Scalar, stringify, type Document, type Node, type Pair, type YAMLMap } from 'yaml';

/**
 * A gateway.yaml being edited: `text` is the current source and `doc` its parsed yaml Document (read it with
 * `doc.getIn([...])`; change it only through the functions of this module, which rewrite `text` and re-parse).
 */
export interface ConfigDoc {
  text: string;
  doc: Document.Parsed;
}

type AnyPair = Pair<unknown, unknown>;

/** Parses config text for editing; throws on YAML syntax errors (an edit must never guess). */
export function openConfigText(text: string): ConfigDoc {
  return { text, doc: parseStrict(text) };
}

function parseStrict(text: string): Document.Parsed {
  const doc = parseDocument(text, { prettyErrors: false });
  if (doc.errors.length > 0) throw new Error(`YAML syntax error: ${doc.errors[0].message}`);
  return doc;
}

/** Applies `edit` to config text and returns the new text; the text outside the edited entries is unchanged. */
export function editConfigText(text: string, edit: (doc: ConfigDoc) => void): string {
  const cd = openConfigText(text);
  edit(cd);
  return cd.text;
}

/**
 * Reads `path`, applies `edit` and writes the result with writeFileAtomic (its mode and, for root, its owner
 * kept; never world-readable). Symlinks are followed so the link stays a link.
 * Returns the old and new text.
 */
export function editConfigFile(path: string, edit: (doc: ConfigDoc) => void): { before: string; after: string } {
  const target = realpathSync(path);
  const before = readFileSync(target, 'utf8');
  const after = editConfigText(before, edit);
  if (after !== before) writeFileAtomic(target, after);
  return { before, after };
}

/** Writes a new file atomically with mode 0600; refuses to replace an existing file unless `overwrite`. */
export function writeNewConfigFile(path: string, text: string, opts: { overwrite?: boolean } = {}): void {
  writeFileAtomic(path, text, { mode: 0o600, exclusive: !opts.overwrite });
}

// ---------------------------------------------------------------------------------------------------------------
// Text geometry

function eolOf(text: string): string {
  return text.includes('\r\n') ? '\r\n' : '\n';
}

function lineStart(text: string, offset: number): number {
  return text.lastIndexOf('\n', offset - 1) + 1;
}

/** Offset just after the newline ending the line that contains `offset` (or the end of the text). */
function lineEnd(text: string, offset: number): number {
  const nl = text.indexOf('\n', offset);
  return nl === -1 ? text.length : nl + 1;
}

function column(text: string, offset: number): number {
  return offset - lineStart(text, offset);
}

function indentOfLine(line: string): number {
  return line.length - line.trimStart().length;
}

/** Offset of the last character of a node's own content (not the comments and blank lines that follow it). */
function contentEnd(node: unknown, fallback: number): number {
  if (isCollection(node) && !node.flow && node.items.length > 0) {
    const last = node.items[node.items.length - 1];
    if (isPair(last)) return last.value == null ? contentEnd(last.key, fallback) : contentEnd(last.value, contentEnd(last.key, fallback));
    return contentEnd(last, fallback);
  }
  const range = (node as { range?: [number, number, number] } | null)?.range;
  return range ? range[1] : fallback;
}

/** [start, end) of a pair's lines: from the start of the key's line to the end of its last content line, plus the comment lines indented deeper than the key (they belong to the entry). */
function pairExtent(text: string, pair: AnyPair): [number, number] {
  const keyStart = (pair.key as Node).range![0];
  const start = lineStart(text, keyStart);
  const keyCol = keyStart - start;
  const keyEnd = (pair.key as Node).range![1];
  let end = lineEnd(text, Math.max(contentEnd(pair.value, keyEnd) - 1, keyEnd));
  let probe = end;
  while (probe < text.length) {
    const next = lineEnd(text, probe);
    const line = text.slice(probe, next).replace(/\r?\n$/, '');
    if (line.trim() === '') {
      probe = next;
      continue;
    }
    if (line.trimStart().startsWith('#') && indentOfLine(line) > keyCol) {
      end = next;
      probe = next;
      continue;
    }
    break;
  }
  return [start, end];
}

/** Guards against a splice that parsed but landed in the wrong place (e.g. inside a block with odd comment indentation). */
function assertValueAt(cd: ConfigDoc, path: string[], value: unknown): void {
  const node = cd.doc.getIn(path, true);
  const got = isCollection(node) || isScalar(node) ? (node as { toJS(doc: Document): unknown }).toJS(cd.doc) : node;
  if (JSON.stringify(got) !== JSON.stringify(value)) throw new Error(`internal: editing ${path.join('.')} did not produce the expected value`);
}

function splice(cd: ConfigDoc, start: number, end: number, insert: string): void {
  const text = cd.text.slice(0, start) + insert + cd.text.slice(end);
  // Re-parse after every edit: a splice that produced invalid YAML is a bug and must not reach the disk.
  cd.doc = parseStrict(text);
  cd.text = text;
}

// ---------------------------------------------------------------------------------------------------------------
// Rendering

/** A value rendered as YAML on one line (scalars, and empty collections as `{}`/`[]`); undefined if it needs a block. */
function inlineYaml(value: unknown, quote?: Scalar.Type): string | undefined {
  if (value !== null && typeof value === 'object') {
    const empty = Array.isArray(value) ? value.length === 0 : Object.keys(value).length === 0;
    return empty ? (Array.isArray(value) ? '[]' : '{}') : undefined;
  }
  const quoted = typeof value === 'string' && (quote === 'QUOTE_DOUBLE' || quote === 'QUOTE_SINGLE');
  const out = stringify(value, null, quoted ? { defaultStringType: quote, lineWidth: 0 } : { lineWidth: 0 }).replace(/\n$/, '');
  return out.includes('\n') ? undefined : out;
}

/** `key: value` (or `key:` and an indented block) as lines, each indented by `indent` spaces with nested levels of `step`. */
function renderPair(key: string, value: unknown, indent: number, step: number, eol: string): string {
  const text = stringify({ [key]: value }, { indent: step, lineWidth: 0 }).replace(/\n$/, '');
  const pad = ' '.repeat(indent);
  return text.split('\n').map((l) => (l ? pad + l : l)).join(eol) + eol;
}

/** Indentation step of a block map: its items' column minus its parent key's column; for the root, that of the first nested block map (2 when it cannot tell). */
function stepOf(text: string, map: YAMLMap, parentCol: number): number {
  const first = map.items[0];
  if (!first || map.flow) return 2;
  const col = column(text, (first.key as Node).range![0]);
  if (parentCol >= 0) return col > parentCol ? col - parentCol : 2;
  for (const pair of map.items as AnyPair[]) {
    const v = pair.value;
    if (isMap(v) && !v.flow && v.items.length > 0) {
      const inner = column(text, (v.items[0].key as Node).range![0]) - column(text, (pair.key as Node).range![0]);
      if (inner > 0) return inner;
    }
  }
  return 2;
}

// ---------------------------------------------------------------------------------------------------------------
// Lookup

function keyText(key: unknown): string {
  return isScalar(key) ? String(key.value) : String(key);
}

function findPair(map: YAMLMap, key: string): AnyPair | undefined {
  return (map.items as AnyPair[]).find((p) => keyText(p.key) === key);
}

function rootMap(cd: ConfigDoc): YAMLMap | undefined {
  const c = cd.doc.contents;
  if (c == null || (isScalar(c) && c.value == null)) return undefined;
  if (!isMap(c)) throw new Error('the config file is not a YAML mapping');
  return c;
}

function isEmptyValue(node: unknown): boolean {
  return node == null || (isScalar(node) && node.value == null && !node.source);
}

function assertBlock(map: YAMLMap, path: string[]): void {
  if (map.flow && map.items.length > 0) {
    throw new Error(`${path.join('.') || 'the config'} is written in flow style ({ … }); rewrite it as an indented block to edit it with mcpgw`);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Edits

/** Inserts `key: value` as the last entry of a block map whose key sits at `parentCol` (-1 for the root). */
function appendToMap(cd: ConfigDoc, map: YAMLMap, parentCol: number, key: string, value: unknown, path: string[]): void {
  const eol = eolOf(cd.text);
  assertBlock(map, path);
  const items = map.items as AnyPair[];
  if (items.length === 0) throw new Error('internal: appendToMap needs a non-empty map');
  const indent = column(cd.text, (items[0].key as Node).range![0]);
  const step = stepOf(cd.text, map, parentCol);
  const end = pairExtent(cd.text, items[items.length - 1])[1];
  const from = parentCol < 0 ? 0 : lineStart(cd.text, (items[0].key as Node).range![0]);
  const commented = commentedKeyLine(cd.text.slice(0, parentCol < 0 ? cd.text.length : end), key, indent, from);
  const at = commented ?? (parentCol < 0 ? afterPredecessor(cd.text, items, key) : undefined) ?? end;
  const prefix = at > 0 && cd.text[at - 1] !== '\n' ? eol : '';
  splice(cd, at, at, prefix + renderPair(key, value, indent, step, eol));
}

/** Top-level keys in the order gateway.example.yaml documents them; a new one goes after the nearest earlier key present. */
const TOP_LEVEL_ORDER = ['listen', 'public_url', 'data_dir', 'log_level', 'log_format', 'auth', 'http', 'metrics', 'naming', 'backend_defaults', 'backends'];

function afterPredecessor(text: string, items: AnyPair[], key: string): number | undefined {
  const rank = TOP_LEVEL_ORDER.indexOf(key);
  if (rank < 0) return undefined;
  const before = items.filter((p) => {
    const r = TOP_LEVEL_ORDER.indexOf(keyText(p.key));
    return r >= 0 && r < rank;
  });
  return before.length > 0 ? pairExtent(text, before[before.length - 1])[1] : undefined;
}

/** For a key present only as a commented-out line (`# public_url: …`) at `indent`, the offset after that line, so the real key lands next to its documentation. */
function commentedKeyLine(text: string, key: string, indent: number, from: number): number | undefined {
  const re = new RegExp(`^ {${indent}}#\\s?${key.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:`, 'gm');
  re.lastIndex = from;
  const m = re.exec(text);
  return m ? lineEnd(text, m.index) : undefined;
}

/** Replaces an existing pair's value: in place when both fit on the key's line, else the whole entry's lines. */
function replacePairValue(cd: ConfigDoc, pair: AnyPair, value: unknown, step: number): void {
  const eol = eolOf(cd.text);
  const old = pair.value;
  const block = isScalar(old) && (old.type === 'BLOCK_LITERAL' || old.type === 'BLOCK_FOLDED');
  const oldInline = isScalar(old) && !isEmptyValue(old) && !block ? old : isCollection(old) && old.flow ? old : undefined;
  const inline = inlineYaml(value, isScalar(old) ? (old.type as Scalar.Type | undefined) : undefined);
  if (oldInline && inline !== undefined) {
    const [s, e] = (oldInline as Node).range!;
    splice(cd, s, e, inline);
    return;
  }
  const [start, end] = pairExtent(cd.text, pair);
  const keyCol = column(cd.text, (pair.key as Node).range![0]);
  splice(cd, start, end, renderPair(keyText(pair.key), value, keyCol, step, eol));
}

/**
 * Sets the value at `path` (e.g. `['auth', 'password_hash']`), creating missing maps. Scalars are replaced in
 * place (keeping a quoted value's quote style and any comment after it); new keys go at the end of their map.
 */
export function setValue(cd: ConfigDoc, path: string[], value: unknown): void {
  if (path.length === 0) throw new Error('setValue needs a path');
  setValueUnchecked(cd, path, value);
  assertValueAt(cd, path, value);
}

function setValueUnchecked(cd: ConfigDoc, path: string[], value: unknown): void {
  const root = rootMap(cd);
  if (!root || root.items.length === 0) {
    const eol = eolOf(cd.text);
    const nested = path.slice(1).reduceRight<unknown>((v, k) => ({ [k]: v }), value);
    const prefix = cd.text.length > 0 && !cd.text.endsWith('\n') ? eol : '';
    if (root && root.flow) return splice(cd, root.range![0], root.range![1], renderPair(path[0], nested, 0, 2, eol).trimEnd());
    return splice(cd, cd.text.length, cd.text.length, prefix + renderPair(path[0], nested, 0, 2, eol));
  }
  let map: YAMLMap = root;
  let parentCol = -1;
  for (let i = 0; i < path.length; i++) {
    const key = path[i];
    const pair = findPair(map, key);
    const rest = path.slice(i + 1).reduceRight<unknown>((v, k) => ({ [k]: v }), value);
    if (!pair) return appendToMap(cd, map, parentCol, key, rest, path.slice(0, i));
    const keyCol = column(cd.text, (pair.key as Node).range![0]);
    const step = stepOf(cd.text, map, parentCol);
    const last = i === path.length - 1;
    const child = pair.value;
    if (last || !isMap(child) || child.items.length === 0) return replacePairValue(cd, pair, last ? value : rest, step);
    assertBlock(child, path.slice(0, i + 1));
    map = child;
    parentCol = keyCol;
  }
}

/** Adds backend `name` at the end of `backends:` (creating the map if missing), or replaces its entry if it exists. */
export function setBackend(cd: ConfigDoc, name: string, entry: Record<string, unknown>): void {
  const root = rootMap(cd);
  const backends = root ? findPair(root, 'backends') : undefined;
  if (!backends || !isMap(backends.value) || backends.value.items.length === 0) {
    setValue(cd, ['backends'], { [name]: entry });
    return;
  }
  const map = backends.value;
  assertBlock(map, ['backends']);
  const parentCol = column(cd.text, (backends.key as Node).range![0]);
  const existing = findPair(map, name);
  if (!existing) {
    appendToMap(cd, map, parentCol, name, entry, ['backends']);
  } else {
    const [start, end] = pairExtent(cd.text, existing);
    const indent = column(cd.text, (existing.key as Node).range![0]);
    splice(cd, start, end, renderPair(name, entry, indent, stepOf(cd.text, map, parentCol), eolOf(cd.text)));
  }
  assertValueAt(cd, ['backends', name], entry);
}

/** Removes backend `name` (its lines and the comment lines indented inside it); returns false if there is none. An emptied map becomes `backends: {}`. */
export function removeBackend(cd: ConfigDoc, name: string): boolean {
  const root = rootMap(cd);
  const backends = root ? findPair(root, 'backends') : undefined;
  if (!backends || !isMap(backends.value)) return false;
  const map = backends.value;
  const pair = findPair(map, name);
  if (!pair) return false;
  assertBlock(map, ['backends']);
  const [start, end] = pairExtent(cd.text, pair);
  const onlyOne = map.items.length === 1;
  splice(cd, start, end, '');
  if (onlyOne) {
    // `backends:` with nothing under it is null, which the schema refuses; an empty map is what was meant.
    const key = findPair(rootMap(cd)!, 'backends')!.key as Node;
    const colon = cd.text.indexOf(':', key.range![1]) + 1;
    splice(cd, colon, colon, ' {}');
  }
  return true;
}
