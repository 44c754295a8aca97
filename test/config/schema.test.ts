import { describe, expect, test } from 'bun:test';
import { isLoopbackHost, parseListen, validateConfig, type Config, type ConfigInput, type SchemaContext } from '../../src/config/schema.ts';

const CTX = { env: { HOME: '/home/u' }, configDir: '/etc/mcpgw' };

function parse(input: ConfigInput, ctx: SchemaContext = CTX): Config {
  const result = validateConfig(input, ctx);
  if (!result.ok) throw new Error(JSON.stringify(result.issues));
  return result.value;
}

describe('isLoopbackHost', () => {
  test('127.0.0.0/8, ::1 with or without brackets, localhost -> true', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost', 'LOCALHOST']) expect(isLoopbackHost(host)).toBe(true);
  });
  test('anything else -> false', () => {
    for (const host of ['0.0.0.0', '::', '192.168.1.5', '127.0.0.1.example.com', '128.0.0.1', 'localhost.example.com', '']) {
      expect(isLoopbackHost(host)).toBe(false);
    }
  });
});

describe('parseListen', () => {
  test('host:port and [ipv6]:port; host without brackets', () => {
    expect(parseListen('127.0.0.1:4444')).toEqual({ host: '127.0.0.1', port: 4444 });
    expect(parseListen('[::1]:0')).toEqual({ host: '::1', port: 0 });
    expect(parseListen('gw.lan:65535')).toEqual({ host: 'gw.lan', port: 65535 });
  });
  test('invalid -> throws', () => {
    for (const bad of ['4444', ':4444', '127.0.0.1', '127.0.0.1:65536', '::1:4444', '[nope]:1', 'a b:1']) expect(() => parseListen(bad)).toThrow();
  });
});

