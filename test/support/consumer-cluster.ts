/**
 * A real Skein cluster in-process for the consumer's end-to-end tests (the approach of
 * test/node/node-process.test.ts): N nodes, each controller+broker, on 127.0.0.1 with free ports and
 * temporary data directories, fast timeouts. Produces raw record batches through plain connections
 * (encodeRecordBatch + a 'produce' request to the leader), so these tests depend on the wire and
 * the node only, not on the client's producer.
 *
 * Waits are bounded polls with deadlines; nothing asserts on timing. `stop()` stops every node and
 * removes every directory, whatever happened.
 */
import { InProcessCluster, testNodeConfigs, waitFor } from './test-nodes.js';
export { freePorts, waitFor } from './test-nodes.js';
import type { Connection } from '../../src/net/connection.js';
import type { MetadataResponse, MetadataTopic } from '../../src/net/protocol.js';
import { encodeRecordBatch, type RecordInput } from '../../src/partitions/record-batch.js';

export type TopicMetadata = Extract<MetadataTopic, { partitions: unknown }>;

const RETRIABLE_PRODUCE = new Set(['NOT_LEADER_OR_FOLLOWER', 'REQUEST_TIMED_OUT', 'NOT_ENOUGH_REPLICAS', 'NOT_ENOUGH_REPLICAS_AFTER_APPEND', 'FENCED_LEADER_EPOCH', 'UNKNOWN_LEADER_EPOCH', 'UNKNOWN_TOPIC_OR_PARTITION', 'KAFKA_STORAGE_ERROR']);

export class ConsumerTestCluster extends InProcessCluster {
  private constructor() {
    super('consumer-test-support');
  }

  /**
   * Starts `n` nodes and waits until a controller exists and every broker is unfenced. `overrides`
   * replace node config fields (e.g. sessionTimeoutMs).
   */
  static async start(n = 3, overrides: Record<string, unknown> = {}): Promise<ConsumerTestCluster> {
    const cluster = new ConsumerTestCluster();
    try {
      await cluster.startAll(await testNodeConfigs(n, cluster.dirs, { clusterId: 'consumer-test', overrides: overrides }));
      return cluster;
    } catch (e) {
      await cluster.stop();
      throw e;
    }
  }

  private async requestAny<T>(fn: (c: Connection) => Promise<T>): Promise<T> {
    let last: unknown;
    for (const node of this.nodes.values()) {
      try {
        return await fn(await this.connection(node.url));
      } catch (e) {
        last = e;
      }
    }
    throw last instanceof Error ? last : new Error('no node answered');
  }

  override metadata(topics?: string[]): Promise<MetadataResponse> {
    return this.requestAny((c) => c.request('metadata', topics === undefined ? {} : { topics }, { timeoutMs: 3000 }));
  }

  async createTopic(name: string, partitions: number, replicationFactor: number, configs?: Record<string, string>): Promise<TopicMetadata> {
    await waitFor(`topic ${name} created`, 20_000, async () => {
      const answer = await this.requestAny((c) =>
        c.request('controller', { kind: 'create-topics', topics: [{ name, numPartitions: partitions, replicationFactor, ...(configs === undefined ? {} : { configs }) }], validateOnly: false }, { timeoutMs: 5000 }),
      );
      const response = answer.response;
      if ('error' in response) return undefined; // NOT_CONTROLLER and the like: try again
      if (!('topics' in response)) throw new Error('unexpected answer');
      const result = response.topics[0];
      if (result !== undefined && 'error' in result) {
        if (result.error === 'TOPIC_ALREADY_EXISTS') return true;
        throw new Error(`${result.error}: ${result.message}`);
      }
      return true;
    });
    return this.leaders(name, partitions);
  }

  /** The topic once every partition has a live leader (optionally not `avoid`). */
  leaders(name: string, partitions: number, avoid?: number): Promise<TopicMetadata> {
    return waitFor(`leaders of ${name}`, 30_000, async () => {
      for (const node of this.nodes.values()) {
        const c = await this.connection(node.url).catch(() => undefined);
        const m = await c?.request('metadata', { topics: [name] }, { timeoutMs: 3000 }).catch(() => undefined);
        const t = m?.topics.find((x) => x.name === name);
        if (t === undefined || 'error' in t) continue;
        if (t.partitions.length === partitions && t.partitions.every((p) => p.leader !== -1 && p.leader !== avoid && this.nodes.has(p.leader))) return t;
      }
      return undefined;
    });
  }

  /** Produces one batch with acks=all to the partition's leader, retrying retriable errors; its offsets. */
  async produce(topic: string, partition: number, records: readonly RecordInput[], options: { timestampMs?: number } = {}): Promise<{ baseOffset: number; lastOffset: number }> {
    const batch = encodeRecordBatch(records, { timestampMs: options.timestampMs ?? Date.now() });
    return waitFor(`produce to ${topic}[${partition}]`, 30_000, async () => {
      const m = await this.metadata([topic]);
      const t = m.topics.find((x) => x.name === topic);
      if (t === undefined || 'error' in t) return undefined;
      const p = t.partitions.find((x) => x.partition === partition);
      const leader = p === undefined ? undefined : this.nodes.get(p.leader);
      if (leader === undefined) return undefined;
      const c = await this.connection(leader.url);
      const r = await c.request('produce', { topicId: t.topicId, partition, acks: -1, timeoutMs: 5000, records: batch }, { timeoutMs: 8000 });
      if ('error' in r) {
        if (RETRIABLE_PRODUCE.has(r.error)) return undefined;
        throw new Error(`${r.error}: ${r.message}`);
      }
      return { baseOffset: r.baseOffset, lastOffset: r.lastOffset };
    });
  }
}

const encoder = new TextEncoder();

/** Records whose values are `${prefix}-${i}` for i in [from, from + n). */
export function textRecords(prefix: string, n: number, from = 0): RecordInput[] {
  return Array.from({ length: n }, (_, i) => ({ key: encoder.encode(`k${from + i}`), value: encoder.encode(`${prefix}-${from + i}`) }));
}
