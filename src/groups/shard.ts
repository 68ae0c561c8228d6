/**
 * The coordinator of the groups of one `__consumer_offsets` partition that this broker leads, for one
 * leader epoch: it loads the partition, then serves its groups' requests, runs their members' session
 * and rebalance timers, and appends every change to the partition.
 *
 * Life: `loading` → `active` → `unloaded` (leadership lost or the broker stops), or `active` → `failed`
 * when an append fails (the coordinator then loads the partition again with a new shard: the log, not
 * memory, is the truth). Only `active` serves; `loading` answers COORDINATOR_LOAD_IN_PROGRESS, the rest
 * NOT_COORDINATOR.
 *
 * Invariants:
 * - Load reads the partition to the log end it had when the first read was served (the start of this
 *   leader epoch: nothing of ours is appended before activation), and only below the high watermark,
 *   so the state served is exactly the committed log.
 * - Every change is made in memory and appended in the same synchronous step, so the log order is the
 *   order of changes. An answer is sent only once its own append — or, for a request that changed
 *   nothing, the last append before it (`tail`) — is durable: no client ever sees state that a
 *   coordinator failure could take back.
 * - Sessions are soft state: after a load every member's session timer starts afresh.
 * - Time only through the Clock; wall-clock time (commit timestamps) only through `wallClockMs`.
 */
import type { CancelTimer, Clock } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import type { GroupConfig } from './config.js';
import { groupError, type GroupErrorResult } from './errors.js';
import { ConsumerGroup, type GroupContext, type HeartbeatAnswer, type TopicMetadataPort } from './group.js';
import type { AppendResult, OffsetsLogPort, ReadRecord } from './log-port.js';
import { decodeRecord, encodeGroup, encodeOffset, type LogRecord } from './records.js';
import type {
  ConsumerGroupHeartbeatRequest,
  DeleteGroupsResponse,
  DescribedGroup,
  FetchedOffset,
  ListedGroup,
  OffsetCommitRequest,
  OffsetCommitResponse,
  OffsetFetchRequest,
  OffsetFetchResponse,
  PartitionResult,
} from './rpc.js';

export type ShardStatus = 'loading' | 'active' | 'failed' | 'unloaded';

export interface ShardDeps {
  readonly partition: number;
  readonly leaderEpoch: number;
  readonly log: OffsetsLogPort;
  readonly topics: TopicMetadataPort;
  readonly clock: Clock;
  readonly wallClockMs: () => number;
  readonly config: GroupConfig;
  readonly logger: Logger;
  /** The shard failed (an append failed): it serves nothing more. */
  readonly onFailed: (shard: GroupShard) => void;
}

interface MemberTimers {
  session: CancelTimer | undefined;
  revocation: CancelTimer | undefined;
}

const OK: AppendResult = { ok: true };
const utf8 = new TextEncoder();

/** What a failed append means for the client. */
function appendFailure(r: Extract<AppendResult, { ok: false }>): GroupErrorResult {
  if (r.error === 'NOT_LEADER_OR_FOLLOWER') return groupError('NOT_COORDINATOR', r.message);
  if (r.error === 'REQUEST_TIMED_OUT') return groupError('REQUEST_TIMED_OUT', r.message);
  return groupError('COORDINATOR_NOT_AVAILABLE', `${r.error}: ${r.message}`);
}

export class GroupShard {
  private statusValue: ShardStatus = 'loading';
  private readonly groups = new Map<string, ConsumerGroup>();
  private readonly timers = new Map<string, MemberTimers>();
  /** The last append issued: durable state is everything up to it once it resolves ok. */
  private tail: Promise<AppendResult> = Promise.resolve(OK);
  private inFlight = 0;
  private settledWaiters: Array<() => void> = [];
  private cancelSleep: (() => void) | undefined;
  private readonly ctx: GroupContext;
  /** Records skipped on load because this version cannot read them. */
  skippedRecords = 0;

  constructor(private readonly deps: ShardDeps) {
    this.ctx = { topics: deps.topics, config: deps.config };
  }

