/**
 * A seeded fault schedule for the controller quorum (swarm testing, as in TigerBeetle's VOPR: each
 * seed enables a random subset of fault kinds with its own intensity, so rare combinations get
 * explored). Every fault is undone after a random delay; `healAll` at the end undoes whatever is left.
 *
 * Bounds that keep the run within Raft's fault model: at most one voter at a time is without its
 * disk's contents (wiped and not yet recovered) — two would be a lost majority, which no consensus
 * protocol survives.
 */
import type { Random } from '../src/util/random.js';
import type { NodeId } from '../src/raft/types.js';
import type { RaftCluster } from './raft-cluster.js';

export const FAULT_KINDS = [
  'crash',
  'power-loss',
  'partition',
  'isolate-leader',
  'asymmetric-leader',
  'swizzle-clog',
  'pause',
  'clock-skew',
  'lossy-network',
  'wipe-disk',
  'disk-full',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export class RaftFaults {
  readonly enabled: FaultKind[];
  readonly counts = new Map<FaultKind, number>();
  private running = false;

  constructor(
    private readonly cluster: RaftCluster,
    private readonly random: Random,
    private readonly gapMsMax: number,
    only?: readonly FaultKind[],
  ) {
    const candidates = only ?? FAULT_KINDS;
    this.enabled = candidates.filter(() => random.int(2) === 0);
    if (this.enabled.length === 0) this.enabled.push(candidates[random.int(candidates.length)] as FaultKind);
  }

  start(): void {
    this.running = true;
    this.next();
  }

  stop(): void {
    this.running = false;
  }

  private next(): void {
    if (!this.running) return;
    this.cluster.scheduler.setTimer(100 + this.random.int(this.gapMsMax), () => {
      if (!this.running) return;
      const kind = this.enabled[this.random.int(this.enabled.length)] as FaultKind;
      if (this.inject(kind)) this.counts.set(kind, (this.counts.get(kind) ?? 0) + 1);
      this.next();
    });
  }

  private later(fn: () => void, msMax = 4000): void {
    this.cluster.scheduler.setTimer(100 + this.random.int(msMax), () => {
      if (this.running) fn();
    });
  }

  private pick(ids: readonly NodeId[]): NodeId {
    return ids[this.random.int(ids.length)] as NodeId;
  }

  private allIds(): NodeId[] {
    return [...this.cluster.voterIds, ...this.cluster.observerIds];
  }

  private restartLater(id: NodeId): void {
    this.later(() => {
      const m = this.cluster.machine(id);
      if (!m.isUp && m.node === undefined && this.cluster.network.isDown(id)) this.cluster.start(id);
    });
  }

  /** Injects one fault; returns false when it does not apply right now. */
  private inject(kind: FaultKind): boolean {
    const c = this.cluster;
    const net = c.network;
    switch (kind) {
      case 'crash': {
        const id = this.random.int(3) === 0 ? (c.leader() ?? this.pick(this.allIds())) : this.pick(this.allIds());
        if (!c.machine(id).isUp) return false;
        c.crash(id, this.random.int(2) === 0);
        this.restartLater(id);
        return true;
      }
      case 'power-loss': {
        const ids = this.allIds().filter((id) => c.machine(id).isUp && this.random.int(2) === 0);
        if (ids.length === 0) return false;
        c.powerLoss(ids);
        for (const id of ids) this.restartLater(id);
        return true;
      }
      case 'partition': {
        const ids = this.allIds();
        const a = ids.filter(() => this.random.int(2) === 0);
        const b = ids.filter((id) => !a.includes(id));
        if (a.length === 0 || b.length === 0) return false;
        c.trace.event('partition %s | %s', a.join(','), b.join(','));
        net.partition(a, b);
        this.later(() => net.heal());
        return true;
      }
      case 'isolate-leader': {
        const leader = c.leader();
        if (leader === undefined) return false;
        c.trace.event('isolate leader n%d', leader);
        net.isolate(leader);
        this.later(() => net.reconnect(leader));
        return true;
      }
      case 'asymmetric-leader': {
        const leader = c.leader();
        if (leader === undefined) return false;
        // The leader still hears everyone but its messages to the others are lost (or the reverse).
        const outbound = this.random.int(2) === 0;
        c.trace.event('one-way partition of leader n%d (%s)', leader, outbound ? 'outbound lost' : 'inbound lost');
        for (const id of this.allIds()) {
          if (id === leader) continue;
          if (outbound) net.blockLink(leader, id);
          else net.blockLink(id, leader);
        }
        this.later(() => net.heal());
        return true;
      }
      case 'swizzle-clog': {
        c.trace.event('swizzle-clog');
        net.swizzleClog(this.allIds(), { extraMs: 500 + this.random.int(2000), intervalMsMax: 500 });
        this.later(() => net.heal(), 6000);
        return true;
      }
      case 'pause': {
        const id = this.pick(this.allIds());
        if (!c.machine(id).isUp) return false;
        c.pause(id);
        // Often longer than the election timeout, like a long GC pause or SIGSTOP.
        this.later(() => c.resume(id), 5000);
        return true;
      }
      case 'clock-skew': {
        const id = this.pick(this.allIds());
        const rate = [0.5, 2, 4][this.random.int(3)] as number;
        c.trace.event('n%d clock rate %s', id, rate);
        c.machine(id).clock.rate = rate;
        this.later(() => {
          c.machine(id).clock.rate = 1;
        });
        return true;
      }
      case 'lossy-network': {
        c.trace.event('lossy network');
        net.setProfile({
          latencyMs: { min: 1, max: 5 + this.random.int(50) },
          dropProbability: this.random.float() * 0.2,
          duplicateProbability: this.random.float() * 0.1,
          reorderProbability: this.random.float() * 0.3,
        });
        this.later(() => net.setProfile({ latencyMs: { min: 1, max: 5 }, dropProbability: 0, duplicateProbability: 0, reorderProbability: 0 }));
        return true;
      }
      case 'wipe-disk': {
        const anyRecovering = c.voterIds.some((id) => c.machine(id).isRecovering);
        if (anyRecovering) return false;
        const id = this.pick(c.voterIds);
        c.wipeDisk(id);
        this.restartLater(id);
        return true;
      }
      case 'disk-full': {
        const id = this.pick(this.allIds());
        c.trace.event('n%d disk full', id);
        c.machine(id).disk.full = true;
        this.later(() => {
          c.machine(id).disk.full = false;
          this.restartLater(id);
        });
        return true;
      }
    }
  }
}
