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
  /** The most recent tools/call outcomes with their start times (ms), newest last. */
  private readonly last: { rec: Omit<CallRecord, 'time'>; at: number }[] = [];
  private readonly times: number[] = [];
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
    return this.last.map(({ rec, at }) => ({ time: new Date(at).toISOString(), ...rec }));
  }

  record(rec: Omit<CallRecord, 'time'>, started: number, args: unknown, result: unknown): void {
    if (rec.outcome === 'error') this.log.warn('tool call failed', { backend: rec.backend, tool: rec.tool, error: rec.error, duration_ms: rec.duration_ms, grant_id: rec.grant_id });
    safe(() =>
      this.audit?.call({ time: started, backend: rec.backend, tool: rec.tool, durationMs: rec.duration_ms, outcome: rec.outcome, error: rec.error, grantId: rec.grant_id, clientId: rec.client_id, clientName: rec.client_name, args, result }),
    );
    this.last.push({ rec, at: started });
    safe(() => this.onCall?.(rec));
    if (this.last.length > RECENT_CALLS) this.last.shift();
    const now = this.clock.now();
    this.times.push(now);
    while (this.times.length > 0 && this.times[0] < now - 60_000) this.times.shift();
  }

  /** tools/call requests finished in the last minute. */
  perMinute(): number {
    const cutoff = this.clock.now() - 60_000;
    return this.times.filter((t) => t >= cutoff).length;
  }
}

function safe(fn: () => void): void {
  try {
    fn();
  } catch {
    // statistics must never fail a call
  }
}
