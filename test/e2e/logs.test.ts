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

test('a closed stdout never takes the gateway down: it keeps serving after the reader of its logs went away', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mcpgw-logs-'));
  const configPath = join(dir, 'gateway.yaml');
  writeFileSync(configPath, stringify({ listen: '127.0.0.1:0', data_dir: join(dir, 'state'), log_level: 'debug', auth: { mode: 'none' }, backends: {} }));
  const proc = Bun.spawn([BINARY, 'serve', '--config', configPath], { cwd: ROOT, env: { ...process.env, NO_COLOR: '1' }, stdout: 'pipe', stderr: 'ignore' });
  try {
    const reader = proc.stdout.getReader();
    let text = '';
    const deadline = Date.now() + 15_000;
    while (!/url=(http:\/\/\S+)|"url":"(http:\/\/[^"]+)"/.test(text) && Date.now() < deadline) {
      const { done, value } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    const m = /url=(http:\/\/\S+)|"url":"(http:\/\/[^"]+)"/.exec(text);
    const url = m?.[1] ?? m?.[2];
    expect(url).toBeDefined();
    // The reader goes away: every later log line meets a closed pipe (EPIPE).
    await reader.cancel();
    for (let i = 0; i < 5; i++) {
      proc.kill('SIGHUP'); // each reload writes log lines
      await Bun.sleep(50);
    }
    const answers: number[] = [];
    for (let i = 0; i < 20; i++) {
      const res = await fetch(`${url}/mcp`, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' }, body: JSON.stringify({ jsonrpc: '2.0', id: i, method: 'ping' }) });
      answers.push(res.status);
      await res.text();
    }
    expect(answers.every((s) => s === 200)).toBe(true);
    expect(proc.exitCode).toBeNull();
  } finally {
    proc.kill('SIGTERM');
    await proc.exited;
    rmSync(dir, { recursive: true, force: true });
  }
}, 30_000);
