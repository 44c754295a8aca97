/**
 * `mcpgw auth trace` through the compiled binary against a running `mcpgw serve` (issue 9 item 2): a claude.ai-style
 * connector behind a loopback proxy fails on the redirect URI, then on PKCE, then signs in; the trace names each reason.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import type { TraceAttempt } from '../../src/oauth/trace.ts';
import { baseEnv, BINARY, ensureBinary, runBinary } from '../helpers/cli.ts';
import { baseConfig, startGatewayProcess, type GatewayProcess } from '../helpers/gateway-process.ts';
import { CLAUDE_DCR_BODY, openConsent, pkce, postForm, submitConsent } from '../helpers/oauth-client.ts';
import { passwordHash, type OAuthWorld } from '../helpers/oauth-world.ts';

const CALLBACK = 'https://claude.ai/api/mcp/auth_callback';
/** claude.ai's servers as a loopback proxy (tailscale funnel) forwards them. */
const CONNECTOR = { 'x-forwarded-for': '203.0.113.5', 'user-agent': 'Claude-User' };

let gw: GatewayProcess;
let client: { client_id: string; client_secret: string };
const world = () => ({ url: gw.url, resource: gw.mcpUrl }) as unknown as OAuthWorld;
const trace = (...args: string[]) => runBinary(['auth', 'trace', ...args, '--config', gw.configPath]);

function mcp(token?: string): Promise<Response> {
  return fetch(gw.mcpUrl, {
    method: 'POST',
    headers: { ...CONNECTOR, 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'Anthropic', version: '1' } } }),
  });
}

function authorizeHref(challenge: string, redirect = CALLBACK): string {
  const url = new URL(`${gw.url}/authorize`);
  const params = { response_type: 'code', client_id: client.client_id, redirect_uri: redirect, code_challenge: challenge, code_challenge_method: 'S256', state: 's', resource: `${gw.url}/` };
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  return url.href;
}

/** The owner's browser (its own address) opens /authorize and approves; returns the code. */
async function approve(challenge: string, browserIp: string): Promise<string> {
  const page = await openConsent(authorizeHref(challenge));
  expect(page.res.status).toBe(200);
  const post = await submitConsent(world(), page.form, { headers: { 'x-forwarded-for': browserIp } });
  expect(post.status).toBe(302);
  return new URL(post.headers.get('location')!).searchParams.get('code')!;
}

const redeem = (code: string, verifier: string) =>
  postForm(world(), '/token', { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: CALLBACK, client_id: client.client_id, client_secret: client.client_secret, resource: `${gw.url}/` }, CONNECTOR);

/** `auth trace --json` until `ok` holds (the gateway writes the audit log in 250 ms batches). */
async function attemptsUntil(ok: (a: TraceAttempt[]) => boolean): Promise<TraceAttempt[]> {
  for (let i = 0; i < 40; i++) {
    const r = await trace('--json');
    expect(r.code).toBe(0);
    const attempts = r.stdout.trim() === '' ? [] : r.stdout.trim().split('\n').map((l) => JSON.parse(l) as TraceAttempt);
    if (ok(attempts)) return attempts;
    await Bun.sleep(100);
  }
  throw new Error('auth trace never showed the expected attempts');
}

beforeAll(async () => {
  ensureBinary();
  const hash = await passwordHash();
  gw = await startGatewayProcess((d) => ({ ...baseConfig(d, {}), auth: { mode: 'oauth', password_hash: hash } }));
  expect((await mcp()).status).toBe(401);
  expect((await fetch(`${gw.url}/.well-known/oauth-protected-resource/mcp`, { headers: CONNECTOR })).status).toBe(200);
  expect((await fetch(`${gw.url}/.well-known/oauth-authorization-server`, { headers: CONNECTOR })).status).toBe(200);
  const reg = await fetch(`${gw.url}/register`, { method: 'POST', headers: { ...CONNECTOR, 'content-type': 'application/json' }, body: JSON.stringify(CLAUDE_DCR_BODY) });
  expect(reg.status).toBe(201);
  client = (await reg.json()) as typeof client;
  expect((await fetch(authorizeHref(pkce().challenge, 'https://x.example/cb'), { headers: { 'x-forwarded-for': '198.51.100.7' } })).status).toBe(400);
  expect((await redeem(await approve(pkce().challenge, '198.51.100.7'), pkce().verifier)).status).toBe(400);
  const good = pkce();
  const ok = await redeem(await approve(good.challenge, '198.51.100.8'), good.verifier);
  expect(ok.status).toBe(200);
  const res = await mcp(((await ok.json()) as { access_token: string }).access_token);
  expect(res.status).toBe(200);
  await res.text();
}, 60_000);

