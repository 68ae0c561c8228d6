/**
 * The admin's consumer-group calls (KafkaJS's listGroups, describeGroups, fetchOffsets, resetOffsets,
 * setOffsets, deleteGroups), over the group requests of issue 6. `Admin` (admin.ts) delegates here.
 *
 * Contract:
 * - Each group's requests go to its coordinator (group-coordinator.ts: found, and found again when it
 *   moves, with backoff); list-groups goes to every live broker (each lists the groups it coordinates)
 *   and the answers are merged.
 * - Setting offsets (setOffsets, resetOffsets) is allowed only on an empty group: the commit carries
 *   memberId '' and memberEpoch -1, which the coordinator accepts only while the group has no member.
 *   The admin checks first and says so (NonEmptyGroupError naming the members) rather than leave the
 *   user with a bare fencing code; a member that joins between the check and the commit gets the same
 *   error from the coordinator's answer.
 * - A group that does not exist describes as state 'dead' with no members (Kafka's answer); other
 *   per-group errors throw their class.
 *
 * Browser-safe.
 */
import type { Logger } from '../util/log.js';
import type { Cluster } from './cluster.js';
import { InvalidArgumentError, type SkeinError } from './errors.js';
import { GroupCoordinator } from './group-coordinator.js';
import { FencedMemberError, NonEmptyGroupError, groupErrorOf } from './group-errors.js';
import { checkGroupId } from './group-options.js';
import { MemberEpoch, groupRequest, type GroupDescription, type GroupState } from './group-wire.js';
import { withRetry, type ResolvedRetryOptions } from './retry.js';

export type { GroupDescription, GroupMemberDescription, GroupState } from './group-wire.js';

export interface GroupOverview {
  readonly groupId: string;
  /** Always 'consumer' (KafkaJS's field; Skein groups are consumer groups). */
  readonly protocolType: 'consumer';
  readonly state: GroupState;
  readonly members: number;
}

export interface GroupPartitionOffset {
  readonly partition: number;
  /** The committed offset (the next to read), -1 when none is committed. */
  readonly offset: number;
  readonly leaderEpoch: number;
  readonly metadata: string;
}

export interface GroupTopicOffsets {
  readonly topic: string;
  readonly partitions: readonly GroupPartitionOffset[];
}

/** What the group admin needs of the Admin: a topic's partitions and its offsets by list-offsets. */
export interface GroupAdminDeps {
  readonly cluster: Cluster;
  readonly retry: ResolvedRetryOptions;
  readonly log: Logger;
  /** The topic's partition numbers (UnknownTopicError, not retriable, when it does not exist). */
  partitionsOf(topic: string): Promise<number[]>;
  /** Per partition: the offset for a list-offsets timestamp (-2 earliest, -1 latest, else ms). */
  offsetsAt(topic: string, timestamp: number): Promise<Array<{ partition: number; offset: number }>>;
}

const EARLIEST = -2;
const LATEST = -1;

export class GroupAdmin {
  private readonly coordinators = new Map<string, GroupCoordinator>();

  constructor(private readonly deps: GroupAdminDeps) {}

  /** Every group some broker coordinates, sorted by id. */
  async listGroups(): Promise<{ groups: GroupOverview[] }> {
    const { cluster } = this.deps;
    const metadata = await this.retrying(() => cluster.refreshMetadata([]));
    const brokers = metadata.brokers.filter((b) => !b.fenced);
    const answers = await Promise.all(brokers.map((b) => this.retrying(() => groupRequest(cluster, b.id, 'list-groups', {}))));
    const byId = new Map<string, GroupOverview>();
    for (const answer of answers) {
      for (const g of answer.groups) {
        const known = byId.get(g.groupId);
        // While a coordinator moves, two brokers may list a group: keep the livelier answer.
        if (known !== undefined && (known.state !== 'dead' || g.state === 'dead') && known.members >= g.members) continue;
        byId.set(g.groupId, { groupId: g.groupId, protocolType: 'consumer', state: g.state, members: g.members });
      }
    }
    return { groups: [...byId.values()].sort((a, b) => (a.groupId < b.groupId ? -1 : a.groupId > b.groupId ? 1 : 0)) };
  }

  /** Each group's state, epochs, assignor and members with their assignments (a missing group: state 'dead'). */
  async describeGroups(groupIds: readonly string[]): Promise<{ groups: GroupDescription[] }> {
    const ids = checkGroupIds(groupIds, 'describeGroups');
    const groups = await Promise.all(ids.map((id) => this.describeGroup(id)));
    return { groups };
  }

