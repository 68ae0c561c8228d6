/**
 * Unit tests of PartitionReplica (src/partitions/replica.ts): leader produce/fetch, the high
 * watermark and the ISR, follower fetching and truncation by leader epoch (KIP-101, KIP-279, KIP-320),
 * and idempotent producers across a leader change.
 *
 * Each replica runs on a FakeReplicaLog with a manual clock. Followers are wired to the leader by hand
 * (`leader.fetch(follower.nextFetch().request)` then `follower.handleFetchResponse`), and AlterPartition
 * goes to a stub controller that applies the new ISR with partitionEpoch + 1 and pushes the new state
 * to the replicas through `applyMetadata`, as the metadata log would. No wall-clock time: `settle()`
 * only drains pending promise callbacks.
 */
import { expect } from 'chai';
import type { PartitionState } from '../../src/metadata/image.js';
import type { AlterPartitionRequest, AlterPartitionResponse } from '../../src/metadata/rpc.js';
import type { PartitionErrorResult } from '../../src/partitions/errors.js';
import { ProducerStateTable } from '../../src/partitions/producer-state.js';
import { decodeRecords, encodeRecordBatch, iterateBatches, readBatchHeader } from '../../src/partitions/record-batch.js';
import { PartitionReplica, type Acks, type FetchRequest, type FetchResponse, type ProduceResult, type ReplicaConfig } from '../../src/partitions/replica.js';
import { AssertionError } from '../../src/util/assert.js';
import type { CancelTimer, Clock } from '../../src/util/clock.js';
import { batchesIn, FakeReplicaLog, type FakeReplicaLogOptions } from './fake-replica-log.js';

// ---- Harness ---------------------------------------------------------------------------------------

/** Drains promise callbacks (no time passes on any clock). */
async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

class ManualClock implements Clock {
  private now = 0;
  private seq = 0;
  private timers: Array<{ at: number; seq: number; fn: () => void; cancelled: boolean }> = [];

  nowMs(): number {
    return this.now;
  }

  setTimer(delayMs: number, fn: () => void): CancelTimer {
    const timer = { at: this.now + delayMs, seq: this.seq++, fn, cancelled: false };
    this.timers.push(timer);
    return () => {
      timer.cancelled = true;
    };
  }

  get pendingTimers(): number {
    return this.timers.filter((t) => !t.cancelled).length;
  }

  /** Moves time forward by `ms`, firing due timers in order and settling after each. */
  async advance(ms: number): Promise<void> {
    await settle(); // let work already started register its timers at the current time
    const target = this.now + ms;
    for (;;) {
      this.timers = this.timers.filter((t) => !t.cancelled);
      const due = this.timers.filter((t) => t.at <= target).sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (due === undefined) break;
      this.timers = this.timers.filter((t) => t !== due);
      this.now = Math.max(this.now, due.at);
      due.fn();
      await settle();
    }
    this.now = target;
    await settle();
  }
}

interface Tracked<T> {
  done: boolean;
  value: T | undefined;
  readonly promise: Promise<T>;
}

function track<T>(promise: Promise<T>): Tracked<T> {
  const t: Tracked<T> = { done: false, value: undefined, promise };
  promise.then(
    (v) => {
      t.done = true;
      t.value = v;
    },
    () => {
      t.done = true;
    },
  );
  return t;
}

const TOPIC_ID = 'topic-uuid-1';
const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

function makeBatch(values: readonly string[], producer?: { producerId: number; producerEpoch: number; baseSequence: number }): Uint8Array {
  return encodeRecordBatch(
    values.map((v) => ({ key: null, value: utf8(v) })),
    { timestampMs: 1_700_000_000_000, ...(producer ?? {}) },
  );
}

function identityOf(batch: Uint8Array): { producerId: number; producerEpoch: number; baseSequence: number; lastSequence: number } {
  const h = readBatchHeader(batch);
  if (h === 'truncated') throw new Error('truncated');
  return { producerId: h.producerId, producerEpoch: h.producerEpoch, baseSequence: h.baseSequence, lastSequence: h.lastSequence };
}

function valuesIn(bytes: Uint8Array): string[] {
  const out: string[] = [];
  for (const { position } of iterateBatches(bytes)) for (const r of decodeRecords(bytes, position)) out.push(new TextDecoder().decode(r.value ?? new Uint8Array()));
  return out;
}

const DEFAULT_CONFIG: ReplicaConfig = { minInsyncReplicas: 2, replicaLagTimeMaxMs: 10_000, flush: 'os', uncleanLeaderElection: false };

interface Node {
  readonly id: number;
  readonly log: FakeReplicaLog;
  producers: ProducerStateTable;
  replica: PartitionReplica;
  brokerEpoch: number;
  alive: boolean;
}

function isError(x: object | undefined): x is PartitionErrorResult {
  return x !== undefined && 'error' in x;
}

/** A partition with replicas on brokers `ids`; the stub controller holds the truth (`state`). */
class Cluster {
  readonly clock = new ManualClock();
  state: PartitionState;
  config: ReplicaConfig;
  readonly nodes = new Map<number, Node>();
  readonly alterRequests: AlterPartitionRequest[] = [];
  /** When true, AlterPartition requests wait for `releaseAlters()`. */
  holdAlters = false;
  private heldAlters: Array<() => void> = [];

  constructor(options: { replicas?: number[]; isr?: number[]; leader?: number; leaderEpoch?: number; config?: Partial<ReplicaConfig>; log?: FakeReplicaLogOptions } = {}) {
    const replicas = options.replicas ?? [1, 2, 3];
    this.config = { ...DEFAULT_CONFIG, ...options.config };
    this.state = {
      topicId: TOPIC_ID,
      partition: 0,
      replicas,
      isr: options.isr ?? replicas,
      leader: options.leader ?? replicas[0]!,
      leaderEpoch: options.leaderEpoch ?? 1,
      partitionEpoch: 1,
    };
    for (const id of replicas) {
      const log = new FakeReplicaLog(options.log ?? {});
      const node: Node = { id, log, producers: new ProducerStateTable(), replica: undefined as unknown as PartitionReplica, brokerEpoch: 100 + id, alive: true };
      node.replica = this.newReplica(node);
      this.nodes.set(id, node);
    }
  }

  private newReplica(node: Node): PartitionReplica {
    return new PartitionReplica(
      {
        brokerId: node.id,
        topicName: 't',
        log: node.log,
        producers: node.producers,
        clock: this.clock,
        logger: () => {},
        brokerEpoch: () => node.brokerEpoch,
        alterPartition: (request) => this.alterPartition(request),
      },
      this.state,
      this.config,
    );
  }

