/**
 * One partition's log on disk, Kafka-style (DESIGN.md §3, §4): a sequence of segments, each a file
 * `<baseOffset, 20 digits>.log` of record batches exactly as received (the leader stamps base offset
 * and leader epoch in place; nothing is re-encoded), with a sparse offset index and a time index
 * (`offset-index.ts`), a leader-epoch checkpoint (`leader-epoch-cache.ts`) and a high-watermark
 * checkpoint. All I/O goes through the `LogDirectory` port (`log-fs.ts`); time comes in as `nowMs`.
 * It implements the `ReplicaLog` the replica layer expects (replica.ts).
 *
 * Units: offsets are record offsets (non-negative safe integers); sizes are bytes; times are ms.
 *
 * Invariants (between operations):
 * - Segments are sorted by base offset and contiguous: each segment's next offset is the next one's
 *   base. The last segment is the active one (appends go there); the others are sealed and each has a
 *   `.index` and `.timeindex` on disk, written after its `.log` was synced.
 * - logStartOffset = the first segment's base <= highWatermark <= logEndOffset, and
 *   flushedOffset <= logEndOffset. logEndOffset counts only batches whose bytes are in the OS.
 * - Every batch in the log passed validateBatch (CRC-32C) when it was appended, and its offsets continue
 *   the previous batch's exactly. The epoch cache has no entry at or beyond logEndOffset.
 *
 * Recovery (`open`): scans the tail segment batch by batch (and any sealed segment whose index files
 * are missing or do not match it), checks CRCs and offset continuity, truncates at the first torn or
 * corrupt batch (deleting any later segments), rebuilds indexes it could not trust, loads the epoch
 * cache (dropping entries at or beyond the log end; an entry for a newer epoch found in the scanned
 * tail is added) and the HW (clamped into [logStartOffset, logEndOffset]), then syncs the tail so that
 * flushedOffset = logEndOffset. Sealed segments with valid indexes are not read: bit rot there is found
 * when the bytes are read (`read` verifies every CRC it serves and answers KAFKA_STORAGE_ERROR rather
 * than serving a corrupt batch).
 *
 * Durability (`flush`): with flush='always' the replica calls `flush()` after an append and before
 * counting it; one fdatasync covers every append before it, and callers arriving while one is in flight
 * share the next one (group commit). A roll syncs the sealed segment first. The epoch checkpoint is
 * written (atomically, synced) before the first batch of a new epoch is appended.
 *
 * Concurrency: appends, truncations, retention, epoch-checkpoint writes and rolls run one at a time on
 * an internal chain, in call order. An append leaves the chain once its write is issued (offsets are
 * assigned from the issued end), so the next one can be issued while it is in flight and the port can
 * coalesce them; it resolves once its write has, and only then do logEndOffset and the bytes readers
 * see include it (writes to a file resolve in call order). Every other chained operation first waits
 * for the writes in flight. Reads run concurrently with appends; truncation, retention and close wait
 * for reads in flight (and hold new ones) before they cut or delete files. A disk error in any write
 * makes the log unusable: that call and every later one reject with it (fatal for the replica).
 *
 * Errors returned as values (`PartitionErrorResult`): CORRUPT_RECORD (a batch failed validation),
 * MESSAGE_TOO_LARGE (leader batch > maxMessageBytes), OFFSET_OUT_OF_RANGE (a read outside
 * [logStartOffset, logEndOffset], or follower batches that do not start at logEndOffset),
 * KAFKA_STORAGE_ERROR (a stored batch failed its CRC on read). Programmer errors are assertions.
 *
 * Limits: a batch is at most BATCH_BYTES_MAX; relative offsets and positions in a segment fit u32 (a
 * roll happens before either would overflow); every sealed segment keeps one open file handle and its
 * in-memory index (about 2 MiB per GiB of segment); reads are bounded by maxBytes or one batch.
 *
 * Compaction (log-cleaner.ts does it; these are its hooks, in the "Compaction hooks" section): a log
 * becomes *compacted* once `enableCompaction()` has durably written its cleaner checkpoint
 * (segment-swap.ts); from then on, and on every later open, it accepts what compaction produces —
 * offset gaps between batches (offsets still strictly increase) and empty batches (recordCount 0,
 * covering a range of removed offsets) — in recovery scans, reads (a fetch at an offset in a gap gets
 * the next batch) and follower appends (a first batch may start beyond the log end, or straddle it:
 * then only its part from the log end is appended, because each replica compacts independently and may
 * have split the same original batch differently). A log that is not compacted keeps the strict
 * checks above: there a gap is corruption. Compaction never moves offsets, never touches the active
 * segment, and keeps this invariant: every sealed segment's last batch ends exactly before the next
 * segment's base (so a read in a sealed segment always finds a batch). `beginCleaning` /
 * `commitCleaning` replace sealed segments by a compacted one through the swap protocol of
 * segment-swap.ts, on the chain like retention (reads held, flushes waiting, `maintaining`); `open`
 * finishes or rolls back a swap a crash interrupted, before anything else.
 */
import { assert, assertNonNegativeInteger } from '../util/assert.js';
import type { Logger } from '../util/log.js';
import { partitionError, type PartitionErrorResult } from './errors.js';
import { LeaderEpochCache, decodeLeaderEpochCheckpoint, type EpochEndOffset, type EpochEntry } from './leader-epoch-cache.js';
import type { LogDirectory, LogFile } from './log-fs.js';
import type { AppendInfo } from './replica.js';
import { SegmentIndex, U32_MAX, decodeIndexFiles } from './offset-index.js';
import { BATCH_BYTES_MAX, BATCH_HEADER_BYTES, decodeRecords, stampBatch, validateBatch, type BatchHeader, type DecodedRecord } from './record-batch.js';
import { batchesFrom } from './compacted-batch.js';
import { TAIL_CACHE_BYTES_DEFAULT, TailBatches } from './tail-batches.js';
import {
  CLEANER_CHECKPOINT,
  cleanedFileName,
  decodeCleanerCheckpoint,
  encodeCleanerCheckpoint,
  finishInterruptedSwaps,
  swapFileName,
} from './segment-swap.js';

export const LOG_SUFFIX = '.log';
export const INDEX_SUFFIX = '.index';
export const TIME_INDEX_SUFFIX = '.timeindex';
export const LEADER_EPOCH_CHECKPOINT = 'leader-epoch-checkpoint';
export const HIGH_WATERMARK_CHECKPOINT = 'high-watermark-checkpoint';
/** ListOffsets' special timestamps (Kafka's). */
export const EARLIEST_TIMESTAMP = -2;
export const LATEST_TIMESTAMP = -1;
export const DEFAULT_INDEX_INTERVAL_BYTES = 4096;

const OFFSET_DIGITS = 20;
const SEGMENT_NAME = /^(\d{20})\.(log|index|timeindex)$/;
/** How much a sequential scan reads at once (a batch larger than this is read whole). */
const SCAN_CHUNK_BYTES = 1024 * 1024;
/** How much `read` reads to find the first batch from an index position. */
const LOCATE_CHUNK_BYTES = 16 * 1024;
// Frame fields at fixed positions of record-batch.ts's layout, for walking batches without having
// each whole batch in memory (readBatchHeader needs the whole batch). Everything else is validateBatch's.
const FRAME_BASE_OFFSET = 0;
const FRAME_BATCH_LENGTH = 8;
const FRAME_LAST_OFFSET_DELTA = 23;
const FRAME_MAX_TIMESTAMP = 35;
const FRAME_PEEK_BYTES = 43;
const LOG_OVERHEAD_BYTES = 12;
const TWO_POW_32 = 0x1_0000_0000;

export interface SegmentLogConfig {
  /** segment.bytes: a batch that would take the active segment past this starts a new segment. */
  readonly segmentBytes: number;
  /** segment.ms: the active segment rolls once its first append is this old (ms). */
  readonly segmentMs: number;
  /** retention.ms: sealed segments whose largest timestamp is older are deleted; -1 = forever. */
  readonly retentionMs: number;
  /** retention.bytes: oldest sealed segments are deleted while the log is larger; -1 = unlimited. */
  readonly retentionBytes: number;
  /** 'always': the replica flushes before counting an append; 'os': a background flusher may. */
  readonly flush: 'always' | 'os';
  /** max.message.bytes: the largest batch a leader accepts (bytes of the whole batch). */
  readonly maxMessageBytes: number;
  /** index.interval.bytes; default 4096. */
  readonly indexIntervalBytes?: number;
  /** Bytes of the active segment's newest small batches kept in memory for tail fetches (tail-batches.ts); default 256 KiB, 0: none. */
  readonly tailCacheBytes?: number;
}

export interface SegmentLogOptions {
  readonly dir: LogDirectory;
  readonly config: SegmentLogConfig;
  /** Wall-clock time of the open (ms), the roll clock of a recovered active segment. */
  readonly nowMs: number;
  readonly logger: Logger;
}

/** One appended batch: its offsets and the idempotence fields of its header. */
/** One appended batch: the replica's AppendInfo plus the batch's largest timestamp (ms). */
export interface LogAppendInfo extends AppendInfo {
  readonly maxTimestamp: number;
}

export interface ReadLimits {
  /** Soft bound on the bytes returned: whole batches only, but always at least one (Kafka's rule). */
  readonly maxBytes: number;
  /** Exclusive: no batch with an offset at or beyond it is returned (the HW for consumers). */
  readonly maxOffset: number;
  /** Read from the file even where the newest batches are in memory: scrubs verify what is on disk. */
  readonly fromFile?: boolean;
}

export interface RetentionResult {
  readonly deletedSegments: number;
  readonly deletedBytes: number;
  readonly logStartOffset: number;
}

