import { describe, expect, test } from 'bun:test';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, formatIssue, loadConfigFile, parseConfigText } from '../../src/config/load.ts';

const FILE = '/etc/mcpgw/gateway.yaml';
const ENV = { HOME: '/home/u' };

/** Every issue of a config given as lines, formatted the way ConfigError prints them. */
function problems(...lines: string[]): string[] {
  const result = parseConfigText(lines.join('\n') + '\n', FILE, ENV);
  if (result.ok) throw new Error('expected the config to be invalid');
  return result.issues.map((i) => formatIssue(i, FILE));
}

describe('parseConfigText: each problem names its path and line:col', () => {
  test('bad backend URL -> points at the value', () => {
    expect(problems('backends:', '  erp:', '    url: ftp://erp.lan/mcp')).toEqual(['backends.erp.url: must be an http(s) URL (gateway.yaml:3:10)']);
  });

  test('unknown key at top level and nested -> points at the key', () => {
    expect(problems('listen: 127.0.0.1:4444', 'lsiten: 1', 'http:', '  max_body: 5')).toEqual([
      'lsiten: unknown key (gateway.yaml:2:1)',
      'http.max_body: unknown key (gateway.yaml:4:3)',
    ]);
  });

  test('backend without url or command -> points at the backend map', () => {
    expect(problems('backends:', '  erp:', '    description: ERP')).toEqual(['backends.erp: needs either url or command (gateway.yaml:3:5)']);
  });

  test('backend with both url and command', () => {
    expect(problems('backends:', '  erp:', '    url: https://erp.lan/mcp', '    command: erp-mcp')).toEqual([
      'backends.erp: has both url and command (gateway.yaml:3:5)',
    ]);
  });

  test('transport, headers, env, args and cwd must fit the backend kind', () => {
    expect(
      problems(
        'backends:',
        '  a:',
        '    url: https://a.lan/mcp',
        '    transport: stdio',
        '    env: { A: b }',
        '    args: [x]',
        '    cwd: /srv',
        '  b:',
        '    command: b-mcp',
        '    transport: sse',
        '    headers: { X-Key: k }',
      ),
    ).toEqual([
      'backends.a.transport: stdio requires command (gateway.yaml:4:16)',
      'backends.a.env: only allowed for command backends (gateway.yaml:5:10)',
      'backends.a.args: only allowed for command backends (gateway.yaml:6:11)',
      'backends.a.cwd: only allowed for command backends (gateway.yaml:7:10)',
      'backends.b.transport: sse requires url (gateway.yaml:10:16)',
      'backends.b.headers: only allowed for url backends (gateway.yaml:11:14)',
    ]);
  });

  test('bad duration', () => {
    expect(problems('auth:', '  access_token_ttl: 5 minutes')).toEqual([
      'auth.access_token_ttl: must be a duration like 30s, 5m, 1h or 30d (gateway.yaml:2:21)',
    ]);
  });

  test('bad prefix, bad backend name, bad rename target', () => {
    expect(
      problems('backends:', '  erp:', '    command: x', '    prefix: "e r p"', '    tools:', '      rename: { a: "b c" }', '  -bad:', '    command: y'),
    ).toEqual([
      'backends.erp.prefix: must match ^[A-Za-z0-9_-]{1,32}$, or be false for no prefix (gateway.yaml:4:13)',
      'backends.erp.tools.rename.a: must match ^[A-Za-z0-9_-]{1,64}$ (gateway.yaml:6:20)',
      'backends.-bad: backend names must match ^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$ (gateway.yaml:7:3)',
    ]);
  });

  test('auth.mode none with a non-loopback listen address is refused at auth.mode', () => {
    expect(problems('listen: 0.0.0.0:4444', 'public_url: https://mcp.example.com', 'auth:', '  mode: none')).toEqual([
      'auth.mode: none is only allowed when listen is a loopback address (gateway.yaml:4:9)',
    ]);
  });

  test('non-loopback listen without public_url -> points at the document', () => {
    expect(problems('listen: 192.168.1.5:4444')).toEqual([
      'public_url: must be set to an https URL when listen is not a loopback address (gateway.yaml:1:1)',
    ]);
  });

  test('public_url must be https unless loopback, without query or fragment', () => {
    expect(problems('public_url: http://mcp.example.com')).toEqual(['public_url: must be https unless the host is loopback (gateway.yaml:1:13)']);
    expect(problems('public_url: https://mcp.example.com/?x=1')).toEqual(['public_url: must not have a query or fragment (gateway.yaml:1:13)']);
  });

  test('a plain auth.password is refused with its own message', () => {
    expect(problems('auth:', '  password: hunter2')).toEqual([
      "auth.password: plain passwords are refused; run 'mcpgw passwd' to set auth.password_hash (gateway.yaml:2:3)",
    ]);
    expect(problems('auth:', '  password_hash: hunter2')).toEqual([
      "auth.password_hash: must be a PHC hash from 'mcpgw passwd' (plain passwords are refused) (gateway.yaml:2:18)",
    ]);
  });

  test('type errors say what was expected and what was found; arrays show [i]', () => {
    expect(
      problems('listen: 4444', 'auth:', '  clients:', '    - client_id: a', '      redirect_uris: ["https://a.example/cb#frag"]', 'naming:', '  max_length: 8'),
    ).toEqual([
      'listen: must be a string, got a number (gateway.yaml:1:9)',
      'auth.clients[0].redirect_uris[0]: must be an absolute URI without a fragment (gateway.yaml:5:23)',
      'naming.max_length: must be at least 16 (gateway.yaml:7:15)',
    ]);
  });

  test('an empty value points at its key', () => {
    expect(problems('backends:', '  erp:')).toEqual(['backends.erp: must be a map, got an empty value (gateway.yaml:2:3)']);
  });

  test('YAML syntax errors are issues with line:col, and nothing else is reported', () => {
    expect(problems('listen: 127.0.0.1:4444', 'auth:', '  mode: "none', 'lsiten: 1')).toEqual([
      'YAML syntax error: Missing closing "quote (gateway.yaml:5:1)',
    ]);
    expect(problems('a: 1', 'a: 2')).toEqual(['YAML syntax error: Map keys must be unique (gateway.yaml:2:1)']);
  });

  test('every problem is reported at once, in file order', () => {
    const all = problems(
      'listen: 0.0.0.0:4444',
      'public_url: https://mcp.example.com',
      'auth:',
      '  mode: none',
      '  code_ttl: soon',
      'backends:',
      '  erp:',
      '    url: erp.lan',
      '    colour: blue',
      '  files: {}',
    );
    expect(all).toEqual([
      'auth.mode: none is only allowed when listen is a loopback address (gateway.yaml:4:9)',
      'auth.code_ttl: must be a duration like 30s, 5m, 1h or 30d (gateway.yaml:5:13)',
      'backends.erp.url: must be an http(s) URL (gateway.yaml:8:10)',
      'backends.erp.colour: unknown key (gateway.yaml:9:5)',
      'backends.files: needs either url or command (gateway.yaml:10:10)',
    ]);
  });

  test('issue 8 finding 5: an empty file, a comment-only file or a non-mapping top level is refused; {} is all defaults', () => {
    for (const text of ['', '\n\n', '# nothing here\n', '~\n']) {
      const result = parseConfigText(text, FILE, ENV);
      expect(result.ok ? 'accepted' : result.issues[0].message).toStartWith('config file is empty');
    }
    const list = parseConfigText('- a\n- b\n', FILE, ENV);
    expect(list.ok ? 'accepted' : list.issues.map((i) => formatIssue(i, FILE))).toEqual(['the top level must be a mapping of keys (listen:, backends:, …), got a list (gateway.yaml:1:1)']);
    const scalar = parseConfigText('hello\n', FILE, ENV);
    expect(scalar.ok ? 'accepted' : scalar.issues[0].message).toContain('got a string ("hello")');
    const result = parseConfigText('{}\n', FILE, ENV);
    expect(result.ok && result.config.listen).toBe('127.0.0.1:4444');
  });
});

