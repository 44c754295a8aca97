/**
 * Module structure (issue 7 fault 15, STYLE.md "Dependency direction"): no import cycles in src/ and cmd/,
 * src/ never imports cmd/, only tui/ (and cmd/) import ink, and `serve` loads neither ink nor react.
 */
import { describe, expect, test } from 'bun:test';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { ROOT } from '../helpers/gateway-process.ts';

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) out.push(...sources(p));
    else if (/\.tsx?$/.test(e)) out.push(p);
  }
  return out;
}

/** Relative imports of a file (static `import … from`, `export … from`; type-only ones too). */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(/^(?:import|export)\s[^;]*?from\s+'(\.[^']+)'/gms)) out.push(resolve(dirname(file), m[1]));
  return out;
}

const files = [...sources(join(ROOT, 'src')), ...sources(join(ROOT, 'cmd'))];
const graph = new Map(files.map((f) => [f, importsOf(f)]));

describe('module structure', () => {
  test('fault 15: there is no import cycle', () => {
    const cycles: string[] = [];
    const state = new Map<string, 'visiting' | 'done'>();
    const walk = (f: string, path: string[]) => {
      if (state.get(f) === 'done') return;
      if (state.get(f) === 'visiting') {
        cycles.push([...path.slice(path.indexOf(f)), f].map((p) => relative(ROOT, p)).join(' -> '));
        return;
      }
      state.set(f, 'visiting');
      for (const dep of graph.get(f) ?? []) walk(dep, [...path, f]);
      state.set(f, 'done');
    };
    for (const f of files) walk(f, []);
    expect(cycles).toEqual([]);
  });

  test('src/ never imports cmd/; only tui/ imports ink or react', () => {
    const wrong: string[] = [];
    for (const f of files) {
      const rel = relative(ROOT, f);
      const text = readFileSync(f, 'utf8');
      if (rel.startsWith('src/') && (graph.get(f) ?? []).some((d) => relative(ROOT, d).startsWith('cmd/'))) wrong.push(`${rel} imports cmd/`);
      if (rel.startsWith('src/') && !rel.startsWith('src/tui/') && /from '(ink|react)'/.test(text)) wrong.push(`${rel} imports ink/react`);
    }
    expect(wrong).toEqual([]);
  });

  test('item 12: loading the serve command evaluates neither ink nor react', async () => {
    const script = `await import(${JSON.stringify(join(ROOT, 'cmd/program.ts'))}); const loaded = Object.keys(require.cache).filter((k) => /node_modules\\/(ink|react)\\//.test(k)); console.log(JSON.stringify(loaded)); process.exit(0);`;
    const proc = Bun.spawnSync([process.execPath, '-e', script], { cwd: ROOT, env: { ...process.env, NO_COLOR: '1' } });
    expect(proc.exitCode).toBe(0);
    expect(JSON.parse(proc.stdout.toString().trim().split('\n').pop()!)).toEqual([]);
  });

  // The binary is built with code splitting: what `serve` never imports stays in chunks that are never read.
  test('issue 7: `mcpgw serve` evaluates only the serve command: no other command, no ink/react, no SDK, no zod, no YAML editing', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mcpgw-imports-'));
    try {
      const preload = join(dir, 'preload.ts');
      writeFileSync(preload, `process.on('exit', () => console.error('LOADED ' + JSON.stringify(Object.keys(require.cache))));`);
      // A missing config ends serve right after its modules are evaluated (exit 2), before anything is started.
      const proc = Bun.spawnSync([process.execPath, '--preload', preload, join(ROOT, 'cmd/mcpgw.ts'), 'serve', '--config', join(dir, 'missing.yaml')], { cwd: ROOT, env: { ...process.env, NO_COLOR: '1' } });
      expect(proc.exitCode).toBe(2);
      const line = proc.stderr.toString().split('\n').find((l) => l.startsWith('LOADED '));
      const loaded = (JSON.parse(line!.slice('LOADED '.length)) as string[]).filter((k) => k !== preload);
      const ours = loaded.filter((k) => !k.includes('/node_modules/')).map((k) => relative(ROOT, k));
      expect(ours.filter((f) => f.startsWith('cmd/')).sort()).toEqual(['cmd/cli-root.ts', 'cmd/config.ts', 'cmd/io.ts', 'cmd/mcpgw.ts', 'cmd/serve.ts', 'cmd/tuning.ts']);
      expect(ours.filter((f) => f.startsWith('src/tui/') || f === 'src/config/edit.ts' || f === 'src/config/import.ts')).toEqual([]);
      // zod cost ~50 ms of CPU and ~4 MB at start-up; the config validator is hand-written (src/config/schema.ts).
      expect(loaded.filter((k) => /node_modules\/(ink|react|@modelcontextprotocol|zod)\//.test(k))).toEqual([]);
      // and serve did load the gateway (the check above is not vacuous)
      expect(ours).toContain('src/gateway.ts');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('issue 7: the binary is built with code splitting, so lazily imported modules are not read at start', () => {
    expect(readFileSync(join(ROOT, 'cmd/build.ts'), 'utf8')).toMatch(/^\s*splitting: true,/m);
  });
});

describe('issue 7 item 2: no SDK object on any per-call path', () => {
  test('no file under src/ imports the MCP SDK (both eras are served by mcpgw itself)', () => {
    const wrong = files.filter((f) => relative(ROOT, f).startsWith('src/') && /from '@modelcontextprotocol\/(server|client|sdk)/.test(readFileSync(f, 'utf8')));
    expect(wrong.map((f) => relative(ROOT, f))).toEqual([]);
  });
});
