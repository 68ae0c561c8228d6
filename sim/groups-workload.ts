/**
 * Simulated consumer-group members for the groups simulation (run-groups-seed.ts), each incarnation
 * its own pair of endpoints on the simulated network (group requests to the coordinator, fetches to
 * partition leaders). They follow the KIP-848 protocol as docs/groups.md states the client's duties:
 *
 * - one control loop per member: heartbeat (always listing what it owns) every heartbeat interval,
 *   reconcile, and commit what it processed about once a second with its member epoch;
 * - on a revocation: stop reading the partition, commit its position, drop it from what it owns, and
 *   heartbeat at once to confirm the release;
 * - on a new partition: fetch the committed offset and read from there (from 0 — the earliest, as
 *   nothing is deleted — when there is none);
 * - on UNKNOWN_MEMBER_ID / FENCED_MEMBER_EPOCH: drop every partition without committing, rejoin with
 *   epoch 0;
 * - the lease (the client-side half of exclusive ownership): with no heartbeat answered within the
 *   session timeout, measured from the heartbeat's send, the member may have been expired, so it stops
 *   reading and rejoins with epoch 0. A paused process notices only when it runs again; it then
 *   processes nothing it fetched before and reports its ownership as ended when the lease ended.
 *
 * Faults of the members themselves: a crash (its loops stop; a new incarnation with a new member id
 * starts a few seconds later) and a pause longer than the session timeout (every answer waits until
 * the pause ends, like a process stopped by SIGSTOP or a long GC). Every decision draws from the seeded
 * Random, so a seed replays exactly.
 */
import type { Random } from '../src/util/random.js';
import type { MetadataNode } from '../src/metadata/metadata-node.js';
import type { GroupErrorResult } from '../src/groups/errors.js';
import type { ConsumerGroupHeartbeatResponse, OffsetCommitResponse, OffsetFetchResponse } from '../src/groups/rpc.js';
import { decodeRecords, iterateBatches } from '../src/partitions/record-batch.js';
import type { FetchResponse } from '../src/partitions/replica.js';
import type { NodeId } from '../src/raft/types.js';
import type { FetchCall } from './data-plane.js';
import type { GroupCall } from './groups-plane.js';
import type { GroupsChecker } from './groups-checker.js';
import type { RaftCluster } from './raft-cluster.js';
import { SimRpc } from './sim-rpc.js';

export interface GroupsWorkloadOptions {
  readonly groupId: string;
  readonly topic: string;
  readonly topicId: string;
  readonly partitions: number;
  readonly members: number;
  readonly brokers: readonly NodeId[];
  readonly sessionTimeoutMs: number;
  readonly rebalanceTimeoutMs: number;
  readonly heartbeatIntervalMs: number;
  /** Metadata as a client would get it: the image of some running broker. */
  readonly metadataNode: () => MetadataNode | undefined;
  readonly isUp: (id: NodeId) => boolean;
}

/** Errors after which a client finds the coordinator again. */
const RETRY = new Set(['COORDINATOR_NOT_AVAILABLE', 'NOT_COORDINATOR', 'COORDINATOR_LOAD_IN_PROGRESS', 'REQUEST_TIMED_OUT']);
const INCARNATIONS_MAX = 40;
const CLIENT_ID_BASE = 3000;

function isError(answer: unknown): answer is GroupErrorResult {
  return typeof answer === 'object' && answer !== null && 'error' in answer;
}

/** One incarnation of a member: a process with its own member id. */
class SimMember {
  alive = true;
  pausedUntilMs = 0;
  private epoch = 0;
  private readonly owned = new Set<number>();
  /** Partitions being read: the next offset to read. A new object per reading session. */
  private readonly sessions = new Map<number, { next: number }>();
  private leaseUntilMs = 0;
  private coordinator: NodeId | undefined;
  private readonly groups: SimRpc;
  private readonly fetches: SimRpc;
  private readonly committed = new Map<number, number>();

  constructor(
    readonly memberId: string,
    clientId: NodeId,
    private readonly w: GroupsWorkload,
  ) {
    const c = w.cluster;
    this.groups = new SimRpc('groups', clientId, (m) => c.network.send(m), c.scheduler, 2000);
    this.fetches = new SimRpc('fetch', clientId + 1, (m) => c.network.send(m), c.scheduler, 2000);
    c.addClient(clientId, (m) => this.groups.onMessage(m));
    c.addClient(clientId + 1, (m) => this.fetches.onMessage(m));
  }

