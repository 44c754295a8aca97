import { beforeAll, describe, expect, test } from 'bun:test';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  checkTailscaleStatus,
  classifyTailscaleOutput,
  funnelTarget,
  registerFunnel,
  summarizeServeConfig,
  targetsListener,
} from '../../cmd/funnel.ts';
import { ensureBinary, firstLine, runBinary, runCli, scriptedInput, type RunResult } from '../helpers/cli.ts';
import { freePort } from '../helpers/everything.ts';
import { startGatewayProcess } from '../helpers/gateway-process.ts';

/*
 * The stand-in prints what tailscale 1.52+ prints (cmd/tailscale/cli/serve_v2.go, serve_legacy.go, status.go,
 * ipn/serve.go, ipn/ipnlocal/local.go): `tailscale status --json` is an ipnstate.Status (capabilities in
 * Self.CapMap, Self.Capabilities led by the deprecation marker), `tailscale funnel status --json` an
 * ipn.ServeConfig (`null` when none was ever set), and errors go to stderr with exit code 1.
 */
const DNS = 'gw.tail1234.ts.net';
const CAPS = ['funnel', 'https', 'https://tailscale.com/cap/file-sharing', 'https://tailscale.com/cap/funnel-ports?ports=443,8443,10000'];

function statusJson(opts: { state?: string; caps?: string[] | null; dnsName?: string; authUrl?: string } = {}): string {
  const caps = opts.caps === undefined ? CAPS : opts.caps;
  const self: Record<string, unknown> = {
    ID: 'nTESTCNTRL',
    PublicKey: 'nodekey:0000000000000000000000000000000000000000000000000000000000000000',
    HostName: 'gw',
    DNSName: opts.dnsName ?? `${DNS}.`,
    OS: 'linux',
    UserID: 1234,
    TailscaleIPs: ['100.101.102.103', 'fd7a:115c:a1e0::1'],
    AllowedIPs: ['100.101.102.103/32', 'fd7a:115c:a1e0::1/128'],
    Addrs: null,
    CurAddr: '',
    Relay: 'fra',
    RxBytes: 0,
    TxBytes: 0,
    Created: '2026-01-01T00:00:00Z',
    LastWrite: '0001-01-01T00:00:00Z',
    LastSeen: '0001-01-01T00:00:00Z',
    LastHandshake: '0001-01-01T00:00:00Z',
    Online: true,
    ExitNode: false,
    ExitNodeOption: false,
    Active: false,
    PeerAPIURL: ['http://100.101.102.103:40000'],
    TaildropTarget: 0,
    NoFileSharingReason: '',
    InNetworkMap: true,
    InMagicSock: false,
    InEngine: false,
  };
  if (caps) {
    self.Capabilities = ['HTTPS://TAILSCALE.COM/s/DEPRECATED-NODE-CAPS#see-https://github.com/tailscale/tailscale/issues/11508', ...[...caps].sort()];
    self.CapMap = Object.fromEntries(caps.map((c) => [c, null]));
  }
  const running = (opts.state ?? 'Running') === 'Running';
  return JSON.stringify(
    {
      Version: '1.90.6-t0000000-g0000000',
      TUN: true,
      BackendState: opts.state ?? 'Running',
      HaveNodeKey: running,
      AuthURL: opts.authUrl ?? '',
      TailscaleIPs: running ? ['100.101.102.103', 'fd7a:115c:a1e0::1'] : null,
      Self: running ? self : { ...self, DNSName: '', TailscaleIPs: null, Online: false },
      Health: [],
      MagicDNSSuffix: running ? 'tail1234.ts.net' : '',
      CurrentTailnet: running ? { Name: 'owner@example.com', MagicDNSSuffix: 'tail1234.ts.net', MagicDNSEnabled: true } : null,
      CertDomains: running ? [DNS] : null,
      Peer: null,
      User: null,
      ClientVersion: null,
    },
    null,
    2,
  );
}

function serveConfigJson(target: string): string {
  return JSON.stringify(
    { TCP: { '443': { HTTPS: true } }, Web: { [`${DNS}:443`]: { Handlers: { '/': { Proxy: target } } } }, AllowFunnel: { [`${DNS}:443`]: true } },
    null,
    2,
  );
}

