/**
 * The producer's bookkeeping (Kafka's RecordAccumulator pieces): a `SendCall` per `send`/`sendBatch`
 * (one promise per call, never one per record), a `ProducerBatch` per record batch being built or
 * sent, and a `PartitionQueue` per topic-partition holding its batches in order.
 *
 * Invariants:
 * - A batch's records come from one or more send calls; each call's records in one batch are
 *   contiguous (a call appends all its records synchronously), so `firstIndex` gives each call's
 *   first offset in the batch once the broker assigned the base offset.
 * - A call settles exactly once: resolved when every batch holding its records succeeded, rejected
 *   with the first failure of any of them.
 * - A batch is encoded once, when it is sealed (first sent): its producer id, epoch and sequence are
 *   fixed then, and retries resend the very same bytes. Only a partition whose sequence space is
 *   reset (after a batch failed for good) re-seals the batches waiting to be retried.
 * - Per partition, `inflight` and `retry` are ordered by sequence (creation order without
 *   idempotence); `queue` is in creation order, only its last batch may still take records.
 */
import { BATCH_HEADER_BYTES, encodeRecordBatch, type RecordInput } from '../partitions/record-batch.js';
import type { SkeinError } from './errors.js';
import type { RecordMetadata } from './producer-messages.js';
import type { Acks } from './producer-options.js';

/** An idempotent producer's identity (from init-producer-id). */
export interface ProducerIdentity {
  readonly producerId: number;
  readonly producerEpoch: number;
}

const SEQUENCE_MAX = 0x7fff_ffff;

/** Kafka's DefaultRecordBatch.incrementSequence: int32 sequences wrap to 0. */
export function addSequence(sequence: number, increment: number): number {
  if (sequence > SEQUENCE_MAX - increment) return increment - (SEQUENCE_MAX - sequence) - 1;
  return sequence + increment;
}

/** One send/sendBatch call: counts its batches and settles once. */
export class SendCall {
  private pending = 0;
  /** All records appended: the call may resolve once `pending` reaches 0. */
  private complete = false;
  private settled = false;
  private readonly results = new Map<string, RecordMetadata>();

  constructor(
    private readonly resolveFn: (results: RecordMetadata[]) => void,
    private readonly rejectFn: (error: SkeinError) => void,
  ) {}

  get isSettled(): boolean {
    return this.settled;
  }

  /** A batch took records of this call. */
  addBatch(): void {
    this.pending++;
  }

  /** Every record of the call is in some batch. */
  sealed(): void {
    this.complete = true;
    this.maybeResolve();
  }

  /** A batch with records of this call succeeded; `baseOffset` is the call's first record in it (-1 unknown). */
  batchDone(topic: string, partition: number, baseOffset: number): void {
    this.pending--;
    const key = `${topic}\u0000${partition}`;
    const known = this.results.get(key);
    if (known === undefined || (baseOffset >= 0 && (known.baseOffset < 0 || baseOffset < known.baseOffset))) this.results.set(key, { topic, partition, baseOffset });
    this.maybeResolve();
  }

  /** A batch with records of this call failed for good. */
  fail(error: SkeinError): void {
    this.pending--;
    if (this.settled) return;
    this.settled = true;
    this.rejectFn(error);
  }

  private maybeResolve(): void {
    if (this.settled || !this.complete || this.pending > 0) return;
    this.settled = true;
    this.resolveFn([...this.results.values()].sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition)));
  }
}

let nextBatchId = 0;

/** One record batch of one partition: open (taking records), then sealed (encoded) and sent. */
export class ProducerBatch {
  /** Creation order across the producer (orders retries without idempotence). */
  readonly id = nextBatchId++;
  readonly records: RecordInput[] = [];
  readonly calls: Array<{ readonly call: SendCall; readonly firstIndex: number }> = [];
  /** Upper bound of the encoded size. */
  sizeBytes = BATCH_HEADER_BYTES;
  /** The records' share of `sizeBytes`: what they hold of the producer's buffer memory. */
  bufferedBytes = 0;
  /** No more records: full, sealed, or closed for a different acks value. */
  closed = false;
  encoded: Uint8Array | undefined;
  identity: ProducerIdentity | undefined;
  /** -1 without idempotence. */
  baseSequence = -1;
  /** Sends so far. */
  attempts = 0;
  /** Clock ms before which a retry must not go out. */
  retryAtMs = 0;
  /** The last attempt's error, for the delivery-timeout error's cause. */
  lastError: SkeinError | undefined;
  /** An attempt ended without proof that the broker did not write it (a timeout, a lost connection, ...). */
  maybeWritten = false;
  private lastCall: SendCall | undefined;

