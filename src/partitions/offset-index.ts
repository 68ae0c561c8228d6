/**
 * The sparse indexes of one log segment, in memory, and their file format (DESIGN.md §3):
 *
 * - Offset index (`.index`): (relative base offset of a batch, byte position of that batch in the
 *   segment), one entry every `index.interval.bytes` of appended data. `lookup(offset)` gives the
 *   position of the last indexed batch starting at or before `offset`: a reader scans forward from
 *   there, at most about one interval plus one batch.
 * - Time index (`.timeindex`): (T, relative offset O) where O is an indexed batch and T the largest
 *   timestamp of every batch BEFORE it; an entry is added only when T grew. So every record before O
 *   has a timestamp <= T: the first record with timestamp >= ts lies at or after the O of the last
 *   entry with T < ts. (Kafka's time index is similar; ours indexes only batches that are also in the
 *   offset index, so a time-index hit needs no second scan.) The segment's largest timestamp and its
 *   offset are kept beside the entries.
 *
 * Both are written (by the segment log) only when a segment is sealed at a roll, as whole files with
 * `writeFileAtomically`; the active segment's indexes live in memory and are rebuilt by scanning it at
 * recovery. A file is trusted only if its magic, CRC-32C, base offset, covered log size and next offset
 * all match the segment (`decodeIndexFile` checks the shape; the caller checks the match), else the
 * segment is scanned again.
 *
 * File layout (big-endian):
 *   0  magic u32 ('SKOI' offset index, 'SKTI' time index)
 *   4  baseOffset (2 x u32)        12  nextOffset (2 x u32)      20  logBytes u32
 *  24  maxTimestamp (i64 as i32 + u32; -1 when none)           32  offsetOfMaxTimestamp (2 x u32)
 *  40  entryCount u32
 *  44  entries: offset index (relOffset u32, position u32); time index (timestamp i64, relOffset u32)
 *  end crc32c u32 of every byte before it
 *
 * Limits: relative offsets and positions are u32 (the segment log rolls before either overflows);
 * entries live in typed arrays that double when full, so memory is 8 bytes (offset) and 12 bytes
 * (time) per entry, about 2 MiB per GiB of segment at the default interval.
 */
import { assert } from '../util/assert.js';
import { crc32c } from '../util/crc32c.js';

export const OFFSET_INDEX_MAGIC = 0x534b_4f49; // 'SKOI'
export const TIME_INDEX_MAGIC = 0x534b_5449; // 'SKTI'
const HEADER_BYTES = 44;
const CRC_BYTES = 4;
const OFFSET_ENTRY_BYTES = 8;
const TIME_ENTRY_BYTES = 12;
const TWO_POW_32 = 0x1_0000_0000;
export const U32_MAX = 0xffff_ffff;
const NO_TIMESTAMP = -1;

function setInt64(view: DataView, at: number, value: number): void {
  const high = Math.floor(value / TWO_POW_32);
  view.setInt32(at, high);
  view.setUint32(at + 4, value - high * TWO_POW_32);
}

function getInt64(view: DataView, at: number): number {
  return view.getInt32(at) * TWO_POW_32 + view.getUint32(at + 4);
}

/** The in-memory indexes of one segment. */
export class SegmentIndex {
  private offsets: Uint32Array<ArrayBuffer> = new Uint32Array(16);
  private positions: Uint32Array<ArrayBuffer> = new Uint32Array(16);
  private count = 0;
  private timeValues = new Float64Array(4);
  private timeOffsets = new Uint32Array(4);
  private timeCount = 0;
  /** Largest timestamp of any batch in the segment (ms), or -1. */
  maxTimestamp = NO_TIMESTAMP;
  /** Base offset of the batch holding `maxTimestamp`, or -1. */
  offsetOfMaxTimestamp = -1;

  constructor(readonly baseOffset: number) {}

  get entryCount(): number {
    return this.count;
  }

  get timeEntryCount(): number {
    return this.timeCount;
  }

  /** Position of the last indexed entry (0 when there is none). */
  get lastPosition(): number {
    return this.count === 0 ? 0 : this.positions[this.count - 1]!;
  }

