/**
 * @module Tool pinning in the catalog (issue 9 item 10): compares each backend's tools with their pins
 * (pinning new ones) once per tools array and reload, logs a change the first time it is seen, and says
 * which tools a `pinning: strict` backend withholds. Split from the aggregator.
 */
import type { Database } from 'bun:sqlite';
import type { Clock } from '../deps.ts';
import { errorMessage } from '../errors.ts';
import type { Logger } from '../log.ts';
import { changedParts, checkPins, type PinChange } from '../store/pins.ts';

type Json = Record<string, unknown>;

/** The pin state of every backend; a class because it caches per tools array. */
export class PinCheck {
  private results = new Map<string, { tools: Json[]; generation: number; changes: Map<string, PinChange> }>();
  private generation = 0;

  constructor(
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly db?: Database,
  ) {}

  /** Forgets the cached comparisons (after `mcpgw backends approve` changed the pins). */
  invalidate(): void {
    this.generation++;
  }

  /** The changed tools of a backend's tools array, by original name. */
  changes(backend: string, pinning: string | undefined, tools: Json[]): Map<string, PinChange> {
    const cached = this.results.get(backend);
    if (cached && cached.tools === tools && cached.generation === this.generation) return cached.changes;
    const changes = new Map<string, PinChange>();
    if (!this.db) return changes;
    try {
      for (const c of checkPins(this.db, backend, tools, this.clock.now())) {
        changes.set(c.tool, c);
        if (!c.fresh) continue;
        this.log.warn('tool definition changed since it was pinned', {
          backend,
          tool: c.tool,
          changed: changedParts(c.pin.pinned, c.pin.seen!).join(','),
          pinned_hash: c.pin.pinned.hash,
          new_hash: c.pin.seen!.hash,
          pinning,
          action: pinning === 'strict' ? 'withheld until approved' : 'still listed',
        });
      }
    } catch (err) {
      this.log.warn('could not check tool pins', { backend, error: errorMessage(err) });
    }
    this.results.set(backend, { tools, generation: this.generation, changes });
    return changes;
  }
}
