/**
 * The quorum controller (KIP-631): the only writer of metadata. It runs on every controller node and
 * is *active* only on the Raft leader, once that node has applied every entry up to its own
 * leader-change entry — from then on its working image is the committed image plus its own proposals
 * in flight, in log order.
 *
 * Each request is validated against the working image and turned into one batch of records, applied
 * to the working image and proposed in the same synchronous step, so concurrent requests see each
 * other's effects and the log order equals the working order. The request is answered once the batch
 * commits. Invalid requests get a specific error and write nothing. If a proposal fails (leadership
 * lost, quorum overloaded) the controller deactivates: its working image may hold records the log
 * will never have, so it is rebuilt from the committed image before it serves again.
 *
 * Time comes from the injected Clock (session timeouts, the leader-imbalance check); randomness
 * (topic ids, placement) from the injected Random. Heartbeats are not records: the last heartbeat of
 * each broker lives in memory and restarts at "now" when a controller activates.
 *
 * Failure detection: a broker is fenced when no heartbeat came for `sessionTimeoutMs`, or — much
 * sooner — when the optional `brokerConnected` port has said for `disconnectedSessionTimeoutMs` that
 * the node has no open connection with it and no heartbeat came since. A crashed process's sockets
 * close at once, so a crash is detected in about a second; a paused or partitioned broker keeps its
 * connections and is fenced by the session timeout. Fencing early is always safe (the broker just
 * loses its leaderships and ISR places until it heartbeats again); it only costs availability.
 *
 * Leader election rules: a new leader comes from the ISR, never from outside it unless the topic sets
 * `unclean.leader.election.enable=true`; with no eligible replica the partition goes offline
 * (leader -1) and keeps its last ISR member, so that no acknowledged data is given up.
 */
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import type { Random } from '../util/random.js';
import type { Committed } from '../raft/raft-node.js';
import { errorResult, type ErrorResult } from './errors.js';
import type { MetadataImage, PartitionState, TopicImage } from './image.js';
import { placeReplicas } from './placement.js';
import { ConfigResource, encodeBatch, NO_LEADER, type MetadataRecord } from './records.js';
import type * as rpc from './rpc.js';
import { effectiveConfig, TOPIC_CONFIGS, uncleanLeaderElection, validateTopicConfigs, validateTopicName } from './topic-config.js';

/** What the controller needs of the Raft node it runs on. */
export interface QuorumPort {
  propose(data: Uint8Array): Promise<Committed>;
  /** Whether the node leads the quorum now, and its last log index. */
  leadership(): { readonly isLeader: boolean; readonly lastIndex: number };
  /** The committed (applied) metadata image. */
  committed(): MetadataImage;
}

export interface ControllerOptions {
  readonly nodeId: number;
  readonly quorum: QuorumPort;
  readonly clock: Clock;
  readonly random: Random;
  readonly logger: Logger;
  /** A broker that has not sent a heartbeat for this long is fenced. Default 9000 ms (Kafka's). */
  readonly sessionTimeoutMs?: number;
  /**
   * Whether this node has an open connection with the broker now (the node's own broker: always).
   * Without it (the simulator) only the session timeout fences.
   */
  readonly brokerConnected?: (brokerId: number) => boolean;
  /** A broker without a connection and without a heartbeat for this long is fenced. Default 1000 ms. */
  readonly disconnectedSessionTimeoutMs?: number;
  /** How often leadership moves back to preferred replicas. Default 300,000 ms (Kafka's). */
  readonly leaderImbalanceCheckIntervalMs?: number;
  readonly defaultPartitions?: number;
  /** Default 3, lowered to the number of registered brokers when there are fewer. */
  readonly defaultReplicationFactor?: number;
  readonly producerIdBlockSize?: number;
}

interface BrokerSession {
  lastHeartbeatMs: number;
  /**
   * This controller has heard from the registered incarnation (a heartbeat or its registration) since
   * it became active. Until then a new incarnation may replace the registration at once: the old
   * process showed no sign of life to this controller (the usual case: the whole cluster restarted).
   */
  heardFrom: boolean;
  /** The broker may be unfenced once its applied metadata offset reaches this. */
  catchUpOffset: number;
  /** When `brokerConnected` was first seen false since the last heartbeat (undefined: connected). */
  disconnectedSinceMs: number | undefined;
}

interface Active {
  readonly working: MetadataImage;
  readonly sessions: Map<number, BrokerSession>;
  lastImbalanceCheckMs: number;
}

type Decision<T> = { readonly records: readonly MetadataRecord[]; readonly result: T };

