/**
 * @module The clients that hear from the gateway without asking (2025 sessions, 2026-07-28 listen
 * streams, a 2026 call's log sink): who is connected since which catalog change, which resource URIs
 * they watch (counted, so a backend is asked once per URI), and the fan-out of list_changed,
 * resources/updated and log messages to them. One broken receiver never stops delivery to the others.
 */
import { LOG_LEVELS, type Grant, type ListKind, type SessionSink } from './call-context.ts';

type Json = Record<string, unknown>;

/** The connected receivers; a class because it owns the receiver set and the per-URI counts. */
export class Subscribers {
  private readonly sinks = new Set<SessionSink>();
  /** The catalog change number when each receiver joined: it hears only of changes after that. */
  private readonly since = new WeakMap<SessionSink, number>();
  /** Receivers per watched URI. */
  private readonly counts = new Map<string, number>();

  add(sink: SessionSink, changeSeq: number): void {
    this.sinks.add(sink);
    this.since.set(sink, changeSeq);
  }

  /** Removes a receiver; the URIs it watched (to be unsubscribed through `unwatch`). */
  remove(sink: SessionSink): string[] {
    this.sinks.delete(sink);
    return [...sink.subscriptions];
  }

  /** Records that `sink` watches `uri`; true when it is the first (the backend must be asked), undefined when it already did. */
  watch(uri: string, sink: SessionSink): boolean | undefined {
    if (sink.subscriptions.has(uri)) return undefined;
    sink.subscriptions.add(uri);
    const n = this.counts.get(uri) ?? 0;
    this.counts.set(uri, n + 1);
    return n === 0;
  }

  /** Records that `sink` no longer watches `uri`; true when nobody does any more (the backend may stop). */
  unwatch(uri: string, sink: SessionSink): boolean {
    if (!sink.subscriptions.delete(uri)) return false;
    const n = (this.counts.get(uri) ?? 1) - 1;
    if (n > 0) {
      this.counts.set(uri, n);
      return false;
    }
    this.counts.delete(uri);
    return true;
  }

  /** Announces changed lists (kind, change number) to every receiver that joined before the change. */
  listChanged(pending: [ListKind, number][]): void {
    for (const sink of this.sinks) {
      const since = this.since.get(sink) ?? 0;
      for (const [kind, seq] of pending) if (seq > since) safe(() => sink.listChanged(kind));
    }
  }

  resourceUpdated(uri: string): void {
    for (const sink of this.sinks) if (sink.subscriptions.has(uri)) safe(() => sink.resourceUpdated(uri));
  }

  /** A backend's log message, to receivers with a level at or below its level that may use the backend. */
  log(backend: string, params: Json | undefined, allowed: (grant: Grant) => boolean): void {
    const level = String(params?.level ?? 'info');
    const logger = params?.logger ? `${backend}/${String(params.logger)}` : backend;
    for (const sink of this.sinks) {
      if (!sink.logLevel || !allowed(sink.grant)) continue;
      if (LOG_LEVELS.indexOf(level) >= LOG_LEVELS.indexOf(sink.logLevel)) safe(() => sink.log({ ...params, logger }));
    }
  }
}

function safe(fn: () => void): void {
  try {
    fn();
  } catch {
    // a broken receiver must not stop delivery to the others
  }
}
