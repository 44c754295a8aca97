/**
 * @module What happened to tools/call: the recent calls for `mcpgw status`, calls per minute, one warn
 * line per failed call, and the audit/metrics sinks (issue 9 items 1, 4, 5). Split from the aggregator.
 */
import type { Clock } from '../deps.ts';
import type { Logger } from '../log.ts';
import type { AuditSink } from '../store/audit.ts';

/** One finished tools/call, for `mcpgw status` (its time is made into text only when the record is read). */
export interface CallRecord {
  time: string;
  tool: string;
  backend: string;
  duration_ms: number;
  outcome: 'ok' | 'error';
  client_id?: string;
  client_name?: string;
  grant_id?: string;
  error?: string;
}

const RECENT_CALLS = 50;

/** Call statistics; a class because it keeps the recent calls. */
export class CallStats {
  /** The most recent tools/call outcomes with their start times (ms): a ring, `next` is the oldest slot once full. */
  private readonly last: { rec: Omit<CallRecord, 'time'>; at: number }[] = [];
  private next = 0;
  /**
   * Calls per second over the last minute, as a ring of 60 per-second counts with the second each
   * belongs to: constant memory and work per call (a timestamp per call held ~400,000 numbers at
   * 6,500 calls/s and shifted one out per call).
   */
  private readonly secondCounts = new Array<number>(60).fill(0);
  private readonly secondOf = new Array<number>(60).fill(-1);
  /** Called for every finished call (metrics). */
  onCall?: (rec: Omit<CallRecord, 'time'>) => void;

  constructor(
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly audit?: AuditSink,
  ) {}

  /** Records a finished call; `started` is the clock reading at its start. */
  /** The most recent tools/call outcomes, newest last. */
  get recent(): CallRecord[] {
    const ordered = [...this.last.slice(this.next), ...this.last.slice(0, this.next)];
    return ordered.map(({ rec, at }) => ({ time: new Date(at).toISOString(), ...rec }));
  }

  record(rec: Omit<CallRecord, 'time'>, started: number, args: unknown, result: unknown): void {
    if (rec.outcome === 'error') this.log.warn('tool call failed', { backend: rec.backend, tool: rec.tool, error: rec.error, duration_ms: rec.duration_ms, grant_id: rec.grant_id });
    safe(() =>
      this.audit?.call({ time: started, backend: rec.backend, tool: rec.tool, durationMs: rec.duration_ms, outcome: rec.outcome, error: rec.error, grantId: rec.grant_id, clientId: rec.client_id, clientName: rec.client_name, args, result }),
    );
    // A ring: no array shift per call.
    if (this.last.length < RECENT_CALLS) this.last.push({ rec, at: started });
    else {
      this.last[this.next] = { rec, at: started };
      this.next = (this.next + 1) % RECENT_CALLS;
    }
    safe(() => this.onCall?.(rec));
    const second = Math.floor(this.clock.now() / 1000);
    const slot = second % 60;
    if (this.secondOf[slot] !== second) {
      this.secondOf[slot] = second;
      this.secondCounts[slot] = 0;
    }
    this.secondCounts[slot]++;
  }

  /** tools/call requests finished in the last minute. */
  perMinute(): number {
    const now = Math.floor(this.clock.now() / 1000);
    let n = 0;
    for (let i = 0; i < 60; i++) if (this.secondOf[i] > now - 60) n += this.secondCounts[i];
    return n;
  }
}

function safe(fn: () => void): void {
  try {
    fn();
  } catch {
    // statistics must never fail a call
  }
}
