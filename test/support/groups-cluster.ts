/**
 * A real three-node Skein cluster in-process for the consumer-group server tests (the approach of
 * test/node/node-process.test.ts): each node controller+broker on 127.0.0.1 with free ports and
 * temporary data directories, fast timeouts. Raw requests over `openConnection` to a chosen node or to
 * any running one. `stop()` stops every node, closes every connection and removes every directory.
 */
import { testNodeConfigs, waitFor } from './test-nodes.js';
export { freePorts, waitFor } from './test-nodes.js';
import { rm } from 'node:fs/promises';
import { openConnection } from '../../src/net/client-connection.js';
import type { Connection } from '../../src/net/connection.js';
import type { RequestKind, RequestMap } from '../../src/net/protocol.js';
import type { CreateTopicsResponse } from '../../src/metadata/rpc.js';
import type { NodeConfig } from '../../src/node/node-config.js';
import { startNode, type NodeOverrides, type RunningNode } from '../../src/node/node-process.js';

export class GroupsTestCluster {
  readonly nodes = new Map<number, RunningNode>();
  private readonly configs = new Map<number, NodeConfig>();
  private readonly dirs: string[] = [];
  private readonly connections = new Map<string, Promise<Connection>>();

  private constructor(private readonly overrides: NodeOverrides) {}

  static async start(overrides: NodeOverrides = {}): Promise<GroupsTestCluster> {
    const cluster = new GroupsTestCluster(overrides);
    try {
      for (const config of await testNodeConfigs(3, cluster.dirs, { clusterId: 'groups-test', overrides: { sessionTimeoutMs: 2000, heartbeatIntervalMs: 200, replicaLagTimeMaxMs: 2000 } })) cluster.configs.set(config.nodeId, config);
      await Promise.all([...cluster.configs.keys()].map(async (id) => cluster.nodes.set(id, await startNode(cluster.configs.get(id) as NodeConfig, overrides))));
      await cluster.ready([1, 2, 3]);
      return cluster;
    } catch (e) {
      await cluster.stop();
      throw e;
    }
  }

  node(id: number): RunningNode {
    const n = this.nodes.get(id);
    if (n === undefined) throw new Error(`node ${id} is not running`);
    return n;
  }

  async stopNode(id: number): Promise<void> {
    const n = this.nodes.get(id);
    this.nodes.delete(id);
    await n?.stop();
  }

  async restartNode(id: number): Promise<RunningNode> {
    const n = await startNode(this.configs.get(id) as NodeConfig, this.overrides);
    this.nodes.set(id, n);
    return n;
  }

  async stop(): Promise<void> {
    const all = [...this.connections.values()];
    this.connections.clear();
    await Promise.all(all.map((p) => p.then((c) => c.close(), () => undefined)));
    await Promise.all([...this.nodes.values()].map((n) => n.stop()));
    this.nodes.clear();
    await Promise.all(this.dirs.map((d) => rm(d, { recursive: true, force: true })));
  }

  private async connection(url: string): Promise<Connection> {
    const existing = this.connections.get(url);
    if (existing !== undefined) {
      const c = await existing.catch(() => undefined);
      if (c?.isOpen === true) return c;
    }
    const opening = openConnection({ url, clientId: 'groups-test', connectTimeoutMs: 3000 });
    this.connections.set(url, opening);
    opening.catch(() => this.connections.delete(url));
    return opening;
  }

  /** One request to the node at `url` (as a client: node id 0). */
  async requestUrl<K extends RequestKind>(url: string, kind: K, body: RequestMap[K]['request']): Promise<RequestMap[K]['response']> {
    const c = await this.connection(url);
    return c.request(kind, body, { timeoutMs: 10_000 });
  }

  request<K extends RequestKind>(nodeId: number, kind: K, body: RequestMap[K]['request']): Promise<RequestMap[K]['response']> {
    return this.requestUrl(this.node(nodeId).url, kind, body);
  }

  /** Waits for an elected controller and the given brokers unfenced, as every running node sees it. */
  ready(brokers: readonly number[]): Promise<number> {
    return waitFor(`controller and unfenced brokers ${brokers.join(',')}`, 30_000, async () => {
      let controller: number | undefined;
      for (const id of this.nodes.keys()) {
        const m = await this.request(id, 'metadata', { topics: [] });
        const unfenced = m.brokers.filter((b) => !b.fenced).map((b) => b.id);
        if (m.controllerId === -1 || !this.nodes.has(m.controllerId) || !brokers.every((b) => unfenced.includes(b))) return undefined;
        controller = m.controllerId;
      }
      return controller;
    });
  }

  /** Creates a topic through the active controller (as a client). */
  async createTopic(name: string, numPartitions: number): Promise<void> {
    await waitFor(`topic ${name} created`, 20_000, async () => {
      const controller = await this.ready([...this.nodes.keys()]);
      const answer = await this.request(controller, 'controller', { kind: 'create-topics', topics: [{ name, numPartitions, replicationFactor: 3 }], validateOnly: false });
      const response = answer.response;
      if ('error' in response) return undefined;
      const result = (response as CreateTopicsResponse).topics[0];
      if (result === undefined) throw new Error('no result');
      if ('error' in result) throw new Error(`${result.error}: ${result.message}`);
      return true;
    });
    // Every partition has a leader on a running node, as every node sees it.
    await waitFor(`leaders of ${name}`, 30_000, () => {
      for (const n of this.nodes.values()) {
        const t = n.image().topic(name);
        if (t === undefined || t.partitions.size !== numPartitions || [...t.partitions.values()].some((p) => !this.nodes.has(p.leader))) return undefined;
      }
      return true;
    });
  }
}
