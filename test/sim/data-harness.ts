/**
 * A data-plane cluster for named scenario tests, built exactly as sim/run-data-seed.ts builds one
 * (three dedicated controllers 1..3, brokers 101.., metadata nodes with the data-plane add-on, one
 * SimLogDisk per broker, the Raft, metadata and data checkers watching), but with explicit control
 * instead of a random workload: create a topic with given configs, produce one batch with given acks
 * through a given broker and await its answer, read a partition's committed log from its leader or
 * any replica's whole log, crash / power-cut / pause / partition machines, flip a bit in a segment
 * file, and run until a predicate holds within a bound of virtual time.
 *
 * Every produce outcome is reported to the DataChecker (acknowledged with its acks, or unknown), so
 * `finalCheck` can run Jepsen's anomaly checks over the whole scenario. Every fetch a broker serves is
 * recorded in `fetchLog` (which broker served it, for whom, in which epoch, with which answer), so a
 * scenario can assert what a follower was told (KIP-320's FENCED_LEADER_EPOCH).
 *
 * Virtual time only; a seed and a sequence of calls replay bit for bit.
 */
import { expect } from 'chai';
import { DataChecker, type FinalRecord } from '../../sim/data-checker.js';
import { dataPlaneAddOn, type FetchCall, type ProduceAnswer, type ProduceCall } from '../../sim/data-plane.js';
import { MetadataChecker } from '../../sim/metadata-checker.js';
import { SimControllerChannel, startMetadataProcess, type MetadataProcess } from '../../sim/metadata-process.js';
import { RaftCluster } from '../../sim/raft-cluster.js';
import { SimLogDisk } from '../../sim/sim-log-fs.js';
import { SimRpc } from '../../sim/sim-rpc.js';
import type { MetadataImage, PartitionState } from '../../src/metadata/image.js';
import type { MetadataNode } from '../../src/metadata/metadata-node.js';
import { NO_LEADER } from '../../src/metadata/records.js';
import type * as rpc from '../../src/metadata/rpc.js';
import { decodeRecords, encodeRecordBatch, iterateBatches, validateBatch } from '../../src/partitions/record-batch.js';
import type { Acks, FetchRequest, FetchResponse, PartitionReplica, ReplicaLog } from '../../src/partitions/replica.js';
import type { ReplicaManager } from '../../src/partitions/replica-manager.js';
import type { NodeId } from '../../src/raft/types.js';
import { SeededRandom } from '../../src/util/random.js';

const ADMIN_ID = 901;
const PRODUCER_ID = 902;
const CONSUMER_ID = 903;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

export interface DataClusterOptions {
  readonly seed: number;
  /** Broker-only machines (ids 101, 102, ...). Default 3. */
  readonly brokers?: number;
  readonly segmentBytes?: number;
  readonly replicaLagTimeMaxMs?: number;
  readonly sessionTimeoutMs?: number;
  readonly trace?: boolean;
}

export interface TopicSpec {
  readonly partitions?: number;
  readonly replicationFactor?: number;
  readonly configs?: Readonly<Record<string, string>>;
}

export interface ProduceOptions {
  readonly acks: Acks;
  /** Idempotent producer fields; absent: a plain producer. */
  readonly producer?: { readonly producerId: number; readonly producerEpoch: number; readonly baseSequence: number };
  /** The broker's wait for acks=all. Default 1500. */
  readonly timeoutMs?: number;
  /** Send these exact bytes (a retry) instead of encoding `values`. */
  readonly batch?: Uint8Array;
}

/** What a produce came back with: the broker's answer, or 'timeout' (no answer: outcome unknown). */
export type ProduceOutcome = ProduceAnswer | 'timeout';

export interface FetchLogEntry {
  readonly atMs: number;
  readonly servedBy: NodeId;
  readonly partition: number;
  readonly request: FetchRequest;
  /** The server's leader epoch when the answer was produced (-1: not hosting). */
  readonly serverEpoch: number;
  readonly error: string | undefined;
  readonly diverging: boolean;
}

