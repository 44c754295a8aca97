/**
 * The audit log through the in-process gateway (issue 9 items 1 and 5): calls recorded where the router
 * forwards them, with client, backend, tool, outcome and error; OAuth events of a real sign-in; backend state.
 */
import { describe, expect, test } from 'bun:test';
import { queryAudit, type AuditRow } from '../../src/store/audit.ts';
import { BACKEND_PATH } from '../helpers/clients.ts';
import { authorizeUrl, authParams, LOOPBACK_REDIRECT, obtainTokens, openConsent, pkce, postForm, registerPublicClient, submitConsent } from '../helpers/oauth-client.ts';
import { passwordHash, type OAuthWorld } from '../helpers/oauth-world.ts';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { parseConfigText } from '../../src/config/load.ts';
import { BASE, PORT, startWorld, type World } from '../helpers/world.ts';

type Json = Record<string, unknown>;
const alpha = { command: process.execPath, args: [BACKEND_PATH, '--name', 'alpha'] };

function rows(w: World): AuditRow[] {
  w.gw.audit!.flush();
  return queryAudit(w.db, { limit: 1000 });
}

async function callTool(w: World, sid: string, name: string, args: Json, headers: Record<string, string> = {}): Promise<Json> {
  return w.rpc('tools/call', { name, arguments: args }, { 'mcp-session-id': sid, ...headers });
}

