/**
 * All partition replicas on one broker: it follows the metadata image (become leader / become
 * follower / stop), opens each replica's log, routes produce and fetch requests, fetches from each
 * leader broker the partitions it follows there with one request (replica-fetcher.ts), answers other
 * brokers' such requests (replica-fetch.ts), and does the periodic work — ISR shrink checks, HW
 * checkpoints, the background flush of `flush=os` logs, retention (topics whose cleanup.policy has
 * `delete`) and log compaction (topics whose cleanup.policy has `compact`; log-cleaner.ts).
 *
 * Compaction: the log of a compacted topic is made compacted (SegmentLog.enableCompaction) when it is
 * opened and when its topic's policy gains `compact`, before it can receive compacted data from a
 * leader. Every `compactionCheckIntervalMs` the broker picks the one hosted log with the largest dirty
 * ratio at or above its `min.cleanable.dirty.ratio` and runs one pass on it; one pass at a time per
 * broker (a pass still running skips the check), so compaction's memory and disk work stay bounded.
 * Tombstones are dropped only by a leader, and only below the lowest offset every other replica has
 * fetched from it in its current epoch (log-cleaner.ts explains why), which the manager learns from
 * the follower fetches it routes.
 *
 * Ports: the Clock, a log opener, the transport for follower fetches, and the controller channel
 * for AlterPartition. Nothing here touches the disk or the network directly.
 */
import type { CancelTimer, Clock } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import type { MetadataImage, MetadataDelta, PartitionState } from '../metadata/image.js';
import { replicaChanges } from '../metadata/replica-changes.js';
import type { AlterPartitionRequest, AlterPartitionResponse, ReplicaFailedRequest } from '../metadata/rpc.js';
import {
  cleanupPolicy,
  deleteRetentionMs,
  effectiveConfig,
  flushPolicy,
  minCleanableDirtyRatio,
  minCompactionLagMs,
  minInsyncReplicas,
  uncleanLeaderElection,
} from '../metadata/topic-config.js';
import { partitionError, type PartitionErrorResult } from './errors.js';
import { cleanableRange, compactLog, isCompactable, type CompactableLog, type CompactionConfig } from './log-cleaner.js';
import { ProducerStateTable } from './producer-state.js';
import { iterateBatches, validateBatch } from './record-batch.js';
import { ReplicaFetchSessions, type ReplicaFetchRequest, type ReplicaFetchResponse } from './replica-fetch.js';
import { ReplicaFetcher } from './replica-fetcher.js';
import { PartitionReplica, type Acks, type FetchRequest, type FetchResponse, type ProduceResult, type ReplicaConfig, type ReplicaLog } from './replica.js';

export interface ReplicaManagerOptions {
  readonly brokerId: number;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Opens (creating or recovering) the log of one partition. */
  readonly openLog: (topicId: string, partition: number, config: Readonly<Record<string, string>>) => Promise<ReplicaLog>;
  /** Deletes a partition's log (its topic was deleted). */
  readonly deleteLog: (topicId: string, partition: number) => Promise<void>;
  /** Sends a replica-fetch (all the partitions followed from `leader`) to it. Rejects on a network failure or timeout. */
  readonly replicaFetch: (leader: number, request: ReplicaFetchRequest) => Promise<ReplicaFetchResponse>;
  readonly alterPartition: (request: AlterPartitionRequest) => Promise<AlterPartitionResponse>;
  /** Reports a replica whose stored data is corrupt to the controller (ReplicaFailed). */
  readonly replicaFailed?: (request: ReplicaFailedRequest) => Promise<unknown>;
  readonly brokerEpoch: () => number;
  /** Whether this broker's current registration is unfenced (see PartitionReplica.applyMetadata). */
  readonly mayLead: () => boolean;
  /** Kafka's replica.lag.time.max.ms. Default 30,000. */
  readonly replicaLagTimeMaxMs?: number;
  /** Follower fetch: max wait (long poll) and bytes per partition. Defaults 500 ms, 1 MiB. */
  readonly replicaFetchWaitMaxMs?: number;
  readonly replicaFetchBytesMax?: number;
  /** Records in one replica-fetch answer, all partitions together (replica-fetch.ts). Default 10 MiB. */
  readonly replicaFetchResponseMaxBytes?: number;
  /** Fetchers (requests in flight) per leader broker, Kafka's num.replica.fetchers. Default 4. */
  readonly replicaFetchers?: number;
  /** Backoff after a failed follower fetch. Default 100 ms. */
  readonly replicaFetchBackoffMs?: number;
  /** A failed assertion in background work (a bug): the node must stop. */
  readonly onFatal?: (error: unknown) => void;
  /** Flush interval of flush=os logs. Default 1000 ms. */
  readonly osFlushIntervalMs?: number;
  /** How often retention runs (Kafka's log.retention.check.interval.ms). Default 300,000 ms. */
  readonly retentionCheckIntervalMs?: number;
  /** How often the broker looks for a log to compact (Kafka's log.cleaner.backoff.ms). Default 15,000 ms. */
  readonly compactionCheckIntervalMs?: number;
  /** Keys one compaction pass may map (log-cleaner.ts). Default 500,000. */
  readonly compactionMapEntriesMax?: number;
  /**
   * Wall-clock milliseconds since the epoch, which record timestamps use: retention.ms compares
   * against it. Default: the Clock's time (the simulator's clock is both).
   */
  readonly wallClockMs?: () => number;
}

