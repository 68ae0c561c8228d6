/**
 * An in-memory `__consumer_offsets` for the coordinator's unit tests: one log per partition, records
 * kept with their offsets, a high watermark the test can hold back (to see that answers wait for
 * durability) and failures it can inject. Appends land in call order, as the port contract says.
 */
import type { AppendResult, OffsetsLogPort, ReadResult } from '../../src/groups/log-port.js';
import type { LogRecord } from '../../src/groups/records.js';

interface Stored {
  readonly offset: number;
  readonly key: Uint8Array | null;
  readonly value: Uint8Array | null;
}

interface Waiter {
  readonly offset: number;
  readonly resolve: (r: AppendResult) => void;
}

const utf8 = new TextEncoder();

export class FakeOffsetsLog implements OffsetsLogPort {
  private readonly logs = new Map<number, Stored[]>();
  private readonly hws = new Map<number, number>();
  private waiters = new Map<number, Waiter[]>();
  /** While true, the HW does not move: appends stay unanswered. */
  holdHw = false;
  /** The next append fails with this error (the records are still written, as after a timeout). */
  failNext: { error: string; message: string; written: boolean } | undefined;
  /** Reads fail with this error while set (the replica is not leader yet). */
  readError: string | undefined;
  appends = 0;
  reads = 0;

  log(partition: number): Stored[] {
    let l = this.logs.get(partition);
    if (l === undefined) this.logs.set(partition, (l = []));
    return l;
  }

  logEnd(partition: number): number {
    return this.log(partition).length;
  }

  highWatermark(partition: number): number {
    return this.hws.get(partition) ?? 0;
  }

  /** Writes records directly (another leader's history). */
  seed(partition: number, records: readonly LogRecord[]): void {
    for (const r of records) this.log(partition).push({ offset: this.logEnd(partition), key: utf8.encode(r.key), value: r.value });
    if (!this.holdHw) this.releaseHw(partition);
  }

  /** Moves the HW of a partition to its log end and answers the appends it covers. */
  releaseHw(partition: number): void {
    const end = this.logEnd(partition);
    this.hws.set(partition, end);
    const waiting = this.waiters.get(partition) ?? [];
    this.waiters.set(partition, waiting.filter((w) => w.offset > end));
    for (const w of waiting) if (w.offset <= end) w.resolve({ ok: true });
  }

  /** Truncates the log (a new leader without the tail), failing the appends beyond. */
  truncate(partition: number, to: number): void {
    this.log(partition).splice(to);
    this.hws.set(partition, Math.min(this.highWatermark(partition), to));
    const waiting = this.waiters.get(partition) ?? [];
    this.waiters.set(partition, []);
    for (const w of waiting) w.resolve({ ok: false, error: 'NOT_LEADER_OR_FOLLOWER', message: 'truncated' });
  }

  append(partition: number, records: readonly LogRecord[]): Promise<AppendResult> {
    this.appends++;
    const failure = this.failNext;
    this.failNext = undefined;
    if (failure !== undefined && !failure.written) return Promise.resolve({ ok: false, error: failure.error, message: failure.message });
    for (const r of records) this.log(partition).push({ offset: this.logEnd(partition), key: utf8.encode(r.key), value: r.value });
    if (failure !== undefined) {
      // Like a timed-out acks=all produce: the batch is in the log and replicates later.
      if (!this.holdHw) queueMicrotask(() => this.releaseHw(partition));
      return Promise.resolve({ ok: false, error: failure.error, message: failure.message });
    }
    const end = this.logEnd(partition);
    return new Promise((resolve) => {
      this.waiters.set(partition, [...(this.waiters.get(partition) ?? []), { offset: end, resolve }]);
      if (!this.holdHw) queueMicrotask(() => this.releaseHw(partition));
    });
  }

  read(partition: number, fromOffset: number): Promise<ReadResult> {
    this.reads++;
    if (this.readError !== undefined) return Promise.resolve({ error: this.readError, message: 'not ready' });
    const hw = this.highWatermark(partition);
    const records = this.log(partition).filter((r) => r.offset >= fromOffset && r.offset < hw).slice(0, 3);
    const last = records[records.length - 1];
    return Promise.resolve({ records, nextOffset: last === undefined ? fromOffset : last.offset + 1, highWatermark: hw, logEndOffset: this.logEnd(partition) });
  }
}
