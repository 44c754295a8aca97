/** @module A tiny world for OAuth tests: Bun.serve on port 0 routing to the auth server plus a protected /mcp. */
import type { Database } from 'bun:sqlite';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { manualClock, secureRandom, type Deps } from '../../src/deps.ts';
import type { VerifierOptions } from '../../src/auth/verifier.ts';
import type { Logger } from '../../src/log.ts';
import type { AuthEvent } from '../../src/oauth/events.ts';
import { createAuthServer, type AuthServer } from '../../src/oauth/server.ts';
import type { AuthSettings } from '../../src/oauth/settings.ts';
import { AuditLog } from '../../src/store/audit.ts';
import { openStore } from '../../src/store/db.ts';
import { tlsFetch } from './oauth-tls.ts';

/** The owner password every world uses. */
export const PASSWORD = 'correct horse battery staple';

let hashed: Promise<string> | undefined;
/** argon2id hash of PASSWORD with a low cost, made once per process. */
export function passwordHash(): Promise<string> {
  hashed ??= Bun.password.hash(PASSWORD, { algorithm: 'argon2id', memoryCost: 4096, timeCost: 1 });
  return hashed;
}

/** One captured log line. */
export interface LogLine {
  level: string;
  msg: string;
  fields: Record<string, unknown>;
}

function captureLogger(lines: LogLine[], base: Record<string, unknown> = {}): Logger {
  const emit = (level: string) => (msg: string, fields?: Record<string, unknown>) => void lines.push({ level, msg, fields: { ...base, ...fields } });
  return {
    debug: emit('debug'),
    info: emit('info'),
    warn: emit('warn'),
    error: emit('error'),
    child: (f) => captureLogger(lines, { ...base, ...f }),
    setLevel() {},
  };
}

/** Settings overrides, one level deep for the nested sections. */
export interface SettingsOverrides extends Partial<Omit<AuthSettings, 'registration' | 'cimd' | 'login'>> {
  registration?: Partial<AuthSettings['registration']>;
  cimd?: Partial<AuthSettings['cimd']>;
  login?: Partial<AuthSettings['login']>;
}

/** Defaults as the config schema documents them (durations in ms), with CIMD allowed on loopback for tests. */
export function testSettings(hash: string | undefined, o: SettingsOverrides = {}): AuthSettings {
  return {
    mode: o.mode ?? 'oauth',
    password_hash: 'password_hash' in o ? o.password_hash : hash,
    access_token_ttl: o.access_token_ttl ?? 60 * 60 * 1000,
    refresh_token_ttl: o.refresh_token_ttl ?? 30 * 24 * 60 * 60 * 1000,
    refresh_grace: o.refresh_grace ?? 2 * 60 * 1000,
    code_ttl: o.code_ttl ?? 60 * 1000,
    registration: { enabled: true, rate_limit: 30, unused_client_ttl: 24 * 60 * 60 * 1000, ...o.registration },
    cimd: { enabled: true, allow_private_addresses: true, allow_http: false, timeout: 5000, max_bytes: 5 * 1024, ...o.cimd },
    clients: o.clients ?? [],
    login: { max_failures: 10, lockout: 15 * 60 * 1000, global_max_failures: 100, ...o.login },
  };
}

/** A running world; dispose with `await using`. */
export interface OAuthWorld extends AsyncDisposable {
  /** The public URL (issuer), e.g. http://127.0.0.1:PORT. */
  url: string;
  resource: string;
  clock: ReturnType<typeof manualClock>;
  auth: AuthServer;
  db: Database;
  dbPath: string;
  dataDir: string;
  settings: AuthSettings;
  /** Mutable: what backendNames() returns. */
  backends: string[];
  logs: LogLine[];
  /** The audit log the auth server records into (flush it before reading `audit_log`). */
  audit: AuditLog;
  /** Every event the auth server reported (onEvent), oldest first. */
  events: AuthEvent[];
  deps: Deps;
  /** Closes the auth server and database and opens new ones on the same data_dir, like a process restart. */
  restart(): Promise<void>;
}

/** Options for startOAuthWorld. */
export interface WorldOptions {
  settings?: SettingsOverrides;
  backends?: string[];
  /** Backend descriptions shown on the consent page. */
  descriptions?: Record<string, string>;
  /** Reuse a data dir (it is then not deleted on dispose). */
  dataDir?: string;
  /** Verified-token cache tuning passed to createAuthServer. */
  bearerCache?: VerifierOptions;
}

/** Test-only header that overrides the peer address, to simulate several client IPs. */
export const TEST_IP_HEADER = 'x-test-client-ip';

/** Starts the world: temp data dir with a real SQLite file, manual clock, loopback server. */
export async function startOAuthWorld(opts: WorldOptions = {}): Promise<OAuthWorld> {
  const ownsDir = opts.dataDir === undefined;
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'mcpgw-oauth-'));
  const dbPath = join(dataDir, 'mcpgw.db');
  const clock = manualClock(Date.UTC(2026, 0, 1));
  const logs: LogLine[] = [];
  const backends = opts.backends ?? ['github', 'notes', 'weather'];
  const deps: Deps = {
    clock,
    fetch: tlsFetch,
    random: secureRandom,
    spawn: () => {
      throw new Error('no spawning in oauth tests');
    },
    log: captureLogger(logs),
    env: {},
  };
  let auth: AuthServer | undefined;
  const server = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    fetch: async (req, srv) => {
      const ip = req.headers.get(TEST_IP_HEADER) ?? srv.requestIP(req)?.address ?? '127.0.0.1';
      const handled = await auth!.handle(req, ip);
      if (handled) return handled;
      const path = new URL(req.url).pathname;
      if (path !== '/mcp' && path !== '/status') return new Response('not found', { status: 404 });
      const result = await auth!.authenticate(req, ip);
      return result.ok ? Response.json({ ok: true, principal: result.principal }) : result.response;
    },
  });
  const url = `http://127.0.0.1:${server.port}`;
  const settings = testSettings(await passwordHash(), opts.settings);
  const world = {
    url,
    resource: `${url}/mcp`,
    clock,
    dataDir,
    dbPath,
    settings,
    backends,
    logs,
    events: [] as AuthEvent[],
    deps,
    db: openStore(dbPath),
  } as OAuthWorld;
  const start = async () => {
    world.audit = new AuditLog(world.db, { clock, log: deps.log, logArguments: false, retentionMs: 365 * 24 * 60 * 60 * 1000, flushMs: 60_000, pruneMs: 0 });
    const audit = world.audit;
    auth = await createAuthServer({ settings, publicUrl: url, db: world.db, dataDir, backendNames: () => world.backends, backendDescriptions: () => opts.descriptions ?? {}, deps, bearerCache: opts.bearerCache, onEvent: (e) => void world.events.push(e), audit: (e) => audit.auth(e) });
    world.auth = auth;
  };
  await start();
  world.restart = async () => {
    auth!.close();
    world.audit.close();
    world.db.close();
    world.db = openStore(dbPath);
    await start();
  };
  world[Symbol.asyncDispose] = async () => {
    await server.stop(true);
    auth?.close();
    world.audit?.close();
    world.db.close();
    if (ownsDir) rmSync(dataDir, { recursive: true, force: true });
  };
  return world;
}
