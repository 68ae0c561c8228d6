/**
 * The offsets log port (log-port.ts) over a broker's replica manager: appends are record batches
 * produced with acks=all, reads are consumer fetches (below the HW) fenced by the leader epoch. Pure
 * glue over ReplicaManager's public produce / fetch / listOffset — no I/O of its own — so the node
 * and the simulator both use it.
 *
 * `append` calls `produce` synchronously (no await before it): ReplicaManager queues appends per
 * partition in call order, which is how the port keeps the coordinator's order of changes.
 */
import type { PartitionErrorResult } from '../partitions/errors.js';
import { decodeRecords, encodeRecordBatch, iterateBatches } from '../partitions/record-batch.js';
import type { Acks, FetchRequest, FetchResponse, ProduceResult } from '../partitions/replica.js';
import type { AppendResult, OffsetsLogPort, ReadRecord, ReadResult } from './log-port.js';
import type { LogRecord } from './records.js';

/** What the port uses of ReplicaManager. */
export interface ReplicaAccess {
  produce(topicId: string, partition: number, batch: Uint8Array, acks: Acks, timeoutMs: number): Promise<ProduceResult | PartitionErrorResult>;
  fetch(topicId: string, partition: number, request: FetchRequest): Promise<FetchResponse>;
  listOffset(topicId: string, partition: number, timestamp: number): Promise<{ offset: number; timestamp: number } | PartitionErrorResult>;
}

export interface ReplicaLogPortOptions {
  readonly replicas: ReplicaAccess;
  /** The topic id of `__consumer_offsets` now, or undefined when it does not exist. */
  readonly topicId: () => string | undefined;
  /** How long an append waits for the HW (offsets.commit.timeout.ms). */
  readonly appendTimeoutMs: number;
  /** Record timestamps (wall-clock ms). */
  readonly wallClockMs: () => number;
  /** Bytes per read; default 1 MiB (at least one batch is always returned). */
  readonly readBytesMax?: number;
}

const utf8 = new TextEncoder();

export function replicaLogPort(options: ReplicaLogPortOptions): OffsetsLogPort {
  const noTopic = { error: 'UNKNOWN_TOPIC_OR_PARTITION', message: 'the offsets topic does not exist' } as const;

  const fetchOnce = (topicId: string, partition: number, fromOffset: number, leaderEpoch: number, maxWaitMs: number): Promise<FetchResponse> =>
    options.replicas.fetch(topicId, partition, {
      replicaId: -1,
      brokerEpoch: -1,
      sequence: -1,
      fetchOffset: fromOffset,
      lastFetchedEpoch: -1,
      currentLeaderEpoch: leaderEpoch,
      maxBytes: options.readBytesMax ?? 1 << 20,
      // Without a wait, answer at once even when there is nothing to read.
      minBytes: maxWaitMs > 0 ? 1 : 0,
      maxWaitMs,
    });

  return {
    append(partition: number, records: readonly LogRecord[]): Promise<AppendResult> {
      const topicId = options.topicId();
      if (topicId === undefined) return Promise.resolve({ ok: false, ...noTopic });
      const batch = encodeRecordBatch(
        records.map((r) => ({ key: utf8.encode(r.key), value: r.value })),
        { timestampMs: options.wallClockMs() },
      );
      return options.replicas.produce(topicId, partition, batch, -1, options.appendTimeoutMs).then((r) => ('error' in r ? { ok: false, error: r.error, message: r.message } : { ok: true }));
    },

    async read(partition: number, fromOffset: number, leaderEpoch: number, maxWaitMs: number): Promise<ReadResult> {
      const topicId = options.topicId();
      if (topicId === undefined) return noTopic;
      let offset = fromOffset;
      let r = await fetchOnce(topicId, partition, offset, leaderEpoch, maxWaitMs);
      if ('error' in r && r.error === 'OFFSET_OUT_OF_RANGE') {
        // Below the log start (data removed): continue from the start.
        const start = await options.replicas.listOffset(topicId, partition, -2);
        if ('error' in start) return start;
        if (start.offset <= offset) return r;
        offset = start.offset;
        r = await fetchOnce(topicId, partition, offset, leaderEpoch, maxWaitMs);
      }
      if ('error' in r) return r;
      if ('divergingEpoch' in r) return { error: 'DIVERGING_EPOCH', message: 'unexpected diverging epoch on a consumer read' };
      const out: ReadRecord[] = [];
      let nextOffset = offset;
      for (const { position, header } of iterateBatches(r.records)) {
        if (header.lastOffset + 1 > r.highWatermark) break;
        nextOffset = Math.max(nextOffset, header.lastOffset + 1);
        if (header.isControl) continue;
        for (const rec of decodeRecords(r.records, position)) if (rec.offset >= offset) out.push({ offset: rec.offset, key: rec.key, value: rec.value });
      }
      return { records: out, nextOffset, highWatermark: r.highWatermark, logEndOffset: r.logEndOffset };
    },
  };
}
