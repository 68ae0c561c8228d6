/**
 * A fake Cluster for the consumer's unit tests: one topic whose partitions are in-memory logs of
 * stamped record batches, served the way a Skein leader serves consumers (whole batches from the one
 * holding the fetch offset, below the HW, a long poll until data or maxWaitMs, KIP-320 divergence
 * answers when asked with lastFetchedEpoch) — plus knobs a real leader does not have: cut the last
 * batch at maxBytes (Kafka's pre-KIP-74 behaviour), answer an error once, corrupt a batch.
 *
 * Every fetch request is recorded so tests can assert on what the consumer asked.
 */
import type { ConsumerCluster } from '../../src/client/consumer.js';
import type { TopicInfo } from '../../src/client/cluster.js';
import { UnknownTopicError } from '../../src/client/errors.js';
import { mathRandom, realClientClock } from '../../src/client/retry.js';
import type { FetchPartitionRequest } from '../../src/net/protocol.js';
import type { PartitionErrorCode } from '../../src/partitions/errors.js';
import { encodeRecordBatch, stampBatch, type RecordInput } from '../../src/partitions/record-batch.js';

interface StoredBatch {
  readonly baseOffset: number;
  readonly lastOffset: number;
  readonly epoch: number;
  readonly bytes: Uint8Array;
}

export class FakePartitionLog {
  batches: StoredBatch[] = [];
  highWatermark = 0;
  leaderEpoch = 0;
  logStartOffset = 0;
  private waiters: Array<() => void> = [];

  get logEndOffset(): number {
    const last = this.batches[this.batches.length - 1];
    return last === undefined ? this.logStartOffset : last.lastOffset + 1;
  }

  /** Appends one batch of `records` in the current leader epoch; committed (HW moves) unless told. */
  append(records: readonly RecordInput[], options: { commit?: boolean; timestampMs?: number } = {}): StoredBatch {
    const bytes = encodeRecordBatch(records, { timestampMs: options.timestampMs ?? 1_000 });
    stampBatch(bytes, 0, { baseOffset: this.logEndOffset, partitionLeaderEpoch: this.leaderEpoch });
    const batch = { baseOffset: this.logEndOffset, lastOffset: this.logEndOffset + records.length - 1, epoch: this.leaderEpoch, bytes };
    this.batches.push(batch);
    if (options.commit !== false) this.highWatermark = this.logEndOffset;
    this.wake();
    return batch;
  }

  /** Drops every batch from `offset` on (it must be a batch boundary), as an unclean leader's log. */
  truncateTo(offset: number): void {
    this.batches = this.batches.filter((b) => b.lastOffset < offset);
    if (this.logEndOffset !== offset) throw new Error(`${offset} is not a batch boundary`);
    this.highWatermark = Math.min(this.highWatermark, offset);
  }

  /** The leader's KIP-320 answer for `epoch`: the largest known epoch <= it and where it ends. */
  endOffsetForEpoch(epoch: number): { epoch: number; endOffset: number } {
    const epochs = [...new Set(this.batches.map((b) => b.epoch))].sort((a, b) => a - b);
    const known = epochs.filter((e) => e <= epoch);
    const found = known[known.length - 1];
    if (found === undefined) return { epoch: -1, endOffset: -1 };
    const next = this.batches.find((b) => b.epoch > found);
    return { epoch: found, endOffset: next === undefined ? this.logEndOffset : next.baseOffset };
  }

  wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  waitForData(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}

export type FetchAnswer =
  | { records: Uint8Array; highWatermark: number; logStartOffset: number; logEndOffset: number }
  | { divergingEpoch: { epoch: number; endOffset: number }; highWatermark: number }
  | { error: PartitionErrorCode; message: string };

export class FakeCluster {
  readonly clock = realClientClock;
  readonly random = mathRandom;
  readonly requestTimeoutMs = 5_000;
  readonly partitions: FakePartitionLog[];
  readonly fetches: FetchPartitionRequest[] = [];
  invalidations = 0;
  /** Serve at most maxBytes, cutting the last batch (instead of always a whole first batch). */
  cutAtMaxBytes = false;
  /** Errors to answer the next fetches with, first first. */
  fetchErrors: PartitionErrorCode[] = [];
  /** Called on every fetch answer before it is returned: may replace it. */
  tamper: ((answer: FetchAnswer, request: FetchPartitionRequest) => FetchAnswer) | undefined;
  closed = false;

