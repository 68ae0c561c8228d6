/**
 * The simulated network: the twin of the WebSocket transport (DESIGN.md §2), with the network faults
 * of DESIGN.md §9 (partitions symmetric and one-way, isolation, swizzle-clog, drop, delay, reorder,
 * duplication, down nodes).
 *
 * Job: `send(msg)` decides — at send time, with the given `Random` — whether the message is lost,
 * when it arrives (uniform latency from the current profile, plus clog delay, plus reorder jitter,
 * plus transmission time when a bandwidth is set), and whether a duplicate arrives too; it then
 * schedules each arrival on the `Scheduler`. At arrival, the message is dropped if its link is blocked
 * then, if the destination is down, or if the destination crashed since the send (its connections
 * were reset); otherwise `deliver(msg)` is called.
 *
 * Invariants:
 * - Every random choice comes from the given `Random`, every delay from the `Scheduler`: same seed and
 *   same calls => same deliveries, in the same order, at the same virtual times.
 * - Accounting: each send counts once in `sent`; each copy (the original and any duplicate) ends as
 *   exactly one `delivered` or one `dropped` — so when nothing is in flight,
 *   `sent + duplicated === delivered + dropped`.
 * - Reordering only ever comes from different latencies; messages are never held back by others.
 *
 * I/O contract: `deliver` runs as a scheduler event of its own (the scheduler settles its microtasks
 * before the next event). The network never mutates messages; the duplicate is the same object.
 */

import { assert } from '../src/util/assert.js';
import type { CancelTimer } from '../src/util/clock.js';
import type { Random } from '../src/util/random.js';
import type { Scheduler } from './scheduler.js';

export interface NetworkProfile {
  /** One-way latency, drawn uniformly from the integers in [min, max] ms. */
  latencyMs: { min: number; max: number };
  /** Chance in [0, 1] that a message is lost at send. */
  dropProbability: number;
  /** Chance in [0, 1] that a delivered message arrives a second time (with its own latency). */
  duplicateProbability: number;
  /** Chance in [0, 1] that a message gets extra jitter in [0, reorderJitterMsMax] ms. */
  reorderProbability: number;
  /** Upper bound of the reorder jitter, ms. Default: `latencyMs.max`. */
  reorderJitterMsMax?: number;
  /** Link bandwidth, bytes per virtual ms; adds `ceil(size / bytesPerMs)` ms. Default: unlimited. */
  bytesPerMs?: number;
}

export const DEFAULT_PROFILE: NetworkProfile = {
  latencyMs: { min: 1, max: 5 },
  dropProbability: 0,
  duplicateProbability: 0,
  reorderProbability: 0,
};

export type DropReason = 'blocked' | 'random' | 'down' | 'restarted';

/** What happened to a message, for traces and tests. */
export type NetworkEvent<M> =
  | { kind: 'deliver'; atMs: number; msg: M; duplicate: boolean }
  | { kind: 'drop'; atMs: number; msg: M; reason: DropReason; duplicate: boolean };

export interface NetworkStats {
  sent: number;
  delivered: number;
  dropped: number;
  duplicated: number;
  bytesSent: number;
  bytesDelivered: number;
  /** Copies scheduled and not yet delivered or dropped. */
  inFlight: number;
}

export interface SimNetworkOptions<M> {
  scheduler: Scheduler;
  random: Random;
  deliver: (msg: M) => void;
  /** Message size in bytes, for byte counters and bandwidth. Default: 0. */
  size?: (msg: M) => number;
  /** Observes every delivery and drop (traces, delivery logs in tests). */
  observe?: (event: NetworkEvent<M>) => void;
  profile?: NetworkProfile;
}

export interface SwizzleClogOptions {
  /** Extra delay while clogged, ms. */
  extraMs: number;
  /** Each step (clog or unclog) happens 1..intervalMsMax ms after the previous one. */
  intervalMsMax: number;
}

export interface SwizzleClog {
  /** The clogged subset, in the order they were (or will be) clogged. */
  readonly nodes: readonly number[];
  /** The unclog order. */
  readonly unclogOrder: readonly number[];
  /** Virtual time at which the last node is unclogged. */
  readonly endsAtMs: number;
  /** Stops the remaining steps (does not unclog already clogged nodes; `heal` does). */
  cancel(): void;
}

