/**
 * A small virtual clock for unit tests of ports that take a Clock (the simulator's Scheduler is the
 * full-featured one). Shared by the storage and log tests.
 */
import type { CancelTimer, Clock } from '../../src/util/clock.js';

/**
 * A virtual clock. With `auto`, every timer fires on its own from a microtask, earliest first, so
 * plain `await` works; otherwise timers wait for `advance`/`runAll`.
 */
export class TestClock implements Clock {
  private now = 0;
  private seq = 0;
  private timers: Array<{ dueMs: number; seq: number; fn: () => void }> = [];

  constructor(private readonly auto: boolean) {}

  nowMs(): number {
    return this.now;
  }

  setTimer(delayMs: number, fn: () => void): CancelTimer {
    const timer = { dueMs: this.now + delayMs, seq: this.seq++, fn };
    this.timers.push(timer);
    if (this.auto) queueMicrotask(() => this.runNext());
    return () => {
      this.timers = this.timers.filter((t) => t !== timer);
    };
  }

  get pendingTimers(): number {
    return this.timers.length;
  }

  /** Runs every timer due within `ms` from now (including those they set), then sets the time. */
  async advance(ms: number): Promise<void> {
    const until = this.now + ms;
    for (;;) {
      this.timers.sort((a, b) => a.dueMs - b.dueMs || a.seq - b.seq);
      const next = this.timers[0];
      if (next === undefined || next.dueMs > until) break;
      this.runNext();
      await settle();
    }
    this.now = until;
  }

  /** Runs every timer, including those that timers set, letting promise reactions run between them. */
  async runAll(): Promise<void> {
    while (this.timers.length > 0) {
      this.runNext();
      await settle();
    }
  }

  private runNext(): boolean {
    if (this.timers.length === 0) return false;
    this.timers.sort((a, b) => a.dueMs - b.dueMs || a.seq - b.seq);
    const timer = this.timers.shift()!;
    this.now = Math.max(this.now, timer.dueMs);
    timer.fn();
    return true;
  }
}

/** Lets every pending promise reaction run (a macrotask later). */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