export class DataCluster {
  readonly cluster: RaftCluster;
  readonly brokerIds: NodeId[];
  readonly disks = new Map<NodeId, SimLogDisk>();
  readonly replicaManagers = new Map<NodeId, ReplicaManager>();
  readonly checker: DataChecker;
  readonly fetchLog: FetchLogEntry[] = [];
  /** Whether the next power cut keeps a torn prefix of unsynced bytes (see SimLogDisk.powerLoss). */
  tornPowerLoss = true;
  private readonly admin: SimControllerChannel;
  private readonly producerRpc: SimRpc;
  private readonly consumerRpc: SimRpc;

  constructor(options: DataClusterOptions) {
    const brokerIds = new Set<number>();
    let metadataChecker: MetadataChecker | undefined;
    const cluster: RaftCluster = new RaftCluster({
      seed: options.seed,
      voters: 3,
      observers: options.brokers ?? 3,
      trace: options.trace ?? false,
      snapshotEntries: 200,
      snapshotTrailingEntries: 10,
      onMachineFault: (id, fault) => {
        const disk = this.disks.get(id);
        if (disk === undefined) return;
        if (fault === 'crash') disk.processCrash();
        else if (fault === 'power-loss') disk.powerLoss({ torn: this.tornPowerLoss });
      },
      createProcess: (ctx) =>
        startMetadataProcess(ctx, {
          isBroker: (id) => brokerIds.has(id),
          controller: { sessionTimeoutMs: options.sessionTimeoutMs ?? 3000, leaderImbalanceCheckIntervalMs: 5000 },
          broker: { heartbeatIntervalMs: 500, retryBackoffMs: 200 },
          listener: (id) => (metadataChecker as MetadataChecker).listenerFor(id),
          addOn: dataPlaneAddOn({
            disks: this.disks,
            isBroker: (id) => brokerIds.has(id),
            segmentBytes: options.segmentBytes ?? 16 * 1024,
            replicaLagTimeMaxMs: options.replicaLagTimeMaxMs ?? 3000,
            onStarted: (id, replicas) => {
              this.replicaManagers.set(id, replicas);
              this.recordFetches(id, replicas);
            },
          }),
        }),
    });
    this.cluster = cluster;
    for (const id of cluster.observerIds) brokerIds.add(id);
    this.brokerIds = [...brokerIds];
    for (const id of brokerIds) this.disks.set(id, new SimLogDisk({ clock: cluster.scheduler, random: new SeededRandom((options.seed ^ 0x5eed) + id * 7919), latencyMs: { min: 0, max: 2 } }));
    metadataChecker = new MetadataChecker(cluster.checker.violations, () => cluster.scheduler.nowMs());
    this.checker = new DataChecker(cluster.checker.violations, () => cluster.scheduler.nowMs());
    const send = (m: Parameters<RaftCluster['network']['send']>[0]): void => cluster.network.send(m);
    this.admin = new SimControllerChannel(ADMIN_ID, send, cluster.scheduler, 2000);
    cluster.addClient(ADMIN_ID, (m) => this.admin.onMessage(m));
    this.producerRpc = new SimRpc('produce', PRODUCER_ID, send, cluster.scheduler, 3000);
    cluster.addClient(PRODUCER_ID, (m) => this.producerRpc.onMessage(m));
    this.consumerRpc = new SimRpc('fetch', CONSUMER_ID, send, cluster.scheduler, 2000);
    cluster.addClient(CONSUMER_ID, (m) => this.consumerRpc.onMessage(m));
  }

  /** The client endpoint that produces: block a link to it to lose answers. */
  get producerClientId(): NodeId {
    return PRODUCER_ID;
  }

  /** Wraps a broker's fetch handling (the add-on calls `replicas.fetch` per request) to record every answer. */
  private recordFetches(id: NodeId, replicas: ReplicaManager): void {
    const original = replicas.fetch.bind(replicas);
    replicas.fetch = (topicId: string, partition: number, request: FetchRequest): Promise<FetchResponse> =>
      original(topicId, partition, request).then((response) => {
        this.fetchLog.push({
          atMs: this.now,
          servedBy: id,
          partition,
          request,
          serverEpoch: replicas.replica(topicId, partition)?.state.leaderEpoch ?? -1,
          error: 'error' in response ? response.error : undefined,
          diverging: 'divergingEpoch' in response,
        });
        return response;
      });
  }