describe('validateConfig: defaults', () => {
  test('an empty document gets every default, durations in ms', () => {
    const c = parse({});
    expect(c).toMatchObject({
      listen: '127.0.0.1:4444',
      public_url: 'http://127.0.0.1:4444',
      data_dir: '/home/u/.local/state/mcpgw',
      log_level: 'info',
      naming: { separator: '_', max_length: 64 },
      backend_defaults: { timeout: 300_000, connect_timeout: 30_000, retry_initial: 1_000, retry_max: 60_000 },
      backends: {},
    });
    expect(c.auth).toEqual({
      mode: 'oauth',
      access_token_ttl: 3_600_000,
      refresh_token_ttl: 30 * 86_400_000,
      refresh_grace: 120_000,
      code_ttl: 60_000,
      registration: { enabled: true, rate_limit: 20, unused_client_ttl: 86_400_000 },
      cimd: { enabled: true, allow_private_addresses: false, allow_http: false, timeout: 5_000, max_bytes: 5120 },
      clients: [],
      login: { max_failures: 5, lockout: 900_000, global_max_failures: 50 },
    });
    expect(c.http).toEqual({
      allowed_origins: [],
      allowed_hosts: [],
      max_body_bytes: 4_194_304,
      max_json_depth: 64,
      max_header_bytes: 16384,
      sse_keepalive: 15_000,
      shutdown_grace: 10_000,
      stream_buffer_bytes: 1_048_576,
      session_idle: 86_400_000,
      max_sessions: 10_000,
      max_sessions_per_grant: 100,
      trusted_proxies: ['127.0.0.0/8', '::1'],
    });
  });

  test('data_dir: $XDG_STATE_HOME/mcpgw, ~/ expanded, relative to the config dir', () => {
    expect(parse({}, { env: { HOME: '/home/u', XDG_STATE_HOME: '/var/state' }, configDir: '/c' }).data_dir).toBe('/var/state/mcpgw');
    expect(parse({ data_dir: '~/gw' }).data_dir).toBe('/home/u/gw');
    expect(parse({ data_dir: 'state' }).data_dir).toBe('/etc/mcpgw/state');
    const noHome = validateConfig({}, { env: {}, configDir: '/c' });
    expect(!noHome.ok && noHome.issues).toEqual([{ path: ['data_dir'], message: 'is required when HOME and XDG_STATE_HOME are unset', at: 'value' }]);
  });

  test('public_url: derived from listen (IPv6 too); trailing slash removed', () => {
    expect(parse({ listen: '[::1]:8080' }).public_url).toBe('http://[::1]:8080');
    expect(parse({ public_url: 'https://mcp.example.com/' }).public_url).toBe('https://mcp.example.com');
    expect(parse({ public_url: 'https://example.com/mcpgw/' }).public_url).toBe('https://example.com/mcpgw');
    expect(parse({ public_url: 'http://localhost:4444' }).public_url).toBe('http://localhost:4444');
  });

  test('a stdio backend: prefix defaults to its name, cwd to the config dir, transport resolves to stdio', () => {
    const c = parse({ backends: { files: { command: 'npx', args: ['-y', 'x', 8], env: { N: 1 } }, rel: { command: 'y', cwd: 'sub' } } });
    expect(c.backends.files).toEqual({
      transport: 'stdio',
      command: 'npx',
      args: ['-y', 'x', '8'],
      env: { N: '1' },
      cwd: '/etc/mcpgw',
      enabled: true,
      prefix: 'files',
      pinning: 'warn',
      tools: { allow: ['*'], deny: [], rename: {}, descriptions: {} },
    });
    expect(c.backends.rel).toMatchObject({ cwd: '/etc/mcpgw/sub' });
  });

  test('an http backend keeps its transport; prefix false stays false; durations override', () => {
    const c = parse({ backends: { erp: { url: 'https://erp.lan/mcp', transport: 'sse', prefix: false, timeout: '10s', headers: { A: 'b' } } } });
    expect(c.backends.erp).toMatchObject({ transport: 'sse', url: 'https://erp.lan/mcp', headers: { A: 'b' }, prefix: false, timeout: 10_000 });
    expect(parse({ backends: { erp: { url: 'https://erp.lan/mcp' } } }).backends.erp).toMatchObject({ transport: 'auto', headers: {} });
  });

  test('duplicate client_id is an issue at the second one', () => {
    const client = { client_id: 'a', redirect_uris: ['http://127.0.0.1/cb'] };
    const result = validateConfig({ auth: { clients: [client, client] } }, CTX);
    expect(!result.ok && result.issues).toEqual([{ path: ['auth', 'clients', 1, 'client_id'], message: 'duplicate client_id', at: 'value' }]);
  });

  // Issue 7: the validator is hand-written now (zod was too costly at start-up); these pin what zod reported.
  test('issue 7: lengths count code points, a list where a string belongs is also too short, and every problem is reported', () => {
    const emoji = '\u{1F600}';
    const client = (client_id: unknown) => ({ client_id, redirect_uris: ['http://127.0.0.1/cb'] });
    expect(validateConfig({ auth: { clients: [client(emoji.repeat(200))] } }, CTX).ok).toBe(true);
    const issues = (input: Record<string, unknown>) => {
      const r = validateConfig(input, CTX);
      return r.ok ? [] : r.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    };
    expect(issues({ auth: { clients: [client(emoji.repeat(201))] } })).toEqual(['auth.clients.0.client_id: must have at most 200 characters']);
    expect(issues({ data_dir: [] })).toEqual(['data_dir: must be a string, got a list', 'data_dir: must not be empty']);
    expect(issues({ auth: { clients: [{ client_id: 'a', redirect_uris: '' }] } })).toEqual(['auth.clients.0.redirect_uris: must be a list, got a string', 'auth.clients.0.redirect_uris: must not be empty']);
    // A failed check (not a wrong type) leaves the cross-field rules running; a non-integer stops them.
    expect(issues({ listen: '0.0.0.0:80', auth: { clients: [client('x'.repeat(201))] } })).toEqual(['auth.clients.0.client_id: must have at most 200 characters', 'public_url: must be set to an https URL when listen is not a loopback address']);
    expect(issues({ listen: '0.0.0.0:80', http: { max_sessions: 1.5 } })).toEqual(['http.max_sessions: must be an integer, got a number']);
  });
});
