/**
 * Producers and consumers of a compacted topic for the compaction simulation (run-compaction-seed.ts),
 * shaped like data-workload.ts: each its own endpoint on the simulated network, finding leaders from
 * some broker's (possibly stale) metadata.
 *
 * Producers write keyed records over a small key space per partition — a few hot keys, so compaction
 * has superseded records to remove, and many cold ones, so that the latest records of some keys lie in
 * old segments that compaction rewrites — and about one in eight is a tombstone (null value). Every record carries a
 * unique write id in its `w` header (its value repeats it), which is how the checker tells writes and
 * tombstones apart. An idempotent producer retries with the same sequence numbers until acknowledged
 * or its deadline passes (then a new epoch); a plain one does not retry. Consumers read each partition
 * from offset 0, below the HW, advancing past every batch by its last offset (compacted logs have
 * offset gaps and empty batches).
 */
import type { Random } from '../src/util/random.js';
import type { PartitionState } from '../src/metadata/image.js';
import type { MetadataNode } from '../src/metadata/metadata-node.js';
import { decodeRecords, encodeRecordBatch, iterateBatches } from '../src/partitions/record-batch.js';
import type { Acks, FetchResponse } from '../src/partitions/replica.js';
import type { NodeId } from '../src/raft/types.js';
import type { CompactedRecord, CompactionChecker, WriteSpec } from './compaction-checker.js';
import type { FetchCall, ProduceAnswer, ProduceCall } from './data-plane.js';
import type { RaftCluster } from './raft-cluster.js';
import { SimRpc } from './sim-rpc.js';

export interface CompactionWorkloadOptions {
  readonly topicId: string;
  readonly partitions: number;
  /** Keys written often (most writes), and keys written rarely, whose latest records sit in old segments. */
  readonly hotKeys: number;
  readonly coldKeys: number;
  readonly producers: ReadonlyArray<{ readonly acks: Acks; readonly idempotent: boolean }>;
  readonly metadataNode: () => MetadataNode | undefined;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
export const WRITE_ID_HEADER = 'w';

/** A decoded record as the checker sees it. */
export function compactedRecord(r: { offset: number; key: Uint8Array | null; value: Uint8Array | null; headers: ReadonlyArray<{ key: string; value: Uint8Array | null }> }): CompactedRecord {
  const id = r.headers.find((h) => h.key === WRITE_ID_HEADER)?.value;
  return { offset: r.offset, key: r.key === null ? null : decoder.decode(r.key), writeId: id === undefined || id === null ? '' : decoder.decode(id), tombstone: r.value === null };
}

export class CompactionWorkload {
  private running = false;
  readonly stats = { batches: 0, acknowledged: 0, unknown: 0 };
  inFlight = 0;

  constructor(
    private readonly cluster: RaftCluster,
    private readonly checker: CompactionChecker,
    private readonly random: Random,
    private readonly options: CompactionWorkloadOptions,
  ) {}

  private leaderOf(partition: number): NodeId | undefined {
    const p: PartitionState | undefined = this.options.metadataNode()?.metadata.image.partition(this.options.topicId, partition);
    return p === undefined || p.leader < 0 ? undefined : p.leader;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.cluster.scheduler.setTimer(ms, resolve));
  }

  start(): void {
    this.running = true;
    this.options.producers.forEach((config, i) => this.startProducer(950 + i, config));
    for (let p = 0; p < this.options.partitions; p++) this.startConsumer(980 + p, p);
  }

  stopProducers(): void {
    this.running = false;
  }

