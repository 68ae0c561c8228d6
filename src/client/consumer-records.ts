/**
 * Turns one fetch answer's `records` (stored record batches laid end to end, exactly as the leader
 * read them from its log) into what the consumer may deliver: the messages at or after the fetch
 * offset, grouped by record batch, each batch with the leader epoch it was written in.
 *
 * Invariants of `readFetchedRecords`' answer:
 * - Offsets are strictly increasing, all >= the fetch offset and < the answer's high watermark (the
 *   broker already serves consumers only below the HW; this module checks again rather than trusting
 *   it, so a consumer can never deliver a record that is not committed).
 * - Every batch that contributes anything (messages, or just a position step past an empty or control
 *   batch) passed `validateBatch` (framing, CRC-32C, record count) first. The first batch that does
 *   not stops the walk: what precedes it is returned and `corrupt` says where and why; nothing from or
 *   after it is ever returned.
 * - A batch cut off at the end of the bytes (the fetch's maxBytes, or any short read) is not returned;
 *   `nextOffset` then stops before it so the next fetch starts there. When nothing whole could be read
 *   at all, `incompleteBytes` says how many bytes the first batch needs (for a larger retry).
 * - Batches wholly below the fetch offset (the broker serves from the start of the batch that holds
 *   the fetch offset) are skipped without decoding.
 *
 * `createBatch` wraps one answer's messages as the KafkaJS-shaped `Batch` that eachBatch gets.
 *
 * Pure: no I/O, no clock. Browser-safe (Uint8Array and DataView only). Keys, values and header values
 * are views into `records` (no copies): the caller must not mutate `records` while messages are used.
 */
import { decodeRecords, iterateBatches, validateBatch, CorruptRecordError, type DecodedRecord } from '../partitions/record-batch.js';
import type { Batch } from './consumer-types.js';

/** Record headers as KafkaJS shows them: a key that appears more than once maps to an array. */
export type MessageHeaders = Readonly<Record<string, Uint8Array | null | readonly (Uint8Array | null)[]>>;

/** One consumed record. */
export interface ConsumedMessage {
  readonly offset: number;
  /** Milliseconds since the epoch (the producer's, or the broker's for a log-append-time topic). */
  readonly timestamp: number;
  /** A view into the fetched bytes (do not mutate); null for a null key. */
  readonly key: Uint8Array | null;
  /** A view into the fetched bytes (do not mutate); null for a tombstone. */
  readonly value: Uint8Array | null;
  readonly headers: MessageHeaders;
}

/** The messages of one record batch at or after the fetch offset. */
export interface FetchedBatch {
  /** The leader epoch the batch was written in (KIP-320's lastFetchedEpoch once consumed). */
  readonly leaderEpoch: number;
  readonly baseOffset: number;
  /** The batch's last offset: once consumed, the position moves to lastOffset + 1 even if the last
   *  records were not there (an empty or control batch, or records removed by compaction). */
  readonly lastOffset: number;
  /** Possibly empty (a control batch, an empty batch). */
  readonly messages: readonly ConsumedMessage[];
}

export interface FetchedRecords {
  readonly batches: readonly FetchedBatch[];
  /** Where the next fetch starts once every batch here is consumed. */
  readonly nextOffset: number;
  /**
   * Set when no batch at or after the fetch offset was whole: the bytes the first one needs (its
   * sizeInBytes when its length field arrived, else 0 for unknown).
   */
  readonly incompleteBytes?: number;
  /** The first batch that failed validation: nothing at or after `offset` is in `batches`. */
  readonly corrupt?: { readonly offset: number; readonly message: string };
}

export interface FetchedRecordsInput {
  readonly records: Uint8Array;
  readonly fetchOffset: number;
  readonly highWatermark: number;
}

/** Offset of the size field, and the bytes before a batch that it does not count (Kafka's LOG_OVERHEAD). */
const BATCH_LENGTH_FIELD = 8;
const LOG_OVERHEAD_BYTES = 12;