interface Hosted {
  readonly replica: PartitionReplica;
  readonly topicName: string;
  /**
   * While this broker leads: each follower's newest fetch it answered with records (its log agrees
   * with ours below that fetch offset), by broker id. Bounds which tombstones compaction may drop.
   */
  readonly followerFetches: Map<number, { leaderEpoch: number; brokerEpoch: number; sequence: number; fetchOffset: number }>;
}

const key = (topicId: string, partition: number): string => `${topicId}:${partition}`;

export class ReplicaManager {
  private readonly hosted = new Map<string, Hosted>();
  /** Replicas being opened: metadata that arrives meanwhile waits for them. */
  private readonly opening = new Map<string, Promise<Hosted | undefined>>();
  /** The follower side: up to `replicaFetchers` fetchers per leader broker (a slot is empty when idle). */
  private readonly fetchers = new Map<number, (ReplicaFetcher | undefined)[]>();
  /** The leader side of replica-fetch. */
  private readonly replicaFetchSessions: ReplicaFetchSessions;
  private cancelTick: CancelTimer = () => {};
  private stopped = false;
  private lastImage: MetadataImage | undefined;

  constructor(private readonly options: ReplicaManagerOptions) {
    this.replicaFetchSessions = new ReplicaFetchSessions({
      clock: options.clock,
      fetchNow: (topicId, partition, request) => this.fetch(topicId, partition, request),
      replica: (topicId, partition) => this.replica(topicId, partition),
    });
  }

  start(): void {
    this.scheduleTick();
  }

  stop(): void {
    this.stopped = true;
    this.cancelTick();
    for (const h of this.hosted.values()) h.replica.stop();
  }

  replica(topicId: string, partition: number): PartitionReplica | undefined {
    return this.hosted.get(key(topicId, partition))?.replica;
  }

  replicas(): PartitionReplica[] {
    return [...this.hosted.values()].map((h) => h.replica);
  }

  // ---- Metadata ------------------------------------------------------------------------------------

  /** Every applied metadata batch. */
  onDelta(delta: MetadataDelta, image: MetadataImage): void {
    this.lastImage = image;
    const changes = replicaChanges(delta, this.options.brokerId);
    for (const s of [...changes.leader, ...changes.follower]) this.background(this.ensure(s, image));
    for (const s of changes.stop) this.background(this.remove(s.topicId, s.partition, s.deleted));
    // Config changes reach every hosted replica of the topic.
    for (const topicName of delta.configs) {
      for (const t of topicName === '' ? image.topics() : [image.topic(topicName)]) {
        if (t === undefined) continue;
        const compact = cleanupPolicy(effectiveConfig(image.topicConfig(t.name), image.clusterConfig())).has('compact');
        for (const p of t.partitions.values()) {
          const h = this.hosted.get(key(p.topicId, p.partition));
          if (h === undefined) continue;
          void h.replica.applyMetadata(p, this.replicaConfig(image, t.name), this.options.mayLead());
          const log = h.replica.log;
          if (compact && isCompactable(log) && !log.compactionEnabled) this.maintain(h, log.enableCompaction());
        }
      }
    }
  }

