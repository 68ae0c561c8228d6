/**
 * One consumer group's membership and assignment (KIP-848, simplified): the group epoch, the target
 * assignment the assignor computed at `assignmentEpoch`, and every member's state (member.ts). Plain
 * synchronous state: no time, no I/O. The shard (shard.ts) owns timers and persistence: it writes
 * the group record whenever `dirty` is set, and answers only once that write is durable.
 *
 * Invariants (asserted on every member change):
 * - Exclusive ownership: no partition is held (assigned or pending revocation) by two members at once.
 *   `owners` indexes every held partition; `setMember` refuses to add one held by someone else.
 * - The target assignment is recomputed, and the group epoch bumped, whenever the inputs of the
 *   assignor change: a member joins or leaves, a subscription, the assignor or a subscribed topic's
 *   partition count changes. So `assignmentEpoch === groupEpoch` after every operation here.
 * - A member's epoch never exceeds the assignment epoch; a partition moves only through revocation
 *   (confirmed by the owner's heartbeat), leave, session expiry or the rebalance timeout.
 */
import { assert } from '../util/assert.js';
import { EMPTY, equals, fromRecord, fromTopicPartitions, isSubset, pairs, partitionKey, toRecord, toTopicPartitions, type Assignment } from './assignment.js';
import { DEFAULT_ASSIGNOR, isAssignorName, type Assignor, type AssignorName } from './assignor.js';
import { rangeAssignor } from './assignor-range.js';
import { uniformAssignor } from './assignor-uniform.js';
import type { GroupConfig } from './config.js';
import { groupError, type GroupErrorResult } from './errors.js';
import { held, isAway, newMember, reconcile, type Member } from './member.js';
import { OffsetStore } from './offset-store.js';
import type { GroupRecordValue } from './records.js';
import type { ConsumerGroupHeartbeatRequest, ConsumerGroupHeartbeatResponse, GroupDescription, GroupStateName } from './rpc.js';

const ASSIGNORS: Readonly<Record<AssignorName, Assignor>> = { uniform: uniformAssignor, range: rangeAssignor };

/** What the group needs to know of the cluster: partition counts of topics. */
export interface TopicMetadataPort {
  /** The number of partitions of `topic`, or undefined when it does not exist. */
  partitionCount(topic: string): number | undefined;
}

export interface GroupContext {
  readonly topics: TopicMetadataPort;
  readonly config: GroupConfig;
}

export type HeartbeatAnswer = Exclude<ConsumerGroupHeartbeatResponse, GroupErrorResult>;

const INT32_MAX = 0x7fff_ffff;

function sortedUnique(list: readonly string[]): string[] {
  return [...new Set(list)].sort();
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => b[i] === x);
}

function sameMember(a: Member, b: Member): boolean {
  return (
    a.memberId === b.memberId &&
    a.instanceId === b.instanceId &&
    a.clientId === b.clientId &&
    a.rebalanceTimeoutMs === b.rebalanceTimeoutMs &&
    a.sessionTimeoutMs === b.sessionTimeoutMs &&
    sameList(a.subscribedTopics, b.subscribedTopics) &&
    a.memberEpoch === b.memberEpoch &&
    a.previousMemberEpoch === b.previousMemberEpoch &&
    a.state === b.state &&
    equals(a.assigned, b.assigned) &&
    equals(a.pendingRevocation, b.pendingRevocation)
  );
}

export class ConsumerGroup {
  groupEpoch = 0;
  assignmentEpoch = 0;
  assignor: AssignorName = DEFAULT_ASSIGNOR;
  /** Committed offsets (persisted as their own records, not in the group record). */
  readonly offsets = new OffsetStore();
  /** A field of the group record changed since the shard last wrote it. */
  dirty = false;
  private readonly membersById = new Map<string, Member>();
  private targets = new Map<string, Assignment>();
  private topicCounts = new Map<string, number>();
  /** partitionKey → the member holding it (assigned or pending revocation). */
  private readonly owners = new Map<string, string>();

  constructor(readonly groupId: string) {}

  // ---- Reading ------------------------------------------------------------------------------------

  member(memberId: string): Member | undefined {
    return this.membersById.get(memberId);
  }

