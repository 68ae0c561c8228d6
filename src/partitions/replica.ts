/**
 * One partition's replica on one broker: the leader's side of produce, fetch, the high watermark and
 * the ISR, and the follower's side of fetching from the leader (DESIGN.md §4; KIP-101, KIP-279,
 * KIP-320, KIP-497, KIP-903).
 *
 * Leader:
 * - HW = min over the ISR of each member's log end (its *flushed* end with flush=always), and it
 *   advances only while the ISR has at least `min.insync.replicas` members (KAFKA-15583). The HW never
 *   goes down. While an ISR change is in flight the leader uses the union of the old and new ISR for
 *   the minimum and the smaller of the two for the min-ISR check (KIP-497's "maximal ISR").
 * - acks=0/1 are answered after the append (and, with flush=always, its fsync); acks=all once the HW
 *   covers the batch. With |ISR| < min.insync.replicas an acks=all produce is refused before append.
 * - A follower's fetch carries (fetchOffset, lastFetchedEpoch, currentLeaderEpoch). A stale leader
 *   epoch gets FENCED_LEADER_EPOCH, a newer one UNKNOWN_LEADER_EPOCH; a log that diverged gets the
 *   end offset of the last common epoch (KIP-320) and truncates there — never to its own HW (KIP-101).
 *   A consumer that sends the epoch of the last batch it read gets the same answer when the log under
 *   it was truncated (unclean election, or flush=os data lost to a power cut): KIP-320's detection.
 * - A follower joins the ISR once its log end reaches the HW and the start of the leader's epoch, and
 *   leaves it after `replica.lag.time.max.ms` without catching up; both through AlterPartition.
 *
 * Follower: fetches from the leader the metadata names, appends what it receives (fsynced first with
 * flush=always, so the offset it reports is durable), truncates on a diverging-epoch answer, and
 * follows the leader's HW.
 *
 * Every log mutation of a replica runs in one serial chain (`exclusive`), so appends, truncations and
 * role changes never interleave. Time comes from the injected Clock only.
 */
import { assert } from '../util/assert.js';
import type { CancelTimer, Clock } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import type { PartitionState } from '../metadata/image.js';
import type { AlterPartitionRequest, AlterPartitionResponse } from '../metadata/rpc.js';
import { NO_LEADER } from '../metadata/records.js';
import { partitionError, type PartitionErrorResult } from './errors.js';
import type { ProducerStateTable } from './producer-state.js';
import { iterateBatches } from './record-batch.js';

/** What the replica needs of its partition log (segment-log.ts implements it). */
export interface ReplicaLog {
  readonly logStartOffset: number;
  readonly logEndOffset: number;
  /** The end offset known durable. */
  readonly flushedOffset: number;
  highWatermark: number;
  readonly latestEpoch: number | undefined;
  appendAsLeader(batch: Uint8Array, leaderEpoch: number, nowMs: number): Promise<AppendInfo | PartitionErrorResult>;
  appendAsFollower(batches: Uint8Array, nowMs: number): Promise<readonly AppendInfo[] | PartitionErrorResult>;
  flush(): Promise<number>;
  read(fetchOffset: number, limits: { maxBytes: number; maxOffset: number; fromFile?: boolean }): Promise<Uint8Array | PartitionErrorResult>;
  truncateTo(offset: number): Promise<void>;
  assignEpoch(epoch: number, startOffset: number): void;
  endOffsetForEpoch(epoch: number): { epoch: number; endOffset: number };
  checkpointHighWatermark(): Promise<void>;
  /** Base offsets of the segments, oldest first (where a producer-state rebuild may start). */
  segmentBaseOffsets?(): number[];
  /** Drops every segment and starts empty at `offset` (rebuilding a damaged replica). */
  truncateFullyAndStartAt?(offset: number): Promise<void>;
  /** Flushes and releases the files (the replica is gone from this broker, or the broker stops). */
  close?(): Promise<void>;
  /** Deletes whole segments past retention.ms / retention.bytes (below the HW only). */
  applyRetention?(nowMs: number): Promise<unknown>;
  /** The first offset whose record timestamp is >= `timestamp` (ListOffsets); -2 earliest, -1 latest. */
  offsetForTimestamp?(timestamp: number): Promise<{ offset: number; timestamp: number } | undefined | PartitionErrorResult>;
}

/** One appended batch: offsets and the idempotence fields of its header. */
export interface AppendInfo {
  readonly baseOffset: number;
  readonly lastOffset: number;
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly baseSequence: number;
  readonly lastSequence: number;
}

export interface ReplicaConfig {
  readonly minInsyncReplicas: number;
  readonly replicaLagTimeMaxMs: number;
  readonly flush: 'always' | 'os';
  readonly uncleanLeaderElection: boolean;
}