  get now(): number {
    return this.cluster.scheduler.nowMs();
  }

  get violations(): string[] {
    return this.cluster.checker.violations;
  }

  // ---- Running ---------------------------------------------------------------------------------------

  /** Runs until `until` holds; fails the test (naming `what`) if `boundMs` of virtual time pass first. */
  async runUntil(what: string, until: () => boolean, boundMs = 30_000): Promise<void> {
    const ok = await this.cluster.runFor(boundMs, until);
    expect(ok, `${what} within ${boundMs} ms (t=${this.now}): ${this.cluster.describe()}; ${this.describe()}`).to.equal(true);
  }

  runFor(ms: number): Promise<boolean> {
    return this.cluster.runFor(ms);
  }

  async start(): Promise<void> {
    await this.cluster.startAll();
    await this.runUntil('every broker running and unfenced', () => {
      const image = this.controllerImageOrUndefined();
      return image !== undefined && this.brokerIds.every((id) => this.node(id)?.broker?.state === 'running' && image.broker(id)?.fenced === false);
    });
  }

  // ---- Metadata --------------------------------------------------------------------------------------

  node(id: NodeId): MetadataNode | undefined {
    const m = this.cluster.machine(id);
    return m.isUp ? (m.process as MetadataProcess | undefined)?.node : undefined;
  }

  private controllerImageOrUndefined(): MetadataImage | undefined {
    const leader = this.cluster.leader();
    const node = leader === undefined ? undefined : this.node(leader);
    return node?.controller?.isActive === true ? node.metadata.image : undefined;
  }

  /** The partition as the active controller has it (undefined while there is none). */
  partition(topicId: string, partition = 0): PartitionState | undefined {
    return this.controllerImageOrUndefined()?.partition(topicId, partition);
  }

  /** The current leader per the controller, or undefined (offline, or no active controller). */
  leaderOf(topicId: string, partition = 0): NodeId | undefined {
    const p = this.partition(topicId, partition);
    return p === undefined || p.leader === NO_LEADER ? undefined : p.leader;
  }

  /** Whether the controller has broker `id` fenced (undefined while there is no active controller). */
  brokerFenced(id: NodeId): boolean | undefined {
    return this.controllerImageOrUndefined()?.broker(id)?.fenced;
  }

  /** Whether `id` is up and its replica acts as leader in the controller's current epoch. */
  isActingLeader(id: NodeId, topicId: string, partition = 0): boolean {
    const p = this.partition(topicId, partition);
    const r = this.replicaOn(id, topicId, partition);
    return p !== undefined && p.leader === id && r?.role === 'leader' && r.state.leaderEpoch === p.leaderEpoch;
  }

  async createTopic(name: string, spec: TopicSpec = {}): Promise<string> {
    const partitions = spec.partitions ?? 1;
    let outcome: unknown;
    this.admin
      .request(this.cluster.leader() ?? 1, {
        kind: 'create-topics',
        topics: [{ name, numPartitions: partitions, replicationFactor: spec.replicationFactor ?? 3, ...(spec.configs !== undefined ? { configs: spec.configs } : {}) }],
        validateOnly: false,
      })
      .then((r) => (outcome = r), () => (outcome = 'timeout'));
    await this.runUntil(`create-topics ${name} answered`, () => outcome !== undefined, 5000);
    const t = (outcome as rpc.CreateTopicsResponse).topics?.[0];
    expect(t !== undefined && !('error' in t), `created: ${JSON.stringify(outcome)}`).to.equal(true);
    const topicId = (t as { topicId: string }).topicId;
    await this.runUntil(`${name} has acting leaders and full ISRs`, () => {
      for (let p = 0; p < partitions; p++) {
        const state = this.partition(topicId, p);
        if (state === undefined || !this.isActingLeader(state.leader, topicId, p) || state.isr.length !== state.replicas.length) return false;
        for (const r of state.replicas) if (this.replicaOn(r, topicId, p)?.role !== (r === state.leader ? 'leader' : 'follower')) return false;
      }
      return true;
    });
    return topicId;
  }

