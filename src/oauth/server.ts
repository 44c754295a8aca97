/** @module createAuthServer: mounts the OAuth 2.1 authorization server and the resource-server check for /mcp. */
import type { Database } from 'bun:sqlite';
import type { AuthResult, Principal } from '../auth/bearer.ts';
import { createBearerVerifier, type RevokedListener, type VerifierOptions } from '../auth/verifier.ts';
import type { Deps } from '../deps.ts';
import type { AuthEventRecorder } from '../store/audit.ts';
import { randomToken } from '../store/secrets.ts';
import { sweepStore } from '../store/sweep.ts';
import { handleAuthorizeRequest, newNonce } from './authorize.ts';
import { createCimdResolver } from './cimd.ts';
import { clientAddress, createTrustedProxies, DEFAULT_TRUSTED_PROXIES } from './client-address.ts';
import { createClientDirectory } from './clients.ts';
import { handleConsent } from './consent.ts';
import type { AuthContext } from './context.ts';
import { authEventSink, type AuthEventSink } from './events.ts';
import { OAuthError } from './errors.ts';
import { errorPage } from './html.ts';
import { jwksDocument, loadOrCreateSigningKey } from './keys.ts';
import { createLoginThrottle } from './login-throttle.ts';
import { authorizationServerMetadata, endpointsFor, openIdConfiguration, protectedResourceMetadata } from './metadata.ts';
import { handleRegister } from './register.ts';
import { mediaType, parseForm, parseQuery, readBodyText } from './request.ts';
import { methodNotAllowed, oauthErrorResponse, preflight, withCors } from './respond.ts';
import { handleRevoke } from './revoke.ts';
import type { AuthSettings } from './settings.ts';
import { handleToken, MAX_FORM_BYTES } from './token.ts';
import { createTraceRecorder, type TraceLimits } from './trace-record.ts';
import { traceAuthentication, traceRoute } from './trace-steps.ts';
import { peerAddress, type PeerAddress } from '../http/peer.ts';

export type { AuthResult, Principal } from '../auth/bearer.ts';

/** The mounted authorization server. */
export interface AuthServer {
  /**
   * Serves /.well-known/*, /authorize, /token, /register, /revoke, /jwks.json (+ CORS preflights); undefined for other
   * paths. `peerIp` is the TCP peer; behind a trusted proxy the client address comes from X-Forwarded-For.
   */
  handle(req: Request, peerIp: string): Promise<Response | undefined>;
  /** Resource-server check for /mcp and /status: 401 + WWW-Authenticate when missing/invalid; refuses query-string tokens. */
  /** Synchronous for a cached token that needs no trace (the per-call path), else a promise. */
  authenticate(req: Request, peerIp?: PeerAddress): AuthResult | Promise<AuthResult>;
  /**
   * Subscribes to revoked grants: `/revoke` of a refresh token, refresh-token or code reuse, and revocations
   * by another process (the CLI) noticed in the database within a second. Returns the unsubscribe function.
   */
  onRevoked(listener: RevokedListener): () => void;
  /** Stops the timers and writes pending last-used times. The database is the caller's to close. */
  close(): void;
}

/** Options for createAuthServer. */
export interface AuthServerOptions {
  settings: AuthSettings;
  /** Origin the gateway is reached at, e.g. "https://gw.example.com": the issuer; resource = publicUrl + "/mcp". */
  publicUrl: string;
  db: Database;
  dataDir: string;
  backendNames: () => string[];
  /** Each backend's `description` from the config, for the consent page. */
  backendDescriptions?: () => Record<string, string>;
  deps: Deps;
  /** `http.trusted_proxies`: peers whose X-Forwarded-For is believed; default loopback (DEFAULT_TRUSTED_PROXIES). */
  trustedProxies?: readonly string[];
  /** Records auth events in the audit log (issue 9 item 1); absent in tests that do not read it. */
  audit?: AuthEventRecorder;
  /** Tuning of the sign-in trace's rate limit; defaults in oauth/trace-record.ts. */
  traceLimits?: TraceLimits;
  /** Tuning of the verified-token cache (tests shorten the intervals); defaults in auth/verifier.ts. */
  bearerCache?: VerifierOptions;
  /** Told of each sign-in event (registration, consent, failed password, tokens issued/refreshed/revoked, reuse). */
  onEvent?: AuthEventSink;
}

const SWEEP_INTERVAL = 10 * 60 * 1000;
const HOUR = 60 * 60 * 1000;