  node(id: number): Node {
    const n = this.nodes.get(id);
    if (n === undefined) throw new Error(`no node ${id}`);
    return n;
  }

  replica(id: number): PartitionReplica {
    return this.node(id).replica;
  }

  log(id: number): FakeReplicaLog {
    return this.node(id).log;
  }

  /** Pushes the controller's state to every live replica (the metadata log reaching the brokers). */
  async publish(): Promise<void> {
    for (const n of this.nodes.values()) if (n.alive) await n.replica.applyMetadata(this.state, this.config);
  }

  async start(): Promise<this> {
    await this.publish();
    return this;
  }

  /** The controller elects `leader` in a new leader epoch. */
  async elect(leader: number, isr: readonly number[]): Promise<void> {
    this.state = { ...this.state, leader, isr, leaderEpoch: this.state.leaderEpoch + 1, partitionEpoch: this.state.partitionEpoch + 1 };
    await this.publish();
  }

  /** The broker stops (its replica object is discarded; the log survives, as after a clean restart). */
  crash(id: number): void {
    const n = this.node(id);
    n.replica.stop();
    n.alive = false;
  }

  /** The broker starts again with a new broker epoch and a fresh replica over the same log. */
  async restart(id: number): Promise<void> {
    const n = this.node(id);
    n.alive = true;
    n.brokerEpoch += 1000;
    n.replica = this.newReplica(n);
    await n.replica.applyMetadata(this.state, this.config);
  }

  private async alterPartition(request: AlterPartitionRequest): Promise<AlterPartitionResponse> {
    this.alterRequests.push(request);
    if (this.holdAlters) await new Promise<void>((resolve) => this.heldAlters.push(resolve));
    if (request.leaderEpoch !== this.state.leaderEpoch) return { error: 'FENCED_LEADER_EPOCH', message: 'stale leader epoch' };
    if (request.partitionEpoch !== this.state.partitionEpoch) return { error: 'INVALID_UPDATE_VERSION', message: 'stale partition epoch' };
    this.state = { ...this.state, isr: request.newIsr.map((m) => m.brokerId), partitionEpoch: this.state.partitionEpoch + 1 };
    const leader = this.node(this.state.leader);
    await leader.replica.applyMetadata(this.state, this.config);
    return { partition: this.state };
  }

  async releaseAlters(): Promise<void> {
    const held = this.heldAlters;
    this.heldAlters = [];
    for (const r of held) r();
    await settle();
  }

  produce(leader: number, values: readonly string[], acks: Acks, options: { timeoutMs?: number; producer?: { producerId: number; producerEpoch: number; baseSequence: number } } = {}): Tracked<ProduceResult | PartitionErrorResult> {
    const batch = makeBatch(values, options.producer);
    return track(this.replica(leader).produce(batch, acks, options.timeoutMs ?? 30_000, identityOf(batch)));
  }

  /** One fetch round of follower `id` against its leader; returns the request, the answer and the follower's verdict. */
  async fetchRound(id: number, maxBytes = 1 << 20): Promise<{ request: FetchRequest; response: FetchResponse; error: PartitionErrorResult | undefined }> {
    const next = this.replica(id).nextFetch(maxBytes, 0);
    if (next === undefined) throw new Error(`node ${id} has nothing to fetch from`);
    const response = await this.replica(next.leader).fetch(next.request);
    const error = await this.replica(id).handleFetchResponse(next.request, response);
    return { request: next.request, response, error };
  }

  /** Fetch rounds until the follower has nothing more to fetch (and has reported its log end). */
  async catchUp(id: number, roundsMax = 20): Promise<void> {
    for (let i = 0; i < roundsMax; i++) {
      const { response, error } = await this.fetchRound(id);
      if (error !== undefined) throw new Error(`node ${id}: ${error.error} ${error.message}`);
      if ('records' in response && response.records.length === 0) return;
    }
    throw new Error(`node ${id} did not catch up in ${roundsMax} rounds`);
  }

  consumerFetch(leader: number, fetchOffset: number, overrides: Partial<FetchRequest> = {}): Promise<FetchResponse> {
    return this.replica(leader).fetch({
      replicaId: -1,
      brokerEpoch: -1,
      sequence: -1,
      fetchOffset,
      lastFetchedEpoch: -1,
      currentLeaderEpoch: -1,
      maxBytes: 1 << 20,
      minBytes: 0,
      maxWaitMs: 0,
      ...overrides,
    });
  }
}

function ok(result: ProduceResult | PartitionErrorResult | undefined): ProduceResult {
  expect(result, 'produce answered').to.not.equal(undefined);
  if (isError(result)) throw new Error(`produce failed: ${result.error} ${result.message}`);
  return result!;
}

function errorOf(result: object | undefined): string | undefined {
  return result !== undefined && 'error' in result ? (result as PartitionErrorResult).error : undefined;
}

function recordsOf(response: FetchResponse | undefined): Uint8Array {
  if (response === undefined || !('records' in response)) throw new Error(`expected records, got ${JSON.stringify(response)}`);
  return response.records;
}

function expectSameLog(a: FakeReplicaLog, b: FakeReplicaLog): void {
  expect(a.layout()).to.deep.equal(b.layout());
  expect(Buffer.from(a.bytes()).equals(Buffer.from(b.bytes())), 'logs equal byte for byte').to.equal(true);
}

// ---- Tests -----------------------------------------------------------------------------------------

