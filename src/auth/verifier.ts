/** @module The bearer check per request, made cheap: verified tokens cached for seconds, last-used writes batched, revocations applied at once. */
import { OAuthError } from '../oauth/errors.ts';
import { dataVersion } from '../store/db.ts';
import { revokedGrantIds, touchGrants } from '../store/grants.ts';
import { revokedAccessTokenIds } from '../store/tokens.ts';
import { checkBearerToken, invalidTokenResult, parseAuthorization, refuseQueryToken, unauthorizedResponse, type AuthResult, type BearerContext, type CheckedToken } from './bearer.ts';

/** Tuning of the verified-token cache; every field has a default. */
export interface VerifierOptions {
  /** How long a verified token is trusted without looking at the database again (ms, injected clock). Default 5 s. */
  cacheTtl?: number;
  /** Most tokens cached at once; the oldest is dropped first. Default 10,000. */
  maxEntries?: number;
  /** Grants watched for revocation by another process (those that authenticated lately). Default 10,000. */
  maxWatched?: number;
  /** How often `PRAGMA data_version` is read to notice another process's writes (real ms). Default 250. */
  pollInterval?: number;
  /** How often batched last-used times are written (real ms). Default 5 s. */
  flushInterval?: number;
}

/** Listener for revoked grants: ids of the grants whose tokens stopped working. */
export type RevokedListener = (grantIds: string[]) => void;

/** The cached bearer check; `close()` stops its timers and writes pending last-used times. */
export interface BearerVerifier {
  /** Resource-server check for /mcp and /status: 401 + WWW-Authenticate when missing/invalid; refuses query-string tokens. */
  /** Synchronous for a token verified within the cache's lifetime (the per-call path), else a promise. */
  authenticate(req: Request): AuthResult | Promise<AuthResult>;
  /** In-process revocation of whole grants: drops their cached tokens now and tells the listeners. */
  grantsRevoked(grantIds: string[]): void;
  /** In-process revocation of one access token (RFC 7009 for an access token): drops it from the cache now. */
  accessTokenRevoked(jti: string): void;
  /** Subscribes to revoked grants (in-process or noticed in the database); returns the unsubscribe function. */
  onRevoked(listener: RevokedListener): () => void;
  /** Writes pending last-used times now, and forgets cached tokens whose time is up. */
  flush(): void;
  /** Tokens held in the cache now. */
  readonly cachedTokens: number;
  close(): void;
}

interface Entry extends CheckedToken {
  cachedAt: number;
}

