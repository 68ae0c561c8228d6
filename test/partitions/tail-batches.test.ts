/**
 * The in-memory tail of the active segment (src/partitions/tail-batches.ts) behind SegmentLog.read:
 * it answers exactly what the file would, for every fetch offset and limit, through appends as leader
 * and follower, rolls, evictions, large batches and truncations; and it is really used (a bit flipped
 * in the file under a cached batch is not seen, under an uncached one it is).
 */
import { expect } from 'chai';
import type { PartitionErrorResult } from '../../src/partitions/errors.js';
import { encodeRecordBatch } from '../../src/partitions/record-batch.js';
import { SegmentLog, type SegmentLogConfig } from '../../src/partitions/segment-log.js';
import { TAIL_BATCH_BYTES_MAX, TailBatches } from '../../src/partitions/tail-batches.js';
import { silentLoggers } from '../../src/util/log.js';
import { SeededRandom } from '../../src/util/random.js';
import { BASE_CONFIG, simDisk } from './log-fs-fixtures.js';

const DIR = 't-0';

function batch(count: number, valueBytes: number): Uint8Array {
  return encodeRecordBatch(Array.from({ length: count }, (_, i) => ({ key: null, value: new Uint8Array(valueBytes).fill(i & 0xff), timestamp: 1_000 + i })), {});
}

async function openLog(config: Partial<SegmentLogConfig>, seed: number) {
  const { disk } = simDisk(seed);
  const log = await SegmentLog.open({ dir: await disk.mount().directory(DIR), config: { ...BASE_CONFIG, ...config }, nowMs: 0, logger: silentLoggers('') });
  return { disk, log };
}

function isError(value: Uint8Array | PartitionErrorResult | object): value is PartitionErrorResult {
  return 'error' in value && !(value instanceof Uint8Array);
}

