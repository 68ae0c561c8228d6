/**
 * Regressions of PartitionReplica (src/partitions/replica.ts), each a bug that once shipped, on a
 * FakeReplicaLog with a manual clock. No wall-clock time: `settle()` only drains promise callbacks.
 */
import { expect } from 'chai';
import type { PartitionState } from '../../src/metadata/image.js';
import type { AlterPartitionResponse } from '../../src/metadata/rpc.js';
import type { PartitionErrorResult } from '../../src/partitions/errors.js';
import { ProducerStateTable } from '../../src/partitions/producer-state.js';
import { encodeRecordBatch, readBatchHeader } from '../../src/partitions/record-batch.js';
import { PartitionReplica, type Acks, type ProduceResult, type ReplicaConfig } from '../../src/partitions/replica.js';
import type { CancelTimer, Clock } from '../../src/util/clock.js';
import { FakeReplicaLog } from './fake-replica-log.js';

async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/** Time never moves here: timers are registered and can be counted, never fired. */
class StillClock implements Clock {
  nowMs(): number {
    return 0;
  }
  setTimer(_delayMs: number, _fn: () => void): CancelTimer {
    return () => {};
  }
}

const CONFIG: ReplicaConfig = { minInsyncReplicas: 2, replicaLagTimeMaxMs: 10_000, flush: 'always', uncleanLeaderElection: false };

function state(leader: number, leaderEpoch: number, partitionEpoch: number): PartitionState {
  return { topicId: 'topic-1', partition: 0, replicas: [1, 2, 3], isr: [1, 2, 3], leader, leaderEpoch, partitionEpoch };
}

function produce(replica: PartitionReplica, value: string, acks: Acks): { answer?: ProduceResult | PartitionErrorResult } {
  const batch = encodeRecordBatch([{ key: null, value: new TextEncoder().encode(value) }], { timestampMs: 1_700_000_000_000 });
  const h = readBatchHeader(batch);
  if (h === 'truncated') throw new Error('truncated');
  const out: { answer?: ProduceResult | PartitionErrorResult } = {};
  void replica
    .produce(batch, acks, 30_000, { producerId: h.producerId, producerEpoch: h.producerEpoch, baseSequence: h.baseSequence, lastSequence: h.lastSequence })
    .then((a) => (out.answer = a));
  return out;
}

/** Leader 1 of a partition on brokers 1..3, its fsyncs held. */
async function heldLeader(): Promise<{ replica: PartitionReplica; log: FakeReplicaLog }> {
  const log = new FakeReplicaLog();
  log.holdFlush = true;
  const replica = new PartitionReplica(
    {
      brokerId: 1,
      topicName: 't',
      log,
      producers: new ProducerStateTable(),
      clock: new StillClock(),
      logger: () => {},
      brokerEpoch: () => 101,
      alterPartition: () => new Promise<AlterPartitionResponse>(() => {}),
    },
    state(1, 1, 1),
    CONFIG,
  );
  await replica.applyMetadata(state(1, 1, 1), CONFIG);
  return { replica, log };
}

describe('PartitionReplica regressions', () => {
  // The bug: produce() checked leadership only before the append. With flush=always it then awaited
  // the fsync; if meanwhile the broker lost leadership and regained it in a newer epoch, it answered
  // success for offsets the interim leader may have overwritten (and this broker truncated to). The
  // fix: after each await, the replica must still lead in the epoch of the append.
  it('flush=always: a leader that loses and regains leadership (new epoch) while its fsync is held answers NOT_LEADER_OR_FOLLOWER for acks=1 and acks=all', async () => {
    const { replica, log } = await heldLeader();
    const one = produce(replica, 'acks1', 1);
    const all = produce(replica, 'acksAll', -1);
    await settle();
    expect(log.logEndOffset, 'both appended').to.equal(2);
    expect(log.pendingFlushes, 'both wait for the fsync').to.equal(2);
    expect(one.answer).to.equal(undefined);
    expect(all.answer).to.equal(undefined);
    await replica.applyMetadata(state(2, 2, 2), CONFIG); // broker 2 leads epoch 2
    await replica.applyMetadata(state(1, 3, 3), CONFIG); // and broker 1 again, in epoch 3
    expect(replica.role).to.equal('leader');
    log.releaseFlush();
    await settle();
    expect(one.answer, 'acks=1: outcome unknown').to.have.property('error', 'NOT_LEADER_OR_FOLLOWER');
    expect(all.answer, 'acks=all: outcome unknown').to.have.property('error', 'NOT_LEADER_OR_FOLLOWER');
  });

  it('control: with no leadership change the same held fsync, once released, answers acks=1 with its offset', async () => {
    const { replica, log } = await heldLeader();
    const one = produce(replica, 'acks1', 1);
    await settle();
    expect(one.answer, 'not before the fsync').to.equal(undefined);
    log.releaseFlush();
    await settle();
    expect(one.answer).to.deep.equal({ baseOffset: 0, lastOffset: 0, duplicate: false });
  });

  it('flush=always: an acks=all produce waiting for the HW when leadership bounces (new epoch) is not answered with success when the HW later covers it', async () => {
    const { replica, log } = await heldLeader();
    const all = produce(replica, 'acksAll', -1);
    await settle();
    log.releaseFlush();
    await settle();
    expect(all.answer, 'waiting for the followers').to.equal(undefined);
    await replica.applyMetadata(state(2, 2, 2), CONFIG);
    await replica.applyMetadata(state(1, 3, 3), CONFIG);
    log.holdFlush = false;
    // Both followers now fetch past the batch in epoch 3: the HW covers offset 0.
    for (const id of [2, 3]) {
      await replica.fetch({ replicaId: id, brokerEpoch: 100 + id, sequence: -1, fetchOffset: 1, lastFetchedEpoch: 1, currentLeaderEpoch: 3, maxBytes: 1 << 20, minBytes: 0, maxWaitMs: 0 });
    }
    await settle();
    expect(log.highWatermark, 'the HW moved past the batch').to.equal(1);
    expect(all.answer).to.have.property('error', 'NOT_LEADER_OR_FOLLOWER');
  });
});