/** Principal used when `auth.mode` is `none`: every request is the owner with every backend. */
export const ANONYMOUS_PRINCIPAL: Principal = {
  subject: 'anonymous',
  clientId: 'anonymous',
  grantId: 'none',
  backends: null,
  scopes: [],
  expiresAt: Number.MAX_SAFE_INTEGER,
  kind: 'personal',
};

type Route = { methods: string[]; cors: boolean; run: (req: Request, ip: string) => Promise<Response> | Response };

/** Creates the authorization server: loads or generates the signing key, starts the cleanup timer. */
export async function createAuthServer(opts: AuthServerOptions): Promise<AuthServer> {
  const { settings, db, deps } = opts;
  const endpoints = endpointsFor(opts.publicUrl);
  if (settings.mode === 'none') {
    return {
      handle: async () => undefined,
      authenticate: async () => ({ ok: true, principal: ANONYMOUS_PRINCIPAL }),
      onRevoked: () => () => {},
      close() {},
    };
  }
  const log = deps.log.child({ component: 'oauth' });
  const key = await loadOrCreateSigningKey(opts.dataDir, log);
  const ctxDeps = { ...deps, log };
  const verifier = createBearerVerifier({ endpoints, db, key, clock: deps.clock, log }, opts.bearerCache);
  const cimd = createCimdResolver(settings.cimd, ctxDeps);
  const audit = auditSafely(opts.audit, log);
  const ctx: AuthContext = {
    settings,
    endpoints,
    db,
    deps: ctxDeps,
    key,
    clients: createClientDirectory(settings, db, cimd),
    throttle: createLoginThrottle(db, settings.login, deps.clock, log),
    backendNames: opts.backendNames,
    backendDescriptions: opts.backendDescriptions,
    revocations: verifier,
    events: authEventSink(opts.onEvent),
    audit,
    trace: createTraceRecorder(audit, deps.clock, log, (grantId) => firstCallStored(db, grantId), opts.traceLimits),
  };
  const sweep = () => {
    try {
      sweepStore(db, deps.clock.now(), { unusedClientTtl: settings.registration.unused_client_ttl, rateWindow: HOUR, lockout: settings.login.lockout });
    } catch (err) {
      log.warn('store cleanup failed', { error: err });
    }
  };
  sweep();
  const timer = setInterval(sweep, SWEEP_INTERVAL);
  timer.unref?.();
  const routes = routeTable(ctx, sweep);
  const trusted = createTrustedProxies(opts.trustedProxies ?? DEFAULT_TRUSTED_PROXIES);
  const addressOf = (req: Request, peer: string) => clientAddress(peer, req.headers.get('x-forwarded-for'), trusted);
  // A personal token, or an OAuth grant whose first call is recorded: nothing to trace (the common case).
  const untraced = (result: AuthResult) => result.ok && (result.principal.kind !== 'oauth' || ctx.trace.knowsFirstCall(result.principal.grantId));
  const traced = async (req: Request, peer: PeerAddress | undefined, pending: AuthResult | Promise<AuthResult>): Promise<AuthResult> => {
    const result = await pending;
    if (untraced(result)) return result;
    const ip = peerAddress(peer);
    await traceAuthentication(req, result, ip === undefined ? undefined : addressOf(req, ip), ctx);
    return result;
  };
  return {
    handle: async (req, peer) => {
      const ip = addressOf(req, peer);
      const res = await dispatch(routes, req, ip, ctx);
      if (res) await traceRoute(req, res, ip, ctx);
      return res;
    },
    authenticate: (req, peer) => {
      const result = verifier.authenticate(req);
      return result instanceof Promise || !untraced(result) ? traced(req, peer, result) : result;
    },
    onRevoked: (listener) => verifier.onRevoked(listener),
    close: () => {
      clearInterval(timer);
      verifier.close();
    },
  };
}

/** Whether the audit log already holds the first MCP request of this grant (from before a restart). */
function firstCallStored(db: Database, grantId: string): boolean {
  return db.query("SELECT 1 FROM audit_log WHERE kind = 'auth' AND event = 'mcp_first_call' AND grant_id = ? LIMIT 1").get(grantId) !== null;
}

/** An audit recorder that never throws into a handler (or a no-op when there is none). */
function auditSafely(record: AuthEventRecorder | undefined, log: Deps['log']): AuthEventRecorder {
  return (e) => {
    try {
      record?.(e);
    } catch (err) {
      log.warn('could not record an auth event', { event: e.event, error: err });
    }
  };
}