const FUNNEL_ON_OUTPUT = (target: string) => `Available on the internet:

https://${DNS}/
|-- proxy ${target}

Funnel started and running in the background.
To disable the proxy, run: tailscale funnel --https=443 off
`;

/** Writes the stand-in `tailscale` (a POSIX sh script) into `bin`; TS_SCENARIO picks what it answers. */
function writeStandIn(bin: string): void {
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const script = `#!/bin/sh
# Stand-in for the tailscale CLI: records its arguments, answers like the real one for TS_SCENARIO.
printf '%s\\n' "$*" >> "$TS_ARGS_FILE"
scenario="\${TS_SCENARIO:-ok}"
target=$(cat "$TS_STATE_FILE" 2>/dev/null)
if [ "$scenario" = not-running ]; then
  echo "failed to connect to local tailscaled; it doesn't appear to be running (sudo systemctl start tailscaled ?)" >&2
  exit 1
fi
case "$*" in
"status --json")
  case "$scenario" in
  logged-out) printf '%s\\n' ${q(statusJson({ state: 'NeedsLogin' }))} ;;
  logged-out-url) printf '%s\\n' ${q(statusJson({ state: 'NeedsLogin', authUrl: 'https://login.tailscale.com/a/abc123' }))} ;;
  stopped) printf '%s\\n' ${q(statusJson({ state: 'Stopped' }))} ;;
  no-https) printf '%s\\n' ${q(statusJson({ caps: ['funnel', 'https://tailscale.com/cap/file-sharing'] }))} ;;
  no-funnel) printf '%s\\n' ${q(statusJson({ caps: ['https', 'https://tailscale.com/cap/file-sharing'] }))} ;;
  no-port) printf '%s\\n' ${q(statusJson({ caps: ['funnel', 'https', 'https://tailscale.com/cap/funnel-ports?ports=8443,10000'] }))} ;;
  no-caps|no-https-text|no-funnel-text|access-denied|enable-link|too-old) printf '%s\\n' ${q(statusJson({ caps: null }))} ;;
  *) printf '%s\\n' ${q(statusJson())} ;;
  esac ;;
"funnel status --json")
  if [ -n "$target" ]; then
    printf '%s\\n' "$(printf '%s' ${q(serveConfigJson('TARGET'))} | sed "s#TARGET#$target#")"
  elif [ -e "$TS_STATE_FILE" ]; then echo '{}'
  else echo 'null'
  fi ;;
"funnel --bg "*)
  case "$scenario" in
  no-https-text) echo 'Funnel not available; HTTPS must be enabled. See https://tailscale.com/s/https.' >&2; exit 1 ;;
  no-funnel-text) echo 'Funnel not available; "funnel" node attribute not set. See https://tailscale.com/s/no-funnel.' >&2; exit 1 ;;
  access-denied) printf 'Access denied: serve config denied\\n' >&2; exit 1 ;;
  too-old) printf 'flag provided but not defined: -bg\\n' >&2; exit 2 ;;
  enable-link) printf '\\nFunnel is not yet enabled on your tailnet.\\n\\n         https://login.tailscale.com/f/funnel?node=nTESTCNTRL\\n\\n'; exit 0 ;;
  esac
  case "$3" in *://*) t="$3" ;; *) t="http://127.0.0.1:$3" ;; esac
  printf '%s' "$t" > "$TS_STATE_FILE"
  printf '%s' ${q(FUNNEL_ON_OUTPUT('TARGET'))} | sed "s#TARGET#$t#"
  ;;
"funnel --https=443 off")
  : > "$TS_STATE_FILE" ;;
*) echo "stand-in: unexpected arguments: $*" >&2; exit 64 ;;
esac
`;
  writeFileSync(join(bin, 'tailscale'), script);
  chmodSync(join(bin, 'tailscale'), 0o755);
}

interface World extends Disposable {
  dir: string;
  config: string;
  env: Record<string, string>;
  args(): string[];
  state(): string | undefined;
}