function checkProfile(p: NetworkProfile): void {
  const { min, max } = p.latencyMs;
  assert(Number.isSafeInteger(min) && Number.isSafeInteger(max) && min >= 0 && max >= min,
    `latencyMs must be integers with 0 <= min <= max, got ${min}..${max}`);
  for (const [name, v] of [['drop', p.dropProbability], ['duplicate', p.duplicateProbability],
    ['reorder', p.reorderProbability]] as const) {
    assert(Number.isFinite(v) && v >= 0 && v <= 1, `${name}Probability must be in [0, 1], got ${v}`);
  }
  if (p.reorderJitterMsMax !== undefined) {
    assert(Number.isSafeInteger(p.reorderJitterMsMax) && p.reorderJitterMsMax >= 0,
      `reorderJitterMsMax must be a non-negative integer, got ${p.reorderJitterMsMax}`);
  }
  if (p.bytesPerMs !== undefined) {
    assert(Number.isFinite(p.bytesPerMs) && p.bytesPerMs > 0, `bytesPerMs must be > 0, got ${p.bytesPerMs}`);
  }
}

export class SimNetwork<M extends { from: number; to: number }> {
  private readonly scheduler: Scheduler;
  private readonly random: Random;
  private readonly deliverFn: (msg: M) => void;
  private readonly sizeOf: (msg: M) => number;
  private readonly observe: ((event: NetworkEvent<M>) => void) | undefined;
  private profile: NetworkProfile;
  /** from -> set of `to` whose link is blocked. */
  private readonly blocked = new Map<number, Set<number>>();
  private readonly isolated = new Set<number>();
  private readonly clogMs = new Map<number, number>();
  private readonly down = new Set<number>();
  /** Bumped each time a node goes down; a copy addressed to an older incarnation is dropped. */
  private readonly incarnation = new Map<number, number>();
  private readonly swizzles = new Set<CancelTimer>();
  private readonly counters: NetworkStats = {
    sent: 0, delivered: 0, dropped: 0, duplicated: 0, bytesSent: 0, bytesDelivered: 0, inFlight: 0,
  };

  constructor(options: SimNetworkOptions<M>) {
    this.scheduler = options.scheduler;
    this.random = options.random;
    this.deliverFn = options.deliver;
    this.sizeOf = options.size ?? (() => 0);
    this.observe = options.observe;
    this.profile = options.profile ?? DEFAULT_PROFILE;
    checkProfile(this.profile);
  }

  /** A snapshot of the counters. */
  get stats(): Readonly<NetworkStats> {
    return { ...this.counters };
  }

  get currentProfile(): Readonly<NetworkProfile> {
    return this.profile;
  }

  /** Applies to messages sent from now on; messages in flight keep their arrival times. */
  setProfile(profile: NetworkProfile): void {
    checkProfile(profile);
    this.profile = { ...profile, latencyMs: { ...profile.latencyMs } };
  }

  send(msg: M): void {
    const { from, to } = msg;
    const size = this.sizeOf(msg);
    this.counters.sent++;
    this.counters.bytesSent += size;
    const now = this.scheduler.nowMs();
    if (this.isBlocked(from, to)) return this.dropNow(msg, 'blocked', false);
    // A down process cannot send, and a send to a down process finds no one listening.
    if (this.down.has(from) || this.down.has(to)) return this.dropNow(msg, 'down', false);
    const p = this.profile;
    if (p.dropProbability > 0 && this.random.float() < p.dropProbability) return this.dropNow(msg, 'random', false);
    const toIncarnation = this.incarnation.get(to) ?? 0;
    this.scheduleArrival(msg, now + this.drawDelayMs(from, to, size), toIncarnation, false, size);
    if (p.duplicateProbability > 0 && this.random.float() < p.duplicateProbability) {
      this.counters.duplicated++;
      this.scheduleArrival(msg, now + this.drawDelayMs(from, to, size), toIncarnation, true, size);
    }
  }

  // ---- faults ----

  /** Blocks every link between the two (disjoint) groups, both ways. */
  partition(groupA: readonly number[], groupB: readonly number[]): void {
    for (const a of groupA) assert(!groupB.includes(a), `partition: node ${a} is in both groups`);
    for (const a of groupA) {
      for (const b of groupB) {
        this.blockLink(a, b);
        this.blockLink(b, a);
      }
    }
  }

  /** Blocks messages from `from` to `to` only (an asymmetric partition). */
  blockLink(from: number, to: number): void {
    let set = this.blocked.get(from);
    if (set === undefined) this.blocked.set(from, (set = new Set()));
    set.add(to);
  }

  unblockLink(from: number, to: number): void {
    this.blocked.get(from)?.delete(to);
  }

  /** Cuts `node` off from every other node, both ways (until `heal` or `reconnect`). */
  isolate(node: number): void {
    this.isolated.add(node);
  }

  reconnect(node: number): void {
    this.isolated.delete(node);
  }

  isBlocked(from: number, to: number): boolean {
    if (from !== to && (this.isolated.has(from) || this.isolated.has(to))) return true;
    return this.blocked.get(from)?.has(to) ?? false;
  }

  /** Unblocks all links, ends isolation, unclogs every node and stops pending swizzle-clogs. */
  heal(): void {
    this.blocked.clear();
    this.isolated.clear();
    this.clogMs.clear();
    for (const cancel of [...this.swizzles]) cancel();
    this.swizzles.clear();
  }