  /** Members by id. */
  members(): Member[] {
    return [...this.membersById.values()].sort((a, b) => (a.memberId < b.memberId ? -1 : a.memberId > b.memberId ? 1 : 0));
  }

  get memberCount(): number {
    return this.membersById.size;
  }

  target(memberId: string): Assignment {
    return this.targets.get(memberId) ?? EMPTY;
  }

  /** The member holding a partition, if any. */
  ownerOf(topic: string, partition: number): string | undefined {
    return this.owners.get(partitionKey(topic, partition));
  }

  /** Nothing to keep: no members and no offsets (the shard then deletes the group). */
  get isEmptyAndUnused(): boolean {
    return this.membersById.size === 0 && this.offsets.size === 0;
  }

  state(): GroupStateName {
    if (this.membersById.size === 0) return 'empty';
    if (this.groupEpoch > this.assignmentEpoch) return 'assigning';
    for (const m of this.membersById.values()) {
      if (isAway(m)) continue;
      if (m.memberEpoch !== this.assignmentEpoch || m.state !== 'stable') return 'reconciling';
    }
    return 'stable';
  }

  describe(): GroupDescription {
    return {
      groupId: this.groupId,
      state: this.state(),
      groupEpoch: this.groupEpoch,
      assignmentEpoch: this.assignmentEpoch,
      assignor: this.assignor,
      members: this.members().map((m) => ({
        memberId: m.memberId,
        instanceId: m.instanceId,
        clientId: m.clientId,
        memberEpoch: m.memberEpoch,
        subscribedTopics: [...m.subscribedTopics],
        assignment: toTopicPartitions(m.assigned),
        targetAssignment: toTopicPartitions(this.target(m.memberId)),
      })),
    };
  }

  // ---- Requests -----------------------------------------------------------------------------------

  /**
   * One ConsumerGroupHeartbeat. Changes the group in place (setting `dirty` when the record changes)
   * and returns the answer, or an error that changed nothing.
   */
  heartbeat(req: ConsumerGroupHeartbeatRequest, ctx: GroupContext): HeartbeatAnswer | GroupErrorResult {
    const cfg = ctx.config;
    if (req.memberId === '' || req.memberId.length > 255) return groupError('INVALID_REQUEST', 'memberId must be 1 to 255 characters');
    if (req.memberEpoch === -1) return this.leave(req, ctx);
    if (req.memberEpoch === -2) return this.leaveForNow(req);
    if (req.memberEpoch < -2) return groupError('INVALID_REQUEST', `memberEpoch ${req.memberEpoch} is not valid`);
    const sessionTimeoutMs = req.sessionTimeoutMs === 0 ? cfg.sessionTimeoutMs : req.sessionTimeoutMs;
    if (sessionTimeoutMs < cfg.sessionTimeoutMinMs || sessionTimeoutMs > cfg.sessionTimeoutMaxMs) {
      return groupError('INVALID_REQUEST', `sessionTimeoutMs must be between ${cfg.sessionTimeoutMinMs} and ${cfg.sessionTimeoutMaxMs}, got ${req.sessionTimeoutMs}`);
    }
    const rebalanceTimeoutMs = req.rebalanceTimeoutMs === 0 ? cfg.rebalanceTimeoutMs : req.rebalanceTimeoutMs;
    if (rebalanceTimeoutMs < 0 || rebalanceTimeoutMs > INT32_MAX) return groupError('INVALID_REQUEST', `rebalanceTimeoutMs must not be negative, got ${req.rebalanceTimeoutMs}`);
    if (req.assignor !== '' && !isAssignorName(req.assignor)) return groupError('INVALID_REQUEST', `unknown assignor '${req.assignor}' (known: uniform, range)`);
    const owned = req.ownedPartitions === undefined ? undefined : fromTopicPartitions(req.ownedPartitions);

    let before: Member | undefined;
    let member: Member;
    let joined = false;
    let isNew = false;
    if (req.memberEpoch === 0) {
      if (req.subscribedTopics === undefined) return groupError('INVALID_REQUEST', 'a joining member must send subscribedTopics');
      const chosen = this.joining(req, sessionTimeoutMs, rebalanceTimeoutMs, cfg);
      if ('error' in chosen) return chosen;
      member = chosen.member;
      joined = true;
      isNew = chosen.isNew;
    } else {
      const existing = this.membersById.get(req.memberId);
      if (existing === undefined) return groupError('UNKNOWN_MEMBER_ID', `member ${req.memberId} is not in group ${this.groupId}`);
      if (existing.instanceId !== req.instanceId) return groupError('INVALID_REQUEST', `member ${req.memberId} has instance id '${existing.instanceId}', not '${req.instanceId}'`);
      if (isAway(existing)) return groupError('FENCED_MEMBER_EPOCH', `static member ${req.memberId} left; rejoin with epoch 0`);
      if (req.memberEpoch !== existing.memberEpoch) {
        // A retry after a lost answer carries the previous epoch and owns nothing it may not own.
        const retry = req.memberEpoch === existing.previousMemberEpoch && (owned === undefined || isSubset(owned, held(existing)));
        if (!retry) return groupError('FENCED_MEMBER_EPOCH', `member ${req.memberId} sent epoch ${req.memberEpoch}, its epoch is ${existing.memberEpoch}`);
      }
      before = existing;
      member = existing;
    }

    // Inputs of the assignor.
    // A static member taking its old place does not change the assignor's inputs (KIP-345).
    let bump = isNew;
    const subscribed = req.subscribedTopics === undefined ? undefined : sortedUnique(req.subscribedTopics);
    if (subscribed !== undefined && !sameList(subscribed, member.subscribedTopics)) {
      member = { ...member, subscribedTopics: subscribed };
      bump = true;
    }
    if (req.assignor !== '' && req.assignor !== this.assignor) {
      this.assignor = req.assignor as AssignorName;
      this.dirty = true;
      bump = true;
    }
    member = { ...member, clientId: req.clientId, sessionTimeoutMs, rebalanceTimeoutMs };
    this.setMember(member);
    if (bump) this.bumpEpoch(ctx);

    const next = reconcile(member, this.target(member.memberId), this.assignmentEpoch, owned, (t, p) => {
      const owner = this.owners.get(partitionKey(t, p));
      return owner === undefined || owner === member.memberId;
    });
    this.setMember(next);

    const sendAssignment =
      joined ||
      before === undefined ||
      !equals(before.assigned, next.assigned) ||
      req.memberEpoch !== next.memberEpoch ||
      next.state !== 'stable' ||
      (owned !== undefined && !equals(owned, next.assigned));
    return {
      memberId: next.memberId,
      memberEpoch: next.memberEpoch,
      heartbeatIntervalMs: cfg.heartbeatIntervalMs,
      ...(sendAssignment ? { assignment: toTopicPartitions(next.assigned) } : {}),
    };
  }