  /** A snapshot replaced the image: reconcile every partition. */
  onReset(image: MetadataImage): void {
    this.lastImage = image;
    const wanted = new Set<string>();
    for (const t of image.topics()) {
      for (const p of t.partitions.values()) {
        if (!p.replicas.includes(this.options.brokerId)) continue;
        wanted.add(key(p.topicId, p.partition));
        this.background(this.ensure(p, image));
      }
    }
    for (const [k, h] of this.hosted) {
      // Never delete data here: a snapshot restored at start may predate the topic. Only a
      // RemoveTopic record (a delta's removedTopics) deletes a log.
      if (!wanted.has(k)) this.background(this.remove(h.replica.state.topicId, h.replica.state.partition, false));
    }
  }

  /** Periodic log work: a failure matters only while the replica is still hosted (not closed by a removal). */
  private maintain(h: Hosted, work: Promise<unknown> | undefined): void {
    work?.catch((error: unknown) => {
      if ([...this.hosted.values()].includes(h)) this.background(Promise.reject(error));
    });
  }

  /** Work started from a metadata change: a failure there (a disk error, a bug) stops the node. */
  private background(work: Promise<void>): void {
    work.catch((error: unknown) => {
      if (this.stopped) return;
      this.options.logger('replica manager of broker %d failed: %s', this.options.brokerId, error instanceof Error ? error.message : String(error));
      this.options.onFatal?.(error);
    });
  }

  private replicaConfig(image: MetadataImage, topicName: string): ReplicaConfig {
    const cfg = effectiveConfig(image.topicConfig(topicName), image.clusterConfig());
    return {
      minInsyncReplicas: minInsyncReplicas(cfg),
      uncleanLeaderElection: uncleanLeaderElection(cfg),
      flush: flushPolicy(cfg),
      replicaLagTimeMaxMs: this.options.replicaLagTimeMaxMs ?? 30_000,
    };
  }

  private async ensure(state: PartitionState, image: MetadataImage): Promise<void> {
    const k = key(state.topicId, state.partition);
    const topic = image.topicById(state.topicId);
    if (topic === undefined) return;
    const config = this.replicaConfig(image, topic.name);
    let hosted = this.hosted.get(k);
    if (hosted === undefined) {
      let opening = this.opening.get(k);
      if (opening === undefined) {
        opening = this.open(state, topic.name, effectiveConfig(image.topicConfig(topic.name), image.clusterConfig()), config);
        this.opening.set(k, opening);
      }
      hosted = await opening;
      this.opening.delete(k);
      if (hosted === undefined) return;
    }
    // Always apply the latest state this broker knows (metadata may have moved on while opening).
    const latest = this.lastImage?.partition(state.topicId, state.partition) ?? state;
    await hosted.replica.applyMetadata(latest, config, this.options.mayLead());
    if (hosted.replica.role === 'follower') this.startFetching(hosted);
  }

  private async open(state: PartitionState, topicName: string, rawConfig: Readonly<Record<string, string>>, config: ReplicaConfig): Promise<Hosted | undefined> {
    const log = await this.options.openLog(state.topicId, state.partition, rawConfig);
    if (this.stopped) return undefined;
    // Before any fetch: a leader may send this follower compacted data (offset gaps, empty batches).
    if (cleanupPolicy(rawConfig).has('compact') && isCompactable(log)) await log.enableCompaction();
    if (this.stopped) return undefined;
    const producers = await rebuildProducerState(log);
    if (this.stopped) return undefined;
    const replica = new PartitionReplica(
      {
        brokerId: this.options.brokerId,
        topicName,
        log,
        producers,
        clock: this.options.clock,
        logger: this.options.logger,
        brokerEpoch: this.options.brokerEpoch,
        alterPartition: this.options.alterPartition,
        ...(this.options.replicaFailed !== undefined
          ? {
              replicaFailed: () =>
                (this.options.replicaFailed as NonNullable<ReplicaManagerOptions['replicaFailed']>)({
                  kind: 'replica-failed',
                  brokerId: this.options.brokerId,
                  brokerEpoch: this.options.brokerEpoch(),
                  topicId: state.topicId,
                  partition: state.partition,
                }),
            }
          : {}),
      },
      { ...state, leader: -1, leaderEpoch: -1, partitionEpoch: -1 },
      config,
    );
    const hosted: Hosted = { replica, topicName, followerFetches: new Map() };
    this.hosted.set(key(state.topicId, state.partition), hosted);
    return hosted;
  }