export class QuorumController {
  private active: Active | undefined;
  /** Set while leader but not yet caught up: activate once the applied image reaches this offset. */
  private activationOffset: number | undefined;
  private readonly sessionTimeoutMs: number;
  private readonly imbalanceIntervalMs: number;

  constructor(private readonly options: ControllerOptions) {
    this.sessionTimeoutMs = options.sessionTimeoutMs ?? 9000;
    this.imbalanceIntervalMs = options.leaderImbalanceCheckIntervalMs ?? 300_000;
  }

  get isActive(): boolean {
    return this.active !== undefined;
  }

  /** The Raft node became leader; `lastIndex` is its leader-change entry's index. */
  becameLeader(lastIndex: number, committed: MetadataImage): void {
    this.active = undefined;
    this.activationOffset = lastIndex;
    this.maybeActivate(committed);
  }

  /** The Raft node is no longer leader. */
  resigned(): void {
    if (this.active !== undefined) this.options.logger('n%d controller deactivated', this.options.nodeId);
    this.active = undefined;
    this.activationOffset = undefined;
  }

  /** Called after every applied batch with the committed image. */
  maybeActivate(committed: MetadataImage): void {
    if (this.activationOffset === undefined || committed.offset < this.activationOffset) return;
    this.activationOffset = undefined;
    const now = this.options.clock.nowMs();
    const sessions = new Map<number, BrokerSession>();
    for (const b of committed.brokers()) sessions.set(b.id, { lastHeartbeatMs: now, heardFrom: false, catchUpOffset: committed.offset, disconnectedSinceMs: undefined });
    this.active = { working: committed.clone(), sessions, lastImbalanceCheckMs: now };
    this.options.logger('n%d controller active at offset %d', this.options.nodeId, committed.offset);
  }

  /** Answers one request. Never throws for bad input: errors are results. */
  async handle<K extends rpc.ControllerRequest['kind']>(request: Extract<rpc.ControllerRequest, { kind: K }>): Promise<rpc.ControllerResponse<K>> {
    return (await this.dispatch(request)) as rpc.ControllerResponse<K>;
  }

  private dispatch(request: rpc.ControllerRequest): Promise<unknown> | unknown {
    switch (request.kind) {
      case 'register-broker':
        return this.write((img) => this.registerBroker(img, request), (result, committed) => {
          if (!('error' in result)) this.session(request.brokerId).catchUpOffset = committed.index;
        });
      case 'broker-heartbeat':
        return this.heartbeat(request);
      case 'alter-partition':
        return this.write((img) => this.alterPartition(img, request));
      case 'create-topics':
        return this.write((img) => this.createTopics(img, request));
      case 'delete-topics':
        return this.write((img) => this.deleteTopics(img, request));
      case 'create-partitions':
        return this.write((img) => this.createPartitions(img, request));
      case 'describe-configs':
        // Reads show committed state only, never a proposal that may yet vanish.
        return this.active === undefined ? errorResult('NOT_CONTROLLER') : this.describeConfigs(this.options.quorum.committed(), request);
      case 'alter-configs':
        return this.write((img) => this.alterConfigs(img, request));
      case 'allocate-producer-ids':
        return this.write((img) => this.allocateProducerIds(img, request));
      case 'replica-failed':
        return this.write((img) => this.replicaFailed(img, request));
    }
  }

  /** Periodic work: fence brokers whose session expired; move leadership back to preferred replicas. */
  tick(): void {
    if (this.active === undefined && this.activationOffset !== undefined) this.maybeActivate(this.options.quorum.committed());
    const a = this.active;
    if (a === undefined) return;
    const now = this.options.clock.nowMs();
    for (const b of a.working.brokers()) {
      if (b.fenced) continue;
      const s = this.session(b.id);
      const why = this.sessionExpiry(s, b.id, now);
      if (why !== undefined) {
        this.options.logger('n%d fencing broker %d: %s', this.options.nodeId, b.id, why);
        // Back only once it has applied the metadata log up to its own fencing (and all before it).
        s.catchUpOffset = Number.MAX_SAFE_INTEGER;
        void this.write(
          (img) => ({ records: this.fenceRecords(img, b.id), result: undefined }),
          (_result, committed) => {
            s.catchUpOffset = committed.index;
          },
        );
      }
    }
    if (now - a.lastImbalanceCheckMs >= this.imbalanceIntervalMs) {
      a.lastImbalanceCheckMs = now;
      void this.write((img) => ({ records: this.preferredLeaderRecords(img), result: undefined }));
    }
  }

