/**
 * Consumer groups on a real three-node cluster (in-process nodes, real WebSocket connections, real
 * disk), driven with raw requests as a client would send them: FindCoordinator creates
 * `__consumer_offsets` (compacted, RF 3, min ISR 2) and names the leader of the group's partition; two
 * members split a topic's partitions, the second getting its share only after the first confirmed the
 * revocation; offsets are committed (fenced by epoch) and fetched; stopping the coordinator moves the
 * group to the new leader of its offsets partition with members and offsets intact; describe, list
 * and delete work at the coordinator; clients may not create internal topics.
 *
 * Waits are bounded polls; nothing asserts on timing. The cluster is stopped in afterEach.
 */
import { expect } from 'chai';
import { OFFSETS_TOPIC, offsetsPartitionFor } from '../../src/groups/coordinator-key.js';
import type { ConsumerGroupHeartbeatRequest, ConsumerGroupHeartbeatResponse, FetchedOffset, GroupDescription, TopicPartitions } from '../../src/groups/rpc.js';
import type { GroupErrorCode } from '../../src/groups/errors.js';
import type { RequestKind, RequestMap } from '../../src/net/protocol.js';
import { decodeRecords, iterateBatches } from '../../src/partitions/record-batch.js';
import { GroupsTestCluster, waitFor } from '../support/groups-cluster.js';

const GROUP = 'payments';
const TOPIC = 'orders';
/** Answers a client retries (after finding the coordinator again). */
const RETRY: ReadonlySet<GroupErrorCode> = new Set(['COORDINATOR_NOT_AVAILABLE', 'NOT_COORDINATOR', 'COORDINATOR_LOAD_IN_PROGRESS', 'REQUEST_TIMED_OUT']);

type Ok<T> = Exclude<T, { error: unknown }>;

