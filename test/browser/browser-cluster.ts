/**
 * A real three-node Skein cluster in-process for the browser test (the approach of
 * test/node/node-process.test.ts: each node controller+broker on 127.0.0.1 with free ports, data in
 * temporary directories, fast timeouts), plus a Node-side reader so the test checks what the browser
 * wrote through an independent path (`ws`, raw fetch requests).
 *
 * Waits are bounded polls with deadlines; nothing asserts on timing. `stop()` stops every node and
 * removes every directory, whatever happened; it is safe to call on a half-started cluster.
 */
import { testNodeConfigs, waitFor } from '../support/test-nodes.js';
import { rm } from 'node:fs/promises';
import { openConnection } from '../../src/net/client-connection.js';
import type { Connection } from '../../src/net/connection.js';
import type { MetadataResponse, MetadataTopic } from '../../src/net/protocol.js';
import { decodeRecords, iterateBatches } from '../../src/partitions/record-batch.js';
import { startNode, type RunningNode } from '../../src/node/node-process.js';

export class BrowserTestCluster {
  private readonly nodes: RunningNode[] = [];
  private readonly dirs: string[] = [];

  /** Starts three nodes and waits for a controller and three unfenced brokers. */
  static async start(): Promise<BrowserTestCluster> {
    const cluster = new BrowserTestCluster();
    try {
      const configs = await testNodeConfigs(3, cluster.dirs, { clusterId: 'browser-test' });
      for (const node of await Promise.all(configs.map((c) => startNode(c)))) cluster.nodes.push(node);
      await cluster.ready();
      return cluster;
    } catch (e) {
      await cluster.stop();
      throw e;
    }
  }

  get urls(): string[] {
    return this.nodes.map((n) => n.url);
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.stop()));
    this.nodes.length = 0;
    await Promise.all(this.dirs.map((d) => rm(d, { recursive: true, force: true })));
  }

  private async withConnection<T>(url: string, fn: (c: Connection) => Promise<T>): Promise<T> {
    const c = await openConnection({ url, clientId: 'browser-test-node-side', connectTimeoutMs: 3000 });
    try {
      return await fn(c);
    } finally {
      c.close();
    }
  }

  private async metadata(topics?: string[]): Promise<MetadataResponse> {
    let last: unknown;
    for (const url of this.urls) {
      try {
        return await this.withConnection(url, (c) => c.request('metadata', topics === undefined ? {} : { topics }, { timeoutMs: 3000 }));
      } catch (e) {
        last = e;
      }
    }
    throw last instanceof Error ? last : new Error('no node answered');
  }

  private ready(): Promise<MetadataResponse> {
    return waitFor('a controller and three unfenced brokers', 30_000, async () => {
      const m = await this.metadata([]);
      return m.controllerId !== -1 && m.brokers.filter((b) => !b.fenced).length === 3 ? m : undefined;
    });
  }

  /** Every record of `topic`'s partition from offset 0 to the high watermark, read from its leader: [offset, value]. */
  async readAll(topic: string, partition: number): Promise<Array<[number, string]>> {
    const t = await waitFor(`the leader of ${topic}[${partition}]`, 20_000, async () => {
      const m = await this.metadata([topic]);
      const found = m.topics.find((x): x is Extract<MetadataTopic, { partitions: unknown }> => x.name === topic && 'partitions' in x);
      const leader = found?.partitions.find((p) => p.partition === partition)?.leader;
      const url = m.brokers.find((b) => b.id === leader)?.endpoints[0]?.url;
      return found === undefined || url === undefined ? undefined : { topicId: found.topicId, url };
    });
    return this.withConnection(t.url, async (c) => {
      const out: Array<[number, string]> = [];
      const decoder = new TextDecoder();
      let fetchOffset = 0;
      for (;;) {
        const r = await c.request('fetch', { topicId: t.topicId, partition, replicaId: -1, brokerEpoch: -1, sequence: -1, fetchOffset, lastFetchedEpoch: -1, currentLeaderEpoch: -1, maxBytes: 1 << 20, minBytes: 1, maxWaitMs: 0 });
        if ('error' in r || 'divergingEpoch' in r) throw new Error(`fetch: ${JSON.stringify(r)}`);
        const before = fetchOffset;
        for (const { position } of iterateBatches(r.records)) {
          for (const record of decodeRecords(r.records, position)) {
            if (record.offset < fetchOffset) continue;
            out.push([record.offset, record.value === null ? '' : decoder.decode(record.value)]);
            fetchOffset = record.offset + 1;
          }
        }
        if (fetchOffset >= r.highWatermark) return out;
        if (fetchOffset === before) throw new Error(`no progress at offset ${fetchOffset} below the high watermark ${r.highWatermark}`);
      }
    });
  }
}