/** A sealed segment as the log cleaner sees it. */
export interface SealedSegmentInfo {
  readonly baseOffset: number;
  /** The next segment's base: this segment holds offsets in [baseOffset, nextOffset). */
  readonly nextOffset: number;
  readonly sizeInBytes: number;
  /** The largest record timestamp in the segment (ms), or -1. */
  readonly maxTimestamp: number;
}

export interface TimestampOffset {
  readonly offset: number;
  /** The record's timestamp (ms); -1 for EARLIEST/LATEST. */
  readonly timestamp: number;
}

function segmentFileName(baseOffset: number, suffix: string): string {
  return String(baseOffset).padStart(OFFSET_DIGITS, '0') + suffix;
}

/** The base offset of a segment file (`.log`, `.index`, `.timeindex`), or undefined for other names. */
function segmentFileOf(name: string): { baseOffset: number; isLog: boolean } | undefined {
  const match = SEGMENT_NAME.exec(name);
  if (match === null) return undefined;
  return { baseOffset: Number(match[1]), isLog: match[2] === 'log' };
}

function isPartitionError(value: unknown): value is PartitionErrorResult {
  return typeof value === 'object' && value !== null && 'error' in value;
}

function getInt64(view: DataView, at: number): number {
  return view.getInt32(at) * TWO_POW_32 + view.getUint32(at + 4);
}

/** The frame of the batch at `at`: enough to walk batches. 'short' when fewer than FRAME_PEEK_BYTES remain. */
interface Frame {
  readonly baseOffset: number;
  readonly lastOffset: number;
  readonly sizeInBytes: number;
  readonly maxTimestamp: number;
}

function peekFrame(bytes: Uint8Array, at: number): Frame | 'short' | 'corrupt' {
  if (bytes.length - at < FRAME_PEEK_BYTES) return 'short';
  const view = new DataView(bytes.buffer, bytes.byteOffset + at, FRAME_PEEK_BYTES);
  const sizeInBytes = view.getInt32(FRAME_BATCH_LENGTH) + LOG_OVERHEAD_BYTES;
  const baseOffset = getInt64(view, FRAME_BASE_OFFSET);
  const lastOffset = baseOffset + view.getInt32(FRAME_LAST_OFFSET_DELTA);
  const maxTimestamp = getInt64(view, FRAME_MAX_TIMESTAMP);
  if (sizeInBytes < BATCH_HEADER_BYTES || sizeInBytes > BATCH_BYTES_MAX) return 'corrupt';
  if (!Number.isSafeInteger(baseOffset) || baseOffset < 0 || !Number.isSafeInteger(lastOffset) || lastOffset < baseOffset) return 'corrupt';
  return { baseOffset, lastOffset, sizeInBytes, maxTimestamp };
}

/** A segment of the log, in memory. */
class Segment {
  /** Bytes of the batches whose writes have resolved: what readers may see. */
  size: number;
  /** The offset after the last batch whose write has resolved. */
  nextOffset: number;
  /** Bytes and next offset counting writes issued but not yet resolved (where the next batch goes). */
  issuedSize: number;
  issuedNextOffset: number;
  index: SegmentIndex;
  /** Bytes appended since the last index entry. */
  bytesSinceIndexEntry = 0;
  /** When the first batch was appended (ms), the clock of segment.ms; undefined while empty. */
  rollClockMs: number | undefined;
  /** Sealed: has index files on disk, never appended to again (unless a truncation reopens it). */
  sealed = false;
  /** The newest small batches, for reads at the tail; only while this segment is active. */
  tail: TailBatches | undefined;

  constructor(
    readonly baseOffset: number,
    readonly file: LogFile,
  ) {
    this.size = file.size;
    this.issuedSize = file.size;
    this.nextOffset = baseOffset;
    this.issuedNextOffset = baseOffset;
    this.index = new SegmentIndex(baseOffset);
  }

  /** Sets both the visible and the issued end (recovery, truncation). */
  setEnd(size: number, nextOffset: number): void {
    this.tail = undefined;
    this.size = size;
    this.issuedSize = size;
    this.nextOffset = nextOffset;
    this.issuedNextOffset = nextOffset;
  }

  get name(): string {
    return segmentFileName(this.baseOffset, LOG_SUFFIX);
  }

  /**
   * Records a batch issued at `position` (index entries, timestamps, the issued end). `gapAllowed`: the
   * log is compacted, so the batch may start after the issued end (never before).
   */
  noteIssued(frame: Frame, position: number, indexIntervalBytes: number, gapAllowed = false): void {
    const offsetOk = frame.baseOffset === this.issuedNextOffset || (gapAllowed && frame.baseOffset > this.issuedNextOffset);
    assert(position === this.issuedSize && offsetOk, 'batches are issued back to back');
    if (this.bytesSinceIndexEntry > indexIntervalBytes) {
      this.index.addEntry(frame.baseOffset, position, this.index.maxTimestamp);
      this.bytesSinceIndexEntry = 0;
    }
    this.bytesSinceIndexEntry += frame.sizeInBytes;
    this.index.observeTimestamp(frame.maxTimestamp, frame.baseOffset);
    this.issuedSize = position + frame.sizeInBytes;
    this.issuedNextOffset = frame.lastOffset + 1;
  }
}

/** Reads whole batches of a segment file sequentially through a bounded window. */
class BatchWindow {
  private window: Uint8Array = new Uint8Array(0);
  private windowStart = 0;

  constructor(
    private readonly file: LogFile,
    private readonly end: number,
    private readonly chunkBytes: number,
  ) {}

  /**
   * The batch at `position` (whole, in `bytes` at `at`), or 'end' exactly at the end, 'torn' when the
   * bytes stop inside it, 'corrupt' when its frame is impossible.
   */
  async batchAt(position: number): Promise<{ bytes: Uint8Array; at: number; frame: Frame } | 'end' | 'torn' | 'corrupt'> {
    if (position === this.end) return 'end';
    if (this.end - position < BATCH_HEADER_BYTES) return 'torn';
    await this.cover(position, FRAME_PEEK_BYTES);
    let frame = peekFrame(this.window, position - this.windowStart);
    if (frame === 'short') return 'torn';
    if (frame === 'corrupt') return 'corrupt';
    if (position + frame.sizeInBytes > this.end) return 'torn';
    await this.cover(position, frame.sizeInBytes);
    frame = peekFrame(this.window, position - this.windowStart) as Frame;
    return { bytes: this.window, at: position - this.windowStart, frame };
  }

  /** The frame at `position` only (no need for the whole batch in memory). */
  async frameAt(position: number): Promise<Frame | 'end' | 'torn' | 'corrupt'> {
    if (position === this.end) return 'end';
    if (this.end - position < BATCH_HEADER_BYTES) return 'torn';
    await this.cover(position, FRAME_PEEK_BYTES);
    const frame = peekFrame(this.window, position - this.windowStart);
    if (frame === 'short') return 'torn';
    if (frame !== 'corrupt' && position + frame.sizeInBytes > this.end) return 'torn';
    return frame;
  }

  private async cover(position: number, length: number): Promise<void> {
    if (position >= this.windowStart && position + length <= this.windowStart + this.window.length) return;
    const readLength = Math.min(this.end - position, Math.max(this.chunkBytes, length));
    this.window = await this.file.read(position, readLength);
    this.windowStart = position;
  }
}

/** The outcome of scanning a segment: where its valid batches end. */
interface ScanResult {
  readonly validBytes: number;
  /** Why the scan stopped before the file's end, if it did. */
  readonly problem: string | undefined;
  /** (epoch, baseOffset) of every batch, for repairing the epoch cache from the tail. */
  readonly epochs: Array<{ epoch: number; baseOffset: number }>;
}

export class SegmentLog {
  private segments: Segment[] = [];
  private readonly epochs = new LeaderEpochCache();
  private hw = 0;
  private flushed = 0;
  private readonly indexIntervalBytes: number;
  private readonly tailCacheBytes: number;

  /** Appends, truncations, retention, rolls and epoch-checkpoint writes, one at a time. */
  private chain: Promise<unknown> = Promise.resolve();
  /**
   * Resolves when the last issued segment write has resolved (never rejects: a failed write sets
   * `failure`). Appends leave the chain once their write is issued, so that the next append can be
   * issued while it is in flight; every other chained operation waits for this first.
   */
  private lastWrite: Promise<void> = Promise.resolve();
  /** Set by a failed write (or close): every later call rejects with it. */
  private failure: Error | undefined;
  private closed = false;
  /** Bumped by every truncation: a flush that started before one must not move flushedOffset. */
  private truncations = 0;

  private flushing: Promise<number> | undefined;
  private flushingTarget = 0;
  private queuedFlush: Promise<number> | undefined;
  /** Set while a truncation or retention pass runs (see `maintaining`). */
  private maintenance: Promise<void> | undefined;

  private hwWriting: Promise<void> | undefined;
  private hwQueued: Promise<void> | undefined;

  private readsInFlight = 0;
  /** Set while a truncation, retention or close holds the log: new reads wait for it. */
  private exclusiveHold: Promise<void> | undefined;
  private readsDrained: (() => void) | undefined;

  /** The cleaner checkpoint exists: batches may have offset gaps and be empty (see the module header). */
  private compacted = false;
  /** The cleaner checkpoint's first dirty offset. */
  private firstDirtyOffset = 0;
  /** The compacted segment being written, if any (one at a time). */
  private cleaning: CleanedSegment | undefined;

  private constructor(
    private readonly dir: LogDirectory,
    readonly config: SegmentLogConfig,
    private readonly logger: Logger,
  ) {
    this.indexIntervalBytes = config.indexIntervalBytes ?? DEFAULT_INDEX_INTERVAL_BYTES;
    this.tailCacheBytes = config.tailCacheBytes ?? TAIL_CACHE_BYTES_DEFAULT;
  }

