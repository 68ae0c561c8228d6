/**
 * Log compaction (src/partitions/log-cleaner.ts) on the segment log's compaction hooks
 * (segment-log.ts, segment-swap.ts, compacted-batch.ts): the latest record per key kept at its
 * offset, tombstones kept for delete.retention.ms (and while a replica may not have read them) and
 * never letting an older value back, the active
 * segment and everything at or above the HW untouched, min.cleanable.dirty.ratio and
 * min.compaction.lag.ms, keyless and transactional records kept, idempotent producers still answered
 * after compaction and a restart, followers copying compacted data (gaps, empty batches, a batch
 * straddling their log end), reads and truncation inside a gap, a crash or power loss at every step
 * of a swap (simulated disk) and a crash at every step on the real disk, and the replica manager
 * running compaction from its tick for compacted topics only.
 */
import { expect } from 'chai';
import { NodeLogFileSystem } from '../../src/node/node-log-fs.js';
import { MetadataImage } from '../../src/metadata/image.js';
import { ConfigResource, type MetadataRecord } from '../../src/metadata/records.js';
import type { PartitionErrorResult } from '../../src/partitions/errors.js';
import type { LogDirectory, LogFile, OpenOptions } from '../../src/partitions/log-fs.js';
import { cleanableRange, compactLog, type CompactionConfig, type CompactionResult } from '../../src/partitions/log-cleaner.js';
import { decodeRecords, encodeRecordBatch, iterateBatches, validateBatch } from '../../src/partitions/record-batch.js';
import { ReplicaManager, rebuildProducerState } from '../../src/partitions/replica-manager.js';
import { SegmentLog, type LogAppendInfo, type SegmentLogConfig } from '../../src/partitions/segment-log.js';
import { silentLoggers } from '../../src/util/log.js';
import { SeededRandom } from '../../src/util/random.js';
import { Scheduler } from '../../sim/scheduler.js';
import { SimLogDisk } from '../../sim/sim-log-fs.js';
import { simDisk, tempDir } from './log-fs-fixtures.js';

const DIR = 'c-0';
const enc = new TextEncoder();
const dec = new TextDecoder();

const BASE_CONFIG: SegmentLogConfig = {
  segmentBytes: 700,
  segmentMs: 7 * 24 * 3600 * 1000,
  retentionMs: -1,
  retentionBytes: -1,
  flush: 'always',
  maxMessageBytes: 1 << 20,
};
/** Tombstones expire 10 s after their segment's largest timestamp; everything else compacts at once. */
const COMPACTION: CompactionConfig = { deleteRetentionMs: 10_000, minCleanableDirtyRatio: 0, minCompactionLagMs: 0 };

type Entry = readonly [key: string | null, value: string | null];

interface BatchOptions {
  readonly ts?: number;
  readonly producer?: { readonly id: number; readonly epoch: number; readonly sequence: number };
  readonly transactional?: boolean;
  readonly baseOffset?: number;
  readonly leaderEpoch?: number;
}

/** One batch of keyed records (null key or value allowed), timestamps ts, ts+1, ... */
function keyed(entries: readonly Entry[], options: BatchOptions = {}): Uint8Array {
  const ts = options.ts ?? 1_000;
  return encodeRecordBatch(
    entries.map(([k, v], i) => ({ key: k === null ? null : enc.encode(k), value: v === null ? null : enc.encode(v), timestamp: ts + i })),
    {
      ...(options.producer !== undefined ? { producerId: options.producer.id, producerEpoch: options.producer.epoch, baseSequence: options.producer.sequence } : {}),
      ...(options.transactional === true ? { transactional: true } : {}),
      ...(options.baseOffset !== undefined ? { baseOffset: options.baseOffset } : {}),
      ...(options.leaderEpoch !== undefined ? { partitionLeaderEpoch: options.leaderEpoch } : {}),
    },
  );
}

interface Rec {
  readonly offset: number;
  readonly key: string | null;
  readonly value: string | null;
}

function isError(value: unknown): value is PartitionErrorResult {
  return typeof value === 'object' && value !== null && 'error' in value && !(value instanceof Uint8Array);
}

function appended(result: LogAppendInfo | PartitionErrorResult): LogAppendInfo {
  if (isError(result)) expect.fail(`append failed: ${result.error} ${result.message}`);
  return result;
}

