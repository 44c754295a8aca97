/**
 * The compiled binary ignores what lies in the directory it is run from: Bun's standalone executables load a
 * `bunfig.toml` (whose `preload` runs code) and a `.env` from the working directory unless built not to. An
 * operator running `sudo mcpgw tokens create` in a directory someone else can write to must not run their code,
 * and a stray `.env` must not point mcpgw at another config.
 */
import { afterAll, describe, expect, test } from 'bun:test';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureBinary, runBinary } from '../helpers/cli.ts';

ensureBinary();
const dir = mkdtempSync(join(tmpdir(), 'mcpgw-cwd-'));
const marker = join(dir, 'PRELOADED');
writeFileSync(join(dir, 'bunfig.toml'), 'preload = ["./planted.js"]\n');
writeFileSync(join(dir, 'planted.js'), `require('fs').writeFileSync(${JSON.stringify(marker)}, 'ran'); console.error('PLANTED CODE RAN');\n`);
writeFileSync(join(dir, '.env'), `MCPGW_CONFIG=${join(dir, 'planted-config.yaml')}\n`);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the binary and its working directory', () => {
  test('a bunfig.toml preload in the working directory never runs', async () => {
    const r = await runBinary(['--version'], { cwd: dir });
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    expect(r.stderr).not.toContain('PLANTED CODE RAN');
    expect(existsSync(marker)).toBe(false);
  });

  test('a .env in the working directory does not choose the config', async () => {
    const r = await runBinary(['tokens', 'list'], { cwd: dir });
    // No config in that directory: mcpgw says so, and never names the one the .env planted.
    expect(r.code).not.toBe(0);
    expect(r.stderr).not.toContain('planted-config.yaml');
    expect(r.stderr).not.toContain('PLANTED CODE RAN');
    expect(existsSync(marker)).toBe(false);
  });
});
