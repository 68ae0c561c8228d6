/**
 * The simulator's discrete-event scheduler: virtual time for everything that runs in a simulation
 * (DESIGN.md §2, §9).
 *
 * Job: hold a queue of events keyed by (virtual time in ms, insertion sequence number) in a binary
 * min-heap, and run them one at a time, advancing virtual time to each event's time. It implements
 * `Clock`, so the real node code can take it (or a `ScopedClock` made from it) as its clock.
 *
 * Invariants:
 * - Virtual time never goes backwards. Events run in (atMs, seq) order: earlier time first, and
 *   among events at the same time, the one scheduled first runs first. Nothing else is ordered,
 *   so a run depends only on the order of calls — which is what makes a seed replay bit for bit.
 * - Before the next event runs, every promise reaction (microtask) the previous event caused has run,
 *   including chains of many awaits, because the node code is an async shell over promises. A promise
 *   that waits on a future virtual-time timer is, correctly, still pending.
 * - A cancelled event never runs. Cancelled entries are removed lazily and the heap is compacted
 *   when they outnumber the live ones, so memory stays bounded by the live events.
 * - `runUntil` is bounded: a run that exceeds `maxEvents` throws (runaway), and so does a microtask
 *   chain that never settles (an infinite `await` loop that never waits on time).
 *
 * Settling microtasks (the choice, and why). After each event we must wait until the microtask queue
 * is empty. The robust way is one macrotask per event (`setImmediate`): Node drains all microtasks
 * before it, but it costs an event-loop turn. JS cannot see the microtask queue, but V8 can report
 * every promise operation: `v8.promiseHooks` fire on promise creation, settlement, and before/after
 * every reaction job (including each `await` continuation). So `settle()` queues a plain microtask
 * `check` behind the event's work; when `check` runs, if any promise hook fired since the last check,
 * some promise job ran and may have queued more jobs behind `check`, so `check` re-queues itself; if
 * nothing fired between two checks, nothing else was in the queue, and the event has settled.
 * Measured through `runUntil` on Node 20 (200k events, heap included):
 *   event kind             promise-hooks   macrotask
 *   synchronous            0.7–1.3 µs      4.2 µs
 *   4-await chain          1.3 µs          4.5–4.7 µs
 *   20-await chain         3.8 µs          5.6 µs
 * (each further await adds ~0.13 µs: one more check round). The hooks are installed only while
 * `runUntil` runs. A chain that never waits on virtual time fails loudly (`settleChecksMax`) instead of
 * hanging the process. Limitation: a chain built only from bare `queueMicrotask` or `process.nextTick`
 * callbacks that never touch a promise is invisible to the hooks; the simulated code does not do that
 * (it awaits promises), and `settle: 'macrotask'` is the belt-and-braces mode (the same seed must
 * give the same run in both modes; the test suite runs in both).
 *
 * I/O contract: no real timers except `setImmediate` in `'macrotask'` mode; no wall clock; no
 * randomness. Exceptions thrown by an event propagate out of `runUntil` (they are programmer errors and
 * fail the seed).
 */

import { promiseHooks } from 'node:v8';
import { assert } from '../src/util/assert.js';
import type { CancelTimer, Clock } from '../src/util/clock.js';

/** How `runUntil` waits for an event's microtasks; see the module header. */
export type SettleMode = 'promise-hooks' | 'macrotask';

export interface SchedulerOptions {
  /** Virtual time at start, ms. Default 0. */
  startMs?: number;
  /** Default `'promise-hooks'`. */
  settle?: SettleMode;
  /** Called after each event has settled (invariant checkers run here). */
  afterEvent?: () => void;
  /** Bound on re-checks while one event settles; beyond it the event is a microtask runaway. Default 1e6. */
  settleChecksMax?: number;
}

export interface RunUntilOptions {
  /** Stop before any event later than this virtual time; time is then set to `untilMs`. */
  untilMs?: number;
  /** Stop as soon as this is true: checked before the first event and after each event settles. */
  until?: () => boolean;
  /** Throw if more than this many events would run in this call (runaway). Default 10_000_000. */
  maxEvents?: number;
}

export type StopReason = 'until' | 'time' | 'idle';

export interface RunResult {
  /** `until`: the predicate held; `time`: next event is after `untilMs`; `idle`: the queue is empty. */
  reason: StopReason;
  /** Events run by this call. */
  events: number;
  /** Virtual time at return, ms. */
  nowMs: number;
}