/** Every record of the log, read through `read` (advancing past empty batches by their last offset). */
async function readAll(log: SegmentLog, from = log.logStartOffset): Promise<Rec[]> {
  const out: Rec[] = [];
  let next = from;
  for (let guard = 0; next < log.logEndOffset; guard++) {
    expect(guard).to.be.lessThan(100_000);
    const bytes = await log.read(next, { maxBytes: 4096, maxOffset: log.logEndOffset });
    if (isError(bytes)) expect.fail(`read at ${next}: ${bytes.error} ${bytes.message}`);
    expect(bytes.length, `a read at ${next} below the log end ${log.logEndOffset} finds a batch`).to.be.greaterThan(0);
    for (const { position, header } of iterateBatches(bytes)) {
      expect(validateBatch(bytes, position).ok).to.equal(true);
      for (const r of decodeRecords(bytes, position)) {
        out.push({ offset: r.offset, key: r.key === null ? null : dec.decode(r.key), value: r.value === null ? null : dec.decode(r.value) });
      }
      next = header.lastOffset + 1;
    }
  }
  return out;
}

/** key -> its record with the highest offset. */
function latestByKey(records: readonly Rec[]): Map<string, Rec> {
  const latest = new Map<string, Rec>();
  for (const r of records) if (r.key !== null) latest.set(r.key, r);
  return latest;
}

/** The laws every compaction result obeys against what it compacted (see log-cleaner.ts's guarantees). */
function expectCompactionOf(after: readonly Rec[], before: readonly Rec[], options: { tombstonesMayGo?: boolean } = {}): void {
  const byOffset = new Map(before.map((r) => [r.offset, r]));
  for (const r of after) expect(byOffset.get(r.offset), `offset ${r.offset} keeps its record`).to.deep.equal(r);
  for (let i = 1; i < after.length; i++) expect(after[i]!.offset).to.be.greaterThan(after[i - 1]!.offset);
  const latestAfter = latestByKey(after);
  for (const [key, latest] of latestByKey(before)) {
    if (latest.value === null && options.tombstonesMayGo === true && !latestAfter.has(key)) continue;
    expect(latestAfter.get(key), `the latest record of ${key}`).to.deep.equal(latest);
  }
  expect(before.filter((r) => r.key === null), 'keyless records stay').to.deep.equal(after.filter((r) => r.key === null));
}

interface Harness {
  readonly disk: SimLogDisk;
  log: SegmentLog;
  /** Opens the log again on a fresh mount (the previous process crashed or was closed and unmounted). */
  reopen(): Promise<SegmentLog>;
  names(): string[];
}

async function harness(config: Partial<SegmentLogConfig> = {}, seed = 1): Promise<Harness> {
  const { disk } = simDisk(seed, true);
  const open = async (): Promise<SegmentLog> => SegmentLog.open({ dir: await disk.mount().directory(DIR), config: { ...BASE_CONFIG, ...config }, nowMs: 0, logger: silentLoggers('') });
  const h: Harness = {
    disk,
    log: await open(),
    async reopen() {
      h.log = await open();
      return h.log;
    },
    names: () => disk.fileNames(DIR),
  };
  await h.log.enableCompaction();
  return h;
}

/** Appends as leader (epoch 1, append time `nowMs` = ts), flushes, and commits everything (HW = log end). */
async function fill(log: SegmentLog, batches: readonly Uint8Array[], nowMs = 0): Promise<void> {
  for (const batch of batches) appended(await log.appendAsLeader(batch, 1, nowMs));
  await log.flush();
  log.highWatermark = log.logEndOffset;
}

/** `count` batches of two records each over keys k0..k(keys-1), values v<i>a / v<i>b. */
function updates(count: number, keys: number, from = 0): Uint8Array[] {
  return Array.from({ length: count }, (_, j) => {
    const i = from + j;
    return keyed([[`k${(2 * i) % keys}`, `v${i}a`], [`k${(2 * i + 1) % keys}`, `v${i}b`]]);
  });
}

async function compact(log: SegmentLog, nowMs = 2_000, config: Partial<CompactionConfig> = {}, extra: { mapEntriesMax?: number } = {}): Promise<CompactionResult> {
  return compactLog(log, { nowMs, config: { ...COMPACTION, ...config }, ...extra });
}

