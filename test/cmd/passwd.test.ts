import { beforeAll, describe, expect, test } from 'bun:test';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { registerPasswd } from '../../cmd/passwd.ts';
import { parseConfigText } from '../../src/config/load.ts';
import { ensureBinary, firstLine, runBinary, runCli, scriptedInput } from '../helpers/cli.ts';

const CONFIG = `# hand-written
listen: 127.0.0.1:4444   # loopback

auth:
  mode: oauth            # sign-in
  # password_hash: "$argon2id$..."
  access_token_ttl: 1h

backends: {}
`;

function tempConfig(text = CONFIG): { dir: string; path: string } & Disposable {
  const dir = mkdtempSync(join(tmpdir(), 'mcpgw-passwd-'));
  const path = join(dir, 'gateway.yaml');
  writeFileSync(path, text, { mode: 0o644 });
  return { dir, path, [Symbol.dispose]: () => rmSync(dir, { recursive: true, force: true }) };
}

function hashIn(path: string): string {
  const parsed = parseConfigText(readFileSync(path, 'utf8'), path, { HOME: '/home/x' });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  return parsed.config.auth.password_hash!;
}

describe('mcpgw passwd (in-process)', () => {
  test('terminal: asks twice without echo, writes an argon2id hash, keeps comments, mode 0600', async () => {
    using t = tempConfig();
    const input = scriptedInput(['correct horse', 'correct horse'], { isTTY: true });
    const r = await runCli(['passwd', '--config', t.path], { register: (p, c) => registerPasswd(p, c, input) });
    expect(r.code).toBe(0);
    expect(input.prompts).toEqual(['New password: ', 'Repeat password: ']);
    expect(firstLine(r.stderr)).toBe(`✓ password set (auth.password_hash in ${t.path})`);
    expect(r.stdout).toBe('');
    const hash = hashIn(t.path);
    expect(hash).toStartWith('$argon2id$');
    expect(await Bun.password.verify('correct horse', hash)).toBe(true);
    const text = readFileSync(t.path, 'utf8');
    expect(text.replace(/ {2}password_hash: .*\n/, '')).toBe(CONFIG);
    expect(statSync(t.path).mode & 0o777).toBe(0o600);
  });

  test('terminal: different answers -> exit 1, file unchanged', async () => {
    using t = tempConfig();
    const r = await runCli(['passwd', '--config', t.path], { register: (p, c) => registerPasswd(p, c, scriptedInput(['one long password', 'two long passwords'], { isTTY: true })) });
    expect(r.code).toBe(1);
    expect(firstLine(r.stderr)).toBe('error: the passwords do not match; nothing was changed');
    expect(readFileSync(t.path, 'utf8')).toBe(CONFIG);
  });

  test('pipe: the first line is the password; the prompt is not repeated', async () => {
    using t = tempConfig();
    const input = scriptedInput(['s3cret-s3cret', 'ignored']);
    const r = await runCli(['passwd', '--config', t.path], { register: (p, c) => registerPasswd(p, c, input) });
    expect(r.code).toBe(0);
    expect(input.prompts).toHaveLength(1);
    expect(await Bun.password.verify('s3cret-s3cret', hashIn(t.path))).toBe(true);
  });

  test('empty password -> exit 1 with a hint, file unchanged', async () => {
    using t = tempConfig();
    const r = await runCli(['passwd', '--config', t.path], { register: (p, c) => registerPasswd(p, c, scriptedInput([''])) });
    expect(r.code).toBe(1);
    expect(r.stderr.split('\n').slice(0, 2)).toEqual(['error: empty password refused', 'hint: pipe the password as the first line: echo "$PW" | mcpgw passwd']);
    expect(readFileSync(t.path, 'utf8')).toBe(CONFIG);
  });

  test('end of input (nothing piped) -> empty password refused', async () => {
    using t = tempConfig();
    const r = await runCli(['passwd', '--config', t.path], { register: (p, c) => registerPasswd(p, c, scriptedInput([])) });
    expect(r.code).toBe(1);
    expect(firstLine(r.stderr)).toBe('error: empty password refused');
  });

  test('Ctrl-C at the prompt -> exit 130, nothing written', async () => {
    using t = tempConfig();
    const r = await runCli(['passwd', '--config', t.path], { register: (p, c) => registerPasswd(p, c, scriptedInput([], { isTTY: true, interruptAt: 1 })) });
    expect(r.code).toBe(130);
    expect(readFileSync(t.path, 'utf8')).toBe(CONFIG);
  });

  test('no config file -> exit 2 with the init hint', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mcpgw-passwd-none-'));
    try {
      const r = await runCli(['passwd'], { register: (p, c) => registerPasswd(p, c, scriptedInput(['x'])), cwd: dir, env: { HOME: dir, XDG_CONFIG_HOME: dir } });
      expect(r.code).toBe(2);
      expect(firstLine(r.stderr)).toStartWith('error: no config file found; looked in ');
      expect(r.stderr).toContain("hint: copy gateway.example.yaml to ./gateway.yaml, or run 'mcpgw init'");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the password is set even when the file has other problems, which are reported', async () => {
    using t = tempConfig(CONFIG.replace('backends: {}', 'backends:\n  a:\n    url: "ftp://x"'));
    const r = await runCli(['passwd', '--config', t.path], { register: (p, c) => registerPasswd(p, c, scriptedInput(['a long enough pw'])) });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("has a problem that 'mcpgw serve' will refuse:");
    expect(r.stderr).toContain('backends.a.url: must be an http(s) URL');
    expect(readFileSync(t.path, 'utf8')).toContain('password_hash: $argon2id$');
  });

  test('issue 8 finding 8: a password shorter than 12 characters is refused, file unchanged', async () => {
    using t = tempConfig();
    const r = await runCli(['passwd', '--config', t.path], { register: (p, c) => registerPasswd(p, c, scriptedInput(['elevenchars'])) });
    expect(r.code).toBe(1);
    expect(firstLine(r.stderr)).toBe('error: password too short: at least 12 characters; nothing was changed');
    expect(readFileSync(t.path, 'utf8')).toBe(CONFIG);
  });

  test('issue 8 finding 8: without a running gateway it says serve uses the password when it starts, without restart wording', async () => {
    using t = tempConfig();
    const r = await runCli(['passwd', '--config', t.path], { register: (p, c) => registerPasswd(p, c, scriptedInput(['twelve chars'])) });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("note: no gateway is running on data_dir");
    expect(r.stderr).toContain("'mcpgw serve' uses the new password when it starts");
    expect(r.stderr).not.toContain('restart');
  });

  test('auth.mode none: set, with a note that it is not used', async () => {
    using t = tempConfig('listen: 127.0.0.1:4444\nauth:\n  mode: none\n');
    const r = await runCli(['passwd', '--config', t.path], { register: (p, c) => registerPasswd(p, c, scriptedInput(['a long enough pw'])) });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('note: auth.mode is none');
  });

  test('--help has a description and examples', async () => {
    const r = await runCli(['passwd', '--help'], { register: (p, c) => registerPasswd(p, c, scriptedInput([])) });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Set the consent password');
    expect(r.stdout).toContain('Examples:');
  });
});

describe('mcpgw passwd (compiled binary)', () => {
  beforeAll(() => ensureBinary());

  test('stdin password -> hash written, mode 0600, stderr first line', async () => {
    using t = tempConfig();
    const r = await runBinary(['passwd', '--config', t.path], { stdin: 'from-pipe-password\n' });
    expect(r.code).toBe(0);
    expect(firstLine(r.stderr)).toBe(`✓ password set (auth.password_hash in ${t.path})`);
    expect(await Bun.password.verify('from-pipe-password', hashIn(t.path))).toBe(true);
    expect(statSync(t.path).mode & 0o777).toBe(0o600);
  });

  test('empty stdin -> exit 1', async () => {
    using t = tempConfig();
    const r = await runBinary(['passwd', '--config', t.path], { stdin: '' });
    expect(r.code).toBe(1);
    expect(firstLine(r.stderr)).toBe('error: empty password refused');
  });
});
