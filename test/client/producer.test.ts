/**
 * The producer against a real 3-node cluster in-process (real sockets, real disk). What it wrote is
 * read back with raw fetches from the partition leaders (test/support/client-test-cluster.ts), so
 * these tests check the bytes on the brokers, not the client's own view:
 * - keys, values, headers, timestamps and offsets as sent, on the partition murmur2 picks;
 * - batching: concurrent sends to one partition share one record batch (one produce request);
 *   batch.size splits; keyless records stick to one partition (KIP-480);
 * - acks 0 / 1 / all, sendBatch over two topics, callbacks, fire-and-forget flushed by disconnect;
 * - bad input rejected before anything is sent (the partition stays empty);
 * - idempotence: the partition leader is stopped mid-stream while sends continue; every acknowledged
 *   record is in the log exactly once, in send order.
 */
import { expect } from 'chai';
import { Skein } from '../../src/client/skein.js';
import type { Producer } from '../../src/client/producer.js';
import type { Admin } from '../../src/client/admin.js';
import { DeliveryTimeoutError, InvalidArgumentError, MessageTooLargeError, NotConnectedError, NotEnoughReplicasError, SkeinError, UnknownTopicError } from '../../src/client/errors.js';
import { keyPartition } from '../../src/client/partitioner.js';
import type { RecordMetadata } from '../../src/client/producer-messages.js';
import { ClientTestCluster, text, waitFor } from '../support/client-test-cluster.js';
import { rejection } from '../support/promises.js';

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('client producer (3 nodes)', function () {
  this.timeout(60_000);

  let cluster: ClientTestCluster;
  let skein: Skein;
  let admin: Admin;
  const producers: Producer[] = [];

  before(async () => {
    cluster = await ClientTestCluster.start(3);
    skein = new Skein({ brokers: cluster.urls, clientId: 'producer-test', requestTimeoutMs: 5000 });
    admin = skein.admin();
    await admin.connect();
  });

  after(async () => {
    await Promise.all(producers.map((p) => p.disconnect().catch(() => undefined)));
    await admin?.disconnect();
    await cluster?.stop();
  });

  async function producer(options: Parameters<Skein['producer']>[0] = {}): Promise<Producer> {
    const p = skein.producer(options);
    producers.push(p);
    await p.connect();
    return p;
  }

  async function topic(name: string, numPartitions = 3): Promise<void> {
    expect(await admin.createTopics({ topics: [{ topic: name, numPartitions, replicationFactor: 3 }] })).to.equal(true);
  }

  it('writes keys, values, headers and timestamps to the murmur2 partition, with the offsets it reports', async () => {
    await topic('basic');
    const p = await producer();
    const result = await p.send({
      topic: 'basic',
      messages: [
        { key: 'user-1', value: 'hello', headers: { source: 'test', trace: utf8('abc'), multi: ['x', 'y'] }, timestamp: 1_700_000_000_000 },
        { key: 'user-1', value: utf8('world'), timestamp: '1700000000001' },
        { key: 'user-1', value: null },
      ],
    });
    const partition = keyPartition(utf8('user-1'), 3);
    expect(result).to.deep.equal([{ topic: 'basic', partition, baseOffset: 0 }]);

    const batches = await cluster.fetchAll('basic', partition);
    expect(batches).to.have.length(1); // one send, one batch
    const header = batches[0]!.header;
    expect(header.producerId).to.be.at.least(0); // idempotent by default
    expect(header.baseSequence).to.equal(0);
    const records = batches[0]!.records;
    expect(records.map((r) => r.offset)).to.deep.equal([0, 1, 2]);
    expect(records.map((r) => text(r.key))).to.deep.equal(['user-1', 'user-1', 'user-1']);
    expect(records.map((r) => text(r.value))).to.deep.equal(['hello', 'world', null]);
    expect(records[0]!.headers.map((h) => [h.key, text(h.value)])).to.deep.equal([
      ['source', 'test'],
      ['trace', 'abc'],
      ['multi', 'x'],
      ['multi', 'y'],
    ]);
    expect(records[0]!.timestamp).to.equal(1_700_000_000_000);
    expect(records[1]!.timestamp).to.equal(1_700_000_000_001);
    expect(records[2]!.timestamp).to.be.closeTo(Date.now(), 60_000); // stamped at send

    // Other partitions got nothing.
    for (const other of [0, 1, 2].filter((x) => x !== partition)) expect(await cluster.records('basic', other)).to.deep.equal([]);

    // The next send continues the partition: offsets 3.., sequence 3.
    const next = await p.send({ topic: 'basic', messages: [{ key: 'user-1', value: 'again' }] });
    expect(next).to.deep.equal([{ topic: 'basic', partition, baseOffset: 3 }]);
    const all = await cluster.fetchAll('basic', partition);
    expect(all.map((b) => b.header.baseSequence)).to.deep.equal([0, 3]);
  });

  it('puts many concurrent sends to one partition into one batch, and reports each call its own offset', async () => {
    await topic('batching', 1);
    const p = await producer({ lingerMs: 20 });
    const calls: Array<Promise<RecordMetadata[]>> = [];
    for (let i = 0; i < 100; i++) calls.push(p.send({ topic: 'batching', messages: [{ value: `v${i}` }] }));
    const results = await Promise.all(calls);
    expect(results.map((r) => r[0]?.baseOffset)).to.deep.equal(Array.from({ length: 100 }, (_, i) => i));

    const batches = await cluster.fetchAll('batching', 0);
    expect(batches.map((b) => b.header.recordCount)).to.deep.equal([100]);
    expect(batches[0]!.records.map((r) => text(r.value))).to.deep.equal(Array.from({ length: 100 }, (_, i) => `v${i}`));
  });

  it('splits at batch.size, keeps keyless records on one partition per batch, and rejects oversize records', async () => {
    await topic('sized', 3);
    const p = await producer({ batchSize: 4096, lingerMs: 10 });
    const value = 'x'.repeat(1000);
    const result = await p.send({ topic: 'sized', messages: Array.from({ length: 40 }, () => ({ value })) });
    const batches = (await Promise.all([0, 1, 2].map((i) => cluster.fetchAll('sized', i)))).flat();
    expect(batches.reduce((n, b) => n + b.header.recordCount, 0)).to.equal(40);
    expect(batches.length).to.be.at.least(10); // about 4 records of ~1 KB per 4 KiB batch
    for (const b of batches) expect(b.header.sizeInBytes).to.be.at.most(4096); // batch.size bounds the whole encoded batch
    // Sticky partitioning: each batch was filled before moving on, so partitions hold whole batches
    // and the result names each partition written once.
    expect(new Set(result.map((r) => r.partition)).size).to.equal(result.length);

    const tooBig = await rejection(p.send({ topic: 'sized', messages: [{ value: 'y'.repeat(2 * 1024 * 1024) }] }));
    expect(tooBig).to.be.instanceOf(MessageTooLargeError);
  });

  it('honours acks 0, 1 and all (non-idempotent), and sends to several topics with sendBatch', async () => {
    await topic('acks', 1);
    await topic('acks-other', 1);
    const p = await producer({ idempotent: false, acks: 1 });
    expect((await p.send({ topic: 'acks', messages: [{ value: 'one' }] }))[0]?.baseOffset).to.equal(0);
    expect((await p.send({ topic: 'acks', acks: -1, messages: [{ value: 'all' }] }))[0]?.baseOffset).to.equal(1);
    expect((await p.send({ topic: 'acks', acks: 'all', messages: [{ value: 'all-again' }] }))[0]?.baseOffset).to.equal(2);
    // acks=0: resolves without the broker's answer, so no offset.
    expect(await p.send({ topic: 'acks', acks: 0, messages: [{ value: 'zero' }] })).to.deep.equal([{ topic: 'acks', partition: 0, baseOffset: -1 }]);
    const values = await waitFor('acks=0 record', 10_000, async () => {
      const v = (await cluster.records('acks', 0)).map((r) => text(r.value));
      return v.length === 4 ? v : undefined;
    });
    expect(values).to.deep.equal(['one', 'all', 'all-again', 'zero']);
    const batches = await cluster.fetchAll('acks', 0);
    expect(batches.every((b) => b.header.producerId === -1)).to.equal(true);

    const both = await p.sendBatch({
      topicMessages: [
        { topic: 'acks', messages: [{ value: 'a' }, { value: 'b' }] },
        { topic: 'acks-other', messages: [{ value: 'c' }] },
      ],
    });
    expect(both).to.deep.equal([
      { topic: 'acks', partition: 0, baseOffset: 4 },
      { topic: 'acks-other', partition: 0, baseOffset: 0 },
    ]);
    // acks=1 answers before the HW moves: wait until the record is committed.
    const other = await waitFor('acks-other committed', 10_000, async () => {
      const v = (await cluster.records('acks-other', 0)).map((r) => text(r.value));
      return v.length > 0 ? v : undefined;
    });
    expect(other).to.deep.equal(['c']);
  });

  it('supports callbacks, and fire-and-forget sends flushed by disconnect', async () => {
    await topic('styles', 1);
    const p = skein.producer({ lingerMs: 50 });
    await p.connect();
    const viaCallback = await new Promise<RecordMetadata[]>((resolve, reject) => {
      void p.send({ topic: 'styles', messages: [{ value: 'cb' }] }, (error, metadata) => (error === null ? resolve(metadata ?? []) : reject(error)));
    });
    expect(viaCallback).to.deep.equal([{ topic: 'styles', partition: 0, baseOffset: 0 }]);
    const errors: unknown[] = [];
    for (let i = 0; i < 50; i++) p.send({ topic: 'styles', messages: [{ value: `ff${i}` }] }).catch((e: unknown) => errors.push(e));
    await p.disconnect(); // flushes what lingers, waits for the answers
    expect(errors).to.deep.equal([]);
    const values = (await cluster.records('styles', 0)).map((r) => text(r.value));
    expect(values).to.deep.equal(['cb', ...Array.from({ length: 50 }, (_, i) => `ff${i}`)]);
    expect(await rejection(p.send({ topic: 'styles', messages: [{ value: 'late' }] }))).to.be.instanceOf(NotConnectedError);
  });

  it('fails only the batch a broker refuses, and goes on with fresh sequences', async () => {
    await admin.createTopics({ topics: [{ topic: 'small', numPartitions: 1, replicationFactor: 3, configEntries: [{ name: 'max.message.bytes', value: '1000' }] }] });
    const p = await producer({ lingerMs: 1 });
    expect(await p.send({ topic: 'small', messages: [{ value: 'fits' }] })).to.deep.equal([{ topic: 'small', partition: 0, baseOffset: 0 }]);
    const refused = await rejection(p.send({ topic: 'small', messages: [{ value: 'z'.repeat(2000) }] }));
    expect(refused).to.be.instanceOf(MessageTooLargeError);
    expect((refused as SkeinError).retriable).to.equal(false);
    // The refused batch left a gap in the sequence numbers; the producer restarts them and goes on.
    expect(await p.send({ topic: 'small', messages: [{ value: 'next' }] })).to.deep.equal([{ topic: 'small', partition: 0, baseOffset: 1 }]);
    const batches = await cluster.fetchAll('small', 0);
    expect(batches.flatMap((b) => b.records.map((r) => text(r.value)))).to.deep.equal(['fits', 'next']);
    expect(batches[1]!.header.baseSequence).to.equal(0);
    expect(batches[1]!.header.producerId).to.not.equal(batches[0]!.header.producerId);
  });

  it('rejects bad input before sending anything', async () => {
    await topic('invalid', 1);
    const p = await producer();
    const bad: Array<[string, () => Promise<unknown>]> = [
      ['empty topic', () => p.send({ topic: '', messages: [{ value: 'x' }] })],
      ['illegal topic', () => p.send({ topic: 'a/b', messages: [{ value: 'x' }] })],
      ['messages not an array', () => p.send({ topic: 'invalid', messages: 'x' as never })],
      ['no value', () => p.send({ topic: 'invalid', messages: [{ key: 'k' } as never] })],
      ['neither key nor value', () => p.send({ topic: 'invalid', messages: [{ value: null }] })],
      ['value a number', () => p.send({ topic: 'invalid', messages: [{ value: 5 as never }] })],
      ['negative partition', () => p.send({ topic: 'invalid', messages: [{ value: 'x', partition: -1 }] })],
      ['fractional partition', () => p.send({ topic: 'invalid', messages: [{ value: 'x', partition: 0.5 }] })],
      ['partition out of range', () => p.send({ topic: 'invalid', messages: [{ value: 'x', partition: 7 }] })],
      ['bad timestamp', () => p.send({ topic: 'invalid', messages: [{ value: 'x', timestamp: 'yesterday' }] })],
      ['bad header', () => p.send({ topic: 'invalid', messages: [{ value: 'x', headers: { h: 3 as never } }] })],
      ['unknown acks', () => p.send({ topic: 'invalid', acks: 2 as never, messages: [{ value: 'x' }] })],
      ['acks=1 on an idempotent producer', () => p.send({ topic: 'invalid', acks: 1, messages: [{ value: 'x' }] })],
      // A good message after a bad one in the same call: nothing of the call is sent.
      ['one bad message among good ones', () => p.send({ topic: 'invalid', messages: [{ value: 'good' }, { value: undefined as never }] })],
    ];
    for (const [what, call] of bad) {
      const error = await rejection(call());
      expect(error, what).to.be.instanceOf(InvalidArgumentError);
      expect((error as SkeinError).code, what).to.equal('INVALID_ARGUMENT');
      expect((error as SkeinError).retriable, what).to.equal(false);
    }
    expect(await cluster.records('invalid', 0)).to.deep.equal([]);

    expect(() => skein.producer({ acks: 1 })).to.throw(InvalidArgumentError, /idempotent/);
    expect(() => skein.producer({ acks: 3 as never, idempotent: false })).to.throw(InvalidArgumentError, /acks/);
    expect(() => skein.producer({ maxInFlightRequests: 6 })).to.throw(InvalidArgumentError, /maxInFlightRequests/);
    expect(await rejection(skein.producer().send({ topic: 'invalid', messages: [{ value: 'x' }] }))).to.be.instanceOf(NotConnectedError);

    const unknown = await rejection((await producer({ maxBlockMs: 300 })).send({ topic: 'no-such-topic', messages: [{ value: 'x' }] }));
    expect(unknown).to.be.instanceOf(UnknownTopicError);
  });
});

