/**
 * Two small coordination tools for the consumer's loops: a `Signal` (listeners called once on the
 * next `fire()`) and a counting `Semaphore` (bounded concurrency: fetches in
 * flight per broker, partitions delivered at once).
 *
 * Invariants: a Signal calls each listener at most once; a Semaphore never has more than `limit` holders, its
 * waiters are served first come first served, and a permit given to a waiter that no longer wants it
 * (it stopped waiting: see `acquire`'s `abandon`) is passed straight back.
 * Browser-safe; no timers.
 */

/**
 * A broadcast without memory: `fire()` calls every listener subscribed so far, once, and forgets
 * them. Listeners are removed by the function `subscribe` returns, so a long-lived signal that rarely
 * fires does not collect reactions (a promise raced against it on every fetch would).
 */
export class Signal {
  private listeners = new Set<{ readonly fn: () => void }>();

  subscribe(fn: () => void): () => void {
    const entry = { fn };
    this.listeners.add(entry);
    return () => {
      this.listeners.delete(entry);
    };
  }

  fire(): void {
    const entries = [...this.listeners];
    this.listeners.clear();
    for (const entry of entries) entry.fn();
  }
}

/** A release function: call exactly once. */
export type Release = () => void;

export class Semaphore {
  private holders = 0;
  private readonly waiters: Array<(release: Release) => void> = [];

  constructor(readonly limit: number) {
    if (!(Number.isSafeInteger(limit) && limit >= 1)) throw new RangeError(`semaphore limit must be a positive integer, got ${limit}`);
  }

  get inUse(): number {
    return this.holders;
  }

  /**
   * Resolves with a release function once a permit is free. Whoever stops waiting for the promise
   * (raced it against a stop) must still release what it eventually yields: `abandon` does that.
   */
  acquire(): Promise<Release> {
    if (this.holders < this.limit) {
      this.holders++;
      return Promise.resolve(this.releaser());
    }
    return new Promise<Release>((resolve) => this.waiters.push(resolve));
  }

  /** For a caller that gave up on `acquired`: releases the permit as soon as it is granted. */
  static abandon(acquired: Promise<Release>): void {
    void acquired.then((release) => release());
  }

  private releaser(): Release {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiters.shift();
      // Hand the permit over directly: the holder count stays the same.
      if (next !== undefined) next(this.releaser());
      else this.holders--;
    };
  }
}