  private async remove(topicId: string, partition: number, deleted: boolean): Promise<void> {
    const k = key(topicId, partition);
    await this.opening.get(k);
    const h = this.hosted.get(k);
    if (h === undefined) return;
    this.hosted.delete(k);
    h.replica.stop();
    if (deleted) {
      // The topic is gone: close the files (after the log's own work in flight), then the directory.
      await h.replica.log.close?.();
      await this.options.deleteLog(topicId, partition);
    }
  }

  // ---- Requests ------------------------------------------------------------------------------------

  /** A producer's batch for one partition. */
  async produce(topicId: string, partition: number, batch: Uint8Array, acks: Acks, timeoutMs: number): Promise<ProduceResult | PartitionErrorResult> {
    const h = this.hosted.get(key(topicId, partition));
    if (h === undefined) return partitionError('NOT_LEADER_OR_FOLLOWER', `broker ${this.options.brokerId} has no replica of ${topicId}:${partition}`);
    const checked = validateBatch(batch, 0);
    if (!checked.ok) return partitionError('CORRUPT_RECORD', checked.message);
    const header = checked.header;
    if (header.sizeInBytes !== batch.length) return partitionError('CORRUPT_RECORD', 'the request must hold exactly one record batch');
    return h.replica.produce(batch, acks, timeoutMs, {
      producerId: header.producerId,
      producerEpoch: header.producerEpoch,
      baseSequence: header.baseSequence,
      lastSequence: header.lastSequence,
    });
  }

  /** ListOffsets for one partition (see PartitionReplica.listOffset). */
  listOffset(topicId: string, partition: number, timestamp: number): Promise<{ offset: number; timestamp: number } | PartitionErrorResult> {
    const h = this.hosted.get(key(topicId, partition));
    if (h === undefined) return Promise.resolve(partitionError('NOT_LEADER_OR_FOLLOWER', `broker ${this.options.brokerId} has no replica of ${topicId}:${partition}`));
    return h.replica.listOffset(timestamp);
  }

  /** A consumer's or a follower's fetch of one partition. */
  fetch(topicId: string, partition: number, request: FetchRequest): Promise<FetchResponse> {
    const h = this.hosted.get(key(topicId, partition));
    if (h === undefined) return Promise.resolve(partitionError('NOT_LEADER_OR_FOLLOWER', `broker ${this.options.brokerId} has no replica of ${topicId}:${partition}`));
    const epoch = h.replica.state.leaderEpoch;
    const response = h.replica.fetch(request);
    if (request.replicaId >= 0) {
      void response.then(
        (r) => {
          const answeredAsLeader = h.replica.role === 'leader' && h.replica.state.leaderEpoch === epoch;
          if (answeredAsLeader && !('error' in r) && !('divergingEpoch' in r)) noteFollowerFetch(h, request);
        },
        () => {}, // the caller gets the failure
      );
    }
    return response;
  }

  /** A follower's fetch of every partition it follows from this broker (replica-fetch.ts). */
  replicaFetch(request: ReplicaFetchRequest): Promise<ReplicaFetchResponse> {
    return this.replicaFetchSessions.fetch(request);
  }

  /**
   * The offset from which compaction must keep tombstones of a hosted log (log-cleaner.ts's
   * `retainTombstonesFrom`): on a leader, the lowest fetch offset of the other replicas in this leader
   * epoch (0 for one not heard from yet); on a follower, 0.
   */
  private tombstoneBound(h: Hosted): number {
    const state = h.replica.state;
    if (h.replica.role !== 'leader') return 0;
    let bound = Number.POSITIVE_INFINITY;
    for (const r of state.replicas) {
      if (r === this.options.brokerId) continue;
      const seen = h.followerFetches.get(r);
      bound = Math.min(bound, seen !== undefined && seen.leaderEpoch === state.leaderEpoch ? seen.fetchOffset : 0);
    }
    return bound;
  }

  /**
   * Scrubs every hosted replica (see PartitionReplica.scrub); resolves with the number found damaged.
   * Only the replicas hosted when it starts: a broker opens a replica's log when the metadata names it
   * a replica, so a scrub just after a restart, before that metadata arrives, covers nothing.
   */
  async scrub(): Promise<number> {
    let damaged = 0;
    for (const h of [...this.hosted.values()]) if (!(await h.replica.scrub())) damaged++;
    return damaged;
  }