describe('loadConfigFile', () => {
  function tempFile(text: string) {
    const dir = mkdtempSync(join(tmpdir(), 'mcpgw-load-'));
    const path = join(dir, 'gateway.yaml');
    writeFileSync(path, text);
    return { path, [Symbol.dispose]: () => rmSync(dir, { recursive: true, force: true }) };
  }

  test('invalid file -> ConfigError whose message lists every issue', () => {
    using f = tempFile('lsiten: x\nbackends:\n  erp:\n    url: nope\n');
    let caught: unknown;
    try {
      loadConfigFile(f.path, ENV);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    const err = caught as ConfigError;
    expect(err.code).toBe('config_invalid');
    expect(err.file).toBe(f.path);
    expect(err.issues).toEqual([
      { path: 'lsiten', message: 'unknown key', line: 1, col: 1 },
      { path: 'backends.erp.url', message: 'must be an http(s) URL', line: 4, col: 10 },
    ]);
    expect(err.message).toBe(
      [`invalid config ${f.path}: 2 problems`, 'lsiten: unknown key (gateway.yaml:1:1)', 'backends.erp.url: must be an http(s) URL (gateway.yaml:4:10)'].join('\n'),
    );
  });

  test('valid file -> Config, with paths relative to the file', () => {
    using f = tempFile('data_dir: state\nbackends:\n  files:\n    command: x\n');
    const config = loadConfigFile(f.path, ENV);
    expect(config.data_dir).toBe(join(f.path, '..', 'state'));
    expect(config.backends.files).toMatchObject({ transport: 'stdio', cwd: join(f.path, '..') });
  });

  test('missing file -> ConfigError config_not_found', () => {
    expect(() => loadConfigFile('/nonexistent/gateway.yaml', ENV)).toThrow(
      'invalid config /nonexistent/gateway.yaml: 1 problem\ncannot read /nonexistent/gateway.yaml: no such file',
    );
  });
});
