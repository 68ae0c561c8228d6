/**
 * The segment log (src/partitions/segment-log.ts) on the simulated disk, and once on the real one:
 * appends and reads across rolls, index lookups, errors, group commit, recovery after a process crash,
 * a power loss (clean and torn) and bit rot, leader epochs, truncation, retention, ListOffsets by time
 * and the HW checkpoint.
 */
import { expect } from 'chai';
import { NodeLogFileSystem } from '../../src/node/node-log-fs.js';
import type { PartitionErrorResult } from '../../src/partitions/errors.js';
import type { LogDirectory, LogFileSystem } from '../../src/partitions/log-fs.js';
import { SegmentIndex, decodeIndexFiles } from '../../src/partitions/offset-index.js';
import { decodeRecords, encodeRecordBatch, iterateBatches } from '../../src/partitions/record-batch.js';
import type { ReplicaLog } from '../../src/partitions/replica.js';
import {
  EARLIEST_TIMESTAMP,
  HIGH_WATERMARK_CHECKPOINT,
  LATEST_TIMESTAMP,
  LEADER_EPOCH_CHECKPOINT,
  SegmentLog,
  type LogAppendInfo,
  type SegmentLogConfig,
} from '../../src/partitions/segment-log.js';
import { AssertionError } from '../../src/util/assert.js';
import { silentLoggers } from '../../src/util/log.js';
import { SimLogDisk } from '../../sim/sim-log-fs.js';
import { Scheduler } from '../../sim/scheduler.js';
import { SeededRandom } from '../../src/util/random.js';
import { BASE_CONFIG, simDisk, tempDir, type SimLatency } from './log-fs-fixtures.js';

const DIR = 't-0';

/** A batch of `count` records, values of `valueBytes` bytes, timestamps ts, ts+1, ... */
function batch(count: number, options: { ts?: number; valueBytes?: number; producerId?: number } = {}): Uint8Array {
  const ts = options.ts ?? 1_000;
  const records = Array.from({ length: count }, (_, i) => ({ key: null, value: new Uint8Array(options.valueBytes ?? 10).fill(i & 0xff), timestamp: ts + i }));
  return encodeRecordBatch(records, options.producerId === undefined ? {} : { producerId: options.producerId, producerEpoch: 0, baseSequence: 0 });
}

function isError(value: unknown): value is PartitionErrorResult {
  return typeof value === 'object' && value !== null && 'error' in value && !(value instanceof Uint8Array);
}

function info(result: LogAppendInfo | PartitionErrorResult): LogAppendInfo {
  if (isError(result)) expect.fail(`append failed: ${result.error} ${result.message}`);
  return result;
}

function bytesOf(result: Uint8Array | PartitionErrorResult): Uint8Array {
  if (isError(result)) expect.fail(`read failed: ${result.error} ${result.message}`);
  return result;
}

/** Base offsets of the batches in `bytes`. */
function batchBases(bytes: Uint8Array): number[] {
  return [...iterateBatches(bytes)].map(({ header }) => header.baseOffset);
}

/** Every record offset from `from` to the log end, read in chunks, checking each batch's records decode. */
async function readOffsets(log: SegmentLog, from = log.logStartOffset, maxBytes = 4096): Promise<number[]> {
  const offsets: number[] = [];
  let next = from;
  for (let guard = 0; next < log.logEndOffset; guard++) {
    expect(guard).to.be.lessThan(100_000);
    const bytes = bytesOf(await log.read(next, { maxBytes, maxOffset: log.logEndOffset }));
    expect(bytes.length).to.be.greaterThan(0);
    for (const { position, header } of iterateBatches(bytes)) {
      for (const record of decodeRecords(bytes, position)) if (record.offset >= next) offsets.push(record.offset);
      next = header.lastOffset + 1;
    }
  }
  return offsets;
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from }, (_, i) => from + i);
}

interface Harness {
  readonly disk: SimLogDisk;
  fs: LogFileSystem;
  dir: LogDirectory;
  log: SegmentLog;
  reopen(config?: Partial<SegmentLogConfig>, nowMs?: number): Promise<SegmentLog>;
}

async function harness(config: Partial<SegmentLogConfig> = {}, seed = 1, latency?: SimLatency): Promise<Harness> {
  const { disk } = simDisk(seed, true, latency);
  const fs = disk.mount();
  const dir = await fs.directory(DIR);
  const h: Harness = {
    disk,
    fs,
    dir,
    log: await SegmentLog.open({ dir, config: { ...BASE_CONFIG, ...config }, nowMs: 0, logger: silentLoggers('') }),
    async reopen(more: Partial<SegmentLogConfig> = {}, nowMs = 0) {
      h.fs = disk.mount();
      h.dir = await h.fs.directory(DIR);
      h.log = await SegmentLog.open({ dir: h.dir, config: { ...BASE_CONFIG, ...config, ...more }, nowMs, logger: silentLoggers('') });
      return h.log;
    },
  };
  return h;
}

