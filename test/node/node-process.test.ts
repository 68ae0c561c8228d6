/**
 * The node process in-process: config validation, data-directory formatting, and a real three-node
 * cluster (each node controller+broker) on 127.0.0.1 over WebSocket with data in temp directories.
 * The cluster test elects a controller, unfences every broker, creates a topic (3 partitions, RF 3),
 * produces with acks=all to each leader and reads back, stops a node (the others keep serving after
 * leadership moves), and restarts it from its data directory (it registers again).
 *
 * Waits are bounded polls with deadlines; nothing asserts on timing. Every started node is stopped and
 * every temp directory removed in afterEach, whatever happened.
 */
import { expect } from 'chai';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openConnection } from '../../src/net/client-connection.js';
import type { Connection } from '../../src/net/connection.js';
import type { MetadataResponse, MetadataTopic } from '../../src/net/protocol.js';
import { decodeRecords, encodeRecordBatch, iterateBatches } from '../../src/partitions/record-batch.js';
import { NodeConfigError, formatOrCheckDataDir, parseNodeConfig, type NodeConfig } from '../../src/node/node-config.js';
import { startNode, type NodeOverrides, type RunningNode } from '../../src/node/node-process.js';
import { freePorts, waitFor } from '../support/test-nodes.js';

const CLUSTER_ID = 'test-cluster-1';

function expectConfigError(fn: () => unknown, field: string): void {
  try {
    fn();
  } catch (e) {
    expect(e).to.be.instanceOf(NodeConfigError);
    expect((e as NodeConfigError).field).to.equal(field);
    expect((e as Error).message).to.contain(field);
    return;
  }
  expect.fail(`expected a NodeConfigError for ${field}`);
}

const BASE = {
  nodeId: 1,
  roles: ['controller', 'broker'],
  voters: [{ id: 1, url: 'ws://127.0.0.1:9092' }],
  listen: { host: '127.0.0.1', port: 9092 },
  dataDir: '/tmp/skein-node-1',
};

