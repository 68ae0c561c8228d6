/**
 * The consumer end to end: a real three-node cluster in-process (real sockets on 127.0.0.1, real
 * disk in temp directories), records produced as raw batches to the leaders, read back through
 * `Consumer` on a real `Cluster`. Start positions (beginning, end, timestamp, seek), many records
 * over several partitions exactly once and in order, pause/resume, the long poll, eachBatch, and a
 * batch larger than maxBytes. Leader failover and truncation have their own files (they stop nodes).
 *
 * Waits are bounded polls; nothing asserts on timing. "Exactly once" is checked with a sentinel
 * record produced last: everything before it must have arrived exactly once when it arrives.
 */
import { expect } from 'chai';
import type { Consumer } from '../../src/client/consumer.js';
import { Skein } from '../../src/client/skein.js';
import { ConsumerEvents, messageText, type ConsumedMessage, type ConsumerOptions, type CrashPayload } from '../../src/client/consumer-types.js';
import { ConsumerTestCluster, textRecords, waitFor } from '../support/consumer-cluster.js';

const encoder = new TextEncoder();

describe('consumer (end to end, three nodes)', function () {
  this.timeout(60_000);
  let cluster: ConsumerTestCluster;
  let consumers: Consumer[] = [];
  let crashes: CrashPayload[] = [];

  before(async () => {
    cluster = await ConsumerTestCluster.start(3);
  });

  after(async () => {
    await cluster?.stop();
  });

  afterEach(async () => {
    await Promise.all(consumers.map((c) => c.disconnect()));
    consumers = [];
    // No test here expects a crash: any one fails the test that caused it.
    const seen = crashes;
    crashes = [];
    expect(seen.map((c) => c.error.message)).to.deep.equal([]);
  });

  async function consumer(options: ConsumerOptions = {}): Promise<Consumer> {
    // Through the public entry point, as an application would.
    const c = new Skein({ brokers: cluster.urls, clientId: 'consumer-test', requestTimeoutMs: 5000 }).consumer(options);
    consumers.push(c);
    c.on(ConsumerEvents.CRASH, (e) => crashes.push(e.payload));
    await c.connect();
    return c;
  }

  /** Runs `c`, collecting what eachMessage gets per partition. */
  async function collect(c: Consumer): Promise<Map<number, ConsumedMessage[]>> {
    const got = new Map<number, ConsumedMessage[]>();
    await c.run({
      eachMessage: async ({ partition, message }) => {
        const list = got.get(partition) ?? [];
        list.push(message);
        got.set(partition, list);
      },
    });
    return got;
  }

  const texts = (messages: readonly ConsumedMessage[] | undefined): string[] => (messages ?? []).map((m) => messageText(m.value) ?? '<null>');

  it('starts from the beginning, at the end (the default), from a timestamp, or where seek says', async () => {
    await cluster.createTopic('starts', 1, 3);
    await cluster.produce('starts', 0, textRecords('a', 5), { timestampMs: 1_000 });
    await cluster.produce('starts', 0, textRecords('b', 5), { timestampMs: 2_000 });

    const fromBeginning = await consumer();
    await fromBeginning.assign([{ topic: 'starts', fromBeginning: true }]);
    const all = await collect(fromBeginning);

    const latest = await consumer();
    await latest.assign([{ topic: 'starts' }]);
    const tail = await collect(latest);

    const byTime = await consumer();
    await byTime.assign([{ topic: 'starts', partitions: [0], fromTimestamp: 2_000 }]);
    const fromTime = await collect(byTime);

    const seeking = await consumer();
    await seeking.assign([{ topic: 'starts', fromBeginning: true }]);
    seeking.seek({ topic: 'starts', partition: 0, offset: 7 });
    const fromSeek = await collect(seeking);

    await waitFor('the latest consumer at the end', 10_000, () => (latest.position({ topic: 'starts', partition: 0 }) === 10 ? true : undefined));
    await cluster.produce('starts', 0, [{ key: null, value: encoder.encode('c-0'), headers: [{ key: 'h', value: encoder.encode('v') }] }], { timestampMs: 3_000 });

    await waitFor('every consumer at the sentinel', 20_000, () => ([all, tail, fromTime, fromSeek].every((g) => texts(g.get(0)).includes('c-0')) ? true : undefined));
    const a = ['a-0', 'a-1', 'a-2', 'a-3', 'a-4'];
    const b = ['b-0', 'b-1', 'b-2', 'b-3', 'b-4'];
    expect(texts(all.get(0))).to.deep.equal([...a, ...b, 'c-0']);
    expect(all.get(0)?.map((m) => m.offset)).to.deep.equal([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(all.get(0)?.[0]?.timestamp).to.equal(1_000);
    expect(messageText(all.get(0)?.[0]?.key ?? null)).to.equal('k0');
    expect(texts(tail.get(0))).to.deep.equal(['c-0']);
    const sentinel = tail.get(0)?.[0];
    expect(sentinel?.timestamp).to.equal(3_000);
    expect(sentinel?.key).to.equal(null);
    expect(messageText(sentinel?.headers['h'] as Uint8Array)).to.equal('v');
    expect(texts(fromTime.get(0))).to.deep.equal([...b, 'c-0']);
    expect(texts(fromSeek.get(0))).to.deep.equal(['b-2', 'b-3', 'b-4', 'c-0']);

    // A seek during the run: the next message handed over is the one sought.
    seeking.seek({ topic: 'starts', partition: 0, offset: 1 });
    await waitFor('the re-read', 10_000, () => (texts(fromSeek.get(0)).length === 14 ? true : undefined));
    expect(texts(fromSeek.get(0)).slice(4)).to.deep.equal([...a.slice(1), ...b, 'c-0']);
  });

  it('reads many records across several partitions back exactly once, in order per partition', async () => {
    const partitions = 4;
    await cluster.createTopic('many', partitions, 3);
    const c = await consumer();
    await c.assign([{ topic: 'many', fromBeginning: true }]);
    const got = await collect(c);
    // Produced while the consumer runs: 60 batches of 20 records, round robin over the partitions.
    const expected = new Map<number, string[]>();
    const produced: Array<Promise<unknown>> = [];
    for (let i = 0; i < 60; i++) {
      const partition = i % partitions;
      const recs = textRecords(`p${partition}-b${i}`, 20);
      expected.set(partition, [...(expected.get(partition) ?? []), ...recs.map((r) => new TextDecoder().decode(r.value!))]);
      produced.push(cluster.produce('many', partition, recs));
      if (produced.length === 8) await Promise.all(produced.splice(0));
    }
    await Promise.all(produced);
    for (let p = 0; p < partitions; p++) {
      await cluster.produce('many', p, [{ key: null, value: encoder.encode('end') }]);
      expected.get(p)?.push('end');
    }
    await waitFor('every sentinel', 30_000, () => ([...Array(partitions).keys()].every((p) => texts(got.get(p)).includes('end')) ? true : undefined));
    for (let p = 0; p < partitions; p++) {
      const messages = got.get(p) ?? [];
      expect(messages.map((m) => m.offset), `offsets of partition ${p}`).to.deep.equal([...messages.keys()]);
      // Batches of one partition may be produced concurrently: compare as a multiset, order by offset.
      expect([...texts(messages)].sort(), `records of partition ${p}`).to.deep.equal([...(expected.get(p) ?? [])].sort());
      expect(texts(messages).at(-1)).to.equal('end');
    }
  });

  it('pause stops delivery and fetching of a partition until resume; eachMessage can pause its own', async () => {
    await cluster.createTopic('pausing', 2, 3);
    const c = await consumer();
    await c.assign([{ topic: 'pausing', fromBeginning: true }]);
    c.pause([{ topic: 'pausing', partitions: [0] }]);
    expect(c.paused()).to.deep.equal([{ topic: 'pausing', partitions: [0] }]);
    const got = new Map<number, ConsumedMessage[]>();
    let resumeOne: (() => void) | undefined;
    await c.run({
      eachMessage: async ({ partition, message, pause }) => {
        got.set(partition, [...(got.get(partition) ?? []), message]);
        if (partition === 1 && messageText(message.value) === 'p1-pause') resumeOne = pause();
      },
    });
    await cluster.produce('pausing', 0, textRecords('p0', 3));
    await cluster.produce('pausing', 1, textRecords('p1', 2));
    await waitFor('partition 1', 10_000, () => (texts(got.get(1)).length === 2 ? true : undefined));
    // A second round trip on partition 1 after partition 0's records were committed.
    await cluster.produce('pausing', 1, [{ key: null, value: encoder.encode('p1-pause') }]);
    await waitFor('partition 1 again', 10_000, () => (texts(got.get(1)).length === 3 ? true : undefined));
    expect(got.get(0)).to.equal(undefined);
    // Paused before the run: not even its start position was looked up.
    expect(c.position({ topic: 'pausing', partition: 0 })).to.equal(undefined);
    // eachMessage paused partition 1 after 'p1-pause'; it still counted.
    expect(c.paused()).to.deep.equal([{ topic: 'pausing', partitions: [0, 1] }]);
    await waitFor('position after p1-pause', 5_000, () => (c.position({ topic: 'pausing', partition: 1 }) === 3 ? true : undefined));
    await cluster.produce('pausing', 1, [{ key: null, value: encoder.encode('p1-after') }]);

    c.resume([{ topic: 'pausing', partitions: [0] }]);
    await waitFor('partition 0 after resume', 10_000, () => (texts(got.get(0)).length === 3 ? true : undefined));
    expect(texts(got.get(0))).to.deep.equal(['p0-0', 'p0-1', 'p0-2']);
    expect(texts(got.get(1))).to.deep.equal(['p1-0', 'p1-1', 'p1-pause']);
    resumeOne?.();
    await waitFor('partition 1 after resume', 10_000, () => (texts(got.get(1)).length === 4 ? true : undefined));
    expect(texts(got.get(1))).to.deep.equal(['p1-0', 'p1-1', 'p1-pause', 'p1-after']);
    expect(c.paused()).to.deep.equal([]);
  });

  it('a consumer waiting at the end gets a record produced later (the long poll answers on new data)', async () => {
    await cluster.createTopic('long-poll', 1, 3);
    // maxWait far above the deadline below: the record can only arrive in time if the parked fetch
    // is answered when the record is committed, not when the wait runs out.
    const c = await consumer({ maxWaitTimeInMs: 30_000 });
    await c.assign([{ topic: 'long-poll' }]);
    const got = await collect(c);
    await waitFor('the consumer at the end', 10_000, () => (c.position({ topic: 'long-poll', partition: 0 }) === 0 ? true : undefined));
    // Let its first fetch reach the leader and park there.
    await new Promise((r) => setTimeout(r, 300));
    await cluster.produce('long-poll', 0, textRecords('late', 1));
    await waitFor('the late record', 10_000, () => (texts(got.get(0)).length === 1 ? true : undefined));
    expect(texts(got.get(0))).to.deep.equal(['late-0']);
  });

  it('eachBatch gets each fetch answer as a batch with its high watermark', async () => {
    await cluster.createTopic('batches', 1, 3);
    await cluster.produce('batches', 0, textRecords('x', 3));
    await cluster.produce('batches', 0, textRecords('y', 2));
    const c = await consumer();
    await c.assign([{ topic: 'batches', fromBeginning: true }]);
    const seen: Array<{ offsets: number[]; hw: number; last: number; lag: number }> = [];
    await c.run({
      eachBatch: async ({ batch }) => {
        seen.push({ offsets: batch.messages.map((m) => m.offset), hw: batch.highWatermark, last: batch.lastOffset(), lag: batch.offsetLag() });
      },
    });
    await waitFor('five records', 10_000, () => (seen.flatMap((b) => b.offsets).length === 5 ? true : undefined));
    expect(seen.flatMap((b) => b.offsets)).to.deep.equal([0, 1, 2, 3, 4]);
    for (const b of seen) expect(b.last).to.equal(b.offsets.at(-1));
    expect(seen.at(-1)?.hw).to.equal(5);
    expect(seen.at(-1)?.lag).to.equal(0);
    await waitFor('position 5', 5_000, () => (c.position({ topic: 'batches', partition: 0 }) === 5 ? true : undefined));
  });

  it('reads a record batch larger than maxBytes whole, then goes on with the usual size', async () => {
    await cluster.createTopic('big', 1, 3);
    const big = new Uint8Array(10_000).fill(1);
    await cluster.produce('big', 0, [{ key: null, value: encoder.encode('small') }]);
    await cluster.produce('big', 0, Array.from({ length: 20 }, () => ({ key: null, value: big }))); // ~200 KB
    await cluster.produce('big', 0, [{ key: null, value: encoder.encode('tail') }]);
    const c = await consumer({ maxBytes: 16 * 1024 });
    await c.assign([{ topic: 'big', fromBeginning: true }]);
    const got = await collect(c);
    await waitFor('22 records', 20_000, () => ((got.get(0)?.length ?? 0) >= 22 ? true : undefined));
    const messages = got.get(0) ?? [];
    expect(messages.map((m) => m.offset)).to.deep.equal([...Array(22).keys()]);
    expect(messages.slice(1, 21).every((m) => m.value?.length === 10_000 && m.value.every((x) => x === 1))).to.equal(true);
    expect(texts([messages[0]!, messages[21]!])).to.deep.equal(['small', 'tail']);
  });
});