/** Every path, its methods and whether browsers may call it cross-origin, on one screen. */
function routeTable(ctx: AuthContext, sweep: () => void): Map<string, Route> {
  const json = (body: () => unknown) => () =>
    new Response(JSON.stringify(body()), { headers: { 'Content-Type': 'application/json', 'Cache-Control': 'public, max-age=300' } });
  const prm = json(() => protectedResourceMetadata(ctx.endpoints));
  const asm = json(() => authorizationServerMetadata(ctx.endpoints, ctx.settings));
  const routes: [string, Route][] = [
    ['/.well-known/oauth-protected-resource', { methods: ['GET', 'HEAD'], cors: true, run: prm }],
    ['/.well-known/oauth-protected-resource/mcp', { methods: ['GET', 'HEAD'], cors: true, run: prm }],
    ['/.well-known/oauth-authorization-server', { methods: ['GET', 'HEAD'], cors: true, run: asm }],
    ['/.well-known/oauth-authorization-server/mcp', { methods: ['GET', 'HEAD'], cors: true, run: asm }],
    ['/.well-known/openid-configuration', { methods: ['GET', 'HEAD'], cors: true, run: json(() => openIdConfiguration(ctx.endpoints, ctx.settings)) }],
    ['/jwks.json', { methods: ['GET', 'HEAD'], cors: true, run: json(() => jwksDocument(ctx.key)) }],
    ['/authorize', { methods: ['GET', 'POST'], cors: false, run: (req, ip) => authorizeEndpoint(req, ip, ctx) }],
    ['/token', { methods: ['POST'], cors: true, run: (req, ip) => handleToken(req, ctx, ip) }],
    ['/revoke', { methods: ['POST'], cors: true, run: (req) => handleRevoke(req, ctx) }],
  ];
  if (ctx.settings.registration.enabled) {
    const register = (req: Request, ip: string) => {
      sweep();
      return handleRegister(req, ip, ctx);
    };
    routes.push(['/register', { methods: ['POST'], cors: true, run: register }]);
  }
  return new Map(routes);
}

async function dispatch(routes: Map<string, Route>, req: Request, ip: string, ctx: AuthContext): Promise<Response | undefined> {
  const route = routes.get(new URL(req.url).pathname);
  if (!route) return undefined;
  if (req.method === 'OPTIONS' && route.cors) return preflight();
  let res: Response;
  if (!route.methods.includes(req.method)) {
    res = methodNotAllowed([...route.methods, ...(route.cors ? ['OPTIONS'] : [])].join(', '));
  } else {
    try {
      res = await route.run(req, ip);
    } catch (err) {
      const logId = randomToken(ctx.deps.random, 6);
      res = route.cors ? oauthErrorResponse(err, ctx.deps.log, logId) : pageForError(err, ctx, logId);
    }
  }
  return route.cors ? withCors(res) : res;
}

function pageForError(err: unknown, ctx: AuthContext, logId: string): Response {
  if (err instanceof OAuthError) return errorPage('Invalid request', err.description, newNonce(ctx), err.status);
  ctx.deps.log.error('authorization endpoint failed', { log_id: logId, error: err });
  return errorPage('Something went wrong', `Internal error (log id ${logId}).`, newNonce(ctx), 500);
}

/** GET (or POST without a consent record) is an authorization request; POST with `request` is the consent answer. */
async function authorizeEndpoint(req: Request, ip: string, ctx: AuthContext): Promise<Response> {
  const src = { ip, userAgent: req.headers.get('user-agent') };
  if (req.method === 'GET') return handleAuthorizeRequest(parseQuery(new URL(req.url)), ctx, src);
  // Browsers send `Origin: null` under Referrer-Policy no-referrer; any real foreign origin is a cross-site post.
  const origin = req.headers.get('origin');
  if (origin && origin !== 'null' && origin !== ctx.endpoints.issuer) throw new OAuthError('invalid_request', 'cross-origin form post refused', 403);
  if (mediaType(req) !== 'application/x-www-form-urlencoded') throw new OAuthError('invalid_request', 'form body expected');
  const form = parseForm(await readBodyText(req, MAX_FORM_BYTES), ['backend']);
  return form.has('request') ? handleConsent(form, ip, ctx) : handleAuthorizeRequest(form, ctx, src);
}