  /** The member a join (epoch 0) speaks for: new, the same member starting over, or a static member back. */
  private joining(req: ConsumerGroupHeartbeatRequest, sessionTimeoutMs: number, rebalanceTimeoutMs: number, cfg: GroupConfig): { member: Member; isNew: boolean } | GroupErrorResult {
    const existing = this.membersById.get(req.memberId);
    if (existing !== undefined && existing.instanceId !== req.instanceId) {
      return groupError('INVALID_REQUEST', `member ${req.memberId} has instance id '${existing.instanceId}', not '${req.instanceId}'`);
    }
    if (req.instanceId !== '') {
      const holder = [...this.membersById.values()].find((m) => m.instanceId === req.instanceId);
      if (holder !== undefined && holder.memberId !== req.memberId) {
        if (!isAway(holder)) return groupError('UNRELEASED_INSTANCE_ID', `instance '${req.instanceId}' is in use by member ${holder.memberId}`);
        // KIP-345: the new incarnation takes the old one's place, its partitions and its epoch,
        // without a new group epoch. What it had pending revocation was given up when it left.
        const target = this.target(holder.memberId);
        this.removeMember(holder.memberId);
        this.targets.set(req.memberId, target);
        return {
          member: { ...holder, memberId: req.memberId, memberEpoch: holder.previousMemberEpoch, previousMemberEpoch: holder.previousMemberEpoch, state: 'stable', pendingRevocation: EMPTY },
          isNew: false,
        };
      }
    }
    if (existing !== undefined) {
      // Epoch 0 from a known member: it dropped every partition (after a fence, say) and starts over.
      return { member: { ...existing, memberEpoch: 0, previousMemberEpoch: 0, state: 'stable', assigned: EMPTY, pendingRevocation: EMPTY }, isNew: false };
    }
    if (this.membersById.size >= cfg.membersMax) return groupError('INVALID_REQUEST', `group ${this.groupId} has the maximum of ${cfg.membersMax} members`);
    return {
      member: newMember({ memberId: req.memberId, instanceId: req.instanceId, clientId: req.clientId, rebalanceTimeoutMs, sessionTimeoutMs, subscribedTopics: sortedUnique(req.subscribedTopics ?? []) }),
      isNew: true,
    };
  }