describe('node config', () => {
  it('parses a valid config with defaults', () => {
    const c = parseNodeConfig(JSON.stringify({ ...BASE, flush: 'os', topicDefaults: { 'retention.ms': 1000 } }));
    expect(c.nodeId).to.equal(1);
    expect(c.roles).to.deep.equal({ controller: true, broker: true });
    expect(c.tickMs).to.equal(100);
    expect(c.topicDefaults).to.deep.equal({ 'retention.ms': '1000', flush: 'os' });
    expect(c.clusterId).to.equal(undefined);
    expect([c.sessionTimeoutMs, c.heartbeatIntervalMs, c.disconnectedSessionTimeoutMs]).to.deep.equal([9000, 500, 1000]);
  });

  it('names the bad field', () => {
    expectConfigError(() => parseNodeConfig('{'), '');
    expectConfigError(() => parseNodeConfig({ ...BASE, nodeId: 0 }), 'nodeId');
    expectConfigError(() => parseNodeConfig({ ...BASE, roles: ['leader'] }), 'roles[0]');
    expectConfigError(() => parseNodeConfig({ ...BASE, voters: [{ id: 1, url: 'http://x' }] }), 'voters[0].url');
    expectConfigError(() => parseNodeConfig({ ...BASE, voters: [{ id: 2, url: 'ws://x:1' }] }), 'voters');
    expectConfigError(() => parseNodeConfig({ ...BASE, listen: { port: 70000 } }), 'listen.port');
    expectConfigError(() => parseNodeConfig({ ...BASE, flush: 'never' }), 'flush');
    expectConfigError(() => parseNodeConfig({ ...BASE, topicDefaults: { 'retention.mss': '1' } }), 'topicDefaults.retention.mss');
    expectConfigError(() => parseNodeConfig({ ...BASE, topicDefaults: { 'min.insync.replicas': '0' } }), 'topicDefaults.min.insync.replicas');
    expectConfigError(() => parseNodeConfig({ ...BASE, tikMs: 5 }), 'tikMs');
    expectConfigError(() => parseNodeConfig({ ...BASE, clusterId: 'a b' }), 'clusterId');
    expectConfigError(() => parseNodeConfig({ ...BASE, disconnectedSessionTimeoutMs: 500 }), 'disconnectedSessionTimeoutMs'); // not above the heartbeat
    expectConfigError(() => parseNodeConfig({ ...BASE, disconnectedSessionTimeoutMs: 9001 }), 'disconnectedSessionTimeoutMs'); // above the session timeout
  });

  it('formats the data directory once and refuses another cluster id', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'skein-meta-'));
    try {
      const first = await formatOrCheckDataDir({ dataDir: dir, nodeId: 1, clusterId: undefined });
      expect(first.clusterId).to.match(/^[A-Za-z0-9_-]+$/);
      const again = await formatOrCheckDataDir({ dataDir: dir, nodeId: 1, clusterId: undefined });
      expect(again.clusterId).to.equal(first.clusterId);
      expect((await formatOrCheckDataDir({ dataDir: dir, nodeId: 1, clusterId: first.clusterId })).clusterId).to.equal(first.clusterId);
      await formatOrCheckDataDir({ dataDir: dir, nodeId: 1, clusterId: 'other' }).then(
        () => expect.fail('a mismatching cluster id must be refused'),
        (e: unknown) => expect((e as NodeConfigError).field).to.equal('clusterId'),
      );
      await formatOrCheckDataDir({ dataDir: dir, nodeId: 2, clusterId: undefined }).then(
        () => expect.fail('a mismatching node id must be refused'),
        (e: unknown) => expect((e as NodeConfigError).field).to.equal('nodeId'),
      );
      await writeFile(join(dir, 'meta.json'), 'garbage');
      await formatOrCheckDataDir({ dataDir: dir, nodeId: 1, clusterId: undefined }).then(
        () => expect.fail('a damaged meta.json must be refused'),
        (e: unknown) => expect(e).to.be.instanceOf(NodeConfigError),
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('node process: a three-node cluster', function () {
  this.timeout(90_000);

  let dirs: string[] = [];
  let nodes = new Map<number, RunningNode>();
  let clients: Connection[] = [];
  let configs = new Map<number, NodeConfig>();

  afterEach(async () => {
    for (const c of clients) c.close();
    clients = [];
    await Promise.all([...nodes.values()].map((n) => n.stop()));
    nodes = new Map();
    configs = new Map();
    overrides = {};
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
    dirs = [];
  });

  async function client(url: string): Promise<Connection> {
    const c = await openConnection({ url, clientId: 'node-process-test', connectTimeoutMs: 3000 });
    clients.push(c);
    return c;
  }

  async function metadata(nodeId: number): Promise<MetadataResponse> {
    const n = nodes.get(nodeId);
    if (n === undefined) throw new Error(`node ${nodeId} is not running`);
    const c = await client(n.url);
    try {
      return await c.request('metadata', {}, { timeoutMs: 3000 });
    } finally {
      c.close();
    }
  }

  let overrides: NodeOverrides = {};

  async function start(id: number): Promise<RunningNode> {
    const config = configs.get(id);
    if (config === undefined) throw new Error(`no config for ${id}`);
    const n = await startNode(config, overrides);
    nodes.set(id, n);
    return n;
  }

  async function setUp(): Promise<void> {
    const ports = await freePorts(3);
    const voters = ports.map((port, i) => ({ id: i + 1, url: `ws://127.0.0.1:${port}` }));
    for (const [i, port] of ports.entries()) {
      const dir = await mkdtemp(join(tmpdir(), `skein-node-${i + 1}-`));
      dirs.push(dir);
      configs.set(
        i + 1,
        parseNodeConfig({
          nodeId: i + 1,
          roles: ['controller', 'broker'],
          voters,
          listen: { host: '127.0.0.1', port },
          dataDir: dir,
          clusterId: CLUSTER_ID,
          tickMs: 50,
          electionTimeoutTicks: 10,
          sessionTimeoutMs: 3000,
          heartbeatIntervalMs: 250,
          replicaLagTimeMaxMs: 3000,
          controlledShutdownTimeoutMs: 5000,
          topicDefaults: { 'retention.ms': '3600000' },
        }),
      );
    }
    await Promise.all([1, 2, 3].map((id) => start(id)));
  }

  /** Metadata from any running node in which a controller is known and every expected broker is unfenced. */
  function clusterReady(expected: readonly number[]): Promise<MetadataResponse> {
    return waitFor(`controller and unfenced brokers ${expected.join(',')}`, 30_000, async () => {
      for (const id of nodes.keys()) {
        const m = await metadata(id).catch(() => undefined);
        if (m === undefined || m.controllerId === -1 || !nodes.has(m.controllerId)) continue;
        const unfenced = m.brokers.filter((b) => !b.fenced).map((b) => b.id);
        if (expected.every((b) => unfenced.includes(b))) return m;
      }
      return undefined;
    });
  }

  async function createTopic(name: string, numPartitions = 3): Promise<void> {
    await waitFor(`topic ${name} created`, 20_000, async () => {
      const m = await clusterReady([...nodes.keys()]);
      const controller = nodes.get(m.controllerId);
      if (controller === undefined) return undefined;
      const c = await client(controller.url);
      const answer = await c.request('controller', { kind: 'create-topics', topics: [{ name, numPartitions, replicationFactor: 3 }], validateOnly: false });
      c.close();
      const response = answer.response;
      if ('error' in response) return undefined; // NOT_CONTROLLER: try again
      if (answer.kind !== 'create-topics' || !('topics' in response)) throw new Error('unexpected answer');
      const result = response.topics[0];
      if (result === undefined) throw new Error('no result');
      if ('error' in result) throw new Error(`${result.error}: ${result.message}`);
      return true;
    });
  }

  /** The topic's metadata once every partition has a live leader (as the leader itself reports). */
  function topicLeaders(name: string, avoid?: number): Promise<Extract<MetadataTopic, { partitions: unknown }>> {
    return waitFor(`leaders of ${name}`, 30_000, async () => {
      for (const id of nodes.keys()) {
        const m = await metadata(id).catch(() => undefined);
        const t = m?.topics.find((x) => x.name === name);
        if (t === undefined || 'error' in t) continue;
        if (t.partitions.length === 3 && t.partitions.every((p) => p.leader !== -1 && p.leader !== avoid && nodes.has(p.leader))) return t;
      }
      return undefined;
    });
  }

  async function produceAndRead(topic: string, value: string, avoid?: number): Promise<void> {
    const encoder = new TextEncoder();
    for (const partition of [0, 1, 2]) {
      const text = `${value}-p${partition}`;
      const batch = encodeRecordBatch([{ key: null, value: encoder.encode(text) }], { timestampMs: Date.now() });
      // Retry while leadership and the ISR settle (NOT_LEADER_OR_FOLLOWER, a timeout while a stopped replica leaves the ISR).
      const { leader, topicId, baseOffset } = await waitFor(`produce to ${topic}:${partition}`, 30_000, async () => {
        const t = await topicLeaders(topic, avoid);
        const p = t.partitions.find((x) => x.partition === partition);
        const leaderNode = p === undefined ? undefined : nodes.get(p.leader);
        if (p === undefined || leaderNode === undefined) return undefined;
        const c = await client(leaderNode.url);
        const r = await c.request('produce', { topicId: t.topicId, partition, acks: -1, timeoutMs: 2000, records: batch }, { timeoutMs: 5000 });
        c.close();
        if ('error' in r) {
          if (r.error === 'NOT_LEADER_OR_FOLLOWER' || r.error === 'REQUEST_TIMED_OUT' || r.error === 'NOT_ENOUGH_REPLICAS' || r.error === 'FENCED_LEADER_EPOCH' || r.error === 'UNKNOWN_LEADER_EPOCH') return undefined;
          throw new Error(`${r.error}: ${r.message}`);
        }
        return { leader: leaderNode, topicId: t.topicId, baseOffset: r.baseOffset };
      });
      const c = await client(leader.url);
      const fetched = await c.request('fetch', {
        topicId,
        partition,
        replicaId: -1,
        brokerEpoch: -1,
        sequence: -1,
        fetchOffset: baseOffset,
        lastFetchedEpoch: -1,
        currentLeaderEpoch: -1,
        maxBytes: 1 << 20,
        minBytes: 1,
        maxWaitMs: 0,
      });
      c.close();
      if ('error' in fetched || 'divergingEpoch' in fetched) throw new Error(`fetch failed: ${JSON.stringify(fetched)}`);
      expect(fetched.highWatermark).to.be.greaterThan(baseOffset);
      const values: string[] = [];
      for (const { position } of iterateBatches(fetched.records)) {
        for (const r of decodeRecords(fetched.records, position)) if (r.offset === baseOffset) values.push(new TextDecoder().decode(r.value ?? new Uint8Array()));
      }
      expect(values).to.deep.equal([text]);
    }
  }

  it('elects a controller, serves produce and fetch, survives a stopped node, and takes it back', async () => {
    await setUp();
    const first = await clusterReady([1, 2, 3]);
    expect(first.clusterId).to.equal(CLUSTER_ID);
    expect(first.brokers.map((b) => b.id)).to.deep.equal([1, 2, 3]);
    for (const b of first.brokers) expect(b.endpoints[0]?.url).to.equal(nodes.get(b.id)?.url);

    // The configured topic defaults become cluster-wide defaults.
    await waitFor('topic defaults in the cluster config', 10_000, () =>
      [...nodes.values()].every((n) => n.image().clusterConfig()['retention.ms'] === '3600000') ? true : undefined,
    );

    await createTopic('events');
    await produceAndRead('events', 'before');

    // Stop the controller leader: Raft leadership and partition leadership move to the others.
    const victim = first.controllerId;
    const victimBroker = nodes.get(victim)?.image().broker(victim);
    expect(victimBroker).to.not.equal(undefined);
    await nodes.get(victim)?.stop();
    nodes.delete(victim);
    const rest = [...nodes.keys()];
    const during = await clusterReady(rest);
    expect(during.controllerId).to.not.equal(victim);
    await produceAndRead('events', 'during', victim);

    // Restart from the same data directory: the broker registers again (a new epoch) and is unfenced.
    await start(victim);
    const after = await waitFor(`node ${victim} to rejoin`, 30_000, async () => {
      const m = await clusterReady([1, 2, 3]);
      const reg = nodes.get(m.controllerId)?.image().broker(victim);
      return reg !== undefined && !reg.fenced && reg.epoch > (victimBroker?.epoch ?? 0) ? m : undefined;
    });
    expect(after.brokers.filter((b) => !b.fenced).map((b) => b.id)).to.deep.equal([1, 2, 3]);
    // Its replicas catch up and rejoin the ISR.
    await waitFor(`node ${victim} back in every ISR`, 30_000, async () => {
      const t = await topicLeaders('events');
      return t.partitions.every((p) => p.isr.includes(victim)) ? true : undefined;
    });
    await produceAndRead('events', 'after');
  });
  it('keeps heartbeats flowing and every ISR whole with more followed partitions than a connection carries requests', async () => {
    // 8 requests in flight per connection; 48 partitions, RF 3: each node follows 16 partitions of
    // each other node. One long-poll fetch per partition would need 16 slots on the connection to the
    // leader; replica-fetch needs one per fetcher (at most 4), so every partition is fetched and the
    // ISRs stay whole. The controller requests (heartbeats) have a connection of their own.
    overrides = { limits: { maxInFlightRequests: 8 } };
    await setUp();
    await clusterReady([1, 2, 3]);
    await createTopic('wide', 48);
    const wholeIsrs = async (): Promise<true | undefined> => {
      const m = await metadata([...nodes.keys()][0] as number);
      const t = m.topics.find((x) => x.name === 'wide');
      return t !== undefined && !('error' in t) && t.partitions.length === 48 && t.partitions.every((p) => p.leader > 0 && p.isr.length === 3) ? true : undefined;
    };
    await waitFor('48 partitions led, with whole ISRs', 30_000, wholeIsrs);
    // Twice the session timeout (3 s) and the replica lag limit (3 s): a starved broker would be fenced
    // and a starved follower dropped from its ISRs by then.
    await new Promise((r) => setTimeout(r, 6_500));
    const m = await clusterReady([1, 2, 3]);
    expect(m.brokers.filter((b) => b.fenced).map((b) => b.id)).to.deep.equal([]);
    expect(await wholeIsrs()).to.equal(true);
  });

  it('serves clients at any node: forwarded admin requests, the quorum, producer ids; refuses broker requests from clients', async () => {
    await setUp();
    const m = await clusterReady([1, 2, 3]);
    const follower = [...nodes.values()].find((n) => n.id !== m.controllerId);
    if (follower === undefined) throw new Error('no follower');
    const c = await client(follower.url);
    try {
      // Admin through a node that is not the controller (KIP-590 forwarding).
      const created = await waitFor('create-topics through a follower', 20_000, async () => {
        const answer = await c.request('controller', { kind: 'create-topics', topics: [{ name: 'forwarded', numPartitions: 2, replicationFactor: 3 }], validateOnly: false });
        return 'error' in answer.response ? undefined : answer;
      });
      expect(created.kind).to.equal('create-topics');
      expect(JSON.stringify(created.response)).to.not.contain('error');
      await waitFor('the topic in the follower\'s image', 10_000, () => (follower.image().topic('forwarded') !== undefined ? true : undefined));

      // A client may not act as a broker.
      const refused = await c.request('controller', { kind: 'allocate-producer-ids', brokerId: follower.id, brokerEpoch: 1 });
      expect(refused.response).to.include({ error: 'INVALID_REQUEST' });

      // The quorum, answered by the Raft leader whichever node is asked.
      const quorum = await waitFor('describe-quorum', 10_000, async () => {
        const q = await c.request('describe-quorum', {});
        return 'error' in q ? undefined : q;
      });
      expect(quorum.leaderId).to.equal(nodes.get(quorum.leaderId)?.metadata.raft.status().leader);
      expect(quorum.voters.map((v) => v.id)).to.deep.equal([1, 2, 3]);
      expect(quorum.highWatermark).to.be.greaterThan(0);
      expect(quorum.voters.find((v) => v.id === quorum.leaderId)).to.include({ lag: 0, lastContactMs: 0 });

      // Producer ids: distinct across requests and across brokers (each broker takes its own block).
      const ids: number[] = [];
      for (const node of nodes.values()) {
        const other = await client(node.url);
        for (let i = 0; i < 3; i++) {
          const answer = await waitFor('init-producer-id', 10_000, async () => {
            const r = await other.request('init-producer-id', {});
            return 'error' in r ? undefined : r;
          });
          expect(answer.producerEpoch).to.equal(0);
          ids.push(answer.producerId);
        }
        other.close();
      }
      expect(new Set(ids).size).to.equal(ids.length);

      // Raft messages in another node's name are dropped: from a client, and from a peer claiming another id.
      const termBefore = follower.metadata.raft.status().term;
      // A heartbeat of a higher term would make the follower adopt that term (Raft §5.1) if accepted.
      const forged = { type: 'heartbeat' as const, from: follower.id === 2 ? 3 : 2, to: follower.id, term: termBefore + 1000, commitIndex: 0, commitTerm: 0, leaderLastIndex: 0 };
      c.sendRaft(forged);
      const impostor = await openConnection({ url: follower.url, clientId: 'impostor', nodeId: 7 });
      impostor.sendRaft(forged);
      await c.request('metadata', { topics: [] }); // after the Raft frames on this connection
      await impostor.request('metadata', { topics: [] });
      impostor.close();
      expect(follower.metadata.raft.status().term).to.be.below(termBefore + 1000);
    } finally {
      c.close();
    }
  });
});