const NO_HEADERS: MessageHeaders = Object.freeze({});

/** KafkaJS-shaped headers; built on a null prototype so a header named "__proto__" is just a key. */
export function headersOf(record: DecodedRecord): MessageHeaders {
  if (record.headers.length === 0) return NO_HEADERS;
  const out = Object.create(null) as Record<string, Uint8Array | null | (Uint8Array | null)[]>;
  for (const { key, value } of record.headers) {
    const existing = out[key];
    if (existing === undefined) out[key] = value;
    else if (Array.isArray(existing)) existing.push(value);
    else out[key] = [existing as Uint8Array | null, value];
  }
  return out;
}

/** See the module header. */
export function readFetchedRecords(input: FetchedRecordsInput): FetchedRecords {
  const { records, fetchOffset, highWatermark } = input;
  const batches: FetchedBatch[] = [];
  let nextOffset = fetchOffset;
  let consumedBytes = 0;
  const done = (extra: Pick<FetchedRecords, 'corrupt'> = {}): FetchedRecords => {
    if (batches.length === 0 && extra.corrupt === undefined && records.length > consumedBytes) {
      return { batches, nextOffset, incompleteBytes: incompleteSize(records, consumedBytes) };
    }
    return { batches, nextOffset, ...extra };
  };
  try {
    for (const { position, header } of iterateBatches(records)) {
      consumedBytes = position + header.sizeInBytes;
      if (header.lastOffset < nextOffset) continue; // wholly before the fetch offset
      // Never beyond the HW: stop (the broker should not have served it; the next fetch asks again).
      if (header.lastOffset >= highWatermark) return { batches, nextOffset };
      const checked = validateBatch(records, position);
      if (!checked.ok) return done({ corrupt: { offset: Math.max(header.baseOffset, nextOffset), message: checked.message } });
      const messages: ConsumedMessage[] = [];
      if (!header.isControl) {
        for (const record of decodeRecords(records, position)) {
          if (record.offset < nextOffset) continue;
          messages.push({ offset: record.offset, timestamp: record.timestamp, key: record.key, value: record.value, headers: headersOf(record) });
        }
      }
      batches.push({ leaderEpoch: header.partitionLeaderEpoch, baseOffset: header.baseOffset, lastOffset: header.lastOffset, messages });
      nextOffset = header.lastOffset + 1;
    }
  } catch (error) {
    // iterateBatches: a header that cannot be framed; decodeRecords: records malformed behind a valid
    // CRC (a writer bug, not bit rot). Either way nothing from this batch on can be trusted.
    if (error instanceof CorruptRecordError) return done({ corrupt: { offset: nextOffset, message: error.message } });
    throw error;
  }
  return done();
}

/** The size of the batch starting at `position` when its length field is present, else 0. */
function incompleteSize(records: Uint8Array, position: number): number {
  if (records.length - position < LOG_OVERHEAD_BYTES) return 0;
  const view = new DataView(records.buffer, records.byteOffset + position, LOG_OVERHEAD_BYTES);
  const batchLength = view.getInt32(BATCH_LENGTH_FIELD);
  return batchLength > 0 ? batchLength + LOG_OVERHEAD_BYTES : 0;
}

/** The Batch object for `messages` (offsets increasing). */
export function createBatch(topic: string, partition: number, highWatermark: number, messages: readonly ConsumedMessage[]): Batch {
  const first = messages[0];
  const last = messages[messages.length - 1];
  const lastOffset = last === undefined ? highWatermark - 1 : last.offset;
  return {
    topic,
    partition,
    highWatermark,
    messages,
    isEmpty: () => messages.length === 0,
    firstOffset: () => (first === undefined ? null : first.offset),
    lastOffset: () => lastOffset,
    offsetLag: () => Math.max(0, highWatermark - 1 - lastOffset),
    offsetLagLow: () => (first === undefined ? 0 : Math.max(0, highWatermark - 1 - first.offset)),
  };
}
