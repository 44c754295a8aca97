/**
 * @module Legacy MCP sessions as small records: capped per grant and in all (eviction stays within the
 * grant), idle expiry, and persisted through store/sessions.ts so a client holding an Mcp-Session-Id
 * keeps working after a gateway restart (spec-checklist §2.4 REALITY; issue 7 items 5 and 8).
 */
import type { Database } from 'bun:sqlite';
import type { Clock } from '../deps.ts';
import type { Logger } from '../log.ts';
import { deleteSession, deleteSessionsOfGrant, findSession, pruneSessions, saveSession, touchSession } from '../store/sessions.ts';
import type { Grant, ListKind, SessionSink } from './call-context.ts';
import type { EventStream } from './streams.ts';

type Json = Record<string, unknown>;

/** One client session. */
export interface Session extends SessionSink {
  protocolVersion: string;
  clientCapabilities: Json;
  createdAt: number;
  lastActive: number;
  lastPersisted: number;
  /** The GET stream (Streamable HTTP) or the /sse stream (HTTP+SSE) that carries unsolicited messages. */
  stream?: EventStream;
  /** True for a 2024-11-05 HTTP+SSE session: every answer goes on `stream`. */
  sseTransport: boolean;
  /** Open per-request streams, closed with the session. */
  calls: Set<EventStream>;
}

export interface SessionLimits {
  idleMs: number;
  max: number;
  perGrant: number;
}

const PERSIST_EVERY_MS = 60_000;

/** The session table; a class because it owns the records and their lifecycle. */
export class SessionTable {
  private readonly byId = new Map<string, Session>();
  private readonly byGrant = new Map<string, Set<Session>>();
  /** Called when a session ends (to drop its subscriptions). */
  onEnd?: (s: Session) => void;
  /** Called when a stored session is revived after a restart (to restore its subscriptions). */
  onRevive?: (s: Session) => void;

  constructor(
    private readonly limits: SessionLimits,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly db?: Database,
  ) {}

  get size(): number {
    return this.byId.size;
  }

  /** Opens a session for `grant`, ending the grant's (or the fullest grant's) oldest session when at a cap. */
  create(id: string, grant: Grant, init: { protocolVersion: string; clientCapabilities: Json; sseTransport?: boolean }): Session {
    const mine = this.byGrant.get(grant.key);
    if (mine && mine.size >= this.limits.perGrant) this.end(oldest(mine), 'per-grant session cap');
    else if (this.byId.size >= this.limits.max) this.end(oldest(this.fullestGrant()), 'session cap');
    const now = this.clock.now();
    const s = makeSession(id, grant, { ...init, createdAt: now, lastActive: now, subscriptions: [] });
    this.add(s);
    // An HTTP+SSE session lives exactly as long as its stream, so it is not kept across restarts.
    if (!s.sseTransport) this.persist(s);
    return s;
  }

  /** The session with this id for this caller: live, or revived from the database; undefined = 404. */
  get(id: string, grant: Grant): Session | undefined {
    const live = this.byId.get(id);
    if (live) return live.grant.key === grant.key ? live : undefined;
    const stored = this.db ? safely(() => findSession(this.db!, id)) : undefined;
    if (!stored || stored.grantKey !== grant.key || stored.lastActiveAt < this.clock.now() - this.limits.idleMs) return undefined;
    const s = makeSession(id, grant, { protocolVersion: stored.protocolVersion, clientCapabilities: stored.clientCapabilities, createdAt: stored.createdAt, lastActive: stored.lastActiveAt, logLevel: stored.logLevel, subscriptions: stored.subscriptions });
    const mine = this.byGrant.get(grant.key);
    if (mine && mine.size >= this.limits.perGrant) this.end(oldest(mine), 'per-grant session cap');
    this.add(s);
    this.log.info('session resumed after restart', { session: id.slice(0, 8) });
    this.onRevive?.(s);
    return s;
  }

  /** Marks activity; written to the database at most once a minute per session. */
  touch(s: Session): void {
    const now = this.clock.now();
    s.lastActive = now;
    if (this.db && now - s.lastPersisted >= PERSIST_EVERY_MS) {
      s.lastPersisted = now;
      safely(() => touchSession(this.db!, s.id, now));
    }
  }

  /** Writes the whole record (after setLevel or a subscription change). */
  persist(s: Session): void {
    s.lastPersisted = this.clock.now();
    if (!this.db) return;
    safely(() =>
      saveSession(this.db!, s.id, {
        grantKey: s.grant.key,
        protocolVersion: s.protocolVersion,
        clientCapabilities: s.clientCapabilities,
        logLevel: s.logLevel,
        subscriptions: [...s.subscriptions],
        createdAt: s.createdAt,
        lastActiveAt: s.lastActive,
      }),
    );
  }

