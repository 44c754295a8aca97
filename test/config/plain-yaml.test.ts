/**
 * The config fast path (issue 7, memory): a file in the plain YAML subset is read by Bun's native parser, and it
 * must read exactly what the yaml package reads; everything else goes to the yaml package's document.
 */
import { describe, expect, test } from 'bun:test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { parseConfigText } from '../../src/config/load.ts';
import { isPlainYaml } from '../../src/config/plain-yaml.ts';
import { parseWithPositions } from '../../src/config/yaml-document.ts';
import { ROOT } from '../helpers/gateway-process.ts';

const FILE = '/etc/mcpgw/gateway.yaml';
const EXAMPLE = readFileSync(join(ROOT, 'gateway.example.yaml'), 'utf8');

/** Both parsers' reading of a text: a value, or 'error'. */
function both(text: string): { bun: unknown; yaml: unknown } {
  const read = (f: () => unknown) => {
    try {
      return f();
    } catch {
      return 'error';
    }
  };
  return { bun: read(() => Bun.YAML.parse(text)), yaml: read(() => parse(text)) };
}

/** A deterministic generator of config-like YAML in the shapes and scalars people write. */
function generator(seed: number) {
  let s = seed >>> 0;
  const rnd = (n: number) => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) % n);
  const pick = <T,>(xs: readonly T[]): T => xs[rnd(xs.length)];
  const SCALARS = [
    'x', 'yes', 'no', 'on', 'off', 'true', 'False', 'null', 'Null', '~', '', '0', '-0', '012', '0o17', '0x1F', '1_000', '1e3', '.5', '+12', '.inf', '-.Inf', '.nan',
    '2024-01-01', '12:30', '1.2.3', '127.0.0.1:4444', 'http://erp.lan/mcp?a=1&b=2', 'https://h/p#frag', 'a#b', 'a #comment', '${ERP_TOKEN}', '$${literal}',
    '"quoted # not a comment"', "'single ''quote'''", '"esc \\t \\u00e9 \\\\"', '"a: b"', "'x: y'", '"%x"', '-dash', '--flag', '- not seq', 'a,b', '"[x]"',
    '[a, b]', '[1, "two", three]', '[]', '{}', '{a: 1, b: x}', '{ mode: oauth }', '{a: 1, a: 2}', '[a, [b]]', '{a: {b: 1}}', '{ command: x, args: [a, "b c"] }', '{null: 1}', '{1.0: x, b: [1, 2]}', '{a: [x], a: [y]}', '{a: [x, ]}', 'a: b', 'x:y', '30s', '5m', '@at', '`tick`',
    '-0x1F', '+0o17', '+0x1F', '[1, -0x1F]', '|', '>-', '|+', '>2', '"unterminated', "'open", 'trailing  ', 'üñí', '"\\"q\\""', 'a\\b', '!tag', '&anchor x', '*alias', '<<', '? q', '%dir',
  ] as const;
  const KEYS = ['a', 'b', 'listen', 'url', 'X-Api-Key', 'env', 'args', '"quoted key"', "'k'", 'key.with.dots', 'path/like', '1', 'true', 'null', 'a b', 'k:', '-k'];
  const block = (indent: number, depth: number): string[] => {
    const pad = ' '.repeat(indent);
    const lines: string[] = [];
    const n = 1 + rnd(4);
    for (let i = 0; i < n; i++) {
      const key = pick(KEYS);
      const kind = depth > 2 ? 0 : rnd(6);
      if (rnd(8) === 0) lines.push(`${pad}# a comment`);
      if (kind === 0 || kind === 1) {
        const v = pick(SCALARS);
        lines.push(`${pad}${key}:${v === '' ? '' : ' ' + v}`);
        if (v.startsWith('|') || v.startsWith('>')) lines.push(`${pad}  line one`, `${pad}  line: two # kept`, '', `${pad}   deeper`);
      } else if (kind === 2) {
        lines.push(`${pad}${key}:`, ...block(indent + 2, depth + 1));
      } else if (kind === 3) {
        lines.push(`${pad}${key}:`);
        const items = 1 + rnd(3);
        const dashPad = rnd(2) === 0 ? pad : pad + '  ';
        for (let j = 0; j < items; j++) {
          if (rnd(2) === 0) lines.push(`${dashPad}- ${pick(SCALARS)}`);
          else {
            const inner = block(dashPad.length + 2, depth + 1);
            lines.push(`${dashPad}- ${inner[0].trimStart()}`, ...inner.slice(1));
          }
        }
      } else if (kind === 4) {
        lines.push(`${pad}${key}: ${pick(SCALARS)}`, `${pad}${key}: ${pick(SCALARS)}`);
      } else {
        lines.push(`${pad}${key}: ${pick(SCALARS)}`, `${pad}  ${pick(SCALARS)}`);
      }
    }
    return lines;
  };
  return () => block(0, 0).join('\n') + (rnd(2) ? '\n' : '');
}

