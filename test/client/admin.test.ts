/**
 * The admin client against a real 3-node cluster in-process: topics (create — with validateOnly,
 * waitForLeaders and "already exists" -> false —, list, metadata, delete), partitions, configs
 * (describe with sources, incremental alter, invalid values), offsets (high watermark, log start, by
 * timestamp, after producing through the client's producer), the cluster and the controller quorum,
 * and input checks that reject before anything is sent.
 */
import { expect } from 'chai';
import { Skein } from '../../src/client/skein.js';
import { ConfigResourceType, type Admin } from '../../src/client/admin.js';
import type { Producer } from '../../src/client/producer.js';
import { InvalidArgumentError, InvalidConfigError, InvalidPartitionsError, UnknownTopicError } from '../../src/client/errors.js';
import { ClientTestCluster } from '../support/client-test-cluster.js';
import { rejection } from '../support/promises.js';

describe('client admin (3 nodes)', function () {
  this.timeout(60_000);

  let cluster: ClientTestCluster;
  let admin: Admin;
  let producer: Producer | undefined;
  let skein: Skein;

  before(async () => {
    cluster = await ClientTestCluster.start(3);
    skein = new Skein({ brokers: cluster.urls, clientId: 'admin-test', requestTimeoutMs: 5000 });
    admin = skein.admin();
    await admin.connect();
  });

  after(async () => {
    await producer?.disconnect().catch(() => undefined);
    await admin?.disconnect();
    await cluster?.stop();
  });

  it('creates, lists, describes and deletes topics', async () => {
    expect(await admin.createTopics({ topics: [{ topic: 'dry-run', numPartitions: 2, replicationFactor: 3 }], validateOnly: true })).to.equal(true);
    expect(await admin.listTopics()).to.not.include('dry-run');

    expect(await admin.createTopics({ topics: [{ topic: 'orders', numPartitions: 3, replicationFactor: 3 }, { topic: 'audit', numPartitions: 1, replicationFactor: 2 }] })).to.equal(true);
    // waitForLeaders (the default): every partition already has a leader.
    const { topics } = await admin.fetchTopicMetadata({ topics: ['orders', 'audit'] });
    expect(topics.map((t) => t.name)).to.deep.equal(['audit', 'orders']);
    const orders = topics.find((t) => t.name === 'orders')!;
    expect(orders.topicId).to.be.a('string').and.not.equal('');
    expect(orders.partitions.map((p) => p.partitionId)).to.deep.equal([0, 1, 2]);
    for (const p of orders.partitions) {
      expect(p.leader).to.be.oneOf([1, 2, 3]);
      expect([...p.replicas].sort()).to.deep.equal([1, 2, 3]);
      expect(p.isr).to.include(p.leader);
      expect(p.offlineReplicas).to.deep.equal([]);
    }
    expect(topics.find((t) => t.name === 'audit')!.partitions[0]!.replicas).to.have.length(2);

    // Already there: false, as KafkaJS.
    expect(await admin.createTopics({ topics: [{ topic: 'orders', numPartitions: 3, replicationFactor: 3 }] })).to.equal(false);
    expect(await admin.listTopics()).to.include.members(['orders', 'audit']);
    expect((await admin.fetchTopicMetadata()).topics.map((t) => t.name)).to.include.members(['orders', 'audit']);

    // Let the leader finish opening its replica first: a delete that races a replica's creation can
    // make a broker fail ("the log is closed" in becomeLeader) — a broker-side race, not the client's.
    expect(await cluster.records('audit', 0)).to.deep.equal([]);
    await admin.deleteTopics({ topics: ['audit'] });
    expect(await admin.listTopics()).to.not.include('audit');
    expect(await rejection(admin.fetchTopicMetadata({ topics: ['audit'] }))).to.be.instanceOf(UnknownTopicError);
    const again = await rejection(admin.deleteTopics({ topics: ['audit'] }));
    expect(again).to.be.instanceOf(UnknownTopicError);
    expect((again as UnknownTopicError).retriable).to.equal(false);
  });

  it('adds partitions and refuses to shrink', async () => {
    await admin.createTopics({ topics: [{ topic: 'growing', numPartitions: 1, replicationFactor: 3 }] });
    await admin.createPartitions({ topicPartitions: [{ topic: 'growing', count: 3 }] });
    const { topics } = await admin.fetchTopicMetadata({ topics: ['growing'] });
    expect(topics[0]!.partitions.map((p) => p.partitionId)).to.deep.equal([0, 1, 2]);
    expect(await rejection(admin.createPartitions({ topicPartitions: [{ topic: 'growing', count: 2 }] }))).to.be.instanceOf(InvalidPartitionsError);
    expect(await rejection(admin.createPartitions({ topicPartitions: [{ topic: 'nope', count: 2 }] }))).to.be.instanceOf(UnknownTopicError);
  });

  it('describes and alters configs incrementally, with their sources', async () => {
    await admin.createTopics({ topics: [{ topic: 'configured', numPartitions: 1, replicationFactor: 3, configEntries: [{ name: 'retention.ms', value: '60000' }] }] });
    const describe = async (): Promise<Map<string, { value: string; source: string }>> => {
      const { resources } = await admin.describeConfigs({ resources: [{ type: ConfigResourceType.TOPIC, name: 'configured' }] });
      expect(resources).to.have.length(1);
      expect(resources[0]!.resourceName).to.equal('configured');
      return new Map(resources[0]!.configEntries.map((e) => [e.configName, { value: e.configValue, source: e.configSource }]));
    };
    const before = await describe();
    expect(before.get('retention.ms')).to.deep.equal({ value: '60000', source: 'topic' });
    expect(before.get('cleanup.policy')?.source).to.equal('default');

    await admin.alterConfigs({ resources: [{ type: ConfigResourceType.TOPIC, name: 'configured', configEntries: [{ name: 'segment.bytes', value: '2097152' }] }] });
    const altered = await describe();
    expect(altered.get('segment.bytes')).to.deep.equal({ value: '2097152', source: 'topic' });
    expect(altered.get('retention.ms')).to.deep.equal({ value: '60000', source: 'topic' }); // incremental: kept

    await admin.alterConfigs({ resources: [{ type: ConfigResourceType.TOPIC, name: 'configured', configEntries: [{ name: 'retention.ms', value: null }] }] });
    expect((await describe()).get('retention.ms')?.source).to.not.equal('topic');

    // validateOnly changes nothing.
    await admin.alterConfigs({ validateOnly: true, resources: [{ type: ConfigResourceType.TOPIC, name: 'configured', configEntries: [{ name: 'segment.bytes', value: '4194304' }] }] });
    expect((await describe()).get('segment.bytes')?.value).to.equal('2097152');

    const bad = await rejection(admin.alterConfigs({ resources: [{ type: ConfigResourceType.TOPIC, name: 'configured', configEntries: [{ name: 'retention.ms', value: 'soon' }] }] }));
    expect(bad).to.be.instanceOf(InvalidConfigError);

    // Only the names asked for; and the cluster-wide defaults as a resource.
    const only = await admin.describeConfigs({ resources: [{ type: ConfigResourceType.TOPIC, name: 'configured', configNames: ['segment.bytes'] }] });
    expect(only.resources[0]!.configEntries.map((e) => e.configName)).to.deep.equal(['segment.bytes']);
    const clusterWide = await admin.describeConfigs({ resources: [{ type: ConfigResourceType.CLUSTER, name: '' }] });
    expect(clusterWide.resources[0]!.resourceType).to.equal(ConfigResourceType.CLUSTER);

    expect(await rejection(admin.createTopics({ topics: [{ topic: 'bad-config', configEntries: [{ name: 'retention.mss', value: '1' }] }] }))).to.be.instanceOf(InvalidConfigError);
  });

  it('reports offsets: the high watermark, the log start, and by timestamp', async () => {
    await admin.createTopics({ topics: [{ topic: 'offsets', numPartitions: 2, replicationFactor: 3 }] });
    expect(await admin.fetchTopicOffsets('offsets')).to.deep.equal([
      { partition: 0, offset: 0, high: 0, low: 0 },
      { partition: 1, offset: 0, high: 0, low: 0 },
    ]);
    producer = skein.producer();
    await producer.connect();
    await producer.send({
      topic: 'offsets',
      messages: [
        { value: 'a', partition: 0, timestamp: 1000 },
        { value: 'b', partition: 0, timestamp: 2000 },
        { value: 'c', partition: 0, timestamp: 3000 },
        { value: 'd', partition: 1, timestamp: 5000 },
      ],
    });
    expect(await admin.fetchTopicOffsets('offsets')).to.deep.equal([
      { partition: 0, offset: 3, high: 3, low: 0 },
      { partition: 1, offset: 1, high: 1, low: 0 },
    ]);
    expect(await admin.fetchTopicOffsetsByTimestamp('offsets', 1500)).to.deep.equal([
      { partition: 0, offset: 1 },
      { partition: 1, offset: 0 },
    ]);
    // Nothing at or after the timestamp: the high watermark.
    expect(await admin.fetchTopicOffsetsByTimestamp('offsets', 4000)).to.deep.equal([
      { partition: 0, offset: 3 },
      { partition: 1, offset: 0 },
    ]);
    expect(await rejection(admin.fetchTopicOffsets('missing-topic'))).to.be.instanceOf(UnknownTopicError);
  });

  it('describes the cluster and the controller quorum', async () => {
    const c = await admin.describeCluster();
    expect(c.clusterId).to.equal('client-test');
    expect(c.brokers.map((b) => b.nodeId)).to.deep.equal([1, 2, 3]);
    expect(c.brokers.map((b) => b.url).sort()).to.deep.equal([...cluster.urls].sort());
    expect(c.brokers.every((b) => !b.fenced)).to.equal(true);
    expect(c.controller).to.be.oneOf([1, 2, 3]);

    const q = await admin.describeQuorum();
    expect(q.leaderId).to.be.oneOf([1, 2, 3]);
    expect(q.term).to.be.at.least(1);
    expect(q.highWatermark).to.be.at.least(1);
    expect(q.voters.map((v) => v.id).sort()).to.deep.equal([1, 2, 3]);
    const leader = q.voters.find((v) => v.id === q.leaderId)!;
    expect(leader.lag).to.equal(0);
    for (const v of q.voters) expect(v.logEndOffset).to.be.at.most(leader.logEndOffset);
  });

  it('rejects bad input before sending anything', async () => {
    const bad: Array<[string, () => Promise<unknown>]> = [
      ['no topics', () => admin.createTopics({ topics: [] })],
      ['empty name', () => admin.createTopics({ topics: [{ topic: '' }] })],
      ['illegal name', () => admin.createTopics({ topics: [{ topic: 'has space' }] })],
      ['reserved name', () => admin.createTopics({ topics: [{ topic: '__internal' }] })],
      ['fractional partitions', () => admin.createTopics({ topics: [{ topic: 'x', numPartitions: 1.5 }] })],
      ['zero partitions', () => admin.createTopics({ topics: [{ topic: 'x', numPartitions: 0 }] })],
      ['bad replication factor', () => admin.createTopics({ topics: [{ topic: 'x', replicationFactor: -3 }] })],
      ['duplicate topic', () => admin.createTopics({ topics: [{ topic: 'x' }, { topic: 'x' }] })],
      ['config value not a string', () => admin.createTopics({ topics: [{ topic: 'x', configEntries: [{ name: 'retention.ms', value: 5 as never }] }] })],
      ['delete nothing', () => admin.deleteTopics({ topics: [] })],
      ['partitions without count', () => admin.createPartitions({ topicPartitions: [{ topic: 'x' } as never] })],
      ['unknown resource type', () => admin.describeConfigs({ resources: [{ type: 3 as never, name: 'x' }] })],
      ['bad timestamp', () => admin.fetchTopicOffsetsByTimestamp('x', -5)],
    ];
    for (const [what, call] of bad) {
      const error = await rejection(call());
      expect(error, what).to.be.instanceOf(InvalidArgumentError);
    }
    expect(await admin.listTopics()).to.not.include('x');
  });
});
