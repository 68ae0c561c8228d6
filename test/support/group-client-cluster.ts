/**
 * A real three-node Skein cluster in-process for the group consumer's end-to-end tests (the approach
 * of test/node/node-process.test.ts): each node controller+broker on 127.0.0.1 with free ports and a
 * temporary data directory, fast timeouts, and a fast group coordinator (short heartbeat interval,
 * a small `__consumer_offsets`). Topics are created and records produced through the client library.
 *
 * Waits are bounded polls; nothing asserts on timing. `stop()` stops every node and removes every
 * directory, whatever happened.
 */
import { rm } from 'node:fs/promises';
import type { Admin } from '../../src/client/admin.js';
import type { Producer } from '../../src/client/producer.js';
import { Skein } from '../../src/client/skein.js';
import type { NodeConfig } from '../../src/node/node-config.js';
import { startNode, type RunningNode } from '../../src/node/node-process.js';
import { testNodeConfigs, waitFor } from './test-nodes.js';

export { waitFor };

export class GroupClientCluster {
  readonly nodes = new Map<number, RunningNode>();
  private readonly configs = new Map<number, NodeConfig>();
  private readonly dirs: string[] = [];
  private adminClient: Admin | undefined;
  private producerClient: Producer | undefined;

  static async start(n = 3): Promise<GroupClientCluster> {
    const cluster = new GroupClientCluster();
    try {
      for (const config of await testNodeConfigs(n, cluster.dirs, { clusterId: 'groups-test' })) cluster.configs.set(config.nodeId, config);
      await Promise.all([...cluster.configs.keys()].map((id) => cluster.startNode(id)));
      await waitFor('a controller and every broker unfenced', 30_000, async () => {
        const d = await cluster.admin().then((a) => a.describeCluster());
        return d.controller !== -1 && d.brokers.length === n && d.brokers.every((b) => !b.fenced) ? d : undefined;
      });
      return cluster;
    } catch (e) {
      await cluster.stop();
      throw e;
    }
  }

  get urls(): string[] {
    return [...this.nodes.values()].map((n) => n.url);
  }

  /** A client on every node (requests time out fast so failover tests move on). */
  skein(clientId = 'groups-test'): Skein {
    return new Skein({ brokers: this.urls, clientId, requestTimeoutMs: 5000 });
  }

  async startNode(id: number): Promise<RunningNode> {
    const config = this.configs.get(id);
    if (config === undefined) throw new Error(`no node ${id}`);
    const node = await startNode(config, { groups: { heartbeatIntervalMs: 200, offsetsTopicPartitions: 3 } });
    this.nodes.set(id, node);
    return node;
  }

  async stopNode(id: number): Promise<void> {
    const node = this.nodes.get(id);
    this.nodes.delete(id);
    await node?.stop();
  }

  async admin(): Promise<Admin> {
    if (this.adminClient === undefined) {
      const admin = this.skein('groups-test-admin').admin();
      await admin.connect();
      this.adminClient = admin;
    }
    return this.adminClient;
  }

  async createTopic(name: string, partitions: number): Promise<void> {
    const admin = await this.admin();
    await admin.createTopics({ topics: [{ topic: name, numPartitions: partitions, replicationFactor: 3, configEntries: [{ name: 'min.insync.replicas', value: '2' }] }] });
  }

  /** Produces `values` to one partition with acks=all; resolves once all are acknowledged. */
  async produce(topic: string, partition: number, values: readonly string[]): Promise<void> {
    if (this.producerClient === undefined) {
      const producer = this.skein('groups-test-producer').producer({ acks: -1, idempotent: true });
      await producer.connect();
      this.producerClient = producer;
    }
    await this.producerClient.send({ topic, messages: values.map((value) => ({ key: null, value, partition })) });
  }

  async stop(): Promise<void> {
    await this.producerClient?.disconnect().catch(() => undefined);
    await this.adminClient?.disconnect().catch(() => undefined);
    await Promise.all([...this.nodes.values()].map((n) => n.stop()));
    this.nodes.clear();
    await Promise.all(this.dirs.map((d) => rm(d, { recursive: true, force: true })));
  }
}
