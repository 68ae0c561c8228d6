/**
 * Producers and consumers for the data-plane simulation, each its own endpoint on the simulated
 * network. They find partition leaders the way a client does — from some broker's metadata, possibly
 * stale — and follow NOT_LEADER answers.
 *
 * Producers write unique values. An idempotent producer retries a failed batch with the same
 * sequence numbers until it is acknowledged or its deadline passes; then its outcome is unknown and
 * the producer starts a new epoch (sequences from 0), as a real one must. A plain producer does not
 * retry. One batch in flight per partition per producer keeps sequences simple.
 * Consumers read each partition from offset 0 with long polls, below the HW only.
 */
import type { Random } from '../src/util/random.js';
import type { PartitionState } from '../src/metadata/image.js';
import type { MetadataNode } from '../src/metadata/metadata-node.js';
import { decodeRecords, encodeRecordBatch, iterateBatches } from '../src/partitions/record-batch.js';
import type { Acks, FetchResponse } from '../src/partitions/replica.js';
import type { NodeId } from '../src/raft/types.js';
import type { DataChecker } from './data-checker.js';
import type { FetchCall, ProduceAnswer, ProduceCall } from './data-plane.js';
import type { RaftCluster } from './raft-cluster.js';
import { SimRpc } from './sim-rpc.js';

export interface DataWorkloadOptions {
  readonly topicId: string;
  readonly partitions: number;
  readonly producers: ReadonlyArray<{ readonly acks: Acks; readonly idempotent: boolean }>;
  /** Metadata as a client would get it: the image of some running broker. */
  readonly metadataNode: () => MetadataNode | undefined;
}

const decoder = new TextDecoder();
const encoder = new TextEncoder();

export class DataWorkload {
  private running = false;
  readonly stats = { batches: 0, acknowledged: 0, unknown: 0 };
  /** Requests still waiting for an answer (the run waits for them before the final check). */
  inFlight = 0;

  constructor(
    private readonly cluster: RaftCluster,
    private readonly checker: DataChecker,
    private readonly random: Random,
    private readonly options: DataWorkloadOptions,
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

  /** Stops producing (consumers go on until `stopConsumers`). */
  stopProducers(): void {
    this.running = false;
  }

  // ---- Producers -----------------------------------------------------------------------------------

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
          const values = Array.from({ length: 1 + this.random.int(3) }, () => `p${id}-${++counter}`);
          const batchEpoch = epoch;
          const batch = encodeRecordBatch(
            values.map((v) => ({ key: null, value: encoder.encode(v) })),
            { timestampMs: Math.floor(this.cluster.scheduler.nowMs()), producerId, producerEpoch: config.idempotent ? batchEpoch : -1, baseSequence: config.idempotent ? (sequences[p] as number) : -1 },
          );
          this.stats.batches++;
          this.inFlight++;
          const outcome = await this.send(rpc, p, batch, config, config.idempotent ? 5000 : 0);
          this.inFlight--;
          if (outcome !== undefined && !('error' in outcome)) {
            this.stats.acknowledged++;
            this.checker.onAcknowledged(`${p}`, outcome.baseOffset, values, config.acks, config.idempotent);
            if (config.idempotent) sequences[p] = (sequences[p] as number) + values.length;
          } else {
            this.stats.unknown++;
            this.checker.onUnknown(values, config.idempotent);
            if (config.idempotent && batchEpoch === epoch) {
              // A new producer session: what the old one left unknown can no longer be retried.
              epoch++;
              sequences.fill(0);
            }
          }
        }
      };
      void loop().catch((e: unknown) => this.fail('producer', e));
    }
  }

  /** A client loop threw: that is a bug in the simulation or the code under test. */
  private fail(what: string, error: unknown): void {
    this.cluster.checker.violations.push(`t=${this.cluster.scheduler.nowMs()}ms ${what} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  }

  /** Sends one batch, retrying (same bytes) until acknowledged, a permanent error, or `retryForMs` passes. */
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
          answer = undefined; // timed out: unknown
        }
      }
      if (answer !== undefined && !('error' in answer)) return answer;
      const permanent = answer !== undefined && (answer.error === 'OUT_OF_ORDER_SEQUENCE' || answer.error === 'INVALID_PRODUCER_EPOCH' || answer.error === 'CORRUPT_RECORD');
      if (permanent || this.cluster.scheduler.nowMs() >= deadline) return answer;
      await this.sleep(100);
    }
  }

  // ---- Consumers -----------------------------------------------------------------------------------

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
        for (const { position } of iterateBatches(response.records)) {
          for (const r of decodeRecords(response.records, position)) {
            if (r.offset < next) continue;
            if (r.offset >= response.highWatermark) this.checker.onReadAboveHighWatermark(name, `${partition}`, r.offset, response.highWatermark);
            this.checker.onRead(name, `${partition}`, r.offset, decoder.decode(r.value ?? new Uint8Array()));
            next = r.offset + 1;
          }
        }
      }
    };
    void loop().catch((e: unknown) => this.fail('consumer', e));
  }
}