  private startProducer(id: NodeId, config: { acks: Acks; idempotent: boolean }): void {
    const rpc = new SimRpc('produce', id, (m) => this.cluster.network.send(m), this.cluster.scheduler, 3000);
    this.cluster.addClient(id, (m) => rpc.onMessage(m));
    const producerId = config.idempotent ? 1_000_000 + id : -1;
    let epoch = 0;
    const sequences = new Array<number>(this.options.partitions).fill(0);
    let counter = 0;
    for (let p = 0; p < this.options.partitions; p++) {
      const loop = async (): Promise<void> => {
        while (this.running) {
          await this.sleep(5 + this.random.int(60));
          if (!this.running) return;
          const writes: WriteSpec[] = Array.from({ length: 1 + this.random.int(3) }, () => ({
            id: `p${id}-${++counter}`,
            key: this.random.int(4) === 0 ? `cold-${this.random.int(this.options.coldKeys)}` : `hot-${this.random.int(this.options.hotKeys)}`,
            tombstone: this.random.int(8) === 0,
          }));
          const batchEpoch = epoch;
          const batch = encodeRecordBatch(
            writes.map((w) => ({ key: encoder.encode(w.key), value: w.tombstone ? null : encoder.encode(w.id), headers: [{ key: WRITE_ID_HEADER, value: encoder.encode(w.id) }] })),
            { timestampMs: Math.floor(this.cluster.scheduler.nowMs()), producerId, producerEpoch: config.idempotent ? batchEpoch : -1, baseSequence: config.idempotent ? (sequences[p] as number) : -1 },
          );
          this.checker.onSent(`${p}`, writes, config.idempotent);
          this.stats.batches++;
          this.inFlight++;
          const outcome = await this.send(rpc, p, batch, config, config.idempotent ? 5000 : 0);
          this.inFlight--;
          const ids = writes.map((w) => w.id);
          if (outcome !== undefined && !('error' in outcome)) {
            this.stats.acknowledged++;
            this.checker.onAcknowledged(outcome.baseOffset, ids, config.acks);
            if (config.idempotent) sequences[p] = (sequences[p] as number) + writes.length;
          } else {
            this.stats.unknown++;
            this.checker.onUnknown(ids);
            if (config.idempotent && batchEpoch === epoch) {
              epoch++;
              sequences.fill(0);
            }
          }
        }
      };
      void loop().catch((e: unknown) => this.fail('producer', e));
    }
  }

  private fail(what: string, error: unknown): void {
    this.cluster.checker.violations.push(`t=${this.cluster.scheduler.nowMs()}ms ${what} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  }

  private async send(rpc: SimRpc, partition: number, batch: Uint8Array, config: { acks: Acks }, retryForMs: number): Promise<ProduceAnswer | undefined> {
    const deadline = this.cluster.scheduler.nowMs() + retryForMs;
    for (;;) {
      const leader = this.leaderOf(partition);
      let answer: ProduceAnswer | undefined;
      if (leader !== undefined) {
        try {
          const call: ProduceCall = { topicId: this.options.topicId, partition, batch, acks: config.acks, timeoutMs: 1500 };
          answer = (await rpc.call(leader, call)) as ProduceAnswer;
        } catch {
          answer = undefined;
        }
      }
      if (answer !== undefined && !('error' in answer)) return answer;
      const permanent = answer !== undefined && (answer.error === 'OUT_OF_ORDER_SEQUENCE' || answer.error === 'INVALID_PRODUCER_EPOCH' || answer.error === 'CORRUPT_RECORD');
      if (permanent || this.cluster.scheduler.nowMs() >= deadline) return answer;
      await this.sleep(100);
    }
  }

  private startConsumer(id: NodeId, partition: number): void {
    const rpc = new SimRpc('fetch', id, (m) => this.cluster.network.send(m), this.cluster.scheduler, 2000);
    this.cluster.addClient(id, (m) => rpc.onMessage(m));
    const name = `consumer-${partition}`;
    let next = 0;
    const loop = async (): Promise<void> => {
      for (;;) {
        const leader = this.leaderOf(partition);
        let response: FetchResponse | undefined;
        if (leader !== undefined) {
          try {
            const call: FetchCall = {
              topicId: this.options.topicId,
              partition,
              request: { replicaId: -1, brokerEpoch: -1, sequence: -1, fetchOffset: next, lastFetchedEpoch: -1, currentLeaderEpoch: -1, maxBytes: 64 * 1024, minBytes: 1, maxWaitMs: 300 },
            };
            response = (await rpc.call(leader, call)) as FetchResponse;
          } catch {
            response = undefined;
          }
        }
        if (response === undefined || 'error' in response || 'divergingEpoch' in response) {
          await this.sleep(100);
          continue;
        }
        for (const { position, header } of iterateBatches(response.records)) {
          for (const r of decodeRecords(response.records, position)) {
            if (r.offset < next) continue;
            this.checker.onRead(name, `${partition}`, compactedRecord(r));
          }
          // Past the whole batch: an empty one (compaction's) has no record to advance by.
          if (header.lastOffset >= next) next = header.lastOffset + 1;
        }
      }
    };
    void loop().catch((e: unknown) => this.fail('consumer', e));
  }
}