async function appendMany(log: SegmentLog, batches: number, recordsPerBatch: number, options: { epoch?: number; valueBytes?: number; ts?: number } = {}): Promise<void> {
  for (let i = 0; i < batches; i++) {
    info(await log.appendAsLeader(batch(recordsPerBatch, { valueBytes: options.valueBytes ?? 10, ts: (options.ts ?? 1_000) + i * 10 }), options.epoch ?? 1, 0));
  }
}

describe('segment log', () => {
  it('implements the ReplicaLog the replica layer expects', async () => {
    const { log } = await harness();
    const asReplicaLog: ReplicaLog = log;
    expect(asReplicaLog.logEndOffset).to.equal(0);
  });

  describe('appends and reads', () => {
    it('a new log is empty: reads at 0 are empty, beyond are OFFSET_OUT_OF_RANGE', async () => {
      const { log, dir } = await harness();
      expect([log.logStartOffset, log.logEndOffset, log.highWatermark, log.flushedOffset]).to.deep.equal([0, 0, 0, 0]);
      expect(await dir.list()).to.deep.equal(['00000000000000000000.log']);
      expect(bytesOf(await log.read(0, { maxBytes: 100, maxOffset: 10 })).length).to.equal(0);
      expect((await log.read(1, { maxBytes: 100, maxOffset: 10 })) as PartitionErrorResult).to.include({ error: 'OFFSET_OUT_OF_RANGE' });
    });

    it('assigns consecutive offsets, stamps base offset and leader epoch in place, reads whole batches back', async () => {
      const { log } = await harness();
      const first = batch(3, { producerId: 7 });
      const a = info(await log.appendAsLeader(first, 4, 0));
      expect(a).to.include({ baseOffset: 0, lastOffset: 2, producerId: 7, producerEpoch: 0, baseSequence: 0, lastSequence: 2 });
      const b = info(await log.appendAsLeader(batch(2), 4, 0));
      expect([b.baseOffset, b.lastOffset]).to.deep.equal([3, 4]);
      expect(log.logEndOffset).to.equal(5);
      const [header] = [...iterateBatches(first)].map((x) => x.header);
      expect(header).to.include({ baseOffset: 0, partitionLeaderEpoch: 4 });
      const bytes = bytesOf(await log.read(0, { maxBytes: 1 << 20, maxOffset: 5 }));
      expect(batchBases(bytes)).to.deep.equal([0, 3]);
      expect([...iterateBatches(bytes)].map((x) => x.header.partitionLeaderEpoch)).to.deep.equal([4, 4]);
      // From inside a batch: the whole batch containing the offset.
      expect(batchBases(bytesOf(await log.read(4, { maxBytes: 1 << 20, maxOffset: 5 })))).to.deep.equal([3]);
      expect(batchBases(bytesOf(await log.read(1, { maxBytes: 1 << 20, maxOffset: 5 })))).to.deep.equal([0, 3]);
    });

    it('returns at least one batch even if larger than maxBytes, whole batches otherwise, nothing at or past maxOffset', async () => {
      const { log } = await harness();
      await appendMany(log, 5, 2, { valueBytes: 100 }); // offsets 0..9, batches at 0,2,4,6,8
      const one = bytesOf(await log.read(0, { maxBytes: 1, maxOffset: 10 }));
      expect(batchBases(one)).to.deep.equal([0]);
      const size = one.length;
      expect(batchBases(bytesOf(await log.read(0, { maxBytes: size * 2 + size - 1, maxOffset: 10 })))).to.deep.equal([0, 2]);
      expect(batchBases(bytesOf(await log.read(0, { maxBytes: 1 << 20, maxOffset: 6 })))).to.deep.equal([0, 2, 4]);
      // A batch straddling maxOffset is not served.
      expect(batchBases(bytesOf(await log.read(0, { maxBytes: 1 << 20, maxOffset: 5 })))).to.deep.equal([0, 2]);
      expect(bytesOf(await log.read(4, { maxBytes: 1 << 20, maxOffset: 5 })).length).to.equal(0);
      expect(bytesOf(await log.read(10, { maxBytes: 1 << 20, maxOffset: 10 })).length).to.equal(0);
      expect((await log.read(11, { maxBytes: 1, maxOffset: 20 })) as PartitionErrorResult).to.include({ error: 'OFFSET_OUT_OF_RANGE' });
    });

    it('rejects corrupt, oversized, empty and multi-batch leader appends without writing', async () => {
      const { log } = await harness({ maxMessageBytes: 500 });
      const corrupt = batch(2);
      corrupt[corrupt.length - 1] = corrupt[corrupt.length - 1]! ^ 1;
      expect(await log.appendAsLeader(corrupt, 1, 0)).to.include({ error: 'CORRUPT_RECORD' });
      expect(await log.appendAsLeader(batch(1, { valueBytes: 600 }), 1, 0)).to.include({ error: 'MESSAGE_TOO_LARGE' });
      expect(await log.appendAsLeader(encodeRecordBatch([], { timestampMs: 5 }), 1, 0)).to.include({ error: 'CORRUPT_RECORD' });
      const two = new Uint8Array([...batch(1), ...batch(1)]);
      expect(await log.appendAsLeader(two, 1, 0)).to.include({ error: 'CORRUPT_RECORD' });
      expect(log.logEndOffset).to.equal(0);
      expect(log.latestEpoch).to.equal(undefined);
    });

    it('asserts that a leader never appends with an epoch older than the log\'s latest', async () => {
      const { log } = await harness();
      info(await log.appendAsLeader(batch(1), 5, 0));
      let error: unknown;
      try {
        await log.appendAsLeader(batch(1), 4, 0);
      } catch (e) {
        error = e;
      }
      expect(error).to.be.instanceOf(AssertionError);
    });

    it('rolls segments by size; reads and index lookups work across them', async () => {
      const { log, dir } = await harness({ segmentBytes: 2000, indexIntervalBytes: 300 });
      await appendMany(log, 60, 3, { valueBytes: 20 }); // ~150 bytes per batch
      expect(log.segmentCount).to.be.at.least(4);
      const names = await dir.list();
      const bases = log.segmentBaseOffsets();
      for (const base of bases) expect(names).to.include(String(base).padStart(20, '0') + '.log');
      // Sealed segments have index files; the active one does not.
      for (const base of bases.slice(0, -1)) expect(names).to.include(String(base).padStart(20, '0') + '.index');
      expect(names).not.to.include(String(bases[bases.length - 1]).padStart(20, '0') + '.index');
      expect(await readOffsets(log)).to.deep.equal(range(0, 180));
      // Every offset maps to the batch that contains it.
      for (let offset = 0; offset < 180; offset++) {
        const bytes = bytesOf(await log.read(offset, { maxBytes: 1, maxOffset: 180 }));
        const [only] = [...iterateBatches(bytes)];
        expect(only!.header.baseOffset).to.equal(offset - (offset % 3));
      }
    });

    it('rolls segments by time (segment.ms from the first append)', async () => {
      const { log } = await harness({ segmentMs: 1000 });
      info(await log.appendAsLeader(batch(1), 1, 100));
      info(await log.appendAsLeader(batch(1), 1, 1099));
      expect(log.segmentCount).to.equal(1);
      info(await log.appendAsLeader(batch(1), 1, 1100));
      expect(log.segmentBaseOffsets()).to.deep.equal([0, 2]);
    });

    it('appends fetched batches as a follower: continuity, CORRUPT_RECORD, epochs learned from the batches', async () => {
      const leader = await harness();
      await appendMany(leader.log, 3, 2, { epoch: 2 });
      leader.log.assignEpoch(5, leader.log.logEndOffset);
      await appendMany(leader.log, 2, 2, { epoch: 5 });
      const fetched = bytesOf(await leader.log.read(0, { maxBytes: 1 << 20, maxOffset: 10 }));
      const follower = await harness({}, 2);
      const gap = bytesOf(await leader.log.read(2, { maxBytes: 1 << 20, maxOffset: 10 }));
      expect(await follower.log.appendAsFollower(gap, 0)).to.include({ error: 'OFFSET_OUT_OF_RANGE' });
      const broken = fetched.slice();
      broken[100] = broken[100]! ^ 4;
      expect(await follower.log.appendAsFollower(broken, 0)).to.include({ error: 'CORRUPT_RECORD' });
      expect(await follower.log.appendAsFollower(fetched.subarray(0, fetched.length - 3), 0)).to.include({ error: 'CORRUPT_RECORD' });
      expect(follower.log.logEndOffset).to.equal(0);
      const appended = await follower.log.appendAsFollower(fetched, 0);
      if (isError(appended)) expect.fail(appended.message);
      expect(appended.map((a) => a.baseOffset)).to.deep.equal([0, 2, 4, 6, 8]);
      expect(follower.log.logEndOffset).to.equal(10);
      expect(follower.log.epochEntries()).to.deep.equal([
        { epoch: 2, startOffset: 0 },
        { epoch: 5, startOffset: 6 },
      ]);
      expect(await readOffsets(follower.log)).to.deep.equal(range(0, 10));
    });
  });

  describe('pipelined appends', () => {
    it('many appends in flight get contiguous offsets, roll segments, and read back in order', async () => {
      const h = await harness({ segmentBytes: 1500, indexIntervalBytes: 200 });
      const appends = Array.from({ length: 60 }, (_, i) => h.log.appendAsLeader(batch(2, { valueBytes: 40, ts: i }), 1, 0));
      const infos = (await Promise.all(appends)).map(info);
      expect(infos.map((x) => x.baseOffset)).to.deep.equal(range(0, 60).map((i) => i * 2));
      expect(h.log.logEndOffset).to.equal(120);
      expect(h.log.segmentCount).to.be.greaterThan(3);
      expect(await readOffsets(h.log)).to.deep.equal(range(0, 120));
      const flushes = await Promise.all([h.log.flush(), h.log.flush()]);
      expect(flushes).to.deep.equal([120, 120]);
      h.disk.powerLoss({ torn: false });
      const log = await h.reopen();
      expect(await readOffsets(log)).to.deep.equal(range(0, 120));
    });

    it('a truncation queued behind appends in flight waits for them', async () => {
      const h = await harness();
      const appends = Array.from({ length: 10 }, () => h.log.appendAsLeader(batch(1), 1, 0));
      const truncation = h.log.truncateTo(4);
      const more = h.log.appendAsLeader(batch(1), 1, 0);
      await Promise.all(appends);
      await truncation;
      expect(info(await more).baseOffset).to.equal(4);
      expect(await readOffsets(h.log)).to.deep.equal(range(0, 5));
    });

    it('reads concurrent with appends see only whole appended batches', async () => {
      const h = await harness();
      const pending: Array<Promise<unknown>> = [];
      const seen: number[] = [];
      for (let i = 0; i < 40; i++) {
        pending.push(h.log.appendAsLeader(batch(1), 1, 0));
        const end = h.log.logEndOffset;
        pending.push(
          h.log.read(0, { maxBytes: 1 << 20, maxOffset: end }).then((bytes) => {
            const bases = batchBases(bytesOf(bytes));
            expect(bases).to.deep.equal(range(0, bases.length));
            seen.push(bases.length);
          }),
        );
      }
      await Promise.all(pending);
      expect(seen.length).to.equal(40);
    });
  });

  describe('flush and group commit', () => {
    it('one fsync covers every append before it; concurrent callers share it', async () => {
      const { log, disk } = await harness();
      const syncsBefore = disk.syncCount;
      await appendMany(log, 10, 1);
      expect(log.flushedOffset).to.equal(0);
      const flushes = await Promise.all([log.flush(), log.flush(), log.flush(), log.flush()]);
      expect(flushes).to.deep.equal([10, 10, 10, 10]);
      expect(disk.syncCount - syncsBefore).to.equal(1);
      expect(disk.durableSize(DIR, '00000000000000000000.log')).to.equal(disk.cachedBytes(DIR, '00000000000000000000.log')!.length);
      // Nothing new: no fsync at all.
      expect(await log.flush()).to.equal(10);
      expect(disk.syncCount - syncsBefore).to.equal(1);
    });

    it('appends that arrive during a sync share the next one (on the simulator\'s scheduler)', async () => {
      // Appends take no time, syncs 5 ms: the three appends land while the first sync runs.
      const scheduler = new Scheduler();
      const disk = new SimLogDisk({ clock: scheduler, random: new SeededRandom(1), latencyMs: { min: 0, max: 0 }, syncLatencyMs: { min: 5, max: 5 } });
      let done = false;
      const body = (async () => {
        const log = await SegmentLog.open({ dir: await disk.mount().directory(DIR), config: BASE_CONFIG, nowMs: 0, logger: silentLoggers('') });
        const syncsBefore = disk.syncCount;
        info(await log.appendAsLeader(batch(1), 1, 0));
        const flushStartMs = scheduler.nowMs();
        const first = log.flush();
        const appends = [log.appendAsLeader(batch(1), 1, 0), log.appendAsLeader(batch(1), 1, 0), log.appendAsLeader(batch(1), 1, 0)];
        const later: Array<Promise<number>> = [];
        await Promise.all(
          appends.map(async (append) => {
            info(await append);
            later.push(log.flush());
          }),
        );
        expect(scheduler.nowMs() - flushStartMs).to.be.lessThan(5);
        expect(await first).to.equal(1);
        expect(await Promise.all(later)).to.deep.equal([4, 4, 4]);
        expect(log.flushedOffset).to.equal(4);
        expect(disk.syncCount - syncsBefore).to.equal(2);
      })().finally(() => (done = true));
      await scheduler.runUntil({ until: () => done });
      await body;
    });
  });

  describe('recovery', () => {
    it('after a process crash nothing is lost, flushed or not', async () => {
      const h = await harness({ flush: 'os', segmentBytes: 3000 });
      await appendMany(h.log, 40, 2, { valueBytes: 30 });
      info(await h.log.appendAsLeader(batch(1), 1, 0));
      expect(h.log.flushedOffset).to.be.lessThan(81);
      h.disk.processCrash();
      const log = await h.reopen();
      expect(log.logEndOffset).to.equal(81);
      expect(log.flushedOffset).to.equal(81);
      expect(await readOffsets(log)).to.deep.equal(range(0, 81));
    });

    it('after a power loss with flush=always everything flushed survives, the rest is cleanly gone', async () => {
      const h = await harness({ segmentBytes: 3000 });
      await appendMany(h.log, 30, 2, { valueBytes: 30 });
      await h.log.flush();
      await appendMany(h.log, 3, 2, { valueBytes: 30 });
      h.disk.powerLoss({ torn: false });
      const log = await h.reopen();
      expect(log.logEndOffset).to.equal(60);
      expect(await readOffsets(log)).to.deep.equal(range(0, 60));
      info(await log.appendAsLeader(batch(2), 1, 0));
      expect(await readOffsets(log, 58)).to.deep.equal(range(58, 62));
    });

    it('a torn tail is truncated cleanly and later appends are fine (many seeds)', async () => {
      const ends = new Set<number>();
      for (let seed = 1; seed <= 25; seed++) {
        const h = await harness({ segmentBytes: 1 << 20 }, seed);
        await appendMany(h.log, 5, 2, { valueBytes: 50 });
        await h.log.flush();
        await appendMany(h.log, 5, 2, { valueBytes: 50 });
        h.disk.powerLoss({ torn: true });
        const log = await h.reopen();
        expect(log.logEndOffset).to.be.within(10, 20);
        expect(log.logEndOffset % 2).to.equal(0);
        ends.add(log.logEndOffset);
        expect(await readOffsets(log)).to.deep.equal(range(0, log.logEndOffset));
        const end = log.logEndOffset;
        info(await log.appendAsLeader(batch(2), 1, 0));
        await log.flush();
        h.disk.powerLoss({ torn: true });
        const again = await h.reopen();
        expect(again.logEndOffset).to.equal(end + 2);
        expect(await readOffsets(again)).to.deep.equal(range(0, end + 2));
      }
      expect(ends.size).to.be.greaterThan(1);
    });

    it('bit rot in a flushed batch of a sealed segment is caught when read, never served', async () => {
      const h = await harness({ segmentBytes: 1000 });
      await appendMany(h.log, 20, 2, { valueBytes: 40 });
      await h.log.flush();
      const bases = h.log.segmentBaseOffsets();
      expect(bases.length).to.be.greaterThan(2);
      const victim = String(bases[1]).padStart(20, '0') + '.log';
      h.disk.flipBit(DIR, victim, 100, 3); // inside the segment's first batch, past its header
      await h.log.close();
      h.disk.unmount();
      const log = await h.reopen();
      expect(log.logEndOffset).to.equal(40); // a sealed segment with a valid index is not scanned
      const result = await log.read(bases[1]!, { maxBytes: 1 << 20, maxOffset: 40 });
      expect(result).to.include({ error: 'KAFKA_STORAGE_ERROR' });
      // The rest of the log is still served.
      expect(batchBases(bytesOf(await log.read(0, { maxBytes: 1 << 20, maxOffset: 40 })))[0]).to.equal(0);
      expect(bytesOf(await log.read(bases[2]!, { maxBytes: 1 << 20, maxOffset: 40 })).length).to.be.greaterThan(0);
    });

    it('bit rot in the tail segment is found at recovery and the log truncated there', async () => {
      const h = await harness();
      await appendMany(h.log, 10, 2, { valueBytes: 40 });
      await h.log.flush();
      const one = bytesOf(await h.log.read(0, { maxBytes: 1, maxOffset: 20 })).length;
      h.disk.flipBit(DIR, '00000000000000000000.log', one * 6 + 70, 0); // batch 6 (offsets 12-13)
      await h.log.close();
      h.disk.unmount();
      const log = await h.reopen();
      expect(log.logEndOffset).to.equal(12);
      expect(await readOffsets(log)).to.deep.equal(range(0, 12));
    });

    it('rebuilds missing or corrupt index files of sealed segments and rewrites them', async () => {
      const h = await harness({ segmentBytes: 1000, indexIntervalBytes: 100 });
      await appendMany(h.log, 20, 2, { valueBytes: 40 });
      await h.log.close();
      h.disk.unmount();
      const bases = h.log.segmentBaseOffsets();
      const first = String(bases[0]).padStart(20, '0');
      const second = String(bases[1]).padStart(20, '0');
      const original = h.disk.cachedBytes(DIR, `${first}.index`)!;
      const fs = h.disk.mount();
      const dir = await fs.directory(DIR);
      await dir.remove(`${first}.index`);
      h.disk.flipBit(DIR, `${second}.timeindex`, 10, 1);
      h.disk.unmount();
      const log = await h.reopen();
      expect(await readOffsets(log)).to.deep.equal(range(0, 40));
      expect(h.disk.cachedBytes(DIR, `${first}.index`)).to.deep.equal(original);
      const rebuilt = decodeIndexFiles(h.disk.cachedBytes(DIR, `${second}.index`)!, h.disk.cachedBytes(DIR, `${second}.timeindex`)!);
      expect(rebuilt).to.not.equal(undefined);
    });

    it('drops epoch entries past the recovered end, keeps the rest, and clamps the HW checkpoint', async () => {
      const h = await harness();
      await appendMany(h.log, 3, 2, { epoch: 1 });
      await h.log.flush();
      h.log.highWatermark = 6;
      await h.log.checkpointHighWatermark();
      await appendMany(h.log, 2, 2, { epoch: 3 }); // epoch 3 from offset 6; unflushed
      await h.log.checkpointHighWatermark();
      expect(h.log.epochEntries()).to.deep.equal([
        { epoch: 1, startOffset: 0 },
        { epoch: 3, startOffset: 6 },
      ]);
      h.log.highWatermark = 10;
      await h.log.checkpointHighWatermark();
      h.disk.powerLoss({ torn: false });
      const log = await h.reopen();
      expect(log.logEndOffset).to.equal(6);
      expect(log.epochEntries()).to.deep.equal([{ epoch: 1, startOffset: 0 }]);
      expect(log.highWatermark).to.equal(6);
      expect(new TextDecoder().decode(h.disk.cachedBytes(DIR, LEADER_EPOCH_CHECKPOINT))).to.equal('0\n1\n1 0\n');
    });
  });

  describe('leader epochs', () => {
    it('records each new epoch start, answers OffsetsForLeaderEpoch, and persists the checkpoint', async () => {
      const h = await harness();
      await appendMany(h.log, 2, 2, { epoch: 1 });
      h.log.assignEpoch(2, h.log.logEndOffset); // a new leader at its log end, before any append
      await appendMany(h.log, 1, 2, { epoch: 2 });
      await appendMany(h.log, 2, 2, { epoch: 4 });
      expect(h.log.latestEpoch).to.equal(4);
      expect(h.log.endOffsetForEpoch(1)).to.deep.equal({ epoch: 1, endOffset: 4 });
      expect(h.log.endOffsetForEpoch(3)).to.deep.equal({ epoch: 2, endOffset: 6 });
      expect(h.log.endOffsetForEpoch(4)).to.deep.equal({ epoch: 4, endOffset: 10 });
      expect(h.log.endOffsetForEpoch(7)).to.deep.equal({ epoch: -1, endOffset: -1 });
      await h.log.close();
      h.disk.unmount();
      const log = await h.reopen();
      expect(log.epochEntries()).to.deep.equal([
        { epoch: 1, startOffset: 0 },
        { epoch: 2, startOffset: 4 },
        { epoch: 4, startOffset: 6 },
      ]);
    });
  });

  describe('truncation', () => {
    it('truncateTo drops whole batches at or after the offset, across segments, and the epochs past it', async () => {
      const h = await harness({ segmentBytes: 1000 });
      await appendMany(h.log, 10, 2, { valueBytes: 40, epoch: 1 });
      await appendMany(h.log, 10, 2, { valueBytes: 40, epoch: 2 });
      await h.log.flush();
      h.log.highWatermark = 14;
      const segmentsBefore = h.log.segmentCount;
      await h.log.truncateTo(15); // inside the batch 14-15: it goes whole
      expect(h.log.logEndOffset).to.equal(14);
      expect(h.log.segmentCount).to.be.lessThan(segmentsBefore);
      expect(h.log.epochEntries()).to.deep.equal([{ epoch: 1, startOffset: 0 }]);
      expect(h.log.highWatermark).to.equal(14);
      expect(h.log.flushedOffset).to.equal(14);
      expect(await readOffsets(h.log)).to.deep.equal(range(0, 14));
      await h.log.truncateTo(100); // beyond the end: nothing
      expect(h.log.logEndOffset).to.equal(14);
      await appendMany(h.log, 3, 2, { valueBytes: 40, epoch: 3 });
      expect(await readOffsets(h.log)).to.deep.equal(range(0, 20));
      await h.log.flush();
      h.disk.powerLoss({ torn: false });
      const log = await h.reopen();
      expect(await readOffsets(log)).to.deep.equal(range(0, 20));
      expect(log.epochEntries()).to.deep.equal([
        { epoch: 1, startOffset: 0 },
        { epoch: 3, startOffset: 14 },
      ]);
    });

    it('truncateTo a segment boundary makes the previous segment active again, without stale indexes', async () => {
      const h = await harness({ segmentBytes: 1000 });
      await appendMany(h.log, 20, 2, { valueBytes: 40 });
      const bases = h.log.segmentBaseOffsets();
      await h.log.truncateTo(bases[2]!);
      expect(h.log.segmentBaseOffsets()).to.deep.equal(bases.slice(0, 2));
      expect(await h.dir.list()).not.to.include(String(bases[1]).padStart(20, '0') + '.index');
      await appendMany(h.log, 10, 2, { valueBytes: 40 });
      await h.log.close();
      h.disk.unmount();
      const log = await h.reopen();
      expect(await readOffsets(log)).to.deep.equal(range(0, bases[2]! + 20));
    });

    it('truncateFullyAndStartAt empties the log and restarts it at an offset', async () => {
      const h = await harness({ segmentBytes: 1000 });
      await appendMany(h.log, 20, 2, { valueBytes: 40 });
      await h.log.truncateFullyAndStartAt(500);
      expect([h.log.logStartOffset, h.log.logEndOffset, h.log.highWatermark, h.log.segmentCount]).to.deep.equal([500, 500, 500, 1]);
      expect(h.log.latestEpoch).to.equal(undefined);
      expect(await h.log.read(0, { maxBytes: 10, maxOffset: 600 })).to.include({ error: 'OFFSET_OUT_OF_RANGE' });
      await appendMany(h.log, 2, 2);
      await h.log.close();
      h.disk.unmount();
      const log = await h.reopen();
      expect([log.logStartOffset, log.logEndOffset]).to.deep.equal([500, 504]);
      expect(await readOffsets(log)).to.deep.equal(range(500, 504));
    });
  });

  describe('retention and ListOffsets', () => {
    it('deletes whole old segments by retention.ms (never the active one, never at or above the HW)', async () => {
      const h = await harness({ segmentBytes: 1000, retentionMs: 10_000 });
      for (let i = 0; i < 20; i++) info(await h.log.appendAsLeader(batch(2, { valueBytes: 40, ts: i * 1000 }), 1, 0));
      const bases = h.log.segmentBaseOffsets();
      // Nothing is below the HW yet.
      expect((await h.log.applyRetention(1_000_000)).deletedSegments).to.equal(0);
      h.log.highWatermark = 40;
      const result = await h.log.applyRetention(1_000_000);
      expect(result.deletedSegments).to.equal(bases.length - 1);
      expect(h.log.segmentBaseOffsets()).to.deep.equal([bases[bases.length - 1]]);
      expect(result.logStartOffset).to.equal(h.log.logStartOffset);
      expect(await h.log.read(0, { maxBytes: 10, maxOffset: 40 })).to.include({ error: 'OFFSET_OUT_OF_RANGE' });
      expect(h.log.epochEntries()).to.deep.equal([{ epoch: 1, startOffset: h.log.logStartOffset }]);
    });

    it('keeps segments newer than retention.ms', async () => {
      const h = await harness({ segmentBytes: 1000, retentionMs: 10_000 });
      for (let i = 0; i < 20; i++) info(await h.log.appendAsLeader(batch(2, { valueBytes: 40, ts: i * 1000 }), 1, 0));
      h.log.highWatermark = 40;
      const bases = h.log.segmentBaseOffsets();
      // At 20 s only segments whose newest record is before 10 s go (batch i has timestamps 1000i, 1000i + 1).
      const result = await h.log.applyRetention(20_000);
      expect(result.deletedSegments).to.be.within(1, bases.length - 2);
      const start = h.log.logStartOffset;
      const lastDeletedBatch = start / 2 - 1;
      expect(lastDeletedBatch * 1000 + 1).to.be.lessThan(10_000);
      const keptEnd = bases[bases.indexOf(start) + 1]!;
      expect((keptEnd / 2 - 1) * 1000 + 1).to.be.at.least(10_000);
      expect(await h.log.offsetForTimestamp(0)).to.deep.equal({ offset: start, timestamp: (start / 2) * 1000 });
    });

    it('deletes the oldest segments while the log exceeds retention.bytes', async () => {
      const h = await harness({ segmentBytes: 1000, retentionBytes: 2500 });
      await appendMany(h.log, 30, 2, { valueBytes: 40 });
      h.log.highWatermark = h.log.logEndOffset;
      const result = await h.log.applyRetention(0);
      expect(result.deletedSegments).to.be.greaterThan(0);
      expect(h.log.sizeInBytes).to.be.at.least(2500);
      expect(h.log.sizeInBytes - h.disk.cachedBytes(DIR, String(h.log.logStartOffset).padStart(20, '0') + '.log')!.length).to.be.lessThan(2500);
      expect(await readOffsets(h.log)).to.deep.equal(range(h.log.logStartOffset, 60));
    });

    it('finds the first record at or after a timestamp, across segments and inside batches', async () => {
      const h = await harness({ segmentBytes: 1000, indexIntervalBytes: 200 });
      // Batch i holds offsets 3i..3i+2 with timestamps 100i, 100i+1, 100i+2.
      for (let i = 0; i < 30; i++) info(await h.log.appendAsLeader(batch(3, { valueBytes: 30, ts: i * 100 }), 1, 0));
      expect(h.log.segmentCount).to.be.greaterThan(3);
      for (const [ts, offset] of [
        [0, 0],
        [1, 1],
        [2, 2],
        [3, 3],
        [101, 4],
        [1502, 47],
        [1550, 48],
        [2902, 89],
      ] as const) {
        expect(await h.log.offsetForTimestamp(ts), `ts ${ts}`).to.deep.equal({ offset, timestamp: ts <= 2902 && ts % 100 <= 2 ? ts : Math.ceil(ts / 100) * 100 });
      }
      expect(await h.log.offsetForTimestamp(2903)).to.equal(undefined);
      expect(await h.log.offsetForTimestamp(EARLIEST_TIMESTAMP)).to.deep.equal({ offset: 0, timestamp: -1 });
      expect(await h.log.offsetForTimestamp(LATEST_TIMESTAMP)).to.deep.equal({ offset: 90, timestamp: -1 });
    });
  });

  describe('checkpoints', () => {
    it('the HW checkpoint survives a power loss', async () => {
      const h = await harness();
      await appendMany(h.log, 5, 2);
      await h.log.flush();
      h.log.highWatermark = 8;
      await Promise.all([h.log.checkpointHighWatermark(), h.log.checkpointHighWatermark()]);
      expect(new TextDecoder().decode(h.disk.durableBytes(DIR, HIGH_WATERMARK_CHECKPOINT))).to.equal('0\n8\n');
      h.disk.powerLoss({ torn: true });
      const log = await h.reopen();
      expect(log.highWatermark).to.equal(8);
      expect(() => (log.highWatermark = 11)).to.throw(AssertionError);
    });
  });

  describe('offset index', () => {
    it('looks up the last indexed batch at or before an offset, and timestamps', () => {
      const index = new SegmentIndex(100);
      index.addEntry(110, 4000, 50);
      index.addEntry(130, 8000, 50);
      index.addEntry(150, 12000, 70);
      expect(index.lookup(100)).to.deep.equal({ position: 0, baseOffset: 100 });
      expect(index.lookup(129)).to.deep.equal({ position: 4000, baseOffset: 110 });
      expect(index.lookup(130)).to.deep.equal({ position: 8000, baseOffset: 130 });
      expect(index.lookup(1000)).to.deep.equal({ position: 12000, baseOffset: 150 });
      expect(index.timeEntryCount).to.equal(2);
      expect(index.lookupTimestamp(50)).to.equal(100);
      expect(index.lookupTimestamp(51)).to.equal(110);
      expect(index.lookupTimestamp(71)).to.equal(150);
      index.truncateToPosition(8000);
      expect(index.lookup(1000)).to.deep.equal({ position: 4000, baseOffset: 110 });
      expect(index.timeEntryCount).to.equal(1);
    });

    it('round-trips its files and rejects any damage', () => {
      const index = new SegmentIndex(7);
      index.addEntry(9, 100, 5);
      index.addEntry(12, 250, 8);
      index.observeTimestamp(20, 12);
      const offsets = index.encodeOffsetIndex(15, 400);
      const times = index.encodeTimeIndex(15, 400);
      const decoded = decodeIndexFiles(offsets, times);
      expect(decoded?.header).to.deep.equal({ baseOffset: 7, nextOffset: 15, logBytes: 400, maxTimestamp: 20, offsetOfMaxTimestamp: 12 });
      expect(decoded?.index.lookup(13)).to.deep.equal({ position: 250, baseOffset: 12 });
      for (let i = 0; i < offsets.length; i++) {
        const damaged = offsets.slice();
        damaged[i] = damaged[i]! ^ 0x10;
        expect(decodeIndexFiles(damaged, times), `byte ${i}`).to.equal(undefined);
      }
      expect(decodeIndexFiles(offsets.subarray(0, offsets.length - 1), times)).to.equal(undefined);
    });
  });

  describe('on the real disk', () => {
    it('appends, rolls, flushes, reopens and reads back', async () => {
      const tmp = await tempDir('skein-segment-log-');
      try {
        const fs = await NodeLogFileSystem.open(tmp.path);
        const config = { ...BASE_CONFIG, segmentBytes: 4000 };
        let log = await SegmentLog.open({ dir: await fs.directory('t-0'), config, nowMs: 0, logger: silentLoggers('') });
        await appendMany(log, 50, 2, { valueBytes: 50 });
        expect(await log.flush()).to.equal(100);
        log.assignEpoch(2, 100);
        await appendMany(log, 5, 2, { valueBytes: 50, epoch: 2 });
        await log.close();
        log = await SegmentLog.open({ dir: await fs.directory('t-0'), config, nowMs: 0, logger: silentLoggers('') });
        expect(log.segmentCount).to.be.greaterThan(2);
        expect(await readOffsets(log)).to.deep.equal(range(0, 110));
        expect(log.endOffsetForEpoch(1)).to.deep.equal({ epoch: 1, endOffset: 100 });
        await log.truncateTo(50);
        expect(await readOffsets(log)).to.deep.equal(range(0, 50));
        await log.close();
      } finally {
        await tmp.remove();
      }
    });
  });
});