export type Acks = 0 | 1 | -1;

export interface ProduceResult {
  readonly baseOffset: number;
  readonly lastOffset: number;
  /** The batch was a retry of one already in the log. */
  readonly duplicate: boolean;
}

export interface FetchRequest {
  /** The fetching broker, or -1 for a consumer. */
  readonly replicaId: number;
  /** The fetching broker's epoch (followers only; KIP-903). */
  readonly brokerEpoch: number;
  /**
   * Followers number their fetches (per process); the leader learns a follower's progress only from
   * a fetch newer than any it has seen, so a delayed or duplicated old fetch cannot claim a log the
   * follower no longer has (after it rebuilt a damaged log, say). -1: not numbered (consumers).
   */
  readonly sequence: number;
  readonly fetchOffset: number;
  /** The epoch of the last batch in the follower's log (followers only; -1: none). */
  readonly lastFetchedEpoch: number;
  /** The leader epoch the fetcher believes current (-1: don't check). */
  readonly currentLeaderEpoch: number;
  /**
   * At least one whole batch is returned however small this is, except 0: no records at all, only
   * the fetch's progress (a replica-fetch whose response budget is spent, replica-fetch.ts).
   */
  readonly maxBytes: number;
  readonly minBytes: number;
  readonly maxWaitMs: number;
}

export type FetchResponse =
  | {
      readonly records: Uint8Array;
      readonly highWatermark: number;
      readonly logStartOffset: number;
      readonly logEndOffset: number;
    }
  | { readonly divergingEpoch: { readonly epoch: number; readonly endOffset: number }; readonly highWatermark: number }
  | PartitionErrorResult;

export interface ReplicaDeps {
  readonly brokerId: number;
  readonly topicName: string;
  readonly log: ReplicaLog;
  readonly producers: ProducerStateTable;
  readonly clock: Clock;
  readonly logger: Logger;
  /** This broker's current registration epoch. */
  readonly brokerEpoch: () => number;
  /** Sends AlterPartition to the active controller. Rejects on a network failure. */
  readonly alterPartition: (request: AlterPartitionRequest) => Promise<AlterPartitionResponse>;
  /** Tells the controller this replica's stored data is corrupt (it leaves the ISR and leadership). */
  readonly replicaFailed?: () => Promise<unknown>;
}

interface FollowerProgress {
  logEndOffset: number;
  lastCaughtUpMs: number;
  brokerEpoch: number;
  /** The leader's log end and the time at the follower's previous fetch (Kafka's Replica state). */
  lastFetchLeaderEnd: number;
  lastFetchMs: number;
  /** The newest fetch sequence seen from this broker epoch. */
  lastSequence: number;
}

interface HwWaiter {
  readonly offset: number;
  readonly resolve: (reached: boolean) => void;
}

interface ParkedFetch {
  readonly request: FetchRequest;
  readonly resolve: (response: FetchResponse) => void;
  cancel: CancelTimer;
}

export type ReplicaRole = 'leader' | 'follower' | 'offline';

/** How long a leader waits before asking again for an ISR change whose outcome it does not know. */
export const ALTER_PARTITION_RETRY_MS = 250;

/** AlterPartition answers after which the change may or may not have been committed. */
function isrOutcomeUnknown(code: string): boolean {
  return code === 'REQUEST_TIMED_OUT' || code === 'NOT_CONTROLLER';
}

export class PartitionReplica {
  private stateValue: PartitionState;
  private config: ReplicaConfig;
  private roleValue: ReplicaRole = 'offline';
  private readonly followers = new Map<number, FollowerProgress>();
  /**
   * An ISR change requested and not yet resolved (KIP-497's "maximal ISR": the HW counts the union of
   * the committed and the pending ISR). It is resolved only by an answer that settles it (success, or
   * a rejection that says nothing was written) or by metadata newer than the state the request was
   * based on (`pendingIsrBaseEpoch`). An unknown outcome (lost answer, timeout, controller moving)
   * keeps it pending and the request is retried: the controller may have committed it. So does a
   * stale-epoch refusal (INVALID_UPDATE_VERSION, FENCED_LEADER_EPOCH): the newer epoch arrives by
   * metadata, or it was never committed and a retry is answered.
   */
  private pendingIsr: readonly number[] | undefined;
  private pendingIsrBaseEpoch = -1;
  private hwWaiters: HwWaiter[] = [];
  private parked: ParkedFetch[] = [];
  /** Told of every change that may complete a parked fetch (see onFetchable). */
  private readonly fetchableListeners = new Set<() => void>();
  private chain: Promise<unknown> = Promise.resolve();
  private stopped = false;
  /** A read found corrupt stored data: rebuild from the leader once out of the ISR (as a follower). */
  private damagedValue = false;
  private reporting = false;
  /** Numbers this replica's follower fetches (see FetchRequest.sequence). */
  private fetchSequence = 0;