  /** Opens (creating it if the directory is empty) and recovers the log; see the module header. */
  static async open(options: SegmentLogOptions): Promise<SegmentLog> {
    checkConfig(options.config);
    const log = new SegmentLog(options.dir, options.config, options.logger);
    await log.recover(options.nowMs);
    return log;
  }

  // ---- Offsets ----------------------------------------------------------------------------------

  get logStartOffset(): number {
    return this.segments[0]!.baseOffset;
  }

  /** The offset the next appended record gets. */
  get logEndOffset(): number {
    return this.active.nextOffset;
  }

  /** The end offset known durable (every batch below it survives a power loss). */
  get flushedOffset(): number {
    return this.flushed;
  }

  get highWatermark(): number {
    return this.hw;
  }

  /**
   * Set by the replica layer (min LEO over the ISR, or the leader's HW on a follower). Must be at most
   * logEndOffset (asserted); a value below logStartOffset is raised to it, as Kafka does.
   */
  set highWatermark(offset: number) {
    assertNonNegativeInteger(offset, 'high watermark');
    assert(offset <= this.logEndOffset, `high watermark ${offset} beyond the log end ${this.logEndOffset}`);
    this.hw = Math.max(offset, this.logStartOffset);
  }

  get earliestOffset(): number {
    return this.logStartOffset;
  }

  get latestOffset(): number {
    return this.logEndOffset;
  }

  /** Bytes of all segments. */
  get sizeInBytes(): number {
    return this.segments.reduce((sum, segment) => sum + segment.size, 0);
  }

  get segmentCount(): number {
    return this.segments.length;
  }

  /** The base offsets of the segments, oldest first. */
  segmentBaseOffsets(): number[] {
    return this.segments.map((segment) => segment.baseOffset);
  }

  private get active(): Segment {
    return this.segments[this.segments.length - 1]!;
  }

  // ---- Leader epochs ------------------------------------------------------------------------------

  /** The epoch of the newest entry of the epoch cache (the last batch's, or a leader's new epoch). */
  get latestEpoch(): number | undefined {
    return this.epochs.latestEpoch;
  }

  epochEntries(): EpochEntry[] {
    return this.epochs.entries();
  }

  /**
   * Records that `epoch` starts at `startOffset` (a new leader at its log end; KIP-101). The cache
   * changes now; the checkpoint is written on the append chain, before any later append.
   */
  assignEpoch(epoch: number, startOffset: number): void {
    this.checkUsable();
    assert(startOffset <= this.logEndOffset, `epoch ${epoch} cannot start at ${startOffset}, beyond the log end ${this.logEndOffset}`);
    if (this.epochs.assign(epoch, startOffset)) {
      this.logger('%s: epoch %d starts at offset %d', this.dir.path, epoch, startOffset);
      // Recorded as the log's failure if it fails; callers see it on their next call.
      void this.exclusive(() => this.writeEpochCheckpoint()).catch(() => {});
    }
  }

  /** Kafka's OffsetsForLeaderEpoch answer (leader-epoch-cache.ts), against this log's end. */
  endOffsetForEpoch(epoch: number): EpochEndOffset {
    return this.epochs.endOffsetFor(epoch, this.logEndOffset);
  }

  // ---- Appends ------------------------------------------------------------------------------------

  /**
   * Appends one batch as the leader of `leaderEpoch`: validates it (exactly one batch, CRC, at least
   * one record, at most maxMessageBytes), stamps its base offset (= logEndOffset) and leader epoch in
   * place — the log takes ownership of `batch`; the caller must not reuse it — records the epoch's
   * start if it is new, rolls if needed, appends. Resolves once the bytes are in the OS (not durable:
   * see `flush`). Returns CORRUPT_RECORD or MESSAGE_TOO_LARGE without writing anything.
   */
  async appendAsLeader(batch: Uint8Array, leaderEpoch: number, nowMs: number): Promise<LogAppendInfo | PartitionErrorResult> {
    this.checkUsable();
    if (batch.length > this.config.maxMessageBytes) {
      return partitionError('MESSAGE_TOO_LARGE', `a batch of ${batch.length} bytes exceeds max.message.bytes ${this.config.maxMessageBytes}`);
    }
    const checked = validateBatch(batch, 0);
    if (!checked.ok) return partitionError('CORRUPT_RECORD', checked.message);
    if (checked.header.sizeInBytes !== batch.length) {
      return partitionError('CORRUPT_RECORD', `${batch.length - checked.header.sizeInBytes} bytes follow the batch (one batch per append)`);
    }
    if (checked.header.recordCount === 0) return partitionError('CORRUPT_RECORD', 'the batch has no records');
    const issued = await this.exclusive(async () => {
      const latest = this.epochs.latestEpoch;
      assert(latest === undefined || leaderEpoch >= latest, `append as leader of epoch ${leaderEpoch} after epoch ${latest}`);
      const baseOffset = this.active.issuedNextOffset;
      stampBatch(batch, 0, { baseOffset, partitionLeaderEpoch: leaderEpoch });
      if (this.epochs.assign(leaderEpoch, baseOffset)) await this.writeEpochCheckpoint();
      const header = checked.header;
      const frame: Frame = {
        baseOffset,
        lastOffset: baseOffset + header.lastOffsetDelta,
        sizeInBytes: header.sizeInBytes,
        maxTimestamp: header.maxTimestamp,
      };
      const written = await this.issueFrames(batch, [{ at: 0, frame }], nowMs);
      return { written, info: appendInfo(header, frame) };
    });
    await issued.written.done;
    return issued.info;
  }

  /**
   * Appends batches fetched from the leader (already stamped): each must pass validateBatch and carry
   * at least one record, and their offsets must continue exactly at logEndOffset (else
   * OFFSET_OUT_OF_RANGE; nothing is written). The epoch cache learns each batch's leader epoch.
   * Resolves once the bytes are in the OS; with the info of each batch.
   *
   * A compacted log (see the module header) also takes empty batches and offset gaps: between batches,
   * and before the first one (it may start beyond logEndOffset). A first batch that straddles
   * logEndOffset is cut to its part from logEndOffset (re-encoded; compacted-batch.ts), and the infos
   * then describe what was appended.
   */
  async appendAsFollower(batches: Uint8Array, nowMs: number): Promise<LogAppendInfo[] | PartitionErrorResult> {
    this.checkUsable();
    let bytes = batches;
    const checked = this.parseFetched(bytes);
    if (isPartitionError(checked)) return checked;
    if (checked.length === 0) return [];
    let parsed = checked;
    const issued = await this.exclusive(async () => {
      let first = parsed[0]!;
      const end = this.active.issuedNextOffset;
      if (first.frame.baseOffset < end && this.compacted && first.frame.lastOffset >= end && !first.header.isTransactional && !first.header.isControl) {
        // Our log ends inside this batch as the leader laid it out: append only the rest of it.
        let records: DecodedRecord[];
        try {
          records = decodeRecords(bytes, first.at);
        } catch (error) {
          return partitionError('CORRUPT_RECORD', error instanceof Error ? error.message : String(error));
        }
        const rest = batchesFrom(first.header, records, end);
        const tail = bytes.subarray(first.at + first.header.sizeInBytes);
        bytes = concatBytes([...rest, tail]);
        const reparsed = this.parseFetched(bytes);
        assert(!isPartitionError(reparsed), 'a cut batch stays valid');
        parsed = reparsed;
        first = parsed[0]!;
      }
      const start = first.frame.baseOffset;
      if (start < end || (start > end && !this.compacted)) {
        return partitionError('OFFSET_OUT_OF_RANGE', `the fetched batches start at offset ${start} but the log ends at ${end}`);
      }
      let epochsChanged = false;
      for (const { header } of parsed) epochsChanged = this.epochs.assign(header.partitionLeaderEpoch, header.baseOffset) || epochsChanged;
      if (epochsChanged) await this.writeEpochCheckpoint();
      return this.issueFrames(bytes, parsed, nowMs);
    });
    if (isPartitionError(issued)) return issued;
    await issued.done;
    return parsed.map(({ header, frame }) => appendInfo(header, frame));
  }

  /** Validates fetched batches (see appendAsFollower) and lays out their frames. */
  private parseFetched(batches: Uint8Array): Array<{ at: number; frame: Frame; header: BatchHeader }> | PartitionErrorResult {
    const parsed: Array<{ at: number; frame: Frame; header: BatchHeader }> = [];
    for (let at = 0; at < batches.length; ) {
      const checked = validateBatch(batches, at);
      if (!checked.ok) return partitionError('CORRUPT_RECORD', checked.message);
      const header = checked.header;
      if (header.recordCount === 0 && !this.compacted) return partitionError('CORRUPT_RECORD', `the batch at byte ${at} has no records`);
      if (header.lastOffset < header.baseOffset) return partitionError('CORRUPT_RECORD', `the batch at byte ${at} covers no offsets`);
      if (header.partitionLeaderEpoch < 0) return partitionError('CORRUPT_RECORD', `the batch at byte ${at} carries no leader epoch`);
      const previous = parsed[parsed.length - 1];
      const next = previous === undefined ? undefined : previous.frame.lastOffset + 1;
      if (next !== undefined && (header.baseOffset < next || (header.baseOffset > next && !this.compacted))) {
        return partitionError('CORRUPT_RECORD', `the batch at byte ${at} starts at offset ${header.baseOffset}, expected ${next}`);
      }
      parsed.push({ at, header, frame: { baseOffset: header.baseOffset, lastOffset: header.lastOffset, sizeInBytes: header.sizeInBytes, maxTimestamp: header.maxTimestamp } });
      at += header.sizeInBytes;
    }
    return parsed;
  }

