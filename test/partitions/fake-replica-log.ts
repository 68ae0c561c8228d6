/**
 * An in-memory `ReplicaLog` (src/partitions/replica.ts) for unit tests of the replica core: whole
 * record batches (bytes, as stamped) in offset order, a leader-epoch cache with Kafka's
 * OffsetsForLeaderEpoch semantics, and a flush that a test can hold to observe what waits for fsync.
 *
 * Invariants (asserted, so a replica that misuses its log fails loudly):
 * - batches are contiguous: each starts at the previous one's lastOffset + 1, the first at 0;
 * - truncation lands on a batch boundary (epoch ends and HWs are batch boundaries in Skein);
 * - epoch cache entries have strictly increasing epochs and non-decreasing start offsets.
 * Buffers: the log copies what it is given and returns fresh copies from `read`.
 */
import { assert } from '../../src/util/assert.js';
import { partitionError, type PartitionErrorResult } from '../../src/partitions/errors.js';
import { iterateBatches, stampBatch, validateBatch } from '../../src/partitions/record-batch.js';
import type { AppendInfo, ReplicaLog } from '../../src/partitions/replica.js';

interface StoredBatch {
  readonly baseOffset: number;
  readonly lastOffset: number;
  readonly epoch: number;
  readonly bytes: Uint8Array;
}

interface EpochEntry {
  readonly epoch: number;
  readonly startOffset: number;
}

export interface FakeReplicaLogOptions {
  /**
   * What `endOffsetForEpoch` answers for an epoch below every cached epoch. 'undefined' (default, as
   * the brief specifies): {epoch: -1, endOffset: -1}. 'kafka': what Kafka's LeaderEpochFileCache.endOffsetFor
   * actually returns since KIP-279: {requestedEpoch, start offset of the first cached epoch}.
   */
  readonly belowAllEpochs?: 'undefined' | 'kafka';
}

export class FakeReplicaLog implements ReplicaLog {
  readonly logStartOffset = 0;
  highWatermark = 0;
  /** When true, `flush()` waits until `releaseFlush()`. */
  holdFlush = false;
  /** Calls of each kind, for assertions. */
  flushCalls = 0;
  truncations: number[] = [];

  private batches: StoredBatch[] = [];
  private epochs: EpochEntry[] = [];
  private flushed = 0;
  private heldFlushes: Array<{ target: number; resolve: (offset: number) => void }> = [];
  private readonly belowAllEpochs: 'undefined' | 'kafka';

  constructor(options: FakeReplicaLogOptions = {}) {
    this.belowAllEpochs = options.belowAllEpochs ?? 'undefined';
  }

  get logEndOffset(): number {
    const last = this.batches[this.batches.length - 1];
    return last === undefined ? 0 : last.lastOffset + 1;
  }

  get flushedOffset(): number {
    return Math.min(this.flushed, this.logEndOffset);
  }

  get latestEpoch(): number | undefined {
    return this.epochs[this.epochs.length - 1]?.epoch;
  }

  /** The epoch cache, oldest first (a copy). */
  epochEntries(): EpochEntry[] {
    return this.epochs.map((e) => ({ ...e }));
  }

  /** Every stored batch's bytes, concatenated (a copy): compare two logs byte for byte. */
  bytes(): Uint8Array {
    return concat(this.batches.map((b) => b.bytes));
  }

  /** (baseOffset, lastOffset, epoch) of each batch. */
  layout(): Array<[number, number, number]> {
    return this.batches.map((b) => [b.baseOffset, b.lastOffset, b.epoch]);
  }

  get pendingFlushes(): number {
    return this.heldFlushes.length;
  }

  async appendAsLeader(batch: Uint8Array, leaderEpoch: number, _nowMs: number): Promise<AppendInfo | PartitionErrorResult> {
    const checked = validateBatch(batch);
    if (!checked.ok) return partitionError('CORRUPT_RECORD', checked.message);
    if (checked.header.sizeInBytes !== batch.length) return partitionError('CORRUPT_RECORD', `${batch.length - checked.header.sizeInBytes} bytes after the batch`);
    const copy = batch.slice();
    const baseOffset = this.logEndOffset;
    stampBatch(copy, 0, { baseOffset, partitionLeaderEpoch: leaderEpoch });
    const h = checked.header;
    const lastOffset = baseOffset + h.lastOffsetDelta;
    this.maybeAssignEpoch(leaderEpoch, baseOffset);
    this.batches.push({ baseOffset, lastOffset, epoch: leaderEpoch, bytes: copy });
    return {
      baseOffset,
      lastOffset,
      producerId: h.producerId,
      producerEpoch: h.producerEpoch,
      baseSequence: h.baseSequence,
      // baseSequence + recordCount - 1, wrapped past 2^31 - 1 (the header computes it).
      lastSequence: h.lastSequence,
    };
  }