interface Entry {
  atMs: number;
  seq: number;
  /** `null` once cancelled or run. */
  fn: (() => void) | null;
}

const MAX_EVENTS_DEFAULT = 10_000_000;

// ---- promise-hook activity counter (process-global, shared by all schedulers) ----

let promiseActivity = 0;
let hookUsers = 0;
let stopHooks: (() => void) | null = null;
const bumpActivity = (): void => {
  promiseActivity++;
};

function acquireHooks(): void {
  if (hookUsers++ === 0) {
    const stops = [
      promiseHooks.onInit(bumpActivity),
      promiseHooks.onSettled(bumpActivity),
      promiseHooks.onBefore(bumpActivity),
      promiseHooks.onAfter(bumpActivity),
    ];
    stopHooks = () => {
      for (const stop of stops) stop();
    };
  }
}

function releaseHooks(): void {
  assert(hookUsers > 0, 'releaseHooks without acquireHooks');
  if (--hookUsers === 0) {
    stopHooks?.();
    stopHooks = null;
  }
}

/** Resolves once no promise job has run between two consecutive checks (see the module header). */
function settleByPromiseHooks(checksMax: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let seen = promiseActivity;
    let checks = 0;
    const check = (): void => {
      if (promiseActivity === seen) {
        resolve();
        return;
      }
      if (++checks > checksMax) {
        reject(new Error(`microtask runaway: an event's promise chain did not settle after ${checksMax} rounds`));
        return;
      }
      seen = promiseActivity;
      queueMicrotask(check);
    };
    queueMicrotask(check);
  });
}

function settleByMacrotask(): Promise<void> {
  return new Promise<void>((resolve) => setImmediate(resolve));
}

function before(a: Entry, b: Entry): boolean {
  return a.atMs < b.atMs || (a.atMs === b.atMs && a.seq < b.seq);
}

export class Scheduler implements Clock {
  private now: number;
  private seq = 0;
  private heap: Entry[] = [];
  private live = 0;
  private running = false;
  private readonly settleMode: SettleMode;
  private readonly settleChecksMax: number;
  private readonly afterEventHooks: Array<() => void> = [];
  /** Events run since construction (all `runUntil` calls). */
  eventsRun = 0;

  constructor(options: SchedulerOptions = {}) {
    this.now = options.startMs ?? 0;
    assert(Number.isFinite(this.now) && this.now >= 0, `startMs must be finite and >= 0, got ${this.now}`);
    this.settleMode = options.settle ?? 'promise-hooks';
    this.settleChecksMax = options.settleChecksMax ?? 1_000_000;
    if (options.afterEvent) this.afterEventHooks.push(options.afterEvent);
  }

  nowMs(): number {
    return this.now;
  }

  /** Live (not cancelled, not yet run) events. */
  get pending(): number {
    return this.live;
  }

  /** Runs `fn` after `delayMs` of virtual time (negative delays count as 0). */
  setTimer(delayMs: number, fn: () => void): CancelTimer {
    assert(!Number.isNaN(delayMs), 'setTimer: delayMs is NaN');
    return this.schedule(this.now + Math.max(0, delayMs), fn);
  }

  /** Runs `fn` at absolute virtual time `atMs` (must not be in the past). Returns a canceller. */
  schedule(atMs: number, fn: () => void): CancelTimer {
    assert(Number.isFinite(atMs), `schedule: atMs must be finite, got ${atMs}`);
    assert(atMs >= this.now, `schedule: atMs ${atMs} is before now ${this.now}`);
    const entry: Entry = { atMs, seq: this.seq++, fn };
    this.push(entry);
    this.live++;
    return () => {
      if (entry.fn !== null) {
        entry.fn = null;
        this.live--;
        this.maybeCompact();
      }
    };
  }

  /** Registers a hook run after each settled event; returns its remover. */
  onAfterEvent(fn: () => void): () => void {
    this.afterEventHooks.push(fn);
    return () => {
      const i = this.afterEventHooks.indexOf(fn);
      if (i >= 0) this.afterEventHooks.splice(i, 1);
    };
  }

  /** A clock for one simulated process: cancellable as a group, pausable, skewable. */
  clockFor(owner: string): ScopedClock {
    return new ScopedClock(this, owner);
  }