  /**
   * Issues the writes of the batches (validated, contiguous from the issued end) laid out in `bytes`,
   * rolling as needed; resolves once they are issued, with `done`: resolves once they are in the OS.
   * (Wrapped in an object so that the chain does not wait for the write itself.)
   */
  private async issueFrames(bytes: Uint8Array, batches: ReadonlyArray<{ at: number; frame: Frame }>, nowMs: number): Promise<{ done: Promise<void> }> {
    let done: Promise<void> = Promise.resolve();
    let i = 0;
    while (i < batches.length) {
      await this.maybeRoll(batches[i]!.frame, nowMs);
      const segment = this.active;
      // The run of batches that fit in this segment (at least one).
      let runBytes = 0;
      let j = i;
      while (j < batches.length) {
        const frame = batches[j]!.frame;
        if (j > i && (segment.issuedSize + runBytes + frame.sizeInBytes > this.config.segmentBytes || frame.lastOffset - segment.baseOffset > U32_MAX)) break;
        runBytes += frame.sizeInBytes;
        j++;
      }
      const from = batches[i]!.at;
      const position = segment.issuedSize;
      const write = segment.file.append(bytes.subarray(from, from + runBytes));
      for (let k = i; k < j; k++) {
        const { at, frame } = batches[k]!;
        segment.noteIssued(frame, position + (at - from), this.indexIntervalBytes, this.compacted);
        if (this.tailCacheBytes > 0) {
          segment.tail ??= new TailBatches(this.tailCacheBytes);
          segment.tail.add(frame.baseOffset, frame.lastOffset, position + (at - from), bytes.subarray(at, at + frame.sizeInBytes));
        }
      }
      assert(segment.issuedSize === segment.file.size, 'the issued size follows the file');
      segment.rollClockMs ??= nowMs;
      const size = segment.issuedSize;
      const nextOffset = segment.issuedNextOffset;
      // Writes to one file resolve in call order, so these reactions run in order too.
      done = write.then(
        () => {
          segment.size = size;
          segment.nextOffset = nextOffset;
        },
        (error: unknown) => {
          throw this.fail('append', error);
        },
      );
      this.lastWrite = done.catch(() => {});
      i = j;
    }
    return { done };
  }

  /** Waits for the writes in flight; throws if one failed. For chained operations other than appends. */
  private async quiesce(): Promise<void> {
    await this.lastWrite;
    // A sync in flight must finish before files are cut or closed under it.
    await this.flushing?.catch(() => {});
    if (this.failure !== undefined) throw this.failure;
  }

  /**
   * Runs a truncation or a retention pass: flushes requested meanwhile wait for it, so no fsync is
   * started on a file that is being cut, deleted or closed.
   */
  private async maintaining<T>(fn: () => Promise<T>): Promise<T> {
    let release: () => void = () => {};
    this.maintenance = new Promise<void>((resolve) => {
      release = resolve;
    });
    try {
      return await fn();
    } finally {
      this.maintenance = undefined;
      release();
    }
  }

  /** Rolls the active segment if `next` would not fit it (size, time, relative offset range). */
  private async maybeRoll(next: Frame, nowMs: number): Promise<void> {
    const segment = this.active;
    if (segment.issuedSize === 0) return;
    const full = segment.issuedSize + next.sizeInBytes > this.config.segmentBytes;
    const old = segment.rollClockMs !== undefined && nowMs - segment.rollClockMs >= this.config.segmentMs;
    const offsetRange = next.lastOffset - segment.baseOffset > U32_MAX;
    if (!full && !old && !offsetRange) return;
    await this.roll();
  }

  /** Seals the active segment (sync, then its index files) and starts a new one at logEndOffset. */
  private async roll(): Promise<void> {
    const segment = this.active;
    const generation = this.truncations;
    segment.tail = undefined;
    await segment.file.sync();
    // The sync waited for every write issued to the segment, and their completions ran before it resolved.
    assert(segment.size === segment.issuedSize && segment.nextOffset === segment.issuedNextOffset, 'a synced segment has no write in flight');
    if (generation === this.truncations) this.flushed = Math.max(this.flushed, segment.nextOffset);
    await this.writeIndexFiles(segment);
    const file = await this.dir.open(segmentFileName(segment.nextOffset, LOG_SUFFIX), { create: true });
    assert(file.size === 0, `new segment ${file.name} is not empty`);
    this.segments.push(new Segment(segment.nextOffset, file));
    this.logger('%s: rolled segment %d (%d bytes); new segment at %d', this.dir.path, segment.baseOffset, segment.size, segment.nextOffset);
  }

  private async writeIndexFiles(segment: Segment): Promise<void> {
    await this.dir.writeFileAtomically(segmentFileName(segment.baseOffset, INDEX_SUFFIX), segment.index.encodeOffsetIndex(segment.nextOffset, segment.size));
    await this.dir.writeFileAtomically(segmentFileName(segment.baseOffset, TIME_INDEX_SUFFIX), segment.index.encodeTimeIndex(segment.nextOffset, segment.size));
    segment.sealed = true;
  }

  // ---- Flush --------------------------------------------------------------------------------------