describe('plain YAML: what Bun reads natively is what the yaml package reads', () => {
  test('the example config is plain, and both parsers read it alike', () => {
    expect(isPlainYaml(EXAMPLE)).toBe(true);
    const { bun, yaml } = both(EXAMPLE);
    expect(bun).toEqual(yaml);
  });

  test('40,000 generated config-like texts: every text called plain reads the same in both parsers', () => {
    const next = generator(7);
    let plain = 0;
    const differing: string[] = [];
    for (let i = 0; i < 40_000; i++) {
      const text = next();
      if (!isPlainYaml(text)) continue;
      plain++;
      const { bun, yaml } = both(text);
      if (bun === 'error') continue; // the yaml package's document reports it
      if (!Bun.deepEquals(bun, yaml, true)) differing.push(text);
    }
    expect(differing.slice(0, 3)).toEqual([]);
    // The generator exercises the fast path, not only the way around it.
    expect(plain).toBeGreaterThan(1_000);
  });

  test.each([
    ['a duplicate key', 'a: 1\nb: 2\na: 3\n'],
    ['a duplicate nested key', 'backends:\n  erp:\n    url: http://a\n    url: http://b\n'],
    ['a duplicate key in one item of a list', 'clients:\n  - client_id: a\n    client_id: b\n'],
    ['a duplicate key in a flow mapping', 'auth: { mode: oauth, mode: none }\n'],
    ['a merge key', 'defaults: &d\n  timeout: 5s\nb:\n  <<: *d\n'],
    ['an anchor', 'a: &x 1\nb: *x\n'],
    ['a tag', 'a: !!str 12\n'],
    ['two documents', 'a: 1\n---\nb: 2\n'],
    ['a multi-line plain scalar', 'description: one\n  two\n'],
    ['a multi-line quoted scalar', 'description: "one\n  two"\n'],
    ['a complex key', '? a\n: 1\n'],
    ['a tab', 'a:\n\tb: 1\n'],
    ['a signed hex number (a number for Bun, text for YAML 1.2)', 'timeout: -0x1F\n'],
    ['a signed octal number in a list', 'args: [+0o17]\n'],
    ['a flow mapping across lines', 'auth: {\n  mode: oauth }\n'],
  ])('%s is left to the yaml package', (_what, text) => {
    expect(isPlainYaml(text)).toBe(false);
  });

  test('the same keys in sibling mappings and list items are not duplicates', () => {
    expect(isPlainYaml('a:\n  x: 1\nb:\n  x: 2\nlist:\n  - x: 1\n    y: 2\n  - x: 3\nc:\n- x: 4\n- x: 5\n')).toBe(true);
  });
});

describe('parseConfigText: the fast path and the positioned path agree', () => {
  const env = { HOME: '/home/u', ERP_TOKEN: 'secret', PORT: '4444' };
  const texts = [
    EXAMPLE,
    'listen: 127.0.0.1:${PORT}\nbackends:\n  erp:\n    url: ${ERP_URL}/mcp\n    headers:\n      Authorization: Bearer ${ERP_TOKEN}\n  fs:\n    command: npx\n    args: [-y, "@modelcontextprotocol/server-filesystem", "${file:./dir}"]\n    env:\n      KEY: ${file:key.txt}\n',
    'auth:\n  mode: none\nhttp:\n  max_sessions_per_grant: 5\nbackend_defaults:\n  timeout: 30s\n',
  ];
  test.each(texts.map((t, i) => [i, t]))('config %d', (_i, text) => {
    const fast = parseConfigText(text as string, FILE, env);
    const slow = parseWithPositions(text as string, FILE, env, () => 'x');
    expect(fast.ok).toBe(true);
    expect(fast).toEqual(slow);
  });

  test('a config with a duplicate key still gets the yaml error with its line', () => {
    const r = parseConfigText('listen: 127.0.0.1:1\nlisten: 127.0.0.1:2\n', FILE, env);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.issues[0]).toMatchObject({ message: 'YAML syntax error: Map keys must be unique', line: 2 });
  });

  test('reading a plain config evaluates neither the yaml package nor the positioned path', () => {
    const script = `const { parseConfigText } = await import(${JSON.stringify(join(ROOT, 'src/config/load.ts'))});
const r = parseConfigText(require('node:fs').readFileSync(${JSON.stringify(join(ROOT, 'gateway.example.yaml'))}, 'utf8'), '/x/gateway.yaml', {});
console.log(JSON.stringify({ ok: r.ok, loaded: Object.keys(require.cache).filter((k) => /node_modules\\/yaml\\/|yaml-document/.test(k)) }));`;
    const proc = Bun.spawnSync([process.execPath, '-e', script], { cwd: ROOT });
    expect(JSON.parse(proc.stdout.toString().trim())).toEqual({ ok: true, loaded: [] });
  });
});