  /** The id of the newest batch created so far (-1 before the first). */
  static lastId(): number {
    return nextBatchId - 1;
  }

  constructor(
    readonly topic: string,
    readonly partition: number,
    readonly acks: Acks,
    /** The broker-side wait for acks=all. */
    readonly timeoutMs: number,
    readonly createdAtMs: number,
  ) {}

  get recordCount(): number {
    return this.records.length;
  }

  get isSealed(): boolean {
    return this.encoded !== undefined;
  }

  /** Whether a record of `sizeBytes` fits under `batchSize` (an empty batch takes any one record). */
  fits(sizeBytes: number, batchSize: number): boolean {
    return !this.closed && (this.records.length === 0 || this.sizeBytes + sizeBytes <= batchSize);
  }

  append(record: RecordInput, sizeBytes: number, call: SendCall): void {
    if (this.lastCall !== call) {
      this.lastCall = call;
      this.calls.push({ call, firstIndex: this.records.length });
      call.addBatch();
    }
    this.records.push(record);
    this.sizeBytes += sizeBytes;
    this.bufferedBytes += sizeBytes;
  }

  /** Encodes the batch with its idempotence fields (none when `identity` is undefined). */
  seal(identity: ProducerIdentity | undefined, baseSequence: number, nowMs: number): Uint8Array {
    this.closed = true;
    this.identity = identity;
    this.baseSequence = identity === undefined ? -1 : baseSequence;
    this.encoded = encodeRecordBatch(
      this.records,
      identity === undefined ? { timestampMs: nowMs } : { producerId: identity.producerId, producerEpoch: identity.producerEpoch, baseSequence, timestampMs: nowMs },
    );
    return this.encoded;
  }

  /** Sequence of the record after this batch's last. */
  get nextSequence(): number {
    return addSequence(this.baseSequence, this.records.length);
  }

  succeeded(baseOffset: number): void {
    for (const { call, firstIndex } of this.calls) call.batchDone(this.topic, this.partition, baseOffset < 0 ? -1 : baseOffset + firstIndex);
  }

  failed(error: SkeinError): void {
    for (const { call } of this.calls) call.fail(error);
  }
}

/** The batches of one topic-partition. */
export class PartitionQueue {
  /** Unsent batches, oldest first; only the last may be open. */
  readonly queue: ProducerBatch[] = [];
  /** Sent, awaiting an answer; in creation (= sequence) order. */
  readonly inflight: ProducerBatch[] = [];
  /** Failed retriably, to be resent in order (one at a time) before anything new. */
  readonly retry: ProducerBatch[] = [];
  /** Idempotence: the identity new batches are sealed with, and the next sequence to hand out. */
  identity: ProducerIdentity | undefined;
  nextSequence = 0;
  /** Idempotence: the sequence the broker expects next, from acknowledged batches. */
  ackedSequence = 0;
  /** The newest batch (by id) acknowledged under `identity`: `ackedSequence` follows it. */
  ackedBatchId = -1;
  /**
   * The sequence space must restart under a new identity once nothing is in flight: 'gap' after a
   * batch failed without being written (later batches are re-sealed and retried), 'unknown' after a
   * batch with an unknown outcome expired (later unacknowledged batches fail too: resending them
   * under a new identity could write them twice).
   */
  reset: 'gap' | 'unknown' | undefined;
  resetting = false;

  constructor(
    readonly topic: string,
    readonly partition: number,
  ) {}

  get isEmpty(): boolean {
    return this.queue.length === 0 && this.inflight.length === 0 && this.retry.length === 0;
  }

  /** The open batch, if the last queued one still takes records. */
  openBatch(): ProducerBatch | undefined {
    const last = this.queue[this.queue.length - 1];
    return last !== undefined && !last.closed ? last : undefined;
  }

  /**
   * Inserts into `retry`, keeping it in creation order — which is also sequence order: batches of a
   * partition are sealed in creation order (and re-sealed in retry order after a reset).
   */
  addRetry(batch: ProducerBatch): void {
    let i = this.retry.length;
    while (i > 0 && this.retry[i - 1]!.id > batch.id) i--;
    this.retry.splice(i, 0, batch);
  }

  removeInflight(batch: ProducerBatch): void {
    const i = this.inflight.indexOf(batch);
    if (i >= 0) this.inflight.splice(i, 1);
  }

  /** Whether `batch` is the first unacknowledged one (nothing before it in flight or waiting). */
  isHead(batch: ProducerBatch): boolean {
    if (batch.baseSequence !== this.ackedSequence || batch.identity !== this.identity) return false;
    return this.inflight.every((b) => b.id > batch.id) && this.retry.every((b) => b.id > batch.id);
  }
}