  /** Why the broker's session is over, or undefined while it lives. */
  private sessionExpiry(s: BrokerSession, brokerId: number, now: number): string | undefined {
    const silentMs = now - s.lastHeartbeatMs;
    if (silentMs > this.sessionTimeoutMs) return `no heartbeat for ${Math.round(silentMs)} ms`;
    const connected = this.options.brokerConnected;
    if (connected === undefined) return undefined;
    if (connected(brokerId)) {
      s.disconnectedSinceMs = undefined;
      return undefined;
    }
    // Counted from the first tick that sees no connection: a new controller's first tick gives every
    // broker this long to find it (voters and metadata observers connect to the Raft leader anyway).
    s.disconnectedSinceMs ??= now;
    const goneMs = now - s.disconnectedSinceMs;
    return goneMs > (this.options.disconnectedSessionTimeoutMs ?? 1000) ? `no connection for ${Math.round(goneMs)} ms and no heartbeat since` : undefined;
  }

  // ---- The write path -----------------------------------------------------------------------------

  /**
   * Decides against the working image, applies the records there, proposes them — all synchronously —
   * then waits for the commit. `afterCommit` runs once the batch committed.
   */
  private async write<T extends object | undefined>(
    decide: (working: MetadataImage) => Decision<T>,
    afterCommit?: (result: T, committed: Committed) => void,
  ): Promise<T | ErrorResult> {
    const a = this.active;
    if (a === undefined) return errorResult('NOT_CONTROLLER');
    const { records, result } = decide(a.working);
    if (records.length === 0) return result;
    // One decision is one Raft entry, so it commits (or vanishes) whole.
    for (const r of records) a.working.apply(r);
    const proposal = this.options.quorum.propose(encodeBatch(records));
    try {
      const committed = await proposal;
      afterCommit?.(result, committed);
      return result;
    } catch (error) {
      // The working image may now hold records the log never will: rebuild it from the committed
      // image — once everything proposed so far is applied — before serving again.
      if (this.active === a) {
        this.options.logger('n%d controller proposal failed (%s); resyncing', this.options.nodeId, error instanceof Error ? error.message : String(error));
        this.active = undefined;
        const now = this.options.quorum.leadership();
        this.activationOffset = now.isLeader ? now.lastIndex : undefined;
      }
      const code = error instanceof Error && 'code' in error && error.code === 'NOT_LEADER' ? 'NOT_CONTROLLER' : 'REQUEST_TIMED_OUT';
      return errorResult(code);
    }
  }

  private session(brokerId: number): BrokerSession {
    const a = this.active;
    let s = a?.sessions.get(brokerId);
    if (s === undefined) {
      s = { lastHeartbeatMs: this.options.clock.nowMs(), heardFrom: false, catchUpOffset: Number.MAX_SAFE_INTEGER, disconnectedSinceMs: undefined };
      a?.sessions.set(brokerId, s);
    }
    return s;
  }

  // ---- Brokers ------------------------------------------------------------------------------------

  private registerBroker(img: MetadataImage, req: rpc.RegisterBrokerRequest): Decision<rpc.RegisterBrokerResponse> {
    if (!Number.isSafeInteger(req.brokerId) || req.brokerId < 0 || req.incarnationId.length === 0) {
      return { records: [], result: errorResult('INVALID_REQUEST', `broker id ${req.brokerId}, incarnation '${req.incarnationId}'`) };
    }
    const existing = img.broker(req.brokerId);
    if (existing !== undefined && existing.incarnationId === req.incarnationId) {
      // A retry of the same start: answer only with an epoch the log has committed.
      const committed = this.options.quorum.committed().broker(req.brokerId);
      if (committed?.incarnationId === req.incarnationId && committed.epoch === existing.epoch) return { records: [], result: { brokerEpoch: existing.epoch } };
      return { records: [], result: errorResult('REQUEST_TIMED_OUT', `the registration of broker ${req.brokerId} is still being committed; retry`) };
    }
    const session = this.session(req.brokerId);
    if (existing !== undefined && !existing.fenced && session.heardFrom) {
      // KRaft's rule: a new incarnation gets an epoch only once the old one is fenced (its session
      // expired, or it shut down cleanly) — two live processes must never share a broker id.
      return { records: [], result: errorResult('DUPLICATE_BROKER_REGISTRATION', `broker ${req.brokerId} is still registered with epoch ${existing.epoch}`) };
    }
    // An unfenced registration this controller never heard from is fenced first, exactly as an
    // expired session would be (its leaderships and ISR places go), then replaced.
    const fenceOld = existing !== undefined && !existing.fenced ? this.fenceRecords(img, req.brokerId) : [];
    const brokerEpoch = img.nextBrokerEpoch;
    session.lastHeartbeatMs = this.options.clock.nowMs();
    session.heardFrom = true;
    session.disconnectedSinceMs = undefined;
    session.catchUpOffset = Number.MAX_SAFE_INTEGER; // set to the record's offset on commit
    return {
      records: [...fenceOld, { type: 'register-broker', brokerId: req.brokerId, incarnationId: req.incarnationId, brokerEpoch, endpoints: req.endpoints, rack: req.rack }],
      result: { brokerEpoch },
    };
  }

