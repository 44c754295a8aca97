/** @module All backends: start them in parallel, apply a new config by diff, close them all. */
import type { Deps } from '../deps.ts';
import { Backend, type BackendHooks, type BackendOptions } from './backend.ts';

/** Backends by name; a class because it owns their lifecycles. */
export class BackendPool {
  private readonly backends = new Map<string, Backend>();

  constructor(
    private readonly deps: Deps,
    private readonly hooks: BackendHooks,
  ) {}

  /**
   * Brings the pool to the given set: added backends connect, removed ones are closed (stdio
   * children killed), changed ones reconnect, untouched ones are not disturbed.
   */
  async apply(wanted: BackendOptions[]): Promise<{ added: string[]; removed: string[]; changed: string[] }> {
    const next = new Map(wanted.map((o) => [o.name, o]));
    const added: string[] = [];
    const removed: string[] = [];
    const changed: string[] = [];
    const closing: Promise<void>[] = [];
    for (const [name, backend] of this.backends) {
      const opts = next.get(name);
      if (!opts) removed.push(name);
      else if (!Bun.deepEquals(opts, backend.opts, true)) changed.push(name);
      else continue;
      this.backends.delete(name);
      closing.push(backend.close());
    }
    await Promise.all(closing);
    for (const opts of wanted) {
      if (this.backends.has(opts.name)) continue;
      if (!changed.includes(opts.name)) added.push(opts.name);
      const backend = new Backend(opts, this.deps, this.hooks);
      this.backends.set(opts.name, backend);
      backend.start();
    }
    if (removed.length > 0) for (const name of removed) this.hooks.changed(name);
    return { added, removed, changed };
  }

  get(name: string): Backend | undefined {
    return this.backends.get(name);
  }

  list(): Backend[] {
    return [...this.backends.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
  }

  async close(): Promise<void> {
    await Promise.all([...this.backends.values()].map((b) => b.close()));
    this.backends.clear();
  }
}