  // ---- Follower fetches (replica-fetcher.ts) ---------------------------------------------------------

  /**
   * Fetches a follower replica with one of the fetchers for its leader: the one that has it, else an
   * idle slot, else the one with the fewest partitions — so that partitions of one leader spread over
   * up to `replicaFetchers` requests in flight (Kafka's num.replica.fetchers): each waits for the
   * appends of all its partitions, and more of them keep a pair of brokers busy.
   */
  private startFetching(h: Hosted): void {
    const leader = h.replica.state.leader;
    if (this.stopped || h.replica.role !== 'follower' || leader < 0) return;
    let slots = this.fetchers.get(leader);
    if (slots === undefined) {
      slots = new Array<ReplicaFetcher | undefined>(Math.max(1, this.options.replicaFetchers ?? 4)).fill(undefined);
      this.fetchers.set(leader, slots);
    }
    const existing = slots.find((f) => f?.has(h.replica));
    if (existing !== undefined) {
      existing.add(h.replica); // restarts it if it stopped with nothing fetchable
      return;
    }
    let slot = slots.indexOf(undefined);
    if (slot < 0) slot = slots.reduce((best, f, i) => ((f?.size ?? 0) < (slots[best]?.size ?? 0) ? i : best), 0);
    const fetcher = slots[slot] ?? this.newFetcher(leader, slot, slots);
    slots[slot] = fetcher;
    fetcher.add(h.replica);
  }

  private newFetcher(leader: number, fetcherId: number, slots: (ReplicaFetcher | undefined)[]): ReplicaFetcher {
    const o = this.options;
    const created: ReplicaFetcher = new ReplicaFetcher({
      leader,
      fetcherId,
      brokerId: o.brokerId,
      clock: o.clock,
      send: o.replicaFetch,
      isHosted: (replica) => this.hosted.get(key(replica.state.topicId, replica.state.partition))?.replica === replica,
      stopped: () => this.stopped,
      maxWaitMs: o.replicaFetchWaitMaxMs ?? 500,
      partitionMaxBytes: o.replicaFetchBytesMax ?? 1 << 20,
      responseMaxBytes: o.replicaFetchResponseMaxBytes ?? 10 << 20,
      backoffMs: o.replicaFetchBackoffMs ?? 100,
      ...(o.onFatal !== undefined ? { onFatal: o.onFatal } : {}),
      onIdle: () => {
        if (slots[fetcherId] === created) slots[fetcherId] = undefined;
      },
    });
    return created;
  }

  // ---- Periodic work -------------------------------------------------------------------------------

  private tickCount = 0;
  private lastRetentionMs = 0;
  private lastCompactionMs = 0;
  /** The compaction pass running, if any (one per broker at a time). */
  private compacting: Promise<unknown> | undefined;

  private cleanupPolicyOf(image: MetadataImage, h: Hosted): ReadonlySet<string> {
    return cleanupPolicy(effectiveConfig(image.topicConfig(h.topicName), image.clusterConfig()));
  }

  /** Runs one compaction pass on the hosted log of a compacted topic that most needs it, if any does. */
  private maybeCompact(image: MetadataImage, wallNowMs: number): void {
    let best: { h: Hosted; log: CompactableLog; config: CompactionConfig; ratio: number } | undefined;
    for (const h of this.hosted.values()) {
      const log = h.replica.log;
      if (!isCompactable(log) || !log.compactionEnabled) continue;
      const cfg = effectiveConfig(image.topicConfig(h.topicName), image.clusterConfig());
      if (!cleanupPolicy(cfg).has('compact')) continue;
      const config: CompactionConfig = { deleteRetentionMs: deleteRetentionMs(cfg), minCleanableDirtyRatio: minCleanableDirtyRatio(cfg), minCompactionLagMs: minCompactionLagMs(cfg) };
      const range = cleanableRange(log, wallNowMs, config);
      if (range.dirtyBytes === 0 || range.dirtyRatio < config.minCleanableDirtyRatio) continue;
      if (best === undefined || range.dirtyRatio > best.ratio) best = { h, log, config, ratio: range.dirtyRatio };
    }
    if (best === undefined) return;
    const { h, log, config } = best;
    const logger = this.options.logger;
    const where = `${h.topicName}-${h.replica.state.partition}`;
    const pass = compactLog(log, {
      nowMs: wallNowMs,
      config,
      retainTombstonesFrom: this.tombstoneBound(h),
      ...(this.options.compactionMapEntriesMax !== undefined ? { mapEntriesMax: this.options.compactionMapEntriesMax } : {}),
      logger: (format, ...args) => logger(`broker %d %s: ${format}`, this.options.brokerId, where, ...args),
    });
    this.compacting = pass;
    const done = (): void => {
      if (this.compacting === pass) this.compacting = undefined;
    };
    void pass.then(done, done);
    this.maintain(h, pass);
  }