  private heartbeat(req: rpc.BrokerHeartbeatRequest): Promise<rpc.BrokerHeartbeatResponse | ErrorResult> | rpc.BrokerHeartbeatResponse | ErrorResult {
    const a = this.active;
    if (a === undefined) return errorResult('NOT_CONTROLLER');
    const b = a.working.broker(req.brokerId);
    if (b === undefined) return errorResult('BROKER_NOT_REGISTERED', `broker ${req.brokerId}`);
    if (b.epoch !== req.brokerEpoch) return errorResult('STALE_BROKER_EPOCH', `broker ${req.brokerId} has epoch ${b.epoch}, not ${req.brokerEpoch}`);
    const session = this.session(req.brokerId);
    session.lastHeartbeatMs = this.options.clock.nowMs();
    session.heardFrom = true;
    session.disconnectedSinceMs = undefined;
    const answer = (img: MetadataImage): rpc.BrokerHeartbeatResponse => {
      const now = img.broker(req.brokerId);
      const leads = now !== undefined && this.partitionsLedBy(img, req.brokerId).length > 0;
      return { fenced: now?.fenced ?? true, inControlledShutdown: now?.inControlledShutdown ?? false, shouldShutdown: req.wantShutdown && !leads && (now?.fenced ?? true) };
    };
    if (req.wantShutdown) {
      if (b.fenced && !b.inControlledShutdown) return answer(a.working);
      // Controlled shutdown: move leadership away and leave the ISRs, then fence.
      return this.write((img) => ({ records: this.controlledShutdownRecords(img, req.brokerId), result: undefined })).then((r) =>
        r !== undefined && 'error' in r ? r : this.active === undefined ? errorResult('NOT_CONTROLLER') : answer(this.active.working),
      );
    }
    if (b.fenced && !b.inControlledShutdown && req.metadataOffset >= session.catchUpOffset) {
      return this.write((img) => ({ records: this.unfenceRecords(img, req.brokerId), result: undefined })).then((r) =>
        r !== undefined && 'error' in r ? r : this.active === undefined ? errorResult('NOT_CONTROLLER') : answer(this.active.working),
      );
    }
    return answer(a.working);
  }

  private partitionsLedBy(img: MetadataImage, brokerId: number): PartitionState[] {
    const out: PartitionState[] = [];
    for (const t of img.topics()) for (const p of t.partitions.values()) if (p.leader === brokerId) out.push(p);
    return out;
  }

  /** A broker may lead or join an ISR when it is registered, unfenced and not shutting down. */
  private eligible(img: MetadataImage, brokerId: number): boolean {
    const b = img.broker(brokerId);
    return b !== undefined && !b.fenced && !b.inControlledShutdown;
  }

  /**
   * The next leader for `p` when `leaving` stops leading: the first eligible ISR member in replica
   * order; with none, an eligible replica outside the ISR only if the topic allows unclean election.
   */
  private electLeader(img: MetadataImage, p: PartitionState, leaving: number): { leader: number; isr?: number[] } {
    for (const r of p.replicas) if (r !== leaving && p.isr.includes(r) && this.eligible(img, r)) return { leader: r };
    const topic = img.topicById(p.topicId);
    const unclean = topic !== undefined && uncleanLeaderElection(effectiveConfig(img.topicConfig(topic.name), img.clusterConfig()));
    if (unclean) {
      for (const r of p.replicas) if (r !== leaving && this.eligible(img, r)) return { leader: r, isr: [r] };
    }
    return { leader: NO_LEADER };
  }