/** Creates the verifier and starts its (unref'd) poll and flush timers. */
export function createBearerVerifier(ctx: BearerContext, opts: VerifierOptions = {}): BearerVerifier {
  const ttl = opts.cacheTtl ?? 5000;
  const maxEntries = opts.maxEntries ?? 10_000;
  const maxWatched = opts.maxWatched ?? 10_000;
  /**
   * Verified tokens by the token string itself: a lookup costs no hash (the map lives in memory only, like the
   * request that carried the token; nothing of it is written anywhere). Bounded, aged out after `ttl`, and
   * dropped at once when its grant or access token is revoked.
   */
  const cache = new Map<string, Entry>();
  /** Grant id -> true, in order of last successful use: what a revocation elsewhere is looked for in. */
  const watched = new Map<string, true>();
  const pendingUse = new Map<string, number>();
  const listeners = new Set<RevokedListener>();
  // Bumped by every revocation, so a check that read the database before it does not cache a stale verdict.
  let generation = 0;
  let version = dataVersion(ctx.db);

  const dropWhere = (pred: (e: Entry) => boolean) => {
    for (const [k, e] of cache) if (pred(e)) cache.delete(k);
  };
  const emit = (ids: string[]) => {
    if (ids.length === 0) return;
    for (const listener of listeners) {
      try {
        listener(ids);
      } catch (err) {
        ctx.log.error('revocation listener failed', { error: err });
      }
    }
  };
  const grantsRevoked = (ids: string[]) => {
    generation++;
    const set = new Set(ids);
    dropWhere((e) => set.has(e.principal.grantId));
    for (const id of ids) watched.delete(id);
    emit(ids);
  };
  const remember = (key: string, checked: CheckedToken, now: number) => {
    cache.delete(key);
    cache.set(key, { ...checked, cachedAt: now });
    if (cache.size > maxEntries) cache.delete(cache.keys().next().value!);
    const id = checked.principal.grantId;
    watched.delete(id);
    watched.set(id, true);
    if (watched.size > maxWatched) watched.delete(watched.keys().next().value!);
  };

  const poll = () => {
    try {
      const v = dataVersion(ctx.db);
      if (v === version) return;
      version = v;
      const revoked = revokedGrantIds(ctx.db, [...watched.keys()]);
      const jtis = [...new Set([...cache.values()].flatMap((e) => (e.jti === undefined ? [] : [e.jti])))];
      const deadJtis = new Set(revokedAccessTokenIds(ctx.db, jtis));
      if (deadJtis.size > 0) {
        generation++;
        dropWhere((e) => e.jti !== undefined && deadJtis.has(e.jti));
      }
      if (revoked.length > 0) {
        ctx.log.info('grants revoked by another process', { grant_ids: revoked });
        grantsRevoked(revoked);
      }
    } catch (err) {
      ctx.log.warn('could not check for revocations', { error: err });
    }
  };
  const flush = () => {
    // Tokens are cached as they are: one not presented again is not kept past its time.
    const now = ctx.clock.now();
    dropWhere((e) => now - e.cachedAt >= ttl || now >= e.validUntil);
    if (pendingUse.size === 0) return;
    const uses = new Map(pendingUse);
    pendingUse.clear();
    try {
      touchGrants(ctx.db, uses);
    } catch (err) {
      // "Last used" is informational: a busy database (the CLI writing) must not fail anything.
      ctx.log.debug('could not record grant use', { error: err });
    }
  };
  /** The full check of a token not in the cache (signature or hash, database). */
  const check = async (key: string, now: number): Promise<AuthResult> => {
    const before = generation;
    try {
      const checked = await checkBearerToken(key, ctx);
      if (generation === before) remember(key, checked, now);
      pendingUse.set(checked.principal.grantId, now);
      return { ok: true, principal: checked.principal };
    } catch (err) {
      if (!(err instanceof OAuthError)) throw err;
      return invalidTokenResult(err, ctx);
    }
  };
  const pollTimer = setInterval(poll, opts.pollInterval ?? 250);
  pollTimer.unref?.();
  const flushTimer = setInterval(flush, opts.flushInterval ?? 5000);
  flushTimer.unref?.();

  return {
    authenticate(req) {
      const refused = refuseQueryToken(req, ctx.endpoints);
      if (refused) return refused;
      const cred = parseAuthorization(req.headers.get('authorization'));
      if (cred.kind === 'none') return { ok: false, response: unauthorizedResponse(ctx.endpoints) };
      if (cred.kind === 'malformed') return invalidTokenResult(new OAuthError('invalid_token', 'malformed bearer token', 401), ctx);
      const key = cred.token;
      const now = ctx.clock.now();
      const hit = cache.get(key);
      if (hit && now - hit.cachedAt < ttl && now < hit.validUntil) {
        pendingUse.set(hit.principal.grantId, now);
        return { ok: true, principal: hit.principal };
      }
      if (hit) cache.delete(key);
      return check(key, now);
    },
    grantsRevoked,
    accessTokenRevoked(jti) {
      generation++;
      dropWhere((e) => e.jti === jti);
    },
    onRevoked(listener) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
    flush,
    get cachedTokens() {
      return cache.size;
    },
    close() {
      clearInterval(pollTimer);
      clearInterval(flushTimer);
      flush();
      listeners.clear();
      cache.clear();
    },
  };
}
