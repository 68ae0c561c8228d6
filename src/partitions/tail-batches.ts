/**
 * The newest small batches of a log's active segment, kept in memory so that the fetches that follow
 * the log end — followers waiting for the next batch, consumers reading the tail — are answered without
 * a read from the file (segment-log.ts `read`). Under light load every produced batch is small and is
 * fetched once per follower and consumer right after it was appended: each of those reads costs a
 * thread-pool round trip (a locate read and a data read) that this saves. Large batches are not kept:
 * there the file read is cheap per byte, and copying them would cost more than it saves.
 *
 * Invariants:
 * - The entries are consecutive batches of one segment, in position order, back to back: each entry's
 *   position is the previous one's position + size, and its offsets follow the previous one's (with
 *   gaps only in a compacted log). An entry is added when its write is issued; a read serves only
 *   entries whose write has resolved (position + size <= the segment's visible size).
 * - The bytes are a copy, exactly what was handed to the file, and every batch passed validateBatch
 *   when it was appended. They are never mutated.
 * - The segment drops the whole cache whenever its end moves back (truncation, recovery) or it is
 *   sealed; a batch that is not kept (too large) clears it, so the entries never skip a batch.
 * - At most `budgetBytes` of batch bytes are held; the oldest entries go first.
 */

/** Batches larger than this are read from the file, never kept. */
export const TAIL_BATCH_BYTES_MAX = 32 * 1024;
/** The default budget of one active segment's cache. */
export const TAIL_CACHE_BYTES_DEFAULT = 256 * 1024;

interface TailEntry {
  readonly baseOffset: number;
  readonly lastOffset: number;
  readonly position: number;
  readonly bytes: Uint8Array;
}

export interface TailReadLimits {
  /** Bytes at most, unless the first batch alone is larger (then exactly that batch). */
  readonly maxBytes: number;
  /** Only batches that end before this offset. */
  readonly maxOffset: number;
  /** The segment's visible size: batches beyond it are still being written. */
  readonly visibleSize: number;
}

export class TailBatches {
  private entries: TailEntry[] = [];
  /** Index of the oldest live entry in `entries` (dropped ones are compacted away lazily). */
  private first = 0;
  private bytes = 0;

  constructor(private readonly budgetBytes: number) {}

  /** Notes a batch whose write was just issued at `position`; `bytes` is copied if it is kept. */
  add(baseOffset: number, lastOffset: number, position: number, bytes: Uint8Array): void {
    const last = this.entries[this.entries.length - 1];
    const follows = last === undefined || this.first === this.entries.length || last.position + last.bytes.length === position;
    const kept = bytes.length <= Math.min(TAIL_BATCH_BYTES_MAX, this.budgetBytes);
    if (!kept || !follows) this.clear();
    if (!kept) return;
    this.entries.push({ baseOffset, lastOffset, position, bytes: bytes.slice() });
    this.bytes += bytes.length;
    while (this.bytes > this.budgetBytes) {
      this.bytes -= (this.entries[this.first] as TailEntry).bytes.length;
      this.first++;
    }
    if (this.first > 64 && this.first * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.first);
      this.first = 0;
    }
  }

  clear(): void {
    // Reused, not replaced: with large batches every append clears an empty cache.
    this.entries.length = 0;
    this.first = 0;
    this.bytes = 0;
  }

  /**
   * The whole batches from the one holding `fetchOffset` (or, in a gap, the next one), as `read` would
   * serve them from the file, in a fresh buffer; `undefined` when the cache cannot answer (the batch is
   * older than the cache, or not written yet): then the file must.
   */
  read(fetchOffset: number, limits: TailReadLimits): Uint8Array | undefined {
    const i = this.indexOf(fetchOffset);
    if (i === undefined) return undefined;
    const head = this.entries[i] as TailEntry;
    if (head.position + head.bytes.length > limits.visibleSize) return undefined;
    if (head.lastOffset >= limits.maxOffset) return new Uint8Array(0);
    const bound = Math.max(limits.maxBytes, head.bytes.length);
    let end = i;
    let total = 0;
    while (end < this.entries.length) {
      const e = this.entries[end] as TailEntry;
      if (e.lastOffset >= limits.maxOffset || e.position + e.bytes.length > limits.visibleSize || total + e.bytes.length > bound) break;
      total += e.bytes.length;
      end++;
    }
    if (end === i + 1) return head.bytes.slice();
    const out = new Uint8Array(total);
    let at = 0;
    for (let k = i; k < end; k++) {
      const b = (this.entries[k] as TailEntry).bytes;
      out.set(b, at);
      at += b.length;
    }
    return out;
  }

  /** The live entry holding `offset`, or the one after a gap holding it; never the oldest one after a gap. */
  private indexOf(offset: number): number | undefined {
    let lo = this.first;
    let hi = this.entries.length - 1;
    if (lo > hi || (this.entries[hi] as TailEntry).lastOffset < offset) return undefined;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.entries[mid] as TailEntry).lastOffset >= offset) hi = mid;
      else lo = mid + 1;
    }
    // The oldest live entry starting after `offset`: what lies before it is unknown here.
    if (lo === this.first && (this.entries[lo] as TailEntry).baseOffset > offset) return undefined;
    return lo;
  }
}