  /** Records that take `brokerId` out of leaderships and ISRs (keeping a last ISR member: offline beats data loss). */
  private leaveRecords(img: MetadataImage, brokerId: number): MetadataRecord[] {
    const out: MetadataRecord[] = [];
    for (const t of img.topics()) {
      for (const p of t.partitions.values()) {
        if (!p.isr.includes(brokerId)) continue;
        const isr = p.isr.length > 1 ? p.isr.filter((r) => r !== brokerId) : [...p.isr];
        if (p.leader === brokerId) {
          const next = this.electLeader(img, { ...p, isr }, brokerId);
          const newIsr = next.isr ?? isr;
          out.push({ type: 'partition-change', topicId: p.topicId, partition: p.partition, leader: next.leader, ...(sameSet(newIsr, p.isr) ? {} : { isr: newIsr }) });
        } else if (!sameSet(isr, p.isr)) {
          out.push({ type: 'partition-change', topicId: p.topicId, partition: p.partition, isr });
        }
      }
    }
    return out;
  }

  private fenceRecords(img: MetadataImage, brokerId: number): MetadataRecord[] {
    const b = img.broker(brokerId);
    if (b === undefined || b.fenced) return [];
    return [{ type: 'broker-registration-change', brokerId, brokerEpoch: b.epoch, fenced: true }, ...this.leaveRecords(img, brokerId)];
  }

  private controlledShutdownRecords(img: MetadataImage, brokerId: number): MetadataRecord[] {
    const b = img.broker(brokerId);
    if (b === undefined) return [];
    return [
      { type: 'broker-registration-change', brokerId, brokerEpoch: b.epoch, inControlledShutdown: true, fenced: true },
      ...this.leaveRecords(img, brokerId),
    ];
  }

  private unfenceRecords(img: MetadataImage, brokerId: number): MetadataRecord[] {
    const b = img.broker(brokerId);
    if (b === undefined || !b.fenced) return [];
    const out: MetadataRecord[] = [{ type: 'broker-registration-change', brokerId, brokerEpoch: b.epoch, fenced: false, inControlledShutdown: false }];
    // Offline partitions whose last ISR member is back get it as leader again; where the topic allows
    // unclean election, a returning replica outside the ISR leads too (Kafka does the same).
    for (const t of img.topics()) {
      const unclean = uncleanLeaderElection(effectiveConfig(img.topicConfig(t.name), img.clusterConfig()));
      for (const p of t.partitions.values()) {
        if (p.leader !== NO_LEADER || !p.replicas.includes(brokerId)) continue;
        if (p.isr.includes(brokerId)) {
          out.push({ type: 'partition-change', topicId: p.topicId, partition: p.partition, leader: brokerId });
        } else if (unclean) {
          out.push({ type: 'partition-change', topicId: p.topicId, partition: p.partition, leader: brokerId, isr: [brokerId] });
        }
      }
    }
    return out;
  }

  private preferredLeaderRecords(img: MetadataImage): MetadataRecord[] {
    const out: MetadataRecord[] = [];
    for (const t of img.topics()) {
      for (const p of t.partitions.values()) {
        const preferred = p.replicas[0] as number;
        if (p.leader !== preferred && p.isr.includes(preferred) && this.eligible(img, preferred)) {
          out.push({ type: 'partition-change', topicId: p.topicId, partition: p.partition, leader: preferred });
        }
      }
    }
    return out;
  }

  private alterPartition(img: MetadataImage, req: rpc.AlterPartitionRequest): Decision<rpc.AlterPartitionResponse> {
    const fail = (code: Parameters<typeof errorResult>[0], detail: string): Decision<rpc.AlterPartitionResponse> => ({ records: [], result: errorResult(code, detail) });
    const where = `${req.topicId}:${req.partition}`;
    const p = img.partition(req.topicId, req.partition);
    if (p === undefined) return fail('UNKNOWN_TOPIC_OR_PARTITION', where);
    const b = img.broker(req.brokerId);
    if (b === undefined || b.epoch !== req.brokerEpoch) return fail('STALE_BROKER_EPOCH', `broker ${req.brokerId} epoch ${req.brokerEpoch}`);
    if (p.leader !== req.brokerId) return fail('NOT_LEADER_OR_FOLLOWER', `${where} is led by ${p.leader}, not ${req.brokerId}`);
    if (req.leaderEpoch !== p.leaderEpoch) return fail('FENCED_LEADER_EPOCH', `${where} leader epoch is ${p.leaderEpoch}, not ${req.leaderEpoch}`);
    if (req.partitionEpoch !== p.partitionEpoch) return fail('INVALID_UPDATE_VERSION', `${where} partition epoch is ${p.partitionEpoch}, not ${req.partitionEpoch}`);
    const ids = req.newIsr.map((m) => m.brokerId);
    if (new Set(ids).size !== ids.length || !ids.includes(req.brokerId) || !ids.every((id) => p.replicas.includes(id))) {
      return fail('INVALID_REQUEST', `ISR ${ids.join(',')} must be distinct replicas of ${where} including the leader`);
    }
    for (const m of req.newIsr) {
      if (p.isr.includes(m.brokerId)) continue;
      // KIP-903: a joining replica must be live with the epoch its leader saw it fetch with; a broker
      // that restarted (and may have lost its unflushed tail) must catch up again first.
      const r = img.broker(m.brokerId);
      if (r === undefined || r.fenced || r.inControlledShutdown || r.epoch !== m.brokerEpoch) {
        return fail('INELIGIBLE_REPLICA', `broker ${m.brokerId} (epoch ${m.brokerEpoch}) cannot join the ISR of ${where}`);
      }
    }
    if (sameSet(ids, p.isr)) return { records: [], result: { partition: p } };
    const change: MetadataRecord = { type: 'partition-change', topicId: req.topicId, partition: req.partition, isr: ids };
    const after: PartitionState = { ...p, isr: ids, partitionEpoch: p.partitionEpoch + 1 };
    return { records: [change], result: { partition: after } };
  }