  /**
   * Runs events in order until a stop condition (see `RunUntilOptions`, `RunResult`). When the queue
   * empties and `untilMs` was given, time still advances to `untilMs`. Not re-entrant.
   */
  async runUntil(options: RunUntilOptions = {}): Promise<RunResult> {
    const { untilMs, until } = options;
    const maxEvents = options.maxEvents ?? MAX_EVENTS_DEFAULT;
    assert(untilMs === undefined || (Number.isFinite(untilMs) && untilMs >= this.now),
      `runUntil: untilMs ${untilMs} must be finite and >= now ${this.now}`);
    assert(!this.running, 'runUntil is not re-entrant (called from inside an event?)');
    this.running = true;
    const useHooks = this.settleMode === 'promise-hooks';
    if (useHooks) acquireHooks();
    let events = 0;
    try {
      if (until?.()) return { reason: 'until', events, nowMs: this.now };
      for (;;) {
        const next = this.peekLive();
        if (next === undefined) {
          if (untilMs !== undefined) this.now = untilMs;
          return { reason: 'idle', events, nowMs: this.now };
        }
        if (untilMs !== undefined && next.atMs > untilMs) {
          this.now = untilMs;
          return { reason: 'time', events, nowMs: this.now };
        }
        if (events >= maxEvents) {
          throw new Error(`runaway: more than ${maxEvents} events in one runUntil (virtual time ${this.now} ms)`);
        }
        this.popTop();
        const fn = next.fn;
        assert(fn !== null, 'peekLive returned a dead entry');
        next.fn = null;
        this.live--;
        assert(next.atMs >= this.now, 'virtual time went backwards');
        this.now = next.atMs;
        fn();
        await (useHooks ? settleByPromiseHooks(this.settleChecksMax) : settleByMacrotask());
        events++;
        this.eventsRun++;
        for (const hook of this.afterEventHooks) hook();
        if (until?.()) return { reason: 'until', events, nowMs: this.now };
      }
    } finally {
      if (useHooks) releaseHooks();
      this.running = false;
    }
  }

  // ---- binary heap ----

  private peekLive(): Entry | undefined {
    for (;;) {
      const top = this.heap[0];
      if (top === undefined || top.fn !== null) return top;
      this.popTop();
    }
  }

  private push(entry: Entry): void {
    const heap = this.heap;
    let i = heap.length;
    heap.push(entry);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = heap[parent]!;
      if (!before(entry, p)) break;
      heap[i] = p;
      i = parent;
    }
    heap[i] = entry;
  }

  private popTop(): void {
    const heap = this.heap;
    const last = heap.pop();
    if (last === undefined || heap.length === 0) return;
    this.siftDown(0, last);
  }

  private siftDown(start: number, entry: Entry): void {
    const heap = this.heap;
    const n = heap.length;
    let i = start;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      let c = l;
      if (r < n && before(heap[r]!, heap[l]!)) c = r;
      const child = heap[c]!;
      if (!before(child, entry)) break;
      heap[i] = child;
      i = c;
    }
    heap[i] = entry;
  }

  /** Drops cancelled entries once they are the large majority, so cancel-heavy runs stay bounded. */
  private maybeCompact(): void {
    const dead = this.heap.length - this.live;
    if (dead < 1024 || dead < 2 * this.live) return;
    const kept = this.heap.filter((e) => e.fn !== null);
    // Heapify bottom-up; (atMs, seq) keys are unique, so the run order is unchanged.
    this.heap = kept;
    for (let i = (kept.length >> 1) - 1; i >= 0; i--) this.siftDown(i, kept[i]!);
  }
}

interface ScopedTimer {
  /** Due time on this clock's own (skewed) scale. */
  dueLocalMs: number;
  seq: number;
  fn: () => void;
  /** Cancels the underlying scheduler event; null while held (paused) or after firing. */
  cancelEvent: CancelTimer | null;
}

/**
 * One simulated process's view of time.
 *
 * - Local time: `nowMs() = baseLocalMs + (scheduler.nowMs() - baseVirtualMs) * rate`, plus any
 *   `jump`s. `rate` 2.0 means this process's clock runs twice as fast, so its timers fire after half
 *   the virtual time. Changing `rate` re-anchors the line, so local time stays continuous.
 * - `setTimer(d)` fires when local time reaches `nowMs() + d`. Timers due at the same local time fire in
 *   the order they were set.
 * - `cancelAll()` (a crash) cancels every pending and held timer: none of them will ever run. The clock
 *   stays usable for timers set afterwards.
 * - `pause()` (a stop-the-world pause): timers that come due are held; `resume()` fires them, in due
 *   order, as separate events at the current virtual time. Local time keeps running while paused, as a
 *   wall clock does during a GC pause.
 */