  constructor(
    private readonly deps: ReplicaDeps,
    state: PartitionState,
    config: ReplicaConfig,
  ) {
    this.stateValue = state;
    this.config = config;
  }

  get state(): PartitionState {
    return this.stateValue;
  }
  get role(): ReplicaRole {
    return this.roleValue;
  }
  get highWatermark(): number {
    return this.deps.log.highWatermark;
  }
  get log(): ReplicaLog {
    return this.deps.log;
  }

  private get where(): string {
    return `${this.deps.topicName}-${this.stateValue.partition}`;
  }

  /** Runs `fn` after every earlier log mutation of this replica has finished. */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn, fn);
    this.chain = run.catch(() => undefined);
    return run;
  }

  // ---- Metadata ------------------------------------------------------------------------------------

  /**
   * A new partition state from the metadata log (or new topic configs). `mayLead` is false until this
   * broker's current registration is unfenced: metadata replayed after a restart may still name this
   * broker leader in an epoch of its previous life, whose log it may since have lost the tail of
   * (flush=os). The controller bumps the leader epoch of every partition a broker led when it fences
   * that broker, so leadership taken once unfenced is always of an epoch given to this incarnation.
   */
  applyMetadata(state: PartitionState, config: ReplicaConfig, mayLead = true): Promise<void> {
    return this.exclusive(async () => {
      // A stopped replica's log may be closed (its topic was deleted while this change was queued).
      if (this.stopped) return;
      const before = this.stateValue;
      this.config = config;
      if (state.partitionEpoch < before.partitionEpoch) return;
      this.stateValue = state;
      const me = this.deps.brokerId;
      if (state.leader === me && !mayLead) {
        if (this.roleValue !== 'offline') this.becomeOffline('this broker is not (yet) unfenced');
      } else if (state.leader === me) {
        if (this.roleValue !== 'leader' || state.leaderEpoch !== before.leaderEpoch) this.becomeLeader();
        else if (this.pendingIsr !== undefined && (sameMembers(this.pendingIsr, state.isr) || state.partitionEpoch > this.pendingIsrBaseEpoch)) this.pendingIsr = undefined;
        this.maybeAdvanceHighWatermark();
      } else if (state.replicas.includes(me)) {
        if (this.roleValue !== 'follower' || state.leaderEpoch !== before.leaderEpoch) this.becomeFollower();
        if (this.damagedValue) await this.repairWhenOutOfIsr();
      } else {
        this.becomeOffline('no longer a replica');
      }
    });
  }

  private becomeLeader(): void {
    const log = this.deps.log;
    const now = this.deps.clock.nowMs();
    this.roleValue = 'leader';
    this.pendingIsr = undefined;
    this.followers.clear();
    for (const r of this.stateValue.replicas) {
      if (r !== this.deps.brokerId) this.followers.set(r, { logEndOffset: -1, lastCaughtUpMs: now, brokerEpoch: -1, lastFetchLeaderEnd: -1, lastFetchMs: now, lastSequence: -1 });
    }
    // The new epoch starts at our log end: a follower that diverged truncates back to here (KIP-101).
    log.assignEpoch(this.stateValue.leaderEpoch, log.logEndOffset);
    this.deps.logger('%s: leader in epoch %d at offset %d (HW %d, ISR %s)', this.where, this.stateValue.leaderEpoch, log.logEndOffset, log.highWatermark, this.stateValue.isr.join(','));
    this.notifyFetchable(); // fetches of the previous epoch are answered (FENCED_LEADER_EPOCH) at once
  }

  private becomeFollower(): void {
    this.roleValue = 'follower';
    this.failWaiters('NOT_LEADER_OR_FOLLOWER', `leadership moved to ${this.stateValue.leader}`);
    this.followers.clear();
    this.pendingIsr = undefined;
    this.deps.logger('%s: follower of %d in epoch %d', this.where, this.stateValue.leader, this.stateValue.leaderEpoch);
  }

  private becomeOffline(why: string): void {
    this.roleValue = 'offline';
    this.failWaiters('NOT_LEADER_OR_FOLLOWER', why);
  }

  /** The replica is being removed or the broker stops. */
  stop(): void {
    this.stopped = true;
    this.becomeOffline('replica stopped');
  }

  private failWaiters(code: 'NOT_LEADER_OR_FOLLOWER', why: string): void {
    for (const w of this.hwWaiters) w.resolve(false);
    this.hwWaiters = [];
    for (const p of this.parked) {
      p.cancel();
      p.resolve(partitionError(code, why));
    }
    this.parked = [];
    this.notifyFetchable();
  }

  // ---- Leader: produce -----------------------------------------------------------------------------

  /**
   * Appends one record batch as leader. Resolves per `acks` (see the module header), or with an error
   * (NOT_LEADER_OR_FOLLOWER, NOT_ENOUGH_REPLICAS, CORRUPT_RECORD, MESSAGE_TOO_LARGE,
   * OUT_OF_ORDER_SEQUENCE, INVALID_PRODUCER_EPOCH, REQUEST_TIMED_OUT, NOT_ENOUGH_REPLICAS_AFTER_APPEND).
   */
  async produce(batch: Uint8Array, acks: Acks, timeoutMs: number, identity: { producerId: number; producerEpoch: number; baseSequence: number; lastSequence: number }): Promise<ProduceResult | PartitionErrorResult> {
    const appended = await this.exclusive(async (): Promise<ProduceResult | PartitionErrorResult> => {
      if (this.roleValue !== 'leader' || this.stopped) return partitionError('NOT_LEADER_OR_FOLLOWER', `${this.where} is led by ${this.stateValue.leader}`);
      if (acks === -1 && this.isrSizeForMinIsr() < this.config.minInsyncReplicas) {
        return partitionError('NOT_ENOUGH_REPLICAS', `${this.where} has ${this.stateValue.isr.length} in-sync replicas, min.insync.replicas is ${this.config.minInsyncReplicas}`);
      }
      const check = this.deps.producers.check(identity);
      if (check.kind === 'error') return partitionError(check.code, check.message);
      if (check.kind === 'duplicate') return { baseOffset: check.baseOffset, lastOffset: check.lastOffset, duplicate: true };
      const info = await this.deps.log.appendAsLeader(batch, this.stateValue.leaderEpoch, this.deps.clock.nowMs());
      if ('error' in info) return info;
      this.deps.producers.record(identity, info.baseOffset, info.lastOffset);
      return { baseOffset: info.baseOffset, lastOffset: info.lastOffset, duplicate: false };
    });
    if ('error' in appended) return appended;
    // The append happened in this leader epoch; if leadership changes while we wait (even back to
    // this broker), the offsets may since hold other data: the outcome is unknown.
    const epoch = this.stateValue.leaderEpoch;
    const stillLeading = (): boolean => this.roleValue === 'leader' && this.stateValue.leaderEpoch === epoch;
    const lost = (): PartitionErrorResult => partitionError('NOT_LEADER_OR_FOLLOWER', `${this.where} lost leadership before the batch was replicated; outcome unknown`);
    if (this.config.flush === 'always') await this.deps.log.flush();
    if (!stillLeading()) return lost();
    this.maybeAdvanceHighWatermark();
    this.wakeParkedFetches();
    if (acks !== -1) return appended;
    if (this.deps.log.highWatermark > appended.lastOffset) return appended;
    const reached = await this.waitForHighWatermark(appended.lastOffset + 1, timeoutMs);
    if (reached && stillLeading()) return appended;
    if (!stillLeading()) return lost();
    if (this.isrSizeForMinIsr() < this.config.minInsyncReplicas) return partitionError('NOT_ENOUGH_REPLICAS_AFTER_APPEND');
    return partitionError('REQUEST_TIMED_OUT', `${this.where} offset ${appended.lastOffset} not replicated within ${timeoutMs} ms`);
  }

  private waitForHighWatermark(offset: number, timeoutMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      let done = false;
      const finish = (reached: boolean): void => {
        if (done) return;
        done = true;
        cancel();
        resolve(reached);
      };
      const cancel = this.deps.clock.setTimer(timeoutMs, () => {
        this.hwWaiters = this.hwWaiters.filter((w) => w.resolve !== finish);
        finish(false);
      });
      this.hwWaiters.push({ offset, resolve: finish });
    });
  }

  // ---- Leader: fetch -------------------------------------------------------------------------------

  /**
   * Serves a fetch from a follower or a consumer. Like Kafka's DelayedFetch it long-polls: an answer
   * with fewer than `minBytes` waits (up to `maxWaitMs`) until new data or a new HW makes it enough.
   */
  async fetch(request: FetchRequest): Promise<FetchResponse> {
    const first = await this.fetchOnce(request);
    if (this.complete(request, first) || request.maxWaitMs <= 0) return first;
    return new Promise<FetchResponse>((resolve) => {
      const parked: ParkedFetch = { request, resolve, cancel: () => {} };
      parked.cancel = this.deps.clock.setTimer(request.maxWaitMs, () => {
        this.parked = this.parked.filter((p) => p !== parked);
        void this.fetchOnce(request).then(resolve, (error: unknown) => resolve(partitionError('KAFKA_STORAGE_ERROR', String(error))));
      });
      this.parked.push(parked);
    });
  }

  private complete(request: FetchRequest, response: FetchResponse): boolean {
    return 'error' in response || 'divergingEpoch' in response || response.records.length >= request.minBytes;
  }

  /**
   * Calls `listener` on every change that may complete a fetch waiting here — new data, a new HW, a
   * role change — so that a replica-fetch of many partitions can park on all of them at once
   * (replica-fetch.ts). Returns the unsubscribe.
   */
  onFetchable(listener: () => void): () => void {
    this.fetchableListeners.add(listener);
    return () => this.fetchableListeners.delete(listener);
  }

  /**
   * Whether a follower fetch that found nothing to read when it was parked would now be answered
   * with something: records past its fetch offset, or an error because this replica's role or leader
   * epoch changed. Synchronous and without a read, for the listeners of `onFetchable`.
   */
  hasNewsFor(request: FetchRequest): boolean {
    if (this.roleValue !== 'leader' || this.stopped) return true;
    if (request.currentLeaderEpoch >= 0 && request.currentLeaderEpoch !== this.stateValue.leaderEpoch) return true;
    return this.deps.log.logEndOffset > request.fetchOffset;
  }

  private notifyFetchable(): void {
    for (const listener of [...this.fetchableListeners]) listener();
  }

  /** New data or a new HW: answer the parked fetches that now have enough; the rest wait on. */
  private wakeParkedFetches(): void {
    this.notifyFetchable();
    for (const p of [...this.parked]) {
      void this.fetchOnce(p.request).then((response) => {
        if (!this.parked.includes(p) || !this.complete(p.request, response)) return;
        this.parked = this.parked.filter((x) => x !== p);
        p.cancel();
        p.resolve(response);
      });
    }
  }

  private async fetchOnce(req: FetchRequest): Promise<FetchResponse> {
    const log = this.deps.log;
    // The epoch first, as Kafka does: a fetch in an old epoch is fenced by whichever replica gets it.
    const epoch = this.stateValue.leaderEpoch;
    if (!this.stopped && req.currentLeaderEpoch >= 0 && req.currentLeaderEpoch < epoch) return partitionError('FENCED_LEADER_EPOCH', `${req.currentLeaderEpoch} < ${epoch}`);
    if (!this.stopped && req.currentLeaderEpoch > epoch) return partitionError('UNKNOWN_LEADER_EPOCH', `${req.currentLeaderEpoch} > ${epoch}`);
    if (this.roleValue !== 'leader' || this.stopped) return partitionError('NOT_LEADER_OR_FOLLOWER', `${this.where} is led by ${this.stateValue.leader}`);
    const isFollower = req.replicaId >= 0;
    if (req.lastFetchedEpoch >= 0) {
      // KIP-320: does the fetcher's log (a follower's, or what a consumer has read) end within an
      // epoch we know, at an offset we hold?
      let end = log.endOffsetForEpoch(req.lastFetchedEpoch);
      // An epoch older than all we know: a follower keeps nothing past our log start. A consumer
      // there read data since removed by retention, not truncated: nothing to report.
      if (end.epoch < 0 && isFollower) end = { epoch: req.lastFetchedEpoch, endOffset: log.logStartOffset };
      if (end.epoch >= 0 && (end.epoch !== req.lastFetchedEpoch || end.endOffset < req.fetchOffset)) {
        return { divergingEpoch: end, highWatermark: log.highWatermark };
      }
    }
    if (isFollower) {
      const progress = this.followers.get(req.replicaId);
      if (progress === undefined) return partitionError('NOT_LEADER_OR_FOLLOWER', `broker ${req.replicaId} is not a replica of ${this.where}`);
      const stale = req.sequence >= 0 && req.brokerEpoch >= 0 && req.brokerEpoch === progress.brokerEpoch && req.sequence <= progress.lastSequence;
      if (!stale) this.onFollowerFetch(req, progress);
    }
    if (req.fetchOffset < log.logStartOffset || req.fetchOffset > log.logEndOffset) {
      return partitionError('OFFSET_OUT_OF_RANGE', `${this.where}: offset ${req.fetchOffset} is outside [${log.logStartOffset}, ${log.logEndOffset}]`);
    }
    // Followers read to the log end; consumers only what is committed.
    const maxOffset = isFollower ? log.logEndOffset : log.highWatermark;
    const records = req.fetchOffset >= maxOffset || req.maxBytes === 0 ? new Uint8Array(0) : await log.read(req.fetchOffset, { maxBytes: req.maxBytes, maxOffset });
    if ('error' in records) {
      if (records.error === 'KAFKA_STORAGE_ERROR') this.onCorruption(records.message);
      return records;
    }
    return { records, highWatermark: log.highWatermark, logStartOffset: log.logStartOffset, logEndOffset: log.logEndOffset };
  }

  private onFollowerFetch(req: FetchRequest, progress: FollowerProgress): void {
    const log = this.deps.log;
    const now = this.deps.clock.nowMs();
    const leaderEnd = this.leaderEndForHw();
    progress.logEndOffset = req.fetchOffset;
    progress.brokerEpoch = req.brokerEpoch;
    progress.lastSequence = req.sequence;
    // Kafka's rule (Replica.updateFetchState): caught up now if at our end, or caught up as of the
    // previous fetch if it reached the end we had then — so steady load does not look like lag.
    if (req.fetchOffset >= leaderEnd) progress.lastCaughtUpMs = now;
    else if (req.fetchOffset >= progress.lastFetchLeaderEnd) progress.lastCaughtUpMs = Math.max(progress.lastCaughtUpMs, progress.lastFetchMs);
    progress.lastFetchLeaderEnd = leaderEnd;
    progress.lastFetchMs = now;
    this.maybeAdvanceHighWatermark();
    // ISR expansion: caught up to the HW and into our epoch.
    const epochStart = log.endOffsetForEpoch(this.stateValue.leaderEpoch - 1).endOffset;
    if (
      !this.stateValue.isr.includes(req.replicaId) &&
      this.pendingIsr === undefined &&
      req.fetchOffset >= log.highWatermark &&
      req.fetchOffset >= epochStart
    ) {
      this.requestIsr([...this.stateValue.isr, req.replicaId]);
    }
  }

  /**
   * ListOffsets on the leader: `-2` the log start, `-1` the HW (what consumers can read, Kafka's
   * read_uncommitted "latest"), otherwise the first committed offset whose timestamp is at least
   * `timestamp` — or the HW when there is none.
   */
  async listOffset(timestamp: number): Promise<{ offset: number; timestamp: number } | PartitionErrorResult> {
    if (this.roleValue !== 'leader' || this.stopped) return partitionError('NOT_LEADER_OR_FOLLOWER', `${this.where} is led by ${this.stateValue.leader}`);
    const log = this.deps.log;
    if (timestamp === -2) return { offset: log.logStartOffset, timestamp: -1 };
    if (timestamp === -1 || log.offsetForTimestamp === undefined) return { offset: log.highWatermark, timestamp: -1 };
    const found = await log.offsetForTimestamp(timestamp);
    if (found !== undefined && 'error' in found) return found;
    if (found === undefined || found.offset >= log.highWatermark) return { offset: log.highWatermark, timestamp: -1 };
    return found;
  }

  // ---- Leader: HW and ISR --------------------------------------------------------------------------

  /** Our own log end as it counts toward the HW: durable only, with flush=always. */
  private leaderEndForHw(): number {
    const log = this.deps.log;
    return this.config.flush === 'always' ? log.flushedOffset : log.logEndOffset;
  }

  private isrSizeForMinIsr(): number {
    const pending = this.pendingIsr;
    return pending === undefined ? this.stateValue.isr.length : Math.min(pending.length, this.stateValue.isr.length);
  }

  private maybeAdvanceHighWatermark(): void {
    if (this.roleValue !== 'leader') return;
    const log = this.deps.log;
    if (this.isrSizeForMinIsr() < this.config.minInsyncReplicas) return;
    const members = new Set([...this.stateValue.isr, ...(this.pendingIsr ?? [])]);
    let hw = this.leaderEndForHw();
    for (const id of members) {
      if (id === this.deps.brokerId) continue;
      const end = this.followers.get(id)?.logEndOffset ?? -1;
      hw = Math.min(hw, end);
    }
    if (hw <= log.highWatermark) return;
    log.highWatermark = hw;
    const ready = this.hwWaiters.filter((w) => w.offset <= hw);
    this.hwWaiters = this.hwWaiters.filter((w) => w.offset > hw);
    for (const w of ready) w.resolve(true);
    this.wakeParkedFetches();
  }

  /** Periodic: repair damage; shrink the ISR of followers that have not caught up within replica.lag.time.max.ms. */
  tick(): void {
    if (this.damagedValue && this.roleValue === 'follower') void this.exclusive(() => this.repairWhenOutOfIsr());
    else if (this.damagedValue) this.reportDamage(); // a damaged leader hands over once another ISR member exists
    if (this.roleValue !== 'leader' || this.pendingIsr !== undefined) return;
    const now = this.deps.clock.nowMs();
    const lagging = this.stateValue.isr.filter((id) => {
      if (id === this.deps.brokerId) return false;
      const p = this.followers.get(id);
      return p === undefined || now - p.lastCaughtUpMs > this.config.replicaLagTimeMaxMs;
    });
    if (lagging.length > 0) {
      this.deps.logger('%s: shrinking ISR, %s lagging', this.where, lagging.join(','));
      this.requestIsr(this.stateValue.isr.filter((id) => !lagging.includes(id)));
    }
  }

  private requestIsr(isr: readonly number[]): void {
    const state = this.stateValue;
    this.pendingIsr = isr;
    const request: AlterPartitionRequest = {
      kind: 'alter-partition',
      brokerId: this.deps.brokerId,
      brokerEpoch: this.deps.brokerEpoch(),
      topicId: state.topicId,
      partition: state.partition,
      leaderEpoch: state.leaderEpoch,
      partitionEpoch: state.partitionEpoch,
      newIsr: isr.map((id) => ({ brokerId: id, brokerEpoch: id === this.deps.brokerId ? this.deps.brokerEpoch() : (this.followers.get(id)?.brokerEpoch ?? -1) })),
    };
    this.pendingIsrBaseEpoch = state.partitionEpoch;
    const send = (): void => {
      this.deps.alterPartition(request).then(done, () => done(undefined));
    };
    const retryLater = (): void => {
      this.deps.clock.setTimer(ALTER_PARTITION_RETRY_MS, () => {
        if (this.pendingIsr === isr && !this.stopped && this.roleValue === 'leader') send();
      });
    };
    const done = (response: AlterPartitionResponse | undefined): void => {
      if (this.pendingIsr !== isr || this.stopped || this.roleValue !== 'leader') return;
      if (response === undefined || ('error' in response && isrOutcomeUnknown(response.error))) {
        // Maybe committed, maybe not: stay on the maximal ISR and ask again (a repeat of a change that
        // was committed is refused as stale, and the metadata then resolves it).
        retryLater();
        return;
      }
      if ('error' in response) {
        // The controller knows a newer partition or leader epoch. Usually the metadata log brings it,
        // which resolves this; but the controller may have judged by a change that it never committed
        // (its leadership ended first), and then nothing comes. Stay on the maximal ISR and ask again
        // until the metadata moves on or the controller answers.
        if (response.error === 'INVALID_UPDATE_VERSION' || response.error === 'FENCED_LEADER_EPOCH') {
          this.deps.logger('%s: ISR %s refused (%s); asking again unless newer metadata comes', this.where, isr.join(','), response.error);
          retryLater();
          return;
        }
        // Refused, nothing written: back to the committed ISR.
      } else if (response.partition.partitionEpoch > this.stateValue.partitionEpoch) {
        this.stateValue = response.partition;
      }
      this.pendingIsr = undefined;
      this.maybeAdvanceHighWatermark();
    };
    send();
  }

  // ---- Damaged data --------------------------------------------------------------------------------

  /**
   * Stored data failed its CRC on read (bit rot): it is never served. The controller takes this
   * replica out of the ISR and leadership; once it follows, it rebuilds its log from the new leader.
   */
  private onCorruption(why: string): void {
    if (this.damagedValue) return;
    this.damagedValue = true;
    this.deps.logger('%s: stored data is corrupt (%s); leaving the ISR to rebuild from the leader', this.where, why);
    this.reportDamage();
  }

  /** Whether a read found corrupt stored data that is not yet rebuilt. */
  get damaged(): boolean {
    return this.damagedValue;
  }

  private reportDamage(): void {
    if (this.reporting || this.deps.replicaFailed === undefined) return;
    this.reporting = true;
    void this.deps
      .replicaFailed()
      .catch(() => undefined)
      .finally(() => {
        this.reporting = false;
      });
  }

  /**
   * Reads the whole log, checking every CRC (a scrub: bit rot in data nobody reads is otherwise found
   * only when it is next served). Corruption is reported as on any read. Returns whether it was clean.
   */
  scrub(chunkBytes = 1 << 20): Promise<boolean> {
    return this.exclusive(async () => {
      const log = this.deps.log;
      let offset = log.logStartOffset;
      while (offset < log.logEndOffset) {
        const bytes = await log.read(offset, { maxBytes: chunkBytes, maxOffset: log.logEndOffset, fromFile: true });
        if ('error' in bytes) {
          if (bytes.error === 'KAFKA_STORAGE_ERROR') this.onCorruption(bytes.message);
          return false;
        }
        let next = offset;
        for (const { header } of iterateBatches(bytes)) next = header.lastOffset + 1;
        if (next <= offset) {
          this.onCorruption(`nothing readable at offset ${offset} below the log end ${log.logEndOffset}`);
          return false;
        }
        offset = next;
      }
      return true;
    });
  }

  /**
   * A damaged follower drops its log and fetches it again — but only once the metadata shows it out
   * of the ISR: an ISR member with an empty log could be elected leader. Until then it reports again.
   */
  private async repairWhenOutOfIsr(): Promise<void> {
    if (this.stateValue.isr.includes(this.deps.brokerId)) {
      this.reportDamage();
      return;
    }
    const log = this.deps.log;
    const start = log.logStartOffset;
    this.deps.logger('%s: rebuilding the damaged log from offset %d', this.where, start);
    if (log.truncateFullyAndStartAt !== undefined) await log.truncateFullyAndStartAt(start);
    else await log.truncateTo(start);
    this.deps.producers.clear();
    this.damagedValue = false;
  }

  // ---- Follower ------------------------------------------------------------------------------------

  /** The fetch a follower sends next, or undefined when it has no leader to fetch from. */
  nextFetch(maxBytes: number, maxWaitMs: number): { leader: number; request: FetchRequest } | undefined {
    // A damaged replica fetches again only once rebuilt: its fetches would tell the leader it is
    // caught up and bring it back into the ISR just as it empties its log.
    if (this.roleValue !== 'follower' || this.stateValue.leader === NO_LEADER || this.stopped || this.damagedValue) return undefined;
    const log = this.deps.log;
    const fetchOffset = this.config.flush === 'always' ? log.flushedOffset : log.logEndOffset;
    return {
      leader: this.stateValue.leader,
      request: {
        replicaId: this.deps.brokerId,
        brokerEpoch: this.deps.brokerEpoch(),
        sequence: ++this.fetchSequence,
        fetchOffset,
        lastFetchedEpoch: log.latestEpoch ?? -1,
        currentLeaderEpoch: this.stateValue.leaderEpoch,
        maxBytes,
        minBytes: 1,
        maxWaitMs,
      },
    };
  }

  /** Handles the leader's answer to `nextFetch()`'s request. Returns an error to back off on, if any. */
  handleFetchResponse(request: FetchRequest, response: FetchResponse): Promise<PartitionErrorResult | undefined> {
    return this.exclusive(async () => {
      if (this.roleValue !== 'follower' || request.currentLeaderEpoch !== this.stateValue.leaderEpoch) return undefined;
      if ('error' in response) return response;
      const log = this.deps.log;
      const expected = this.config.flush === 'always' ? log.flushedOffset : log.logEndOffset;
      if (request.fetchOffset !== expected && request.fetchOffset !== log.logEndOffset) return undefined; // stale answer
      if ('divergingEpoch' in response) {
        await this.truncateForDivergence(response.divergingEpoch);
        return undefined;
      }
      if (response.records.length > 0) {
        const appended = await log.appendAsFollower(response.records, this.deps.clock.nowMs());
        if ('error' in appended) return appended;
        for (const info of appended) this.deps.producers.record(info, info.baseOffset, info.lastOffset);
        if (this.config.flush === 'always') await log.flush();
      }
      const hw = Math.min(response.highWatermark, this.config.flush === 'always' ? log.flushedOffset : log.logEndOffset);
      if (hw > log.highWatermark) log.highWatermark = hw;
      return undefined;
    });
  }

  /**
   * KIP-320 / KIP-279: the leader says our log diverged after `diverging.endOffset` of
   * `diverging.epoch`. Truncate to where our own log and that epoch agree; the next fetch checks
   * again, so several rounds resolve any number of epochs the leader never knew.
   */
  private async truncateForDivergence(diverging: { epoch: number; endOffset: number }): Promise<void> {
    const log = this.deps.log;
    const ours = log.endOffsetForEpoch(diverging.epoch);
    const to = Math.min(ours.epoch === diverging.epoch ? Math.min(ours.endOffset, diverging.endOffset) : ours.endOffset, log.logEndOffset);
    if (to === log.logEndOffset) {
      // No batch to drop, only epochs begun here without data (we led once and appended nothing).
      await log.truncateTo(to);
      return;
    }
    if (!this.config.uncleanLeaderElection) {
      assert(to >= log.highWatermark, `${this.where}: truncation to ${to} below the high watermark ${log.highWatermark}`);
    }
    this.deps.logger('%s: diverged from the leader after epoch %d offset %d; truncating %d -> %d', this.where, diverging.epoch, diverging.endOffset, log.logEndOffset, to);
    await log.truncateTo(to);
    this.deps.producers.truncateTo(to);
    if (log.highWatermark > to) log.highWatermark = to;
  }
}

function sameMembers(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}