  private replicaFailed(img: MetadataImage, req: rpc.ReplicaFailedRequest): Decision<rpc.ReplicaFailedResponse> {
    const where = `${req.topicId}:${req.partition}`;
    const p = img.partition(req.topicId, req.partition);
    if (p === undefined) return { records: [], result: errorResult('UNKNOWN_TOPIC_OR_PARTITION', where) };
    const b = img.broker(req.brokerId);
    if (b === undefined || b.epoch !== req.brokerEpoch) return { records: [], result: errorResult('STALE_BROKER_EPOCH', `broker ${req.brokerId} epoch ${req.brokerEpoch}`) };
    if (!p.isr.includes(req.brokerId)) return { records: [], result: { partition: p } };
    // Like fencing, for one partition: out of the ISR (unless it is the last member), leadership to the next.
    const isr = p.isr.length > 1 ? p.isr.filter((r) => r !== req.brokerId) : [...p.isr];
    let leader = p.leader === req.brokerId ? this.electLeader(img, { ...p, isr }, req.brokerId) : undefined;
    // With no other ISR member to hand over to it keeps leading: the intact part of its log stays
    // readable, and the corrupt batches are never served.
    if (leader?.leader === NO_LEADER) leader = undefined;
    const newIsr = leader?.isr ?? isr;
    const change: MetadataRecord = {
      type: 'partition-change',
      topicId: p.topicId,
      partition: p.partition,
      ...(leader !== undefined ? { leader: leader.leader } : {}),
      ...(sameSet(newIsr, p.isr) ? {} : { isr: newIsr }),
    };
    if (change.leader === undefined && change.isr === undefined) return { records: [], result: { partition: p } };
    const leaderChanged = leader !== undefined && leader.leader !== p.leader;
    return {
      records: [change],
      result: { partition: { ...p, isr: newIsr, leader: leader?.leader ?? p.leader, leaderEpoch: p.leaderEpoch + (leaderChanged ? 1 : 0), partitionEpoch: p.partitionEpoch + 1 } },
    };
  }

  private allocateProducerIds(img: MetadataImage, req: rpc.AllocateProducerIdsRequest): Decision<rpc.AllocateProducerIdsResponse> {
    const b = img.broker(req.brokerId);
    if (b === undefined || b.epoch !== req.brokerEpoch || b.fenced) {
      return { records: [], result: errorResult('STALE_BROKER_EPOCH', `broker ${req.brokerId} epoch ${req.brokerEpoch}`) };
    }
    const count = this.options.producerIdBlockSize ?? 1000;
    const first = img.nextProducerId;
    return {
      records: [{ type: 'producer-ids', brokerId: req.brokerId, brokerEpoch: req.brokerEpoch, nextProducerId: first + count }],
      result: { firstProducerId: first, count },
    };
  }

  // ---- Topics -------------------------------------------------------------------------------------

  /** 128 random bits as 22 base64url characters (Kafka's topic id length), from the injected Random. */
  private topicId(): string {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    let id = '';
    for (let i = 0; i < 21; i++) id += alphabet[this.options.random.int(64)];
    return id + alphabet[this.options.random.int(4) * 16]; // the last character carries 2 bits
  }