export class ScopedClock implements Clock {
  private baseVirtualMs: number;
  private baseLocalMs: number;
  private rateValue = 1;
  private seq = 0;
  private paused = false;
  private readonly timers = new Set<ScopedTimer>();
  private held: ScopedTimer[] = [];

  constructor(
    private readonly scheduler: Scheduler,
    /** For traces: which process owns this clock. */
    readonly owner: string,
  ) {
    this.baseVirtualMs = scheduler.nowMs();
    this.baseLocalMs = this.baseVirtualMs;
  }

  nowMs(): number {
    return this.baseLocalMs + (this.scheduler.nowMs() - this.baseVirtualMs) * this.rateValue;
  }

  setTimer(delayMs: number, fn: () => void): CancelTimer {
    assert(!Number.isNaN(delayMs), 'setTimer: delayMs is NaN');
    const timer: ScopedTimer = { dueLocalMs: this.nowMs() + Math.max(0, delayMs), seq: this.seq++, fn, cancelEvent: null };
    this.timers.add(timer);
    this.arm(timer);
    return () => this.cancel(timer);
  }

  /** Pending timers, including held ones. */
  get pending(): number {
    return this.timers.size;
  }

  get isPaused(): boolean {
    return this.paused;
  }

  /** Local ms per virtual ms (> 0). */
  get rate(): number {
    return this.rateValue;
  }

  set rate(rate: number) {
    assert(Number.isFinite(rate) && rate > 0, `clock rate must be finite and > 0, got ${rate}`);
    this.baseLocalMs = this.nowMs();
    this.baseVirtualMs = this.scheduler.nowMs();
    this.rateValue = rate;
    this.rearmAll();
  }

  /** Jumps this process's clock forward by `ms` (>= 0); timers now due fire as the next events. */
  jump(ms: number): void {
    assert(Number.isFinite(ms) && ms >= 0, `clock jump must be finite and >= 0, got ${ms}`);
    this.baseLocalMs += ms;
    this.rearmAll();
  }

  /** Cancels every pending and held timer (the process crashed). */
  cancelAll(): void {
    for (const timer of this.timers) {
      timer.cancelEvent?.();
      timer.cancelEvent = null;
    }
    this.timers.clear();
    this.held = [];
  }

  pause(): void {
    this.paused = true;
  }

  /** Fires held timers in due order, each as its own event at the current virtual time. */
  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    const held = this.held;
    this.held = [];
    for (const timer of held) {
      if (!this.timers.has(timer)) continue;
      timer.cancelEvent = this.scheduler.schedule(this.scheduler.nowMs(), () => this.fire(timer));
    }
  }

  private cancel(timer: ScopedTimer): void {
    if (!this.timers.delete(timer)) return;
    timer.cancelEvent?.();
    timer.cancelEvent = null;
    // A held timer stays in `held` but is skipped on resume because it left `timers`.
  }

  /** The virtual time at which local time reaches `dueLocalMs`, never in the past. */
  private virtualTimeOf(dueLocalMs: number): number {
    const v = this.baseVirtualMs + (dueLocalMs - this.baseLocalMs) / this.rateValue;
    return Math.max(this.scheduler.nowMs(), v);
  }

  private arm(timer: ScopedTimer): void {
    timer.cancelEvent = this.scheduler.schedule(this.virtualTimeOf(timer.dueLocalMs), () => this.fire(timer));
  }

  /** Re-schedules every armed timer after a rate change or jump, in (due, seq) order to keep ties. */
  private rearmAll(): void {
    const armed = [...this.timers].filter((t) => t.cancelEvent !== null);
    armed.sort((a, b) => a.dueLocalMs - b.dueLocalMs || a.seq - b.seq);
    for (const timer of armed) {
      timer.cancelEvent?.();
      this.arm(timer);
    }
  }

  private fire(timer: ScopedTimer): void {
    timer.cancelEvent = null;
    if (!this.timers.has(timer)) return;
    if (this.paused) {
      // Held timers were due in (due, seq) order of their events, so appending keeps that order.
      this.held.push(timer);
      return;
    }
    this.timers.delete(timer);
    timer.fn();
  }
}
