/**
 * One run of a consumer in its group: the membership (heartbeats, reconciliation), the offset
 * commits (auto-commit by interval and threshold, explicit commits) and what reconciling means for
 * the consumer's partitions — the `MembershipHost` — on top of the consumer's fetch engine.
 *
 * At-least-once, the rules this file keeps:
 * - What is committed for a partition is its position: the offset after the last message whose
 *   callback resolved (eachMessage), or as far as eachBatch resolved — or where the application
 *   `seek`ed. Never beyond what was processed.
 * - A partition to revoke is stopped (no fetch, no new callback), its running callback is waited for,
 *   the rebalance listener's onPartitionsRevoked runs, its position is committed (autoCommit), and only
 *   then is it removed — and reported released by the membership's next heartbeat. A commit that
 *   fails for any reason but fencing does not hold the release up: the next owner starts from the
 *   older commit and re-delivers (never skips).
 * - Partitions lost to fencing are dropped at once and never committed; their running callbacks are
 *   waited for before the member rejoins, so a partition is never handed to two callbacks at once.
 * - A new partition starts at its committed offset (with the committed leader epoch, for KIP-320
 *   truncation checks), else where the subscription says (earliest with fromBeginning, else latest).
 * - `close` commits the positions (autoCommit), stops heartbeating and leaves the group.
 *
 * Browser-safe.
 */
import type { Logger } from '../util/log.js';
import { FencedMemberError, groupErrorOf } from './group-errors.js';
import { OffsetCommitter, type CommitEntry, type CommitMember } from './group-commits.js';
import type { GroupCoordinator } from './group-coordinator.js';
import { GroupMembership, type MembershipEvent, type MembershipHost } from './group-membership.js';
import { listOf, parseKey, partitionKey, type TopicPartition } from './group-partitions.js';
import type { GroupCluster } from './group-wire.js';
import { SkeinError, toSkeinError } from './errors.js';
import type { ResolvedRetryOptions } from './retry.js';
import type { ConsumerEventPayloads, RebalanceListener, TopicPartitionList } from './consumer-types.js';

/** What the group session needs of the consumer's fetch engine (implemented in consumer.ts). */
export interface ConsumerEngine {
  /** Keys (group-partitions.ts) of every partition the consumer holds. */
  heldKeys(): string[];
  /** Takes a partition on: at `committed` when given, else at the start `fromBeginning` says. Not fetched before `startPartitions`. */
  addPartition(tp: TopicPartition, committed: { readonly offset: number; readonly leaderEpoch: number } | undefined, fromBeginning: boolean): void;
  /** Starts fetching and handing over these partitions (if a run is going). */
  startPartitions(keys: readonly string[]): void;
  /** Stops fetching and handing over these partitions; the callback running now still counts once it resolves. */
  quiesce(keys: readonly string[]): void;
  /** Resolves once no callback of these partitions is running. */
  settled(keys: readonly string[]): Promise<void>;
  /** What to commit: the position and the leader epoch of the last record consumed; undefined without a position yet. */
  position(key: string): { readonly offset: number; readonly leaderEpoch: number } | undefined;
  /** Drops the partitions: fetches and deliveries in progress are abandoned. */
  remove(keys: readonly string[]): void;
  emit<E extends 'consumer.group_join' | 'consumer.rebalancing' | 'consumer.heartbeat' | 'consumer.commit_offsets'>(type: E, payload: ConsumerEventPayloads[E]): void;
  /** Stops the run with `error` (CRASH). */
  crash(error: Error): void;
}

export interface GroupSessionOptions {
  readonly groupId: string;
  readonly memberId: string;
  readonly instanceId: string;
  readonly clientId: string;
  readonly sessionTimeoutMs: number;
  readonly rebalanceTimeoutMs: number;
  readonly heartbeatIntervalMs: number;
  readonly assignor: string;
  readonly autoCommit: boolean;
  readonly autoCommitIntervalMs: number;
  /** Commit once this many messages were processed since the last commit; 0 = off. */
  readonly autoCommitThreshold: number;
  readonly rebalanceListener: RebalanceListener | undefined;
  /** Subscribed topics, each with whether a partition without a committed offset starts at the beginning. */
  readonly subscription: ReadonlyMap<string, boolean>;
  readonly retry: ResolvedRetryOptions;
}

export interface GroupSessionDeps {
  readonly cluster: GroupCluster;
  readonly coordinator: GroupCoordinator;
  readonly engine: ConsumerEngine;
  readonly log: Logger;
}

export class GroupSession implements MembershipHost {
  readonly membership: GroupMembership;
  private readonly committer: OffsetCommitter;
  private processedSinceCommit = 0;
  private cancelAutoCommit: (() => void) | undefined;
  private closing = false;
  private closed: Promise<void> | undefined;