  private now(): number {
    return this.w.cluster.scheduler.nowMs();
  }

  /** Waits out a pause: nothing the process does happens while it is stopped. */
  private async unpaused(): Promise<void> {
    while (this.alive && this.now() < this.pausedUntilMs) await this.w.sleep(this.pausedUntilMs - this.now());
  }

  start(): void {
    void this.control().catch((e: unknown) => this.w.fail(`${this.memberId} control`, e));
    void this.reading().catch((e: unknown) => this.w.fail(`${this.memberId} reading`, e));
  }

  /**
   * When this member's right to read ends if it stops reading now: now, or the end of its lease when
   * that lapsed before (a process paused past its lease notices only when it runs again — a fenced
   * answer, a revocation or a crash handled then — but the reading loop processed nothing after the
   * lease's end, and the coordinator may have handed its partitions over since).
   */
  private readingEndMs(): number {
    return Math.min(this.now(), this.leaseUntilMs);
  }

  /** Crash: stop everything now (a paused process's right to read ended with its lease). */
  crash(): void {
    for (const p of this.sessions.keys()) this.w.checker.onStopReading(this.memberId, p, this.readingEndMs());
    this.sessions.clear();
    this.alive = false;
  }

  /** A group request at the coordinator (found first when unknown); undefined on a retriable failure. */
  private async call<T>(payload: GroupCall): Promise<T | GroupErrorResult | undefined> {
    if (this.coordinator === undefined) {
      const up = this.w.options.brokers.filter(this.w.options.isUp);
      const asked = up[this.w.random.int(Math.max(1, up.length))];
      if (asked === undefined) return undefined;
      const found = await this.groups.call(asked, { kind: 'find-coordinator', request: { groupId: this.w.options.groupId } } satisfies GroupCall, 'find-coordinator').catch(() => undefined);
      await this.unpaused();
      if (found === undefined || isError(found)) return undefined;
      this.coordinator = (found as { nodeId: number }).nodeId;
      this.w.lastCoordinator = this.coordinator;
    }
    const answer = (await this.groups.call(this.coordinator, payload, payload.kind).catch(() => undefined)) as T | GroupErrorResult | undefined;
    await this.unpaused();
    if (answer === undefined || (isError(answer) && RETRY.has(answer.error))) {
      this.coordinator = undefined;
      return undefined;
    }
    return answer;
  }

  private dropAll(why: string, atMs = this.readingEndMs()): void {
    this.w.trace('%s drops %s (%s), rejoins', this.memberId, [...this.owned].join(',') || 'nothing', why);
    for (const p of this.sessions.keys()) this.w.checker.onStopReading(this.memberId, p, atMs);
    this.sessions.clear();
    this.owned.clear();
    this.epoch = 0;
    this.w.stats.drops++;
  }

  private async control(): Promise<void> {
    const o = this.w.options;
    let lastCommitMs = 0;
    while (this.alive) {
      await this.unpaused();
      if (!this.alive) return;
      if (this.owned.size > 0 && this.now() >= this.leaseUntilMs) this.dropAll('lease expired', this.leaseUntilMs);
      const sentAtMs = this.now();
      const answer = await this.call<ConsumerGroupHeartbeatResponse>({
        kind: 'consumer-group-heartbeat',
        request: {
          groupId: o.groupId,
          memberId: this.memberId,
          memberEpoch: this.epoch,
          instanceId: '',
          clientId: 'sim',
          rebalanceTimeoutMs: o.rebalanceTimeoutMs,
          sessionTimeoutMs: o.sessionTimeoutMs,
          subscribedTopics: [o.topic],
          ownedPartitions: [{ topic: o.topic, partitions: [...this.owned].sort((a, b) => a - b) }],
          assignor: '',
        },
      });
      if (!this.alive) return;
      let again = false;
      if (answer !== undefined && isError(answer)) {
        if (answer.error === 'UNKNOWN_MEMBER_ID' || answer.error === 'FENCED_MEMBER_EPOCH') this.dropAll(answer.error);
        else this.w.fail(`${this.memberId} heartbeat`, new Error(`${answer.error}: ${answer.message}`));
      } else if (answer !== undefined) {
        this.leaseUntilMs = sentAtMs + o.sessionTimeoutMs;
        this.epoch = answer.memberEpoch;
        if (answer.assignment !== undefined) {
          const target = new Set(answer.assignment.filter((t) => t.topic === o.topic).flatMap((t) => t.partitions));
          again = await this.reconcile(target);
        }
      }
      if (!this.alive) return;
      if (this.now() - lastCommitMs >= 1000 && this.now() < this.leaseUntilMs) {
        lastCommitMs = this.now();
        await this.commit([...this.sessions].map(([p, s]) => [p, s.next] as const));
      }
      await this.w.sleep(again ? 10 : o.heartbeatIntervalMs);
    }
  }