  get partition(): number {
    return this.deps.partition;
  }
  get leaderEpoch(): number {
    return this.deps.leaderEpoch;
  }
  get status(): ShardStatus {
    return this.statusValue;
  }

  /** The groups of this partition (for tests and checkers; do not mutate). */
  groupStates(): readonly ConsumerGroup[] {
    return [...this.groups.values()];
  }

  // ---- Load and unload ----------------------------------------------------------------------------

  /** Reads the partition to the end of the previous leader's log, then serves. Never rejects. */
  async load(): Promise<void> {
    const { partition, leaderEpoch, config } = this.deps;
    let offset = 0;
    let target: number | undefined;
    // The first read only learns the target; later ones long-poll while waiting for the HW.
    let waitMs = 0;
    while (this.statusValue === 'loading') {
      let r;
      try {
        r = await this.deps.log.read(partition, offset, leaderEpoch, waitMs);
      } catch (e) {
        r = { error: 'READ_FAILED', message: e instanceof Error ? e.message : String(e) };
      }
      if (this.statusValue !== 'loading') return;
      if ('error' in r) {
        // Typically the replica has not yet become leader in this epoch: wait for it.
        await this.sleep(config.loadRetryBackoffMs);
        continue;
      }
      target ??= r.logEndOffset;
      for (const rec of r.records) this.replay(rec);
      const progressed = r.nextOffset > offset;
      offset = Math.max(offset, r.nextOffset);
      if (offset >= target) break;
      waitMs = offset >= r.highWatermark ? config.loadReadWaitMs : 0;
      if (!progressed) await this.sleep(config.loadRetryBackoffMs);
    }
    if (this.statusValue !== 'loading') return;
    this.activate(offset);
  }

  private activate(loadedTo: number): void {
    this.statusValue = 'active';
    this.deps.logger('offsets partition %d (epoch %d): loaded %d groups to offset %d', this.deps.partition, this.deps.leaderEpoch, this.groups.size, loadedTo);
    const changed: ConsumerGroup[] = [];
    for (const g of this.groups.values()) {
      // Topics may have changed while no one coordinated the group.
      if (g.refreshTopics(this.ctx)) changed.push(g);
      this.syncTimers(g);
    }
    if (changed.length > 0) void this.persist(changed);
  }

  private replay(rec: ReadRecord): void {
    const r = decodeRecord(rec.key, rec.value);
    if (r === undefined) {
      this.skippedRecords++;
      this.deps.logger('offsets partition %d: skipped an unreadable record at offset %d', this.deps.partition, rec.offset);
      return;
    }
    let g = this.groups.get(r.groupId);
    if (g === undefined) {
      if (r.value === null) return;
      g = new ConsumerGroup(r.groupId);
      this.groups.set(r.groupId, g);
    }
    if (r.type === 'group') g.applyRecord(r.value);
    else if (r.value === null) g.offsets.delete(r.topic, r.partition);
    else g.offsets.set(r.topic, r.partition, r.value);
    if (g.isEmptyAndUnused) this.groups.delete(r.groupId);
  }

  /** Leadership lost (or the broker stops): serve nothing, cancel every timer. */
  unload(): void {
    if (this.statusValue === 'unloaded') return;
    this.statusValue = 'unloaded';
    this.stopWork();
  }

  private stopWork(): void {
    for (const t of this.timers.values()) {
      t.session?.();
      t.revocation?.();
    }
    this.timers.clear();
    this.cancelSleep?.();
  }

