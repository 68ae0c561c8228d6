/**
 * Log compaction for topics with `cleanup.policy` including `compact` (after Kafka's LogCleaner): keep
 * the latest record of every key, drop tombstones once they are older than `delete.retention.ms`,
 * never move an offset, never touch the active segment or anything at or above the HW.
 *
 * One pass (`compactLog`) over one partition's log:
 * 1. The cleanable range: the longest prefix of sealed segments that lie wholly below the HW and whose
 *    largest timestamp is at least `min.compaction.lag.ms` old. Within it, the clean section ends at the
 *    cleaner checkpoint (`cleanerOffset`: what earlier passes compacted) and the dirty section follows.
 *    A pass runs when dirty bytes / cleanable bytes >= `min.cleanable.dirty.ratio`.
 * 2. Pass one reads the range: over the dirty section it builds the offset map, key -> offset of the
 *    key's latest record, segment by segment until the map holds `mapEntriesMax` keys (the map then ends
 *    at that segment's end: `mappedEnd`); over everything read it notes each producer's last
 *    BATCHES_KEPT (5) batches.
 * 3. Pass two rewrites the segments from the log start to `mappedEnd`, in groups whose total size fits
 *    `segment.bytes`, each group into one compacted segment at the group's first base offset (swapped in
 *    by SegmentLog.commitCleaning, atomically across crashes: segment-swap.ts). A keyed record is kept
 *    unless the map has a later offset for its key (it is superseded), or it is a tombstone (null value)
 *    in a segment whose largest timestamp is more than `delete.retention.ms` before now. Records without
 *    a key are always kept. Kept records stay at their offsets (compacted-batch.ts splits a batch into
 *    runs); a group's last batch is always covered to its last offset (by an empty batch if needed), so
 *    that every compacted segment ends exactly where the next one begins.
 * 4. Once every group is swapped in, the checkpoint moves to `mappedEnd`.
 *
 * Batches kept whole, never rewritten: transactional and control batches (Skein has no transactions
 * yet; keeping them whole is the conservative choice), and each producer's last five batches in the
 * range read. The latter is what keeps idempotent producers working after compaction: the producer
 * state rebuilt after a restart (replica-manager.ts, rebuildProducerState) from those batches is the
 * same as before — same sequence ranges, same offsets — so a retry of one of them is still answered as
 * a duplicate, and the next sequence is still expected. (Kafka keeps only the last batch, as an empty
 * batch if need be; its producer snapshots make that enough.) A batch kept whole may hold a superseded
 * record; so that deleting a tombstone can never bring such an older value back, a tombstone is
 * dropped only if no record of its key that is not known to be the latest was kept before it in this
 * pass (tracked up to `mapEntriesMax` keys; past that no tombstone is dropped in the pass).
 *
 * Which tombstones may go, beyond their age: a replica that has read a key's older value but not yet
 * its tombstone, and then copies this log once the tombstone is gone (it lagged, or was down, for
 * longer than delete.retention.ms), would keep the older value — a deleted value back from the dead,
 * and served once that replica leads. So the caller bounds tombstone removal by `retainTombstonesFrom`:
 * replica-manager.ts passes, on a leader, the lowest offset every other replica has fetched from it
 * in its current leader epoch, and on a follower 0 (followers drop no tombstones; they remove
 * superseded records only, which is safe at any lag). Kafka relies on delete.retention.ms alone here;
 * consumers still do (a consumer that reads from the start for longer than delete.retention.ms may miss
 * a tombstone, as in Kafka).
 *
 * Guarantees: every offset keeps its record or loses it; no record moves; for every key whose latest
 * record lies below `mappedEnd`, that record is kept (unless it is an expired tombstone), so the latest
 * value of every key stays readable. Concurrent appends, reads and flushes go on; a truncation or
 * retention that changes the segments being compacted makes the swap give up (nothing changes).
 *
 * Bounds: memory is the offset map and the tombstone-guard set (each at most `mapEntriesMax` keys,
 * plus the keys of one segment), the producers' last batches, and one read chunk (`readBytesMax`).
 * Reads: the cleanable range twice. Writes: at most the bytes of the rewritten segments. The caller
 * (replica-manager.ts) runs one pass at a time per broker, at most one per check interval.
 *
 * Deterministic: time comes in as `nowMs` (wall-clock ms, the scale of record timestamps), disk only
 * through the log's methods.
 */
