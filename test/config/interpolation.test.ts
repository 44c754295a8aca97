import { describe, expect, test } from 'bun:test';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatIssue, parseConfigText, resolveBackendSecrets } from '../../src/config/load.ts';

const FILE = '/etc/mcpgw/gateway.yaml';

function parse(text: string, env: Record<string, string | undefined> = {}) {
  return parseConfigText(text, FILE, { HOME: '/home/u', ...env });
}

function config(text: string, env: Record<string, string | undefined> = {}) {
  const result = parse(text, env);
  if (!result.ok) throw new Error(result.issues.map((i) => formatIssue(i, FILE)).join('\n'));
  return result.config;
}

function problems(text: string, env: Record<string, string | undefined> = {}): string[] {
  const result = parse(text, env);
  if (result.ok) throw new Error('expected the config to be invalid');
  return result.issues.map((i) => formatIssue(i, FILE));
}

function tempDir() {
  const path = mkdtempSync(join(tmpdir(), 'mcpgw-interp-'));
  return { path, [Symbol.dispose]: () => rmSync(path, { recursive: true, force: true }) };
}

const erp = (headerValue: string) => `backends:\n  erp:\n    url: https://erp.lan/mcp\n    headers:\n      Authorization: "${headerValue}"\n`;
/** The Authorization header as the backend gets it: resolved when it starts (issue 8 finding 2), with the same env. */
const header = (c: ReturnType<typeof config>, env: Record<string, string | undefined> = {}) => {
  const b = c.backends.erp;
  return 'headers' in b ? resolveBackendSecrets('erp', b, { HOME: '/home/u', ...env }).headers?.Authorization : undefined;
};
const unresolved = (text: string, env: Record<string, string | undefined> = {}) => {
  try {
    header(config(text, env), env);
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('expected resolution to fail');
};

describe('interpolation', () => {
  test('${VAR} is replaced from env, anywhere in a string', () => {
    expect(header(config(erp('Bearer ${ERP_TOKEN}')), { ERP_TOKEN: 's3cret' })).toBe('Bearer s3cret');
  });

  test('happens before validation: ${PORT} in listen, numbers and booleans from strings', () => {
    const c = config('listen: "127.0.0.1:${PORT}"\nauth:\n  registration:\n    rate_limit: ${RATE}\n    enabled: ${REG}\n', {
      PORT: '8080',
      RATE: '7',
      REG: 'false',
    });
    expect(c.listen).toBe('127.0.0.1:8080');
    expect(c.auth.registration).toMatchObject({ rate_limit: 7, enabled: false });
    expect(problems('listen: "127.0.0.1:${PORT}"\n', { PORT: 'http' })).toEqual([
      'listen: must be host:port, like 127.0.0.1:4444 or [::1]:4444 (port 0-65535) (gateway.yaml:1:9)',
    ]);
  });

  test('a missing variable is an issue at the value, never an empty string', () => {
    expect(problems('log_level: "${LEVEL}"\n')).toEqual(['log_level: environment variable LEVEL is not set (gateway.yaml:1:12)']);
  });

  test('issue 8 finding 2: a backend secret is not resolved at load; resolving names the variable and the backend', () => {
    const c = config(erp('Bearer ${ERP_TOKEN}'));
    expect('headers' in c.backends.erp && c.backends.erp.headers.Authorization).toBe('Bearer ${ERP_TOKEN}');
    expect(unresolved(erp('Bearer ${ERP_TOKEN}'))).toBe('backends.erp.headers.Authorization: environment variable ERP_TOKEN is not set');
  });

  test('issue 8 finding 2: url, env and args are deferred too, and a url made of a variable is checked once resolved', () => {
    const c = config('backends:\n  a:\n    url: "${A_URL}/mcp"\n  b:\n    command: x\n    args: ["${B_ARG}"]\n    env: { K: "${B_ENV}" }\n');
    const { a, b } = c.backends;
    expect('url' in a && a.url).toBe('${A_URL}/mcp');
    expect('args' in b && [b.args, b.env]).toEqual([['${B_ARG}'], { K: '${B_ENV}' }]);
    expect(resolveBackendSecrets('a', a, { A_URL: 'https://erp.lan' })).toMatchObject({ url: 'https://erp.lan/mcp' });
    expect(() => resolveBackendSecrets('a', a, { A_URL: 'ftp://x' })).toThrow('backends.a.url: must be an http(s) URL after substitution');
    expect(resolveBackendSecrets('b', b, { B_ARG: '--x', B_ENV: 'v' })).toMatchObject({ args: ['--x'], env: { K: 'v' } });
  });

  test('a malformed reference in a backend secret is still a load error with its line', () => {
    expect(problems(erp('Bearer ${ERP_TOKEN'))).toEqual(['backends.erp.headers.Authorization: unterminated ${ (write $${ for a literal ${) (gateway.yaml:5:22)']);
  });

  test('a value whose reference failed is not reported again as invalid', () => {
    expect(problems('public_url: ${PUBLIC_URL}\nlog_level: ${LEVEL}\n')).toEqual([
      'public_url: environment variable PUBLIC_URL is not set (gateway.yaml:1:13)',
      'log_level: environment variable LEVEL is not set (gateway.yaml:2:12)',
    ]);
  });

  test('$${ is a literal ${, and a lone $ stays as it is', () => {
    expect(header(config(erp('$${NOT_A_VAR} costs $5')))).toBe('${NOT_A_VAR} costs $5');
  });

  test('keys are never interpolated', () => {
    const c = config('backends:\n  erp:\n    command: x\n    env: { "${K}": v }\n');
    expect('env' in c.backends.erp && c.backends.erp.env).toEqual({ '${K}': 'v' });
  });

  test('${file:PATH} reads the file and trims trailing newlines', () => {
    using dir = tempDir();
    writeFileSync(join(dir.path, 'token'), 'from-file\n\n');
    expect(header(config(erp(`Bearer \${file:${dir.path}/token}`)))).toBe('Bearer from-file');
  });

  test('${file:${VAR}/name} resolves the variable in the path first (systemd credentials)', () => {
    using dir = tempDir();
    writeFileSync(join(dir.path, 'erp_token'), 'cred\r\n');
    const c = config(erp('Bearer ${file:${CREDENTIALS_DIRECTORY}/erp_token}'));
    expect(header(c, { CREDENTIALS_DIRECTORY: dir.path })).toBe('Bearer cred');
  });

  test('${file:} relative paths are relative to the config file', () => {
    using dir = tempDir();
    writeFileSync(join(dir.path, 'token'), 'rel');
    const result = parseConfigText(erp('${file:token}'), join(dir.path, 'gateway.yaml'), { HOME: '/home/u' });
    const b = result.ok ? result.config.backends.erp : undefined;
    expect(b && 'headers' in b && resolveBackendSecrets('erp', b, {}).headers?.Authorization).toBe('rel');
  });

  test('an unreadable file or unset path variable is an issue', () => {
    expect(problems('log_level: "${file:/nonexistent/level}"\n')).toEqual(['log_level: cannot read /nonexistent/level: ENOENT (gateway.yaml:1:12)']);
    expect(unresolved(erp('${file:/nonexistent/token}'))).toBe('backends.erp.headers.Authorization: cannot read /nonexistent/token: ENOENT');
    expect(unresolved(erp('${file:${CREDENTIALS_DIRECTORY}/t}'))).toBe(
      'backends.erp.headers.Authorization: environment variable CREDENTIALS_DIRECTORY is not set',
    );
  });

  test('malformed references are issues', () => {
    expect(problems('log_level: "${LEVEL"\n')).toEqual(['log_level: unterminated ${ (write $${ for a literal ${) (gateway.yaml:1:12)']);
    expect(problems('log_level: "${1X}"\n')).toEqual([
      'log_level: invalid reference ${1X}: use ${VAR} or ${file:PATH}, and write $${ for a literal ${ (gateway.yaml:1:12)',
    ]);
  });

  test('strings in lists are interpolated and issues name the index', () => {
    const c = config('backends:\n  f:\n    command: x\n    args: ["--root", "${ROOT}"]\n');
    const f = c.backends.f;
    expect('args' in f && resolveBackendSecrets('f', f, { ROOT: '/srv' }).args).toEqual(['--root', '/srv']);
    expect(() => resolveBackendSecrets('f', f, {})).toThrow('backends.f.args[1]: environment variable ROOT is not set');
    expect(problems('backends:\n  f:\n    command: x\n    cwd: "${ROOT}"\n')).toEqual(['backends.f.cwd: environment variable ROOT is not set (gateway.yaml:4:10)']);
  });
});