describe('client producer: idempotence across a leader failure (3 nodes)', function () {
  this.timeout(60_000);

  let cluster: ClientTestCluster;
  let producer: Producer | undefined;
  let admin: Admin | undefined;

  before(async () => {
    cluster = await ClientTestCluster.start(3);
  });

  after(async () => {
    await producer?.disconnect().catch(() => undefined);
    await admin?.disconnect();
    await cluster?.stop();
  });

  /**
   * Keeps 8 sends in flight to `topic` (partition 0) until `fault` has run and 200 more records were
   * acknowledged after it; then checks the log: every acknowledged record exactly once, in call order.
   */
  async function streamThrough(topic: string, fault: () => Promise<void>): Promise<void> {
    const acknowledged: number[] = [];
    const failed: unknown[] = [];
    let next = 0;
    let done = false;
    const worker = async (): Promise<void> => {
      while (!done) {
        const i = next++;
        try {
          await producer!.send({ topic, messages: [{ key: `k${i}`, value: `v${i}` }] });
          acknowledged.push(i);
        } catch (e) {
          failed.push(e);
        }
      }
    };
    const workers = Array.from({ length: 8 }, () => worker());
    try {
      await waitFor('records before the fault', 20_000, () => (acknowledged.length >= 200 || failed.length > 0 ? true : undefined));
      await fault();
      const atFault = acknowledged.length;
      await waitFor('records after the fault', 30_000, () => (acknowledged.length >= atFault + 200 || failed.length > 0 ? true : undefined));
    } finally {
      done = true;
      await Promise.all(workers);
    }

    expect(failed, String(failed[0])).to.deep.equal([]);
    expect(acknowledged.length).to.equal(next);
    const records = await cluster.records(topic, 0);
    const sent = records.map((r) => Number(text(r.value)?.slice(1)));
    // Exactly once: every acknowledged record is there, and nothing twice.
    expect(new Set(sent).size).to.equal(sent.length);
    expect([...sent].sort((a, b) => a - b)).to.deep.equal([...acknowledged].sort((a, b) => a - b));
    // In order: the log holds the records in the order the send calls were made.
    expect(sent).to.deep.equal([...sent].sort((a, b) => a - b));
    expect(records.map((r) => text(r.key))).to.deep.equal(sent.map((i) => `k${i}`));
    // Offsets are dense from 0.
    expect(records.map((r) => r.offset)).to.deep.equal(records.map((_, i) => i));
  }

  it('retries batches that timed out after the append without writing them twice', async () => {
    const skein = new Skein({ brokers: cluster.urls, clientId: 'idempotence-test', requestTimeoutMs: 3000 });
    admin = skein.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'dedupe', numPartitions: 1, replicationFactor: 3 }] });
    // A 1 ms broker-side wait for acks=all: the leader appends each batch, then answers
    // REQUEST_TIMED_OUT before the followers have it (outcome unknown). The producer resends the same
    // batch; the leader recognises it (same producer id and sequence) and answers with its offsets.
    producer = skein.producer({ lingerMs: 2, maxInFlightRequests: 5, timeout: 1 });
    await producer.connect();
    await streamThrough('dedupe', async () => {});
    const stats = producer.stats();
    expect(stats.retries).to.be.greaterThan(0);
    expect(stats.duplicates).to.be.greaterThan(0);
    await producer.disconnect();
  });

  it('fails records after deliveryTimeoutMs, then restarts its sequences and sends again', async () => {
    const skein = new Skein({ brokers: cluster.urls, clientId: 'delivery-timeout-test', requestTimeoutMs: 3000 });
    // min.insync.replicas 3 of 3: with one replica gone, every acks=all produce is refused
    // (NOT_ENOUGH_REPLICAS, retriable) until it is back in the ISR.
    await admin!.createTopics({ topics: [{ topic: 'stuck', numPartitions: 1, replicationFactor: 3, configEntries: [{ name: 'min.insync.replicas', value: '3' }] }] });
    const t = await cluster.leaders('stuck');
    const follower = t.partitions[0]!.replicas.find((r) => r !== t.partitions[0]!.leader)!;
    producer = skein.producer({ lingerMs: 1, deliveryTimeoutMs: 1500 });
    await producer.connect();
    await producer.send({ topic: 'stuck', messages: [{ value: 'before' }] });

    await cluster.stopNode(follower);
    const expired = await rejection(producer.send({ topic: 'stuck', messages: [{ value: 'lost-1' }, { value: 'lost-2' }] }));
    expect(expired).to.be.instanceOf(DeliveryTimeoutError);
    expect((expired as DeliveryTimeoutError).retriable).to.equal(false);
    expect((expired as DeliveryTimeoutError).cause).to.be.instanceOf(NotEnoughReplicasError);

    await cluster.startNode(follower);
    await cluster.ready([1, 2, 3]);
    await waitFor('the follower back in the ISR', 30_000, async () => ((await cluster.leaders('stuck')).partitions[0]!.isr.length === 3 ? true : undefined));
    // The same producer goes on: the partition's sequences restarted under a new producer id.
    expect(await producer.send({ topic: 'stuck', messages: [{ value: 'after' }] })).to.deep.equal([{ topic: 'stuck', partition: 0, baseOffset: 1 }]);
    const batches = await cluster.fetchAll('stuck', 0);
    expect(batches.flatMap((b) => b.records.map((r) => text(r.value)))).to.deep.equal(['before', 'after']);
    expect(batches[1]!.header.producerId).to.not.equal(batches[0]!.header.producerId);
    expect(batches[1]!.header.baseSequence).to.equal(0);
    await producer.disconnect();
  });

  it('writes every acknowledged record exactly once and in order while the leader is stopped mid-stream', async () => {
    const skein = new Skein({ brokers: cluster.urls, clientId: 'idempotence-test', requestTimeoutMs: 3000 });
    await admin!.createTopics({ topics: [{ topic: 'failover', numPartitions: 1, replicationFactor: 3 }] });
    const leader = (await cluster.leaders('failover')).partitions[0]!.leader;
    producer = skein.producer({ lingerMs: 2, maxInFlightRequests: 5, timeout: 2000 });
    await producer.connect();
    await streamThrough('failover', () => cluster.stopNode(leader));
    expect(producer.stats().retries).to.be.greaterThan(0);
  });
});