  /** Ends a session: closes its streams and forgets it (also in the database). */
  end(s: Session | undefined, reason: string): void {
    if (!s || this.byId.get(s.id) !== s) return;
    this.byId.delete(s.id);
    const mine = this.byGrant.get(s.grant.key);
    mine?.delete(s);
    if (mine?.size === 0) this.byGrant.delete(s.grant.key);
    s.stream?.close();
    for (const c of s.calls) c.close();
    if (this.db) safely(() => deleteSession(this.db!, s.id));
    this.log.debug('session ended', { session: s.id.slice(0, 8), reason });
    this.onEnd?.(s);
  }

  /** Ends every session of the given grants (revocation); returns how many. */
  endGrants(grantIds: Set<string>): number {
    let n = 0;
    for (const [key, set] of [...this.byGrant]) {
      const first = set.values().next().value as Session | undefined;
      if (!first?.grant.grantId || !grantIds.has(first.grant.grantId)) continue;
      for (const s of [...set]) (this.end(s, 'grant revoked'), n++);
      if (this.db) safely(() => deleteSessionsOfGrant(this.db!, key));
    }
    return n;
  }

  /** Ends sessions idle for longer than the limit, in memory and in the database. */
  sweep(): void {
    const cutoff = this.clock.now() - this.limits.idleMs;
    for (const s of [...this.byId.values()]) if (s.lastActive < cutoff && !s.stream) this.end(s, 'idle');
    if (this.db) safely(() => pruneSessions(this.db!, cutoff));
  }

  /** Every live session (for notification fan-out). */
  all(): IterableIterator<Session> {
    return this.byId.values();
  }

  /** Closes every stream without deleting the stored records (shutdown: clients resume after restart). */
  closeAll(): void {
    for (const s of this.byId.values()) {
      s.stream?.close();
      for (const c of s.calls) c.close();
    }
    this.byId.clear();
    this.byGrant.clear();
  }

  private add(s: Session): void {
    this.byId.set(s.id, s);
    let mine = this.byGrant.get(s.grant.key);
    if (!mine) this.byGrant.set(s.grant.key, (mine = new Set()));
    mine.add(s);
  }

  private fullestGrant(): Set<Session> {
    let best = new Set<Session>();
    for (const set of this.byGrant.values()) if (set.size > best.size) best = set;
    return best;
  }
}

/** A session record: a few fields and prototype methods, so an idle session costs little memory. */
class SessionRecord implements Session {
  id: string;
  grant: Grant;
  protocolVersion: string;
  clientCapabilities: Json;
  sseTransport: boolean;
  createdAt: number;
  lastActive: number;
  lastPersisted: number;
  logLevel?: string;
  subscriptions: Set<string>;
  stream?: EventStream;
  private callStreams?: Set<EventStream>;

  constructor(id: string, grant: Grant, r: { protocolVersion: string; clientCapabilities: Json; sseTransport?: boolean; createdAt: number; lastActive: number; logLevel?: string; subscriptions: string[] }) {
    this.id = id;
    this.grant = grant;
    this.protocolVersion = r.protocolVersion;
    this.clientCapabilities = r.clientCapabilities;
    this.sseTransport = r.sseTransport ?? false;
    this.createdAt = r.createdAt;
    this.lastActive = r.lastActive;
    this.lastPersisted = r.lastActive;
    this.logLevel = r.logLevel;
    this.subscriptions = new Set(r.subscriptions);
  }

  get calls(): Set<EventStream> {
    return (this.callStreams ??= new Set());
  }

  listChanged(kind: ListKind): void {
    this.stream?.send({ jsonrpc: '2.0', method: `notifications/${kind}/list_changed` });
  }

  resourceUpdated(uri: string): void {
    this.stream?.send({ jsonrpc: '2.0', method: 'notifications/resources/updated', params: { uri } });
  }

  log(params: Json): void {
    this.stream?.send({ jsonrpc: '2.0', method: 'notifications/message', params });
  }
}

function makeSession(id: string, grant: Grant, r: ConstructorParameters<typeof SessionRecord>[2]): Session {
  return new SessionRecord(id, grant, r);
}

function oldest(set: Set<Session>): Session | undefined {
  let o: Session | undefined;
  for (const s of set) if (!o || s.lastActive < o.lastActive) o = s;
  return o;
}

function safely<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch {
    // the database is a cache of sessions: a busy or missing file must not fail a request
    return undefined;
  }
}
