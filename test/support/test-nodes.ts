/**
 * What every in-process cluster of the tests needs: free ports on 127.0.0.1, bounded polling, and the
 * configs of an N-node cluster (each node controller+broker, data in a temporary directory, fast
 * timeouts). The cluster helpers (client, consumer, groups, browser) build on these.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePorts, waitFor } from '../../chaos/harness.js';
import { openConnection } from '../../src/net/client-connection.js';
import type { Connection } from '../../src/net/connection.js';
import type { MetadataResponse } from '../../src/net/protocol.js';
import { parseNodeConfig, type NodeConfig } from '../../src/node/node-config.js';
import { startNode, type RunningNode } from '../../src/node/node-process.js';

/** The harnesses' (chaos/harness.ts): one implementation for the tests and the tools. */
export { freePorts, waitFor };

/** Polls a synchronous condition every 5 ms until it holds (for tests driving fakes in memory). */
export async function waitUntil(what: string, condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  await waitFor(what, timeoutMs, () => (condition() ? true : undefined), 5);
}

/**
 * The configs of an `n`-node cluster (node ids 1..n) on free ports. Each data directory is created
 * under the OS temp dir and pushed on `dirs` at once, so the caller removes it even if a later step
 * fails. `overrides` replace config fields (timeouts, topicDefaults, ...).
 */
export async function testNodeConfigs(
  n: number,
  dirs: string[],
  options: { readonly clusterId: string; readonly overrides?: Readonly<Record<string, unknown>> },
): Promise<NodeConfig[]> {
  const ports = await freePorts(n);
  const voters = ports.map((port, i) => ({ id: i + 1, url: `ws://127.0.0.1:${port}` }));
  const configs: NodeConfig[] = [];
  for (const [i, port] of ports.entries()) {
    const dir = await mkdtemp(join(tmpdir(), `skein-${options.clusterId}-${i + 1}-`));
    dirs.push(dir);
    configs.push(
      parseNodeConfig({
        nodeId: i + 1,
        roles: ['controller', 'broker'],
        voters,
        listen: { host: '127.0.0.1', port },
        dataDir: dir,
        clusterId: options.clusterId,
        tickMs: 50,
        electionTimeoutTicks: 10,
        sessionTimeoutMs: 3000,
        heartbeatIntervalMs: 250,
        replicaLagTimeMaxMs: 3000,
        controlledShutdownTimeoutMs: 3000,
        ...options.overrides,
      }),
    );
  }
  return configs;
}

/**
 * Nodes of one in-process cluster, their configs and directories, and one support connection per
 * node: what the test clusters (client, consumer) share. `stop()` closes and removes everything,
 * whatever happened; it is safe on a half-started cluster.
 */
export abstract class InProcessCluster {
  readonly nodes = new Map<number, RunningNode>();
  protected readonly configs = new Map<number, NodeConfig>();
  protected readonly dirs: string[] = [];
  private readonly connections = new Map<string, Promise<Connection>>();

  protected constructor(private readonly supportClientId: string) {}

  /** Starts every configured node and waits for a controller and all brokers unfenced. */
  protected async startAll(configs: readonly NodeConfig[]): Promise<void> {
    for (const config of configs) this.configs.set(config.nodeId, config);
    await Promise.all([...this.configs.keys()].map((id) => this.startNode(id)));
    await this.ready([...this.configs.keys()]);
  }

  /** Metadata as some live node answers it. */
  abstract metadata(topics?: string[]): Promise<MetadataResponse>;

  /** Client URLs of the running nodes. */
  get urls(): string[] {
    return [...this.nodes.values()].map((n) => n.url);
  }

  async startNode(id: number): Promise<RunningNode> {
    const config = this.configs.get(id);
    if (config === undefined) throw new Error(`no node ${id}`);
    const node = await startNode(config);
    this.nodes.set(id, node);
    return node;
  }

  async stopNode(id: number): Promise<void> {
    const node = this.nodes.get(id);
    this.nodes.delete(id);
    await node?.stop();
  }

  async stop(): Promise<void> {
    const all = [...this.connections.values()];
    this.connections.clear();
    await Promise.all(all.map((p) => p.then((c) => c.close(), () => undefined)));
    await Promise.all([...this.nodes.values()].map((n) => n.stop()));
    this.nodes.clear();
    await Promise.all(this.dirs.map((d) => rm(d, { recursive: true, force: true })));
  }

  /** Waits for an elected controller and the given brokers unfenced, as some live node sees it. */
  ready(brokers: readonly number[]): Promise<MetadataResponse> {
    return waitFor(`controller and unfenced brokers ${brokers.join(',')}`, 30_000, async () => {
      const m = await this.metadata([]);
      const unfenced = m.brokers.filter((b) => !b.fenced).map((b) => b.id);
      return m.controllerId !== -1 && this.nodes.has(m.controllerId) && brokers.every((b) => unfenced.includes(b)) ? m : undefined;
    });
  }

  /** The support connection to `url` (reopened after a loss). */
  protected async connection(url: string): Promise<Connection> {
    const existing = this.connections.get(url);
    if (existing !== undefined) {
      const c = await existing.catch(() => undefined);
      if (c?.isOpen === true) return c;
    }
    const opening = openConnection({ url, clientId: this.supportClientId, connectTimeoutMs: 3000 });
    this.connections.set(url, opening);
    opening.catch(() => this.connections.delete(url));
    return opening;
  }
}
