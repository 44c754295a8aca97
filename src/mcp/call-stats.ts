/**
 * @module What happened to tools/call: the recent calls for `mcpgw status`, calls per minute, one warn
 * line per failed call, and the audit/metrics sinks (issue 9 items 1, 4, 5). Split from the aggregator.
 */
import type { Clock } from '../deps.ts';
import type { Logger } from '../log.ts';
import type { AuditSink } from '../store/audit.ts';

/** One finished tools/call, for `mcpgw status`. */
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
  /** The most recent tools/call outcomes, newest last. */
  readonly recent: CallRecord[] = [];
  private readonly times: number[] = [];
  /** Called for every finished call (metrics). */
  onCall?: (rec: CallRecord) => void;

  constructor(
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly audit?: AuditSink,
  ) {}

  /** Records a finished call; `started` is the clock reading at its start. */
  record(rec: CallRecord, started: number, args: unknown, result: unknown): void {
    if (rec.outcome === 'error') this.log.warn('tool call failed', { backend: rec.backend, tool: rec.tool, error: rec.error, duration_ms: rec.duration_ms, grant_id: rec.grant_id });
    safe(() =>
      this.audit?.call({ time: started, backend: rec.backend, tool: rec.tool, durationMs: rec.duration_ms, outcome: rec.outcome, error: rec.error, grantId: rec.grant_id, clientId: rec.client_id, clientName: rec.client_name, args, result }),
    );
    this.recent.push(rec);
    safe(() => this.onCall?.(rec));
    if (this.recent.length > RECENT_CALLS) this.recent.shift();
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