  private createTopics(img: MetadataImage, req: rpc.CreateTopicsRequest): Decision<rpc.CreateTopicsResponse> {
    const records: MetadataRecord[] = [];
    const results: rpc.CreateTopicResult[] = [];
    const seen = new Set<string>();
    const available = img.brokers().filter((b) => !b.fenced && !b.inControlledShutdown);
    for (const t of req.topics) {
      const fail = (code: Parameters<typeof errorResult>[0], detail: string): void => {
        results.push({ name: t.name, ...errorResult(code, detail) });
      };
      const nameError = validateTopicName(t.name, { allowInternal: req.internal === true });
      if (nameError !== undefined) {
        fail('INVALID_TOPIC_NAME', nameError);
        continue;
      }
      if (img.topic(t.name) !== undefined || seen.has(t.name)) {
        fail('TOPIC_ALREADY_EXISTS', `topic '${t.name}' already exists`);
        continue;
      }
      const partitions = t.numPartitions === -1 ? (this.options.defaultPartitions ?? 1) : t.numPartitions;
      if (!Number.isSafeInteger(partitions) || partitions < 1 || partitions > 100_000) {
        fail('INVALID_PARTITIONS', `number of partitions must be between 1 and 100000, got ${t.numPartitions}`);
        continue;
      }
      const rf = t.replicationFactor === -1 ? Math.min(this.options.defaultReplicationFactor ?? 3, Math.max(1, available.length)) : t.replicationFactor;
      if (!Number.isSafeInteger(rf) || rf < 1) {
        fail('INVALID_REPLICATION_FACTOR', `replication factor must be at least 1, got ${t.replicationFactor}`);
        continue;
      }
      // What the request itself gets wrong comes before what the cluster cannot do right now.
      const configs = t.configs ?? {};
      const configError = validateTopicConfigs(configs, { replicationFactor: rf, clusterDefaults: img.clusterConfig() });
      if (configError !== undefined) {
        fail('INVALID_CONFIG', configError.message);
        continue;
      }
      if (rf > available.length) {
        fail('INVALID_REPLICATION_FACTOR', `replication factor ${rf} is larger than the ${available.length} available brokers`);
        continue;
      }
      const placement = placeReplicas({
        brokers: available.map((b) => (b.rack === '' ? { id: b.id } : { id: b.id, rack: b.rack })),
        partitions,
        replicationFactor: rf,
        random: this.options.random,
      });
      if (!placement.ok) {
        fail(placement.code === 'INVALID_PARTITIONS' ? 'INVALID_PARTITIONS' : 'INVALID_REPLICATION_FACTOR', placement.message);
        continue;
      }
      seen.add(t.name);
      // A dry run draws no id, so it does not change the ids of later topics.
      const topicId = req.validateOnly ? '' : this.topicId();
      const states = placement.assignments.map((replicas, partition) => newPartition(topicId, partition, replicas));
      results.push({ name: t.name, topicId, partitions: states });
      if (req.validateOnly) continue;
      records.push({ type: 'topic', name: t.name, topicId });
      for (const p of states) records.push({ type: 'partition', ...p });
      for (const [name, value] of Object.entries(configs).sort()) {
        records.push({ type: 'config', resourceType: ConfigResource.Topic, resourceName: t.name, name, value });
      }
    }
    return { records, result: { topics: results } };
  }

  private deleteTopics(img: MetadataImage, req: rpc.DeleteTopicsRequest): Decision<rpc.DeleteTopicsResponse> {
    const records: MetadataRecord[] = [];
    const topics: rpc.DeleteTopicsResponse['topics'][number][] = [];
    const seen = new Set<string>();
    for (const name of req.names) {
      const t = img.topic(name);
      if (t === undefined || seen.has(name)) {
        topics.push({ name, ...errorResult('UNKNOWN_TOPIC_OR_PARTITION', `topic '${name}' does not exist`) });
        continue;
      }
      seen.add(name);
      records.push({ type: 'remove-topic', topicId: t.id });
      topics.push({ name });
    }
    return { records, result: { topics } };
  }