  /** Resolves once no append of this shard is in flight (they have reached the log, or failed). */
  settled(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.settledWaiters.push(resolve));
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const cancel = this.deps.clock.setTimer(ms, () => {
        this.cancelSleep = undefined;
        resolve();
      });
      this.cancelSleep = () => {
        cancel();
        this.cancelSleep = undefined;
        resolve();
      };
    });
  }

  // ---- Appends ------------------------------------------------------------------------------------

  private append(records: readonly LogRecord[]): Promise<AppendResult> {
    this.inFlight++;
    let issued: Promise<AppendResult>;
    try {
      issued = this.deps.log.append(this.deps.partition, records);
    } catch (e) {
      issued = Promise.reject(e);
    }
    const done = issued
      .catch((e: unknown): AppendResult => ({ ok: false, error: 'APPEND_FAILED', message: e instanceof Error ? e.message : String(e) }))
      .then((r) => {
        this.inFlight--;
        if (!r.ok) this.fail(r);
        if (this.inFlight === 0) for (const w of this.settledWaiters.splice(0)) w();
        return r;
      });
    this.tail = done;
    return done;
  }

  private fail(r: Extract<AppendResult, { ok: false }>): void {
    if (this.statusValue !== 'active') return;
    this.statusValue = 'failed';
    this.deps.logger('offsets partition %d (epoch %d): append failed (%s: %s); reloading', this.deps.partition, this.deps.leaderEpoch, r.error, r.message);
    this.stopWork();
    this.deps.onFailed(this);
  }

  /** Appends the records of every dirty group (and `extra`), or waits for the tail; resolves with the failure, if any. Never rejects. */
  private async persist(groups: readonly ConsumerGroup[], extra: readonly LogRecord[] = []): Promise<GroupErrorResult | undefined> {
    const records = [...extra];
    for (const g of groups) {
      if (!g.dirty) continue;
      g.dirty = false;
      records.push(encodeGroup(g.groupId, g.isEmptyAndUnused ? null : g.toRecord()));
      if (g.isEmptyAndUnused) this.groups.delete(g.groupId);
    }
    return this.durable(records.length > 0 ? this.append(records) : this.tail);
  }

  /** Waits for an append (or the tail) and says whether everything up to it is durable. */
  private async durable(append: Promise<AppendResult>): Promise<GroupErrorResult | undefined> {
    const r = await append;
    if (!r.ok) return appendFailure(r);
    return undefined;
  }

  private notReady(): GroupErrorResult | undefined {
    switch (this.statusValue) {
      case 'active':
        return undefined;
      case 'loading':
        return groupError('COORDINATOR_LOAD_IN_PROGRESS', `offsets partition ${this.deps.partition} is loading`);
      default:
        return groupError('NOT_COORDINATOR', `offsets partition ${this.deps.partition} is not coordinated here now`);
    }
  }

  // ---- Timers -------------------------------------------------------------------------------------

  private timerKey(groupId: string, memberId: string): string {
    return `${groupId}\u0000${memberId}`;
  }

  /** Restarts a member's session timer (it was heard from). */
  private touchSession(g: ConsumerGroup, memberId: string): void {
    const m = g.member(memberId);
    if (m === undefined) return;
    const key = this.timerKey(g.groupId, memberId);
    const t: MemberTimers = this.timers.get(key) ?? { session: undefined, revocation: undefined };
    this.timers.set(key, t);
    t.session?.();
    t.session = this.deps.clock.setTimer(m.sessionTimeoutMs, () => {
      t.session = undefined;
      this.onTimeout(g.groupId, memberId, 'session');
    });
  }

  /** Timers follow the members: none for a gone member, a session timer for each, a rebalance timer while revoking. */
  private syncTimers(g: ConsumerGroup): void {
    const prefix = `${g.groupId}\u0000`;
    for (const [key, t] of this.timers) {
      if (!key.startsWith(prefix) || g.member(key.slice(prefix.length)) !== undefined) continue;
      t.session?.();
      t.revocation?.();
      this.timers.delete(key);
    }
    for (const m of g.members()) {
      const key = this.timerKey(g.groupId, m.memberId);
      if (this.timers.get(key)?.session === undefined) this.touchSession(g, m.memberId);
      const t = this.timers.get(key);
      if (t === undefined) continue;
      if (m.state === 'unrevoked' && t.revocation === undefined) {
        t.revocation = this.deps.clock.setTimer(m.rebalanceTimeoutMs, () => {
          t.revocation = undefined;
          this.onTimeout(g.groupId, m.memberId, 'revocation');
        });
      } else if (m.state !== 'unrevoked' && t.revocation !== undefined) {
        t.revocation();
        t.revocation = undefined;
      }
    }
  }

  private onTimeout(groupId: string, memberId: string, kind: 'session' | 'revocation'): void {
    if (this.statusValue !== 'active') return;
    const g = this.groups.get(groupId);
    if (g === undefined) return;
    const removed = kind === 'session' ? g.expire(memberId, this.ctx) : g.expireRevocation(memberId, this.ctx);
    if (!removed) return;
    this.deps.logger('group %s: member %s removed (%s timeout), group epoch %d', groupId, memberId, kind, g.groupEpoch);
    this.syncTimers(g);
    // Nobody waits for this answer; a failed append fails the shard, which reloads.
    void this.persist([g]);
  }

  // ---- Requests -----------------------------------------------------------------------------------

  async heartbeat(req: ConsumerGroupHeartbeatRequest): Promise<HeartbeatAnswer | GroupErrorResult> {
    const notReady = this.notReady();
    if (notReady !== undefined) return notReady;
    let g = this.groups.get(req.groupId);
    const created = g === undefined;
    if (g === undefined) {
      if (req.memberEpoch === -1) return { memberId: req.memberId, memberEpoch: -1, heartbeatIntervalMs: 0 };
      if (req.memberEpoch !== 0) return groupError('UNKNOWN_MEMBER_ID', `group ${req.groupId} has no members`);
      g = new ConsumerGroup(req.groupId);
      this.groups.set(req.groupId, g);
    }
    const answer = g.heartbeat(req, this.ctx);
    if ('error' in answer) {
      if (created) this.groups.delete(req.groupId);
      return answer;
    }
    if (answer.memberEpoch >= 0 || answer.memberEpoch === -2) this.touchSession(g, req.memberId);
    this.syncTimers(g);
    const failure = await this.persist([g]);
    return failure ?? answer;
  }

  async commitOffsets(req: OffsetCommitRequest): Promise<OffsetCommitResponse> {
    const notReady = this.notReady();
    if (notReady !== undefined) return notReady;
    const existing = this.groups.get(req.groupId);
    const g = existing ?? new ConsumerGroup(req.groupId);
    const refused = g.validateCommit(req.memberId, req.memberEpoch);
    if (refused !== undefined) return refused;
    const cfg = this.deps.config;
    const now = this.deps.wallClockMs();
    const results: PartitionResult[] = [];
    const records: LogRecord[] = [];
    for (const o of req.offsets) {
      const fail = (code: 'UNKNOWN_TOPIC_OR_PARTITION' | 'OFFSET_METADATA_TOO_LARGE' | 'INVALID_REQUEST', detail: string): void => {
        const e = groupError(code, detail);
        results.push({ topic: o.topic, partition: o.partition, error: e.error, message: e.message });
      };
      const count = this.deps.topics.partitionCount(o.topic);
      if (count === undefined || o.partition < 0 || o.partition >= count) {
        fail('UNKNOWN_TOPIC_OR_PARTITION', `${o.topic}-${o.partition}`);
        continue;
      }
      if (utf8.encode(o.metadata).length > cfg.offsetMetadataBytesMax) {
        fail('OFFSET_METADATA_TOO_LARGE', `at most ${cfg.offsetMetadataBytesMax} bytes`);
        continue;
      }
      if (!Number.isSafeInteger(o.offset) || o.offset < 0) {
        fail('INVALID_REQUEST', `offset ${o.offset} is negative`);
        continue;
      }
      const committed = { offset: o.offset, leaderEpoch: o.leaderEpoch, metadata: o.metadata, commitTimestampMs: now };
      g.offsets.set(o.topic, o.partition, committed);
      records.push(encodeOffset(req.groupId, o.topic, o.partition, committed));
      results.push({ topic: o.topic, partition: o.partition });
    }
    if (existing === undefined && records.length > 0) this.groups.set(req.groupId, g);
    const failure = await this.durable(records.length > 0 ? this.append(records) : this.tail);
    return failure ?? { results };
  }

  async fetchOffsets(req: OffsetFetchRequest): Promise<OffsetFetchResponse> {
    const notReady = this.notReady();
    if (notReady !== undefined) return notReady;
    const g = this.groups.get(req.groupId);
    const none = (topic: string, partition: number): FetchedOffset => ({ topic, partition, offset: -1, leaderEpoch: -1, metadata: '' });
    const found = (topic: string, partition: number): FetchedOffset => {
      const c = g?.offsets.get(topic, partition);
      return c === undefined ? none(topic, partition) : { topic, partition, offset: c.offset, leaderEpoch: c.leaderEpoch, metadata: c.metadata };
    };
    const all = g?.offsets.all() ?? [];
    let offsets: FetchedOffset[];
    if (req.topics === undefined) offsets = all.map((c) => found(c.topic, c.partition));
    else {
      offsets = [];
      for (const t of req.topics) {
        if (t.partitions === undefined) for (const c of all) if (c.topic === t.topic) offsets.push(found(c.topic, c.partition));
        if (t.partitions !== undefined) for (const p of t.partitions) offsets.push(found(t.topic, p));
      }
    }
    // Answer only what is durable: what we read above is covered by the tail as of now.
    const failure = await this.durable(this.tail);
    return failure ?? { offsets };
  }

  async listGroups(): Promise<ListedGroup[]> {
    if (this.statusValue !== 'active') return [];
    const listed = [...this.groups.values()].map((g) => ({ groupId: g.groupId, state: g.state(), members: g.memberCount }));
    return (await this.durable(this.tail)) === undefined ? listed : [];
  }

  async describeGroups(groupIds: readonly string[]): Promise<DescribedGroup[]> {
    const notReady = this.notReady();
    if (notReady !== undefined) return groupIds.map((groupId) => ({ groupId, ...notReady }));
    const described = groupIds.map((groupId): DescribedGroup => {
      const g = this.groups.get(groupId);
      return g === undefined ? { groupId, ...groupError('GROUP_ID_NOT_FOUND', `no group ${groupId}`) } : g.describe();
    });
    const failure = await this.durable(this.tail);
    return failure === undefined ? described : groupIds.map((groupId) => ({ groupId, ...failure }));
  }

  async deleteGroups(groupIds: readonly string[]): Promise<DeleteGroupsResponse['results']> {
    const notReady = this.notReady();
    if (notReady !== undefined) return groupIds.map((groupId) => ({ groupId, ...notReady }));
    const results: Array<DeleteGroupsResponse['results'][number]> = [];
    const records: LogRecord[] = [];
    const deleted: string[] = [];
    for (const groupId of groupIds) {
      const g = this.groups.get(groupId);
      if (g === undefined) {
        results.push({ groupId, ...groupError('GROUP_ID_NOT_FOUND', `no group ${groupId}`) });
        continue;
      }
      if (g.memberCount > 0) {
        results.push({ groupId, ...groupError('NON_EMPTY_GROUP', `group ${groupId} has ${g.memberCount} members`) });
        continue;
      }
      records.push(encodeGroup(groupId, null));
      for (const c of g.offsets.all()) records.push(encodeOffset(groupId, c.topic, c.partition, null));
      this.groups.delete(groupId);
      this.syncTimers(g);
      deleted.push(groupId);
      results.push({ groupId });
    }
    const failure = await this.durable(records.length > 0 ? this.append(records) : this.tail);
    if (failure === undefined) return results;
    return results.map((r) => (deleted.includes(r.groupId) ? { groupId: r.groupId, ...failure } : r));
  }

  /** Topics were created, deleted or gained partitions: groups subscribed to them get new targets. */
  onTopicsChanged(): void {
    if (this.statusValue !== 'active') return;
    const changed = [...this.groups.values()].filter((g) => g.refreshTopics(this.ctx));
    for (const g of changed) this.syncTimers(g);
    if (changed.length > 0) void this.persist(changed);
  }
}
