/**
 * The group coordinator of one broker: one shard (shard.ts) per `__consumer_offsets` partition this
 * broker leads, keyed by partition and tied to the leader epoch it was loaded in. It follows the
 * metadata (`onLeadership`): a partition newly led is loaded, one no longer led (or led in a new
 * epoch) is unloaded — and loaded afresh for the new epoch. A shard whose append failed is replaced by
 * a fresh load once its appends in flight have settled, if this broker still leads the partition in
 * that epoch.
 *
 * Requests are routed by group id to the shard of `offsetsPartitionFor(groupId, partitions)`; a
 * partition not led here answers NOT_COORDINATOR (the client finds the coordinator again), an offsets
 * topic that does not exist yet COORDINATOR_NOT_AVAILABLE.
 *
 * Deterministic: everything reaches the world through the injected ports (the offsets log, topic
 * metadata, the Clock), so the simulator can run it as it is.
 */
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import type { GroupConfig } from './config.js';
import { offsetsPartitionFor } from './coordinator-key.js';
import { groupError, type GroupErrorResult } from './errors.js';
import type { TopicMetadataPort } from './group.js';
import type { OffsetsLogPort } from './log-port.js';
import type {
  ConsumerGroupHeartbeatRequest,
  ConsumerGroupHeartbeatResponse,
  DeleteGroupsResponse,
  DescribeGroupsResponse,
  DescribedGroup,
  ListGroupsResponse,
  OffsetCommitRequest,
  OffsetCommitResponse,
  OffsetFetchRequest,
  OffsetFetchResponse,
} from './rpc.js';
import { GroupShard } from './shard.js';

export interface CoordinatorOptions {
  readonly brokerId: number;
  readonly log: OffsetsLogPort;
  readonly topics: TopicMetadataPort;
  readonly clock: Clock;
  /** Wall-clock ms since the epoch (commit timestamps). */
  readonly wallClockMs: () => number;
  readonly config: GroupConfig;
  readonly logger: Logger;
}

/** Kafka's limit on group ids is the protocol's string length; 255 keeps keys and logs sane. */
export const GROUP_ID_LENGTH_MAX = 255;

export function validateGroupId(groupId: string): GroupErrorResult | undefined {
  if (groupId.length === 0) return groupError('INVALID_GROUP_ID', 'the group id must not be empty');
  if (groupId.length > GROUP_ID_LENGTH_MAX) return groupError('INVALID_GROUP_ID', `the group id is longer than ${GROUP_ID_LENGTH_MAX} characters`);
  return undefined;
}

export class GroupCoordinator {
  private readonly shards = new Map<number, GroupShard>();
  /** Partition → leader epoch, as of the last metadata. */
  private led: ReadonlyMap<number, number> = new Map();
  private partitionCount = 0;
  private stopped = false;

  constructor(private readonly options: CoordinatorOptions) {}

  /** The shard of a partition (tests, checkers, the simulator). */
  shard(partition: number): GroupShard | undefined {
    return this.shards.get(partition);
  }

  shardList(): GroupShard[] {
    return [...this.shards.values()].sort((a, b) => a.partition - b.partition);
  }

  /**
   * The `__consumer_offsets` partitions this broker leads now (partition → leader epoch) and the
   * topic's partition count (0: it does not exist). Called after every metadata change; cheap when
   * nothing changed.
   */
  onLeadership(led: ReadonlyMap<number, number>, partitionCount: number): void {
    if (this.stopped) return;
    this.partitionCount = partitionCount;
    this.led = new Map(led);
    for (const [p, shard] of [...this.shards]) {
      if (led.get(p) === shard.leaderEpoch) continue;
      shard.unload();
      this.shards.delete(p);
      this.options.logger('broker %d: unloaded offsets partition %d (epoch %d)', this.options.brokerId, p, shard.leaderEpoch);
    }
    for (const [p, epoch] of led) if (!this.shards.has(p)) this.startShard(p, epoch);
  }

  /** Topics appeared, went away or gained partitions. */
  onTopicsChanged(): void {
    for (const s of this.shards.values()) s.onTopicsChanged();
  }

  stop(): void {
    this.stopped = true;
    for (const s of this.shards.values()) s.unload();
    this.shards.clear();
  }