describe('log cleaner', () => {
  describe('what a pass keeps', () => {
    it('keeps the latest record of every key at its offset; offsets, log start and log end never move', async () => {
      const h = await harness();
      await fill(h.log, updates(60, 7));
      const before = await readAll(h.log);
      const sealedBefore = h.log.sealedSegments();
      expect(sealedBefore.length).to.be.greaterThan(4);
      const [start, end, size] = [h.log.logStartOffset, h.log.logEndOffset, h.log.sizeInBytes];

      const result = await compact(h.log);
      expect(result.skipped).to.equal(undefined);
      expect(result.recordsRemoved).to.be.greaterThan(50);
      expect(result.firstDirtyOffset).to.equal(sealedBefore[sealedBefore.length - 1]!.nextOffset);
      const after = await readAll(h.log);
      expectCompactionOf(after, before);
      const cleaned = after.filter((r) => r.offset < result.firstDirtyOffset);
      expect(new Set(cleaned.map((r) => r.key)).size, 'one record per key in the compacted range').to.equal(cleaned.length);
      expect(after.filter((r) => r.offset >= result.firstDirtyOffset)).to.deep.equal(before.filter((r) => r.offset >= result.firstDirtyOffset));
      expect([h.log.logStartOffset, h.log.logEndOffset]).to.deep.equal([start, end]);
      expect(h.log.sizeInBytes).to.be.lessThan(size);
      expect(h.log.segmentCount).to.be.at.most(sealedBefore.length + 1);

      // It is all on disk: a restart reads the same records, and no swap file is left behind.
      await h.log.close();
      h.disk.unmount();
      const again = await h.reopen();
      expect(await readAll(again)).to.deep.equal(after);
      expect(again.cleanerOffset).to.equal(result.firstDirtyOffset);
      expect(h.names().filter((n) => n.endsWith('.cleaned') || n.endsWith('.swap'))).to.deep.equal([]);
    });

    it('never touches the active segment or any segment at or above the HW', async () => {
      const h = await harness();
      await fill(h.log, updates(60, 5));
      const sealed = h.log.sealedSegments();
      const hw = sealed[2]!.nextOffset;
      h.log.highWatermark = hw; // as if the later segments were not replicated yet
      const before = await readAll(h.log);
      const result = await compact(h.log);
      expect(result.firstDirtyOffset).to.equal(hw);
      const after = await readAll(h.log);
      expect(after.filter((r) => r.offset >= hw)).to.deep.equal(before.filter((r) => r.offset >= hw));
      expect(h.log.sealedSegments().filter((s) => s.baseOffset >= hw)).to.deep.equal(sealed.filter((s) => s.baseOffset >= hw));
      expect(after.filter((r) => r.offset < hw).length).to.be.lessThan(before.filter((r) => r.offset < hw).length);
    });

    it('records of a key newer than the compacted range win over older ones only once mapped (the map bound)', async () => {
      const h = await harness();
      await fill(h.log, updates(60, 60));
      const before = await readAll(h.log);
      // A map of 10 keys ends after the first dirty segment: the rest waits for later passes.
      const first = await compact(h.log, 2_000, {}, { mapEntriesMax: 10 });
      expect(first.firstDirtyOffset).to.equal(h.log.sealedSegments()[0]!.nextOffset);
      let passes = 1;
      while ((await compact(h.log, 2_000, {}, { mapEntriesMax: 10 })).skipped === undefined) passes++;
      expect(passes).to.be.greaterThan(2);
      expectCompactionOf(await readAll(h.log), before);
    });

    it('keeps records without a key, and transactional batches whole', async () => {
      const h = await harness();
      const batches = [
        keyed([[null, 'keyless-1'], ['a', 'a1']]),
        keyed([['a', 'a2-in-transaction'], ['b', 'b1']], { transactional: true, producer: { id: 40, epoch: 0, sequence: 0 } }),
        ...updates(30, 3),
        keyed([['a', 'a3'], ['b', 'b2'], [null, 'keyless-2']]),
        ...updates(20, 3, 30),
      ];
      await fill(h.log, batches);
      const before = await readAll(h.log);
      await compact(h.log);
      const after = await readAll(h.log);
      expectCompactionOf(after, before);
      expect(after.filter((r) => r.value === 'keyless-1' || r.value === 'keyless-2').length).to.equal(2);
      expect(after.filter((r) => r.value === 'a2-in-transaction' || r.value === 'b1').length, 'the transactional batch stays whole').to.equal(2);
      expect(after.some((r) => r.value === 'a1'), 'a superseded record of a plain batch goes').to.equal(false);
    });
  });

  describe('tombstones', () => {
    it('stay while their segment is younger than delete.retention.ms, then go', async () => {
      const h = await harness();
      await fill(h.log, [keyed([['gone', 'g1']], { ts: 1_000 }), keyed([['gone', null]], { ts: 1_100 }), ...updates(40, 4)]);
      const before = await readAll(h.log);
      await compact(h.log, 5_000); // segment timestamps ~1,000: younger than 10 s
      let after = await readAll(h.log);
      expectCompactionOf(after, before);
      expect(after.filter((r) => r.key === 'gone')).to.deep.equal([{ offset: 1, key: 'gone', value: null }]);

      // More dirt, so that a later pass runs; by then the tombstone's segment is older than 10 s.
      await fill(h.log, updates(20, 4, 40));
      const all = await readAll(h.log);
      const result = await compact(h.log, 20_000);
      expect(result.tombstonesRemoved).to.equal(1);
      after = await readAll(h.log);
      expect(after.filter((r) => r.key === 'gone'), 'the deleted key is gone entirely').to.deep.equal([]);
      expectCompactionOf(after, all, { tombstonesMayGo: true });
    });

    it('stay, however old, at or above the offset some replica has not read yet (retainTombstonesFrom)', async () => {
      const h = await harness();
      await fill(h.log, [keyed([['early', 'e1']]), keyed([['early', null]]), ...updates(20, 4), keyed([['late', 'l1']]), keyed([['late', null]]), ...updates(30, 4, 20)]);
      const lateTombstone = (await readAll(h.log)).find((r) => r.key === 'late' && r.value === null)!.offset;
      // A lagging replica has fetched up to just before the second tombstone: that one must stay.
      const result = await compactLog(h.log, { nowMs: 100_000, config: COMPACTION, retainTombstonesFrom: lateTombstone });
      expect(result.tombstonesRemoved).to.equal(1);
      const after = await readAll(h.log);
      expect(after.filter((r) => r.key === 'early')).to.deep.equal([]);
      expect(after.filter((r) => r.key === 'late')).to.deep.equal([{ offset: lateTombstone, key: 'late', value: null }]);
    });

    it('a tombstone never goes while an older value of its key is still kept, so no deleted value comes back', async () => {
      const h = await harness();
      // The producer's only batch (kept whole: it carries its sequence state) holds x=old.
      await fill(h.log, [keyed([['x', 'old']], { producer: { id: 7, epoch: 0, sequence: 0 } }), keyed([['x', null]]), ...updates(40, 4)]);
      const result = await compact(h.log, 100_000);
      expect(result.skipped).to.equal(undefined);
      const x = (await readAll(h.log)).filter((r) => r.key === 'x');
      expect(x, 'the kept old value is still followed by its tombstone').to.deep.equal([
        { offset: 0, key: 'x', value: 'old' },
        { offset: 1, key: 'x', value: null },
      ]);
    });
  });

  describe('when a pass runs', () => {
    it('not below min.cleanable.dirty.ratio; the checkpoint leaves only new data dirty', async () => {
      const h = await harness();
      await fill(h.log, updates(60, 5));
      await compact(h.log);
      const compacted = await readAll(h.log);
      await fill(h.log, updates(8, 5, 60));
      const range = cleanableRange(h.log, 2_000, COMPACTION);
      expect(range.dirtyRatio).to.be.greaterThan(0).and.lessThan(1);
      const skipped = await compact(h.log, 2_000, { minCleanableDirtyRatio: Math.min(1, range.dirtyRatio + 0.01) });
      expect(skipped.skipped).to.equal('below-dirty-ratio');
      expect((await readAll(h.log)).filter((r) => r.offset < compacted[compacted.length - 1]!.offset + 1)).to.deep.equal(compacted);
      const ran = await compact(h.log, 2_000, { minCleanableDirtyRatio: range.dirtyRatio });
      expect(ran.skipped).to.equal(undefined);
    });

    it('not on segments younger than min.compaction.lag.ms', async () => {
      const h = await harness();
      const batches = Array.from({ length: 60 }, (_, i) => keyed([[`k${i % 5}`, `t${i}`]], { ts: 1_000 + i * 100 }));
      await fill(h.log, batches);
      const before = await readAll(h.log);
      // Records with timestamps after 4,000 are less than 3 s old at 7,000.
      const result = await compact(h.log, 7_000, { minCompactionLagMs: 3_000 });
      expect(result.skipped).to.equal(undefined);
      const after = await readAll(h.log);
      const young = before.filter((r) => r.offset >= result.firstDirtyOffset);
      expect(young.length, 'the lag kept the young part out').to.be.greaterThan(20);
      expect(result.firstDirtyOffset).to.be.greaterThan(0);
      expect(after.filter((r) => r.offset >= result.firstDirtyOffset)).to.deep.equal(young);
      for (const segment of h.log.sealedSegments().filter((s) => s.nextOffset <= result.firstDirtyOffset)) expect(segment.maxTimestamp).to.be.at.most(4_000);
    });

    it('not on a log that was never made compacted', async () => {
      const { disk } = simDisk(3, true);
      const log = await SegmentLog.open({ dir: await disk.mount().directory(DIR), config: BASE_CONFIG, nowMs: 0, logger: silentLoggers('') });
      await fill(log, updates(30, 3));
      expect((await compact(log)).skipped).to.equal('not-enabled');
      expect(log.compactionEnabled).to.equal(false);
    });

    it('gives up without a trace when retention changes the segments under it', async () => {
      const h = await harness({ retentionBytes: 1_500 });
      await fill(h.log, updates(60, 5));
      const pass = compact(h.log);
      const retention = h.log.applyRetention(0);
      const [result] = await Promise.all([pass, retention]);
      expect(result.skipped).to.equal('segments-changed');
      expect(h.names().filter((n) => n.endsWith('.cleaned') || n.endsWith('.swap'))).to.deep.equal([]);
      expect((await compact(h.log)).skipped).to.equal(undefined);
    });
  });

  describe('idempotent producers', () => {
    it('a retry of its last batch is still a duplicate after compaction and a restart', async () => {
      // segment.ms 1,000: an append 1 s after a segment's first one rolls it, to place batches exactly.
      const h = await harness({ segmentMs: 1_000 });
      const p = { id: 77, epoch: 3 };
      await fill(h.log, updates(30, 4), 0);
      // The producer's two batches open a segment (a roll at t=10,000) whose plain third batch
      // overwrites their keys at once: compaction would drop every record of them, were they not the
      // producer's last batches. The next append (t=20,000) seals that segment, second to last: where
      // the producer-state rebuild after a restart reads.
      const first = appended(await h.log.appendAsLeader(keyed([['p', 'p0'], ['q', 'q0']], { producer: { ...p, sequence: 0 } }), 1, 10_000));
      const last = appended(await h.log.appendAsLeader(keyed([['p', 'p1'], ['q', 'q1']], { producer: { ...p, sequence: 2 } }), 1, 10_000));
      await fill(h.log, [keyed([['p', 'plain'], ['q', 'plain']])], 10_000);
      await fill(h.log, updates(2, 4, 30), 20_000);
      expect(h.log.segmentBaseOffsets().at(-2)).to.equal(first.baseOffset);

      const result = await compact(h.log);
      expect(result.skipped).to.equal(undefined);
      expect(result.firstDirtyOffset).to.be.greaterThan(last.lastOffset);
      const kept = (await readAll(h.log)).filter((r) => r.offset >= first.baseOffset && r.offset <= last.lastOffset);
      expect(kept.map((r) => r.value), "the producer's last batches are kept whole").to.deep.equal(['p0', 'q0', 'p1', 'q1']);

      await h.log.close();
      h.disk.unmount();
      const producers = await rebuildProducerState(await h.reopen());
      expect(producers.check({ producerId: p.id, producerEpoch: p.epoch, baseSequence: 2, lastSequence: 3 })).to.deep.equal({ kind: 'duplicate', baseOffset: last.baseOffset, lastOffset: last.lastOffset });
      expect(producers.check({ producerId: p.id, producerEpoch: p.epoch, baseSequence: 4, lastSequence: 4 })).to.deep.equal({ kind: 'append' });
    });
  });

  describe('followers, reads and truncation in a compacted log', () => {
    it('a follower copies a compacted leader from scratch: gaps and empty batches, the same records', async () => {
      const leader = await harness();
      await fill(leader.log, updates(60, 5));
      await compact(leader.log);
      const follower = await harness({}, 2);
      let offset = 0;
      while (offset < leader.log.logEndOffset) {
        const bytes = await leader.log.read(offset, { maxBytes: 300, maxOffset: leader.log.logEndOffset });
        if (isError(bytes)) expect.fail(bytes.message);
        const infos = await follower.log.appendAsFollower(bytes, 0);
        if (isError(infos)) expect.fail(`${infos.error} ${infos.message}`);
        offset = follower.log.logEndOffset;
      }
      expect(follower.log.logEndOffset).to.equal(leader.log.logEndOffset);
      expect(await readAll(follower.log)).to.deep.equal(await readAll(leader.log));
      // And it recovers its gapped segments after a crash.
      follower.disk.processCrash();
      expect(await readAll(await follower.reopen())).to.deep.equal(await readAll(leader.log));
    });

    it('a batch straddling the follower\'s log end is cut there; a gap before the first batch is taken; not without compaction', async () => {
      const batch = (from: number, entries: readonly Entry[]): Uint8Array => keyed(entries, { baseOffset: from, leaderEpoch: 1 });
      const compacted = await harness({}, 4);
      const plain = await SegmentLog.open({ dir: await simDisk(5, true).disk.mount().directory('plain-0'), config: BASE_CONFIG, nowMs: 0, logger: silentLoggers('') });
      for (const log of [compacted.log, plain]) {
        const infos = await log.appendAsFollower(batch(0, [['a', '0'], ['b', '1'], ['c', '2']]), 0);
        expect(isError(infos)).to.equal(false);
      }
      // Another replica laid out offsets 1..5 as one batch: only 3..5 are new here.
      const straddling = batch(1, [['b', '1'], ['c', '2'], ['d', '3'], ['e', '4'], ['f', '5']]);
      expect(await plain.appendAsFollower(straddling, 0)).to.include({ error: 'OFFSET_OUT_OF_RANGE' });
      const infos = await compacted.log.appendAsFollower(straddling, 0);
      if (isError(infos)) expect.fail(infos.message);
      expect(infos.map((i) => [i.baseOffset, i.lastOffset])).to.deep.equal([[3, 5]]);
      // A gap (offsets 6..9 compacted away on the leader).
      const gapped = batch(10, [['g', '10']]);
      expect(await plain.appendAsFollower(gapped, 0)).to.include({ error: 'OFFSET_OUT_OF_RANGE' });
      expect(isError(await compacted.log.appendAsFollower(gapped, 0))).to.equal(false);
      expect(compacted.log.logEndOffset).to.equal(11);
      expect((await readAll(compacted.log)).map((r) => `${r.offset}:${r.value}`)).to.deep.equal(['0:0', '1:1', '2:2', '3:3', '4:4', '5:5', '10:10']);
    });

    it('a fetch inside a gap gets the next batch; a truncation inside a gap ends the log at the boundary before it', async () => {
      const h = await harness();
      // Keys k5..k19 are last written in the first half: their latest records stay, with gaps between.
      await fill(h.log, [...updates(30, 20), ...updates(30, 5, 30)]);
      const before = await readAll(h.log);
      await compact(h.log);
      const after = await readAll(h.log);
      const present = new Set(after.map((r) => r.offset));
      // A missing offset followed by a present one, inside a compacted segment.
      const gap = before.find((r) => !present.has(r.offset) && present.has(r.offset + 1) && after.some((a) => a.offset < r.offset))!.offset;
      const bytes = await h.log.read(gap, { maxBytes: 1, maxOffset: h.log.logEndOffset });
      if (isError(bytes)) expect.fail(bytes.message);
      const first = [...iterateBatches(bytes)][0]!.header;
      expect(first.baseOffset).to.be.greaterThan(gap);
      const next = after.find((r) => r.offset > gap)!;
      expect(first.baseOffset).to.be.at.most(next.offset);

      await h.log.truncateTo(gap);
      const kept = after.filter((r) => r.offset < gap);
      expect(h.log.logEndOffset).to.be.at.most(gap);
      expect(h.log.logEndOffset).to.be.greaterThan(kept[kept.length - 1]!.offset);
      expect(await readAll(h.log)).to.deep.equal(kept);
      // The log goes on from there, and recovers.
      await fill(h.log, [keyed([['after', 'truncation']])]);
      h.disk.processCrash();
      const again = await h.reopen();
      expect((await readAll(again)).slice(-1)).to.deep.equal([{ offset: again.logEndOffset - 1, key: 'after', value: 'truncation' }]);
    });
  });

  describe('crash safety of the swap', () => {
    for (const fault of ['process crash', 'power loss'] as const) {
      it(`a ${fault} at every step of a pass recovers to the old or the new segments, never a mix that loses a key`, async function () {
        this.timeout(60_000);
        // Small time-rolled segments (segment.ms 100, appends 40 ms apart), so each group merges two.
        const config: Partial<SegmentLogConfig> = { segmentMs: 100 };
        const setup = async (seed: number): Promise<{ h: Harness; dir: StepCountingDirectory }> => {
          const { disk } = simDisk(seed, true);
          const dir = new StepCountingDirectory(await disk.mount().directory(DIR), { countAppends: true });
          const log = await SegmentLog.open({ dir, config: { ...BASE_CONFIG, ...config }, nowMs: 0, logger: silentLoggers('') });
          await log.enableCompaction();
          const h: Harness = {
            disk,
            log,
            async reopen() {
              h.log = await SegmentLog.open({ dir: await disk.mount().directory(DIR), config: { ...BASE_CONFIG, ...config }, nowMs: 0, logger: silentLoggers('') });
              return h.log;
            },
            names: () => disk.fileNames(DIR),
          };
          const batches = updates(30, 6);
          for (let i = 0; i < batches.length; i++) appended(await log.appendAsLeader(batches[i]!, 1, i * 40));
          await log.flush();
          log.highWatermark = log.logEndOffset;
          return { h, dir };
        };
        const reference = await setup(1);
        const before = await readAll(reference.h.log);
        const stepsBefore = reference.dir.steps;
        const done = await compact(reference.h.log);
        expect(done.segmentsWritten).to.be.greaterThan(1);
        expect(done.segmentsReplaced).to.be.greaterThan(done.segmentsWritten);
        const expected = await readAll(reference.h.log);
        const steps = reference.dir.steps - stepsBefore;
        expect(steps).to.be.greaterThan(10);

        const outcomes = new Set<string>();
        for (let step = 1; step <= steps; step++) {
          const { h, dir } = await setup(1);
          dir.crashAt(step, () => (fault === 'power loss' ? h.disk.powerLoss({ torn: true }) : h.disk.processCrash()));
          await Promise.race([compact(h.log).catch(() => undefined), dir.crashed]);
          expect(dir.hasCrashed, `step ${step} was reached`).to.equal(true);
          const log = await h.reopen();
          log.highWatermark = log.logEndOffset; // its checkpoint is not what this test is about
          const recovered = await readAll(log);
          expectCompactionOf(recovered, before);
          expect(recovered.length).to.be.at.least(expected.length);
          expect(h.names().filter((n) => n.endsWith('.cleaned') || n.endsWith('.swap')), `step ${step}: no swap file left`).to.deep.equal([]);
          outcomes.add(recovered.length === before.length ? 'old' : recovered.length === expected.length ? 'new' : 'partly');
          // And compaction completes from there, to the same result.
          await compact(log);
          expect(await readAll(log), `step ${step}: compacting again`).to.deep.equal(expected);
        }
        expect(outcomes.has('old') && outcomes.has('new'), `outcomes ${[...outcomes].join(', ')}`).to.equal(true);
      });
    }

    it('on the real disk: a crash at every step of the swap recovers, and a restart keeps the compacted log', async function () {
      this.timeout(120_000);
      const tmp = await tempDir('skein-log-cleaner-');
      try {
        const config: SegmentLogConfig = { ...BASE_CONFIG, segmentMs: 100 };
        const setup = async (name: string): Promise<{ log: SegmentLog; dir: StepCountingDirectory; reopen: () => Promise<SegmentLog> }> => {
          const dir = new StepCountingDirectory(await (await NodeLogFileSystem.open(tmp.path)).directory(name), { countAppends: false });
          const log = await SegmentLog.open({ dir, config, nowMs: 0, logger: silentLoggers('') });
          await log.enableCompaction();
          const batches = updates(30, 6);
          for (let i = 0; i < batches.length; i++) appended(await log.appendAsLeader(batches[i]!, 1, i * 40));
          await log.flush();
          log.highWatermark = log.logEndOffset;
          const reopen = async (): Promise<SegmentLog> => SegmentLog.open({ dir: await (await NodeLogFileSystem.open(tmp.path)).directory(name), config, nowMs: 0, logger: silentLoggers('') });
          return { log, dir, reopen };
        };
        const reference = await setup('ref-0');
        const before = await readAll(reference.log);
        const stepsBefore = reference.dir.steps;
        await compact(reference.log);
        const expected = await readAll(reference.log);
        const steps = reference.dir.steps - stepsBefore;
        await reference.log.close();
        const restarted = await reference.reopen();
        expect(await readAll(restarted)).to.deep.equal(expected);
        await restarted.close();

        for (let step = 1; step <= steps; step++) {
          const { log, dir, reopen } = await setup(`crash${step}-0`);
          dir.crashAt(step, () => {}); // the process stops issuing operations; what completed stays
          await compact(log).catch(() => undefined);
          expect(dir.hasCrashed).to.equal(true);
          await dir.releaseHandles();
          const recovered = await reopen();
          recovered.highWatermark = recovered.logEndOffset;
          const records = await readAll(recovered);
          expectCompactionOf(records, before);
          expect(recovered.sealedSegments().length).to.be.greaterThan(0);
          await compact(recovered);
          expect(await readAll(recovered), `step ${step}`).to.deep.equal(expected);
          await recovered.close();
        }
      } finally {
        await tmp.remove();
      }
    });
  });

  describe('the replica manager', () => {
    it('compacts the logs of compacted topics from its tick, and leaves the others alone', async () => {
      const scheduler = new Scheduler();
      const disk = new SimLogDisk({ clock: scheduler, random: new SeededRandom(3), latencyMs: { min: 0, max: 1 } });
      const fs = disk.mount();
      const logs = new Map<string, SegmentLog>();
      const manager = new ReplicaManager({
        brokerId: 1,
        clock: scheduler,
        logger: () => {},
        openLog: async (topicId, partition) => {
          const log = await SegmentLog.open({ dir: await fs.directory(`${topicId}-${partition}`), config: BASE_CONFIG, nowMs: 0, logger: () => {} });
          logs.set(topicId, log);
          return log;
        },
        deleteLog: (topicId, partition) => fs.removeDirectory(`${topicId}-${partition}`),
        replicaFetch: () => Promise.reject(new Error('no network in this test')),
        alterPartition: () => Promise.reject(new Error('no controller in this test')),
        brokerEpoch: () => 1,
        mayLead: () => true,
        compactionCheckIntervalMs: 5_000,
        wallClockMs: () => 1_000_000 + scheduler.nowMs(),
      });
      const image = new MetadataImage();
      const run = async (ms: number): Promise<void> => {
        for (let i = 0; i < ms / 10; i++) {
          await new Promise((resolve) => setImmediate(resolve));
          await scheduler.runUntil({ untilMs: scheduler.nowMs() + 10 });
        }
      };
      /** Awaits `work` while virtual time runs (the simulated disk answers only as time passes). */
      const during = async <T,>(work: Promise<T>): Promise<T> => {
        let done = false;
        const settled = work.finally(() => (done = true));
        while (!done) await run(10);
        return settled;
      };
      manager.start();
      manager.onDelta(
        image.applyBatch(
          [
            { type: 'register-broker', brokerId: 1, incarnationId: 'a', brokerEpoch: 1, endpoints: [], rack: '' },
            { type: 'broker-registration-change', brokerId: 1, brokerEpoch: 1, fenced: false },
            { type: 'topic', name: 'compacted', topicId: 'C' },
            { type: 'config', resourceType: ConfigResource.Topic, resourceName: 'compacted', name: 'cleanup.policy', value: 'compact' },
            { type: 'partition', topicId: 'C', partition: 0, replicas: [1], isr: [1], leader: 1, leaderEpoch: 0, partitionEpoch: 0 },
            { type: 'topic', name: 'plain', topicId: 'P' },
            { type: 'partition', topicId: 'P', partition: 0, replicas: [1], isr: [1], leader: 1, leaderEpoch: 0, partitionEpoch: 0 },
          ] satisfies MetadataRecord[],
          1,
        ),
        image,
      );
      await run(200);
      expect(manager.replica('C', 0)?.role).to.equal('leader');
      expect(logs.get('C')?.compactionEnabled).to.equal(true);
      expect(logs.get('P')?.compactionEnabled).to.equal(false);
      for (const topicId of ['C', 'P']) {
        for (const batch of updates(60, 5)) {
          const produced = manager.produce(topicId, 0, batch, 1, 1000);
          await run(20);
          expect(isError(await produced)).to.equal(false);
        }
      }
      const before = { C: await during(readAll(logs.get('C')!)), P: await during(readAll(logs.get('P')!)) };
      await run(6_000);
      const after = { C: await during(readAll(logs.get('C')!)), P: await during(readAll(logs.get('P')!)) };
      expect(after.C.length, 'the compacted topic was compacted').to.be.lessThan(before.C.length);
      expectCompactionOf(after.C, before.C);
      expect(after.P, 'the other topic was not').to.deep.equal(before.P);
      manager.stop();
    });
  });
});