describe('consumer groups on a three-node cluster', function () {
  this.timeout(120_000);
  let cluster: GroupsTestCluster | undefined;

  afterEach(async () => {
    await cluster?.stop();
    cluster = undefined;
  });

  /** FindCoordinator at any running node until it names a running node. */
  function findCoordinator(c: GroupsTestCluster, groupId: string, avoid?: number): Promise<{ nodeId: number; url: string }> {
    return waitFor(`the coordinator of ${groupId}`, 30_000, async () => {
      for (const id of c.nodes.keys()) {
        const r = await c.request(id, 'find-coordinator', { groupId });
        if ('error' in r) {
          expect(RETRY.has(r.error), `${r.error}: ${r.message}`).to.equal(true);
          continue;
        }
        if (c.nodes.has(r.nodeId) && r.nodeId !== avoid) return r;
      }
      return undefined;
    });
  }

  /** A group request at the group's coordinator, retried (finding it again) while the answer says so. */
  function atCoordinator<K extends Extract<RequestKind, 'consumer-group-heartbeat' | 'offset-commit' | 'offset-fetch'>>(
    c: GroupsTestCluster,
    kind: K,
    body: RequestMap[K]['request'],
  ): Promise<RequestMap[K]['response']> {
    return waitFor(`${kind} at the coordinator`, 30_000, async () => {
      const { url } = await findCoordinator(c, body.groupId);
      const r = await c.requestUrl(url, kind, body);
      if ('error' in r && RETRY.has(r.error)) return undefined;
      return r;
    });
  }

  function hb(memberId: string, memberEpoch: number, extra: Partial<ConsumerGroupHeartbeatRequest> = {}): ConsumerGroupHeartbeatRequest {
    return { groupId: GROUP, memberId, memberEpoch, instanceId: '', clientId: 'groups-test', rebalanceTimeoutMs: 60_000, sessionTimeoutMs: 30_000, assignor: '', ...extra };
  }

  async function heartbeat(c: GroupsTestCluster, req: ConsumerGroupHeartbeatRequest): Promise<Ok<ConsumerGroupHeartbeatResponse>> {
    const r = await atCoordinator(c, 'consumer-group-heartbeat', req);
    if ('error' in r) expect.fail(`heartbeat of ${req.memberId}: ${r.error}: ${r.message}`);
    return r;
  }

  const partitionsOf = (a: readonly TopicPartitions[] | undefined): number[] => (a ?? []).flatMap((t) => t.partitions).sort((x, y) => x - y);

  /** Two members join and split the topic's 4 partitions; returns each one's epoch and partitions. */
  async function twoMembers(c: GroupsTestCluster): Promise<{ a: { epoch: number; owns: number[] }; b: { epoch: number; owns: number[] } }> {
    const a1 = await heartbeat(c, hb('member-a', 0, { subscribedTopics: [TOPIC], ownedPartitions: [] }));
    expect(a1.memberEpoch).to.equal(1);
    expect(partitionsOf(a1.assignment)).to.deep.equal([0, 1, 2, 3]);
    expect(a1.heartbeatIntervalMs).to.equal(3000);

    const b1 = await heartbeat(c, hb('member-b', 0, { subscribedTopics: [TOPIC], ownedPartitions: [] }));
    expect(b1.memberEpoch).to.equal(2);
    expect(partitionsOf(b1.assignment)).to.deep.equal([]); // all still a's

    const a2 = await heartbeat(c, hb('member-a', 1));
    expect(a2.memberEpoch).to.equal(1); // revoking: the epoch waits
    const aKeeps = partitionsOf(a2.assignment);
    expect(aKeeps).to.have.length(2);
    expect(partitionsOf((await heartbeat(c, hb('member-b', 2))).assignment)).to.deep.equal([]);
    const a3 = await heartbeat(c, hb('member-a', 1, { ownedPartitions: [{ topic: TOPIC, partitions: aKeeps }] }));
    expect(a3.memberEpoch).to.equal(2);
    const b2 = await heartbeat(c, hb('member-b', 2));
    const bOwns = partitionsOf(b2.assignment);
    expect([...aKeeps, ...bOwns].sort()).to.deep.equal([0, 1, 2, 3]);
    await heartbeat(c, hb('member-b', 2, { ownedPartitions: [{ topic: TOPIC, partitions: bOwns }] }));
    return { a: { epoch: 2, owns: aKeeps }, b: { epoch: 2, owns: bOwns } };
  }

  it('creates the offsets topic, splits partitions, keeps offsets, and moves with the offsets partition leader', async () => {
    cluster = await GroupsTestCluster.start();
    const c = cluster;
    await c.createTopic(TOPIC, 4);

    // FindCoordinator creates __consumer_offsets, as the coordinator side decides.
    const coordinator = await findCoordinator(c, GROUP);
    for (const n of c.nodes.values()) {
      const t = n.image().topic(OFFSETS_TOPIC);
      expect(t?.partitions.size).to.equal(8);
      for (const p of t?.partitions.values() ?? []) expect(p.replicas).to.have.length(3);
      expect(n.image().topicConfig(OFFSETS_TOPIC)).to.deep.equal({ 'cleanup.policy': 'compact', 'min.insync.replicas': '2' });
    }
    const offsetsPartition = offsetsPartitionFor(GROUP, 8);
    expect(c.node(coordinator.nodeId).image().topic(OFFSETS_TOPIC)?.partitions.get(offsetsPartition)?.leader).to.equal(coordinator.nodeId);
    expect(coordinator.url).to.equal(c.node(coordinator.nodeId).url);

    const { a, b } = await twoMembers(c);

    // Commits: each member its own partitions; a stale epoch is refused.
    const commit = (memberId: string, memberEpoch: number, partitions: number[]): Promise<RequestMap['offset-commit']['response']> =>
      atCoordinator(c, 'offset-commit', { groupId: GROUP, memberId, memberEpoch, offsets: partitions.map((p) => ({ topic: TOPIC, partition: p, offset: 100 + p, leaderEpoch: 0, metadata: `by ${memberId}` })) });
    expect(await commit('member-a', a.epoch, a.owns)).to.deep.equal({ results: a.owns.map((p) => ({ topic: TOPIC, partition: p })) });
    expect(await commit('member-b', b.epoch, b.owns)).to.deep.equal({ results: b.owns.map((p) => ({ topic: TOPIC, partition: p })) });
    expect(await commit('member-a', 1, a.owns)).to.have.property('error', 'STALE_MEMBER_EPOCH');
    expect(await commit('nobody', 2, a.owns)).to.have.property('error', 'UNKNOWN_MEMBER_ID');
    expect(await commit('', -1, a.owns)).to.have.property('error', 'UNKNOWN_MEMBER_ID'); // the group has members
    const expected: FetchedOffset[] = [0, 1, 2, 3].map((p) => ({ topic: TOPIC, partition: p, offset: 100 + p, leaderEpoch: 0, metadata: `by ${a.owns.includes(p) ? 'member-a' : 'member-b'}` }));
    expect(await atCoordinator(c, 'offset-fetch', { groupId: GROUP })).to.deep.equal({ offsets: expected });

    // The commits are records of the group's offsets partition, replicated: read them back raw.
    const offsetsTopicId = c.node(coordinator.nodeId).image().topic(OFFSETS_TOPIC)?.id ?? '';
    const fetched = await c.request(coordinator.nodeId, 'fetch', {
      topicId: offsetsTopicId,
      partition: offsetsPartition,
      replicaId: -1,
      brokerEpoch: -1,
      sequence: -1,
      fetchOffset: 0,
      lastFetchedEpoch: -1,
      currentLeaderEpoch: -1,
      maxBytes: 1 << 20,
      minBytes: 0,
      maxWaitMs: 0,
    });
    if ('error' in fetched || 'divergingEpoch' in fetched) expect.fail(JSON.stringify(fetched));
    const keys = [...iterateBatches(fetched.records)].flatMap(({ position }) => decodeRecords(fetched.records, position).map((r) => new TextDecoder().decode(r.key ?? new Uint8Array())));
    expect(keys).to.include.members([`g/${GROUP}`, `o/${GROUP}/${TOPIC}/0`, `o/${GROUP}/${TOPIC}/3`]);

    // Stop the coordinator: the offsets partition gets a new leader, which loads the group.
    await c.stopNode(coordinator.nodeId);
    const moved = await findCoordinator(c, GROUP, coordinator.nodeId);
    expect(moved.nodeId).to.not.equal(coordinator.nodeId);
    expect(await atCoordinator(c, 'offset-fetch', { groupId: GROUP })).to.deep.equal({ offsets: expected });
    // The members carry on at their epochs (sessions restart at the new coordinator).
    const aAfter = await heartbeat(c, hb('member-a', a.epoch));
    expect(aAfter.memberEpoch).to.equal(a.epoch);
    expect(await heartbeat(c, hb('member-b', b.epoch))).to.have.property('memberEpoch', b.epoch);
    const described = await c.requestUrl(moved.url, 'describe-groups', { groupIds: [GROUP] });
    const g = described.groups[0] as GroupDescription;
    expect(g.state).to.equal('stable');
    expect(g.groupEpoch).to.equal(2);
    expect(g.members.map((m) => [m.memberId, partitionsOf(m.assignment)])).to.deep.equal([
      ['member-a', a.owns],
      ['member-b', b.owns],
    ]);
    // New commits work at the new coordinator (acks=all on the two remaining replicas).
    expect(await commit('member-a', a.epoch, [a.owns[0] ?? 0])).to.have.property('results');
  });

  it('describes, lists and deletes groups at their coordinator; refuses internal topics from clients', async () => {
    cluster = await GroupsTestCluster.start();
    const c = cluster;
    await c.createTopic(TOPIC, 4);
    const coordinator = await findCoordinator(c, GROUP);
    await twoMembers(c);
    await atCoordinator(c, 'offset-commit', { groupId: GROUP, memberId: 'member-a', memberEpoch: 2, offsets: [{ topic: TOPIC, partition: 0, offset: 7, leaderEpoch: 0, metadata: '' }] });

    // Each broker lists the groups it coordinates: only the coordinator lists this one.
    for (const id of c.nodes.keys()) {
      const listed = await c.request(id, 'list-groups', {});
      expect(listed.groups, `node ${id}`).to.deep.equal(id === coordinator.nodeId ? [{ groupId: GROUP, state: 'stable', members: 2 }] : []);
    }
    const other = [...c.nodes.keys()].find((id) => id !== coordinator.nodeId) ?? 0;
    expect((await c.request(other, 'describe-groups', { groupIds: [GROUP] })).groups[0]).to.have.property('error', 'NOT_COORDINATOR');
    const described = (await c.requestUrl(coordinator.url, 'describe-groups', { groupIds: [GROUP, 'no-such-group'] })).groups;
    expect(described[0]).to.include({ groupId: GROUP, state: 'stable', groupEpoch: 2, assignmentEpoch: 2, assignor: 'uniform' });
    expect((described[0] as GroupDescription).members.map((m) => m.memberEpoch)).to.deep.equal([2, 2]);
    const missing = (await c.requestUrl(coordinator.url, 'describe-groups', { groupIds: ['no-such-group'] })).groups[0];
    // 'no-such-group' may live on another broker's partition: either way it is not found here.
    expect(missing).to.have.property('error').that.is.oneOf(['GROUP_ID_NOT_FOUND', 'NOT_COORDINATOR']);

    // Not while it has members; after they leave, the group and its offsets go.
    expect((await c.requestUrl(coordinator.url, 'delete-groups', { groupIds: [GROUP] })).results).to.deep.equal([{ groupId: GROUP, error: 'NON_EMPTY_GROUP', message: 'the group has members: group payments has 2 members' }]);
    for (const m of ['member-a', 'member-b']) expect(await heartbeat(c, hb(m, -1))).to.deep.equal({ memberId: m, memberEpoch: -1, heartbeatIntervalMs: 0 });
    expect((await c.requestUrl(coordinator.url, 'list-groups', {})).groups).to.deep.equal([{ groupId: GROUP, state: 'empty', members: 0 }]);
    expect((await c.requestUrl(coordinator.url, 'delete-groups', { groupIds: [GROUP] })).results).to.deep.equal([{ groupId: GROUP }]);
    expect(await c.requestUrl(coordinator.url, 'offset-fetch', { groupId: GROUP })).to.deep.equal({ offsets: [] });
    expect((await c.requestUrl(coordinator.url, 'describe-groups', { groupIds: [GROUP] })).groups[0]).to.have.property('error', 'GROUP_ID_NOT_FOUND');
    expect((await c.requestUrl(coordinator.url, 'list-groups', {})).groups).to.deep.equal([]);

    // Clients may not create internal topics, at any node.
    for (const id of c.nodes.keys()) {
      const answer = await c.request(id, 'controller', { kind: 'create-topics', topics: [{ name: '__mine', numPartitions: 1, replicationFactor: 1 }], validateOnly: false, internal: true });
      expect(answer.response).to.have.property('error', 'INVALID_REQUEST');
    }
    expect(c.node(coordinator.nodeId).image().topic('__mine')).to.equal(undefined);
  });
});
