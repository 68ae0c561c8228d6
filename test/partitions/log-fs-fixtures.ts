/**
 * Shared fixtures of the log tests: a small virtual clock, a simulated disk on it, temporary real
 * directories, and helpers to await rejections and settle promises.
 */
import { expect } from 'chai';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CancelTimer, Clock } from '../../src/util/clock.js';
import { SeededRandom } from '../../src/util/random.js';
import { SimLogDisk, type LatencyRangeMs } from '../../sim/sim-log-fs.js';

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

/** Whether `promise` has settled once pending reactions have run. */
export async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  promise.then(
    () => (done = true),
    () => (done = true),
  );
  await settle();
  return done;
}

/** Resolves to the rejection reason; fails the test if `promise` resolves. */
export async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    expect(error).to.be.instanceOf(Error);
    return error as Error;
  }
  expect.fail('expected the promise to reject');
}

export interface SimDiskSetup {
  readonly clock: TestClock;
  readonly disk: SimLogDisk;
}

export interface SimLatency {
  readonly latencyMs: LatencyRangeMs;
  readonly syncLatencyMs: LatencyRangeMs;
}

/** A simulated disk on a virtual clock (by default auto-running; latencies 0..3 ms, syncs 1..5 ms). */
export function simDisk(seed = 1, auto = true, latency: SimLatency = { latencyMs: { min: 0, max: 3 }, syncLatencyMs: { min: 1, max: 5 } }): SimDiskSetup {
  const clock = new TestClock(auto);
  const disk = new SimLogDisk({ clock, random: new SeededRandom(seed), ...latency });
  return { clock, disk };
}

/** A fresh temporary directory and its removal. */
export async function tempDir(prefix: string): Promise<{ path: string; remove: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

export function bytesOf(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

export function textOf(bytes: Uint8Array | undefined): string | undefined {
  return bytes === undefined ? undefined : new TextDecoder().decode(bytes);
}