  /**
   * Makes every batch appended before the call durable (fdatasync of the active segment; sealed ones
   * were synced at their roll). Group commit: while a sync is in flight, callers whose batches it
   * covers share it, and the others share the one next sync. Resolves with the new flushedOffset.
   */
  flush(): Promise<number> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (this.maintenance !== undefined) return this.maintenance.then(() => this.flush());
    if (this.flushing === undefined) {
      if (this.flushed >= this.logEndOffset) return Promise.resolve(this.flushed);
      return this.startFlush();
    }
    if (this.flushingTarget >= this.logEndOffset) return this.flushing;
    this.queuedFlush ??= this.flushing.then(() => {
      this.queuedFlush = undefined;
      return this.flushed >= this.logEndOffset || this.flushing !== undefined ? (this.flushing ?? this.flushed) : this.startFlush();
    });
    return this.queuedFlush;
  }

  private startFlush(): Promise<number> {
    const target = this.logEndOffset;
    const generation = this.truncations;
    const file = this.active.file;
    this.flushingTarget = target;
    const flushing = file.sync().then(
      () => {
        if (generation === this.truncations) this.flushed = Math.max(this.flushed, Math.min(target, this.logEndOffset));
        this.flushing = undefined;
        return this.flushed;
      },
      (error: unknown) => {
        this.flushing = undefined;
        throw this.fail('flush', error);
      },
    );
    this.flushing = flushing;
    return flushing;
  }

  // ---- Reads --------------------------------------------------------------------------------------

  /**
   * Whole batches from the one containing `fetchOffset`, within one segment: at most `maxBytes` unless
   * the first batch alone is larger (then exactly that batch), and only batches that end before
   * `maxOffset`. Empty at the log end or when the first batch reaches `maxOffset`. Every batch read
   * from the file passed its CRC check now; one that fails gives KAFKA_STORAGE_ERROR (never served).
   * The newest small batches of the active segment come from memory (tail-batches.ts): the bytes the
   * append wrote, checked when they were appended; `fromFile` reads them from the file too. The buffer
   * is fresh and the caller's.
   * OFFSET_OUT_OF_RANGE outside [logStartOffset, logEndOffset].
   */
  async read(fetchOffset: number, limits: ReadLimits): Promise<Uint8Array | PartitionErrorResult> {
    this.checkUsable();
    assertNonNegativeInteger(fetchOffset, 'fetch offset');
    assertNonNegativeInteger(limits.maxBytes, 'maxBytes');
    assertNonNegativeInteger(limits.maxOffset, 'maxOffset');
    await this.enterRead();
    try {
      return await this.readLocked(fetchOffset, limits);
    } finally {
      this.leaveRead();
    }
  }

  private async readLocked(fetchOffset: number, limits: ReadLimits): Promise<Uint8Array | PartitionErrorResult> {
    if (fetchOffset < this.logStartOffset || fetchOffset > this.logEndOffset) {
      return partitionError('OFFSET_OUT_OF_RANGE', `${this.dir.path}: offset ${fetchOffset} is outside [${this.logStartOffset}, ${this.logEndOffset}]`);
    }
    const maxOffset = Math.min(limits.maxOffset, this.logEndOffset);
    if (fetchOffset >= maxOffset) return new Uint8Array(0);
    const segment = this.segmentFor(fetchOffset);
    const end = segment.size;
    const cached = limits.fromFile === true ? undefined : segment.tail?.read(fetchOffset, { maxBytes: limits.maxBytes, maxOffset, visibleSize: end });
    if (cached !== undefined) return cached;
    const located = await this.locate(segment, fetchOffset, end);
    if (isPartitionError(located)) return located;
    if (located === undefined) return new Uint8Array(0);
    const { position, frame: first } = located;
    const length = Math.min(end - position, Math.max(limits.maxBytes, first.sizeInBytes));
    const bytes = await segment.file.read(position, length);
    // Verify the first batch before trusting any field of its header: a flipped bit in its last
    // offset delta would otherwise make it look beyond maxOffset and be skipped, never reported.
    const head = validateBatch(bytes, 0);
    // In a compacted log the batch holding the next offset may start after fetchOffset (a gap).
    const startsLate = (h: BatchHeader): boolean => h.baseOffset > fetchOffset && !this.compacted;
    if (!head.ok || startsLate(head.header) || head.header.lastOffset >= segment.nextOffset) {
      const why = !head.ok ? head.message : `offsets ${head.header.baseOffset}-${head.header.lastOffset} do not fit the segment`;
      this.logger('%s: CORRUPT stored batch in segment %d at byte %d: %s', this.dir.path, segment.baseOffset, position, why);
      return partitionError('KAFKA_STORAGE_ERROR', `${this.dir.path}: the stored batch at offset ${first.baseOffset} (segment ${segment.baseOffset}, byte ${position}) is corrupt: ${why}`);
    }
    if (head.header.lastOffset >= maxOffset) return new Uint8Array(0);
    // Walk the whole batches in `bytes`: verify each, stop before maxOffset.
    let at = 0;
    let expected = first.baseOffset;
    while (at < bytes.length) {
      const frame = peekFrame(bytes, at);
      if (frame === 'short' || (frame !== 'corrupt' && at + frame.sizeInBytes > bytes.length)) break;
      if (frame !== 'corrupt' && frame.lastOffset >= maxOffset) break;
      const checked = frame === 'corrupt' ? undefined : validateBatch(bytes, at);
      const inOrder = (h: BatchHeader): boolean => h.baseOffset === expected || (this.compacted && h.baseOffset > expected);
      if (checked === undefined || !checked.ok || !inOrder(checked.header)) {
        const why = checked === undefined ? 'an impossible frame' : checked.ok ? `offset ${checked.header.baseOffset}, expected ${expected}` : checked.message;
        this.logger('%s: CORRUPT stored batch in segment %d at byte %d: %s', this.dir.path, segment.baseOffset, position + at, why);
        return partitionError('KAFKA_STORAGE_ERROR', `${this.dir.path}: the stored batch at offset ${expected} (segment ${segment.baseOffset}, byte ${position + at}) is corrupt: ${why}`);
      }
      expected = checked.header.lastOffset + 1;
      at += checked.header.sizeInBytes;
    }
    assert(at > 0, 'the first batch is served whole');
    // A view, not a copy: the read buffer is ours alone, and it is dropped with the answer.
    return at === bytes.length ? bytes : bytes.subarray(0, at);
  }

  /** The segment holding `offset` (logStartOffset <= offset < logEndOffset). */
  private segmentFor(offset: number): Segment {
    let lo = 0;
    let hi = this.segments.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (this.segments[mid]!.baseOffset <= offset) lo = mid;
      else hi = mid - 1;
    }
    return this.segments[lo]!;
  }

  /**
   * The position and frame of the batch containing `offset` in `segment` (scanning forward from the
   * index), `undefined` if the segment ends first, KAFKA_STORAGE_ERROR if a frame on the way is broken.
   */
  private async locate(segment: Segment, offset: number, end: number): Promise<{ position: number; frame: Frame } | PartitionErrorResult | undefined> {
    let { position } = segment.index.lookup(offset);
    const window = new BatchWindow(segment.file, end, LOCATE_CHUNK_BYTES);
    for (;;) {
      const frame = await window.frameAt(position);
      if (frame === 'end') return undefined;
      if (frame === 'torn' || frame === 'corrupt') {
        this.logger('%s: CORRUPT stored frame in segment %d at byte %d', this.dir.path, segment.baseOffset, position);
        return partitionError('KAFKA_STORAGE_ERROR', `${this.dir.path}: the stored batch at byte ${position} of segment ${segment.baseOffset} cannot be framed`);
      }
      if (frame.lastOffset >= offset) return { position, frame };
      position += frame.sizeInBytes;
    }
  }

  /**
   * Where to cut `segment` to drop every batch at or after `offset`: the position of the first batch
   * that ends at or after it, and the log end that leaves — that batch's base, or, when it starts after
   * `offset` (a gap in a compacted log), the end of the batch before it (the largest batch boundary
   * <= offset). `undefined` when the segment ends first.
   */
  private async locateBoundary(segment: Segment, offset: number): Promise<{ position: number; nextOffset: number } | undefined> {
    const start = segment.index.lookup(offset);
    let position = start.position;
    // The indexed batch starts at or before `offset`; with no entry, the segment's base is the bound.
    let previousEnd = start.baseOffset;
    const window = new BatchWindow(segment.file, segment.size, LOCATE_CHUNK_BYTES);
    for (;;) {
      const frame = await window.frameAt(position);
      if (frame === 'end') return undefined;
      assert(frame !== 'torn' && frame !== 'corrupt', `${this.dir.path}: cannot find offset ${offset} to truncate at`);
      if (frame.lastOffset >= offset) return { position, nextOffset: frame.baseOffset <= offset ? frame.baseOffset : previousEnd };
      previousEnd = frame.lastOffset + 1;
      position += frame.sizeInBytes;
    }
  }

  /**
   * ListOffsets by time: the first record with timestamp >= `timestamp` (offset and timestamp), or
   * `undefined` if there is none. EARLIEST_TIMESTAMP (-2) and LATEST_TIMESTAMP (-1) give logStartOffset
   * and logEndOffset. Reads records (uncompressed batches only: the only kind the log accepts).
   */
  async offsetForTimestamp(timestamp: number): Promise<TimestampOffset | undefined | PartitionErrorResult> {
    this.checkUsable();
    if (timestamp === EARLIEST_TIMESTAMP) return { offset: this.logStartOffset, timestamp: -1 };
    if (timestamp === LATEST_TIMESTAMP) return { offset: this.logEndOffset, timestamp: -1 };
    assertNonNegativeInteger(timestamp, 'timestamp');
    await this.enterRead();
    try {
      const segment = this.segments.find((s) => s.index.maxTimestamp >= timestamp);
      if (segment === undefined) return undefined;
      const startOffset = segment.index.lookupTimestamp(timestamp);
      let { position } = segment.index.lookup(startOffset);
      const window = new BatchWindow(segment.file, segment.size, SCAN_CHUNK_BYTES);
      for (;;) {
        const found = await window.batchAt(position);
        if (found === 'end') return undefined;
        if (found === 'torn' || found === 'corrupt') {
          return partitionError('KAFKA_STORAGE_ERROR', `${this.dir.path}: the stored batch at byte ${position} of segment ${segment.baseOffset} cannot be framed`);
        }
        if (found.frame.maxTimestamp >= timestamp) {
          const checked = validateBatch(found.bytes, found.at);
          if (!checked.ok) {
            return partitionError('KAFKA_STORAGE_ERROR', `${this.dir.path}: the stored batch at byte ${position} of segment ${segment.baseOffset} is corrupt: ${checked.message}`);
          }
          for (const record of decodeRecords(found.bytes, found.at)) {
            if (record.timestamp >= timestamp) return { offset: record.offset, timestamp: record.timestamp };
          }
        }
        position += found.frame.sizeInBytes;
      }
    } finally {
      this.leaveRead();
    }
  }

  // ---- Truncation and retention -------------------------------------------------------------------

  /**
   * Drops every batch at or after `offset`. A batch that straddles `offset` goes whole, so the new
   * logEndOffset is the largest batch boundary <= offset. No effect when offset >= logEndOffset; below
   * logStartOffset it is truncateFullyAndStartAt(offset). Epoch entries at or past the new end go; HW
   * and flushedOffset are lowered to it. Correct callers never truncate below the HW (KIP-101).
   * Durable when it resolves.
   */
  async truncateTo(offset: number): Promise<void> {
    assertNonNegativeInteger(offset, 'truncation offset');
    this.checkUsable();
    return this.exclusive(() =>
      this.holdingReads(() => this.maintaining(async () => {
        await this.quiesce();
        if (offset >= this.logEndOffset) {
          // No data to drop, but epochs begun at the log end without a batch (a leader that appended
          // nothing) must go: the follower's last epoch is then that of its last batch (KIP-101; Kafka's
          // UnifiedLog.truncateTo does the same).
          if (this.epochs.truncateFromEnd(this.logEndOffset)) await this.writeEpochCheckpoint();
          return;
        }
        if (offset < this.logStartOffset) {
          await this.truncateFullyLocked(offset);
          return;
        }
        this.truncations++;
        while (this.segments.length > 1 && this.active.baseOffset >= offset) {
          const segment = this.segments.pop()!;
          await this.deleteSegment(segment);
        }
        const segment = this.active;
        const located = await this.locateBoundary(segment, offset);
        if (located !== undefined) await this.truncateSegment(segment, located.position, located.nextOffset);
        segment.bytesSinceIndexEntry = segment.size - segment.index.lastPosition;
        if (segment.sealed) {
          // It is the active segment again: its index files would go stale.
          await this.dir.remove(segmentFileName(segment.baseOffset, INDEX_SUFFIX));
          await this.dir.remove(segmentFileName(segment.baseOffset, TIME_INDEX_SUFFIX));
          segment.sealed = false;
        }
        this.afterTruncation();
        this.logger('%s: truncated to offset %d (asked %d)', this.dir.path, this.logEndOffset, offset);
        if (this.epochs.truncateFromEnd(this.logEndOffset)) await this.writeEpochCheckpoint();
      })),
    );
  }

  /** Deletes every segment and starts an empty log at `offset` (logStartOffset = HW = offset). Durable on resolve. */
  async truncateFullyAndStartAt(offset: number): Promise<void> {
    assertNonNegativeInteger(offset, 'start offset');
    this.checkUsable();
    return this.exclusive(() =>
      this.holdingReads(() => this.maintaining(async () => {
        await this.quiesce();
        await this.truncateFullyLocked(offset);
      })),
    );
  }

  private async truncateFullyLocked(offset: number): Promise<void> {
    this.truncations++;
    // The old segments stay listed until the new one exists: getters (log end, sizes) stay answerable
    // while the files go (reads are held meanwhile).
    for (const segment of [...this.segments].reverse()) await this.deleteSegment(segment);
    const file = await this.dir.open(segmentFileName(offset, LOG_SUFFIX), { create: true });
    this.segments.splice(0, this.segments.length, new Segment(offset, file));
    this.hw = offset;
    this.flushed = offset;
    this.firstDirtyOffset = offset;
    this.epochs.clear();
    await this.writeEpochCheckpoint();
    this.logger('%s: emptied, now starts at offset %d', this.dir.path, offset);
  }

  /**
   * Deletes whole sealed segments from the front: while the oldest one's largest timestamp is more
   * than retention.ms before `nowMs`, or the log without it would still hold at least retention.bytes.
   * Never the active segment, never a segment with offsets at or above the HW. Moves logStartOffset.
   */
  async applyRetention(nowMs: number): Promise<RetentionResult> {
    this.checkUsable();
    return this.exclusive(() =>
      this.holdingReads(() => this.maintaining(async () => {
        await this.quiesce();
        let deletedSegments = 0;
        let deletedBytes = 0;
        let remainingBytes = this.sizeInBytes;
        while (this.segments.length > 1) {
          const oldest = this.segments[0]!;
          if (oldest.nextOffset > this.hw) break;
          const byTime = this.config.retentionMs >= 0 && nowMs - oldest.index.maxTimestamp > this.config.retentionMs;
          const bySize = this.config.retentionBytes >= 0 && remainingBytes - oldest.size >= this.config.retentionBytes;
          if (!byTime && !bySize) break;
          this.segments.shift();
          await this.deleteSegment(oldest);
          deletedSegments++;
          deletedBytes += oldest.size;
          remainingBytes -= oldest.size;
        }
        if (deletedSegments > 0) {
          this.logger('%s: retention deleted %d segments (%d bytes); log starts at %d', this.dir.path, deletedSegments, deletedBytes, this.logStartOffset);
          if (this.epochs.truncateFromStart(this.logStartOffset)) await this.writeEpochCheckpoint();
        }
        return { deletedSegments, deletedBytes, logStartOffset: this.logStartOffset };
      })),
    );
  }

  // ---- Compaction hooks (log-cleaner.ts) ----------------------------------------------------------

  /** Whether the log is compacted: it may hold offset gaps and empty batches (see the module header). */
  get compactionEnabled(): boolean {
    return this.compacted;
  }

  /** The first offset the cleaner has not compacted yet (its checkpoint), within [logStartOffset, logEndOffset]. */
  get cleanerOffset(): number {
    return Math.min(Math.max(this.firstDirtyOffset, this.logStartOffset), this.logEndOffset);
  }

  /**
   * Makes the log compacted, durably (the cleaner checkpoint is written, on the chain), before anything
   * can put a gap in it: before the first compaction, and before a follower of a compacted topic
   * fetches. Idempotent; never undone.
   */
  enableCompaction(): Promise<void> {
    this.checkUsable();
    if (this.compacted) return Promise.resolve();
    return this.exclusive(async () => {
      if (this.compacted) return;
      await this.dir.writeFileAtomically(CLEANER_CHECKPOINT, encodeCleanerCheckpoint(this.logStartOffset));
      this.firstDirtyOffset = this.logStartOffset;
      this.compacted = true;
      this.logger('%s: compaction enabled', this.dir.path);
    });
  }

  /** Records (atomically, durably) that offsets below `firstDirtyOffset` are compacted. */
  checkpointCleanerOffset(firstDirtyOffset: number): Promise<void> {
    assertNonNegativeInteger(firstDirtyOffset, 'first dirty offset');
    this.checkUsable();
    assert(this.compacted, 'checkpointCleanerOffset on a log that is not compacted');
    return this.exclusive(async () => {
      await this.dir.writeFileAtomically(CLEANER_CHECKPOINT, encodeCleanerCheckpoint(firstDirtyOffset));
      this.firstDirtyOffset = firstDirtyOffset;
    });
  }

  /** The sealed segments (all but the active one), oldest first. */
  sealedSegments(): SealedSegmentInfo[] {
    return this.segments.slice(0, -1).map((s) => ({ baseOffset: s.baseOffset, nextOffset: s.nextOffset, sizeInBytes: s.size, maxTimestamp: s.index.maxTimestamp }));
  }

  /**
   * Starts writing the compacted replacement of the consecutive sealed segments with base offsets
   * `sourceBaseOffsets`, which end where the segment at `endOffset` begins (step 1 of segment-swap.ts).
   * `undefined` if they are not (any more) exactly such segments, e.g. after retention. One at a time.
   * The caller appends batches, then `commitCleaning`s it or `abort`s it.
   */
  async beginCleaning(sourceBaseOffsets: readonly number[], endOffset: number): Promise<CleanedSegment | undefined> {
    this.checkUsable();
    assert(this.compacted, 'beginCleaning on a log that is not compacted');
    assert(this.cleaning === undefined, 'one compacted segment is written at a time');
    const sources = this.sourceSegments(sourceBaseOffsets, endOffset);
    if (sources === undefined) return undefined;
    const base = sourceBaseOffsets[0]!;
    const name = cleanedFileName(base, endOffset);
    await this.dir.remove(name); // left by an attempt given up without a crash
    const file = await this.dir.open(name, { create: true });
    const cleaned = new CleanedSegment(this.dir, new Segment(base, file), sources.map((s) => ({ baseOffset: s.baseOffset, size: s.size })), endOffset, this.indexIntervalBytes, () => this.checkUsable(), () => {
      if (this.cleaning === cleaned) this.cleaning = undefined;
    });
    this.cleaning = cleaned;
    if (this.closed) {
      await cleaned.abort();
      this.checkUsable();
    }
    return cleaned;
  }

  /**
   * Puts a finished compacted segment in place of its sources (steps 2-5 of segment-swap.ts), on the
   * chain with reads held, like retention. Resolves false (and gives the compacted segment up) when the
   * sources changed meanwhile (retention, truncation); true once the swap is complete. Offsets, the log
   * start and end, the HW and the epoch cache do not change. Durable on resolve.
   */
  commitCleaning(cleaned: CleanedSegment): Promise<boolean> {
    this.checkUsable();
    assert(this.cleaning === cleaned, 'commitCleaning of a compacted segment this log is not writing');
    return this.exclusive(() =>
      this.holdingReads(() => this.maintaining(async () => {
        await this.quiesce();
        await cleaned.settled();
        const sources = this.sourceSegments(cleaned.sources.map((s) => s.baseOffset), cleaned.endOffset);
        if (sources === undefined || sources.some((s, i) => s.size !== cleaned.sources[i]!.size)) {
          this.logger('%s: segments %d-%d changed during compaction; giving it up', this.dir.path, cleaned.baseOffset, cleaned.endOffset);
          await cleaned.abort();
          return false;
        }
        const first = this.segments.indexOf(sources[0]!);
        const replacement = await cleaned.finish();
        // The commit point: from here on recovery completes the swap.
        const swap = swapFileName(cleaned.baseOffset, cleaned.endOffset);
        await this.dir.rename(cleanedFileName(cleaned.baseOffset, cleaned.endOffset), swap);
        for (const source of sources) await source.file.close();
        for (const source of sources) await this.removeIndexFiles(source);
        for (const source of sources.slice(1)) await this.dir.remove(source.name);
        await this.dir.rename(swap, segmentFileName(cleaned.baseOffset, LOG_SUFFIX));
        const file = await this.dir.open(segmentFileName(cleaned.baseOffset, LOG_SUFFIX), { create: false });
        assert(file.size === replacement.size, `${this.dir.path}: the swapped segment has ${file.size} bytes, ${replacement.size} were written`);
        const segment = new Segment(cleaned.baseOffset, file);
        segment.index = replacement.index;
        segment.setEnd(replacement.size, cleaned.endOffset);
        await this.writeIndexFiles(segment);
        this.segments.splice(first, sources.length, segment);
        this.logger('%s: compacted segments %s into %d (%d -> %d bytes)', this.dir.path, sources.map((s) => s.baseOffset).join(','), segment.baseOffset, sources.reduce((sum, s) => sum + s.size, 0), segment.size);
        return true;
      })),
    );
  }

  /** The sealed segments with exactly these base offsets, consecutive, the next one starting at `endOffset`. */
  private sourceSegments(baseOffsets: readonly number[], endOffset: number): Segment[] | undefined {
    const first = this.segments.findIndex((s) => s.baseOffset === baseOffsets[0]);
    if (first < 0 || baseOffsets.length === 0) return undefined;
    const sources = this.segments.slice(first, first + baseOffsets.length);
    const next = this.segments[first + baseOffsets.length];
    if (sources.length !== baseOffsets.length || next === undefined || next.baseOffset !== endOffset) return undefined;
    if (sources.some((s, i) => s.baseOffset !== baseOffsets[i] || !s.sealed)) return undefined;
    return sources;
  }

  // ---- Checkpoints and close ----------------------------------------------------------------------

  /** Writes the current HW to the HW checkpoint (atomically, durably). Calls coalesce. */
  checkpointHighWatermark(): Promise<void> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (this.hwWriting === undefined) return this.startHwWrite();
    this.hwQueued ??= this.hwWriting.then(() => {
      this.hwQueued = undefined;
      return this.startHwWrite();
    });
    return this.hwQueued;
  }

  private startHwWrite(): Promise<void> {
    const write = this.dir.writeFileAtomically(HIGH_WATERMARK_CHECKPOINT, new TextEncoder().encode(`0\n${this.hw}\n`)).then(
      () => {
        this.hwWriting = undefined;
      },
      (error: unknown) => {
        this.hwWriting = undefined;
        throw this.fail('high-watermark checkpoint', error);
      },
    );
    this.hwWriting = write;
    return write;
  }

  /** Waits for everything in flight, flushes, closes the files. Later calls reject. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.chain;
    await this.lastWrite;
    let flushError: unknown;
    if (this.failure === undefined) await this.flush().catch((error: unknown) => (flushError = error));
    await this.hwQueued?.catch(() => {});
    await this.hwWriting?.catch(() => {});
    // A compacted segment being written is given up (its file removed) before the directory may go.
    await this.cleaning?.abort().catch(() => {});
    await this.holdingReads(async () => {
      for (const segment of this.segments) await segment.file.close();
    });
    this.failure ??= new Error(`${this.dir.path}: the log is closed`);
    if (flushError !== undefined) throw flushError;
  }

  // ---- Recovery -----------------------------------------------------------------------------------

  private async recover(nowMs: number): Promise<void> {
    let names = await this.dir.list();
    // A compaction swap a crash interrupted is finished or rolled back before the segments are read.
    if (await finishInterruptedSwaps(this.dir, names, segmentFileOf, this.logger)) names = await this.dir.list();
    const cleanerCheckpoint = await this.dir.readFile(CLEANER_CHECKPOINT);
    if (cleanerCheckpoint !== undefined) {
      this.compacted = true;
      // A corrupt checkpoint (it is written atomically, so bit rot) only costs a full re-clean.
      this.firstDirtyOffset = decodeCleanerCheckpoint(cleanerCheckpoint) ?? 0;
    }
    const bases = new Set<number>();
    const indexFiles: string[] = [];
    for (const name of names) {
      const match = SEGMENT_NAME.exec(name);
      if (match === null) continue;
      const base = Number(match[1]);
      assert(Number.isSafeInteger(base), `segment name ${name} is out of range`);
      if (match[2] === 'log') bases.add(base);
      else indexFiles.push(name);
    }
    // Index files without their segment: left by a deletion cut short.
    for (const name of indexFiles) {
      if (!bases.has(Number(SEGMENT_NAME.exec(name)![1]))) await this.dir.remove(name);
    }
    const sorted = [...bases].sort((a, b) => a - b);
    if (sorted.length === 0) {
      this.segments.push(new Segment(0, await this.dir.open(segmentFileName(0, LOG_SUFFIX), { create: true })));
    }
    for (const base of sorted) this.segments.push(new Segment(base, await this.dir.open(segmentFileName(base, LOG_SUFFIX), { create: false })));

    let tailEpochs: ScanResult['epochs'] = [];
    for (let i = 0; i < this.segments.length; i++) {
      const segment = this.segments[i]!;
      const isTail = i === this.segments.length - 1;
      const nextBase = this.segments[i + 1]?.baseOffset;
      if (!isTail && (await this.loadIndexFiles(segment, nextBase!))) continue;
      const scan = await this.scanSegment(segment);
      if (scan.problem !== undefined) {
        this.logger('%s: recovery truncates segment %d at byte %d of %d: %s', this.dir.path, segment.baseOffset, scan.validBytes, segment.file.size, scan.problem);
        await segment.file.truncate(scan.validBytes);
      }
      if (isTail) {
        tailEpochs = scan.epochs;
        await this.removeIndexFiles(segment);
        segment.rollClockMs = segment.size > 0 ? nowMs : undefined;
        continue;
      }
      if (scan.problem !== undefined || segment.nextOffset !== nextBase) {
        // Nothing after a hole can be trusted to continue the log: drop the later segments.
        this.logger('%s: segment %d ends at offset %d but the next starts at %d; deleting %d later segments', this.dir.path, segment.baseOffset, segment.nextOffset, nextBase, this.segments.length - i - 1);
        while (this.segments.length > i + 1) await this.deleteSegment(this.segments.pop()!);
        tailEpochs = scan.epochs;
        await this.removeIndexFiles(segment);
        segment.rollClockMs = segment.size > 0 ? nowMs : undefined;
        break;
      }
      await this.writeIndexFiles(segment);
    }

    await this.loadEpochs(tailEpochs);
    this.hw = await this.loadHighWatermark();
    // Bytes that survived a process crash may still be only in the page cache.
    await this.active.file.sync();
    this.flushed = this.logEndOffset;
    this.logger('%s: opened: offsets [%d, %d), HW %d, %d segments, latest epoch %s', this.dir.path, this.logStartOffset, this.logEndOffset, this.hw, this.segments.length, String(this.latestEpoch));
  }

  /** Trusts a sealed segment's index files if they match it exactly. */
  private async loadIndexFiles(segment: Segment, nextBase: number): Promise<boolean> {
    const offsetBytes = await this.dir.readFile(segmentFileName(segment.baseOffset, INDEX_SUFFIX));
    const timeBytes = await this.dir.readFile(segmentFileName(segment.baseOffset, TIME_INDEX_SUFFIX));
    if (offsetBytes === undefined || timeBytes === undefined) return false;
    const decoded = decodeIndexFiles(offsetBytes, timeBytes);
    if (decoded === undefined) {
      this.logger('%s: index files of segment %d are invalid; rebuilding', this.dir.path, segment.baseOffset);
      return false;
    }
    const { header, index } = decoded;
    if (header.baseOffset !== segment.baseOffset || header.logBytes !== segment.file.size || header.nextOffset !== nextBase) {
      this.logger('%s: index files of segment %d do not match it; rebuilding', this.dir.path, segment.baseOffset);
      return false;
    }
    segment.index = index;
    segment.setEnd(header.logBytes, header.nextOffset);
    segment.sealed = true;
    return true;
  }

  /** Reads every batch of the segment: checks CRC and continuity, rebuilds its index in memory. */
  private async scanSegment(segment: Segment): Promise<ScanResult> {
    segment.index = new SegmentIndex(segment.baseOffset);
    segment.bytesSinceIndexEntry = 0;
    segment.setEnd(0, segment.baseOffset);
    const epochs: ScanResult['epochs'] = [];
    const window = new BatchWindow(segment.file, segment.file.size, SCAN_CHUNK_BYTES);
    let position = 0;
    for (;;) {
      const found = await window.batchAt(position);
      if (found === 'end') return { validBytes: position, problem: undefined, epochs };
      if (found === 'torn') return { validBytes: position, problem: 'a torn batch', epochs };
      if (found === 'corrupt') return { validBytes: position, problem: 'an impossible batch frame', epochs };
      const checked = validateBatch(found.bytes, found.at);
      if (!checked.ok) return { validBytes: position, problem: checked.message, epochs };
      const header = checked.header;
      // A compacted log may have offset gaps and empty batches; offsets still strictly increase.
      const inOrder = header.baseOffset === segment.nextOffset || (this.compacted && header.baseOffset > segment.nextOffset);
      if (!inOrder || (header.recordCount === 0 && !this.compacted) || header.lastOffset < header.baseOffset) {
        return { validBytes: position, problem: `batch at offset ${header.baseOffset}, expected ${segment.nextOffset}`, epochs };
      }
      if (header.lastOffset - segment.baseOffset > U32_MAX) return { validBytes: position, problem: 'relative offset overflow', epochs };
      segment.noteIssued(found.frame, position, this.indexIntervalBytes, this.compacted);
      segment.setEnd(segment.issuedSize, segment.issuedNextOffset);
      epochs.push({ epoch: header.partitionLeaderEpoch, baseOffset: header.baseOffset });
      position += header.sizeInBytes;
    }
  }

  private async loadEpochs(tailEpochs: ScanResult['epochs']): Promise<void> {
    const bytes = await this.dir.readFile(LEADER_EPOCH_CHECKPOINT);
    let changed = false;
    if (bytes !== undefined) {
      const entries = decodeLeaderEpochCheckpoint(bytes);
      if (entries === undefined) {
        // Written atomically, so this is bit rot or tampering: rebuild from the batches' epochs.
        this.logger('%s: the leader-epoch checkpoint is corrupt; rebuilding it from the log', this.dir.path);
        for (const { epoch, baseOffset } of await this.allBatchEpochs()) if (epoch >= 0) this.epochs.assign(epoch, baseOffset);
        changed = true;
      } else {
        for (const entry of entries) this.epochs.assign(entry.epoch, entry.startOffset);
      }
    }
    changed = this.epochs.truncateFromEnd(this.logEndOffset) || changed;
    changed = this.epochs.truncateFromStart(this.logStartOffset) || changed;
    // A batch of a newer epoch than the checkpoint knows (not possible with our write order, but cheap
    // to repair): the cache must know the epoch of the last batch.
    for (const { epoch, baseOffset } of tailEpochs) {
      const latest = this.epochs.latestEpoch;
      if (epoch >= 0 && (latest === undefined || epoch > latest)) changed = this.epochs.assign(epoch, baseOffset) || changed;
    }
    if (changed) await this.writeEpochCheckpoint();
  }

  /** The (epoch, base offset) of every batch, reading only frames: the epoch-cache rebuild. */
  private async allBatchEpochs(): Promise<Array<{ epoch: number; baseOffset: number }>> {
    const result: Array<{ epoch: number; baseOffset: number }> = [];
    let previous: number | undefined;
    for (const segment of this.segments) {
      const window = new BatchWindow(segment.file, segment.size, SCAN_CHUNK_BYTES);
      let position = 0;
      for (;;) {
        const found = await window.batchAt(position);
        if (typeof found === 'string') break;
        const epoch = new DataView(found.bytes.buffer, found.bytes.byteOffset + found.at + 12, 4).getInt32(0);
        if (epoch !== previous) result.push({ epoch, baseOffset: found.frame.baseOffset });
        previous = epoch;
        position += found.frame.sizeInBytes;
      }
    }
    return result;
  }

  private async loadHighWatermark(): Promise<number> {
    const bytes = await this.dir.readFile(HIGH_WATERMARK_CHECKPOINT);
    if (bytes === undefined) return this.logStartOffset;
    const match = /^0\n(\d{1,16})\n$/.exec(new TextDecoder().decode(bytes));
    if (match === null) {
      this.logger('%s: the high-watermark checkpoint is corrupt; starting from the log start', this.dir.path);
      return this.logStartOffset;
    }
    return Math.min(Math.max(Number(match[1]), this.logStartOffset), this.logEndOffset);
  }

  // ---- Helpers ------------------------------------------------------------------------------------

  private async truncateSegment(segment: Segment, position: number, nextOffset: number): Promise<void> {
    await segment.file.truncate(position);
    segment.setEnd(position, nextOffset);
    segment.index.truncateToPosition(position);
    // The largest timestamp: what the last time entry knew, plus the batches from there on.
    const from = segment.index.lastTimeEntry();
    const maxBefore = from?.maxTimestampBefore ?? -1;
    segment.index.maxTimestamp = -1;
    segment.index.offsetOfMaxTimestamp = -1;
    if (from !== undefined) segment.index.observeTimestamp(maxBefore, segment.baseOffset);
    let at = from === undefined ? 0 : segment.index.lookup(from.baseOffset).position;
    const window = new BatchWindow(segment.file, position, SCAN_CHUNK_BYTES);
    for (;;) {
      const frame = await window.frameAt(at);
      if (typeof frame === 'string') break;
      segment.index.observeTimestamp(frame.maxTimestamp, frame.baseOffset);
      at += frame.sizeInBytes;
    }
    if (position === 0) segment.rollClockMs = undefined;
  }

  private afterTruncation(): void {
    this.hw = Math.min(this.hw, this.logEndOffset);
    this.flushed = Math.min(this.flushed, this.logEndOffset);
    // What is appended again there is dirty (the checkpoint file may still say more: that only means
    // some records are left uncompacted for a while).
    this.firstDirtyOffset = Math.min(this.firstDirtyOffset, this.logEndOffset);
  }

  private async deleteSegment(segment: Segment): Promise<void> {
    await segment.file.close();
    await this.dir.remove(segment.name);
    await this.removeIndexFiles(segment);
  }

  private async removeIndexFiles(segment: Segment): Promise<void> {
    await this.dir.remove(segmentFileName(segment.baseOffset, INDEX_SUFFIX));
    await this.dir.remove(segmentFileName(segment.baseOffset, TIME_INDEX_SUFFIX));
    segment.sealed = false;
  }

  private writeEpochCheckpoint(): Promise<void> {
    return this.dir.writeFileAtomically(LEADER_EPOCH_CHECKPOINT, this.epochs.encode());
  }

  /** Runs `fn` after every earlier chained operation; a failure makes the log unusable. */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(async () => {
      if (this.failure !== undefined) throw this.failure;
      try {
        return await fn();
      } catch (error) {
        throw this.fail('write', error);
      }
    });
    this.chain = run.catch(() => {});
    return run;
  }

  /** Runs `fn` once no read is in flight, holding new reads until it is done. */
  private async holdingReads<T>(fn: () => Promise<T>): Promise<T> {
    let release!: () => void;
    const hold = new Promise<void>((resolve) => (release = resolve));
    const previous = this.exclusiveHold;
    this.exclusiveHold = hold;
    await previous;
    if (this.readsInFlight > 0) await new Promise<void>((resolve) => (this.readsDrained = resolve));
    try {
      return await fn();
    } finally {
      if (this.exclusiveHold === hold) this.exclusiveHold = undefined;
      release();
    }
  }

  private async enterRead(): Promise<void> {
    while (this.exclusiveHold !== undefined) await this.exclusiveHold;
    this.checkUsable();
    this.readsInFlight++;
  }

  private leaveRead(): void {
    this.readsInFlight--;
    if (this.readsInFlight === 0 && this.readsDrained !== undefined) {
      const drained = this.readsDrained;
      this.readsDrained = undefined;
      drained();
    }
  }

  private checkUsable(): void {
    if (this.failure !== undefined) throw this.failure;
    if (this.closed) throw new Error(`${this.dir.path}: the log is closed`);
  }

  private fail(what: string, error: unknown): Error {
    if (this.failure === undefined) {
      // An assertion is a bug, not a disk failure: keep it as it is.
      this.failure = error instanceof Error && error.name === 'AssertionError' ? error : new Error(`${this.dir.path}: ${what} failed: ${String(error)}`, { cause: error });
      this.logger('%s: the log is unusable: %s', this.dir.path, this.failure.message);
    }
    return this.failure;
  }
}