  /**
   * Committed offsets of a group: for `topics`, every partition of each (offset -1 where none is
   * committed); without, every committed offset. Sorted by topic, then partition.
   */
  async fetchOffsets(options: { readonly groupId: string; readonly topics?: readonly string[] }): Promise<GroupTopicOffsets[]> {
    const groupId = checkGroupId(options?.groupId, 'fetchOffsets: groupId');
    const topics = options.topics === undefined ? undefined : checkTopics(options.topics, 'fetchOffsets');
    const wanted = topics === undefined ? undefined : await Promise.all(topics.map(async (topic) => ({ topic, partitions: await this.deps.partitionsOf(topic) })));
    const answer = await this.coordinator(groupId).sendWithRetry('offset-fetch', { groupId, ...(wanted !== undefined && { topics: wanted }) });
    const byTopic = new Map<string, Map<number, GroupPartitionOffset>>();
    for (const w of wanted ?? []) byTopic.set(w.topic, new Map(w.partitions.map((partition) => [partition, { partition, offset: -1, leaderEpoch: -1, metadata: '' }])));
    if ('error' in answer) {
      if (answer.error !== 'GROUP_ID_NOT_FOUND') throw groupErrorOf(answer);
    } else {
      for (const o of answer.offsets) {
        const partitions = byTopic.get(o.topic) ?? new Map<number, GroupPartitionOffset>();
        byTopic.set(o.topic, partitions);
        partitions.set(o.partition, { partition: o.partition, offset: o.offset, leaderEpoch: o.leaderEpoch, metadata: o.metadata });
      }
    }
    return [...byTopic.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([topic, partitions]) => ({ topic, partitions: [...partitions.values()].sort((a, b) => a.partition - b.partition) }));
  }

  /**
   * Sets a group's committed offsets for some partitions of a topic. Only on an empty group
   * (NonEmptyGroupError otherwise); InvalidArgumentError for a partition the topic does not have.
   */
  async setOffsets(options: { readonly groupId: string; readonly topic: string; readonly partitions: ReadonlyArray<{ readonly partition: number; readonly offset: number | string }> }): Promise<void> {
    const groupId = checkGroupId(options?.groupId, 'setOffsets: groupId');
    const [topic] = checkTopics([options.topic], 'setOffsets');
    if (!Array.isArray(options.partitions) || options.partitions.length === 0) throw new InvalidArgumentError('setOffsets: partitions must be a non-empty array of { partition, offset }');
    const existing = new Set(await this.deps.partitionsOf(topic!));
    const offsets = options.partitions.map((p, i) => {
      const offset = typeof p?.offset === 'string' && /^\d+$/.test(p.offset) ? Number(p.offset) : p?.offset;
      if (!(typeof offset === 'number' && Number.isSafeInteger(offset) && offset >= 0)) throw new InvalidArgumentError(`setOffsets: partitions[${i}].offset must be a non-negative integer, got ${String(p?.offset)}`);
      if (!existing.has(p.partition)) throw new InvalidArgumentError(`setOffsets: topic ${JSON.stringify(topic)} has no partition ${String(p.partition)}`);
      return { topic: topic!, partition: p.partition, offset, leaderEpoch: -1, metadata: '' };
    });
    await this.commitAsAdmin(groupId, offsets);
  }

  /**
   * Moves a group's committed offsets of every partition of `topic` to the log start (`earliest`), to
   * the first record at or after `timestamp` (ms), or — by default — to the end. Only on an empty group.
   */
  async resetOffsets(options: { readonly groupId: string; readonly topic: string; readonly earliest?: boolean; readonly timestamp?: number }): Promise<Array<{ partition: number; offset: number }>> {
    const groupId = checkGroupId(options?.groupId, 'resetOffsets: groupId');
    const [topic] = checkTopics([options.topic], 'resetOffsets');
    const { earliest, timestamp } = options;
    if (earliest !== undefined && typeof earliest !== 'boolean') throw new InvalidArgumentError('resetOffsets: earliest must be a boolean');
    if (timestamp !== undefined && !(Number.isSafeInteger(timestamp) && timestamp >= 0)) throw new InvalidArgumentError(`resetOffsets: timestamp must be ms since the epoch, got ${String(timestamp)}`);
    if (earliest === true && timestamp !== undefined) throw new InvalidArgumentError('resetOffsets: give earliest or timestamp, not both');
    await this.checkEmpty(groupId);
    const offsets = await this.deps.offsetsAt(topic!, earliest === true ? EARLIEST : (timestamp ?? LATEST));
    await this.commitAsAdmin(
      groupId,
      offsets.map((o) => ({ topic: topic!, partition: o.partition, offset: o.offset, leaderEpoch: -1, metadata: '' })),
    );
    return offsets.sort((a, b) => a.partition - b.partition);
  }

