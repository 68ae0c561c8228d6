/**
 * The coordinator's only window on `__consumer_offsets`: append to a partition it leads, read one back.
 * Implemented over the broker's replica manager by replica-log-port.ts (the node and the simulator
 * both use that one), and by an in-memory fake in the unit tests.
 *
 * Contract the coordinator relies on:
 * - `append` writes all `records` as one batch with acks=all and resolves `ok` only once the high
 *   watermark covers the batch (durable on min.insync.replicas replicas); any error means the outcome
 *   is unknown. Appends reach the log in the order of the calls (the caller issues the next one
 *   before the previous resolves).
 * - `read` returns records below the high watermark only, from `fromOffset`, fenced by `leaderEpoch`
 *   (an error unless this broker leads the partition in exactly that epoch), and may wait up to
 *   `maxWaitMs` for records to become readable. `nextOffset` is where the next read continues (past
 *   any gaps left by compaction); `logEndOffset` is the leader's log end when the read was served.
 */
import type { LogRecord } from './records.js';

export type AppendResult = { readonly ok: true } | { readonly ok: false; readonly error: string; readonly message: string };

export interface ReadRecord {
  readonly offset: number;
  readonly key: Uint8Array | null;
  readonly value: Uint8Array | null;
}

export type ReadResult =
  | { readonly records: readonly ReadRecord[]; readonly nextOffset: number; readonly highWatermark: number; readonly logEndOffset: number }
  | { readonly error: string; readonly message: string };

export interface OffsetsLogPort {
  append(partition: number, records: readonly LogRecord[]): Promise<AppendResult>;
  read(partition: number, fromOffset: number, leaderEpoch: number, maxWaitMs: number): Promise<ReadResult>;
}