import { assert } from '../util/assert.js';
import type { Logger } from '../util/log.js';
import { keptBatches } from './compacted-batch.js';
import type { PartitionErrorResult } from './errors.js';
import { BATCHES_KEPT } from './producer-state.js';
import { decodeRecords, iterateBatches, type BatchHeader, type DecodedRecord } from './record-batch.js';
import type { CleanedSegment, SealedSegmentInfo } from './segment-log.js';

/** The topic configuration compaction follows (topic-config.ts). */
export interface CompactionConfig {
  /** delete.retention.ms: how long tombstones stay, by their segment's largest timestamp. */
  readonly deleteRetentionMs: number;
  /** min.cleanable.dirty.ratio, in [0, 1]. */
  readonly minCleanableDirtyRatio: number;
  /** min.compaction.lag.ms: segments with a newer largest timestamp are not compacted yet. */
  readonly minCompactionLagMs: number;
}

/** What the cleaner needs of a partition log: SegmentLog's compaction hooks. */
export interface CompactableLog {
  readonly logStartOffset: number;
  readonly logEndOffset: number;
  readonly highWatermark: number;
  readonly compactionEnabled: boolean;
  readonly cleanerOffset: number;
  readonly config: { readonly segmentBytes: number };
  enableCompaction(): Promise<void>;
  sealedSegments(): readonly SealedSegmentInfo[];
  read(fetchOffset: number, limits: { maxBytes: number; maxOffset: number }): Promise<Uint8Array | PartitionErrorResult>;
  beginCleaning(sourceBaseOffsets: readonly number[], endOffset: number): Promise<CleanedSegment | undefined>;
  commitCleaning(cleaned: CleanedSegment): Promise<boolean>;
  checkpointCleanerOffset(firstDirtyOffset: number): Promise<void>;
}

/** Whether `log` offers the compaction hooks (a SegmentLog does; test doubles may not). */
export function isCompactable(log: object): log is CompactableLog {
  const l = log as Partial<CompactableLog>;
  return typeof l.enableCompaction === 'function' && typeof l.beginCleaning === 'function' && typeof l.commitCleaning === 'function' && typeof l.sealedSegments === 'function';
}

export const DEFAULT_MAP_ENTRIES_MAX = 500_000;
const DEFAULT_READ_BYTES_MAX = 1 << 20;

export interface CleanableRange {
  /** The sealed segments that may be compacted now, oldest first: a prefix of the log. */
  readonly segments: readonly SealedSegmentInfo[];
  readonly firstDirtyOffset: number;
  readonly cleanBytes: number;
  readonly dirtyBytes: number;
  /** dirtyBytes / (cleanBytes + dirtyBytes); 0 when there is nothing cleanable. */
  readonly dirtyRatio: number;
}

/** The cleanable range of `log` now (step 1 of the module header). */
export function cleanableRange(log: CompactableLog, nowMs: number, config: CompactionConfig): CleanableRange {
  const segments: SealedSegmentInfo[] = [];
  for (const segment of log.sealedSegments()) {
    if (segment.nextOffset > log.highWatermark) break;
    if (config.minCompactionLagMs > 0 && segment.maxTimestamp > nowMs - config.minCompactionLagMs) break;
    segments.push(segment);
  }
  const firstDirtyOffset = log.cleanerOffset;
  let cleanBytes = 0;
  let dirtyBytes = 0;
  for (const segment of segments) {
    if (segment.nextOffset <= firstDirtyOffset) cleanBytes += segment.sizeInBytes;
    else dirtyBytes += segment.sizeInBytes;
  }
  const total = cleanBytes + dirtyBytes;
  return { segments, firstDirtyOffset, cleanBytes, dirtyBytes, dirtyRatio: total === 0 ? 0 : dirtyBytes / total };
}

