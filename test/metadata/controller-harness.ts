/**
 * A harness that drives `QuorumController` alone, with no Raft underneath: a fake `QuorumPort` that
 * "commits" a proposal by decoding its batch and applying it to a committed `MetadataImage` — at once
 * (`auto`) or when the test says so (`commitNext`, to look at in-flight behaviour) — a manual clock,
 * a seeded `Random` and a silent logger. Every proposal is kept, decoded, so a test can assert exactly
 * what the controller wrote (and that a refused request wrote nothing).
 */
import { expect } from 'chai';
import { QuorumController, type ControllerOptions, type QuorumPort } from '../../src/metadata/controller.js';
import { MetadataImage, type PartitionState } from '../../src/metadata/image.js';
import { decodeBatch, type MetadataRecord } from '../../src/metadata/records.js';
import type * as rpc from '../../src/metadata/rpc.js';
import type { Committed } from '../../src/raft/raft-node.js';
import type { CancelTimer, Clock } from '../../src/util/clock.js';
import { SeededRandom } from '../../src/util/random.js';

/** Time stands still until the test advances it; timers are recorded and never fire. */
export class ManualClock implements Clock {
  private now = 1_000;
  readonly timers: Array<{ atMs: number; fn: () => void }> = [];

  nowMs(): number {
    return this.now;
  }

  setTimer(delayMs: number, fn: () => void): CancelTimer {
    this.timers.push({ atMs: this.now + delayMs, fn });
    return () => {};
  }

  advance(ms: number): void {
    this.now += ms;
  }
}

/** A Raft error as RaftNode raises it (`code` is what the controller looks at). */
export class FakeRaftError extends Error {
  constructor(readonly code: string) {
    super(code);
  }
}

interface Pending {
  readonly index: number;
  readonly records: MetadataRecord[];
  resolve(c: Committed): void;
  reject(e: Error): void;
}

/** The controller's view of Raft: proposals get consecutive indexes and commit in order. */
export class FakeQuorum implements QuorumPort {
  /** Commit every proposal as soon as it is made. */
  auto = true;
  /** The next proposal fails with this error (then the quorum behaves again). */
  failNext: Error | undefined;
  /** Every proposal ever made, decoded, in order (failed ones included). */
  readonly proposals: Array<{ index: number; records: MetadataRecord[] }> = [];
  private readonly pending: Pending[] = [];
  private nextIndex: number;

  /** Whether the node leads (failed proposals re-activate the controller only while it does). */
  isLeader = true;

  constructor(readonly image: MetadataImage, readonly term = 1) {
    this.nextIndex = image.offset + 1;
  }

  committed(): MetadataImage {
    return this.image;
  }

  leadership(): { isLeader: boolean; lastIndex: number } {
    return { isLeader: this.isLeader, lastIndex: this.nextIndex - 1 };
  }

  /** Reserves an index for a non-command entry (a leader-change marker). */
  reserveIndex(): number {
    return this.nextIndex++;
  }

  propose(data: Uint8Array): Promise<Committed> {
    const records = decodeBatch(data);
    if (this.failNext !== undefined) {
      const error = this.failNext;
      this.failNext = undefined;
      this.proposals.push({ index: -1, records });
      return Promise.reject(error);
    }
    const index = this.nextIndex++;
    this.proposals.push({ index, records });
    return new Promise<Committed>((resolve, reject) => {
      this.pending.push({ index, records, resolve, reject });
      if (this.auto) this.commitAll();
    });
  }

  get inFlight(): number {
    return this.pending.length;
  }

  /** Commits the oldest in-flight proposal. */
  commitNext(): void {
    const p = this.pending.shift();
    expect(p, 'a proposal in flight').to.not.equal(undefined);
    const { index, records, resolve } = p as Pending;
    this.image.applyBatch(records, index);
    resolve({ index, term: this.term });
  }

  commitAll(): void {
    while (this.pending.length > 0) this.commitNext();
  }

  /** Leadership lost: every in-flight proposal fails; none of them is applied. */
  failAll(error: Error): void {
    for (const p of this.pending.splice(0)) p.reject(error);
  }
}

