/**
 * The node config field `peerUrls`: validated (node ids as keys, ws:// URLs, not the node itself),
 * and honoured: a 3-node in-process cluster whose every inter-node link goes through a LinkProxy
 * carries its Raft, controller and replication traffic there — blackholing one node's links gets that
 * node fenced while clients still reach it directly, and healing brings it back.
 */
import { expect } from 'chai';
import { rm } from 'node:fs/promises';
import { LinkProxy } from '../../chaos/link-proxy.js';
import { Skein } from '../../src/client/skein.js';
import { NodeConfigError, parseNodeConfig, type NodeConfig } from '../../src/node/node-config.js';
import { startNode, type RunningNode } from '../../src/node/node-process.js';
import { testNodeConfigs, waitFor } from '../support/test-nodes.js';

const BASE = { nodeId: 1, roles: ['controller', 'broker'], voters: [{ id: 1, url: 'ws://127.0.0.1:9092' }], listen: { port: 9092 }, dataDir: '/tmp/x' };

function configError(fn: () => unknown): NodeConfigError {
  try {
    fn();
  } catch (e) {
    expect(e).to.be.instanceOf(NodeConfigError);
    return e as NodeConfigError;
  }
  throw new Error('expected a NodeConfigError');
}

describe('node config peerUrls', () => {
  it('defaults to none and parses node id -> URL', () => {
    expect(parseNodeConfig(BASE).peerUrls.size).to.equal(0);
    const c = parseNodeConfig({ ...BASE, peerUrls: { '2': 'ws://127.0.0.1:19002', '3': 'wss://h:1' } });
    expect([...c.peerUrls]).to.deep.equal([
      [2, 'ws://127.0.0.1:19002'],
      [3, 'wss://h:1'],
    ]);
  });

  it('refuses what is not a map of other node ids to ws:// URLs', () => {
    expect(configError(() => parseNodeConfig({ ...BASE, peerUrls: ['ws://x:1'] })).field).to.equal('peerUrls');
    expect(configError(() => parseNodeConfig({ ...BASE, peerUrls: { two: 'ws://x:1' } })).field).to.equal('peerUrls.two');
    expect(configError(() => parseNodeConfig({ ...BASE, peerUrls: { '0': 'ws://x:1' } })).field).to.equal('peerUrls.0');
    expect(configError(() => parseNodeConfig({ ...BASE, peerUrls: { '1': 'ws://x:1' } })).message).to.contain("this node's own id");
    expect(configError(() => parseNodeConfig({ ...BASE, peerUrls: { '2': 'http://x:1' } })).field).to.equal('peerUrls.2');
  });
});

describe('peerUrls route every inter-node link through a proxy', function () {
  this.timeout(90_000);
  const dirs: string[] = [];
  const nodes: RunningNode[] = [];
  const proxies = new Map<string, LinkProxy>();

  after(async () => {
    await Promise.all(nodes.map((n) => n.stop()));
    await Promise.all([...proxies.values()].map((p) => p.close()));
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  });

  it('a node whose links are blackholed is fenced, though clients reach it; healed, it is back', async () => {
    const base = await testNodeConfigs(3, dirs, { clusterId: 'peerUrlsTest', overrides: { sessionTimeoutMs: 2000 } });
    const nodePorts = base.map((c) => c.listen.port);
    for (const a of base) for (const b of base) if (a.nodeId !== b.nodeId) proxies.set(`${a.nodeId}->${b.nodeId}`, await LinkProxy.start({ targetPort: b.listen.port, avoidPorts: nodePorts }));
    const configs: NodeConfig[] = base.map((c) => ({ ...c, peerUrls: new Map(base.filter((o) => o.nodeId !== c.nodeId).map((o) => [o.nodeId, (proxies.get(`${c.nodeId}->${o.nodeId}`) as LinkProxy).url])) }));
    // Every node that started is stopped by `after`, also when another failed to start.
    const started = await Promise.allSettled(configs.map((c) => startNode(c)));
    for (const s of started) if (s.status === 'fulfilled') nodes.push(s.value);
    for (const s of started) if (s.status === 'rejected') throw s.reason;

    // The view of the active controller (in-process): a cut-off node's own image would not show it fenced.
    const fencedBrokers = (): number[] | undefined => {
      const controller = nodes.find((n) => n.metadata.controller?.isActive === true);
      if (controller === undefined) return undefined;
      const image = controller.image();
      const all = [1, 2, 3].map((id) => image.broker(id));
      return all.every((b) => b !== undefined) ? all.filter((b) => b?.fenced === true).map((b) => b?.id ?? 0) : undefined;
    };
    await waitFor('three unfenced brokers', 30_000, () => (fencedBrokers()?.length === 0 ? true : undefined));
    for (const [name, p] of proxies) expect(p.accepted, `connections through ${name}`).to.be.greaterThan(0);

    // A node that is not the active controller, cut off from its peers.
    const victim = nodes.find((n) => n.metadata.controller?.isActive !== true) as RunningNode;
    const links = [...proxies].filter(([name]) => name.startsWith(`${victim.id}->`) || name.endsWith(`->${victim.id}`)).map(([, p]) => p);
    for (const p of links) p.setMode({ kind: 'blackhole' });
    await waitFor(`node ${victim.id} fenced`, 30_000, () => (fencedBrokers()?.includes(victim.id) === true ? true : undefined));
    // Clients are not partitioned: the victim still answers them directly.
    const admin = new Skein({ brokers: [victim.url], clientId: 'peer-urls-test' }).admin();
    await admin.connect();
    try {
      expect((await admin.describeCluster()).brokers).to.have.length(3);
    } finally {
      await admin.disconnect();
    }
    for (const p of links) p.setMode({ kind: 'pass' });
    await waitFor(`node ${victim.id} unfenced again`, 30_000, () => (fencedBrokers()?.length === 0 ? true : undefined));
  });
});