  // ---- Replicas --------------------------------------------------------------------------------------

  replicaOn(id: NodeId, topicId: string, partition = 0): PartitionReplica | undefined {
    if (!this.cluster.machine(id).isUp) return undefined;
    return this.replicaManagers.get(id)?.replica(topicId, partition);
  }

  logOn(id: NodeId, topicId: string, partition = 0): ReplicaLog {
    const r = this.replicaOn(id, topicId, partition);
    expect(r, `n${id} hosts ${topicId}-${partition} and is up`).to.not.equal(undefined);
    return (r as PartitionReplica).log;
  }

  /** Reads [from, to) of a replica's log through its public `read` (default: the whole log). */
  async readLog(id: NodeId, topicId: string, partition = 0, range: { from?: number; to?: number } = {}): Promise<FinalRecord[] | { error: string }> {
    const log = this.logOn(id, topicId, partition);
    const out: FinalRecord[] = [];
    let offset = range.from ?? log.logStartOffset;
    const end = range.to ?? log.logEndOffset;
    while (offset < end) {
      let bytes: Uint8Array | { error: string } | undefined;
      void log.read(offset, { maxBytes: 1 << 20, maxOffset: end }).then((b) => (bytes = b));
      await this.runUntil(`n${id} read at ${offset}`, () => bytes !== undefined, 2000);
      if (bytes === undefined || 'error' in bytes) return bytes ?? { error: 'no answer' };
      if (bytes.length === 0) break;
      const before = offset;
      for (const r of recordsIn(bytes)) {
        if (r.offset < offset) continue;
        out.push(r);
        offset = r.offset + 1;
      }
      if (offset === before) break;
    }
    return out;
  }

  async records(id: NodeId, topicId: string, partition = 0, range: { from?: number; to?: number } = {}): Promise<FinalRecord[]> {
    const r = await this.readLog(id, topicId, partition, range);
    if ('error' in r) throw new Error(`n${id} read failed: ${r.error}`);
    return r;
  }

  /** The committed log (below the HW) of the partition's leader. */
  async committed(topicId: string, partition = 0): Promise<FinalRecord[]> {
    const leader = this.leaderOf(topicId, partition);
    expect(leader, 'the partition has a leader').to.not.equal(undefined);
    const hw = this.logOn(leader as NodeId, topicId, partition).highWatermark;
    return this.records(leader as NodeId, topicId, partition, { from: 0, to: hw });
  }

  /** Decodes the records in a segment file as the disk holds it now (cache view), whole valid batches only. */
  diskRecords(id: NodeId, topicId: string, partition = 0, segmentBase = 0): { records: FinalRecord[]; validBytes: number; fileBytes: number } {
    const bytes = this.disks.get(id)?.cachedBytes(`${topicId}-${partition}`, segmentFileName(segmentBase)) ?? new Uint8Array(0);
    const records: FinalRecord[] = [];
    let position = 0;
    for (;;) {
      if (position + 12 > bytes.length) break;
      const checked = validateBatch(bytes, position);
      if (!checked.ok || position + checked.header.sizeInBytes > bytes.length) break;
      records.push(...decodeRecords(bytes, position).map((r) => ({ offset: r.offset, value: decoder.decode(r.value ?? new Uint8Array()) })));
      position += checked.header.sizeInBytes;
    }
    return { records, validBytes: position, fileBytes: bytes.length };
  }

  segmentFiles(id: NodeId, topicId: string, partition = 0): string[] {
    return (this.disks.get(id)?.fileNames(`${topicId}-${partition}`) ?? []).filter((n) => n.endsWith('.log'));
  }

  /** Bit rot: flips bit `bit` of byte `position` of segment `segmentBase`'s file on broker `id`. */
  flipBit(id: NodeId, topicId: string, partition: number, segmentBase: number, position: number, bit = 0): void {
    this.disks.get(id)?.flipBit(`${topicId}-${partition}`, segmentFileName(segmentBase), position, bit);
  }