export interface CompactionOptions {
  /** Now, in wall-clock ms (record timestamps' scale). */
  readonly nowMs: number;
  readonly config: CompactionConfig;
  /** Keys the offset map (and the tombstone guard) may hold. Default 500,000. */
  readonly mapEntriesMax?: number;
  /** Bytes per read. Default 1 MiB. */
  readonly readBytesMax?: number;
  /**
   * Tombstones at or above this offset stay whatever their age: some replica may not have read them
   * yet (see the module header). Default: no such bound.
   */
  readonly retainTombstonesFrom?: number;
  /** Compact even below min.cleanable.dirty.ratio (when anything is dirty). */
  readonly force?: boolean;
  readonly logger?: Logger;
}

export type CompactionSkip = 'not-enabled' | 'nothing-dirty' | 'below-dirty-ratio' | 'segments-changed' | 'storage-error';

export interface CompactionResult {
  /** Why the pass did nothing (or stopped before moving the checkpoint), if it did. */
  readonly skipped: CompactionSkip | undefined;
  /** Sealed segments replaced, and compacted segments that replaced them. */
  readonly segmentsReplaced: number;
  readonly segmentsWritten: number;
  readonly bytesBefore: number;
  readonly bytesAfter: number;
  readonly recordsRemoved: number;
  readonly tombstonesRemoved: number;
  /** The cleaner checkpoint after the pass. */
  readonly firstDirtyOffset: number;
}

/** The corrupt or vanished data a read ran into: the pass stops and changes nothing more. */
class ReadStopped extends Error {
  constructor(readonly why: 'segments-changed' | 'storage-error', message: string) {
    super(message);
  }
}

/**
 * Runs one compaction pass over `log` (see the module header). The log must be compacted
 * (`enableCompaction`). Rejects only when the log itself fails (a disk error, or it was closed);
 * corrupt stored data or segments that changed underneath end the pass with `skipped` set.
 */
export async function compactLog(log: CompactableLog, options: CompactionOptions): Promise<CompactionResult> {
  const mapEntriesMax = options.mapEntriesMax ?? DEFAULT_MAP_ENTRIES_MAX;
  const readBytesMax = options.readBytesMax ?? DEFAULT_READ_BYTES_MAX;
  const logger = options.logger ?? (() => {});
  assert(Number.isSafeInteger(mapEntriesMax) && mapEntriesMax > 0, `mapEntriesMax ${mapEntriesMax} must be > 0`);
  const stats = { segmentsReplaced: 0, segmentsWritten: 0, bytesBefore: 0, bytesAfter: 0, recordsRemoved: 0, tombstonesRemoved: 0 };
  const result = (skipped: CompactionSkip | undefined): CompactionResult => ({ skipped, ...stats, firstDirtyOffset: log.cleanerOffset });
  if (!log.compactionEnabled) return result('not-enabled');
  const range = cleanableRange(log, options.nowMs, options.config);
  if (range.dirtyBytes === 0) return result('nothing-dirty');
  if (options.force !== true && range.dirtyRatio < options.config.minCleanableDirtyRatio) return result('below-dirty-ratio');

  try {
    const { map, mappedEnd, keptWhole } = await mapDirtySection(log, range, mapEntriesMax, readBytesMax);
    const segments = range.segments.filter((s) => s.nextOffset <= mappedEnd);
    const cleaner = new GroupCleaner(map, keptWhole, options.nowMs - options.config.deleteRetentionMs, options.retainTombstonesFrom ?? Number.POSITIVE_INFINITY, mapEntriesMax);
    for (const group of groupSegments(segments, log.config.segmentBytes)) {
      const done = await cleanGroup(log, group, cleaner, readBytesMax, stats);
      if (!done) return result('segments-changed');
    }
    await log.checkpointCleanerOffset(mappedEnd);
    logger('compacted [%d, %d): %d segments -> %d, %d -> %d bytes, %d records removed (%d tombstones)', log.logStartOffset, mappedEnd, stats.segmentsReplaced, stats.segmentsWritten, stats.bytesBefore, stats.bytesAfter, stats.recordsRemoved, stats.tombstonesRemoved);
    return result(undefined);
  } catch (error) {
    if (error instanceof ReadStopped) {
      logger('compaction stopped: %s', error.message);
      return result(error.why);
    }
    throw error;
  }
}

