/**
 * Rewriting stored record batches for log compaction (log-cleaner.ts) and for a follower that copies
 * compacted data (segment-log.ts): the batches that keep only some records of an original batch,
 * at their original offsets.
 *
 * Why batches are split: a valid non-empty batch has recordCount = lastOffsetDelta + 1 (record-batch.ts,
 * validateBatch), so a batch cannot hold records at offsets 5 and 9 and nothing between, as Kafka's
 * cleaner writes them. Instead each maximal run of consecutive kept records becomes its own batch: base
 * offset the run's first offset, offset deltas 0.., the original's leader epoch, producer id and epoch,
 * and a base sequence advanced by the run's distance from the original base (so every record keeps the
 * sequence it had). An empty batch (recordCount 0, which validateBatch allows with any lastOffsetDelta
 * >= -1) can stand for a range of offsets whose records are all gone: that is how a compacted segment
 * keeps covering its offsets up to the next segment (see `emptyBatch`), as Kafka keeps an empty batch
 * to retain a producer's last sequence.
 *
 * Invariants of every batch returned: valid (validateBatch), offsets within the original's
 * [baseOffset, lastOffset], each record at its original offset with its original key, value, headers and
 * timestamp, batches in offset order. Transactional and control batches are never rewritten here (the
 * callers keep them whole). Pure: no I/O, no clock.
 */
import { assert } from '../util/assert.js';
import { crc32c } from '../util/crc32c.js';
import { BATCH_HEADER_BYTES, encodeRecordBatch, type BatchHeader, type DecodedRecord } from './record-batch.js';

const INT32_MAX = 0x7fff_ffff;
const TWO_POW_32 = 0x1_0000_0000;
const TIMESTAMP_TYPE_LOG_APPEND = 0x08;
// record-batch.ts's layout (fixed by Kafka's format).
const CRC_AT = 17;
const ATTRIBUTES_AT = 21;

/** Kafka's DefaultRecordBatch.incrementSequence: sequences wrap from 2^31 - 1 to 0; -1 stays -1. */
export function advanceSequence(sequence: number, by: number): number {
  if (sequence < 0) return sequence;
  if (sequence > INT32_MAX - by) return by - (INT32_MAX - sequence) - 1;
  return sequence + by;
}

function setInt64(view: DataView, at: number, value: number): void {
  const high = Math.floor(value / TWO_POW_32);
  view.setInt32(at, high);
  view.setUint32(at + 4, value - high * TWO_POW_32);
}

/**
 * A batch with no records that covers offsets [fromOffset, lastOffset] of `original` (a sub-range of
 * it): the original's leader epoch, producer id and epoch, the sequence of `fromOffset`, and the
 * original's largest timestamp as both timestamps (so segment time bounds do not move).
 */
export function emptyBatch(original: BatchHeader, fromOffset: number, lastOffset: number): Uint8Array {
  assert(original.baseOffset <= fromOffset && fromOffset <= lastOffset && lastOffset <= original.lastOffset, `empty batch ${fromOffset}-${lastOffset} outside ${original.baseOffset}-${original.lastOffset}`);
  const bytes = new Uint8Array(BATCH_HEADER_BYTES);
  const view = new DataView(bytes.buffer);
  setInt64(view, 0, fromOffset);
  view.setInt32(8, BATCH_HEADER_BYTES - 12);
  view.setInt32(12, original.partitionLeaderEpoch);
  view.setInt8(16, 2);
  view.setInt16(ATTRIBUTES_AT, original.attributes & TIMESTAMP_TYPE_LOG_APPEND);
  view.setInt32(23, lastOffset - fromOffset);
  setInt64(view, 27, original.maxTimestamp);
  setInt64(view, 35, original.maxTimestamp);
  setInt64(view, 43, original.producerId);
  view.setInt16(51, original.producerEpoch);
  view.setInt32(53, advanceSequence(original.baseSequence, fromOffset - original.baseOffset));
  view.setInt32(57, 0);
  view.setUint32(CRC_AT, crc32c(bytes.subarray(ATTRIBUTES_AT)));
  return bytes;
}

/** One batch holding `run` (records of `original` at consecutive offsets), at their offsets. */
function runBatch(original: BatchHeader, run: readonly DecodedRecord[]): Uint8Array {
  const first = run[0]!;
  return encodeRecordBatch(
    run.map((r) => ({ key: r.key, value: r.value, headers: r.headers, timestamp: r.timestamp })),
    {
      baseOffset: first.offset,
      partitionLeaderEpoch: original.partitionLeaderEpoch,
      producerId: original.producerId,
      producerEpoch: original.producerEpoch,
      baseSequence: advanceSequence(original.baseSequence, first.offset - original.baseOffset),
      timestampType: original.timestampType,
    },
  );
}

/**
 * The batches that hold exactly the `kept` records of `original` (a subsequence of its records, in
 * order), one per run of consecutive offsets; if `coverTo` is given (at most original.lastOffset), an
 * empty batch also covers the offsets after the last kept record up to `coverTo`, so that the result
 * ends exactly there. Returns [] when nothing is kept and nothing must be covered.
 */
export function keptBatches(original: BatchHeader, kept: readonly DecodedRecord[], coverTo?: number): Uint8Array[] {
  assert(!original.isTransactional && !original.isControl, 'transactional and control batches are kept whole');
  const out: Uint8Array[] = [];
  let run: DecodedRecord[] = [];
  for (const record of kept) {
    const last = run[run.length - 1];
    if (last !== undefined && record.offset !== last.offset + 1) {
      out.push(runBatch(original, run));
      run = [];
    }
    run.push(record);
  }
  if (run.length > 0) out.push(runBatch(original, run));
  if (coverTo !== undefined) {
    const covered = kept.length === 0 ? original.baseOffset - 1 : kept[kept.length - 1]!.offset;
    assert(coverTo <= original.lastOffset && coverTo >= covered, `cannot cover ${original.baseOffset}-${original.lastOffset} to ${coverTo}`);
    if (coverTo > covered) out.push(emptyBatch(original, covered + 1, coverTo));
  }
  return out;
}

/**
 * The part of `original` from `fromOffset` on (original.baseOffset < fromOffset <= original.lastOffset),
 * as batches: a follower whose log already ends at `fromOffset` (in the middle of how this leader laid
 * out that range, which compaction may have split differently on another replica) appends only what it
 * lacks. `records` are the original's decoded records.
 */
export function batchesFrom(original: BatchHeader, records: readonly DecodedRecord[], fromOffset: number): Uint8Array[] {
  assert(original.baseOffset < fromOffset && fromOffset <= original.lastOffset, `offset ${fromOffset} is not inside ${original.baseOffset}-${original.lastOffset}`);
  const kept = records.filter((r) => r.offset >= fromOffset);
  const out = keptBatches(original, kept);
  // A leading empty range (no record at fromOffset): cover it so the result starts at fromOffset.
  const firstKept = kept[0]?.offset ?? original.lastOffset + 1;
  if (firstKept > fromOffset) out.unshift(emptyBatch(original, fromOffset, firstKept - 1));
  return out;
}