  // ---- Clients ---------------------------------------------------------------------------------------

  /**
   * Sends one batch of `values` to broker `via` without waiting; `outcome.answer` is set when it is
   * answered (or times out). The checker hears the outcome.
   */
  send(via: NodeId, topicId: string, partition: number, values: readonly string[], options: ProduceOptions): { answer?: ProduceOutcome; batch: Uint8Array } {
    const batch =
      options.batch ??
      encodeRecordBatch(
        values.map((v) => ({ key: null, value: encoder.encode(v) })),
        { timestampMs: Math.floor(this.now), ...(options.producer ?? {}) },
      );
    const out: { answer?: ProduceOutcome; batch: Uint8Array } = { batch };
    const call: ProduceCall = { topicId, partition, batch: batch.slice(), acks: options.acks, timeoutMs: options.timeoutMs ?? 1500 };
    const idempotent = options.producer !== undefined;
    this.producerRpc.call(via, call).then(
      (a) => {
        const answer = a as ProduceAnswer;
        out.answer = answer;
        if ('error' in answer) this.checker.onUnknown(values, idempotent);
        else this.checker.onAcknowledged(`${partition}`, answer.baseOffset, values, options.acks, idempotent);
      },
      () => {
        out.answer = 'timeout';
        this.checker.onUnknown(values, idempotent);
      },
    );
    return out;
  }

  /** Produces one batch through broker `via` and waits for the answer. */
  async produce(via: NodeId, topicId: string, partition: number, values: readonly string[], options: ProduceOptions): Promise<ProduceOutcome> {
    const o = this.send(via, topicId, partition, values, options);
    await this.runUntil(`produce ${values.join(',')} answered`, () => o.answer !== undefined, 10_000);
    return o.answer as ProduceOutcome;
  }

  /** Produces and expects success; returns the base offset. */
  async produceOk(via: NodeId, topicId: string, partition: number, values: readonly string[], options: ProduceOptions): Promise<number> {
    const a = await this.produce(via, topicId, partition, values, options);
    expect(a !== 'timeout' && !('error' in a), `produce ${values.join(',')} via n${via}: ${JSON.stringify(a)}`).to.equal(true);
    return (a as { baseOffset: number }).baseOffset;
  }

  /** A consumer's fetch through the network, as a client sends it. */
  async consumerFetch(via: NodeId, topicId: string, partition: number, fetchOffset: number): Promise<FetchResponse | 'timeout'> {
    let answer: FetchResponse | 'timeout' | undefined;
    const call: FetchCall = { topicId, partition, request: { replicaId: -1, brokerEpoch: -1, sequence: -1, fetchOffset, lastFetchedEpoch: -1, currentLeaderEpoch: -1, maxBytes: 1 << 20, minBytes: 0, maxWaitMs: 0 } };
    this.consumerRpc.call(via, call).then((r) => (answer = r as FetchResponse), () => (answer = 'timeout'));
    await this.runUntil('consumer fetch answered', () => answer !== undefined, 5000);
    return answer as FetchResponse | 'timeout';
  }

  // ---- Faults ----------------------------------------------------------------------------------------

  crash(id: NodeId): void {
    this.cluster.crash(id);
  }

  /** Power loss on the given machines at once (torn or not per `tornPowerLoss`). */
  powerCut(ids: readonly NodeId[], torn = this.tornPowerLoss): void {
    const before = this.tornPowerLoss;
    this.tornPowerLoss = torn;
    this.cluster.powerLoss(ids);
    this.tornPowerLoss = before;
  }

  restart(id: NodeId): void {
    this.cluster.start(id);
  }

  pause(id: NodeId): void {
    this.cluster.pause(id);
  }

  resume(id: NodeId): void {
    this.cluster.resume(id);
  }

  /** Blocks every link between the groups, both ways. */
  partitionNetwork(a: readonly NodeId[], b: readonly NodeId[]): void {
    this.cluster.network.partition(a, b);
  }

  healNetwork(): void {
    this.cluster.network.heal();
  }

  healAll(): void {
    this.cluster.healAll();
  }

