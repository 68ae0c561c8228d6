/**
 * Time as an injected port (DESIGN.md §2). Cores never read the wall clock or start timers
 * themselves; the node process hands them `systemClock`, the simulator a virtual clock.
 */

export type CancelTimer = () => void;

export interface Clock {
  /** Milliseconds on a monotonic scale (virtual in the simulator). */
  nowMs(): number;
  /** Runs `fn` once after `delayMs`; the returned function cancels it if it has not run yet. */
  setTimer(delayMs: number, fn: () => void): CancelTimer;
}