describe('PartitionReplica: stopped replicas', () => {
  // The bug: a topic created and deleted at once. The replica manager stopped the replica and closed
  // its log while the creation's leadership change still waited in the replica's queue; that change
  // then assigned a leader epoch on the closed log, which threw and stopped the whole node.
  it('a metadata change queued before stop() does not touch the (closed) log', async () => {
    const { replica, log } = await heldLeader();
    log.assignEpoch = (epoch: number) => {
      throw new Error(`the log is closed (assignEpoch ${epoch} after stop)`);
    };
    const later = replica.applyMetadata(state(1, 2, 2), CONFIG);
    replica.stop();
    await later; // rejected before the fix
    expect(replica.role).to.equal('offline');
  });
});

describe('PartitionReplica: stale follower fetches', () => {
  // Found by simulation seed 464: a follower rebuilt its damaged log from offset 0, but a duplicated
  // fetch it had sent before (offset 1135) reached the leader afterwards, which took it as caught up,
  // put it back in the ISR, and later made it leader with a fraction of the log. Followers now number
  // their fetches; the leader learns progress only from a newer fetch than it has seen.
  it('an older (delayed or duplicated) fetch does not move a follower\'s known progress', async () => {
    const { replica, log } = await heldLeader();
    log.holdFlush = false;
    for (let i = 0; i < 4; i++) produce(replica, `v${i}`, 1);
    await new Promise((resolve) => setImmediate(resolve));
    const fetch = (sequence: number, fetchOffset: number) =>
      replica.fetch({ replicaId: 2, brokerEpoch: 102, sequence, fetchOffset, lastFetchedEpoch: 1, currentLeaderEpoch: 1, maxBytes: 1 << 20, minBytes: 0, maxWaitMs: 0 });
    const fetch3 = (sequence: number, fetchOffset: number) =>
      replica.fetch({ replicaId: 3, brokerEpoch: 103, sequence, fetchOffset, lastFetchedEpoch: 1, currentLeaderEpoch: 1, maxBytes: 1 << 20, minBytes: 0, maxWaitMs: 0 });
    await fetch(5, 1);
    await fetch3(1, 4);
    expect(replica.highWatermark, 'min over the ISR: follower 2 is at 1').to.equal(1);
    await fetch(4, 4); // an old fetch claiming offset 4 arrives late
    expect(replica.highWatermark, 'the stale fetch did not count').to.equal(1);
    await fetch(6, 4);
    expect(replica.highWatermark).to.equal(4);
  });
});

describe('PartitionReplica: ListOffsets', () => {
  it('earliest is the log start, latest the HW (what consumers may read); only the leader answers', async () => {
    const { replica, log } = await heldLeader();
    log.holdFlush = false;
    for (let i = 0; i < 3; i++) produce(replica, `v${i}`, 1);
    await new Promise((resolve) => setImmediate(resolve));
    expect(log.logEndOffset).to.equal(3);
    expect(await replica.listOffset(-2)).to.deep.equal({ offset: 0, timestamp: -1 });
    expect(await replica.listOffset(-1), 'nothing committed yet: the HW is 0').to.deep.equal({ offset: 0, timestamp: -1 });
    await replica.fetch({ replicaId: 2, brokerEpoch: 102, sequence: 1, fetchOffset: 3, lastFetchedEpoch: 1, currentLeaderEpoch: 1, maxBytes: 1 << 20, minBytes: 0, maxWaitMs: 0 });
    await replica.fetch({ replicaId: 3, brokerEpoch: 103, sequence: 1, fetchOffset: 3, lastFetchedEpoch: 1, currentLeaderEpoch: 1, maxBytes: 1 << 20, minBytes: 0, maxWaitMs: 0 });
    expect(await replica.listOffset(-1)).to.deep.equal({ offset: 3, timestamp: -1 });
    await replica.applyMetadata(state(2, 2, 2), CONFIG);
    expect((await replica.listOffset(-1)) as { error?: string }).to.have.property('error', 'NOT_LEADER_OR_FOLLOWER');
  });
});