  private createPartitions(img: MetadataImage, req: rpc.CreatePartitionsRequest): Decision<rpc.CreatePartitionsResponse> {
    const records: MetadataRecord[] = [];
    const topics: rpc.CreatePartitionsResponse['topics'][number][] = [];
    const available = img.brokers().filter((b) => !b.fenced && !b.inControlledShutdown);
    for (const { name, count } of req.topics) {
      const t = img.topic(name);
      if (t === undefined) {
        topics.push({ name, ...errorResult('UNKNOWN_TOPIC_OR_PARTITION', `topic '${name}' does not exist`) });
        continue;
      }
      const current = t.partitions.size;
      if (!Number.isSafeInteger(count) || count <= current || count > 100_000) {
        topics.push({ name, ...errorResult('INVALID_PARTITIONS', `topic '${name}' has ${current} partitions; the new count must be larger (and at most 100000), got ${count}`) });
        continue;
      }
      const existing = [...t.partitions.values()].sort((a, b) => a.partition - b.partition).map((p) => [...p.replicas]);
      const rf = existing[0]?.length ?? 1;
      const placement = placeReplicas({
        brokers: available.map((b) => (b.rack === '' ? { id: b.id } : { id: b.id, rack: b.rack })),
        partitions: count - current,
        replicationFactor: rf,
        random: this.options.random,
        existing,
      });
      if (!placement.ok) {
        topics.push({ name, ...errorResult('INVALID_REPLICATION_FACTOR', placement.message) });
        continue;
      }
      topics.push({ name });
      if (req.validateOnly) continue;
      placement.assignments.forEach((replicas, i) => records.push({ type: 'partition', ...newPartition(t.id, current + i, replicas) }));
    }
    return { records, result: { topics } };
  }

  private describeConfigs(img: MetadataImage, req: rpc.DescribeConfigsRequest): rpc.DescribeConfigsResponse {
    const cluster = img.clusterConfig();
    return {
      resources: req.resources.map((resource) => {
        if (resource !== '' && img.topic(resource) === undefined) {
          return { resource, ...errorResult('UNKNOWN_TOPIC_OR_PARTITION', `topic '${resource}' does not exist`) };
        }
        const own = resource === '' ? {} : img.topicConfig(resource);
        const effective = effectiveConfig(own, cluster);
        const configs = Object.entries(effective).map(([name, value]) => ({
          name,
          value,
          source: (Object.hasOwn(own, name) ? 'topic' : Object.hasOwn(cluster, name) ? 'cluster' : 'default') as rpc.ConfigSource,
        }));
        return { resource, configs };
      }),
    };
  }

  private alterConfigs(img: MetadataImage, req: rpc.AlterConfigsRequest): Decision<rpc.AlterConfigsResponse> {
    const resource = req.resource;
    const isCluster = resource === '';
    const topic = isCluster ? undefined : img.topic(resource);
    if (!isCluster && topic === undefined) {
      return { records: [], result: { resource, ...errorResult('UNKNOWN_TOPIC_OR_PARTITION', `topic '${resource}' does not exist`) } };
    }
    const next: Record<string, string> = { ...(isCluster ? img.clusterConfig() : img.topicConfig(resource)) };
    for (const c of req.changes) {
      if (!TOPIC_CONFIGS.has(c.name)) {
        return { records: [], result: { resource, ...errorResult('INVALID_CONFIG', `unknown config '${c.name}'`) } };
      }
      if (c.value === undefined) delete next[c.name];
      else next[c.name] = c.value;
    }
    const replicationFactor = (t: TopicImage): number => [...t.partitions.values()][0]?.replicas.length ?? 1;
    let error: string | undefined;
    if (topic !== undefined) {
      error = validateTopicConfigs(next, { replicationFactor: replicationFactor(topic), clusterDefaults: img.clusterConfig() })?.message;
    } else {
      // Cluster defaults: valid values, and valid for every topic that inherits them.
      error = validateTopicConfigs(next, { replicationFactor: Number.MAX_SAFE_INTEGER })?.message;
      for (const t of img.topics()) {
        if (error !== undefined) break;
        const e = validateTopicConfigs(img.topicConfig(t.name), { replicationFactor: replicationFactor(t), clusterDefaults: next });
        if (e !== undefined) error = `${e.message} (topic '${t.name}')`;
      }
    }
    if (error !== undefined) return { records: [], result: { resource, ...errorResult('INVALID_CONFIG', error) } };
    if (req.validateOnly) return { records: [], result: { resource } };
    const records: MetadataRecord[] = req.changes.map((c) => ({
      type: 'config',
      resourceType: isCluster ? ConfigResource.Cluster : ConfigResource.Topic,
      resourceName: resource,
      name: c.name,
      ...(c.value !== undefined ? { value: c.value } : {}),
    }));
    return { records, result: { resource } };
  }
}

function newPartition(topicId: string, partition: number, replicas: readonly number[]): PartitionState {
  return { topicId, partition, replicas, isr: [...replicas], leader: replicas[0] as number, leaderEpoch: 0, partitionEpoch: 0 };
}

function sameSet(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}