  private scheduleTick(): void {
    this.cancelTick = this.options.clock.setTimer(this.options.osFlushIntervalMs ?? 1000, () => {
      if (this.stopped) return;
      this.tickCount++;
      const image = this.lastImage;
      const mayLead = this.options.mayLead();
      for (const h of this.hosted.values()) {
        // Leadership held back while fenced is taken up once unfenced.
        const state = image?.partition(h.replica.state.topicId, h.replica.state.partition);
        if (mayLead && state !== undefined && state.leader === this.options.brokerId && h.replica.role !== 'leader' && image !== undefined) {
          void h.replica.applyMetadata(state, this.replicaConfig(image, h.topicName), true);
        }
        h.replica.tick();
        if (h.replica.role === 'follower') this.startFetching(h);
        this.maintain(h, h.replica.log.flush());
        if (this.tickCount % 5 === 0) this.maintain(h, h.replica.log.checkpointHighWatermark());
      }
      const now = this.options.clock.nowMs();
      const wallNow = this.options.wallClockMs?.() ?? now;
      if (now - this.lastRetentionMs >= (this.options.retentionCheckIntervalMs ?? 300_000)) {
        this.lastRetentionMs = now;
        for (const h of this.hosted.values()) {
          // A compact-only topic keeps its data: retention is the "delete" policy (as in Kafka).
          if (image === undefined || this.cleanupPolicyOf(image, h).has('delete')) this.maintain(h, h.replica.log.applyRetention?.(wallNow));
        }
      }
      if (image !== undefined && this.compacting === undefined && now - this.lastCompactionMs >= (this.options.compactionCheckIntervalMs ?? 15_000)) {
        this.lastCompactionMs = now;
        this.maybeCompact(image, wallNow);
      }
      this.scheduleTick();
    });
  }
}

/** Records a follower's fetch that its leader answered with records (the newest per incarnation wins). */
function noteFollowerFetch(h: Hosted, request: FetchRequest): void {
  const leaderEpoch = h.replica.state.leaderEpoch;
  const seen = h.followerFetches.get(request.replicaId);
  const newer =
    seen === undefined ||
    leaderEpoch > seen.leaderEpoch ||
    (leaderEpoch === seen.leaderEpoch && (request.brokerEpoch > seen.brokerEpoch || (request.brokerEpoch === seen.brokerEpoch && request.sequence > seen.sequence)));
  if (newer) h.followerFetches.set(request.replicaId, { leaderEpoch, brokerEpoch: request.brokerEpoch, sequence: request.sequence, fetchOffset: request.fetchOffset });
}

/**
 * Idempotent producers' state after a restart, rebuilt from the batch headers of the last two
 * segments (the state only needs each producer's last five batches; a producer silent for longer
 * than that starts a new session, as after Kafka's producer-state expiry). A corrupt stored batch
 * ends the scan: the state then covers what came before it.
 */
export async function rebuildProducerState(log: ReplicaLog): Promise<ProducerStateTable> {
  const producers = new ProducerStateTable();
  const bases = log.segmentBaseOffsets?.() ?? [];
  let offset = Math.max(log.logStartOffset, bases.length >= 2 ? (bases[bases.length - 2] as number) : log.logStartOffset);
  while (offset < log.logEndOffset) {
    const bytes = await log.read(offset, { maxBytes: 1 << 20, maxOffset: log.logEndOffset });
    if ('error' in bytes || bytes.length === 0) break;
    let next = offset;
    for (const { header } of iterateBatches(bytes)) {
      producers.record(header, header.baseOffset, header.lastOffset);
      next = header.lastOffset + 1;
    }
    if (next <= offset) break;
    offset = next;
  }
  return producers;
}
