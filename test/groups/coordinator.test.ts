/**
 * The coordinator (coordinator.ts) routing groups to the shards of the offsets partitions it leads,
 * following leadership: a group on a partition not led here gets NOT_COORDINATOR, no offsets topic
 * COORDINATOR_NOT_AVAILABLE; a new leader epoch unloads and reloads the partition from the log; a
 * failed append reloads it once the appends in flight settle — serving what the log holds.
 */
import { expect } from 'chai';
import { groupConfig } from '../../src/groups/config.js';
import { GroupCoordinator } from '../../src/groups/coordinator.js';
import { offsetsPartitionFor } from '../../src/groups/coordinator-key.js';
import type { ConsumerGroupHeartbeatRequest } from '../../src/groups/rpc.js';
import { TestClock, settle } from '../support/test-clock.js';
import { FakeOffsetsLog } from './fake-offsets-log.js';

const PARTITIONS = 4;

/** A group id that lands on `partition`. */
function groupOn(partition: number, salt = ''): string {
  for (let i = 0; ; i++) if (offsetsPartitionFor(`group-${salt}${i}`, PARTITIONS) === partition) return `group-${salt}${i}`;
}

function join(groupId: string, memberId: string): ConsumerGroupHeartbeatRequest {
  return { groupId, memberId, memberEpoch: 0, instanceId: '', clientId: 'c', rebalanceTimeoutMs: 0, sessionTimeoutMs: 0, assignor: '', subscribedTopics: ['t'], ownedPartitions: [] };
}

function coordinator(log: FakeOffsetsLog, clock: TestClock): GroupCoordinator {
  return new GroupCoordinator({
    brokerId: 1,
    log,
    topics: { partitionCount: (t) => (t === 't' ? 2 : undefined) },
    clock,
    wallClockMs: () => 0,
    config: groupConfig(),
    logger: () => {},
  });
}

async function loadedAll(c: GroupCoordinator): Promise<void> {
  for (let i = 0; i < 50 && c.shardList().some((s) => s.status === 'loading'); i++) await settle();
  expect(c.shardList().map((s) => s.status)).to.not.include('loading');
}