/** A temp dir with gateway.yaml, the stand-in on PATH, an args file and a funnel state file. */
function world(opts: { scenario?: string; config?: string; installed?: boolean; funnelTarget?: string } = {}): World {
  const dir = mkdtempSync(join(tmpdir(), 'mcpgw-funnel-'));
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  if (opts.installed !== false) writeStandIn(bin);
  const config = join(dir, 'gateway.yaml');
  writeFileSync(config, opts.config ?? '# mine\nlisten: 127.0.0.1:4444   # loopback\nauth:\n  mode: oauth\n  password_hash: "$argon2id$v=19$m=65536,t=2,p=1$c2FsdA$aGFzaA"\nbackends: {}\n');
  const argsFile = join(dir, 'args');
  const stateFile = join(dir, 'funnel-state');
  if (opts.funnelTarget) writeFileSync(stateFile, opts.funnelTarget);
  return {
    dir,
    config,
    env: { PATH: opts.installed === false ? bin : `${bin}:/usr/bin:/bin`, HOME: dir, TS_SCENARIO: opts.scenario ?? 'ok', TS_ARGS_FILE: argsFile, TS_STATE_FILE: stateFile },
    args: () => (existsSync(argsFile) ? readFileSync(argsFile, 'utf8').trim().split('\n') : []),
    state: () => (existsSync(stateFile) ? readFileSync(stateFile, 'utf8') : undefined),
    [Symbol.dispose]: () => rmSync(dir, { recursive: true, force: true }),
  };
}

type FetchFn = typeof fetch;
const healthOk: FetchFn = (async () => new Response('ok')) as unknown as FetchFn;

function inProcess(w: World, args: string[], opts: { tty?: string[]; fetch?: FetchFn } = {}): Promise<RunResult & { prompts?: string[] }> {
  const input = scriptedInput(opts.tty ?? [], { isTTY: opts.tty !== undefined });
  return runCli(['funnel', ...args, '--config', w.config], {
    register: (p, c) => registerFunnel(p, c, input),
    env: w.env,
    deps: { fetch: opts.fetch ?? healthOk },
    isTTY: opts.tty !== undefined,
  }).then((r) => ({ ...r, prompts: input.prompts }));
}

const ON_ARGS = ['status --json', 'funnel status --json', 'funnel --bg 4444', 'funnel status --json'];

describe('funnel: pure parts', () => {
  test('funnelTarget: a port for loopback/wildcard listeners, a URL otherwise', () => {
    expect(funnelTarget('127.0.0.1:4444')).toBe('4444');
    expect(funnelTarget('0.0.0.0:8080')).toBe('8080');
    expect(funnelTarget('[::1]:4444')).toBe('http://[::1]:4444');
    expect(funnelTarget('192.168.1.5:4444')).toBe('http://192.168.1.5:4444');
  });

  test('targetsListener compares tailscale proxy targets with listen', () => {
    expect(targetsListener('http://127.0.0.1:4444', '127.0.0.1:4444')).toBe(true);
    expect(targetsListener('http://127.0.0.1:8080', '127.0.0.1:4444')).toBe(false);
    expect(targetsListener('http://[::1]:4444', '[::1]:4444')).toBe(true);
    expect(targetsListener(null, '127.0.0.1:4444')).toBe(false);
  });

  test('summarizeServeConfig: null, {}, and a funnel on 443', () => {
    expect(summarizeServeConfig(null)).toEqual({ enabled: false, url: null, target: null });
    expect(summarizeServeConfig({})).toEqual({ enabled: false, url: null, target: null });
    expect(summarizeServeConfig(JSON.parse(serveConfigJson('http://127.0.0.1:4444')))).toEqual({ enabled: true, url: `https://${DNS}`, target: 'http://127.0.0.1:4444' });
    expect(summarizeServeConfig({ AllowFunnel: { [`${DNS}:8443`]: true } })).toEqual({ enabled: false, url: null, target: null });
  });

  test('checkTailscaleStatus reads state, DNS name and capabilities', () => {
    expect(checkTailscaleStatus(JSON.parse(statusJson()), 'retry')).toEqual({ dnsName: DNS });
    expect(checkTailscaleStatus(JSON.parse(statusJson({ caps: null })), 'retry')).toEqual({ dnsName: DNS });
    expect(checkTailscaleStatus(JSON.parse(statusJson({ state: 'NeedsLogin' })), 'retry')).toMatchObject({ error: 'tailscale is not logged in' });
    expect(checkTailscaleStatus(JSON.parse(statusJson({ state: 'NeedsMachineAuth' })), 'retry')).toMatchObject({ error: 'this machine is waiting for approval by a tailnet admin' });
    expect(checkTailscaleStatus(JSON.parse(statusJson({ dnsName: '' })), 'retry')).toMatchObject({ error: 'tailscale reports no DNS name for this machine' });
    expect(checkTailscaleStatus(JSON.parse(statusJson({ caps: ['funnel', 'https', 'https://tailscale.com/cap/funnel-ports?ports=400-500'] })), 'r')).toEqual({ dnsName: DNS });
  });

  test('classifyTailscaleOutput knows the real CLI texts and nothing else', () => {
    expect(classifyTailscaleOutput("failed to connect to local tailscaled; it doesn't appear to be running (sudo systemctl start tailscaled ?)", 'r')?.error).toBe('tailscaled is not running');
    expect(classifyTailscaleOutput('Logged out.\nLog in at: https://login.tailscale.com/a/x', 'r')?.hint).toStartWith('log in at https://login.tailscale.com/a/x');
    expect(classifyTailscaleOutput('port 443 is not allowed for funnel; allowed ports are: 8443,10000', 'r')?.error).toContain('8443,10000');
    expect(classifyTailscaleOutput('something new', 'r')).toBeUndefined();
  });
});

