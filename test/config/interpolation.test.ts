import { describe, expect, test } from 'bun:test';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatIssue, parseConfigText } from '../../src/config/load.ts';

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
const header = (c: ReturnType<typeof config>) => {
  const b = c.backends.erp;
  return 'headers' in b ? b.headers.Authorization : undefined;
};

describe('interpolation', () => {
  test('${VAR} is replaced from env, anywhere in a string', () => {
    expect(header(config(erp('Bearer ${ERP_TOKEN}'), { ERP_TOKEN: 's3cret' }))).toBe('Bearer s3cret');
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
    expect(problems(erp('Bearer ${ERP_TOKEN}'))).toEqual(['backends.erp.headers.Authorization: environment variable ERP_TOKEN is not set (gateway.yaml:5:22)']);
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
    const c = config(erp('Bearer ${file:${CREDENTIALS_DIRECTORY}/erp_token}'), { CREDENTIALS_DIRECTORY: dir.path });
    expect(header(c)).toBe('Bearer cred');
  });

  test('${file:} relative paths are relative to the config file', () => {
    using dir = tempDir();
    writeFileSync(join(dir.path, 'token'), 'rel');
    const result = parseConfigText(erp('${file:token}'), join(dir.path, 'gateway.yaml'), { HOME: '/home/u' });
    expect(result.ok && 'headers' in result.config.backends.erp && result.config.backends.erp.headers.Authorization).toBe('rel');
  });

  test('an unreadable file or unset path variable is an issue', () => {
    expect(problems(erp('${file:/nonexistent/token}'))).toEqual([
      'backends.erp.headers.Authorization: cannot read /nonexistent/token: ENOENT (gateway.yaml:5:22)',
    ]);
    expect(problems(erp('${file:${CREDENTIALS_DIRECTORY}/t}'))).toEqual([
      'backends.erp.headers.Authorization: environment variable CREDENTIALS_DIRECTORY is not set (gateway.yaml:5:22)',
    ]);
  });

  test('malformed references are issues', () => {
    expect(problems('log_level: "${LEVEL"\n')).toEqual(['log_level: unterminated ${ (write $${ for a literal ${) (gateway.yaml:1:12)']);
    expect(problems('log_level: "${1X}"\n')).toEqual([
      'log_level: invalid reference ${1X}: use ${VAR} or ${file:PATH}, and write $${ for a literal ${ (gateway.yaml:1:12)',
    ]);
  });

  test('strings in lists are interpolated and issues name the index', () => {
    const c = config('backends:\n  f:\n    command: x\n    args: ["--root", "${ROOT}"]\n', { ROOT: '/srv' });
    expect('args' in c.backends.f && c.backends.f.args).toEqual(['--root', '/srv']);
    expect(problems('backends:\n  f:\n    command: x\n    args: ["--root", "${ROOT}"]\n')).toEqual([
      'backends.f.args[1]: environment variable ROOT is not set (gateway.yaml:4:22)',
    ]);
  });
});
