/**
 * The producer's ordering and idempotence rules against a scripted broker (a stand-in Cluster whose
 * produce requests the test answers one by one), for the answers a real cluster gives only under
 * rare faults:
 * - a batch behind a failed one gets OUT_OF_ORDER_SEQUENCE: the echo of the first failure, retried;
 *   both go again in sequence order, one at a time, and nothing new overtakes them;
 * - OUT_OF_ORDER_SEQUENCE for the first unacknowledged batch, and INVALID_PRODUCER_EPOCH, are fatal:
 *   that call fails with the error, later calls with ProducerFencedError carrying it as `cause`;
 * - after a batch is refused for good, the sequences restart under a new producer id: a waiting batch
 *   the broker provably did not write is re-sealed and goes again; one that may be in the log (an
 *   attempt timed out) fails instead (resent under the new id it could be written twice).
 */
import { expect } from 'chai';
import type { Cluster, TopicInfo } from '../../src/client/cluster.js';
import { InvalidProducerEpochError, OutOfOrderSequenceError, ProducerFencedError } from '../../src/client/errors.js';
import { Producer } from '../../src/client/producer.js';
import { realClientClock } from '../../src/client/retry.js';
import type { ProduceRequest, ProduceResponse } from '../../src/net/protocol.js';
import { readBatchHeader, type BatchHeader } from '../../src/partitions/record-batch.js';
import { SeededRandom } from '../../src/util/random.js';
import { rejection } from '../support/promises.js';

interface PendingProduce {
  readonly header: BatchHeader;
  readonly answer: (response: ProduceResponse) => void;
}

/** A Cluster stand-in: one topic with one partition led by broker 1; produce requests wait for the test. */
class ScriptedCluster {
  readonly clock = realClientClock;
  readonly random = new SeededRandom(5);
  readonly requestTimeoutMs = 5000;
  readonly produced: PendingProduce[] = [];
  private nextProducerId = 100;

  async connect(): Promise<void> {}
  async close(): Promise<void> {}
  invalidate(): void {}

  async topic(name: string): Promise<TopicInfo> {
    return { name, topicId: 'topic-id', partitions: [{ partition: 0, leader: 1, leaderEpoch: 0, replicas: [1], isr: [1] }] };
  }

  async requestAny(kind: string): Promise<unknown> {
    if (kind !== 'init-producer-id') throw new Error(`unexpected ${kind}`);
    return { producerId: this.nextProducerId++, producerEpoch: 0 };
  }

  request(_broker: number, kind: string, body: ProduceRequest): Promise<ProduceResponse> {
    if (kind !== 'produce') throw new Error(`unexpected ${kind}`);
    const header = readBatchHeader(body.records);
    if (header === 'truncated') throw new Error('truncated batch');
    return new Promise((resolve) => this.produced.push({ header, answer: resolve }));
  }

  /** Waits until `n` produce requests have been made in total. */
  async requests(n: number): Promise<PendingProduce[]> {
    const deadline = Date.now() + 10_000;
    while (this.produced.length < n) {
      if (Date.now() > deadline) throw new Error(`expected ${n} produce requests, saw ${this.produced.length}`);
      await new Promise((r) => setTimeout(r, 5));
    }
    return this.produced;
  }
}

const ok = (baseOffset: number, count: number): ProduceResponse => ({ baseOffset, lastOffset: baseOffset + count - 1, duplicate: false });
const err = (error: 'NOT_LEADER_OR_FOLLOWER' | 'OUT_OF_ORDER_SEQUENCE' | 'INVALID_PRODUCER_EPOCH' | 'MESSAGE_TOO_LARGE' | 'REQUEST_TIMED_OUT'): ProduceResponse => ({ error, message: error.toLowerCase() });