  private leave(req: ConsumerGroupHeartbeatRequest, ctx: GroupContext): HeartbeatAnswer {
    // Idempotent: leaving twice (a retry) answers the same.
    if (this.membersById.has(req.memberId)) {
      this.removeMember(req.memberId);
      this.bumpEpoch(ctx);
    }
    return { memberId: req.memberId, memberEpoch: -1, heartbeatIntervalMs: 0 };
  }

  private leaveForNow(req: ConsumerGroupHeartbeatRequest): HeartbeatAnswer | GroupErrorResult {
    if (req.instanceId === '') return groupError('INVALID_REQUEST', 'epoch -2 is for static members (an instance id) only');
    const m = this.membersById.get(req.memberId);
    if (m === undefined) return groupError('UNKNOWN_MEMBER_ID', `member ${req.memberId} is not in group ${this.groupId}`);
    if (m.instanceId !== req.instanceId) return groupError('INVALID_REQUEST', `member ${req.memberId} has instance id '${m.instanceId}', not '${req.instanceId}'`);
    if (!isAway(m)) {
      // It keeps its assignment for its next incarnation; what it was revoking is given up now.
      this.setMember({ ...m, memberEpoch: -2, previousMemberEpoch: m.memberEpoch, state: 'stable', pendingRevocation: EMPTY });
    }
    return { memberId: req.memberId, memberEpoch: -2, heartbeatIntervalMs: 0 };
  }

  /** Session expired: the member is gone and its partitions free. False when it was not a member. */
  expire(memberId: string, ctx: GroupContext): boolean {
    if (!this.membersById.has(memberId)) return false;
    this.removeMember(memberId);
    this.bumpEpoch(ctx);
    return true;
  }

  /** Rebalance timeout: a member still holding revoked partitions is removed. */
  expireRevocation(memberId: string, ctx: GroupContext): boolean {
    if (this.membersById.get(memberId)?.state !== 'unrevoked') return false;
    return this.expire(memberId, ctx);
  }

  /** Partition counts of subscribed topics changed (or topics appeared or went): new target. */
  refreshTopics(ctx: GroupContext): boolean {
    if (this.membersById.size === 0) return false;
    const now = this.currentTopicCounts(ctx);
    if (now.size === this.topicCounts.size && [...now].every(([t, n]) => this.topicCounts.get(t) === n)) return false;
    this.bumpEpoch(ctx);
    return true;
  }

  /** May these offsets be committed by this member at this epoch? (Kafka's validateOffsetCommit.) */
  validateCommit(memberId: string, memberEpoch: number): GroupErrorResult | undefined {
    // Admin tools and manually assigned consumers commit outside the group: only while it has no members.
    if (memberEpoch < 0 && this.membersById.size === 0) return undefined;
    const m = this.membersById.get(memberId);
    if (m === undefined) {
      return groupError('UNKNOWN_MEMBER_ID', memberId === '' ? `group ${this.groupId} has members; only they may commit` : `member ${memberId} is not in group ${this.groupId}`);
    }
    if (memberEpoch !== m.memberEpoch) return groupError('STALE_MEMBER_EPOCH', `member ${memberId} committed at epoch ${memberEpoch}, its epoch is ${m.memberEpoch}`);
    return undefined;
  }

  // ---- Changes ------------------------------------------------------------------------------------

