/**
 * A real Skein cluster in-process for the producer and admin tests (the approach of
 * test/node/node-process.test.ts): N nodes, each controller+broker, on 127.0.0.1 with free ports and
 * temporary data directories, with fast timeouts. Reads partitions back through raw 'fetch' requests
 * to the leader (decodeRecords over every stored batch), so assertions about what the producer wrote
 * do not depend on the client's consumer.
 *
 * Waits are bounded polls with deadlines; nothing asserts on timing. `stop()` stops every node and
 * removes every directory, whatever happened.
 */
import { InProcessCluster, testNodeConfigs, waitFor } from './test-nodes.js';
export { freePorts, waitFor } from './test-nodes.js';
import type { MetadataResponse, MetadataTopic } from '../../src/net/protocol.js';
import { decodeRecords, iterateBatches, type BatchHeader, type DecodedRecord } from '../../src/partitions/record-batch.js';

export type TopicMetadata = Extract<MetadataTopic, { partitions: unknown }>;

/** One stored batch as fetched back: its header and its records. */
export interface FetchedBatch {
  readonly header: BatchHeader;
  readonly records: DecodedRecord[];
}

export class ClientTestCluster extends InProcessCluster {
  private constructor() {
    super('client-test-support');
  }

  static async start(n = 3, topicDefaults: Record<string, string> = {}): Promise<ClientTestCluster> {
    const cluster = new ClientTestCluster();
    try {
      await cluster.startAll(await testNodeConfigs(n, cluster.dirs, { clusterId: 'client-test', overrides: { sessionTimeoutMs: 2000, heartbeatIntervalMs: 200, replicaLagTimeMaxMs: 2000, controlledShutdownTimeoutMs: 2000, topicDefaults } }));
      return cluster;
    } catch (e) {
      await cluster.stop();
      throw e;
    }
  }

  override metadata(topics?: string[]): Promise<MetadataResponse> {
    return waitFor('metadata', 10_000, async () => {
      for (const node of this.nodes.values()) {
        const c = await this.connection(node.url).catch(() => undefined);
        const m = await c?.request('metadata', topics === undefined ? {} : { topics }, { timeoutMs: 3000 }).catch(() => undefined);
        if (m !== undefined) return m;
      }
      return undefined;
    });
  }

  /** The topic once every partition has a live leader (optionally not `avoid`), as the leaders themselves say. */
  leaders(name: string, avoid?: number): Promise<TopicMetadata> {
    return waitFor(`leaders of ${name}`, 30_000, async () => {
      for (const node of this.nodes.values()) {
        const c = await this.connection(node.url).catch(() => undefined);
        const m = await c?.request('metadata', { topics: [name] }, { timeoutMs: 3000 }).catch(() => undefined);
        const t = m?.topics.find((x) => x.name === name);
        if (t === undefined || 'error' in t || t.partitions.length === 0) continue;
        if (t.partitions.every((p) => p.leader !== -1 && p.leader !== avoid && this.nodes.has(p.leader))) return t;
      }
      return undefined;
    });
  }

  /**
   * Every committed batch of a partition (below the HW), read from its leader with raw fetches from
   * offset 0. Retries while leadership settles.
   */
  fetchAll(topic: string, partition: number): Promise<FetchedBatch[]> {
    return waitFor(`fetch ${topic}-${partition}`, 30_000, async () => {
      const t = await this.leaders(topic);
      const p = t.partitions.find((x) => x.partition === partition);
      const leader = p === undefined ? undefined : this.nodes.get(p.leader);
      if (leader === undefined) return undefined;
      const c = await this.connection(leader.url);
      const out: FetchedBatch[] = [];
      let offset = 0;
      for (;;) {
        const r = await c.request(
          'fetch',
          { topicId: t.topicId, partition, replicaId: -1, brokerEpoch: -1, sequence: -1, fetchOffset: offset, lastFetchedEpoch: -1, currentLeaderEpoch: -1, maxBytes: 8 << 20, minBytes: 0, maxWaitMs: 0 },
          { timeoutMs: 5000 },
        );
        if ('error' in r || 'divergingEpoch' in r) return undefined;
        let progressed = false;
        for (const { position, header } of iterateBatches(r.records)) {
          if (header.lastOffset < offset || header.baseOffset >= r.highWatermark) continue;
          out.push({ header, records: decodeRecords(r.records, position).filter((x) => x.offset < r.highWatermark) });
          offset = header.lastOffset + 1;
          progressed = true;
        }
        if (!progressed || offset >= r.highWatermark) return out;
      }
    });
  }

  /** Every committed record of a partition, in offset order. */
  async records(topic: string, partition: number): Promise<DecodedRecord[]> {
    return (await this.fetchAll(topic, partition)).flatMap((b) => b.records);
  }
}

const decoder = new TextDecoder();

/** UTF-8 text of a record field (null stays null). */
export function text(bytes: Uint8Array | null): string | null {
  return bytes === null ? null : decoder.decode(bytes);
}