describe('client producer: sequencing rules (scripted broker)', () => {
  let cluster: ScriptedCluster;
  let producer: Producer;

  beforeEach(async () => {
    cluster = new ScriptedCluster();
    producer = new Producer(cluster as unknown as Cluster, { lingerMs: 0, maxInFlightRequests: 5, retry: { initialRetryTimeMs: 5, maxRetryTimeMs: 10 } });
    await producer.connect();
  });

  afterEach(async () => {
    // Answer whatever is left so disconnect's flush can finish.
    for (const p of cluster.produced) p.answer(ok(0, p.header.recordCount));
    await producer.disconnect().catch(() => undefined);
  });

  it('retries an OUT_OF_ORDER_SEQUENCE echo behind a failed batch, in sequence order, before new batches', async () => {
    const a = producer.send({ topic: 't', messages: [{ value: 'a1' }, { value: 'a2' }] });
    await cluster.requests(1);
    const b = producer.send({ topic: 't', messages: [{ value: 'b' }] });
    const [first, second] = await cluster.requests(2);
    expect([first!.header.baseSequence, second!.header.baseSequence]).to.deep.equal([0, 2]);

    // The leader moved: the first fails retriably, the second arrives at a broker that lacks sequences 0-1.
    first!.answer(err('NOT_LEADER_OR_FOLLOWER'));
    second!.answer(err('OUT_OF_ORDER_SEQUENCE'));
    // A new call meanwhile must wait behind the two retries.
    const c = producer.send({ topic: 't', messages: [{ value: 'c' }] });

    const third = (await cluster.requests(3))[2]!;
    expect(third.header.baseSequence).to.equal(0); // the first batch again, alone
    await new Promise((r) => setTimeout(r, 30));
    expect(cluster.produced).to.have.length(3); // one at a time while retrying
    third.answer(ok(10, 2));
    const fourth = (await cluster.requests(4))[3]!;
    expect(fourth.header.baseSequence).to.equal(2);
    fourth.answer(ok(12, 1));
    const fifth = (await cluster.requests(5))[4]!;
    expect(fifth.header.baseSequence).to.equal(3); // only now the new call
    fifth.answer(ok(13, 1));

    expect(await a).to.deep.equal([{ topic: 't', partition: 0, baseOffset: 10 }]);
    expect(await b).to.deep.equal([{ topic: 't', partition: 0, baseOffset: 12 }]);
    expect(await c).to.deep.equal([{ topic: 't', partition: 0, baseOffset: 13 }]);
    // Retries resend the very same producer identity.
    expect(new Set(cluster.produced.map((p) => p.header.producerId))).to.deep.equal(new Set([100]));
    expect(producer.stats().retries).to.equal(2);
  });

  it('is fatal on OUT_OF_ORDER_SEQUENCE for the first unacknowledged batch', async () => {
    const a = producer.send({ topic: 't', messages: [{ value: 'a' }] });
    (await cluster.requests(1))[0]!.answer(ok(0, 1));
    await a;
    const b = producer.send({ topic: 't', messages: [{ value: 'b' }] });
    const second = (await cluster.requests(2))[1]!;
    expect(second.header.baseSequence).to.equal(1);
    second.answer(err('OUT_OF_ORDER_SEQUENCE'));
    expect(await rejection(b)).to.be.instanceOf(OutOfOrderSequenceError);
    const later = await rejection(producer.send({ topic: 't', messages: [{ value: 'c' }] }));
    expect(later).to.be.instanceOf(ProducerFencedError);
    expect((later as ProducerFencedError).cause).to.be.instanceOf(OutOfOrderSequenceError);
    expect(cluster.produced).to.have.length(2);
  });

  it('after a refused batch, fails a waiting batch that was sent before rather than resend it under the new producer id', async () => {
    const a = producer.send({ topic: 't', messages: [{ value: 'a' }] });
    await cluster.requests(1);
    const b = producer.send({ topic: 't', messages: [{ value: 'b' }] });
    const [first, second] = await cluster.requests(2);
    // The second batch's outcome is unknown (it may have been appended), so it waits for a retry ...
    second!.answer(err('REQUEST_TIMED_OUT'));
    // ... behind the first, which is refused for good: a gap in the sequences, a new producer id.
    first!.answer(err('MESSAGE_TOO_LARGE'));
    expect(await rejection(a)).to.have.property('code', 'MESSAGE_TOO_LARGE');
    const refusedB = await rejection(b);
    expect(refusedB.message).to.contain('may have been written');
    const c = producer.send({ topic: 't', messages: [{ value: 'c' }] });
    const third = (await cluster.requests(3))[2]!;
    expect([third.header.producerId, third.header.baseSequence], 'the next call starts the new identity').to.deep.equal([101, 0]);
    third.answer(ok(7, 1));
    expect(await c).to.deep.equal([{ topic: 't', partition: 0, baseOffset: 7 }]);
    expect(cluster.produced.filter((p) => p.header.producerId === 101), '"b" never went out again').to.have.length(1);
  });

  it('after a refused batch, re-seals a waiting batch the broker provably did not write and sends it under the new producer id', async () => {
    const a = producer.send({ topic: 't', messages: [{ value: 'a' }] });
    await cluster.requests(1);
    const b = producer.send({ topic: 't', messages: [{ value: 'b' }] });
    const [first, second] = await cluster.requests(2);
    second!.answer(err('OUT_OF_ORDER_SEQUENCE')); // the echo: not written
    first!.answer(err('MESSAGE_TOO_LARGE'));
    expect(await rejection(a)).to.have.property('code', 'MESSAGE_TOO_LARGE');
    const third = (await cluster.requests(3))[2]!;
    expect([third.header.producerId, third.header.baseSequence], '"b" again, first of the new identity').to.deep.equal([101, 0]);
    third.answer(ok(5, 1));
    expect(await b).to.deep.equal([{ topic: 't', partition: 0, baseOffset: 5 }]);
  });

  it('is fatal on INVALID_PRODUCER_EPOCH', async () => {
    const a = producer.send({ topic: 't', messages: [{ value: 'a' }] });
    const first = (await cluster.requests(1))[0]!;
    first.answer(err('INVALID_PRODUCER_EPOCH'));
    expect(await rejection(a)).to.be.instanceOf(InvalidProducerEpochError);
    expect(await rejection(producer.send({ topic: 't', messages: [{ value: 'b' }] }))).to.be.instanceOf(ProducerFencedError);
  });
});