  /**
   * Indexes the batch at `position` starting at `baseOffset`; `maxTimestampBefore` is the largest
   * timestamp of the batches before it in the segment. Entries must come in increasing order.
   */
  addEntry(baseOffset: number, position: number, maxTimestampBefore: number): void {
    const relative = baseOffset - this.baseOffset;
    assert(relative >= 0 && relative <= U32_MAX && position >= 0 && position <= U32_MAX, `index entry ${baseOffset}@${position} out of range`);
    assert(this.count === 0 || (relative > this.offsets[this.count - 1]! && position > this.positions[this.count - 1]!), 'index entries increase');
    if (this.count === this.offsets.length) {
      this.offsets = grow(this.offsets);
      this.positions = grow(this.positions);
    }
    this.offsets[this.count] = relative;
    this.positions[this.count] = position;
    this.count++;
    const lastTime = this.timeCount === 0 ? NO_TIMESTAMP : this.timeValues[this.timeCount - 1]!;
    if (maxTimestampBefore > lastTime) {
      if (this.timeCount === this.timeValues.length) {
        const values = new Float64Array(this.timeValues.length * 2);
        values.set(this.timeValues);
        this.timeValues = values;
        this.timeOffsets = grow(this.timeOffsets);
      }
      this.timeValues[this.timeCount] = maxTimestampBefore;
      this.timeOffsets[this.timeCount] = relative;
      this.timeCount++;
    }
  }

  /** Notes a batch's timestamp for `maxTimestamp`. */
  observeTimestamp(maxTimestamp: number, baseOffset: number): void {
    if (maxTimestamp > this.maxTimestamp) {
      this.maxTimestamp = maxTimestamp;
      this.offsetOfMaxTimestamp = baseOffset;
    }
  }

  /** The position of the last indexed batch starting at or before `offset`, and its base offset. */
  lookup(offset: number): { position: number; baseOffset: number } {
    const relative = offset - this.baseOffset;
    let lo = 0;
    let hi = this.count - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.offsets[mid]! <= relative) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    if (found === -1) return { position: 0, baseOffset: this.baseOffset };
    return { position: this.positions[found]!, baseOffset: this.baseOffset + this.offsets[found]! };
  }

  /** The base offset of the indexed batch from which to scan for the first record with timestamp >= `timestamp`. */
  lookupTimestamp(timestamp: number): number {
    let lo = 0;
    let hi = this.timeCount - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.timeValues[mid]! < timestamp) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found === -1 ? this.baseOffset : this.baseOffset + this.timeOffsets[found]!;
  }

  /** Drops the entries of batches at or after `position` (the segment was truncated there). */
  truncateToPosition(position: number): void {
    while (this.count > 0 && this.positions[this.count - 1]! >= position) this.count--;
    const lastRelative = this.count === 0 ? -1 : this.offsets[this.count - 1]!;
    while (this.timeCount > 0 && this.timeOffsets[this.timeCount - 1]! > lastRelative) this.timeCount--;
  }

  /** The largest timestamp recorded before the last time entry's batch, and that batch's base offset (to rescan from). */
  lastTimeEntry(): { maxTimestampBefore: number; baseOffset: number } | undefined {
    if (this.timeCount === 0) return undefined;
    return { maxTimestampBefore: this.timeValues[this.timeCount - 1]!, baseOffset: this.baseOffset + this.timeOffsets[this.timeCount - 1]! };
  }

  /** The `.index` file of this segment, which covers `logBytes` bytes and ends before `nextOffset`. */
  encodeOffsetIndex(nextOffset: number, logBytes: number): Uint8Array {
    const bytes = new Uint8Array(HEADER_BYTES + this.count * OFFSET_ENTRY_BYTES + CRC_BYTES);
    const view = this.writeHeader(bytes, OFFSET_INDEX_MAGIC, nextOffset, logBytes, this.count);
    for (let i = 0; i < this.count; i++) {
      view.setUint32(HEADER_BYTES + i * OFFSET_ENTRY_BYTES, this.offsets[i]!);
      view.setUint32(HEADER_BYTES + i * OFFSET_ENTRY_BYTES + 4, this.positions[i]!);
    }
    writeCrc(bytes, view);
    return bytes;
  }

  /** The `.timeindex` file of this segment. */
  encodeTimeIndex(nextOffset: number, logBytes: number): Uint8Array {
    const bytes = new Uint8Array(HEADER_BYTES + this.timeCount * TIME_ENTRY_BYTES + CRC_BYTES);
    const view = this.writeHeader(bytes, TIME_INDEX_MAGIC, nextOffset, logBytes, this.timeCount);
    for (let i = 0; i < this.timeCount; i++) {
      setInt64(view, HEADER_BYTES + i * TIME_ENTRY_BYTES, this.timeValues[i]!);
      view.setUint32(HEADER_BYTES + i * TIME_ENTRY_BYTES + 8, this.timeOffsets[i]!);
    }
    writeCrc(bytes, view);
    return bytes;
  }

  private writeHeader(bytes: Uint8Array, magic: number, nextOffset: number, logBytes: number, count: number): DataView {
    assert(logBytes <= U32_MAX, `segment of ${logBytes} bytes is too large to index`);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    view.setUint32(0, magic);
    setInt64(view, 4, this.baseOffset);
    setInt64(view, 12, nextOffset);
    view.setUint32(20, logBytes);
    setInt64(view, 24, this.maxTimestamp);
    setInt64(view, 32, this.offsetOfMaxTimestamp);
    view.setUint32(40, count);
    return view;
  }
}