  async appendAsFollower(batches: Uint8Array, _nowMs: number): Promise<readonly AppendInfo[] | PartitionErrorResult> {
    const infos: AppendInfo[] = [];
    const staged: StoredBatch[] = [];
    let next = this.logEndOffset;
    let consumed = 0;
    for (const { position, header } of iterateBatches(batches)) {
      const checked = validateBatch(batches, position);
      if (!checked.ok) return partitionError('CORRUPT_RECORD', checked.message);
      if (header.baseOffset !== next) return partitionError('OFFSET_OUT_OF_RANGE', `batch at ${header.baseOffset} does not continue the log at ${next}`);
      staged.push({ baseOffset: header.baseOffset, lastOffset: header.lastOffset, epoch: header.partitionLeaderEpoch, bytes: batches.slice(position, position + header.sizeInBytes) });
      infos.push({
        baseOffset: header.baseOffset,
        lastOffset: header.lastOffset,
        producerId: header.producerId,
        producerEpoch: header.producerEpoch,
        baseSequence: header.baseSequence,
        lastSequence: header.lastSequence,
      });
      next = header.lastOffset + 1;
      consumed = position + header.sizeInBytes;
    }
    assert(consumed === batches.length, `appendAsFollower: ${batches.length - consumed} trailing bytes (a torn batch)`);
    for (const b of staged) {
      this.maybeAssignEpoch(b.epoch, b.baseOffset);
      this.batches.push(b);
    }
    return infos;
  }

  flush(): Promise<number> {
    this.flushCalls++;
    const target = this.logEndOffset;
    if (!this.holdFlush) {
      this.flushed = Math.max(this.flushed, target);
      return Promise.resolve(this.flushed);
    }
    return new Promise((resolve) => this.heldFlushes.push({ target, resolve }));
  }

  /** Completes every held flush (each makes durable what was appended before it was called). */
  releaseFlush(): void {
    const held = this.heldFlushes;
    this.heldFlushes = [];
    for (const f of held) {
      this.flushed = Math.max(this.flushed, Math.min(f.target, this.logEndOffset));
      f.resolve(this.flushed);
    }
  }

  async read(fetchOffset: number, limits: { maxBytes: number; maxOffset: number; fromFile?: boolean }): Promise<Uint8Array | PartitionErrorResult> {
    if (fetchOffset < this.logStartOffset || fetchOffset > this.logEndOffset) {
      return partitionError('OFFSET_OUT_OF_RANGE', `${fetchOffset} outside [${this.logStartOffset}, ${this.logEndOffset}]`);
    }
    const out: Uint8Array[] = [];
    let bytes = 0;
    for (const b of this.batches) {
      if (b.lastOffset < fetchOffset) continue;
      if (b.lastOffset >= limits.maxOffset) break;
      if (out.length > 0 && bytes + b.bytes.length > limits.maxBytes) break;
      out.push(b.bytes);
      bytes += b.bytes.length;
    }
    return concat(out);
  }

  async truncateTo(offset: number): Promise<void> {
    this.truncations.push(offset);
    if (offset >= this.logEndOffset) return;
    assert(offset >= this.logStartOffset, `truncateTo(${offset}) below the log start`);
    assert(offset === 0 || this.batches.some((b) => b.lastOffset + 1 === offset), `truncateTo(${offset}) splits a batch`);
    this.batches = this.batches.filter((b) => b.baseOffset < offset);
    this.epochs = this.epochs.filter((e) => e.startOffset < offset);
    this.flushed = Math.min(this.flushed, offset);
  }

  assignEpoch(epoch: number, startOffset: number): void {
    this.maybeAssignEpoch(epoch, startOffset);
  }

  /** Kafka's LeaderEpochFileCache.assign: only a new epoch (or an earlier start) changes the cache. */
  private maybeAssignEpoch(epoch: number, startOffset: number): void {
    assert(epoch >= 0 && startOffset >= 0, `assignEpoch(${epoch}, ${startOffset})`);
    const latest = this.epochs[this.epochs.length - 1];
    if (latest !== undefined && latest.epoch === epoch && latest.startOffset <= startOffset) return;
    while (this.epochs.length > 0) {
      const last = this.epochs[this.epochs.length - 1]!;
      if (last.epoch >= epoch || last.startOffset >= startOffset) this.epochs.pop();
      else break;
    }
    this.epochs.push({ epoch, startOffset });
  }

  endOffsetForEpoch(epoch: number): { epoch: number; endOffset: number } {
    const undefinedAnswer = { epoch: -1, endOffset: -1 };
    if (epoch < 0) return undefinedAnswer;
    let floor = -1;
    for (let i = 0; i < this.epochs.length; i++) if (this.epochs[i]!.epoch <= epoch) floor = i;
    if (floor < 0) {
      const first = this.epochs[0];
      if (this.belowAllEpochs === 'kafka' && first !== undefined) return { epoch, endOffset: first.startOffset };
      return undefinedAnswer;
    }
    const next = this.epochs[floor + 1];
    return { epoch: this.epochs[floor]!.epoch, endOffset: next === undefined ? this.logEndOffset : next.startOffset };
  }

  async checkpointHighWatermark(): Promise<void> {}
}

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** (baseOffset, epoch) of every batch in a fetch response's bytes. */
export function batchesIn(bytes: Uint8Array): Array<{ baseOffset: number; lastOffset: number; epoch: number }> {
  return [...iterateBatches(bytes)].map(({ header }) => ({ baseOffset: header.baseOffset, lastOffset: header.lastOffset, epoch: header.partitionLeaderEpoch }));
}
