import { describe, expect, test } from 'bun:test';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync, lstatSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { editConfigFile, editConfigText, openConfigText, removeBackend, setBackend, setValue, writeNewConfigFile } from '../../src/config/edit.ts';
import { parseConfigText } from '../../src/config/load.ts';

/** A config as a person writes it: aligned comments, blank lines, flow lists, quotes, commented-out keys. */
const HANDWRITTEN = `# my gateway   (hand-written, odd spacing on purpose)
listen: 127.0.0.1:4444      # loopback only

# public_url: https://mcp.example.com
data_dir: ./state   # next to this file

auth:
  mode: oauth               # sign-in required
  # password_hash: "$argon2id$..."
  access_token_ttl: 1h      # short

backends:
  # the ERP, via HTTP
  erp:
    url: https://erp.lan/mcp
    headers: { Authorization: "Bearer \${ERP_TOKEN}" }   # token from env
    tools:
      deny: ["delete_*"]
    # prefix: erp             (commented option inside the entry)

  files:                     # stdio
    command: npx
    args: ["-y", "@modelcontextprotocol/server-filesystem", "/srv/share"]

  # crm:                     (an example kept for later)
  #   url: http://crm.lan/sse
`;

const ENV = { ERP_TOKEN: 't', HOME: '/home/test' };

function tempDir(): { dir: string } & Disposable {
  const dir = mkdtempSync(join(tmpdir(), 'mcpgw-edit-'));
  return { dir, [Symbol.dispose]: () => rmSync(dir, { recursive: true, force: true }) };
}

/** The new text must equal the old one with exactly `inserted` spliced in at one place. */
function expectOnlyInsertion(before: string, after: string, inserted: string): void {
  const at = after.indexOf(inserted);
  expect(at).toBeGreaterThanOrEqual(0);
  expect(after.slice(0, at) + after.slice(at + inserted.length)).toBe(before);
}