describe('PartitionReplica', () => {
  describe('produce acks', () => {
    it('acks=1 is answered after the leader append, before any follower fetched', async () => {
      const c = await new Cluster().start();
      const p = c.produce(1, ['a', 'b', 'c'], 1);
      await settle();
      expect(p.done).to.equal(true);
      expect(ok(p.value)).to.deep.equal({ baseOffset: 0, lastOffset: 2, duplicate: false });
      expect(c.log(1).logEndOffset).to.equal(3);
      expect(c.replica(1).highWatermark).to.equal(0);
      expect(c.log(1).layout()).to.deep.equal([[0, 2, 1]]); // stamped with leader epoch 1
    });

    it('acks=1 with flush=always is answered only after the leader fsync', async () => {
      const c = await new Cluster({ config: { flush: 'always' } }).start();
      c.log(1).holdFlush = true;
      const p = c.produce(1, ['a'], 1);
      await settle();
      expect(c.log(1).logEndOffset).to.equal(1);
      expect(p.done, 'answered before the fsync').to.equal(false);
      expect(c.log(1).pendingFlushes).to.equal(1);
      c.log(1).releaseFlush();
      await settle();
      expect(ok(p.value).lastOffset).to.equal(0);
      expect(c.log(1).flushedOffset).to.equal(1);
    });

    it('acks=all is answered once every ISR follower fetched past the batch (HW covers it)', async () => {
      const c = await new Cluster().start();
      const p = c.produce(1, ['a', 'b', 'c'], -1);
      await settle();
      expect(p.done).to.equal(false);
      await c.catchUp(2);
      await settle();
      expect(c.replica(1).highWatermark, 'follower 3 in the ISR has not fetched').to.equal(0);
      expect(p.done).to.equal(false);
      await c.fetchRound(3); // receives the batch, reports offset 0
      await settle();
      expect(p.done).to.equal(false);
      await c.fetchRound(3); // reports offset 3
      await settle();
      expect(c.replica(1).highWatermark).to.equal(3);
      expect(ok(p.value)).to.deep.equal({ baseOffset: 0, lastOffset: 2, duplicate: false });
    });

    it('acks=all with flush=always waits for the followers\' fsync (they report their flushed offset)', async () => {
      const c = await new Cluster({ config: { flush: 'always' } }).start();
      const p = c.produce(1, ['a', 'b'], -1);
      await settle();
      c.log(2).holdFlush = true;
      await c.catchUp(3);
      const first = await c.replica(1).fetch(c.replica(2).nextFetch(1 << 20, 0)!.request);
      const handled = track(c.replica(2).handleFetchResponse(c.replica(2).nextFetch(1 << 20, 0)!.request, first));
      await settle();
      expect(c.log(2).logEndOffset).to.equal(2);
      expect(handled.done, 'the follower waits for its fsync').to.equal(false);
      // Its next fetch still reports only the durable offset.
      expect(c.replica(2).nextFetch(1 << 20, 0)!.request.fetchOffset).to.equal(0);
      await c.replica(1).fetch(c.replica(2).nextFetch(1 << 20, 0)!.request);
      await settle();
      expect(c.replica(1).highWatermark).to.equal(0);
      expect(p.done).to.equal(false);
      c.log(2).releaseFlush();
      await settle();
      expect(handled.done).to.equal(true);
      await c.fetchRound(2);
      await settle();
      expect(c.replica(1).highWatermark).to.equal(2);
      expect(ok(p.value).lastOffset).to.equal(1);
    });

    it('with flush=always the leader\'s own unflushed tail does not count toward the HW', async () => {
      const c = await new Cluster({ config: { flush: 'always' } }).start();
      c.log(1).holdFlush = true;
      const p = c.produce(1, ['a', 'b'], -1);
      await settle();
      await c.catchUp(2);
      await c.catchUp(3);
      await settle();
      expect(c.log(2).flushedOffset).to.equal(2);
      expect(c.replica(1).highWatermark, 'the followers are durable, the leader is not').to.equal(0);
      expect(valuesIn(recordsOf(await c.consumerFetch(1, 0)))).to.deep.equal([]);
      expect(p.done).to.equal(false);
      c.log(1).releaseFlush();
      await settle();
      expect(c.replica(1).highWatermark).to.equal(2);
      expect(ok(p.value).lastOffset).to.equal(1);
    });

    it('acks=all times out with REQUEST_TIMED_OUT (outcome unknown: the batch stays in the log)', async () => {
      const c = await new Cluster().start();
      const p = c.produce(1, ['a'], -1, { timeoutMs: 1000 });
      await c.catchUp(2);
      await c.clock.advance(999);
      expect(p.done).to.equal(false);
      await c.clock.advance(1);
      expect(errorOf(p.value)).to.equal('REQUEST_TIMED_OUT');
      expect(c.log(1).logEndOffset).to.equal(1);
    });

    it('acks=all answers NOT_ENOUGH_REPLICAS_AFTER_APPEND when the ISR shrank below min.insync.replicas meanwhile', async () => {
      const c = await new Cluster().start();
      const p = c.produce(1, ['a'], -1, { timeoutMs: 30_000 });
      await c.clock.advance(10_001);
      c.replica(1).tick(); // both followers lag: ISR -> [1]
      await settle();
      expect(c.state.isr).to.deep.equal([1]);
      expect(p.done).to.equal(false);
      await c.clock.advance(20_000);
      expect(errorOf(p.value)).to.equal('NOT_ENOUGH_REPLICAS_AFTER_APPEND');
    });

    it('acks=all is refused up front with NOT_ENOUGH_REPLICAS when |ISR| < min.insync.replicas, and nothing is written', async () => {
      const c = await new Cluster({ isr: [1] }).start();
      const p = c.produce(1, ['a'], -1);
      await settle();
      expect(errorOf(p.value)).to.equal('NOT_ENOUGH_REPLICAS');
      expect(c.log(1).logEndOffset).to.equal(0);
      // acks=1 is still accepted.
      const q = c.produce(1, ['b'], 1);
      await settle();
      expect(ok(q.value).baseOffset).to.equal(0);
    });

    it('a follower refuses produce with NOT_LEADER_OR_FOLLOWER', async () => {
      const c = await new Cluster().start();
      const p = c.produce(2, ['a'], 1);
      await settle();
      expect(errorOf(p.value)).to.equal('NOT_LEADER_OR_FOLLOWER');
      expect(c.log(2).logEndOffset).to.equal(0);
    });
  });

  describe('high watermark', () => {
    it('is the minimum log end over the ISR; replicas outside the ISR do not hold it back', async () => {
      const c = await new Cluster({ isr: [1, 2] }).start();
      c.produce(1, ['a', 'b'], 1);
      await settle();
      await c.fetchRound(2); // gets the batch, reports 0
      expect(c.replica(1).highWatermark).to.equal(0);
      c.produce(1, ['c'], 1);
      await settle();
      await c.fetchRound(2); // reports 2, receives offset 2
      expect(c.replica(1).highWatermark).to.equal(2);
      await c.fetchRound(2); // reports 3
      expect(c.replica(1).highWatermark, 'node 3 is not in the ISR').to.equal(3);
      // The follower learns the HW from the leader (bounded by its own log end).
      expect(c.replica(2).highWatermark).to.equal(3);
    });

    it('never goes down, even when an ISR member reports a smaller offset', async () => {
      const c = await new Cluster().start();
      c.produce(1, ['a'], 1);
      c.produce(1, ['b'], 1);
      await settle();
      await c.catchUp(2);
      await c.catchUp(3);
      expect(c.replica(1).highWatermark).to.equal(2);
      // A follower that (say) restarted and lost its tail reports offset 1.
      const r = await c.replica(1).fetch({ replicaId: 3, brokerEpoch: 103, sequence: -1, fetchOffset: 1, lastFetchedEpoch: 1, currentLeaderEpoch: 1, maxBytes: 1000, minBytes: 0, maxWaitMs: 0 });
      expect(errorOf(r)).to.equal(undefined);
      expect(c.replica(1).highWatermark).to.equal(2);
      expect(c.log(1).highWatermark).to.equal(2);
    });

    it('is frozen while |ISR| < min.insync.replicas (KAFKA-15583), and moves once the ISR grows back', async () => {
      const c = await new Cluster({ isr: [1] }).start();
      c.produce(1, ['a', 'b'], 1);
      await settle();
      expect(c.replica(1).highWatermark, 'a lone leader must not commit with min.insync.replicas=2').to.equal(0);
      expect(valuesIn(recordsOf(await c.consumerFetch(1, 0)))).to.deep.equal([]);
      await c.catchUp(2); // joins the ISR once caught up
      await settle();
      expect(c.state.isr).to.deep.equal([1, 2]);
      await c.fetchRound(2);
      expect(c.replica(1).highWatermark).to.equal(2);
      expect(valuesIn(recordsOf(await c.consumerFetch(1, 0)))).to.deep.equal(['a', 'b']);
    });
  });

  describe('fetch', () => {
    it('consumers read only below the HW; followers read to the log end', async () => {
      const c = await new Cluster({ isr: [1, 2] }).start();
      c.produce(1, ['a'], 1);
      await settle();
      await c.catchUp(2);
      c.produce(1, ['b', 'c'], 1);
      await settle();
      expect(c.replica(1).highWatermark).to.equal(1);
      expect(valuesIn(recordsOf(await c.consumerFetch(1, 0)))).to.deep.equal(['a']);
      expect(recordsOf(await c.consumerFetch(1, 1)).length, 'nothing at the HW').to.equal(0);
      const follower = await c.fetchRound(3);
      expect(valuesIn(recordsOf(follower.response))).to.deep.equal(['a', 'b', 'c']);
      expect(errorOf(await c.consumerFetch(1, 4))).to.equal('OFFSET_OUT_OF_RANGE');
    });

    it('returns whole batches, at least one, within maxBytes', async () => {
      const c = await new Cluster({ isr: [1, 2] }).start();
      for (const v of ['a', 'b', 'c']) c.produce(1, [v], 1);
      await settle();
      await c.catchUp(2);
      const one = recordsOf(await c.consumerFetch(1, 1, { maxBytes: 1 }));
      expect(batchesIn(one).map((b) => b.baseOffset)).to.deep.equal([1]);
      expect(valuesIn(recordsOf(await c.consumerFetch(1, 1)))).to.deep.equal(['b', 'c']);
    });

    it('fences a stale current leader epoch (FENCED_LEADER_EPOCH) and flags a newer one (UNKNOWN_LEADER_EPOCH) — KIP-320', async () => {
      const c = await new Cluster({ leaderEpoch: 5 }).start();
      c.produce(1, ['a'], 1);
      await settle();
      const req = c.replica(2).nextFetch(1000, 0)!.request;
      expect(errorOf(await c.replica(1).fetch({ ...req, currentLeaderEpoch: 4 }))).to.equal('FENCED_LEADER_EPOCH');
      expect(errorOf(await c.replica(1).fetch({ ...req, currentLeaderEpoch: 6 }))).to.equal('UNKNOWN_LEADER_EPOCH');
      expect(errorOf(await c.consumerFetch(1, 0, { currentLeaderEpoch: 4 }))).to.equal('FENCED_LEADER_EPOCH');
      expect(errorOf(await c.consumerFetch(1, 0, { currentLeaderEpoch: 6 }))).to.equal('UNKNOWN_LEADER_EPOCH');
      expect(errorOf(await c.consumerFetch(1, 0, { currentLeaderEpoch: 5 }))).to.equal(undefined);
      expect(errorOf(await c.consumerFetch(1, 0, { currentLeaderEpoch: -1 }))).to.equal(undefined);
      // A stale fetch did not count as follower progress.
      expect(c.replica(1).highWatermark).to.equal(0);
    });

    it('a follower fetching from a non-leader gets NOT_LEADER_OR_FOLLOWER; a non-replica broker too', async () => {
      const c = await new Cluster({ replicas: [1, 2, 3] }).start();
      const req = c.replica(2).nextFetch(1000, 0)!.request;
      expect(errorOf(await c.replica(3).fetch(req))).to.equal('NOT_LEADER_OR_FOLLOWER');
      expect(errorOf(await c.replica(1).fetch({ ...req, replicaId: 9 }))).to.equal('NOT_LEADER_OR_FOLLOWER');
    });

    describe('long poll', () => {
      it('waits up to maxWaitMs when minBytes are not available, then answers empty', async () => {
        const c = await new Cluster().start();
        const f = track(c.consumerFetch(1, 0, { minBytes: 1, maxWaitMs: 500 }));
        await c.clock.advance(499);
        expect(f.done).to.equal(false);
        await c.clock.advance(1);
        expect(f.done).to.equal(true);
        expect(recordsOf(f.value).length).to.equal(0);
      });

      it('a follower\'s long poll is answered as soon as data is appended', async () => {
        const c = await new Cluster().start();
        const req = { ...c.replica(2).nextFetch(1 << 20, 500)!.request };
        const f = track(c.replica(1).fetch(req));
        await c.clock.advance(100);
        expect(f.done).to.equal(false);
        c.produce(1, ['x'], 1);
        await settle();
        expect(f.done).to.equal(true);
        expect(valuesIn(recordsOf(f.value))).to.deep.equal(['x']);
        expect(c.clock.nowMs()).to.equal(100);
        expect(c.clock.pendingTimers, 'the wait timer was cancelled').to.equal(0);
      });

      it('a consumer\'s long poll is answered with the data once the HW covers it', async () => {
        const c = await new Cluster({ isr: [1, 2] }).start();
        const f = track(c.consumerFetch(1, 0, { minBytes: 1, maxWaitMs: 500 }));
        await settle();
        c.produce(1, ['x'], -1);
        await settle();
        await c.catchUp(2);
        await settle();
        expect(c.replica(1).highWatermark).to.equal(1);
        expect(f.done).to.equal(true);
        // Whether it was woken at the append (bug below) or at the HW advance, it must not time out.
        expect(c.clock.nowMs()).to.equal(0);
      });

      // Regression (fixed): wakeParkedFetches() (called by produce() right after the leader append, before the HW
      // moves) answers every parked fetch with whatever fetchOnce returns, without re-checking
      // minBytes. A consumer parked at the HW is answered EMPTY at once by any acks=1/acks=all append,
      // instead of waiting for the HW to advance or maxWaitMs (Kafka's DelayedFetch.tryComplete only
      // completes when accumulated bytes >= minBytes). Consumers busy-loop under load.
      // Fix: in wakeParkedFetches, re-run fetchOnce and re-park (keeping the original deadline) when
      // the answer is not an error/diverging and records.length < minBytes.
      it('a consumer\'s long poll is not answered empty by a leader append that does not move the HW', async () => {
        const c = await new Cluster().start();
        const f = track(c.consumerFetch(1, 0, { minBytes: 1, maxWaitMs: 500 }));
        await settle();
        c.produce(1, ['x'], 1); // HW stays 0: the followers have not fetched
        await settle();
        expect(c.replica(1).highWatermark).to.equal(0);
        expect(f.done, 'answered (empty) before minBytes were available or maxWaitMs passed').to.equal(false);
      });
    });
  });

  describe('ISR', () => {
    it('shrinks through AlterPartition after replica.lag.time.max.ms without the lagging follower', async () => {
      const c = await new Cluster().start();
      for (let t = 0; t < 10; t++) {
        await c.clock.advance(1000);
        await c.catchUp(2);
      }
      c.replica(1).tick(); // now 10000: node 3 lagged exactly the limit, not more
      await settle();
      expect(c.alterRequests).to.have.length(0);
      await c.clock.advance(1);
      c.replica(1).tick();
      await settle();
      expect(c.alterRequests).to.have.length(1);
      const req = c.alterRequests[0]!;
      expect(req.newIsr).to.deep.equal([
        { brokerId: 1, brokerEpoch: 101 },
        { brokerId: 2, brokerEpoch: 102 },
      ]);
      expect(req.leaderEpoch).to.equal(1);
      expect(req.partitionEpoch).to.equal(1);
      expect(c.replica(1).state.isr).to.deep.equal([1, 2]);
      expect(c.replica(1).state.partitionEpoch).to.equal(2);
    });

    // Regression (fixed): a follower is "caught up" only when its fetch offset reaches the leader's CURRENT log end
    // (onFollowerFetch). Under steady produce load a new batch lands between any two fetches, so a
    // follower that fetches everything every time is never caught up and is dropped from the ISR after
    // replica.lag.time.max.ms. Kafka (Replica.updateFetchStateOrThrow) also counts a fetch at or past
    // the leader's log end at the time of the PREVIOUS fetch (lastFetchLeaderLogEndOffset) as caught
    // up as of that previous fetch. Fix: keep lastFetchLeaderLogEndOffset/lastFetchTimeMs per follower
    // and apply the same rule.
    it('keeps a follower that keeps up under continuous produce load in the ISR', async () => {
      const c = await new Cluster().start();
      for (let t = 0; t < 30; t++) {
        c.produce(1, [`v${t}`], 1);
        await settle();
        await c.fetchRound(2); // fetches everything there is, every 500 ms
        await c.fetchRound(3);
        await c.clock.advance(500);
        c.replica(1).tick();
        await settle();
      }
      expect(c.alterRequests.map((r) => r.newIsr.map((m) => m.brokerId))).to.deep.equal([]);
      expect(c.state.isr).to.deep.equal([1, 2, 3]);
    });

    it('expands once the follower reaches the HW, with the follower\'s broker epoch (KIP-903)', async () => {
      const c = await new Cluster({ isr: [1, 2] }).start();
      c.produce(1, ['a', 'b'], 1);
      await settle();
      await c.catchUp(2);
      expect(c.replica(1).highWatermark).to.equal(2);
      c.node(3).brokerEpoch = 777;
      await c.fetchRound(3); // at 0 < HW: no expansion
      await settle();
      expect(c.alterRequests).to.have.length(0);
      await c.fetchRound(3); // at 2 = HW
      await settle();
      expect(c.alterRequests).to.have.length(1);
      expect(c.alterRequests[0]!.newIsr).to.deep.equal([
        { brokerId: 1, brokerEpoch: 101 },
        { brokerId: 2, brokerEpoch: 102 },
        { brokerId: 3, brokerEpoch: 777 },
      ]);
      expect(c.replica(1).state.isr).to.deep.equal([1, 2, 3]);
    });

    it('expands only once the follower also reaches the start of the leader\'s epoch', async () => {
      const c = await new Cluster({ isr: [1, 2], config: { minInsyncReplicas: 1 } }).start();
      c.produce(1, ['a'], 1);
      await settle();
      await c.catchUp(2); // HW 1 on both
      c.produce(1, ['b'], 1);
      await settle();
      await c.fetchRound(2); // node 2 gets offset 1 but never reports it: leader 1's HW stays 1
      expect(c.replica(1).highWatermark).to.equal(1);
      expect(c.replica(2).highWatermark).to.equal(1);
      // Node 1 dies; node 2 leads epoch 2 from its log end 2, with node 1 still in the ISR (HW stuck at 1).
      c.crash(1);
      await c.elect(2, [2, 1]);
      expect(c.log(2).endOffsetForEpoch(1)).to.deep.equal({ epoch: 1, endOffset: 2 });
      expect(c.replica(2).highWatermark).to.equal(1);
      await c.fetchRound(3, 1); // one batch: node 3 now at 1 = HW, but before the epoch start 2
      await c.fetchRound(3, 1); // reports 1
      await settle();
      expect(c.alterRequests, 'at the HW but before the leader epoch start').to.have.length(0);
      await c.fetchRound(3, 1); // reports 2
      await settle();
      expect(c.alterRequests).to.have.length(1);
      expect(c.alterRequests[0]!.newIsr.map((m) => m.brokerId)).to.deep.equal([2, 1, 3]);
    });

    it('while a shrink is in flight the HW still counts the member being removed (union of old and new ISR)', async () => {
      const c = await new Cluster().start();
      c.holdAlters = true;
      await c.clock.advance(5000);
      await c.catchUp(2);
      await c.clock.advance(5001);
      c.replica(1).tick(); // node 3 lags: ISR [1,2,3] -> [1,2], held
      await settle();
      expect(c.alterRequests).to.have.length(1);
      c.produce(1, ['a'], 1);
      await settle();
      await c.catchUp(2);
      expect(c.replica(1).highWatermark, 'node 3 is still in the old ISR').to.equal(0);
      await c.releaseAlters();
      expect(c.replica(1).state.isr).to.deep.equal([1, 2]);
      expect(c.replica(1).highWatermark).to.equal(1);
    });

    it('while an expansion is in flight the HW already counts the joining member', async () => {
      const c = await new Cluster({ isr: [1, 2] }).start();
      c.holdAlters = true;
      await c.catchUp(3); // at 0 = HW: expansion requested, held
      await settle();
      expect(c.alterRequests.map((r) => r.newIsr.map((m) => m.brokerId))).to.deep.equal([[1, 2, 3]]);
      c.produce(1, ['a'], 1);
      await settle();
      await c.catchUp(2);
      expect(c.replica(1).highWatermark, 'node 3 joins: the HW must wait for it').to.equal(0);
      await c.catchUp(3);
      expect(c.replica(1).highWatermark).to.equal(1);
      await c.releaseAlters();
      expect(c.replica(1).state.isr).to.deep.equal([1, 2, 3]);
    });

    it('while a shrink below min.insync.replicas is in flight the HW is frozen (smaller ISR counts for the min check)', async () => {
      const c = await new Cluster({ isr: [1, 2] }).start();
      c.holdAlters = true;
      await c.clock.advance(10_001);
      c.replica(1).tick(); // ISR [1,2] -> [1], held
      await settle();
      expect(c.alterRequests).to.have.length(1);
      c.produce(1, ['a'], 1);
      await settle();
      await c.catchUp(2);
      expect(c.replica(1).highWatermark).to.equal(0);
      const p = c.produce(1, ['b'], -1);
      await settle();
      expect(errorOf(p.value)).to.equal('NOT_ENOUGH_REPLICAS');
      await c.releaseAlters();
    });
  });

  describe('leadership changes', () => {
    it('becoming a follower fails pending acks=all produces and parked fetches with NOT_LEADER_OR_FOLLOWER', async () => {
      const c = await new Cluster().start();
      const p = c.produce(1, ['a'], -1);
      await settle();
      const parked = track(c.consumerFetch(1, 0, { minBytes: 1, maxWaitMs: 5000 }));
      await settle();
      expect(p.done).to.equal(false);
      expect(parked.done).to.equal(false);
      await c.elect(2, [2, 1, 3]);
      await settle();
      expect(c.replica(1).role).to.equal('follower');
      expect(errorOf(p.value)).to.equal('NOT_LEADER_OR_FOLLOWER');
      expect(errorOf(parked.value)).to.equal('NOT_LEADER_OR_FOLLOWER');
      const q = c.produce(1, ['b'], 1);
      await settle();
      expect(errorOf(q.value)).to.equal('NOT_LEADER_OR_FOLLOWER');
      expect(c.clock.pendingTimers, 'timers cancelled').to.equal(0);
    });
  });

  describe('divergence and truncation by leader epoch', () => {
    it('KIP-101 scenario 1: a restarted follower keeps its tail above its HW, so an acknowledged write survives a failover', async () => {
      const c = await new Cluster({ replicas: [1, 2], config: { minInsyncReplicas: 1 } }).start();
      c.produce(1, ['m1'], -1);
      await settle();
      await c.catchUp(2);
      const m2 = c.produce(1, ['m2'], -1);
      await settle();
      await c.fetchRound(2); // node 2 reports 1, receives m2 at offset 1
      await c.fetchRound(2); // reports 2: leader HW 2, m2 acknowledged
      await settle();
      expect(ok(m2.value).lastOffset).to.equal(1);
      // Node 2's HW is at most what the leader told it; it may trail the leader's. Restart it.
      c.crash(2);
      await c.restart(2);
      expect(c.log(2).logEndOffset, 'no truncation to the HW on restart').to.equal(2);
      // Node 1 dies; node 2 leads.
      c.crash(1);
      await c.elect(2, [2]);
      expect(valuesIn(recordsOf(await c.consumerFetch(2, 0)))).to.deep.equal(['m1', 'm2']);
      // Node 1 comes back as a follower: nothing diverged, nothing truncated.
      await c.restart(1);
      c.produce(2, ['m3'], 1);
      await settle();
      await c.catchUp(1);
      expect(c.log(1).truncations).to.deep.equal([]);
      expectSameLog(c.log(1), c.log(2));
    });

    it('KIP-320 for consumers: a consumer that read data an unclean election later truncated is told where its epoch ends', async () => {
      const c = await new Cluster({ replicas: [1, 2], config: { minInsyncReplicas: 1 } }).start();
      c.produce(1, ['m1'], 1);
      await settle();
      await c.catchUp(2);
      await c.elect(1, [1]); // node 2 left the ISR: what node 1 alone holds is committed (epoch 2)
      c.produce(1, ['m2'], 1); // offset 1, epoch 2, committed by the ISR {1}, never on node 2
      await settle();
      expect(valuesIn(recordsOf(await c.consumerFetch(1, 0)))).to.deep.equal(['m1', 'm2']);
      c.crash(1);
      await c.elect(2, [2]); // unclean: node 2 was out of the ISR (epoch 3)
      // The consumer read up to offset 2, last in epoch 2; node 2's epoch 2 ended at offset 1.
      expect(await c.consumerFetch(2, 2, { lastFetchedEpoch: 2, currentLeaderEpoch: 3 })).to.deep.include({ divergingEpoch: { epoch: 1, endOffset: 1 } });
      // A consumer with nothing to fear fetches normally, with or without its last epoch.
      expect(errorOf(await c.consumerFetch(2, 1, { lastFetchedEpoch: 1, currentLeaderEpoch: 3 }))).to.equal(undefined);
      expect(await c.consumerFetch(2, 1, { lastFetchedEpoch: 1 })).to.have.property('records');
    });

    it('KIP-101 scenario 2: an old leader\'s uncommitted tail diverges from the new leader\'s and is replaced', async () => {
      const c = await new Cluster({ replicas: [1, 2], config: { minInsyncReplicas: 1 } }).start();
      c.produce(1, ['m1'], 1);
      await settle();
      await c.catchUp(2);
      expect(c.replica(2).highWatermark).to.equal(1);
      c.produce(1, ['m2'], 1); // offset 1, epoch 1: never replicated
      await settle();
      c.crash(1);
      await c.elect(2, [2]);
      c.produce(2, ['m3', 'm4'], 1); // offsets 1-2, epoch 2
      await settle();
      await c.restart(1);
      const round = await c.fetchRound(1);
      expect(round.request).to.include({ fetchOffset: 2, lastFetchedEpoch: 1, currentLeaderEpoch: 2 });
      expect(round.response).to.deep.include({ divergingEpoch: { epoch: 1, endOffset: 1 } });
      expect(c.log(1).logEndOffset).to.equal(1);
      expect(c.log(1).truncations).to.deep.equal([1]);
      await c.catchUp(1);
      expectSameLog(c.log(1), c.log(2));
      expect(valuesIn(c.log(1).bytes())).to.deep.equal(['m1', 'm3', 'm4']);
    });

    it('KIP-279: after two quick leader changes a follower holds an epoch the leader never had, and iterates back to the common point', async () => {
      // Epoch 1: node 1 leads, all hold offsets 0-1. Epoch 2: node 2 leads, writes offset 2 (unreplicated).
      // Epoch 3: node 3 leads, writes offsets 2-3. Epoch 4: node 2 leads again (its offset 2 is of epoch 2,
      // unknown to node 3's log). Node 3, now a follower, has epoch 3 that node 2 never had.
      const c = await new Cluster({ config: { minInsyncReplicas: 1 } }).start();
      c.produce(1, ['a', 'b'], 1);
      await settle();
      await c.catchUp(2);
      await c.catchUp(3);
      await c.catchUp(2);
      expect(c.replica(2).highWatermark).to.equal(2);
      c.crash(1);
      await c.elect(2, [2, 3]);
      c.produce(2, ['epoch2'], 1);
      await settle();
      c.crash(2);
      await c.elect(3, [3, 2]); // node 2 (down) stays in the ISR: node 3's writes stay uncommitted
      c.produce(3, ['epoch3-a'], 1);
      c.produce(3, ['epoch3-b'], 1);
      await settle();
      expect(c.replica(3).highWatermark).to.equal(2);
      c.crash(3);
      await c.restart(2);
      await c.elect(2, [2, 3]);
      c.produce(2, ['epoch4'], 1);
      await settle();
      expect(c.log(2).layout()).to.deep.equal([[0, 1, 1], [2, 2, 2], [3, 3, 4]]);
      await c.restart(3);
      expect(c.log(3).layout()).to.deep.equal([[0, 1, 1], [2, 2, 3], [3, 3, 3]]);
      const first = await c.fetchRound(3);
      // Node 2 answers for epoch 3 with its largest epoch <= 3 (2), which ends at 3.
      expect(first.response).to.deep.include({ divergingEpoch: { epoch: 2, endOffset: 3 } });
      // Node 3 has no epoch 2: it truncates to the end of its largest epoch below 2 (epoch 1, end 2).
      expect(c.log(3).logEndOffset).to.equal(2);
      await c.catchUp(3);
      expect(c.log(3).truncations.every((t) => t >= 2), 'never below the HW').to.equal(true);
      expectSameLog(c.log(3), c.log(2));
      expect(valuesIn(c.log(3).bytes())).to.deep.equal(['a', 'b', 'epoch2', 'epoch4']);
      // Node 1 (epoch 1 only) rejoins without truncating anything.
      await c.restart(1);
      await c.catchUp(1);
      expect(c.log(1).truncations).to.deep.equal([]);
      expectSameLog(c.log(1), c.log(2));
    });

    it('KIP-279: a follower whose tail epoch is longer than the leader\'s same epoch truncates to the leader\'s end of it', async () => {
      const c = await new Cluster({ config: { minInsyncReplicas: 1 } }).start();
      c.produce(1, ['a'], 1);
      await settle();
      for (const id of [2, 3]) await c.catchUp(id);
      for (const id of [2, 3]) await c.catchUp(id);
      c.produce(1, ['b'], 1);
      c.produce(1, ['c'], 1);
      await settle();
      await c.fetchRound(2); // node 2 gets b, c (epoch 1); node 3 gets nothing more
      c.crash(1);
      await c.elect(3, [3, 2]); // epoch 2 from offset 1
      c.produce(3, ['d'], 1);
      await settle();
      c.crash(3);
      await c.elect(2, [2]); // epoch 3 from offset 3 (node 2 never saw epoch 2)
      c.produce(2, ['e'], 1);
      await settle();
      await c.restart(3);
      // Node 3: lastFetchedEpoch 2; node 2's largest epoch <= 2 is 1, ending at 3 > node 3's end 2.
      const first = await c.fetchRound(3);
      expect(first.response).to.deep.include({ divergingEpoch: { epoch: 1, endOffset: 3 } });
      expect(c.log(3).logEndOffset).to.equal(1);
      await c.catchUp(3);
      expectSameLog(c.log(3), c.log(2));
      expect(valuesIn(c.log(3).bytes())).to.deep.equal(['a', 'b', 'c', 'e']);
    });

    it('an uncommitted first write of a brand-new partition is replaced after failover (leader answers with Kafka\'s epoch-below-all semantics)', async () => {
      const c = await new Cluster({ replicas: [1, 2], config: { minInsyncReplicas: 1 }, log: { belowAllEpochs: 'kafka' } }).start();
      c.produce(1, ['lost'], 1); // offset 0, epoch 1, never replicated
      await settle();
      c.crash(1);
      await c.elect(2, [2]); // node 2's cache: epoch 2 from 0 only
      c.produce(2, ['kept'], 1);
      await settle();
      await c.restart(1);
      await c.catchUp(1);
      expectSameLog(c.log(1), c.log(2));
      expect(valuesIn(c.log(1).bytes())).to.deep.equal(['kept']);
    });

    // Regression (fixed): when the follower's last epoch is below every epoch in the leader's cache, the log answers
    // endOffsetForEpoch with {epoch: -1, endOffset: -1} (the contract this fake implements by default).
    // fetchOnce passes that on as divergingEpoch {-1, -1}; the follower's truncateForDivergence then
    // looks up its own endOffsetForEpoch(-1) = {-1, -1}, computes a truncation offset of -1 and trips
    // its assertion "truncation to -1 below the high watermark 0": handleFetchResponse REJECTS with an
    // AssertionError (a crashed node), for an ordinary failover of a new partition.
    // Steps: replicas [1,2], min ISR 1; leader 1 (epoch 1) appends offset 0, unreplicated; elect 2
    // (epoch 2, cache {2@0}); node 1 follows: fetchOffset 1, lastFetchedEpoch 1.
    // Expected: node 1 truncates to 0 and replicates node 2's log. Actual: AssertionError.
    // Fix: in fetchOnce, when end.epoch < 0 answer as Kafka's cache does —
    // {epoch: req.lastFetchedEpoch, endOffset: <start of the leader's first epoch>} — or in
    // truncateForDivergence treat diverging.epoch < 0 as "truncate to the leader's first epoch start,
    // but not below the HW". Also document in ReplicaLog which answer endOffsetForEpoch gives here
    // (Kafka's LeaderEpochFileCache.endOffsetFor returns (requestedEpoch, firstEntry.startOffset)).
    it('an uncommitted first write of a brand-new partition is replaced after failover (epoch below all → {-1, -1})', async () => {
      const c = await new Cluster({ replicas: [1, 2], config: { minInsyncReplicas: 1 } }).start();
      c.produce(1, ['lost'], 1);
      await settle();
      c.crash(1);
      await c.elect(2, [2]);
      c.produce(2, ['kept'], 1);
      await settle();
      await c.restart(1);
      let thrown: unknown;
      try {
        await c.catchUp(1);
      } catch (e) {
        thrown = e;
      }
      expect(thrown).to.not.be.instanceOf(AssertionError);
      expectSameLog(c.log(1), c.log(2));
    });

    it('a diverging answer never truncates a follower below its HW (the replica asserts it)', async () => {
      const c = await new Cluster({ replicas: [1, 2], config: { minInsyncReplicas: 1 } }).start();
      c.produce(1, ['a'], 1);
      c.produce(1, ['b'], 1);
      await settle();
      await c.catchUp(2);
      expect(c.replica(2).highWatermark).to.equal(2);
      // A (buggy or malicious) leader claims the follower diverged at offset 1 of epoch 1.
      const req = c.replica(2).nextFetch(1000, 0)!.request;
      let thrown: unknown;
      try {
        await c.replica(2).handleFetchResponse(req, { divergingEpoch: { epoch: 1, endOffset: 1 }, highWatermark: 2 });
      } catch (e) {
        thrown = e;
      }
      expect(thrown).to.be.instanceOf(AssertionError);
      expect(c.log(2).logEndOffset).to.equal(2);
    });
  });

  describe('idempotent producer', () => {
    const P = { producerId: 42, producerEpoch: 0 };

    it('answers a retried batch with its original offsets (duplicate) and does not append it twice', async () => {
      const c = await new Cluster().start();
      const first = c.produce(1, ['a', 'b'], 1, { producer: { ...P, baseSequence: 0 } });
      c.produce(1, ['c'], 1, { producer: { ...P, baseSequence: 2 } });
      await settle();
      expect(ok(first.value)).to.deep.equal({ baseOffset: 0, lastOffset: 1, duplicate: false });
      const retry = c.produce(1, ['a', 'b'], 1, { producer: { ...P, baseSequence: 0 } });
      await settle();
      expect(ok(retry.value)).to.deep.equal({ baseOffset: 0, lastOffset: 1, duplicate: true });
      expect(c.log(1).logEndOffset).to.equal(3);
    });

    it('rejects a sequence gap with OUT_OF_ORDER_SEQUENCE and an older producer epoch with INVALID_PRODUCER_EPOCH', async () => {
      const c = await new Cluster().start();
      c.produce(1, ['a'], 1, { producer: { producerId: 42, producerEpoch: 3, baseSequence: 0 } });
      await settle();
      const gap = c.produce(1, ['c'], 1, { producer: { producerId: 42, producerEpoch: 3, baseSequence: 2 } });
      const zombie = c.produce(1, ['z'], 1, { producer: { producerId: 42, producerEpoch: 2, baseSequence: 1 } });
      await settle();
      expect(errorOf(gap.value)).to.equal('OUT_OF_ORDER_SEQUENCE');
      expect(errorOf(zombie.value)).to.equal('INVALID_PRODUCER_EPOCH');
      expect(c.log(1).logEndOffset).to.equal(1);
    });

    it('a follower that becomes leader still recognises the duplicate (followers record producer state)', async () => {
      const c = await new Cluster().start();
      const first = c.produce(1, ['a', 'b'], -1, { producer: { ...P, baseSequence: 0 } });
      await settle();
      await c.catchUp(2);
      await c.catchUp(3);
      await settle();
      expect(ok(first.value).lastOffset).to.equal(1);
      c.crash(1);
      await c.elect(2, [2, 3]);
      const retry = c.produce(2, ['a', 'b'], -1, { producer: { ...P, baseSequence: 0 } });
      await settle();
      // acks=all: even a duplicate is answered only once the new leader's HW covers it.
      expect(retry.done).to.equal(false);
      await c.catchUp(3);
      await settle();
      expect(ok(retry.value)).to.deep.equal({ baseOffset: 0, lastOffset: 1, duplicate: true });
      expect(c.log(2).logEndOffset).to.equal(2);
      const next = c.produce(2, ['c'], 1, { producer: { ...P, baseSequence: 2 } });
      await settle();
      expect(ok(next.value)).to.deep.equal({ baseOffset: 2, lastOffset: 2, duplicate: false });
    });

    it('a retry of a batch truncated away on a follower-become-leader is appended again, not answered from stale state', async () => {
      const c = await new Cluster({ replicas: [1, 2], config: { minInsyncReplicas: 1 } }).start();
      c.produce(1, ['a'], 1, { producer: { ...P, baseSequence: 0 } });
      await settle();
      await c.catchUp(2);
      c.produce(1, ['b'], 1, { producer: { ...P, baseSequence: 1 } }); // on node 1 only
      await settle();
      c.crash(1);
      await c.elect(2, [2]);
      c.produce(2, ['x'], 1);
      await settle();
      await c.restart(1);
      await c.catchUp(1); // node 1 truncates 'b' away (and its producer state)
      await c.elect(1, [1, 2]);
      const retry = c.produce(1, ['b'], 1, { producer: { ...P, baseSequence: 1 } });
      await settle();
      expect(ok(retry.value)).to.deep.equal({ baseOffset: 2, lastOffset: 2, duplicate: false });
      expect(valuesIn(c.log(1).bytes())).to.deep.equal(['a', 'x', 'b']);
    });
  });
});