/**
 * A LogDirectory that counts the durable steps taken through it (creating a file, removing, renaming,
 * atomic writes, syncs, truncations, and with `countAppends` appends) and, at a chosen step, runs a
 * fault just before the step is issued: the simulated disk's crash or power loss, or a throw (on the
 * real disk: the process stops there).
 */
class StepCountingDirectory implements LogDirectory {
  steps = 0;
  hasCrashed = false;
  readonly crashed: Promise<void>;
  private notifyCrashed!: () => void;
  private crashStep = Number.POSITIVE_INFINITY;
  private fault: () => void = () => {};
  private readonly files: LogFile[] = [];

  constructor(
    private readonly inner: LogDirectory,
    private readonly options: { readonly countAppends: boolean },
  ) {
    this.crashed = new Promise((resolve) => (this.notifyCrashed = resolve));
  }

  get path(): string {
    return this.inner.path;
  }

  /** Runs `fault` at the `step`-th step from now. */
  crashAt(step: number, fault: () => void): void {
    this.crashStep = this.steps + step;
    this.fault = fault;
  }

  /** Counts a step; at the chosen one runs the fault; from then on no step is issued (it throws). */
  step(isAppend = false): void {
    if (this.hasCrashed) throw new Error('the process crashed');
    if (isAppend && !this.options.countAppends) return;
    this.steps++;
    if (this.steps === this.crashStep) {
      this.hasCrashed = true;
      this.notifyCrashed();
      this.fault();
      throw new Error('the process crashed');
    }
  }