  /** Deletes groups and their offsets; NonEmptyGroupError for one with members (the others are still deleted). */
  async deleteGroups(groupIds: readonly string[]): Promise<Array<{ groupId: string }>> {
    const ids = checkGroupIds(groupIds, 'deleteGroups');
    const results = await Promise.all(
      ids.map(async (groupId) => {
        const answer = await this.coordinator(groupId).sendWithRetry('delete-groups', { groupIds: [groupId] });
        const r = answer.results.find((x) => x.groupId === groupId);
        if (r?.error !== undefined) return { groupId, error: groupErrorOf({ error: r.error, message: `group ${groupId}: ${r.message ?? r.error}` }) };
        return { groupId };
      }),
    );
    const failed = results.find((r): r is { groupId: string; error: SkeinError } => 'error' in r);
    if (failed !== undefined) throw failed.error;
    return results.map((r) => ({ groupId: r.groupId }));
  }

  // ---- internals ----------------------------------------------------------------------------------

  private coordinator(groupId: string): GroupCoordinator {
    let c = this.coordinators.get(groupId);
    if (c === undefined) {
      c = new GroupCoordinator(this.deps.cluster, groupId, this.deps.retry, this.deps.log);
      this.coordinators.set(groupId, c);
    }
    return c;
  }

  private retrying<T>(operation: () => Promise<T>): Promise<T> {
    return withRetry({ clock: this.deps.cluster.clock, random: this.deps.cluster.random }, this.deps.retry, operation);
  }

  private async describeGroup(groupId: string): Promise<GroupDescription> {
    const answer = await this.coordinator(groupId).sendWithRetry('describe-groups', { groupIds: [groupId] });
    const g = answer.groups.find((x) => x.groupId === groupId);
    if (g === undefined || ('error' in g && g.error === 'GROUP_ID_NOT_FOUND')) return { groupId, state: 'dead', groupEpoch: -1, assignmentEpoch: -1, assignor: '', members: [] };
    if ('error' in g) throw groupErrorOf(g);
    return g;
  }

  private async checkEmpty(groupId: string): Promise<void> {
    const g = await this.describeGroup(groupId);
    if (g.members.length > 0) {
      const who = g.members.map((m) => `${m.memberId}${m.clientId === '' ? '' : ` (${m.clientId})`}`).join(', ');
      throw new NonEmptyGroupError(`group ${groupId} has ${g.members.length} active member(s): ${who}; offsets can be set only while the group is empty (stop its consumers first)`);
    }
  }

  /** An offset commit as a non-member (memberEpoch -1): the coordinator allows it only on an empty group. */
  private async commitAsAdmin(groupId: string, offsets: ReadonlyArray<{ topic: string; partition: number; offset: number; leaderEpoch: number; metadata: string }>): Promise<void> {
    await this.checkEmpty(groupId);
    const answer = await this.coordinator(groupId).sendWithRetry('offset-commit', { groupId, memberId: '', memberEpoch: MemberEpoch.NOT_A_MEMBER, offsets });
    const failure = 'error' in answer ? answer : answer.results.find((r) => r.error !== undefined);
    if (failure === undefined || failure.error === undefined) return;
    const error = groupErrorOf({ error: failure.error, message: failure.message ?? '' });
    if (error instanceof FencedMemberError || error.code === 'STALE_MEMBER_EPOCH' || error.code === 'NON_EMPTY_GROUP') {
      throw new NonEmptyGroupError(`group ${groupId} is not empty (a member joined): offsets can be set only while the group is empty (${error.message})`);
    }
    throw error;
  }
}

function checkGroupIds(groupIds: readonly string[], call: string): string[] {
  if (!Array.isArray(groupIds) || groupIds.length === 0) throw new InvalidArgumentError(`${call}: a non-empty array of group ids is required`);
  return [...new Set(groupIds.map((g, i) => checkGroupId(g, `${call}: groupIds[${i}]`)))];
}

function checkTopics(topics: readonly string[], call: string): string[] {
  if (!Array.isArray(topics)) throw new InvalidArgumentError(`${call}: topics must be an array of topic names`);
  for (const t of topics) if (typeof t !== 'string' || t.length === 0) throw new InvalidArgumentError(`${call}: a topic must be a non-empty string, got ${JSON.stringify(t)}`);
  return [...new Set(topics)];
}
