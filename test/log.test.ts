import { describe, expect, test } from 'bun:test';
import { closeSync, fstatSync, mkdtempSync, openSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, isJournalStream, isSecretField, redactString, type LoggerOptions } from '../src/log.ts';

describe('log', () => {
  const capture = (json: boolean) => {
    const lines: string[] = [];
    return { lines, log: createLogger({ json, write: (l) => void lines.push(l), now: () => Date.UTC(2026, 0, 1, 12, 0, 0) }) };
  };

  test('JSON lines when not on a TTY: one object per event, with child fields', () => {
    const { lines, log } = capture(true);
    log.child({ backend: 'erp' }).info('backend up', { tools: 3 });
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0])).toEqual({ time: '2026-01-01T12:00:00.000Z', level: 'info', msg: 'backend up', backend: 'erp', tools: 3 });
  });

  test('readable lines on a TTY', () => {
    const { lines, log } = capture(false);
    log.warn('backend down', { backend: 'erp', error: 'connection refused' });
    expect(lines[0]).toBe('12:00:00 WARN  backend down backend=erp error="connection refused"\n');
  });

  test('levels filter, and children share the level', () => {
    const { lines, log } = capture(true);
    const child = log.child({ c: 1 });
    child.debug('hidden');
    log.setLevel('debug');
    child.debug('shown');
    expect(lines.map((l) => JSON.parse(l).msg)).toEqual(['shown']);
  });

  test('secrets never reach the log: secret-named fields, bearer tokens, JWTs, mcpgw tokens', () => {
    const { lines, log } = capture(true);
    const jwt = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJvd25lciJ9.c2lnbmF0dXJlLXZhbHVl';
    log.info(`got Bearer abcdef123456 and ${jwt}`, { password: 'hunter2', headers: { authorization: 'Bearer xyz123456', 'x-ok': 'fine' }, note: 'mcpgw_pat_ABCDEFGHIJKLMNOP' });
    const out = lines[0];
    for (const secret of ['abcdef123456', jwt, 'hunter2', 'xyz123456', 'mcpgw_pat_ABCDEFGHIJKLMNOP']) expect(out).not.toContain(secret);
    expect(out).toContain('fine');
    expect(redactString('Basic dXNlcjpwYXNz')).toBe('Basic [redacted]');
  });

  test('a failing writer never throws into the caller', () => {
    const log = createLogger({ json: true, write: () => { throw new Error('EPIPE'); } });
    expect(() => log.error('x')).not.toThrow();
  });

  test('issue 9 item 5: client_id is logged as the client id, not [redacted-token]', () => {
    const { lines, log } = capture(true);
    log.info('client registered', { client_id: 'mcpgw_client_AbCdEfGhIjKlMnOp', grant_id: 'g_0123456789ab', session: 'sess-1' });
    expect(JSON.parse(lines[0])).toMatchObject({ client_id: 'mcpgw_client_AbCdEfGhIjKlMnOp', grant_id: 'g_0123456789ab', session: 'sess-1' });
  });

  test('issue 9 item 5: a backend exit code is logged, not [redacted]', () => {
    const { lines, log } = capture(true);
    log.warn('backend process exited', { pid: 42, code: 1, signal: null });
    expect(JSON.parse(lines[0])).toMatchObject({ pid: 42, code: 1, signal: null });
  });

  test('issue 9 item 5: redaction goes by the whole field name, not a substring of it', () => {
    for (const name of ['authorization', 'Authorization', 'proxy-authorization', 'cookie', 'set-cookie', 'token', 'access_token', 'refresh_token', 'csrf_token', 'client_secret', 'password', 'password_hash', 'code_verifier', 'api_key', 'X-Api-Key', 'GITHUB_TOKEN', 'OPENAI_API_KEY', 'AWS_SECRET_ACCESS_KEY', 'DB_PASSWORD', 'google_credentials']) {
      expect({ name, secret: isSecretField(name) }).toEqual({ name, secret: true });
    }
    for (const name of ['client_id', 'grant_id', 'session', 'code', 'tokens', 'token_count', 'log_id', 'tool', 'key', 'passwords_set']) {
      expect({ name, secret: isSecretField(name) }).toEqual({ name, secret: false });
    }
    const { lines, log } = capture(true);
    log.info('x', { tokens: 12, headers: { Cookie: 'sid=abc', 'X-Api-Key': 'k-123' }, client_secret: 'mcpgw_cs_SECRETSECRETSECRET' });
    expect(JSON.parse(lines[0])).toEqual({ time: '2026-01-01T12:00:00.000Z', level: 'info', msg: 'x', tokens: 12, headers: { Cookie: '[redacted]', 'X-Api-Key': '[redacted]' }, client_secret: '[redacted]' });
  });

  test('issue 9 item 5: token-shaped strings in free text stay redacted, client ids do not', () => {
    expect(redactString('pat mcpgw_pat_ABCDEFGHIJKLMNOP and secret mcpgw_cs_ABCDEFGHIJKLMNOP')).toBe('pat [redacted-token] and secret [redacted-token]');
    expect(redactString('client mcpgw_client_ABCDEFGHIJKLMNOP')).toBe('client mcpgw_client_ABCDEFGHIJKLMNOP');
    expect(redactString('GET https://api.example.com/mcp?api_key=sk-123&page=2 failed')).toBe('GET https://api.example.com/mcp?api_key=[redacted]&page=2 failed');
    expect(redactString('https://x.test/cb?state=s1&code=abcdef#frag')).toBe('https://x.test/cb?state=s1&code=[redacted]#frag');
    const { lines, log } = capture(true);
    log.warn('upstream said Bearer abcdefghijkl', { error: 'failed with mcpgw_pat_ABCDEFGHIJKLMNOP' });
    expect(lines[0]).not.toContain('abcdefghijkl');
    expect(lines[0]).not.toContain('mcpgw_pat_ABCDEFGHIJKLMNOP');
  });

  const make = (o: Partial<LoggerOptions>) => {
    const lines: string[] = [];
    return { lines, log: createLogger({ json: true, write: (l) => void lines.push(l), now: () => Date.UTC(2026, 0, 1, 12, 0, 0), ...o }) };
  };

  test('issue 9 item 5: log_format auto is JSON off a terminal and text on one; text and json force either', () => {
    const auto = make({ json: true });
    auto.log.info('a');
    expect(JSON.parse(auto.lines[0]).msg).toBe('a');
    const tty = make({ json: false });
    tty.log.info('a');
    expect(tty.lines[0]).toBe('12:00:00 INFO  a\n');
    const forced = make({ json: false, format: 'json' });
    forced.log.info('a');
    expect(JSON.parse(forced.lines[0]).msg).toBe('a');
    forced.log.setFormat!('text');
    forced.log.child({ backend: 'erp' }).info('b');
    expect(forced.lines[1]).toBe('12:00:00 INFO  b backend=erp\n');
  });

  test('issue 9 item 5: under journald every line carries its syslog priority, auto text has no timestamp', () => {
    const { lines, log } = make({ json: true, journald: true, level: 'debug' });
    log.error('e');
    log.warn('w', { backend: 'erp' });
    log.info('i');
    log.debug('d');
    expect(lines).toEqual(['<3>ERROR e\n', '<4>WARN  w backend=erp\n', '<6>INFO  i\n', '<7>DEBUG d\n']);
    log.setFormat!('json');
    log.warn('j');
    expect(lines[4].startsWith('<4>{')).toBe(true);
    expect(JSON.parse(lines[4].slice(3)).msg).toBe('j');
  });

  test('issue 9 item 5: a multi-line message stays one line in text (journald would lose the priority of the rest)', () => {
    const { lines, log } = make({ json: false, journald: true });
    log.warn('first\nsecond');
    expect(lines).toEqual(['<4>WARN  first\\nsecond\n']);
  });

  test('issue 9 item 5: JOURNAL_STREAM counts only when it names the device and inode of stdout', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mcpgw-log-'));
    try {
      const path = join(dir, 'out');
      const fd = openSync(path, 'w');
      const st = fstatSync(fd, { bigint: true });
      closeSync(fd);
      expect(isJournalStream(`${st.dev}:${st.ino}`, st)).toBe(true);
      expect(isJournalStream(`${st.dev}:${st.ino + 1n}`, st)).toBe(false);
      expect(isJournalStream(undefined, st)).toBe(false);
      expect(isJournalStream('garbage', st)).toBe(false);
      expect(isJournalStream(`${st.dev}:${st.ino}`, undefined)).toBe(false);
      const small = statSync(path);
      expect(isJournalStream(`${small.dev}:${small.ino}`, small)).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('issue 9 item 5: a process whose stdout is the JOURNAL_STREAM writes priority prefixes; one whose stdout was redirected does not', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mcpgw-journal-'));
    try {
      const script = join(dir, 'emit.ts');
      await Bun.write(script, `import { systemDeps } from ${JSON.stringify(join(import.meta.dir, '../src/deps.ts'))};\nconst log = systemDeps().log;\nlog.warn('disk low', { code: 3 });\nlog.info('ready');\n`);
      const run = async (name: string, journal: (path: string) => string) => {
        const out = join(dir, name);
        await Bun.write(out, '');
        const st = statSync(out, { bigint: true });
        const p = Bun.spawn([process.execPath, script], { stdout: Bun.file(out), stderr: 'pipe', env: { ...process.env, JOURNAL_STREAM: journal(`${st.dev}:${st.ino}`) } });
        expect(await p.exited).toBe(0);
        return readFileSync(out, 'utf8');
      };
      expect(await run('journal', (id) => id)).toBe('<4>WARN  disk low code=3\n<6>INFO  ready\n');
      const other = await run('file', (id) => id.replace(/:(\d+)$/, (_m, ino) => `:${BigInt(ino) + 1n}`));
      expect(other.split('\n').filter(Boolean).map((l) => JSON.parse(l).msg)).toEqual(['disk low', 'ready']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
