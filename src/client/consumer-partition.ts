/**
 * The consumer's state for one assigned partition: its position (the next offset to deliver), the
 * leader epoch of the last record consumed (KIP-320's lastFetchedEpoch), where to start when there is
 * no position yet, whether it is paused, and the fetch size in use.
 *
 * Invariants:
 * - `position` only moves forward while the `generation` stays the same (`consumed`/`stepPast`).
 *   Every jump — seek, reset to a start position, truncation, unassignment — goes through
 *   `bump`, which increments `generation`: a fetch answer or a delivery begun under an older
 *   generation must be dropped, so nothing is delivered twice or out of order within a run.
 * - `lastFetchedEpoch` is the epoch of the batch holding the record just before `position` as far as
 *   the consumer knows it, or -1 (after a seek or a reset: unknown, so no truncation check is asked).
 * - `onChange` listeners run on every bump and every `wake()` (pause, resume): the partition's loop
 *   races its waits against them so it reacts at once instead of after a long poll. Pausing does not
 *   bump: the record being handed over when a partition is paused still counts as consumed once its
 *   callback resolves; deliveries check `paused` before each next record.
 */
import { Signal } from './consumer-sync.js';

/** Where a partition without a position starts. */
export type StartPosition =
  | { readonly kind: 'earliest' }
  | { readonly kind: 'latest' }
  | { readonly kind: 'timestamp'; readonly timestampMs: number };

/** What to do when the position is out of the log's range (Kafka's auto.offset.reset). */
export type OffsetResetPolicy = 'earliest' | 'latest' | 'none';

export class PartitionFetchState {
  /** The next offset to deliver; undefined until resolved from `start` (a list-offsets request). */
  position: number | undefined;
  lastFetchedEpoch = -1;
  start: StartPosition;
  paused = false;
  assigned = true;
  generation = 0;
  /** From the last fetch answer; -1 before any. */
  highWatermark = -1;
  /** Consecutive retriable failures: the backoff exponent. */
  failures = 0;
  /** Bytes asked per fetch; above the configured size only while fetching one oversized batch. */
  maxBytes: number;
  private readonly signal = new Signal();

  constructor(
    readonly topic: string,
    readonly partition: number,
    start: StartPosition,
    readonly resetPolicy: OffsetResetPolicy,
    maxBytes: number,
  ) {
    this.start = start;
    this.maxBytes = maxBytes;
  }

  get label(): string {
    return `${this.topic}[${this.partition}]`;
  }

  /** Calls `fn` once on the next bump or wake; returns the unsubscribe function. */
  onChange(fn: () => void): () => void {
    return this.signal.subscribe(fn);
  }

  wake(): void {
    this.signal.fire();
  }

  /** Invalidates fetches and deliveries in progress (see the module header). */
  bump(): void {
    this.generation++;
    this.signal.fire();
  }

  seek(offset: number): void {
    this.position = offset;
    this.lastFetchedEpoch = -1;
    this.bump();
  }

  /** Forgets the position: the next fetch first resolves `start`. */
  resetTo(start: StartPosition): void {
    this.start = start;
    this.position = undefined;
    this.lastFetchedEpoch = -1;
    this.bump();
  }

  /** KIP-320: the log diverged at `offset` in `epoch`; continue from there. */
  truncateTo(offset: number, epoch: number): void {
    this.position = offset;
    this.lastFetchedEpoch = epoch;
    this.bump();
  }

  /** The record at `offset`, written in `epoch`, was consumed. */
  consumed(offset: number, epoch: number): void {
    this.stepPast(offset, epoch);
  }

  /** Moves the position past `offset` (a consumed record, or the end of an empty or control batch). */
  stepPast(offset: number, epoch: number): void {
    if (this.position !== undefined && offset + 1 <= this.position) return;
    this.position = offset + 1;
    this.lastFetchedEpoch = epoch;
  }

  setPaused(paused: boolean): void {
    if (this.paused === paused) return;
    this.paused = paused;
    // Pausing abandons a fetch in flight (its answer would be dropped: fetched again on resume);
    // resuming wakes the waiting loop.
    this.wake();
  }

  unassign(): void {
    this.assigned = false;
    this.bump();
  }
}