describe('audit log in the gateway (issue 9 item 1)', () => {
  test('a succeeded and a failed call are in the audit table with backend, tool, outcome, duration and error; the failure is one warn line', async () => {
    await using w = await startWorld({ backends: { alpha } });
    await w.up('alpha');
    const sid = await w.open();
    const ok = await callTool(w, sid, 'alpha_echo', { text: 'hi' });
    expect(JSON.stringify(ok.result)).toContain('hi');
    const bad = await callTool(w, sid, 'alpha_remove_tool', { name: 'no_such_tool' });
    expect((bad.result as Json).isError).toBe(true);

    const calls = rows(w).filter((r) => r.kind === 'call');
    expect(calls.map((r) => [r.backend, r.tool, r.outcome, r.error])).toEqual([
      ['alpha', 'alpha_echo', 'ok', null],
      ['alpha', 'alpha_remove_tool', 'error', 'tool no_such_tool does not exist'],
    ]);
    for (const r of calls) expect(typeof r.duration_ms).toBe('number');
    // Without audit.log_arguments nothing of the arguments is kept.
    expect(calls.every((r) => r.detail === null)).toBe(true);
    // Backend state changes are recorded too (issue 9 item 6 reads them).
    expect(rows(w).some((r) => r.kind === 'backend' && r.backend === 'alpha' && r.event === 'up')).toBe(true);

    // Item 5: one warn line per failed call, naming backend, tool and error; none for the good call.
    const warns = w.logs.filter((l) => l.msg === 'tool call failed');
    expect(warns).toHaveLength(1);
    expect(warns[0]).toMatchObject({ level: 'warn', backend: 'alpha', tool: 'alpha_remove_tool', error: 'tool no_such_tool does not exist' });
    // The in-memory recent calls (mcpgw status) carry the error too.
    expect(w.gw.snapshot().recent_calls.at(-1)).toMatchObject({ outcome: 'error', error: 'tool no_such_tool does not exist' });
  });

  test('a call to a backend that is down is recorded as an error naming the backend; its down transition has the reason', async () => {
    await using w = await startWorld({ backends: { alpha } });
    await w.up('alpha');
    const sid = await w.open();
    const pid = w.gw.aggregator.pool.get('alpha')!.pid!;
    process.kill(-pid, 'SIGKILL');
    const deadline = Date.now() + 5000;
    while (w.gw.aggregator.pool.get('alpha')?.state === 'up' && Date.now() < deadline) await Bun.sleep(10);
    await callTool(w, sid, 'alpha_echo', { text: 'x' });
    const all = rows(w);
    const call = all.find((r) => r.kind === 'call')!;
    expect(call).toMatchObject({ backend: 'alpha', tool: 'alpha_echo', outcome: 'error' });
    expect(call.error).toContain("backend 'alpha'");
    const down = all.find((r) => r.kind === 'backend' && r.event === 'down')!;
    expect(down).toMatchObject({ backend: 'alpha', outcome: 'error' });
    expect(down.error).toBeTruthy();
  });

  test('with audit.log_arguments the arguments are kept, secret fields redacted; a reload turns it on and off', async () => {
    await using w = await startWorld({ backends: { alpha }, audit: { log_arguments: true } });
    await w.up('alpha');
    const sid = await w.open();
    await callTool(w, sid, 'alpha_echo', { text: 'hi', password: 'hunter2' });
    const [call] = rows(w).filter((r) => r.kind === 'call');
    expect((call.detail as { arguments: Json }).arguments).toEqual({ text: 'hi', password: '[redacted]' });
    expect(JSON.stringify(w.db.query('SELECT * FROM audit_log').all())).not.toContain('hunter2');

    const off = parseConfigText(stringify({ listen: `127.0.0.1:${PORT}`, data_dir: join(w.dir, 'state'), auth: { mode: 'none' }, backends: { alpha }, audit: { log_arguments: false } }), join(w.dir, 'gateway.yaml'), process.env);
    if (!off.ok) throw new Error('bad config');
    await w.gw.reload(off.config);
    await callTool(w, sid, 'alpha_echo', { text: 'after reload' });
    expect(rows(w).filter((r) => r.kind === 'call').map((r) => r.detail === null)).toEqual([false, true]);
  });

  test('an OAuth sign-in is recorded step by step, and calls carry the client and grant', async () => {
    await using w = await startWorld({ backends: { alpha }, auth: { mode: 'oauth', password_hash: await passwordHash() } });
    await w.up('alpha');
    // The helpers speak to a URL; put the in-process gateway behind a loopback socket for them.
    const server = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: (req) => w.gw.fetch(req, '127.0.0.1') });
    try {
      const shim = { url: `http://127.0.0.1:${server.port}`, resource: `${BASE}/mcp` } as OAuthWorld;
      // A wrong password first, then a denial, then a full flow.
      const clientId = await registerPublicClient(shim, LOOPBACK_REDIRECT, 'Audit client');
      const page = await openConsent(authorizeUrl(shim, authParams(shim, clientId, pkce().challenge)));
      expect((await submitConsent(shim, page.form, { password: 'wrong' })).status).toBe(403);
      const again = await openConsent(authorizeUrl(shim, authParams(shim, clientId, pkce().challenge)));
      expect((await submitConsent(shim, again.form, { action: 'deny' })).status).toBe(302);
      const tokens = await obtainTokens(shim, { clientId });
      const refreshed = await postForm(shim, '/token', { grant_type: 'refresh_token', refresh_token: tokens.refresh_token, client_id: clientId });
      expect(refreshed.status).toBe(200);
      const badCode = await postForm(shim, '/token', { grant_type: 'authorization_code', code: 'nope', code_verifier: pkce().verifier, redirect_uri: LOOPBACK_REDIRECT, client_id: clientId });
      expect(badCode.status).toBe(400);

      const auth = { authorization: `Bearer ${tokens.access_token}` };
      const sid = await w.open({}, auth);
      await callTool(w, sid, 'alpha_echo', { text: 'signed in' }, auth);
      expect((await postForm(shim, '/revoke', { token: tokens.refresh_token, client_id: clientId })).status).toBe(200);

      const all = rows(w);
      const events = all.filter((r) => r.kind === 'auth').map((r) => [r.event, r.outcome]);
      // With the sign-in trace steps (issue 9 item 2): each consent page shown, and the grant's first MCP request.
      expect(events).toEqual([
        ['client_registered', 'ok'],
        ['authorize_requested', 'ok'],
        ['password_failed', 'error'],
        ['authorize_requested', 'ok'],
        ['consent_denied', 'error'],
        ['authorize_requested', 'ok'],
        ['consent_granted', 'ok'],
        ['token_issued', 'ok'],
        ['token_refreshed', 'ok'],
        ['token_failed', 'error'],
        ['mcp_first_call', 'ok'],
        ['token_revoked', 'ok'],
      ]);
      const byEvent = (e: string) => all.find((r) => r.event === e)!;
      expect(byEvent('client_registered')).toMatchObject({ client_id: clientId, client_name: 'Audit client', ip: '127.0.0.1' });
      expect(byEvent('password_failed')).toMatchObject({ client_id: clientId, error: 'wrong password' });
      expect(byEvent('token_failed').error).toBe('invalid_grant: authorization code is invalid');
      const grantId = byEvent('token_issued').grant_id;
      expect(grantId).toMatch(/^g_/);
      const call = all.find((r) => r.kind === 'call')!;
      expect(call).toMatchObject({ tool: 'alpha_echo', outcome: 'ok', client_id: clientId, client_name: 'Audit client', grant_id: grantId });
      // No token or code reaches the audit table.
      const dump = JSON.stringify(w.db.query('SELECT * FROM audit_log').all());
      for (const secret of [tokens.access_token, tokens.refresh_token]) expect(dump).not.toContain(secret);
    } finally {
      await server.stop(true);
    }
  });
});
