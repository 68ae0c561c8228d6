/**
 * The consumer against a fake Cluster (consumer-fake-cluster.ts): fetch-answer decoding (records below
 * the fetch offset, the HW bound, a batch cut at maxBytes, a corrupt batch, headers), and the
 * consumer's reactions that a real cluster makes hard to provoke on demand — KIP-320 truncation, a
 * corrupt batch, a batch cut off at maxBytes, retriable errors, OFFSET_OUT_OF_RANGE, a throwing
 * eachMessage. Real timers with short waits; nothing asserts on timing.
 */
import { expect } from 'chai';
import { Consumer } from '../../src/client/consumer.js';
import { readFetchedRecords } from '../../src/client/consumer-records.js';
import { ConsumerEvents, messageText, type ConsumedMessage, type CrashPayload, type TruncationPayload } from '../../src/client/consumer-types.js';
import { CorruptMessageError, InvalidArgumentError, LogTruncationError, MessageTooLargeError, NotConnectedError, OffsetOutOfRangeError } from '../../src/client/errors.js';
import { encodeRecordBatch, stampBatch } from '../../src/partitions/record-batch.js';
import { FakeCluster, records } from './consumer-fake-cluster.js';
import { waitUntil } from '../support/test-nodes.js';

const encoder = new TextEncoder();

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function stamped(values: string[], baseOffset: number, epoch: number): Uint8Array {
  const bytes = encodeRecordBatch(
    values.map((v) => ({ key: null, value: encoder.encode(v) })),
    { timestampMs: 5 },
  );
  stampBatch(bytes, 0, { baseOffset, partitionLeaderEpoch: epoch });
  return bytes;
}

function values(messages: readonly ConsumedMessage[]): string[] {
  return messages.map((m) => messageText(m.value) ?? '<null>');
}

describe('consumer: reading fetched record batches', () => {
  it('skips records below the fetch offset and keeps each batch with its leader epoch', () => {
    const bytes = concat(stamped(['a', 'b', 'c'], 0, 1), stamped(['d', 'e'], 3, 2));
    const read = readFetchedRecords({ records: bytes, fetchOffset: 1, highWatermark: 5 });
    expect(read.corrupt).to.equal(undefined);
    expect(read.incompleteBytes).to.equal(undefined);
    expect(read.batches.map((b) => [b.leaderEpoch, b.baseOffset, b.lastOffset])).to.deep.equal([
      [1, 0, 2],
      [2, 3, 4],
    ]);
    expect(values(read.batches.flatMap((b) => b.messages))).to.deep.equal(['b', 'c', 'd', 'e']);
    expect(read.batches.flatMap((b) => b.messages).map((m) => m.offset)).to.deep.equal([1, 2, 3, 4]);
    expect(read.nextOffset).to.equal(5);
  });

  it('never returns a batch at or above the high watermark', () => {
    const bytes = concat(stamped(['a', 'b'], 0, 1), stamped(['c'], 2, 1));
    const read = readFetchedRecords({ records: bytes, fetchOffset: 0, highWatermark: 2 });
    expect(values(read.batches.flatMap((b) => b.messages))).to.deep.equal(['a', 'b']);
    expect(read.nextOffset).to.equal(2);
  });

  it('stops before a batch cut off at the end and says how big the first one is when none is whole', () => {
    const first = stamped(['a'], 0, 1);
    const second = stamped(['b', 'c'], 1, 1);
    const cut = concat(first, second.subarray(0, 20));
    const read = readFetchedRecords({ records: cut, fetchOffset: 0, highWatermark: 3 });
    expect(values(read.batches.flatMap((b) => b.messages))).to.deep.equal(['a']);
    expect(read.nextOffset).to.equal(1);
    expect(read.incompleteBytes).to.equal(undefined);

    const alone = readFetchedRecords({ records: second.subarray(0, 20), fetchOffset: 1, highWatermark: 3 });
    expect(alone.batches).to.have.length(0);
    expect(alone.incompleteBytes).to.equal(second.length);
    // Fewer bytes than the length field: the size is unknown.
    expect(readFetchedRecords({ records: second.subarray(0, 5), fetchOffset: 1, highWatermark: 3 }).incompleteBytes).to.equal(0);
  });

  it('returns what precedes a corrupt batch and reports where it starts', () => {
    const bad = stamped(['x', 'y'], 2, 1);
    bad[bad.length - 1]! ^= 0xff; // inside the records: covered by the CRC
    const read = readFetchedRecords({ records: concat(stamped(['a', 'b'], 0, 1), bad, stamped(['z'], 4, 1)), fetchOffset: 0, highWatermark: 5 });
    expect(values(read.batches.flatMap((b) => b.messages))).to.deep.equal(['a', 'b']);
    expect(read.corrupt?.offset).to.equal(2);
    expect(read.corrupt?.message).to.match(/CRC/);
    expect(read.nextOffset).to.equal(2);
  });

  it('shows headers as KafkaJS does: repeated keys become arrays', () => {
    const bytes = encodeRecordBatch(
      [{ key: encoder.encode('k'), value: null, headers: [{ key: 'a', value: encoder.encode('1') }, { key: 'b', value: null }, { key: 'a', value: encoder.encode('2') }] }],
      { timestampMs: 42 },
    );
    const [batch] = readFetchedRecords({ records: bytes, fetchOffset: 0, highWatermark: 1 }).batches;
    const message = batch!.messages[0]!;
    expect(messageText(message.key)).to.equal('k');
    expect(message.value).to.equal(null);
    expect(message.timestamp).to.equal(42);
    const a = message.headers['a'];
    expect(Array.isArray(a) ? a.map((v) => messageText(v as Uint8Array)) : a).to.deep.equal(['1', '2']);
    expect(message.headers['b']).to.equal(null);
  });
});

