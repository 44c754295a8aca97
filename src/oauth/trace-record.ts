/**
 * @module Records the sign-in steps that anyone can trigger (401 challenges, metadata fetches, /authorize, failed
 * /token and /register requests) in the audit log for `mcpgw auth trace`, at most one row per address, step and
 * client per 10 s: the repeats are counted into the next row, so a flood cannot fill the database.
 */
import type { Clock } from '../deps.ts';
import type { Logger } from '../log.ts';
import type { AuthAuditEntry, AuthEventRecorder, AuthEventName } from '../store/audit.ts';

/** Tuning of the limiter; every field has a default. */
export interface TraceLimits {
  /** One row per key per this long (ms). Default 10 s. */
  windowMs?: number;
  /** Rows per window across all keys; beyond it rows are only counted. Default 300. */
  maxPerWindow?: number;
  /** Keys remembered at once; the oldest are forgotten first. Default 10,000. */
  maxKeys?: number;
  /** Grants remembered as having made their first MCP request. Default 10,000. */
  maxGrants?: number;
}

/** Who sent a request, as far as the server can tell. */
export interface RequestSource {
  ip?: string;
  userAgent?: string | null;
}

/** Records trace steps; never throws. */
export interface TraceRecorder {
  /**
   * Records a step, unless the same address sent the same one (same client, same path, same `distinct`) within the
   * window. `distinct` tells attempts apart without being stored (e.g. the public PKCE challenge of an /authorize).
   */
  step(e: AuthAuditEntry & { event: AuthEventName }, src: RequestSource, detail?: Record<string, unknown>, distinct?: string): void;
  /** Records the first authenticated request of an OAuth grant (once per grant; `seenBefore` checks older rows). */
  firstCall(e: { grantId: string; clientId: string; clientName?: string }, src: RequestSource, detail: Record<string, unknown>): void;
  /** Whether this grant's first call is already known (then `firstCall` would do nothing): the per-request fast path. */
  knowsFirstCall(grantId: string): boolean;
}

interface Slot {
  since: number;
  suppressed: number;
}

const MAX_UA = 200;
const MAX_FIELD = 500;

/** Clips a value that came from the request (User-Agent, redirect URI, resource) to a loggable length. Pure. */
export function clipField(s: string | null | undefined, max = MAX_FIELD): string | undefined {
  if (s === null || s === undefined || s === '') return undefined;
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}

/** Creates the recorder around the audit sink. `seenBefore(grantId)` says whether a first call is already stored. */
export function createTraceRecorder(audit: AuthEventRecorder, clock: Clock, log: Logger, seenBefore: (grantId: string) => boolean, limits: TraceLimits = {}): TraceRecorder {
  const windowMs = limits.windowMs ?? 10_000;
  const maxPerWindow = limits.maxPerWindow ?? 300;
  const maxKeys = limits.maxKeys ?? 10_000;
  const maxGrants = limits.maxGrants ?? 10_000;
  const slots = new Map<string, Slot>();
  const grants = new Map<string, true>();
  let windowStart = 0;
  let written = 0;
  let dropped = 0;

  const admit = (key: string, now: number): { ok: boolean; suppressed: number } => {
    const slot = slots.get(key);
    if (slot && now - slot.since < windowMs) {
      slot.suppressed++;
      return { ok: false, suppressed: 0 };
    }
    if (now - windowStart >= windowMs) {
      if (dropped > 0) log.warn('sign-in trace: requests beyond the per-window limit were counted, not recorded', { dropped });
      windowStart = now;
      written = 0;
      dropped = 0;
    }
    if (written >= maxPerWindow) {
      dropped++;
      if (slot) slot.suppressed++;
      return { ok: false, suppressed: 0 };
    }
    written++;
    slots.delete(key);
    slots.set(key, { since: now, suppressed: 0 });
    if (slots.size > maxKeys) slots.delete(slots.keys().next().value!);
    return { ok: true, suppressed: slot?.suppressed ?? 0 };
  };

  const write = (e: AuthAuditEntry, src: RequestSource, detail: Record<string, unknown>) => {
    try {
      const ua = clipField(src.userAgent, MAX_UA);
      audit({ ...e, ip: src.ip ?? e.ip, detail: { ...detail, ...(ua ? { user_agent: ua } : {}) } });
    } catch (err) {
      log.warn('could not record a sign-in step', { event: e.event, error: err });
    }
  };

  return {
    step(e, src, detail = {}, distinct = '') {
      const key = [e.event, src.ip ?? '', e.clientId ?? '', String(detail.path ?? ''), distinct.slice(0, 128)].join('\u0000');
      const { ok, suppressed } = admit(key, clock.now());
      if (ok) write(e, src, suppressed > 0 ? { ...detail, suppressed } : detail);
    },
    knowsFirstCall: (grantId) => grants.has(grantId),
    firstCall(e, src, detail) {
      if (grants.has(e.grantId)) return;
      grants.set(e.grantId, true);
      if (grants.size > maxGrants) grants.delete(grants.keys().next().value!);
      try {
        if (seenBefore(e.grantId)) return;
      } catch (err) {
        log.debug('could not look up an earlier first call', { error: err });
        return;
      }
      write({ event: 'mcp_first_call', grantId: e.grantId, clientId: e.clientId, clientName: e.clientName }, src, detail);
    },
  };
}