  // ---- Convergence and the final check ---------------------------------------------------------------

  /** run-data-seed's convergence for one topic: led, ISR complete, every replica at the leader's end and the HW there. */
  converged(topicId: string, partitions = 1): boolean {
    if (!this.cluster.converged()) return false;
    const image = this.controllerImageOrUndefined();
    if (image === undefined) return false;
    for (const id of this.brokerIds) if (this.node(id)?.broker?.state !== 'running') return false;
    for (let p = 0; p < partitions; p++) {
      const state = image.partition(topicId, p);
      if (state === undefined || state.leader === NO_LEADER || state.isr.length !== state.replicas.length) return false;
      if (!this.isActingLeader(state.leader, topicId, p)) return false;
      const leaderLog = this.replicaOn(state.leader, topicId, p)?.log;
      if (leaderLog === undefined || leaderLog.highWatermark !== leaderLog.logEndOffset) return false;
      for (const r of state.replicas) if (this.replicaOn(r, topicId, p)?.log.logEndOffset !== leaderLog.logEndOffset) return false;
    }
    return true;
  }

  async converge(topicId: string, partitions = 1, boundMs = 60_000): Promise<void> {
    await this.runUntil(`${topicId} converged`, () => this.converged(topicId, partitions), boundMs);
  }

  /**
   * Heals everything, converges, reads every replica's log, compares replicas below the HW and runs
   * the data and Raft checkers' final checks. Returns each partition's final (leader) log; the
   * violations are left in `violations` for the scenario to assert empty (or not).
   */
  async finalCheck(topicId: string, partitions = 1, options: { heal?: boolean; skipReplicas?: readonly NodeId[] } = {}): Promise<Map<number, FinalRecord[]>> {
    if (options.heal !== false) this.healAll();
    await this.converge(topicId, partitions);
    const finals = new Map<string, FinalRecord[]>();
    const out = new Map<number, FinalRecord[]>();
    for (let p = 0; p < partitions; p++) {
      const state = this.partition(topicId, p) as PartitionState;
      const leaderRecords = await this.records(state.leader, topicId, p);
      const hw = this.logOn(state.leader, topicId, p).highWatermark;
      for (const r of state.replicas) {
        if (r === state.leader || options.skipReplicas?.includes(r) === true) continue;
        this.checker.compareReplicas(`${p}`, `n${state.leader}`, `n${r}`, leaderRecords, await this.records(r, topicId, p), hw);
      }
      finals.set(`${p}`, leaderRecords);
      out.set(p, leaderRecords);
    }
    this.checker.finalCheck(finals);
    this.cluster.checker.finalCheck();
    return out;
  }

  describe(): string {
    const parts: string[] = [];
    for (const id of this.brokerIds) {
      const m = this.replicaManagers.get(id);
      const rs = this.cluster.machine(id).isUp && m !== undefined ? m.replicas() : [];
      parts.push(`n${id}:${this.cluster.machine(id).isUp ? '' : 'down '}${rs.map((r) => `${r.state.partition}/${r.role[0]}e${r.state.leaderEpoch}@${r.log.logEndOffset}hw${r.log.highWatermark}`).join(',')}`);
    }
    const image = this.controllerImageOrUndefined();
    const ps = image === undefined ? [] : image.topics().flatMap((t) => [...t.partitions.values()].map((p) => `p${p.partition} L${p.leader} e${p.leaderEpoch} isr[${p.isr.join(',')}]`));
    return `${parts.join(' ')} | ${ps.join('; ')}`;
  }
}

export function segmentFileName(base: number): string {
  return `${String(base).padStart(20, '0')}.log`;
}

/** The records of a fetch answer or a read. */
export function recordsIn(bytes: Uint8Array): FinalRecord[] {
  const out: FinalRecord[] = [];
  for (const { position } of iterateBatches(bytes)) {
    for (const r of decodeRecords(bytes, position)) out.push({ offset: r.offset, value: decoder.decode(r.value ?? new Uint8Array()) });
  }
  return out;
}

export function values(records: readonly FinalRecord[]): string[] {
  return records.map((r) => r.value);
}