afterAll(async () => {
  await gw?.[Symbol.asyncDispose]();
}, 30_000);

describe('mcpgw auth trace (issue 9 item 2)', () => {
  test('issue 9 item 2: --json names the wrong redirect URI and the PKCE mismatch, then shows the sign-in up to the first MCP call', async () => {
    const attempts = await attemptsUntil((a) => a.at(-1)?.status === 'succeeded');
    expect(attempts.map((a) => [a.status, a.reason])).toEqual([
      ['failed', `redirect URI https://x.example/cb is not registered for this client (registered: ${CALLBACK})`],
      ['failed', 'PKCE verifier does not match the challenge (the client sent another code_verifier than the one it derived the code_challenge from)'],
      ['succeeded', null],
    ]);
    // The 401 went through the gateway's router: the forwarded address and User-Agent tie it to the registration.
    expect(attempts[0]!.steps.map((s) => [s.step, s.status])).toEqual([
      ['challenge', 401],
      ['resource_metadata', 200],
      ['server_metadata', 200],
      ['registration', 201],
      ['authorize', 400],
    ]);
    expect([attempts[0]!.ip, attempts[0]!.user_agent, attempts[0]!.client_name]).toEqual(['203.0.113.5', 'Claude-User', 'Claude']);
    expect(attempts[2]!.steps.map((s) => s.step)).toEqual(['authorize', 'consent', 'token', 'first_call']);
  });

  test('issue 9 item 2: the text view shows steps with status and the verdicts; --client filters; bad input exits 2', async () => {
    await attemptsUntil((a) => a.at(-1)?.status === 'succeeded');
    const text = await trace('--client', 'Claude');
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('sign-in attempt ');
    expect(text.stdout).toMatch(/ 401 {2}✓ 401 challenge +unauthenticated request to \/mcp/);
    expect(text.stdout).toContain('✗ failed: redirect URI https://x.example/cb is not registered for this client');
    expect(text.stdout).toContain('✗ failed: PKCE verifier does not match the challenge');
    expect(text.stdout).toContain('✓ signed in');
    const none = await trace('--client', 'nobody');
    expect([none.code, none.stdout]).toEqual([0, '']);
    expect(none.stderr).toStartWith('no sign-in attempts of nobody since ');
    const bad = await trace('--since', 'yesterday');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toStartWith("error: --since must be a duration like 1h or 7d");
    const help = await runBinary(['auth', 'trace', '--help']);
    expect(help.stdout).toContain('Examples:');
  });

  test('issue 9 item 2: --follow --json prints a new attempt as it happens and exits 0 on SIGINT', async () => {
    await attemptsUntil((a) => a.at(-1)?.status === 'succeeded');
    const proc = Bun.spawn([BINARY, 'auth', 'trace', '--follow', '--json', '--interval', '100', '--config', gw.configPath], { env: baseEnv(), stdout: 'pipe', stderr: 'pipe' });
    try {
      const reader = proc.stdout.getReader();
      let out = '';
      const read = async (until: (text: string) => boolean) => {
        const deadline = Date.now() + 10_000;
        while (!until(out) && Date.now() < deadline) {
          const chunk = await Promise.race([reader.read(), Bun.sleep(deadline - Date.now()).then(() => undefined)]);
          if (!chunk || chunk.done) break;
          out += new TextDecoder().decode(chunk.value);
        }
        return out;
      };
      // The history first (three attempts), then the newcomer.
      expect((await read((t) => t.split('\n').length > 3)).split('\n').filter(Boolean)).toHaveLength(3);
      const stranger = { 'x-forwarded-for': '192.0.2.44', 'user-agent': 'curl/8.5' };
      expect((await fetch(gw.mcpUrl, { method: 'POST', headers: stranger, body: '{}' })).status).toBe(401);
      const text = await read((t) => t.includes('192.0.2.44'));
      const last = JSON.parse(text.trim().split('\n').at(-1)!) as TraceAttempt;
      expect([last.ip, last.user_agent, last.status, last.steps.map((s) => s.event)]).toEqual(['192.0.2.44', 'curl/8.5', 'in_progress', ['mcp_unauthorized']]);
      proc.kill('SIGINT');
      expect(await proc.exited).toBe(0);
    } finally {
      if (proc.exitCode === null) proc.kill('SIGKILL');
    }
  });
});