describe('groups: the coordinator', () => {
  it('routes by the group\'s offsets partition and answers for the partitions it leads only', async () => {
    const log = new FakeOffsetsLog();
    const clock = new TestClock(false);
    const c = coordinator(log, clock);
    expect(await c.heartbeat(join(groupOn(1), 'a'))).to.have.property('error', 'COORDINATOR_NOT_AVAILABLE');
    c.onLeadership(new Map([[1, 5]]), PARTITIONS);
    await loadedAll(c);
    expect(await c.heartbeat(join(groupOn(1), 'a'))).to.have.property('memberEpoch', 1);
    expect(log.logEnd(1)).to.equal(1);
    expect(await c.heartbeat(join(groupOn(2), 'a'))).to.have.property('error', 'NOT_COORDINATOR');
    expect(await c.heartbeat(join('', 'a'))).to.have.property('error', 'INVALID_GROUP_ID');
    expect(await c.commitOffsets({ groupId: 'x'.repeat(256), memberId: '', memberEpoch: -1, offsets: [] })).to.have.property('error', 'INVALID_GROUP_ID');
    const described = await c.describeGroups([groupOn(1), groupOn(2), groupOn(1, 'other')]);
    expect(described.groups.map((g) => ('error' in g ? g.error : g.state))).to.deep.equal(['stable', 'NOT_COORDINATOR', 'GROUP_ID_NOT_FOUND']);
    expect((await c.listGroups()).groups).to.deep.equal([{ groupId: groupOn(1), state: 'stable', members: 1 }]);
    c.stop();
    expect(clock.pendingTimers).to.equal(0);
  });

  it('reloads a partition led in a new epoch and drops one no longer led', async () => {
    const log = new FakeOffsetsLog();
    const clock = new TestClock(false);
    const c = coordinator(log, clock);
    c.onLeadership(new Map([[0, 1], [3, 1]]), PARTITIONS);
    await loadedAll(c);
    const g0 = groupOn(0);
    await c.heartbeat(join(g0, 'a'));
    await c.commitOffsets({ groupId: g0, memberId: 'a', memberEpoch: 1, offsets: [{ topic: 't', partition: 1, offset: 9, leaderEpoch: 0, metadata: '' }] });
    const before = c.shard(0);
    c.onLeadership(new Map([[0, 2]]), PARTITIONS);
    expect(before?.status).to.equal('unloaded');
    expect(c.shard(3)).to.equal(undefined);
    expect(await c.heartbeat(join(groupOn(3), 'a'))).to.have.property('error', 'NOT_COORDINATOR');
    await loadedAll(c);
    expect(c.shard(0)?.leaderEpoch).to.equal(2);
    expect(await c.fetchOffsets({ groupId: g0 })).to.deep.equal({ offsets: [{ topic: 't', partition: 1, offset: 9, leaderEpoch: 0, metadata: '' }] });
    expect(await c.describeGroups([g0])).to.have.nested.property('groups[0].members[0].memberId', 'a');
    c.stop();
  });

  it('reloads from the log after a failed append', async () => {
    const log = new FakeOffsetsLog();
    const clock = new TestClock(false);
    const c = coordinator(log, clock);
    c.onLeadership(new Map([[2, 1]]), PARTITIONS);
    await loadedAll(c);
    const g = groupOn(2);
    await c.heartbeat(join(g, 'a'));
    const first = c.shard(2);
    // A timed-out append: written to the log, outcome unknown to the coordinator.
    log.failNext = { error: 'REQUEST_TIMED_OUT', message: 'slow', written: true };
    expect(await c.commitOffsets({ groupId: g, memberId: 'a', memberEpoch: 1, offsets: [{ topic: 't', partition: 0, offset: 4, leaderEpoch: 0, metadata: '' }] })).to.have.property('error', 'REQUEST_TIMED_OUT');
    await settle();
    expect(c.shard(2)).to.not.equal(first);
    await loadedAll(c);
    // The new shard serves what the log holds, including the commit whose answer was an error.
    expect(await c.fetchOffsets({ groupId: g })).to.deep.equal({ offsets: [{ topic: 't', partition: 0, offset: 4, leaderEpoch: 0, metadata: '' }] });
    // A failed append that never reached the log is gone after the reload.
    log.failNext = { error: 'NOT_ENOUGH_REPLICAS', message: 'isr', written: false };
    expect(await c.commitOffsets({ groupId: g, memberId: 'a', memberEpoch: 1, offsets: [{ topic: 't', partition: 0, offset: 8, leaderEpoch: 0, metadata: '' }] })).to.have.property('error', 'COORDINATOR_NOT_AVAILABLE');
    await settle();
    await loadedAll(c);
    expect(await c.fetchOffsets({ groupId: g })).to.deep.equal({ offsets: [{ topic: 't', partition: 0, offset: 4, leaderEpoch: 0, metadata: '' }] });
    c.stop();
  });

  it('deletes groups across partitions, answering per group', async () => {
    const log = new FakeOffsetsLog();
    const clock = new TestClock(false);
    const c = coordinator(log, clock);
    c.onLeadership(new Map([[0, 1], [1, 1]]), PARTITIONS);
    await loadedAll(c);
    const [a, b, busy] = [groupOn(0), groupOn(1), groupOn(1, 'busy')];
    for (const g of [a, b]) await c.commitOffsets({ groupId: g, memberId: '', memberEpoch: -1, offsets: [{ topic: 't', partition: 0, offset: 1, leaderEpoch: 0, metadata: '' }] });
    await c.heartbeat(join(busy, 'm'));
    const r = await c.deleteGroups([a, busy, groupOn(2), b]);
    expect(r.results.map((x) => x.error ?? 'ok')).to.deep.equal(['ok', 'NON_EMPTY_GROUP', 'NOT_COORDINATOR', 'ok']);
    expect((await c.listGroups()).groups.map((g) => g.groupId)).to.deep.equal([busy]);
    c.stop();
  });
});