describe('tail batches', () => {
  it('answers every read exactly as the file does: appends, rolls, evictions, large batches, truncations', async () => {
    for (const seed of [1, 2, 3]) {
      const random = new SeededRandom(seed);
      // A small budget, so that evictions happen often; small segments, so that rolls do.
      const cached = await openLog({ tailCacheBytes: 8 * 1024, segmentBytes: 64 * 1024 }, seed);
      const plain = await openLog({ tailCacheBytes: 0, segmentBytes: 64 * 1024 }, seed);
      let servedFromMemory = 0;
      for (let step = 0; step < 120; step++) {
        const roll = random.float();
        if (roll < 0.05 && cached.log.logEndOffset > 10) {
          const to = cached.log.logEndOffset - 1 - random.int(10);
          await cached.log.truncateTo(to);
          await plain.log.truncateTo(to);
        } else {
          // Mostly small batches; now and then one larger than the cache keeps.
          const large = roll > 0.93;
          const count = large ? 40 : 1 + random.int(20);
          const valueBytes = large ? Math.ceil(TAIL_BATCH_BYTES_MAX / 30) : 10 + random.int(200);
          const a = await cached.log.appendAsLeader(batch(count, valueBytes), 1, 0);
          const b = await plain.log.appendAsLeader(batch(count, valueBytes), 1, 0);
          expect(a).to.deep.equal(b);
        }
        expect(cached.log.logEndOffset).to.equal(plain.log.logEndOffset);
        const end = cached.log.logEndOffset;
        for (let k = 0; k < 6 && end > 0; k++) {
          const fetchOffset = Math.max(cached.log.logStartOffset, end - 1 - random.int(Math.min(end, 200)));
          const limits = { maxBytes: random.int(3) === 0 ? 1 : random.int(20_000), maxOffset: fetchOffset + random.int(end - fetchOffset + 5) };
          const syncsBefore = cached.disk.syncCount;
          const fromCache = await cached.log.read(fetchOffset, limits);
          const fromFile = await plain.log.read(fetchOffset, limits);
          expect(fromCache, `seed ${seed} step ${step} read ${fetchOffset} ${JSON.stringify(limits)}`).to.deep.equal(fromFile);
          expect(cached.disk.syncCount).to.equal(syncsBefore);
          if (!isError(fromCache) && fromCache.length > 0) servedFromMemory++;
        }
      }
      expect(servedFromMemory).to.be.greaterThan(100);
      await cached.log.close();
      await plain.log.close();
    }
  });

  it('serves the newest small batches from memory and larger or older ones from the file', async () => {
    const { disk, log } = await openLog({}, 7);
    const small = batch(3, 20);
    const large = batch(40, Math.ceil(TAIL_BATCH_BYTES_MAX / 30));
    await log.appendAsLeader(small, 1, 0); // offsets 0-2, at byte 0
    await log.appendAsLeader(large, 1, 0); // offsets 3-42, not kept: clears the cache
    await log.appendAsLeader(batch(3, 20), 1, 0); // offsets 43-45, kept
    await log.flush();
    const largeAt = small.length;
    const lastAt = small.length + large.length;
    // Bit rot under each batch: the file path catches it, the memory path never reads the file.
    disk.flipBit(DIR, '00000000000000000000.log', 70, 1);
    disk.flipBit(DIR, '00000000000000000000.log', largeAt + 70, 1);
    disk.flipBit(DIR, '00000000000000000000.log', lastAt + 70, 1);
    const limits = { maxBytes: 1, maxOffset: log.logEndOffset };
    expect(await log.read(0, limits)).to.include({ error: 'KAFKA_STORAGE_ERROR' });
    expect(await log.read(3, limits)).to.include({ error: 'KAFKA_STORAGE_ERROR' });
    const tail = await log.read(44, limits);
    expect(tail).to.be.instanceOf(Uint8Array);
    expect((tail as Uint8Array).length).to.equal(small.length);
    // Scrubs read what is on disk: there the rot is found.
    expect(await log.read(44, { ...limits, fromFile: true })).to.include({ error: 'KAFKA_STORAGE_ERROR' });
    // A truncation drops the cache: from then on the file answers, rot and all.
    await log.appendAsLeader(batch(3, 20), 1, 0); // offsets 46-48
    await log.truncateTo(46);
    expect(log.logEndOffset).to.equal(46);
    expect(await log.read(43, limits)).to.include({ error: 'KAFKA_STORAGE_ERROR' });
    await log.close();
  });

  it('keeps its budget, drops the oldest entries first and never answers for what it does not hold', () => {
    const tail = new TailBatches(100);
    const bytes = (n: number, fill: number): Uint8Array => new Uint8Array(n).fill(fill);
    tail.add(0, 4, 0, bytes(40, 1));
    tail.add(5, 9, 40, bytes(40, 2));
    const all = { maxBytes: 1000, maxOffset: 100, visibleSize: 1000 };
    expect(tail.read(0, all)).to.deep.equal(new Uint8Array([...bytes(40, 1), ...bytes(40, 2)]));
    tail.add(10, 14, 80, bytes(40, 3)); // 120 bytes > 100: the first entry goes
    expect(tail.read(0, all)).to.equal(undefined);
    expect(tail.read(7, all)).to.deep.equal(new Uint8Array([...bytes(40, 2), ...bytes(40, 3)]));
    expect(tail.read(15, all)).to.equal(undefined);
    // Not written yet (beyond the visible size): the file must answer, or nothing is there yet.
    expect(tail.read(12, { ...all, visibleSize: 100 })).to.equal(undefined);
    expect(tail.read(7, { ...all, visibleSize: 100 })).to.deep.equal(bytes(40, 2));
    // maxOffset and maxBytes: whole batches, the first one always.
    expect(tail.read(7, { ...all, maxOffset: 14 })).to.deep.equal(bytes(40, 2));
    expect(tail.read(7, { ...all, maxOffset: 9 })).to.deep.equal(new Uint8Array(0));
    expect(tail.read(7, { ...all, maxBytes: 1 })).to.deep.equal(bytes(40, 2));
    // A batch that does not follow the last one (a position gap) restarts the cache.
    tail.add(20, 24, 500, bytes(10, 4));
    expect(tail.read(12, all)).to.equal(undefined);
    expect(tail.read(20, all)).to.deep.equal(bytes(10, 4));
    // A returned buffer is the caller's: changing it changes nothing held.
    (tail.read(20, all) as Uint8Array).fill(9);
    expect(tail.read(20, all)).to.deep.equal(bytes(10, 4));
  });
});