  private currentTopicCounts(ctx: GroupContext): Map<string, number> {
    const topics = new Map<string, number>();
    for (const m of this.membersById.values()) {
      for (const t of m.subscribedTopics) {
        if (topics.has(t)) continue;
        const n = ctx.topics.partitionCount(t);
        if (n !== undefined && n > 0) topics.set(t, n);
      }
    }
    return new Map([...topics].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }

  /** A new group epoch and the target assignment computed for it. */
  private bumpEpoch(ctx: GroupContext): void {
    this.groupEpoch++;
    this.topicCounts = this.currentTopicCounts(ctx);
    const members = this.members();
    const computed = ASSIGNORS[this.assignor].assign({
      members: members.map((m) => ({ memberId: m.memberId, instanceId: m.instanceId, subscribedTopics: m.subscribedTopics })),
      topics: this.topicCounts,
      previous: this.targets,
    });
    this.targets = new Map(members.map((m) => [m.memberId, computed.get(m.memberId) ?? EMPTY]));
    this.assignmentEpoch = this.groupEpoch;
    this.dirty = true;
  }

  /** Adds or replaces a member, keeping the owner index; asserts exclusive ownership. */
  private setMember(m: Member): void {
    const old = this.membersById.get(m.memberId);
    if (old !== undefined && sameMember(old, m)) return;
    if (old !== undefined) this.release(old);
    for (const { topic, partition } of pairs(held(m))) {
      const k = partitionKey(topic, partition);
      const owner = this.owners.get(k);
      assert(owner === undefined, `group ${this.groupId}: ${k} given to ${m.memberId} while ${owner ?? ''} holds it`);
      this.owners.set(k, m.memberId);
    }
    this.membersById.set(m.memberId, m);
    this.dirty = true;
  }

  private release(m: Member): void {
    for (const { topic, partition } of pairs(held(m))) {
      const k = partitionKey(topic, partition);
      if (this.owners.get(k) === m.memberId) this.owners.delete(k);
    }
  }

  private removeMember(memberId: string): void {
    const m = this.membersById.get(memberId);
    if (m === undefined) return;
    this.release(m);
    this.membersById.delete(memberId);
    this.targets.delete(memberId);
    this.dirty = true;
  }

  // ---- Record form --------------------------------------------------------------------------------

  toRecord(): GroupRecordValue {
    return {
      version: 1,
      groupEpoch: this.groupEpoch,
      assignmentEpoch: this.assignmentEpoch,
      assignor: this.assignor,
      topics: Object.fromEntries(this.topicCounts),
      members: this.members().map((m) => ({
        memberId: m.memberId,
        instanceId: m.instanceId,
        clientId: m.clientId,
        rebalanceTimeoutMs: m.rebalanceTimeoutMs,
        sessionTimeoutMs: m.sessionTimeoutMs,
        subscribedTopics: [...m.subscribedTopics],
        memberEpoch: m.memberEpoch,
        previousMemberEpoch: m.previousMemberEpoch,
        state: m.state,
        assigned: toRecord(m.assigned),
        pendingRevocation: toRecord(m.pendingRevocation),
      })),
      target: Object.fromEntries(this.members().map((m) => [m.memberId, toRecord(this.target(m.memberId))])),
    };
  }

  /** Replaces the membership state with a record's (offsets are untouched). */
  applyRecord(value: GroupRecordValue | null): void {
    for (const id of [...this.membersById.keys()]) this.removeMember(id);
    this.targets = new Map();
    this.topicCounts = new Map();
    this.groupEpoch = 0;
    this.assignmentEpoch = 0;
    this.assignor = DEFAULT_ASSIGNOR;
    if (value !== null) {
      this.groupEpoch = value.groupEpoch;
      this.assignmentEpoch = value.assignmentEpoch;
      this.assignor = isAssignorName(value.assignor) ? value.assignor : DEFAULT_ASSIGNOR;
      this.topicCounts = new Map(Object.entries(value.topics));
      for (const m of value.members) {
        this.setMember({
          memberId: m.memberId,
          instanceId: m.instanceId,
          clientId: m.clientId,
          rebalanceTimeoutMs: m.rebalanceTimeoutMs,
          sessionTimeoutMs: m.sessionTimeoutMs,
          subscribedTopics: [...m.subscribedTopics],
          memberEpoch: m.memberEpoch,
          previousMemberEpoch: m.previousMemberEpoch,
          state: m.state,
          assigned: fromRecord(m.assigned),
          pendingRevocation: fromRecord(m.pendingRevocation),
        });
        this.targets.set(m.memberId, fromRecord(value.target[m.memberId] ?? {}));
      }
    }
    this.dirty = false;
  }
}