  constructor(
    readonly topicName: string,
    partitionCount: number,
  ) {
    this.partitions = Array.from({ length: partitionCount }, () => new FakePartitionLog());
  }

  /** What the consumer needs of a Cluster; the cast is the price of Cluster's generic request(). */
  asCluster(): ConsumerCluster {
    return this as unknown as ConsumerCluster;
  }

  async connect(): Promise<void> {}

  async close(): Promise<void> {
    this.closed = true;
    for (const p of this.partitions) p.wake();
  }

  invalidate(): void {
    this.invalidations++;
  }

  async topic(name: string): Promise<TopicInfo> {
    if (name !== this.topicName) throw new UnknownTopicError(`unknown topic ${name}`);
    return {
      name,
      topicId: `id-${name}`,
      partitions: this.partitions.map((p, partition) => ({ partition, leader: 1, leaderEpoch: p.leaderEpoch, replicas: [1], isr: [1] })),
    };
  }

  async request(_broker: number, kind: string, body: unknown): Promise<unknown> {
    // A real request always waits for I/O: without this, a consumer bug that fetches in a loop
    // would starve the timers of the whole test process instead of failing the test.
    await new Promise((resolve) => setTimeout(resolve, 0));
    if (kind === 'list-offsets') {
      const r = body as { partition: number; timestamp: number };
      const log = this.log(r.partition);
      if (r.timestamp === -2) return { offset: log.logStartOffset, timestamp: -1 };
      if (r.timestamp === -1) return { offset: log.highWatermark, timestamp: -1 };
      throw new Error('fake: list-offsets by timestamp is not implemented');
    }
    if (kind !== 'fetch') throw new Error(`fake: unexpected ${kind}`);
    const request = body as FetchPartitionRequest;
    this.fetches.push(request);
    const answer = await this.fetch(request);
    return this.tamper === undefined ? answer : this.tamper(answer, request);
  }

  private log(partition: number): FakePartitionLog {
    const log = this.partitions[partition];
    if (log === undefined) throw new Error(`fake: no partition ${partition}`);
    return log;
  }

  private async fetch(request: FetchPartitionRequest): Promise<FetchAnswer> {
    const error = this.fetchErrors.shift();
    if (error !== undefined) return { error, message: `fake ${error}` };
    const log = this.log(request.partition);
    if (request.lastFetchedEpoch >= 0) {
      const end = log.endOffsetForEpoch(request.lastFetchedEpoch);
      if (end.epoch >= 0 && (end.epoch !== request.lastFetchedEpoch || end.endOffset < request.fetchOffset)) {
        return { divergingEpoch: end, highWatermark: log.highWatermark };
      }
    }
    if (request.fetchOffset < log.logStartOffset || request.fetchOffset > log.logEndOffset) {
      return { error: 'OFFSET_OUT_OF_RANGE', message: `fake: ${request.fetchOffset} is outside [${log.logStartOffset}, ${log.logEndOffset}]` };
    }
    if (request.fetchOffset >= log.highWatermark && request.maxWaitMs > 0 && !this.closed) await log.waitForData(request.maxWaitMs);
    const served: Uint8Array[] = [];
    let bytes = 0;
    for (const b of log.batches) {
      if (b.lastOffset < request.fetchOffset || b.lastOffset >= log.highWatermark) continue;
      if (bytes >= request.maxBytes) break;
      if (bytes + b.bytes.length > request.maxBytes) {
        if (this.cutAtMaxBytes) served.push(b.bytes.subarray(0, request.maxBytes - bytes));
        else if (served.length === 0) served.push(b.bytes);
        break;
      }
      served.push(b.bytes);
      bytes += b.bytes.length;
    }
    const records = new Uint8Array(served.reduce((n, b) => n + b.length, 0));
    let at = 0;
    for (const b of served) {
      records.set(b, at);
      at += b.length;
    }
    return { records, highWatermark: log.highWatermark, logStartOffset: log.logStartOffset, logEndOffset: log.logEndOffset };
  }
}

const encoder = new TextEncoder();

/** `n` records with values `${prefix}-${i}` (i from `from`). */
export function records(prefix: string, n: number, from = 0): RecordInput[] {
  return Array.from({ length: n }, (_, i) => ({ key: null, value: encoder.encode(`${prefix}-${from + i}`) }));
}
