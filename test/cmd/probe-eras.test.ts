/** The connect check of `backends add` / `backends test` against a backend that speaks 2026-07-28 (issue 10 item 1). */
import { expect, test } from 'bun:test';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BACKEND_PATH } from '../helpers/clients.ts';
import { runBinary } from '../helpers/cli.ts';

test('with protocol: auto, backends add reaches a 2026-07-28 backend (no ping in that revision) and adds it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mcpgw-probe-'));
  try {
    const config = join(dir, 'gateway.yaml');
    writeFileSync(config, `listen: 127.0.0.1:0\ndata_dir: ${join(dir, 'state')}\nauth:\n  mode: none\nbackend_defaults:\n  protocol: auto\nbackends: {}\n`, { mode: 0o600 });
    const r = await runBinary(['backends', 'add', 'alpha', '--config', config, '--', process.execPath, BACKEND_PATH, '--name', 'alpha'], { timeoutMs: 30_000 });
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/✓ connected over stdio: \d+ tools/);
    const t = await runBinary(['backends', 'test', 'alpha', '--config', config], { timeoutMs: 30_000 });
    expect(t.code).toBe(0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 60_000);