describe('consumer against a fake cluster', function () {
  this.timeout(20_000);
  let consumers: Consumer[] = [];

  afterEach(async () => {
    await Promise.all(consumers.map((c) => c.disconnect()));
    consumers = [];
  });

  async function consumer(fake: FakeCluster, options: ConstructorParameters<typeof Consumer>[1] = {}): Promise<Consumer> {
    const c = new Consumer(fake.asCluster(), { maxWaitTimeInMs: 20, retry: { initialRetryTimeMs: 1, maxRetryTimeMs: 5 }, ...options });
    consumers.push(c);
    await c.connect();
    return c;
  }

  function crashes(c: Consumer): CrashPayload[] {
    const out: CrashPayload[] = [];
    c.on(ConsumerEvents.CRASH, (e) => out.push(e.payload));
    return out;
  }

  it('rejects bad input and use before connect', async () => {
    const fake = new FakeCluster('t', 1);
    const c = new Consumer(fake.asCluster());
    consumers.push(c);
    const before = await c.assign([{ topic: 't' }]).then(() => undefined, (e: unknown) => e);
    expect(before).to.be.instanceOf(NotConnectedError);
    await c.connect();
    for (const bad of [[{ topic: '' }], [{ topic: 't', partitions: [1] }], [{ topic: 't', partitions: [-1] }], [{ topic: 't', fromTimestamp: -5 }]]) {
      const e = await c.assign(bad).then(() => undefined, (x: unknown) => x);
      expect(e, JSON.stringify(bad)).to.be.instanceOf(InvalidArgumentError);
    }
    expect(() => c.seek({ topic: 't', partition: 0, offset: 0 })).to.throw(InvalidArgumentError);
    await c.assign([{ topic: 't' }]);
    expect(() => c.seek({ topic: 't', partition: 0, offset: -1 })).to.throw(InvalidArgumentError);
    const noHandler = await c.run({}).then(() => undefined, (e: unknown) => e);
    expect(noHandler).to.be.instanceOf(InvalidArgumentError);
    expect(() => new Consumer(fake.asCluster(), { groupId: '' })).to.throw(InvalidArgumentError, /groupId/);
    expect(() => new Consumer(fake.asCluster(), { maxBytes: 0 })).to.throw(InvalidArgumentError);
  });

  it('hands over every record once, in order, advancing only after eachMessage resolves', async () => {
    const fake = new FakeCluster('t', 1);
    const log = fake.partitions[0]!;
    log.append(records('v', 3));
    log.append(records('v', 2, 3));
    const c = await consumer(fake);
    await c.assign([{ topic: 't', fromBeginning: true }]);
    const seen: string[] = [];
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => (release = r));
    await c.run({
      eachMessage: async ({ message }) => {
        seen.push(messageText(message.value)!);
        if (message.offset === 1) await gate;
      },
    });
    await waitUntil('offset 1 in hand', () => seen.length === 2);
    // eachMessage for offset 1 has not resolved: the position is still 1.
    expect(c.position({ topic: 't', partition: 0 })).to.equal(1);
    release();
    await waitUntil('all five', () => seen.length === 5);
    log.append(records('v', 1, 5));
    await waitUntil('the sixth', () => seen.length === 6);
    expect(seen).to.deep.equal(['v-0', 'v-1', 'v-2', 'v-3', 'v-4', 'v-5']);
    await waitUntil('position 6', () => c.position({ topic: 't', partition: 0 }) === 6);
    // Every fetch asked from where the consumer was, carrying the epoch of what it had read.
    const last = fake.fetches[fake.fetches.length - 1]!;
    expect(last.fetchOffset).to.equal(6);
    expect(last.lastFetchedEpoch).to.equal(0);
    expect(last.replicaId).to.equal(-1);
  });

  it('detects truncation (KIP-320): reports it and continues from the diverging offset', async () => {
    const fake = new FakeCluster('t', 1);
    const log = fake.partitions[0]!;
    log.leaderEpoch = 1;
    log.append(records('old', 3)); // 0..2
    log.append(records('old', 3, 3)); // 3..5
    const c = await consumer(fake);
    const truncations: TruncationPayload[] = [];
    c.on(ConsumerEvents.TRUNCATION, (e) => truncations.push(e.payload));
    const crashed = crashes(c);
    await c.assign([{ topic: 't', fromBeginning: true }]);
    const seen: Array<[number, string]> = [];
    await c.run({ eachMessage: async ({ message }) => void seen.push([message.offset, messageText(message.value)!]) });
    await waitUntil('six records', () => seen.length === 6);
    // An unclean leader without 3..5 takes over in epoch 2 and writes its own records there.
    log.truncateTo(3);
    log.leaderEpoch = 2;
    log.append(records('new', 2, 3)); // 3..4
    log.wake();
    await waitUntil('the new records', () => seen.length === 8);
    expect(truncations).to.deep.equal([{ topic: 't', partition: 0, fromOffset: 6, toOffset: 3, leaderEpoch: 1 }]);
    expect(seen.slice(6)).to.deep.equal([
      [3, 'new-3'],
      [4, 'new-4'],
    ]);
    expect(crashed).to.deep.equal([]);
    const divergent = fake.fetches.find((f) => f.fetchOffset === 6 && f.lastFetchedEpoch === 1);
    expect(divergent, 'a fetch carried the last consumed epoch').to.not.equal(undefined);
  });

  it("with autoOffsetReset 'none', truncation crashes the run with a LogTruncationError and keeps the position", async () => {
    const fake = new FakeCluster('t', 1);
    const log = fake.partitions[0]!;
    log.leaderEpoch = 1;
    log.append(records('old', 2));
    log.append(records('old', 2, 2));
    const c = await consumer(fake, { autoOffsetReset: 'none' });
    const crashed = crashes(c);
    await c.assign([{ topic: 't', fromBeginning: true }]);
    let seen = 0;
    await c.run({ eachMessage: async () => void seen++ });
    await waitUntil('four records', () => seen === 4);
    log.truncateTo(2);
    log.leaderEpoch = 3;
    log.append(records('new', 1, 2));
    log.wake();
    await waitUntil('a crash', () => crashed.length === 1);
    const error = crashed[0]!.error;
    expect(error).to.be.instanceOf(LogTruncationError);
    expect((error as LogTruncationError).divergingOffset).to.equal(2);
    expect(crashed[0]!.partition).to.equal(0);
    expect(c.isRunning()).to.equal(false);
    expect(c.position({ topic: 't', partition: 0 })).to.equal(4);
    expect(seen).to.equal(4);
  });

  it('does not deliver a corrupt batch: what precedes it is delivered, then the run crashes', async () => {
    const fake = new FakeCluster('t', 1);
    const log = fake.partitions[0]!;
    log.append(records('ok', 2));
    const bad = log.append(records('bad', 2, 2));
    log.append(records('after', 1, 4));
    bad.bytes[bad.bytes.length - 2]! ^= 0x10;
    const c = await consumer(fake);
    const crashed = crashes(c);
    await c.assign([{ topic: 't', fromBeginning: true }]);
    const seen: string[] = [];
    await c.run({ eachMessage: async ({ message }) => void seen.push(messageText(message.value)!) });
    await waitUntil('a crash', () => crashed.length === 1);
    expect(crashed[0]!.error).to.be.instanceOf(CorruptMessageError);
    expect(crashed[0]!.error.message).to.match(/offset 2/);
    expect(seen).to.deep.equal(['ok-0', 'ok-1']);
    expect(c.position({ topic: 't', partition: 0 })).to.equal(2);
  });

  it('fetches again with a larger size when a batch is cut off at maxBytes, up to maxBatchBytes', async () => {
    const fake = new FakeCluster('t', 1);
    fake.cutAtMaxBytes = true;
    const log = fake.partitions[0]!;
    const big = new Uint8Array(5_000).fill(7);
    log.append([{ key: null, value: encoder.encode('small') }]);
    log.append([{ key: null, value: big }, { key: null, value: big }]); // ~10 KB
    log.append([{ key: null, value: encoder.encode('tail') }]);
    const c = await consumer(fake, { maxBytes: 1_000 });
    await c.assign([{ topic: 't', fromBeginning: true }]);
    const seen: number[] = [];
    await c.run({ eachMessage: async ({ message }) => void seen.push(message.value?.length ?? -1) });
    await waitUntil('four records', () => seen.length === 4);
    expect(seen).to.deep.equal([5, 5_000, 5_000, 4]);
    const sizes = fake.fetches.filter((f) => f.fetchOffset === 1).map((f) => f.maxBytes);
    expect(sizes[0]).to.equal(1_000);
    expect(Math.max(...sizes)).to.be.greaterThan(10_000);
    // Back to the configured size once the big batch is through.
    await waitUntil('a fetch at offset 4', () => fake.fetches.some((f) => f.fetchOffset === 4));
    expect(fake.fetches.find((f) => f.fetchOffset === 4)?.maxBytes).to.equal(1_000);
  });

  it('crashes with MessageTooLargeError when a batch is larger than maxBatchBytes', async () => {
    const fake = new FakeCluster('t', 1);
    fake.cutAtMaxBytes = true;
    fake.partitions[0]!.append([{ key: null, value: new Uint8Array(4_000) }]);
    const c = await consumer(fake, { maxBytes: 500, maxBatchBytes: 2_000 });
    const crashed = crashes(c);
    await c.assign([{ topic: 't', fromBeginning: true }]);
    let seen = 0;
    await c.run({ eachMessage: async () => void seen++ });
    await waitUntil('a crash', () => crashed.length === 1);
    expect(crashed[0]!.error).to.be.instanceOf(MessageTooLargeError);
    expect(crashed[0]!.error.message).to.match(/maxBatchBytes/);
    expect(seen).to.equal(0);
  });

  it('retries retriable fetch errors without surfacing them, invalidating metadata, without gaps or duplicates', async () => {
    const fake = new FakeCluster('t', 1);
    const log = fake.partitions[0]!;
    log.append(records('v', 3));
    const c = await consumer(fake);
    const crashed = crashes(c);
    await c.assign([{ topic: 't', fromBeginning: true }]);
    const seen: number[] = [];
    await c.run({ eachMessage: async ({ message }) => void seen.push(message.offset) });
    await waitUntil('three', () => seen.length === 3);
    fake.fetchErrors.push('NOT_LEADER_OR_FOLLOWER', 'FENCED_LEADER_EPOCH', 'UNKNOWN_LEADER_EPOCH', 'UNKNOWN_TOPIC_OR_PARTITION', 'KAFKA_STORAGE_ERROR');
    const invalidationsBefore = fake.invalidations;
    await waitUntil('every error answered', () => fake.fetchErrors.length === 0);
    log.append(records('v', 3, 3));
    await waitUntil('six', () => seen.length === 6);
    expect(seen).to.deep.equal([0, 1, 2, 3, 4, 5]);
    expect(fake.invalidations - invalidationsBefore).to.be.at.least(5);
    expect(crashed).to.deep.equal([]);
  });

  it('resets an out-of-range position by the policy, or crashes with OffsetOutOfRangeError for none', async () => {
    const fake = new FakeCluster('t', 1);
    const log = fake.partitions[0]!;
    log.append(records('v', 3));
    const c = await consumer(fake);
    const resets: number[] = [];
    c.on(ConsumerEvents.OFFSET_RESET, (e) => resets.push(e.payload.fromOffset));
    await c.assign([{ topic: 't', fromBeginning: true }]);
    c.seek({ topic: 't', partition: 0, offset: 50 });
    const seen: number[] = [];
    await c.run({ eachMessage: async ({ message }) => void seen.push(message.offset) });
    await waitUntil('three', () => seen.length === 3);
    expect(resets).to.deep.equal([50]);
    expect(seen).to.deep.equal([0, 1, 2]);

    const strict = await consumer(fake, { autoOffsetReset: 'none' });
    const crashed = crashes(strict);
    await strict.assign([{ topic: 't', fromBeginning: true }]);
    strict.seek({ topic: 't', partition: 0, offset: 50 });
    await strict.run({ eachMessage: async () => {} });
    await waitUntil('a crash', () => crashed.length === 1);
    expect(crashed[0]!.error).to.be.instanceOf(OffsetOutOfRangeError);
  });

  it('stops the run on an eachMessage error, surfaced as thrown; run() again resumes at that message', async () => {
    const fake = new FakeCluster('t', 1);
    fake.partitions[0]!.append(records('v', 4));
    const c = await consumer(fake);
    const crashed = crashes(c);
    let stops = 0;
    c.on(ConsumerEvents.STOP, () => void stops++);
    await c.assign([{ topic: 't', fromBeginning: true }]);
    const boom = new Error('boom');
    const seen: number[] = [];
    await c.run({
      eachMessage: async ({ message }) => {
        seen.push(message.offset);
        if (message.offset === 2) throw boom;
      },
    });
    await waitUntil('a crash', () => crashed.length === 1);
    expect(crashed[0]!.error).to.equal(boom);
    expect(stops).to.equal(1);
    expect(c.position({ topic: 't', partition: 0 })).to.equal(2);
    expect(seen).to.deep.equal([0, 1, 2]);
    await c.run({ eachMessage: async ({ message }) => void seen.push(message.offset) });
    await waitUntil('the rest', () => seen.length === 5);
    expect(seen).to.deep.equal([0, 1, 2, 2, 3]);
  });

  it('eachBatch: one batch per fetch answer; resolveOffset moves the position without auto-resolve', async () => {
    const fake = new FakeCluster('t', 1);
    const log = fake.partitions[0]!;
    log.append(records('v', 3));
    log.append(records('v', 2, 3));
    const c = await consumer(fake);
    await c.assign([{ topic: 't', fromBeginning: true }]);
    const batches: Array<{ first: number | null; last: number; hw: number; lag: number; n: number }> = [];
    let calls = 0;
    await c.run({
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch, resolveOffset, isStale, isRunning }) => {
        calls++;
        expect(isStale()).to.equal(false);
        expect(isRunning()).to.equal(true);
        batches.push({ first: batch.firstOffset(), last: batch.lastOffset(), hw: batch.highWatermark, lag: batch.offsetLag(), n: batch.messages.length });
        // Resolve only up to offset 2 the first time: the next batch starts at 3.
        resolveOffset(calls === 1 ? 2 : batch.lastOffset());
      },
    });
    await waitUntil('position 5', () => c.position({ topic: 't', partition: 0 }) === 5);
    expect(batches[0]).to.deep.equal({ first: 0, last: 4, hw: 5, lag: 0, n: 5 });
    expect(batches[1]).to.deep.equal({ first: 3, last: 4, hw: 5, lag: 0, n: 2 });
  });

  it('a seek made inside eachMessage wins: the rest of the answer is dropped and the sought offset comes next', async () => {
    const fake = new FakeCluster('t', 1);
    fake.partitions[0]!.append(records('v', 5));
    const c = await consumer(fake);
    await c.assign([{ topic: 't', fromBeginning: true }]);
    const seen: number[] = [];
    let sought = false;
    await c.run({
      eachMessage: async ({ message }) => {
        seen.push(message.offset);
        if (message.offset === 2 && !sought) {
          sought = true;
          c.seek({ topic: 't', partition: 0, offset: 1 });
        }
      },
    });
    await waitUntil('the re-read to the end', () => c.position({ topic: 't', partition: 0 }) === 5);
    expect(seen).to.deep.equal([0, 1, 2, 1, 2, 3, 4]);
  });

  it('stop() can be awaited from inside eachMessage; that message still counts', async () => {
    const fake = new FakeCluster('t', 1);
    fake.partitions[0]!.append(records('v', 5));
    const c = await consumer(fake);
    await c.assign([{ topic: 't', fromBeginning: true }]);
    const seen: number[] = [];
    await c.run({
      eachMessage: async ({ message }) => {
        seen.push(message.offset);
        if (message.offset === 1) await c.stop();
      },
    });
    await waitUntil('stopped', () => !c.isRunning());
    await waitUntil('position 2', () => c.position({ topic: 't', partition: 0 }) === 2);
    expect(seen).to.deep.equal([0, 1]);
  });
});
