/**
 * The real clock and randomness, for the node process, benchmarks and end-to-end tests. The
 * deterministic cores never import this file: they are handed these ports (DESIGN.md §2).
 */
import type { Clock } from '../util/clock.js';
import type { Random } from '../util/random.js';

/** Monotonic milliseconds (performance.now) and real timers. */
export const systemClock: Clock = {
  nowMs: () => performance.now(),
  setTimer(delayMs, fn) {
    const handle = setTimeout(fn, delayMs);
    return () => clearTimeout(handle);
  },
};

/** Math.random: election jitter and ids in production. */
export const systemRandom: Random = {
  int(maxExclusive: number): number {
    return Math.floor(Math.random() * maxExclusive);
  },
  float(): number {
    return Math.random();
  },
};
