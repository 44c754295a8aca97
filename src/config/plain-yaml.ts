/**
 * @module The plain subset of YAML that Bun's native parser and the yaml package (YAML 1.2) read alike: block
 * mappings and sequences of scalars, one-line flow collections, block scalars, comments. Outside it (a duplicate
 * key, which Bun's parser silently overwrites; merge keys, which it applies; anchors and aliases; tags; several
 * documents; complex keys; multi-line plain or quoted scalars; anything not recognised) the text is read by the
 * yaml package instead (load.ts). A check line by line, never a parser: when in doubt, it says no.
 */

/**
 * A key at the start of a line's content: a word starting with a letter or `_` (a key such as `1.0`, `0x1F` or `null`
 * is read as a number or null by one parser and as text by the other), or a simple quoted string; then `:` and a space
 * or the end of the line.
 */
const KEY = /^([A-Za-z_][A-Za-z0-9_.\/-]*|"[^"\\]*"|'[^']*')[ ]*:(?:[ ]+(.*))?$/;
const LITERAL_KEY = /^(?:null|Null|NULL|true|True|TRUE|false|False|FALSE)$/;
/** A block scalar header (`|`, `>-`, `|+2`), with an optional comment. */
const BLOCK_SCALAR = /^[|>][-+0-9]*(?:[ ]+#.*)?$/;
/**
 * Constructs that send a line to the yaml package: anchors, aliases and tags at a value's start, merge keys,
 * directives, documents, complex keys, and a signed hex or octal number (`-0x1F`: a number for Bun, text for YAML 1.2).
 */
const OUTSIDE = /(?:^|[\s\[{,:])[&*!][^\s]|<<|^%|^(?:---|\.\.\.)(?:\s|$)|^[ ]*\?(?:\s|$)|(?:^|[\s\[{,:])[-+]0[xXoO]/;

/** True when `text` is in the plain subset (see the module comment). */
export function isPlainYaml(text: string): boolean {
  if (text.includes('\t')) return false;
  /** The keys seen per column in the mappings open at the current line. */
  const open = new Map<number, Set<string>>();
  /** Inside a block scalar: lines indented deeper than this column are its content. */
  let blockAt = -1;
  for (const raw of text.split('\n')) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    const content = line.trimStart();
    const indent = line.length - content.length;
    if (blockAt >= 0) {
      if (content === '' || indent > blockAt) continue;
      blockAt = -1;
    }
    if (content === '' || content.startsWith('#')) continue;
    if (OUTSIDE.test(line.replace(/\s#.*$/, ''))) return false;
    let col = indent;
    let rest = content;
    let fresh = false;
    while (rest.startsWith('- ') || rest === '-') {
      if (rest === '-') return false; // an item whose content starts on the next line
      const after = rest.slice(2).trimStart();
      col += rest.length - after.length;
      rest = after;
      fresh = true;
    }
    const m = KEY.exec(rest);
    if (!m) {
      // A scalar item of a sequence; anything else (a continuation line, a flow collection across lines) is not plain.
      if (!fresh) return false;
      if (BLOCK_SCALAR.test(rest)) blockAt = indent;
      else if (!plainValue(rest)) return false;
      continue;
    }
    for (const c of open.keys()) if (c > col) open.delete(c);
    let keys = open.get(col);
    if (!keys || fresh) open.set(col, (keys = new Set()));
    if (LITERAL_KEY.test(m[1])) return false;
    const key = unquote(m[1]);
    if (keys.has(key)) return false;
    keys.add(key);
    const value = m[2];
    if (value === undefined || value === '' || value.startsWith('#')) continue;
    if (BLOCK_SCALAR.test(value)) blockAt = col;
    else if (!plainValue(value)) return false;
  }
  return true;
}

/** A value on one line: a scalar, a quoted string closed on this line, or a one-line flow collection of scalars. */
function plainValue(value: string): boolean {
  const v = value.replace(/[ ]+#.*$/, '').trimEnd();
  const first = v[0];
  if (first === '"') return v.length > 1 && v.endsWith('"') && !v.endsWith('\\"');
  if (first === "'") return v.length > 1 && v.endsWith("'");
  if (first === '[') return v.endsWith(']') && !/[[\]{}]/.test(v.slice(1, -1));
  if (first === '{') return v.endsWith('}') && flowKeysUnique(v.slice(1, -1));
  // A plain scalar; `key: value: more` and stray brackets are not plain.
  return !/:(?:\s|$)/.test(v) && !/[[\]{}]/.test(first ?? '');
}

/** A one-line flow mapping's entries (`a: 1, b: [x, y]`): simple keys, values without nested mappings or quotes, no key twice. */
function flowKeysUnique(flow: string): boolean {
  const inner = flow.replace(/\[[^[\]{}]*\]/g, '[]');
  if (/[{}"']|\[[^\]]|[^[]\]/.test(inner)) return false;
  const keys = new Set<string>();
  for (const entry of inner.split(',')) {
    if (entry.trim() === '') continue;
    const m = /^\s*([A-Za-z_][A-Za-z0-9_.\/-]*)\s*:(?:\s|$)/.exec(entry);
    if (!m || LITERAL_KEY.test(m[1]) || keys.has(m[1])) return false;
    keys.add(m[1]);
  }
  return true;
}

function unquote(key: string): string {
  return key.startsWith('"') || key.startsWith("'") ? key.slice(1, -1) : key;
}