/** Pass one: the offset map over the dirty section, and the base offsets of the batches kept whole. */
async function mapDirtySection(
  log: CompactableLog,
  range: CleanableRange,
  mapEntriesMax: number,
  readBytesMax: number,
): Promise<{ map: Map<string, number>; mappedEnd: number; keptWhole: Set<number> }> {
  const map = new Map<string, number>();
  const lastBatches = new Map<number, number[]>();
  let mappedEnd = range.firstDirtyOffset;
  for (const segment of range.segments) {
    const dirty = segment.nextOffset > range.firstDirtyOffset;
    await forEachBatch(log, segment, readBytesMax, (header, bytes, at) => {
      if (header.producerId >= 0) {
        let last = lastBatches.get(header.producerId);
        if (last === undefined) lastBatches.set(header.producerId, (last = []));
        last.push(header.baseOffset);
        if (last.length > BATCHES_KEPT) last.shift();
      }
      if (!dirty || header.isControl) return;
      for (const record of decodeRecords(bytes, at)) {
        if (record.key !== null && record.offset >= range.firstDirtyOffset) map.set(keyOf(record.key), record.offset);
      }
    });
    if (dirty) {
      mappedEnd = segment.nextOffset;
      // Kafka stops at a segment boundary once its map is full: the rest waits for the next pass.
      if (map.size >= mapEntriesMax) break;
    }
  }
  const keptWhole = new Set<number>();
  for (const bases of lastBatches.values()) for (const base of bases) keptWhole.add(base);
  return { map, mappedEnd, keptWhole };
}

/** Consecutive segments whose sizes add up to at most `bytesMax` (one segment at least), Kafka's groupSegmentsBySize. */
function groupSegments(segments: readonly SealedSegmentInfo[], bytesMax: number): SealedSegmentInfo[][] {
  const groups: SealedSegmentInfo[][] = [];
  let group: SealedSegmentInfo[] = [];
  let bytes = 0;
  for (const segment of segments) {
    const first = group[0];
    // Offsets relative to the group's base must fit the index's u32 as well.
    const span = first === undefined ? 0 : segment.nextOffset - 1 - first.baseOffset;
    if (group.length > 0 && (bytes + segment.sizeInBytes > bytesMax || span > 0xffff_ffff)) {
      groups.push(group);
      group = [];
      bytes = 0;
    }
    group.push(segment);
    bytes += segment.sizeInBytes;
  }
  if (group.length > 0) groups.push(group);
  return groups;
}

/** Decides, record by record in offset order, what a pass keeps (step 3 of the module header). */
class GroupCleaner {
  /** Keys of records kept that are not known to be their key's latest (the tombstone guard). */
  private readonly uncertain = new Set<string>();
  private tombstoneGuardFull = false;

  constructor(
    private readonly map: ReadonlyMap<string, number>,
    private readonly keptWhole: ReadonlySet<number>,
    /** Tombstones in segments whose largest timestamp is below this are dropped. */
    readonly deleteHorizonMs: number,
    /** ... if their offset is below this one. */
    private readonly retainTombstonesFrom: number,
    private readonly guardEntriesMax: number,
  ) {}

  /**
   * The batches that replace `header`'s batch (in `bytes` at `at`): the original bytes when nothing
   * is removed, else the kept records re-laid (compacted-batch.ts), covered to the batch's last offset
   * when `coverEnd` (the group's last batch).
   */
  clean(header: BatchHeader, bytes: Uint8Array, at: number, dropTombstones: boolean, coverEnd: boolean, stats: { recordsRemoved: number; tombstonesRemoved: number }): Uint8Array[] {
    const original = bytes.subarray(at, at + header.sizeInBytes);
    const records = header.recordCount === 0 ? [] : decodeRecords(bytes, at);
    if (header.isTransactional || header.isControl || this.keptWhole.has(header.baseOffset)) {
      for (const record of records) {
        if (record.key === null) continue;
        const key = keyOf(record.key);
        const latest = this.map.get(key);
        if (latest === undefined || record.offset < latest) this.noteUncertain(key);
      }
      return [original];
    }
    const kept: DecodedRecord[] = [];
    for (const record of records) {
      if (record.key === null) {
        kept.push(record);
        continue;
      }
      const key = keyOf(record.key);
      const latest = this.map.get(key);
      if (latest !== undefined && record.offset < latest) {
        stats.recordsRemoved++;
        continue;
      }
      if (record.value === null && dropTombstones && record.offset < this.retainTombstonesFrom && !this.tombstoneGuardFull && !this.uncertain.has(key)) {
        stats.recordsRemoved++;
        stats.tombstonesRemoved++;
        continue;
      }
      kept.push(record);
      if (latest === undefined) this.noteUncertain(key);
    }
    // An empty batch left by an earlier pass is needed only to cover a group's end.
    if (records.length === 0 && !coverEnd) return [];
    if (kept.length === records.length) return [original];
    return keptBatches(header, kept, coverEnd ? header.lastOffset : undefined);
  }