/**
 * A compacted segment being written (step 1 of segment-swap.ts): `<base>.<end>.cleaned` plus its index
 * in memory. Batches go in offset order, with gaps allowed, and must end exactly at `endOffset - 1`
 * by the time the log commits it. Made by SegmentLog.beginCleaning; committed by commitCleaning.
 */
export class CleanedSegment {
  private writing: Promise<void> = Promise.resolve();
  private state: 'writing' | 'finished' | 'aborted' = 'writing';

  /** @internal */
  constructor(
    private readonly dir: LogDirectory,
    private readonly segment: Segment,
    /** The replaced segments' base offsets and sizes when the writing started. */
    readonly sources: ReadonlyArray<{ readonly baseOffset: number; readonly size: number }>,
    readonly endOffset: number,
    private readonly indexIntervalBytes: number,
    private readonly checkUsable: () => void,
    private readonly release: () => void,
  ) {}

  get baseOffset(): number {
    return this.segment.baseOffset;
  }

  /** The offset after the last batch appended (the base offset before any). */
  get nextOffset(): number {
    return this.segment.issuedNextOffset;
  }

  get sizeInBytes(): number {
    return this.segment.issuedSize;
  }

  /**
   * Appends one valid batch (the caller's cleaner produced it: a bad one is a programmer error) that
   * starts at or after `nextOffset` and ends before `endOffset`. Resolves once it is in the OS.
   */
  append(batch: Uint8Array): Promise<void> {
    this.checkUsable(); // a closed log has given this segment up: that is not a bug of the caller
    assert(this.state === 'writing', `append to a compacted segment that is ${this.state}`);
    const checked = validateBatch(batch, 0);
    assert(checked.ok && checked.header.sizeInBytes === batch.length, 'the cleaner writes one valid batch at a time');
    const header = checked.header;
    const segment = this.segment;
    assert(header.baseOffset >= segment.issuedNextOffset && header.lastOffset >= header.baseOffset && header.lastOffset < this.endOffset, `compacted batch ${header.baseOffset}-${header.lastOffset} out of order (next ${segment.issuedNextOffset}, end ${this.endOffset})`);
    assert(header.lastOffset - segment.baseOffset <= U32_MAX && segment.issuedSize + batch.length <= U32_MAX, 'a compacted segment stays within u32 offsets and positions');
    const frame: Frame = { baseOffset: header.baseOffset, lastOffset: header.lastOffset, sizeInBytes: header.sizeInBytes, maxTimestamp: header.maxTimestamp };
    segment.noteIssued(frame, segment.issuedSize, this.indexIntervalBytes, true);
    const write = segment.file.append(batch);
    this.writing = this.writing.then(() => write);
    return write;
  }

