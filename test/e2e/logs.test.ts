/**
 * Logs that fit their place, through the compiled binary (issue 9 item 5): under journald (stdout is the
 * JOURNAL_STREAM) lines carry syslog priorities; `log_format` picks the format; identifiers are readable.
 */
import { describe, expect, test } from 'bun:test';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { BINARY, ROOT } from '../helpers/gateway-process.ts';
import { passwordHash } from '../helpers/oauth-world.ts';

/** Runs `mcpgw serve` with stdout going to a file; `journal` says whether JOURNAL_STREAM names that file. */
async function serveToFile(config: Record<string, unknown>, journal: boolean, until: (out: string) => boolean, act?: (url: string) => Promise<void>): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'mcpgw-logs-'));
  try {
    const configPath = join(dir, 'gateway.yaml');
    writeFileSync(configPath, stringify({ listen: '127.0.0.1:0', data_dir: join(dir, 'state'), ...config }));
    const out = join(dir, 'stdout');
    writeFileSync(out, '');
    const st = statSync(out, { bigint: true });
    const env: Record<string, string | undefined> = { ...process.env, NO_COLOR: '1', JOURNAL_STREAM: journal ? `${st.dev}:${st.ino}` : `${st.dev}:${st.ino + 1n}` };
    const proc = Bun.spawn([BINARY, 'serve', '--config', configPath], { cwd: ROOT, env, stdout: Bun.file(out), stderr: 'pipe' });
    try {
      const read = () => readFileSync(out, 'utf8');
      const wait = async (pred: (text: string) => boolean) => {
        const deadline = Date.now() + 15_000;
        while (!pred(read())) {
          if (Date.now() > deadline || proc.exitCode !== null) throw new Error(`log not seen (exit ${proc.exitCode}):\n${read()}`);
          await Bun.sleep(25);
        }
      };
      await wait((t) => t.includes('listening'));
      const url = /url=(http:\/\/\S+)|"url":"(http:\/\/[^"]+)"/.exec(read());
      if (act) await act(url?.[1] ?? url?.[2] ?? '');
      await wait(until);
    } finally {
      proc.kill('SIGTERM');
      await proc.exited;
    }
    return readFileSync(out, 'utf8');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('logs through the binary', () => {
  test('issue 9 item 5: under journald each line carries its syslog priority, text without a timestamp; client_id is readable', async () => {
    const hash = await passwordHash();
    let clientId = '';
    const out = await serveToFile(
      { auth: { mode: 'oauth', password_hash: hash }, backends: {} },
      true,
      (t) => t.includes('client registered'),
      async (url) => {
        const res = await fetch(`${url}/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ redirect_uris: ['http://127.0.0.1:9/cb'], token_endpoint_auth_method: 'none' }) });
        clientId = ((await res.json()) as { client_id: string }).client_id;
      },
    );
    const lines = out.split('\n').filter(Boolean);
    expect(lines.every((l) => /^<[3467]>(DEBUG|INFO |WARN |ERROR) /.test(l))).toBe(true);
    expect(lines.some((l) => l.startsWith('<6>INFO  listening '))).toBe(true);
    expect(lines.find((l) => l.includes('client registered'))).toContain(`client_id=${clientId}`);
    expect(clientId).toStartWith('mcpgw_client_');
  }, 30_000);

  test('issue 9 item 5: log_format json under journald keeps the priority; JSON lines without a prefix when stdout is not the journal', async () => {
    const config = { auth: { mode: 'oauth' }, log_format: 'json', backends: {} };
    const journal = (await serveToFile(config, true, (t) => t.includes('no consent password'))).split('\n').filter(Boolean);
    const warn = journal.find((l) => l.includes('no consent password'))!;
    expect(warn.startsWith('<4>{')).toBe(true);
    expect(JSON.parse(warn.slice(3))).toMatchObject({ level: 'warn' });
    expect(journal.every((l) => /^<[3467]>\{/.test(l))).toBe(true);
    const plain = (await serveToFile({ ...config, log_format: 'auto' }, false, (t) => t.includes('no consent password'))).split('\n').filter(Boolean);
    expect(plain.map((l) => (JSON.parse(l) as { msg: string }).msg)).toContain('listening');
  }, 30_000);
});