  private noteUncertain(key: string): void {
    if (this.tombstoneGuardFull) return;
    this.uncertain.add(key);
    if (this.uncertain.size > this.guardEntriesMax) {
      // Past its bound the guard cannot vouch for any tombstone: keep them all for this pass.
      this.tombstoneGuardFull = true;
      this.uncertain.clear();
    }
  }
}

/**
 * Rewrites one group of segments into one compacted segment and swaps it in. Resolves false when the
 * segments changed underneath (nothing is swapped). A single segment from which nothing would be
 * removed is left as it is.
 */
async function cleanGroup(
  log: CompactableLog,
  group: readonly SealedSegmentInfo[],
  cleaner: GroupCleaner,
  readBytesMax: number,
  stats: { segmentsReplaced: number; segmentsWritten: number; bytesBefore: number; bytesAfter: number; recordsRemoved: number; tombstonesRemoved: number },
): Promise<boolean> {
  const endOffset = group[group.length - 1]!.nextOffset;
  const cleaned = await log.beginCleaning(
    group.map((s) => s.baseOffset),
    endOffset,
  );
  if (cleaned === undefined) return false;
  try {
    const removedBefore = stats.recordsRemoved;
    for (const segment of group) {
      const dropTombstones = segment.maxTimestamp < cleaner.deleteHorizonMs;
      await forEachBatch(log, segment, readBytesMax, async (header, bytes, at) => {
        const coverEnd = header.lastOffset === endOffset - 1;
        for (const batch of cleaner.clean(header, bytes, at, dropTombstones, coverEnd, stats)) await cleaned.append(batch);
      });
    }
    if (group.length === 1 && stats.recordsRemoved === removedBefore) {
      await cleaned.abort();
      return true;
    }
    const before = group.reduce((sum, s) => sum + s.sizeInBytes, 0);
    const after = cleaned.sizeInBytes;
    if (!(await log.commitCleaning(cleaned))) return false;
    stats.segmentsReplaced += group.length;
    stats.segmentsWritten++;
    stats.bytesBefore += before;
    stats.bytesAfter += after;
    return true;
  } catch (error) {
    await cleaned.abort().catch(() => {});
    throw error;
  }
}

/**
 * Calls `fn` for every batch of `segment`, in order, read through the log (so every CRC is checked).
 * Throws ReadStopped when the log no longer has the segment's data or a stored batch is corrupt.
 */
async function forEachBatch(
  log: CompactableLog,
  segment: SealedSegmentInfo,
  readBytesMax: number,
  fn: (header: BatchHeader, bytes: Uint8Array, at: number) => void | Promise<void>,
): Promise<void> {
  let offset = segment.baseOffset;
  while (offset < segment.nextOffset) {
    const bytes = await log.read(offset, { maxBytes: readBytesMax, maxOffset: segment.nextOffset });
    if (!(bytes instanceof Uint8Array)) {
      throw new ReadStopped(bytes.error === 'KAFKA_STORAGE_ERROR' ? 'storage-error' : 'segments-changed', `reading offset ${offset}: ${bytes.error} ${bytes.message}`);
    }
    if (bytes.length === 0) throw new ReadStopped('segments-changed', `nothing to read at offset ${offset} below ${segment.nextOffset}`);
    for (const { position, header } of iterateBatches(bytes)) {
      await fn(header, bytes, position);
      offset = header.lastOffset + 1;
    }
  }
}

/** A key's bytes as a string, one char per byte (exact: two keys are equal iff their bytes are). */
function keyOf(key: Uint8Array): string {
  let out = '';
  const CHUNK = 4096;
  for (let i = 0; i < key.length; i += CHUNK) out += String.fromCharCode(...key.subarray(i, i + CHUNK));
  return out;
}