function grow(array: Uint32Array): Uint32Array<ArrayBuffer> {
  const grown = new Uint32Array(array.length * 2);
  grown.set(array);
  return grown;
}

function writeCrc(bytes: Uint8Array, view: DataView): void {
  const end = bytes.length - CRC_BYTES;
  view.setUint32(end, crc32c(bytes.subarray(0, end)));
}

/** What an index file says about its segment. */
export interface IndexFileHeader {
  readonly baseOffset: number;
  readonly nextOffset: number;
  readonly logBytes: number;
  readonly maxTimestamp: number;
  readonly offsetOfMaxTimestamp: number;
}

/**
 * Loads the `.index` and `.timeindex` files of a segment into a `SegmentIndex`, or returns `undefined`
 * when either is malformed (bad magic, CRC, size, non-increasing entries, entries beyond the covered
 * bytes) or the two disagree. The caller must still check the header against the segment.
 */
export function decodeIndexFiles(offsetIndex: Uint8Array, timeIndex: Uint8Array): { index: SegmentIndex; header: IndexFileHeader } | undefined {
  const offsets = parseFile(offsetIndex, OFFSET_INDEX_MAGIC, OFFSET_ENTRY_BYTES);
  const times = parseFile(timeIndex, TIME_INDEX_MAGIC, TIME_ENTRY_BYTES);
  if (offsets === undefined || times === undefined) return undefined;
  const a = offsets.header;
  const b = times.header;
  if (
    a.baseOffset !== b.baseOffset ||
    a.nextOffset !== b.nextOffset ||
    a.logBytes !== b.logBytes ||
    a.maxTimestamp !== b.maxTimestamp ||
    a.offsetOfMaxTimestamp !== b.offsetOfMaxTimestamp ||
    !Number.isSafeInteger(a.baseOffset) ||
    !Number.isSafeInteger(a.nextOffset) ||
    a.baseOffset < 0 ||
    a.nextOffset < a.baseOffset
  ) {
    return undefined;
  }
  const index = new SegmentIndex(a.baseOffset);
  index.maxTimestamp = a.maxTimestamp;
  index.offsetOfMaxTimestamp = a.offsetOfMaxTimestamp;
  const span = a.nextOffset - a.baseOffset;
  // Time entries are (relOffset, T) with relOffset among the offset entries; replay them together.
  const timeAt = new Map<number, number>();
  let previousTime = NO_TIMESTAMP;
  for (let i = 0; i < times.count; i++) {
    const timestamp = getInt64(times.view, HEADER_BYTES + i * TIME_ENTRY_BYTES);
    const relative = times.view.getUint32(HEADER_BYTES + i * TIME_ENTRY_BYTES + 8);
    if (!Number.isSafeInteger(timestamp) || timestamp <= previousTime) return undefined;
    previousTime = timestamp;
    timeAt.set(relative, timestamp);
  }
  let previousRelative = -1;
  let previousPosition = -1;
  let timeBefore = NO_TIMESTAMP;
  for (let i = 0; i < offsets.count; i++) {
    const relative = offsets.view.getUint32(HEADER_BYTES + i * OFFSET_ENTRY_BYTES);
    const position = offsets.view.getUint32(HEADER_BYTES + i * OFFSET_ENTRY_BYTES + 4);
    if (relative <= previousRelative || position <= previousPosition || relative >= span || position >= a.logBytes) return undefined;
    previousRelative = relative;
    previousPosition = position;
    const t = timeAt.get(relative);
    if (t !== undefined) {
      timeBefore = t;
      timeAt.delete(relative);
    }
    index.addEntry(a.baseOffset + relative, position, timeBefore);
  }
  if (timeAt.size > 0 || index.timeEntryCount !== times.count) return undefined;
  return { index, header: a };
}

function parseFile(bytes: Uint8Array, magic: number, entryBytes: number): { header: IndexFileHeader; count: number; view: DataView } | undefined {
  if (bytes.length < HEADER_BYTES + CRC_BYTES) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(0) !== magic) return undefined;
  const count = view.getUint32(40);
  if (bytes.length !== HEADER_BYTES + count * entryBytes + CRC_BYTES) return undefined;
  const end = bytes.length - CRC_BYTES;
  if (view.getUint32(end) !== crc32c(bytes.subarray(0, end))) return undefined;
  return {
    header: {
      baseOffset: getInt64(view, 4),
      nextOffset: getInt64(view, 12),
      logBytes: view.getUint32(20),
      maxTimestamp: getInt64(view, 24),
      offsetOfMaxTimestamp: getInt64(view, 32),
    },
    count,
    view,
  };
}