describe('config/edit', () => {
  test('setBackend: a new backend lands after the last entry; every other byte is unchanged', () => {
    const after = editConfigText(HANDWRITTEN, (d) => setBackend(d, 'wiki', { url: 'https://wiki.lan/mcp', tools: { allow: ['search_*'] } }));
    const entry = '  wiki:\n    url: https://wiki.lan/mcp\n    tools:\n      allow:\n        - search_*\n';
    expectOnlyInsertion(HANDWRITTEN, after, entry);
    // After `files` (the last real entry), before the commented-out example that follows it.
    expect(after.indexOf(entry)).toBeGreaterThan(after.indexOf('server-filesystem'));
    expect(after.indexOf(entry)).toBeLessThan(after.indexOf('# crm:'));
    const parsed = parseConfigText(after, '/etc/mcpgw/gateway.yaml', ENV);
    expect(parsed.ok).toBe(true);
    if (parsed.ok) expect(Object.keys(parsed.config.backends)).toEqual(['erp', 'files', 'wiki']);
  });

  test('removeBackend: the entry and the comments indented inside it go; nothing else changes', () => {
    const after = editConfigText(HANDWRITTEN, (d) => expect(removeBackend(d, 'erp')).toBe(true));
    const removed = [
      '  erp:\n',
      '    url: https://erp.lan/mcp\n',
      '    headers: { Authorization: "Bearer ${ERP_TOKEN}" }   # token from env\n',
      '    tools:\n',
      '      deny: ["delete_*"]\n',
      '    # prefix: erp             (commented option inside the entry)\n',
    ].join('');
    expectOnlyInsertion(after, HANDWRITTEN, removed);
    expect(after).toContain('  # the ERP, via HTTP\n');
  });

  test('add then remove is the identity on the text', () => {
    const added = editConfigText(HANDWRITTEN, (d) => setBackend(d, 'wiki', { command: 'uvx', args: ['mcp-wiki'], env: { A: '1' } }));
    expect(editConfigText(added, (d) => removeBackend(d, 'wiki'))).toBe(HANDWRITTEN);
  });

  test('setBackend on an existing name replaces only that entry', () => {
    const after = editConfigText(HANDWRITTEN, (d) => setBackend(d, 'files', { command: 'uvx', args: ['other'] }));
    expect(after).toContain('  files:\n    command: uvx\n    args:\n      - other\n');
    expect(after).not.toContain('server-filesystem');
    expect(after.slice(0, after.indexOf('  files:'))).toBe(HANDWRITTEN.slice(0, HANDWRITTEN.indexOf('  files:')));
    expect(after.slice(after.indexOf('  # crm:'))).toBe(HANDWRITTEN.slice(HANDWRITTEN.indexOf('  # crm:')));
  });

  test('removing the last backend leaves `backends: {}` (null would be invalid)', () => {
    const one = 'listen: 127.0.0.1:4444\nbackends:   # servers\n  a:\n    url: http://127.0.0.1:9/mcp\n';
    const after = editConfigText(one, (d) => removeBackend(d, 'a'));
    expect(after).toBe('listen: 127.0.0.1:4444\nbackends: {}   # servers\n');
    expect(parseConfigText(after, '/x/gateway.yaml', ENV).ok).toBe(true);
  });

  test('removeBackend of an unknown name changes nothing and says so', () => {
    let result = true;
    expect(editConfigText(HANDWRITTEN, (d) => void (result = removeBackend(d, 'nope')))).toBe(HANDWRITTEN);
    expect(result).toBe(false);
  });

  test('setBackend creates `backends:` when missing and replaces `backends: {}`', () => {
    expect(editConfigText('listen: 127.0.0.1:4444   # x\n', (d) => setBackend(d, 'a', { url: 'http://127.0.0.1:9/mcp' }))).toBe(
      'listen: 127.0.0.1:4444   # x\nbackends:\n  a:\n    url: http://127.0.0.1:9/mcp\n',
    );
    expect(editConfigText('# top\nbackends: {}\n# end\n', (d) => setBackend(d, 'a', { url: 'http://127.0.0.1:9/mcp' }))).toBe(
      '# top\nbackends:\n  a:\n    url: http://127.0.0.1:9/mcp\n# end\n',
    );
  });

  test('setValue: a scalar is replaced in place, keeping its trailing comment', () => {
    const after = editConfigText(HANDWRITTEN, (d) => setValue(d, ['listen'], '127.0.0.1:5555'));
    expect(after).toBe(HANDWRITTEN.replace('listen: 127.0.0.1:4444      # loopback only', 'listen: 127.0.0.1:5555      # loopback only'));
  });

  test('setValue: a new nested key goes right after its commented-out documentation line', () => {
    const after = editConfigText(HANDWRITTEN, (d) => setValue(d, ['auth', 'password_hash'], '$argon2id$v=19$m=65536,t=2,p=1$c2FsdA$aGFzaA'));
    expectOnlyInsertion(HANDWRITTEN, after, '  password_hash: $argon2id$v=19$m=65536,t=2,p=1$c2FsdA$aGFzaA\n');
    expect(after).toContain('  # password_hash: "$argon2id$..."\n  password_hash: $argon2id');
    const parsed = parseConfigText(after, '/etc/mcpgw/gateway.yaml', ENV);
    expect(parsed.ok && parsed.config.auth.password_hash).toBe('$argon2id$v=19$m=65536,t=2,p=1$c2FsdA$aGFzaA');
  });

  test('setValue: a new top-level key goes after its commented-out line', () => {
    const after = editConfigText(HANDWRITTEN, (d) => setValue(d, ['public_url'], 'https://gw.tail1234.ts.net'));
    expectOnlyInsertion(HANDWRITTEN, after, 'public_url: https://gw.tail1234.ts.net\n');
    expect(after).toContain('# public_url: https://mcp.example.com\npublic_url: https://gw.tail1234.ts.net\n');
  });

  test('setValue: a quoted value stays quoted', () => {
    const text = 'auth:\n  password_hash: "$argon2id$old"   # set by mcpgw passwd\n';
    expect(editConfigText(text, (d) => setValue(d, ['auth', 'password_hash'], '$argon2id$new'))).toBe(
      'auth:\n  password_hash: "$argon2id$new"   # set by mcpgw passwd\n',
    );
  });

  test('setValue: a missing top-level map is created in documented key order, with the file\'s 4-space indentation', () => {
    const text = 'listen: 127.0.0.1:4444\nhttp:\n    max_body_bytes: 10\n';
    expect(editConfigText(text, (d) => setValue(d, ['auth', 'password_hash'], 'x'))).toBe(
      'listen: 127.0.0.1:4444\nauth:\n    password_hash: x\nhttp:\n    max_body_bytes: 10\n',
    );
    expect(editConfigText(text, (d) => setValue(d, ['x_unknown'], 1))).toBe(text + 'x_unknown: 1\n');
  });

  test('setValue into an empty file and into a file without a final newline', () => {
    expect(editConfigText('', (d) => setValue(d, ['auth', 'mode'], 'oauth'))).toBe('auth:\n  mode: oauth\n');
    expect(editConfigText('listen: 127.0.0.1:1', (d) => setValue(d, ['public_url'], 'https://a.example'))).toBe(
      'listen: 127.0.0.1:1\npublic_url: https://a.example\n',
    );
  });

  test('CRLF files get CRLF lines', () => {
    const text = 'listen: 127.0.0.1:4444\r\nbackends:\r\n  a:\r\n    url: http://127.0.0.1:9/mcp\r\n';
    const after = editConfigText(text, (d) => setBackend(d, 'b', { url: 'http://127.0.0.1:8/mcp' }));
    expect(after).toBe(text + '  b:\r\n    url: http://127.0.0.1:8/mcp\r\n');
  });

  test('a flow-style backends map is refused with a clear message, not rewritten', () => {
    expect(() => editConfigText('backends: { a: { url: "http://x/mcp" } }\n', (d) => setBackend(d, 'b', { url: 'http://y/mcp' }))).toThrow(/flow style/);
  });

  test('a YAML syntax error is refused before any edit', () => {
    expect(() => openConfigText('listen: [\n')).toThrow(/YAML syntax error/);
  });

  test('editConfigFile: writes atomically, a world-readable file becomes 0600, a 0640 one stays 0640; no temp file is left', () => {
    using t = tempDir();
    const path = join(t.dir, 'gateway.yaml');
    writeFileSync(path, HANDWRITTEN, { mode: 0o644 });
    chmodSync(path, 0o644);
    const { before, after } = editConfigFile(path, (d) => setBackend(d, 'wiki', { url: 'https://wiki.lan/mcp' }));
    expect(before).toBe(HANDWRITTEN);
    expect(readFileSync(path, 'utf8')).toBe(after);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readdirSync(t.dir)).toEqual(['gateway.yaml']);
    chmodSync(path, 0o640);
    editConfigFile(path, (d) => setValue(d, ['listen'], '127.0.0.1:5555'));
    expect(statSync(path).mode & 0o777).toBe(0o640);
  });

  test('editConfigFile: a symlinked config stays a symlink and its target is edited', () => {
    using t = tempDir();
    const real = join(t.dir, 'real.yaml');
    const link = join(t.dir, 'gateway.yaml');
    writeFileSync(real, HANDWRITTEN);
    symlinkSync(real, link);
    editConfigFile(link, (d) => setValue(d, ['listen'], '127.0.0.1:5555'));
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readFileSync(real, 'utf8')).toContain('listen: 127.0.0.1:5555');
    expect(statSync(real).mode & 0o777).toBe(0o600);
  });

  test('editConfigFile: an edit that throws leaves the file untouched', () => {
    using t = tempDir();
    const path = join(t.dir, 'gateway.yaml');
    writeFileSync(path, 'backends: { a: { url: "http://x/mcp" } }\n');
    expect(() => editConfigFile(path, (d) => setBackend(d, 'b', { url: 'http://y/mcp' }))).toThrow();
    expect(readFileSync(path, 'utf8')).toBe('backends: { a: { url: "http://x/mcp" } }\n');
    expect(readdirSync(t.dir)).toEqual(['gateway.yaml']);
  });

  test('issue 8 finding 1: editConfigFile keeps a service config (root:mcpgw 0640) readable by its group, and no more', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mcpgw-edit-'));
    try {
      const path = join(dir, 'gateway.yaml');
      writeFileSync(path, HANDWRITTEN);
      chmodSync(path, 0o640);
      editConfigFile(path, (d) => setValue(d, ['log_level'], 'debug'));
      expect(statSync(path).mode & 0o777).toBe(0o640);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('writeNewConfigFile: mode 0600, and it refuses to replace a file unless told to', () => {
    using t = tempDir();
    const path = join(t.dir, 'gateway.yaml');
    writeNewConfigFile(path, 'listen: 127.0.0.1:4444\n');
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(() => writeNewConfigFile(path, 'x: 1\n')).toThrow(/already exists/);
    writeNewConfigFile(path, 'listen: 127.0.0.1:5555\n', { overwrite: true });
    expect(readFileSync(path, 'utf8')).toBe('listen: 127.0.0.1:5555\n');
  });
});