/** Lets the promise chains of the controller run (commits resolve in microtasks). */
export function flush(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export interface HarnessOptions extends Partial<Omit<ControllerOptions, 'nodeId' | 'quorum' | 'clock' | 'random' | 'logger'>> {
  readonly seed?: number;
}

/** What `Harness.heartbeat` sends unless told otherwise. */
export interface HeartbeatOptions {
  readonly metadataOffset?: number;
  readonly wantShutdown?: boolean;
  readonly brokerEpoch?: number;
}

export class Harness {
  readonly clock = new ManualClock();
  readonly committed: MetadataImage;
  readonly quorum: FakeQuorum;
  readonly controller: QuorumController;
  readonly logLines: string[] = [];
  /** Broker id -> epoch of its current registration, as the harness learned it. */
  readonly epochs = new Map<number, number>();
  readonly options: HarnessOptions;

  constructor(options: HarnessOptions = {}, committed = new MetadataImage()) {
    this.options = options;
    this.committed = committed;
    this.quorum = new FakeQuorum(committed);
    const { seed, ...controllerOptions } = options;
    this.controller = new QuorumController({
      sessionTimeoutMs: 9000,
      leaderImbalanceCheckIntervalMs: 300_000,
      ...controllerOptions,
      nodeId: 1,
      quorum: this.quorum,
      clock: this.clock,
      random: new SeededRandom(seed ?? 7),
      logger: (format, ...args) => this.logLines.push(`${format} ${args.join(' ')}`),
    });
  }

  /** A new Raft term: the leader-change entry is appended and applied, then the controller activates. */
  activate(): void {
    const leaderChange = this.quorum.reserveIndex();
    this.controller.becameLeader(leaderChange, this.committed);
    expect(this.controller.isActive, 'not active before its leader-change entry is applied').to.equal(false);
    this.committed.offset = leaderChange; // what MetadataStateMachine does for a leader-change entry
    this.controller.maybeActivate(this.committed);
    expect(this.controller.isActive).to.equal(true);
  }

  /** Proposals made so far (a mark to compare against). */
  get proposalCount(): number {
    return this.quorum.proposals.length;
  }

  /** The records proposed since `mark`, flattened. */
  recordsSince(mark: number): MetadataRecord[] {
    return this.quorum.proposals.slice(mark).flatMap((p) => p.records);
  }

  handle<K extends rpc.ControllerRequest['kind']>(request: Extract<rpc.ControllerRequest, { kind: K }>): Promise<rpc.ControllerResponse<K>> {
    return this.controller.handle(request);
  }

  async register(brokerId: number, incarnationId = `inc-${brokerId}`, rack = ''): Promise<rpc.RegisterBrokerResponse> {
    const res = await this.handle({ kind: 'register-broker', brokerId, incarnationId, endpoints: [{ name: 'client', url: `ws://b${brokerId}` }], rack });
    if (!('error' in res)) this.epochs.set(brokerId, res.brokerEpoch);
    return res;
  }

  async heartbeat(brokerId: number, options: HeartbeatOptions = {}): Promise<rpc.BrokerHeartbeatResponse> {
    return this.handle({
      kind: 'broker-heartbeat',
      brokerId,
      brokerEpoch: options.brokerEpoch ?? this.epoch(brokerId),
      metadataOffset: options.metadataOffset ?? this.committed.offset,
      wantShutdown: options.wantShutdown ?? false,
    });
  }

  epoch(brokerId: number): number {
    const e = this.epochs.get(brokerId);
    expect(e, `broker ${brokerId} registered`).to.not.equal(undefined);
    return e as number;
  }

  /** Registers and unfences brokers (heartbeat with a caught-up metadata offset). */
  async addBrokers(ids: readonly number[], racks?: readonly string[]): Promise<void> {
    for (const [i, id] of ids.entries()) {
      const res = await this.register(id, `inc-${id}`, racks?.[i] ?? '');
      expect(res, `register ${id}`).to.not.have.property('error');
      const hb = await this.heartbeat(id);
      expect(hb, `heartbeat ${id}`).to.deep.equal({ fenced: false, inControlledShutdown: false, shouldShutdown: false });
    }
  }

  /** Every unfenced broker heartbeats (so the next tick fences nobody). */
  async heartbeatAll(except: readonly number[] = []): Promise<void> {
    for (const b of this.committed.brokers()) {
      if (!b.fenced && !except.includes(b.id)) await this.heartbeat(b.id);
    }
  }

  /** Runs the controller's periodic work and lets the writes it starts commit. */
  async tick(): Promise<void> {
    this.controller.tick();
    await flush();
  }

  async createTopic(name: string, numPartitions: number, replicationFactor: number, configs?: Record<string, string>): Promise<string> {
    const res = await this.handle({ kind: 'create-topics', topics: [{ name, numPartitions, replicationFactor, ...(configs !== undefined ? { configs } : {}) }], validateOnly: false });
    expect(res).to.have.property('topics');
    const result = (res as rpc.CreateTopicsResponse).topics[0];
    expect(result, `create ${name}`).to.not.have.property('error');
    return (result as { topicId: string }).topicId;
  }

  partition(topic: string, p: number): PartitionState {
    const t = this.committed.topic(topic);
    expect(t, `topic ${topic}`).to.not.equal(undefined);
    const state = t?.partitions.get(p);
    expect(state, `${topic}:${p}`).to.not.equal(undefined);
    return state as PartitionState;
  }

  partitions(topic: string): PartitionState[] {
    const t = this.committed.topic(topic);
    expect(t, `topic ${topic}`).to.not.equal(undefined);
    return [...(t?.partitions.values() ?? [])].sort((a, b) => a.partition - b.partition);
  }

  /** An AlterPartition as the current leader of `topic:p` would send it. */
  alterIsr(topic: string, p: number, isr: readonly number[], overrides: Partial<Omit<rpc.AlterPartitionRequest, 'kind'>> = {}): Promise<rpc.ControllerResponse<'alter-partition'>> {
    const state = this.partition(topic, p);
    return this.handle({
      kind: 'alter-partition',
      brokerId: state.leader,
      brokerEpoch: this.committed.broker(state.leader)?.epoch ?? -1,
      topicId: state.topicId,
      partition: p,
      leaderEpoch: state.leaderEpoch,
      partitionEpoch: state.partitionEpoch,
      newIsr: isr.map((id) => ({ brokerId: id, brokerEpoch: this.committed.broker(id)?.epoch ?? -1 })),
      ...overrides,
    });
  }

  /** Fences `brokerId` through its session expiring (everyone else keeps heartbeating). */
  async expireSession(brokerId: number): Promise<void> {
    this.clock.advance((this.options.sessionTimeoutMs ?? 9000) + 1);
    await this.heartbeatAll([brokerId]);
    await this.tick();
    expect(this.committed.broker(brokerId)?.fenced, `broker ${brokerId} fenced`).to.equal(true);
  }
}