  /** Adds `extraMs` to every message sent from or to `node` from now on. */
  clog(node: number, extraMs: number): void {
    assert(Number.isSafeInteger(extraMs) && extraMs >= 0, `clog: extraMs must be a non-negative integer, got ${extraMs}`);
    this.clogMs.set(node, extraMs);
  }

  /** The extra delay currently applied to `node`'s messages, ms (0 when not clogged). */
  clogOf(node: number): number {
    return this.clogMs.get(node) ?? 0;
  }

  unclog(node: number): void {
    this.clogMs.delete(node);
  }

  /**
   * FoundationDB's swizzle-clog: choose a random non-empty subset of `nodes`, clog them one by one at
   * random intervals, then unclog them one by one in a new random order. Driven by the scheduler.
   */
  swizzleClog(nodes: readonly number[], options: SwizzleClogOptions): SwizzleClog {
    assert(nodes.length > 0, 'swizzleClog: no nodes');
    assert(Number.isSafeInteger(options.intervalMsMax) && options.intervalMsMax >= 1,
      `swizzleClog: intervalMsMax must be an integer >= 1, got ${options.intervalMsMax}`);
    const shuffled = this.shuffle(nodes);
    const chosen = shuffled.slice(0, 1 + this.random.int(shuffled.length));
    const unclogOrder = this.shuffle(chosen);
    const cancels: CancelTimer[] = [];
    let atMs = this.scheduler.nowMs();
    const step = (fn: () => void): void => {
      atMs += 1 + this.random.int(options.intervalMsMax);
      cancels.push(this.scheduler.schedule(atMs, fn));
    };
    for (const node of chosen) step(() => this.clog(node, options.extraMs));
    for (const node of unclogOrder) step(() => this.unclog(node));
    const cancel = (): void => {
      for (const c of cancels) c();
      this.swizzles.delete(cancel);
    };
    this.swizzles.add(cancel);
    // Forget the swizzle once its last step has run.
    cancels.push(this.scheduler.schedule(atMs, () => this.swizzles.delete(cancel)));
    return { nodes: chosen, unclogOrder, endsAtMs: atMs, cancel };
  }

  /**
   * Marks a process down (crashed) or up. While down, messages from and to it are dropped; a node that
   * goes down also loses everything addressed to it that was in flight (its connections reset).
   */
  setDown(node: number, isDown: boolean): void {
    if (isDown && !this.down.has(node)) {
      this.down.add(node);
      this.incarnation.set(node, (this.incarnation.get(node) ?? 0) + 1);
    } else if (!isDown) {
      this.down.delete(node);
    }
  }

  isDown(node: number): boolean {
    return this.down.has(node);
  }

  // ---- internals ----

  private drawDelayMs(from: number, to: number, size: number): number {
    const p = this.profile;
    let delay = p.latencyMs.min + this.random.int(p.latencyMs.max - p.latencyMs.min + 1);
    delay += (this.clogMs.get(from) ?? 0) + (from === to ? 0 : this.clogMs.get(to) ?? 0);
    if (p.reorderProbability > 0 && this.random.float() < p.reorderProbability) {
      delay += this.random.int((p.reorderJitterMsMax ?? p.latencyMs.max) + 1);
    }
    if (p.bytesPerMs !== undefined && size > 0) delay += Math.ceil(size / p.bytesPerMs);
    return delay;
  }

  private scheduleArrival(msg: M, atMs: number, toIncarnation: number, duplicate: boolean, size: number): void {
    this.counters.inFlight++;
    this.scheduler.schedule(atMs, () => {
      this.counters.inFlight--;
      const { from, to } = msg;
      let reason: DropReason | null = null;
      if (this.isBlocked(from, to)) reason = 'blocked';
      else if (this.down.has(to)) reason = 'down';
      else if ((this.incarnation.get(to) ?? 0) !== toIncarnation) reason = 'restarted';
      if (reason !== null) return this.dropNow(msg, reason, duplicate);
      this.counters.delivered++;
      this.counters.bytesDelivered += size;
      this.observe?.({ kind: 'deliver', atMs: this.scheduler.nowMs(), msg, duplicate });
      this.deliverFn(msg);
    });
  }

  private dropNow(msg: M, reason: DropReason, duplicate: boolean): void {
    this.counters.dropped++;
    this.observe?.({ kind: 'drop', atMs: this.scheduler.nowMs(), msg, reason, duplicate });
  }

  /** Fisher–Yates with the network's Random. */
  private shuffle(items: readonly number[]): number[] {
    const out = [...items];
    for (let i = out.length - 1; i > 0; i--) {
      const j = this.random.int(i + 1);
      const t = out[i]!;
      out[i] = out[j]!;
      out[j] = t;
    }
    return out;
  }
}