  /** Closes every file opened through this directory (the real disk's handles of a "crashed" process). */
  async releaseHandles(): Promise<void> {
    for (const file of this.files) await file.close().catch(() => {});
  }

  list(): Promise<string[]> {
    return this.inner.list();
  }

  async open(name: string, options: OpenOptions): Promise<LogFile> {
    if (options.create) this.step();
    const file = new StepCountingFile(await this.inner.open(name, options), this);
    this.files.push(file);
    return file;
  }

  async remove(name: string): Promise<void> {
    this.step();
    return this.inner.remove(name);
  }

  async rename(from: string, to: string): Promise<void> {
    this.step();
    return this.inner.rename(from, to);
  }

  readFile(name: string): Promise<Uint8Array | undefined> {
    return this.inner.readFile(name);
  }

  async writeFileAtomically(name: string, data: Uint8Array): Promise<void> {
    this.step();
    return this.inner.writeFileAtomically(name, data);
  }
}

class StepCountingFile implements LogFile {
  constructor(
    private readonly inner: LogFile,
    private readonly dir: StepCountingDirectory,
  ) {}

  get name(): string {
    return this.inner.name;
  }

  get size(): number {
    return this.inner.size;
  }

  async append(data: Uint8Array): Promise<void> {
    this.dir.step(true);
    return this.inner.append(data);
  }

  read(position: number, length: number): Promise<Uint8Array> {
    return this.inner.read(position, length);
  }

  async sync(): Promise<void> {
    this.dir.step();
    return this.inner.sync();
  }

  async truncate(size: number): Promise<void> {
    this.dir.step();
    return this.inner.truncate(size);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