  private startShard(partition: number, leaderEpoch: number): void {
    const o = this.options;
    const shard = new GroupShard({
      partition,
      leaderEpoch,
      log: o.log,
      topics: o.topics,
      clock: o.clock,
      wallClockMs: o.wallClockMs,
      config: o.config,
      logger: o.logger,
      onFailed: (failed) => this.onShardFailed(failed),
    });
    this.shards.set(partition, shard);
    o.logger('broker %d: loading offsets partition %d (epoch %d)', o.brokerId, partition, leaderEpoch);
    void shard.load(); // never rejects
  }

  private onShardFailed(failed: GroupShard): void {
    // Reload only after the failed shard's appends have reached the log (or failed): the new load
    // must see all of them, since the log is what it serves from.
    void failed.settled().then(() => {
      if (this.stopped || this.shards.get(failed.partition) !== failed) return;
      this.shards.delete(failed.partition);
      const epoch = this.led.get(failed.partition);
      if (epoch === failed.leaderEpoch) this.startShard(failed.partition, epoch);
    });
  }

  // ---- Routing ------------------------------------------------------------------------------------

  private route(groupId: string): GroupShard | GroupErrorResult {
    const invalid = validateGroupId(groupId);
    if (invalid !== undefined) return invalid;
    if (this.partitionCount === 0) return groupError('COORDINATOR_NOT_AVAILABLE', 'the offsets topic does not exist yet');
    const partition = offsetsPartitionFor(groupId, this.partitionCount);
    return this.shards.get(partition) ?? groupError('NOT_COORDINATOR', `broker ${this.options.brokerId} does not lead offsets partition ${partition}`);
  }

  heartbeat(req: ConsumerGroupHeartbeatRequest): Promise<ConsumerGroupHeartbeatResponse> {
    const shard = this.route(req.groupId);
    return 'error' in shard ? Promise.resolve(shard) : shard.heartbeat(req);
  }

  commitOffsets(req: OffsetCommitRequest): Promise<OffsetCommitResponse> {
    const shard = this.route(req.groupId);
    return 'error' in shard ? Promise.resolve(shard) : shard.commitOffsets(req);
  }

  fetchOffsets(req: OffsetFetchRequest): Promise<OffsetFetchResponse> {
    const shard = this.route(req.groupId);
    return 'error' in shard ? Promise.resolve(shard) : shard.fetchOffsets(req);
  }

  async listGroups(): Promise<ListGroupsResponse> {
    const lists = await Promise.all(this.shardList().map((s) => s.listGroups()));
    return { groups: lists.flat().sort((a, b) => (a.groupId < b.groupId ? -1 : a.groupId > b.groupId ? 1 : 0)) };
  }

  async describeGroups(groupIds: readonly string[]): Promise<DescribeGroupsResponse> {
    const answers = new Map<string, DescribedGroup>();
    const byShard = new Map<GroupShard, string[]>();
    for (const id of groupIds) {
      const shard = this.route(id);
      if ('error' in shard) answers.set(id, { groupId: id, ...shard });
      else byShard.set(shard, [...(byShard.get(shard) ?? []), id]);
    }
    for (const [shard, ids] of byShard) for (const d of await shard.describeGroups(ids)) answers.set(d.groupId, d);
    return { groups: groupIds.map((id) => answers.get(id) ?? { groupId: id, ...groupError('NOT_COORDINATOR') }) };
  }

  async deleteGroups(groupIds: readonly string[]): Promise<DeleteGroupsResponse> {
    const answers = new Map<string, DeleteGroupsResponse['results'][number]>();
    const byShard = new Map<GroupShard, string[]>();
    for (const id of new Set(groupIds)) {
      const shard = this.route(id);
      if ('error' in shard) answers.set(id, { groupId: id, ...shard });
      else byShard.set(shard, [...(byShard.get(shard) ?? []), id]);
    }
    for (const [shard, ids] of byShard) for (const r of await shard.deleteGroups(ids)) answers.set(r.groupId, r);
    return { results: [...new Set(groupIds)].map((id) => answers.get(id) ?? { groupId: id, ...groupError('NOT_COORDINATOR') }) };
  }
}