  /** @internal Waits for the appends in flight (rejecting with a failed one). */
  async settled(): Promise<void> {
    await this.writing;
  }

  /** @internal Syncs and closes the file: its size and index for the log to swap in. */
  async finish(): Promise<{ size: number; index: SegmentIndex }> {
    assert(this.state === 'writing', `finish of a compacted segment that is ${this.state}`);
    assert(this.segment.issuedNextOffset === this.endOffset, `a compacted segment must end at ${this.endOffset}, not ${this.segment.issuedNextOffset}`);
    await this.writing;
    await this.segment.file.sync();
    await this.segment.file.close();
    this.state = 'finished';
    this.release();
    return { size: this.segment.issuedSize, index: this.segment.index };
  }

  /** Gives the compacted segment up: closes and deletes its file. Idempotent. */
  async abort(): Promise<void> {
    if (this.state !== 'writing') return;
    this.state = 'aborted';
    this.release();
    await this.writing.catch(() => {});
    await this.segment.file.close();
    await this.dir.remove(cleanedFileName(this.segment.baseOffset, this.endOffset));
  }
}

function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, p) => sum + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

function appendInfo(header: BatchHeader, frame: Frame): LogAppendInfo {
  return {
    baseOffset: frame.baseOffset,
    lastOffset: frame.lastOffset,
    producerId: header.producerId,
    producerEpoch: header.producerEpoch,
    baseSequence: header.baseSequence,
    lastSequence: header.lastSequence,
    maxTimestamp: header.maxTimestamp,
  };
}