  /** Moves toward `target`; true when the coordinator must hear at once (a release to confirm). */
  private async reconcile(target: ReadonlySet<number>): Promise<boolean> {
    const revoked = [...this.owned].filter((p) => !target.has(p));
    if (revoked.length > 0) {
      const positions: Array<readonly [number, number]> = [];
      for (const p of revoked) {
        const s = this.sessions.get(p);
        if (s !== undefined) positions.push([p, s.next]);
        this.sessions.delete(p);
        this.w.checker.onStopReading(this.memberId, p, this.readingEndMs());
      }
      this.w.trace('%s revokes %s at epoch %d', this.memberId, revoked.join(','), this.epoch);
      await this.commit(positions);
      for (const p of revoked) this.owned.delete(p);
      return true;
    }
    const added = [...target].filter((p) => !this.owned.has(p)).sort((a, b) => a - b);
    if (added.length === 0) return false;
    const sentAtMs = this.now();
    const fetched = await this.call<OffsetFetchResponse>({ kind: 'offset-fetch', request: { groupId: this.w.options.groupId, topics: [{ topic: this.w.options.topic, partitions: added }] } });
    if (!this.alive || fetched === undefined || isError(fetched)) return false;
    // The lease may have run out while fetching; the next turn drops everything then.
    if (this.now() >= this.leaseUntilMs || this.epoch === 0) return false;
    for (const p of added) {
      const committed = fetched.offsets.find((f) => f.topic === this.w.options.topic && f.partition === p)?.offset ?? -1;
      this.w.checker.onFetched(this.memberId, p, committed, sentAtMs);
      const start = committed < 0 ? 0 : committed;
      this.owned.add(p);
      this.sessions.set(p, { next: start });
      this.committed.set(p, start);
      this.w.checker.onStartReading(this.memberId, p, start);
    }
    this.w.trace('%s owns %s at epoch %d', this.memberId, [...this.owned].join(','), this.epoch);
    return false;
  }

  /** Commits positions with the current epoch; fenced answers drop everything. */
  private async commit(positions: ReadonlyArray<readonly [number, number]>): Promise<void> {
    const changed = positions.filter(([p, offset]) => (this.committed.get(p) ?? -1) < offset);
    if (changed.length === 0 || this.epoch === 0) return;
    const epoch = this.epoch;
    const sentAtMs = this.now();
    const answer = await this.call<OffsetCommitResponse>({
      kind: 'offset-commit',
      request: { groupId: this.w.options.groupId, memberId: this.memberId, memberEpoch: epoch, offsets: changed.map(([p, offset]) => ({ topic: this.w.options.topic, partition: p, offset, leaderEpoch: -1, metadata: '' })) },
    });
    if (!this.alive || answer === undefined) return;
    if (isError(answer)) {
      if ((answer.error === 'UNKNOWN_MEMBER_ID' || answer.error === 'FENCED_MEMBER_EPOCH') && this.epoch === epoch) this.dropAll(`commit: ${answer.error}`);
      return; // STALE_MEMBER_EPOCH: the next heartbeat brings the epoch; the next commit carries it
    }
    for (const [p, offset] of changed) {
      const result = answer.results.find((r) => r.partition === p);
      if (result === undefined || result.error !== undefined) continue;
      this.committed.set(p, offset);
      this.w.checker.onCommitAcknowledged(this.memberId, p, offset, sentAtMs);
      this.w.stats.commits++;
    }
  }

  private leaderOf(partition: number): NodeId | undefined {
    const p = this.w.options.metadataNode()?.metadata.image.partition(this.w.options.topicId, partition);
    return p === undefined || p.leader < 0 ? undefined : p.leader;
  }