describe('mcpgw funnel (in-process, stand-in tailscale on PATH)', () => {
  test('issue 8 finding 4: on without a terminal and without --yes: exit 2, public_url unchanged, Funnel not turned on', async () => {
    using w = world();
    const before = readFileSync(w.config, 'utf8');
    const r = await inProcess(w, ['on']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.split('\n').slice(0, 2)).toEqual([
      `error: the funnel needs public_url: https://${DNS} in ${w.config}; not turning it on without --yes`,
      `hint: mcpgw funnel on --yes --config ${w.config}`,
    ]);
    expect(w.args()).toEqual(['status --json']);
    expect(w.state()).toBeUndefined();
    expect(readFileSync(w.config, 'utf8')).toBe(before);
  });

  test('on --yes: sets public_url in the config, keeping its comments', async () => {
    using w = world();
    const before = readFileSync(w.config, 'utf8');
    const r = await inProcess(w, ['on', '--yes']);
    expect(r.code).toBe(0);
    expect(w.args()).toEqual(ON_ARGS);
    expect(r.stdout).toBe(`https://${DNS}/mcp\n`);
    expect(r.stderr).toContain(`✓ public_url set to https://${DNS} in ${w.config}; 'mcpgw serve' uses it when it starts`);
    expect(readFileSync(w.config, 'utf8')).toBe(before.replace('listen: 127.0.0.1:4444   # loopback\n', `listen: 127.0.0.1:4444   # loopback\npublic_url: https://${DNS}\n`).replace(/\nbackends/, '\nbackends'));
  });

  test('on, on a terminal: asks (default No); "y" sets public_url', async () => {
    using w = world();
    const no = await inProcess(w, ['on'], { tty: [''] });
    expect(no.prompts).toEqual([`Set public_url to https://${DNS} in ${w.config}? [y/N] `]);
    expect(no.code).toBe(1);
    expect(w.state()).toBeUndefined();
    expect(readFileSync(w.config, 'utf8')).not.toContain('public_url:');
    const yes = await inProcess(w, ['on'], { tty: ['y'] });
    expect(yes.code).toBe(0);
    expect(readFileSync(w.config, 'utf8')).toContain(`public_url: https://${DNS}`);
  });

  test('on when public_url already matches: no question', async () => {
    using w = world({ config: `listen: 127.0.0.1:4444\npublic_url: https://${DNS}\nauth:\n  mode: oauth\n` });
    const r = await inProcess(w, ['on'], { tty: [] });
    expect(r.prompts).toEqual([]);
    expect(r.stderr).toContain(`✓ public_url is https://${DNS}`);
  });

  test('on --json prints the stable shape', async () => {
    using w = world();
    const r = await inProcess(w, ['on', '--json', '--yes']);
    expect(JSON.parse(r.stdout)).toEqual({ enabled: true, url: `https://${DNS}`, target: 'http://127.0.0.1:4444' });
  });

  test('on: what claude.ai fetches failing through the funnel is a warning with a hint, not an error', async () => {
    using w = world();
    const down = (async () => {
      throw new TypeError('fetch failed');
    }) as unknown as FetchFn;
    const r = await inProcess(w, ['on', '--yes'], { fetch: down });
    expect(r.code).toBe(0);
    for (const path of ['/.well-known/oauth-protected-resource/mcp', '/.well-known/oauth-authorization-server', '/mcp']) {
      expect(r.stderr).toContain(`warning: https://${DNS}${path} did not answer: fetch failed`);
    }
    expect(r.stderr).toContain(`hint: is 'mcpgw serve' running on 127.0.0.1:4444?`);
    const refused = await inProcess(w, ['on', '--yes'], { fetch: (async () => new Response('Forbidden', { status: 403 })) as unknown as FetchFn });
    expect(refused.stderr).toContain(`warning: https://${DNS}/mcp answered 403, not 401 (the host is not allowed: is public_url set and the gateway reloaded?)`);
  });

  test('on with auth.mode none: exit 2, tailscale never runs', async () => {
    using w = world({ config: 'listen: 127.0.0.1:4444\nauth:\n  mode: none\n' });
    const r = await inProcess(w, ['on']);
    expect(r.code).toBe(2);
    expect(firstLine(r.stderr)).toBe('error: refusing to put a gateway without authentication on the internet (auth.mode is none)');
    expect(r.stderr).toContain("hint: set 'auth: { mode: oauth }' and run 'mcpgw passwd', then 'mcpgw funnel on'");
    expect(w.args()).toEqual([]);
  });

  test('on refuses to replace a funnel that serves something else', async () => {
    using w = world({ funnelTarget: 'http://127.0.0.1:8080' });
    const r = await inProcess(w, ['on', '--yes']);
    expect(r.code).toBe(1);
    expect(firstLine(r.stderr)).toBe(`error: the funnel on https://${DNS} already serves http://127.0.0.1:8080, not this gateway (127.0.0.1:4444)`);
    expect(w.args()).toEqual(['status --json', 'funnel status --json']);
  });

  test('on: tailscale printed an enable link and exited 0 without enabling -> error with the link relayed', async () => {
    using w = world({ scenario: 'enable-link' });
    const r = await inProcess(w, ['on', '--yes']);
    expect(r.code).toBe(1);
    expect(firstLine(r.stderr)).toBe('error: tailscale did not turn Funnel on');
    expect(r.stderr).toContain('  tailscale: https://login.tailscale.com/f/funnel?node=nTESTCNTRL');
    expect(r.stderr.trimEnd().split('\n').at(-1)).toStartWith('hint: follow the link tailscale printed above');
  });

  test('status: off, then on, as text and --json', async () => {
    using w = world();
    const off = await inProcess(w, ['status']);
    expect(off.code).toBe(0);
    expect(off.stdout).toBe('○ off\n');
    expect(JSON.parse((await inProcess(w, ['status', '--json'])).stdout)).toEqual({ enabled: false, url: null, target: null });
    await inProcess(w, ['on', '--yes']);
    const on = await inProcess(w, ['--json']);
    // healthOk answers 200 "ok" to everything: not what claude.ai needs.
    const checks = { protected_resource: false, authorization_server: false, mcp_challenge: false };
    expect(JSON.parse(on.stdout)).toEqual({ enabled: true, url: `https://${DNS}`, target: 'http://127.0.0.1:4444', checks });
    expect((await inProcess(w, ['status'])).stdout).toBe(`✓ on  https://${DNS}/mcp -> http://127.0.0.1:4444\n`);
  });

  test('status warns when the funnel serves another port', async () => {
    using w = world({ funnelTarget: 'http://127.0.0.1:8080' });
    const r = await inProcess(w, ['status']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('warning: the funnel serves http://127.0.0.1:8080, not this gateway (127.0.0.1:4444)\n');
  });

  test('off: runs `tailscale funnel --https=443 off` and confirms with status', async () => {
    using w = world({ funnelTarget: 'http://127.0.0.1:4444' });
    const r = await inProcess(w, ['off', '--json']);
    expect(r.code).toBe(0);
    expect(w.args()).toEqual(['funnel status --json', 'funnel --https=443 off', 'funnel status --json']);
    expect(firstLine(r.stderr)).toBe(`✓ funnel off: https://${DNS} no longer reaches this gateway`);
    expect(JSON.parse(r.stdout)).toEqual({ enabled: false, url: null, target: null });
  });

  test('off when already off: exit 0, tailscale funnel is not touched', async () => {
    using w = world();
    const r = await inProcess(w, ['off']);
    expect(r.code).toBe(0);
    expect(firstLine(r.stderr)).toBe('✓ funnel is already off');
    expect(w.args()).toEqual(['funnel status --json']);
  });

  test('off leaves another service\'s funnel alone', async () => {
    using w = world({ funnelTarget: 'http://127.0.0.1:8080' });
    const r = await inProcess(w, ['off']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('hint: turn it off anyway with: tailscale funnel --https=443 off');
    expect(w.state()).toBe('http://127.0.0.1:8080');
  });

  const failures: [string, string[], string, string][] = [
    ['not installed', [], "error: tailscale is not installed (no 'tailscale' on PATH)", 'hint: install it (https://tailscale.com/download'],
    ['not-running', ['status --json'], 'error: tailscaled is not running', 'hint: start it: sudo systemctl enable --now tailscaled'],
    ['logged-out', ['status --json'], 'error: tailscale is not logged in', "hint: log in: sudo tailscale up, then run 'mcpgw funnel on' again"],
    ['logged-out-url', ['status --json'], 'error: tailscale is not logged in', 'hint: log in at https://login.tailscale.com/a/abc123 (or run: sudo tailscale up)'],
    ['stopped', ['status --json'], 'error: tailscale is stopped', 'hint: start it: sudo tailscale up'],
    ['no-https', ['status --json'], 'error: HTTPS certificates are not enabled for this tailnet (Funnel needs them)', 'hint: enable HTTPS at https://login.tailscale.com/admin/dns'],
    ['no-funnel', ['status --json'], 'error: Funnel is not allowed for this machine by the tailnet policy', 'hint: add a nodeAttrs entry with "attr": ["funnel"]'],
    ['no-port', ['status --json'], 'error: the tailnet policy does not allow Funnel on port 443 (no ports allowed)', 'hint: allow port 443'],
    ['no-https-text', ['status --json', 'funnel status --json', 'funnel --bg 4444'], 'error: HTTPS certificates are not enabled for this tailnet (Funnel needs them)', 'hint: enable HTTPS'],
    ['no-funnel-text', ['status --json', 'funnel status --json', 'funnel --bg 4444'], 'error: Funnel is not allowed for this machine by the tailnet policy', 'hint: add a nodeAttrs entry'],
    ['access-denied', ['status --json', 'funnel status --json', 'funnel --bg 4444'], 'error: tailscale refused: this user may not change the serve config', 'hint: allow it once with: sudo tailscale set --operator=$USER'],
    ['too-old', ['status --json', 'funnel status --json', 'funnel --bg 4444'], 'error: this tailscale is too old for `tailscale funnel --bg` (1.52 or newer is needed)', 'hint: update it'],
  ];
  for (const [scenario, args, error, hint] of failures) {
    test(`on, ${scenario} -> exit 1, "${error}"`, async () => {
      using w = world(scenario === 'not installed' ? { installed: false } : { scenario });
      const r = await inProcess(w, ['on', '--yes']);
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      const [first, second] = r.stderr.split('\n');
      expect(first).toBe(error);
      expect(second).toStartWith(hint);
      expect(w.args()).toEqual(args);
    });
  }

  test('a tailscale on PATH that cannot be started is reported as such, not as "not installed"', async () => {
    using w = world();
    // An empty executable file: found on PATH, refused by the kernel (ENOEXEC).
    writeFileSync(join(w.dir, 'bin', 'tailscale'), '');
    const r = await inProcess(w, ['on', '--yes']);
    expect(r.code).toBe(1);
    const [first, second] = r.stderr.split('\n');
    expect(first).toStartWith('error: tailscale status --json failed: ');
    expect(first).toContain('ENOEXEC');
    expect(first).not.toContain('not installed');
    expect(second).toBe("hint: run 'tailscale status --json' yourself to see all of its output");
  });

  test('a config that does not validate -> exit 2 before tailscale runs', async () => {
    using w = world({ config: 'listen: nope\n' });
    const r = await inProcess(w, ['status']);
    expect(r.code).toBe(2);
    expect(firstLine(r.stderr)).toStartWith('error: invalid config');
    expect(w.args()).toEqual([]);
  });

  test('an unknown action is a usage error', async () => {
    using w = world();
    expect((await inProcess(w, ['up'])).code).toBe(2);
  });

  test('--help has a description and examples', async () => {
    using w = world();
    const r = await runCli(['funnel', '--help'], { register: (p, c) => registerFunnel(p, c, scriptedInput([])) });
    expect(r.stdout).toContain('Put the gateway on the internet with Tailscale Funnel');
    expect(r.stdout).toContain('Examples:');
  });
});

describe('mcpgw funnel (compiled binary, stand-in tailscale on PATH)', () => {
  beforeAll(() => ensureBinary());

  test('on --yes: args, stdout URL, public_url set, and warnings because the ts.net name does not resolve', async () => {
    using w = world();
    const r = await runBinary(['funnel', 'on', '--yes', '--config', w.config], { env: w.env });
    expect(r.code).toBe(0);
    expect(w.args()).toEqual(ON_ARGS);
    expect(r.stdout).toBe(`https://${DNS}/mcp\n`);
    expect(firstLine(r.stderr)).toBe(`✓ funnel on: https://${DNS} -> http://127.0.0.1:4444`);
    expect(r.stderr).toContain(`warning: https://${DNS}/.well-known/oauth-protected-resource/mcp did not answer`);
    expect(readFileSync(w.config, 'utf8')).toContain(`public_url: https://${DNS}\n`);
  });

  test('status --json after on, then off', async () => {
    using w = world({ funnelTarget: 'http://127.0.0.1:4444' });
    const st = await runBinary(['funnel', 'status', '--json', '--config', w.config], { env: w.env });
    expect(st.code).toBe(0);
    const checks = { protected_resource: false, authorization_server: false, mcp_challenge: false };
    expect(JSON.parse(st.stdout)).toEqual({ enabled: true, url: `https://${DNS}`, target: 'http://127.0.0.1:4444', checks });
    const off = await runBinary(['funnel', 'off', '--config', w.config], { env: w.env });
    expect(off.code).toBe(0);
    expect(firstLine(off.stderr)).toBe(`✓ funnel off: https://${DNS} no longer reaches this gateway`);
    expect(w.args()).toEqual(['funnel status --json', 'funnel status --json', 'funnel --https=443 off', 'funnel status --json']);
  });

  const failures: [string, string][] = [
    ['not installed', "error: tailscale is not installed (no 'tailscale' on PATH)"],
    ['not-running', 'error: tailscaled is not running'],
    ['logged-out', 'error: tailscale is not logged in'],
    ['no-https', 'error: HTTPS certificates are not enabled for this tailnet (Funnel needs them)'],
    ['no-funnel', 'error: Funnel is not allowed for this machine by the tailnet policy'],
    ['no-funnel-text', 'error: Funnel is not allowed for this machine by the tailnet policy'],
  ];
  for (const [scenario, error] of failures) {
    test(`on, ${scenario} -> exit 1 and "${error}"`, async () => {
      using w = world(scenario === 'not installed' ? { installed: false } : { scenario });
      const r = await runBinary(['funnel', 'on', '--yes', '--config', w.config], { env: w.env });
      expect(r.code).toBe(1);
      expect(firstLine(r.stderr)).toBe(error);
      expect(r.stderr.split('\n')[1]).toStartWith('hint: ');
    });
  }

  test('on with auth.mode none -> exit 2', async () => {
    using w = world({ config: 'listen: 127.0.0.1:4444\nauth:\n  mode: none\n' });
    const r = await runBinary(['funnel', 'on', '--config', w.config], { env: w.env });
    expect(r.code).toBe(2);
    expect(w.args()).toEqual([]);
  });
});

/**
 * What tailscaled does for a funnel: the request reaches the listener on loopback with the public Host kept. This
 * fetch does the same for the stand-in's name, so the real gateway is reached as claude.ai reaches it.
 */
function viaFunnel(port: number): FetchFn {
  return (async (input: string | URL | Request, init?: RequestInit) => {
    const u = new URL(String(input instanceof Request ? input.url : input));
    if (u.host !== DNS) return fetch(input, init);
    const headers = new Headers(init?.headers);
    headers.set('host', DNS);
    headers.set('x-forwarded-for', '203.0.113.7');
    headers.set('x-forwarded-proto', 'https');
    return fetch(`http://127.0.0.1:${port}${u.pathname}${u.search}`, { ...init, headers });
  }) as unknown as FetchFn;
}

describe('issue 8 finding 4: funnel on finishes the job against a running gateway (compiled serve)', () => {
  beforeAll(() => ensureBinary());

  test('public_url set with --yes, the running gateway allows the funnel host without a restart, and the claude.ai fetches work', async () => {
    using w = world();
    const port = freePort();
    await using gw = await startGatewayProcess((dir) => ({
      listen: `127.0.0.1:${port}`,
      data_dir: join(dir, 'state'),
      auth: { mode: 'oauth', password_hash: '$argon2id$v=19$m=65536,t=2,p=1$c2FsdA$aGFzaA' },
      backends: {},
    }));
    const through = viaFunnel(port);
    const run = (args: string[], tty?: string[]) => {
      const input = scriptedInput(tty ?? [], { isTTY: tty !== undefined });
      return runCli(['funnel', ...args, '--config', gw.configPath], { register: (p, c) => registerFunnel(p, c, input), env: w.env, deps: { fetch: through }, isTTY: tty !== undefined });
    };
    const initialize = { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } } }) };
    // Before: the gateway names its loopback URL as the resource, so claude.ai cannot sign in through the funnel.
    const prm = (await (await through(`https://${DNS}/.well-known/oauth-protected-resource/mcp`)).json()) as { resource: string };
    expect(prm.resource).toBe(`http://127.0.0.1:${port}/mcp`);
    const before = readFileSync(gw.configPath, 'utf8');
    const refused = await run(['on']);
    expect(refused.code).toBe(2);
    expect(w.state()).toBeUndefined();
    expect(readFileSync(gw.configPath, 'utf8')).toBe(before);

    const on = await run(['on', '--yes']);
    expect(on.code).toBe(0);
    expect(on.stderr).toContain(`✓ public_url set to https://${DNS} in ${gw.configPath}; the running gateway uses it now\n`);
    for (const path of ['/.well-known/oauth-protected-resource/mcp', '/.well-known/oauth-authorization-server']) {
      expect(on.stderr).toContain(`✓ https://${DNS}${path} answered 200 through the funnel`);
    }
    expect(on.stderr).toContain(`✓ https://${DNS}/mcp answered 401 through the funnel`);
    expect(on.stderr).not.toContain('warning:');
    const challenge = (await through(`https://${DNS}/mcp`, initialize)).headers.get('www-authenticate');
    expect(challenge).toContain(`resource_metadata="https://${DNS}/.well-known/oauth-protected-resource/mcp"`);
    // A signed-in call through the funnel host is served, not refused with 403 "Host not allowed".
    const created = await runBinary(['tokens', 'create', '--name', 'funnel', '--json', '--config', gw.configPath]);
    const { token } = JSON.parse(created.stdout) as { token: string };
    const authed = await through(`https://${DNS}/mcp`, { ...initialize, headers: { ...initialize.headers, authorization: `Bearer ${token}` } });
    expect(authed.status).toBe(200);
    // No restart: one process, one `listening` line.
    expect(gw.logs.filter((l) => l.msg === 'listening')).toHaveLength(1);

    const status = await run(['status', '--json']);
    expect(JSON.parse(status.stdout)).toEqual({
      enabled: true,
      url: `https://${DNS}`,
      target: `http://127.0.0.1:${port}`,
      checks: { protected_resource: true, authorization_server: true, mcp_challenge: true },
    });
  }, 30_000);
});