function checkConfig(config: SegmentLogConfig): void {
  const { segmentBytes, segmentMs, retentionMs, retentionBytes, maxMessageBytes } = config;
  assert(Number.isSafeInteger(segmentBytes) && segmentBytes >= BATCH_HEADER_BYTES && segmentBytes <= 0x7fff_ffff, `segment.bytes ${segmentBytes} out of range`);
  assert(Number.isSafeInteger(segmentMs) && segmentMs > 0, `segment.ms ${segmentMs} must be > 0`);
  assert(Number.isSafeInteger(retentionMs) && retentionMs >= -1, `retention.ms ${retentionMs} must be >= -1`);
  assert(Number.isSafeInteger(retentionBytes) && retentionBytes >= -1, `retention.bytes ${retentionBytes} must be >= -1`);
  assert(Number.isSafeInteger(maxMessageBytes) && maxMessageBytes >= BATCH_HEADER_BYTES && maxMessageBytes <= BATCH_BYTES_MAX, `max.message.bytes ${maxMessageBytes} out of range`);
  assert(config.flush === 'always' || config.flush === 'os', `flush must be 'always' or 'os'`);
  const interval = config.indexIntervalBytes ?? DEFAULT_INDEX_INTERVAL_BYTES;
  assert(Number.isSafeInteger(interval) && interval >= 0, `index.interval.bytes ${interval} must be >= 0`);
}