  /** Reads every partition being read, one long poll at a time, round robin. */
  private async reading(): Promise<void> {
    let turn = 0;
    while (this.alive) {
      await this.unpaused();
      const partitions = [...this.sessions.keys()].sort((a, b) => a - b);
      const p = partitions[turn++ % Math.max(1, partitions.length)];
      const session = p === undefined ? undefined : this.sessions.get(p);
      const leader = p === undefined ? undefined : this.leaderOf(p);
      if (p === undefined || session === undefined || leader === undefined) {
        await this.w.sleep(100);
        continue;
      }
      const call: FetchCall = {
        topicId: this.w.options.topicId,
        partition: p,
        request: { replicaId: -1, brokerEpoch: -1, sequence: -1, fetchOffset: session.next, lastFetchedEpoch: -1, currentLeaderEpoch: -1, maxBytes: 16 * 1024, minBytes: 1, maxWaitMs: 200 },
      };
      const response = (await this.fetches.call(leader, call).catch(() => undefined)) as FetchResponse | undefined;
      await this.unpaused();
      if (response === undefined || 'error' in response || 'divergingEpoch' in response) {
        await this.w.sleep(50);
        continue;
      }
      // Process only within the same reading session and a live lease.
      if (!this.alive || this.sessions.get(p) !== session || this.now() >= this.leaseUntilMs) continue;
      for (const { position } of iterateBatches(response.records)) {
        for (const r of decodeRecords(response.records, position)) {
          if (r.offset < session.next || r.offset >= response.highWatermark) continue;
          this.w.checker.onRead(this.memberId, p, r.offset);
          session.next = r.offset + 1;
        }
      }
    }
  }
}

export class GroupsWorkload {
  readonly stats = { memberCrashes: 0, memberPauses: 0, drops: 0, commits: 0 };
  /** The coordinator a member found last (the run crashes it on purpose). */
  lastCoordinator: NodeId | undefined;
  private readonly slots: Array<SimMember | undefined> = [];
  private readonly incarnations: number[] = [];
  private faulting = false;

  constructor(
    readonly cluster: RaftCluster,
    readonly checker: GroupsChecker,
    readonly random: Random,
    readonly options: GroupsWorkloadOptions,
  ) {}

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.cluster.scheduler.setTimer(Math.max(0, ms), resolve));
  }

  trace(format: string, ...args: unknown[]): void {
    this.cluster.trace.event(format, ...args);
  }

  /** A member loop threw: a bug in the simulation or the code under test. */
  fail(what: string, error: unknown): void {
    this.cluster.checker.violations.push(`t=${this.cluster.scheduler.nowMs()}ms ${what} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  }

  start(): void {
    for (let i = 0; i < this.options.members; i++) this.launch(i);
  }

  private launch(slot: number): void {
    const inc = this.incarnations[slot] ?? 0;
    if (inc >= INCARNATIONS_MAX) throw new Error(`member slot ${slot} restarted more than ${INCARNATIONS_MAX} times`);
    this.incarnations[slot] = inc + 1;
    const m = new SimMember(`m${slot}.${inc}`, CLIENT_ID_BASE + slot * 2 * INCARNATIONS_MAX + inc * 2, this);
    this.slots[slot] = m;
    this.trace('%s starts', m.memberId);
    m.start();
  }

  /** Member crashes and pauses, one every `gapMs` to `2 * gapMs`, until `stopFaults`. */
  startFaults(gapMs: number): void {
    this.faulting = true;
    const next = (): void => {
      this.cluster.scheduler.setTimer(gapMs + this.random.int(gapMs), () => {
        if (!this.faulting) return;
        const slot = this.random.int(this.options.members);
        const m = this.slots[slot];
        if (m !== undefined && m.alive && this.cluster.scheduler.nowMs() >= m.pausedUntilMs) {
          if (this.random.int(2) === 0) {
            this.trace('%s crashes', m.memberId);
            m.crash();
            this.stats.memberCrashes++;
            this.cluster.scheduler.setTimer(1000 + this.random.int(4000), () => {
              if (this.slots[slot] === m) this.launch(slot);
            });
          } else {
            const ms = this.options.sessionTimeoutMs + 500 + this.random.int(3000);
            this.trace('%s paused for %d ms', m.memberId, ms);
            m.pausedUntilMs = this.cluster.scheduler.nowMs() + ms;
            this.stats.memberPauses++;
          }
        }
        next();
      });
    };
    next();
  }

  /** Stops member faults and restarts every crashed member (pauses run out by themselves). */
  stopFaults(): void {
    this.faulting = false;
    for (let slot = 0; slot < this.options.members; slot++) if (this.slots[slot]?.alive !== true) this.launch(slot);
  }

  stopAll(): void {
    this.faulting = false;
    for (const m of this.slots) m?.crash();
  }
}