  constructor(
    private readonly options: GroupSessionOptions,
    private readonly deps: GroupSessionDeps,
  ) {
    const { cluster, coordinator, log } = deps;
    this.membership = new GroupMembership(
      {
        groupId: options.groupId,
        memberId: options.memberId,
        instanceId: options.instanceId,
        clientId: options.clientId,
        sessionTimeoutMs: options.sessionTimeoutMs,
        rebalanceTimeoutMs: options.rebalanceTimeoutMs,
        heartbeatIntervalMs: options.heartbeatIntervalMs,
        assignor: options.assignor,
        subscribedTopics: [...options.subscription.keys()].sort(),
        retry: options.retry,
      },
      { coordinator, host: this, clock: cluster.clock, random: cluster.random, requestTimeoutMs: cluster.requestTimeoutMs, log },
    );
    this.committer = new OffsetCommitter({
      coordinator,
      groupId: options.groupId,
      member: () => {
        const memberEpoch = this.membership.memberEpoch;
        return memberEpoch === undefined ? undefined : { memberId: this.membership.memberId, memberEpoch };
      },
      heartbeatNow: () => this.membership.heartbeatNow(),
      fenced: (error) => this.membership.fenced(error),
      committed: (entries, member) => this.onCommitted(entries, member),
      nowMs: () => cluster.clock.nowMs(),
      log,
    });
  }

  start(): void {
    this.membership.start();
    if (this.options.autoCommit) this.scheduleAutoCommit();
  }

  /**
   * Ends the session: commits every position (autoCommit; a failure is only logged), stops
   * heartbeating, leaves the group and drops the partitions. Idempotent.
   */
  close(): Promise<void> {
    this.closed ??= this.closeNow();
    return this.closed;
  }

  /** A message (or a resolved batch offset) was processed: may trigger an auto-commit by threshold. */
  processed(count = 1): void {
    if (!this.options.autoCommit || this.closing || this.options.autoCommitThreshold <= 0) return;
    this.processedSinceCommit += count;
    if (this.processedSinceCommit >= this.options.autoCommitThreshold) {
      this.processedSinceCommit = 0;
      void this.commitPositions('threshold');
    }
  }

  /** The application's commitOffsets: exactly these offsets (partitions the consumer holds). */
  commitOffsets(entries: readonly CommitEntry[]): Promise<CommitEntry[]> {
    return this.committer.commit(() => entries, { force: true, timeoutMs: this.deps.cluster.requestTimeoutMs });
  }

  // ---- MembershipHost -----------------------------------------------------------------------------

  async assign(partitions: readonly TopicPartition[], current: () => boolean): Promise<void> {
    const offsets = await this.fetchCommitted(partitions, current);
    if (offsets === undefined || !current()) return;
    const { engine } = this.deps;
    for (const tp of partitions) {
      const committed = offsets.get(partitionKey(tp.topic, tp.partition));
      if (committed !== undefined) this.committer.remember(tp.topic, tp.partition, committed.offset);
      else this.committer.forget(tp.topic, tp.partition);
      engine.addPartition(tp, committed, this.options.subscription.get(tp.topic) === true);
    }
    const added = keys(partitions);
    this.deps.log('group %s: member %s took %o', this.options.groupId, this.membership.memberId, listOf(added));
    await this.listener('onPartitionsAssigned', listOf(added));
    if (current()) engine.startPartitions(added);
  }

  async revoke(partitions: readonly TopicPartition[], current: () => boolean): Promise<void> {
    const { engine, log } = this.deps;
    const revoked = keys(partitions);
    engine.quiesce(revoked);
    await engine.settled(revoked);
    await this.listener('onPartitionsRevoked', listOf(revoked));
    if (this.options.autoCommit && current()) {
      const wanted = new Set(revoked);
      try {
        await this.committer.commit(() => this.positions((k) => wanted.has(k)), { timeoutMs: Math.min(this.deps.cluster.requestTimeoutMs, Math.floor(this.options.rebalanceTimeoutMs / 2)) });
      } catch (e) {
        if (e instanceof FencedMemberError) throw e;
        // Released all the same: the next owner resumes from the older commit (re-delivery, no skip).
        log('group %s: committing revoked partitions failed: %s', this.options.groupId, toSkeinError(e).message);
      }
    }
    if (!current()) return;
    engine.remove(revoked);
    for (const tp of partitions) this.committer.forget(tp.topic, tp.partition);
    log('group %s: member %s released %o', this.options.groupId, this.membership.memberId, listOf(revoked));
  }

  async loseAll(reason: string): Promise<void> {
    const { engine, log } = this.deps;
    const lost = engine.heldKeys();
    engine.remove(lost);
    await engine.settled(lost);
    for (const k of lost) {
      const { topic, partition } = parseKey(k);
      this.committer.forget(topic, partition);
    }
    log('group %s: member %s lost %o (%s)', this.options.groupId, this.membership.memberId, listOf(lost), reason);
    if (lost.length > 0) await this.listener('onPartitionsLost', listOf(lost));
  }

  event(event: MembershipEvent): void {
    const { groupId } = this.options;
    const { engine } = this.deps;
    if (event.type === 'heartbeat') engine.emit('consumer.heartbeat', { groupId, memberId: event.memberId, memberEpoch: event.memberEpoch });
    else if (event.type === 'rebalancing') engine.emit('consumer.rebalancing', { groupId, memberId: event.memberId, memberEpoch: event.memberEpoch });
    else engine.emit('consumer.group_join', { groupId, memberId: event.memberId, memberEpoch: event.memberEpoch, memberAssignment: event.assignment });
  }

  fatal(error: SkeinError): void {
    this.deps.engine.crash(error);
  }

  // ---- Internals ----------------------------------------------------------------------------------

  private async closeNow(): Promise<void> {
    this.closing = true;
    this.cancelAutoCommit?.();
    if (this.options.autoCommit && this.membership.memberEpoch !== undefined) {
      try {
        await this.commitPositionsOrThrow();
      } catch (e) {
        this.deps.log('group %s: the last commit failed: %s', this.options.groupId, toSkeinError(e).message);
      }
    }
    await this.membership.stop();
    await this.membership.leave();
    this.deps.engine.remove(this.deps.engine.heldKeys());
  }

  private scheduleAutoCommit(): void {
    if (this.closing) return;
    this.cancelAutoCommit = this.deps.cluster.clock.setTimer(this.options.autoCommitIntervalMs, () => {
      void this.commitPositions('interval').finally(() => this.scheduleAutoCommit());
    });
  }

  /** Commits every position that moved; errors are logged (fencing is the membership's business). */
  private async commitPositions(why: string): Promise<void> {
    if (this.closing || this.membership.memberEpoch === undefined) return;
    try {
      await this.commitPositionsOrThrow();
    } catch (e) {
      this.deps.log('group %s: auto-commit (%s) failed: %s', this.options.groupId, why, toSkeinError(e).message);
    }
  }

  private commitPositionsOrThrow(): Promise<CommitEntry[]> {
    return this.committer.commit(() => this.positions(() => true), { timeoutMs: this.deps.cluster.requestTimeoutMs });
  }

  /** The positions of the held partitions `pick` selects, as commit entries. */
  private positions(pick: (key: string) => boolean): CommitEntry[] {
    const { engine } = this.deps;
    const out: CommitEntry[] = [];
    for (const key of engine.heldKeys()) {
      if (!pick(key)) continue;
      const position = engine.position(key);
      if (position === undefined) continue;
      const { topic, partition } = parseKey(key);
      out.push({ topic, partition, offset: position.offset, leaderEpoch: position.leaderEpoch });
    }
    return out;
  }

  private onCommitted(entries: readonly CommitEntry[], member: CommitMember): void {
    const byTopic = new Map<string, Array<{ partition: number; offset: number }>>();
    for (const e of entries) {
      const list = byTopic.get(e.topic) ?? [];
      list.push({ partition: e.partition, offset: e.offset });
      byTopic.set(e.topic, list);
    }
    this.deps.engine.emit('consumer.commit_offsets', {
      groupId: this.options.groupId,
      memberId: member.memberId,
      memberEpoch: member.memberEpoch,
      topics: [...byTopic].map(([topic, partitions]) => ({ topic, partitions })),
    });
  }

  /** Committed offsets of `partitions` (absent: none committed), retried while `current()`; undefined once not current. */
  private async fetchCommitted(partitions: readonly TopicPartition[], current: () => boolean): Promise<Map<string, { offset: number; leaderEpoch: number }> | undefined> {
    const topics = listOf(keys(partitions));
    for (;;) {
      if (!current()) return undefined;
      try {
        const answer = await this.deps.coordinator.sendWithRetry('offset-fetch', { groupId: this.options.groupId, topics }, { cancelled: () => !current() });
        if ('error' in answer) {
          // A group with no state yet has no offsets either.
          if (answer.error === 'GROUP_ID_NOT_FOUND') return new Map();
          throw groupErrorOf(answer);
        }
        const out = new Map<string, { offset: number; leaderEpoch: number }>();
        for (const o of answer.offsets) if (o.offset >= 0) out.set(partitionKey(o.topic, o.partition), { offset: o.offset, leaderEpoch: o.leaderEpoch });
        return out;
      } catch (e) {
        const error = toSkeinError(e);
        if (!error.retriable) throw error;
        this.deps.log('group %s: fetching committed offsets: %s; trying again', this.options.groupId, error.message);
      }
    }
  }

  /** Runs a rebalance listener; a throwing one stops the run (as a throwing eachMessage would). */
  private async listener(name: keyof RebalanceListener, partitions: TopicPartitionList[]): Promise<void> {
    const fn = this.options.rebalanceListener?.[name];
    if (fn === undefined) return;
    try {
      await fn(partitions);
    } catch (e) {
      this.deps.engine.crash(e instanceof Error ? e : new Error(String(e)));
    }
  }
}

function keys(partitions: readonly TopicPartition[]): string[] {
  return partitions.map((tp) => partitionKey(tp.topic, tp.partition));
}
