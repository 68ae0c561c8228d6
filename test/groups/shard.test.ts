/**
 * One offsets partition's coordinator (shard.ts) over an in-memory log and a virtual clock: answers
 * wait until their change (or the last change before them) is durable; a load rebuilds exactly the
 * state the log holds, with fresh sessions; session expiry and the rebalance timeout remove members;
 * offset commits are fenced by member epoch, admin commits allowed only for empty groups; deletes
 * write tombstones; a failed append stops the shard from serving.
 */
import { expect } from 'chai';
import { DEFAULT_GROUP_CONFIG, groupConfig } from '../../src/groups/config.js';
import type { GroupErrorResult } from '../../src/groups/errors.js';
import type { HeartbeatAnswer } from '../../src/groups/group.js';
import { GroupShard } from '../../src/groups/shard.js';
import type { ConsumerGroupHeartbeatRequest, OffsetCommitPartition } from '../../src/groups/rpc.js';
import { TestClock, settle } from '../support/test-clock.js';
import { FakeOffsetsLog } from './fake-offsets-log.js';

const topics = new Map<string, number>([['t', 4], ['u', 2]]);

function shardOver(log: FakeOffsetsLog, clock: TestClock, failed: GroupShard[] = []): GroupShard {
  return new GroupShard({
    partition: 0,
    leaderEpoch: 1,
    log,
    topics: { partitionCount: (t) => topics.get(t) },
    clock,
    wallClockMs: () => 1_700_000_000_000 + clock.nowMs(),
    config: groupConfig({ sessionTimeoutMinMs: 1000 }),
    logger: () => {},
    onFailed: (s) => failed.push(s),
  });
}

async function loaded(log: FakeOffsetsLog, clock: TestClock, failed: GroupShard[] = []): Promise<GroupShard> {
  const s = shardOver(log, clock, failed);
  await s.load();
  expect(s.status).to.equal('active');
  return s;
}

function hb(groupId: string, memberId: string, memberEpoch: number, extra: Partial<ConsumerGroupHeartbeatRequest> = {}): ConsumerGroupHeartbeatRequest {
  // Members send their timeouts with every heartbeat (the last one sent counts).
  return { groupId, memberId, memberEpoch, instanceId: '', clientId: 'c', rebalanceTimeoutMs: 5000, sessionTimeoutMs: 6000, assignor: '', ...extra };
}

function join(groupId: string, memberId: string, extra: Partial<ConsumerGroupHeartbeatRequest> = {}): ConsumerGroupHeartbeatRequest {
  return hb(groupId, memberId, 0, { subscribedTopics: ['t'], ownedPartitions: [], ...extra });
}

function ok(r: HeartbeatAnswer | GroupErrorResult): HeartbeatAnswer {
  if ('error' in r) expect.fail(`${r.error}: ${r.message}`);
  return r;
}

function offset(topic: string, partition: number, value: number, metadata = ''): OffsetCommitPartition {
  return { topic, partition, offset: value, leaderEpoch: 2, metadata };
}

/** Everything a client could observe of a shard. */
async function observe(s: GroupShard, groupIds: readonly string[]): Promise<unknown> {
  return {
    list: await s.listGroups(),
    described: await s.describeGroups(groupIds),
    offsets: await Promise.all(groupIds.map((g) => s.fetchOffsets({ groupId: g }))),
  };
}

describe('groups: the shard of one offsets partition', () => {
  it('answers only once the change is durable, and a no-change answer waits for earlier changes', async () => {
    const log = new FakeOffsetsLog();
    const clock = new TestClock(false);
    const s = await loaded(log, clock);
    log.holdHw = true;
    let joined = false;
    const joining = s.heartbeat(join('g', 'a')).then((r) => ((joined = true), r));
    await settle();
    expect(joined).to.equal(false);
    expect(log.logEnd(0)).to.equal(1); // written, not yet replicated
    // A fetch that changes nothing still waits for the join before it: it must not show undurable state.
    let fetched = false;
    const fetching = s.fetchOffsets({ groupId: 'g' }).then((r) => ((fetched = true), r));
    await settle();
    expect(fetched).to.equal(false);
    log.holdHw = false;
    log.releaseHw(0);
    expect(ok(await joining).memberEpoch).to.equal(1);
    expect(await fetching).to.deep.equal({ offsets: [] });
    expect(joined && fetched).to.equal(true);
    s.unload();
  });

  it('answers COORDINATOR_LOAD_IN_PROGRESS while loading and NOT_COORDINATOR once unloaded', async () => {
    const log = new FakeOffsetsLog();
    const clock = new TestClock(false);
    log.readError = 'NOT_LEADER_OR_FOLLOWER';
    const s = shardOver(log, clock);
    const loading = s.load();
    await settle();
    expect(await s.heartbeat(join('g', 'a'))).to.have.property('error', 'COORDINATOR_LOAD_IN_PROGRESS');
    expect(await s.describeGroups(['g'])).to.deep.equal([{ groupId: 'g', error: 'COORDINATOR_LOAD_IN_PROGRESS', message: 'the coordinator is loading the group state: offsets partition 0 is loading' }]);
    await clock.advance(DEFAULT_GROUP_CONFIG.loadRetryBackoffMs * 3);
    expect(log.reads).to.be.greaterThan(1); // it keeps trying
    log.readError = undefined;
    await clock.advance(DEFAULT_GROUP_CONFIG.loadRetryBackoffMs);
    await loading;
    expect(s.status).to.equal('active');
    s.unload();
    expect(await s.heartbeat(join('g', 'a'))).to.have.property('error', 'NOT_COORDINATOR');
    expect(clock.pendingTimers).to.equal(0);
  });

  it('rebuilds exactly the same groups and offsets from the log, sessions fresh', async () => {
    const log = new FakeOffsetsLog();
    const clock = new TestClock(false);
    const s = await loaded(log, clock);
    // Two groups, members at different stages, offsets, a deleted group, an admin-only group.
    ok(await s.heartbeat(join('g1', 'a', { instanceId: 'host-a', sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 60_000 })));
    ok(await s.heartbeat(join('g1', 'b', { sessionTimeoutMs: 10_000 })));
    ok(await s.heartbeat(hb('g1', 'a', 1, { instanceId: 'host-a', sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 60_000 }))); // a must revoke: unrevoked
    ok(await s.heartbeat(join('g2', 'c', { subscribedTopics: ['t', 'u'], assignor: 'range' })));
    expect(await s.commitOffsets({ groupId: 'g2', memberId: 'c', memberEpoch: 1, offsets: [offset('t', 0, 10, 'x'), offset('u', 1, 3)] })).to.deep.equal({
      results: [{ topic: 't', partition: 0 }, { topic: 'u', partition: 1 }],
    });
    expect(await s.commitOffsets({ groupId: 'admin-only', memberId: '', memberEpoch: -1, offsets: [offset('t', 2, 7)] })).to.have.property('results');
    ok(await s.heartbeat(join('gone', 'd')));
    await s.commitOffsets({ groupId: 'gone', memberId: 'd', memberEpoch: 1, offsets: [offset('t', 1, 1)] });
    ok(await s.heartbeat(hb('gone', 'd', -1)));
    expect(await s.deleteGroups(['gone'])).to.deep.equal([{ groupId: 'gone' }]);
    const groups = ['g1', 'g2', 'admin-only', 'gone'];
    const before = await observe(s, groups);
    s.unload();

    const again = await loaded(log, clock);
    expect(await observe(again, groups)).to.deep.equal(before);
    expect(again.groupStates().map((g) => g.groupId).sort()).to.deep.equal(['admin-only', 'g1', 'g2']);
    // Sessions restart at load: a silent member expires one session timeout after the load.
    await clock.advance(9_999);
    expect((await again.describeGroups(['g1']))[0]).to.have.property('members').with.length(2);
    await clock.advance(1);
    await settle();
    // Both gone; with no offsets either, the group itself is gone (a tombstone was written).
    expect((await again.describeGroups(['g1']))[0]).to.have.property('error', 'GROUP_ID_NOT_FOUND');
    again.unload();
    const third = await loaded(log, clock);
    expect(third.groupStates().map((g) => g.groupId).sort()).to.deep.equal(['admin-only', 'g2']);
    third.unload();
  });

  it('expires a silent member and gives its partitions to the others', async () => {
    const log = new FakeOffsetsLog();
    const clock = new TestClock(false);
    const s = await loaded(log, clock);
    ok(await s.heartbeat(join('g', 'a')));
    ok(await s.heartbeat(join('g', 'b')));
    const aKeeps = ok(await s.heartbeat(hb('g', 'a', 1))).assignment ?? [];
    ok(await s.heartbeat(hb('g', 'a', 1, { ownedPartitions: aKeeps })));
    ok(await s.heartbeat(hb('g', 'b', 2)));
    // b keeps heartbeating (taking what it is given); a goes silent.
    let bEpoch = 2;
    let bOwns: number[] = [];
    for (let i = 0; i < 4; i++) {
      await clock.advance(2000);
      const b = ok(await s.heartbeat(hb('g', 'b', bEpoch)));
      bEpoch = b.memberEpoch;
      bOwns = b.assignment?.flatMap((x) => x.partitions) ?? bOwns;
    }
    const described = (await s.describeGroups(['g']))[0] as unknown as { members: Array<{ memberId: string }>; groupEpoch: number };
    expect(described.members.map((m) => m.memberId)).to.deep.equal(['b']);
    expect(bEpoch).to.equal(3);
    expect(bOwns).to.deep.equal([0, 1, 2, 3]);
    expect(await s.heartbeat(hb('g', 'a', 2))).to.have.property('error', 'UNKNOWN_MEMBER_ID');
    s.unload();
  });

  it('removes a member that keeps heartbeating but never confirms its revocation', async () => {
    const log = new FakeOffsetsLog();
    const clock = new TestClock(false);
    const s = await loaded(log, clock);
    ok(await s.heartbeat(join('g', 'a')));
    ok(await s.heartbeat(join('g', 'b')));
    ok(await s.heartbeat(hb('g', 'a', 1))); // told to revoke; the rebalance timer starts
    for (let i = 0; i < 2; i++) {
      await clock.advance(2000);
      ok(await s.heartbeat(hb('g', 'a', 1)));
      ok(await s.heartbeat(hb('g', 'b', 2)));
    }
    await clock.advance(1000);
    await settle();
    expect(await s.heartbeat(hb('g', 'a', 1))).to.have.property('error', 'UNKNOWN_MEMBER_ID');
    const b = ok(await s.heartbeat(hb('g', 'b', 2)));
    expect(b.memberEpoch).to.equal(3);
    expect(b.assignment?.flatMap((x) => x.partitions)).to.deep.equal([0, 1, 2, 3]);
    s.unload();
  });

  it('commits and fetches offsets, fenced by member epoch', async () => {
    const log = new FakeOffsetsLog();
    const clock = new TestClock(false);
    const s = await loaded(log, clock);
    ok(await s.heartbeat(join('g', 'a')));
    expect(await s.commitOffsets({ groupId: 'g', memberId: 'a', memberEpoch: 1, offsets: [offset('t', 0, 5), offset('t', 1, 6, 'meta')] })).to.deep.equal({
      results: [{ topic: 't', partition: 0 }, { topic: 't', partition: 1 }],
    });
    ok(await s.heartbeat(join('g', 'b'))); // epoch 2 exists now; a is still at 1
    expect(await s.commitOffsets({ groupId: 'g', memberId: 'a', memberEpoch: 0, offsets: [offset('t', 0, 99)] })).to.have.property('error', 'STALE_MEMBER_EPOCH');
    expect(await s.commitOffsets({ groupId: 'g', memberId: 'zz', memberEpoch: 1, offsets: [offset('t', 0, 99)] })).to.have.property('error', 'UNKNOWN_MEMBER_ID');
    // Outsiders (admin tools) may not commit while the group has members.
    expect(await s.commitOffsets({ groupId: 'g', memberId: '', memberEpoch: -1, offsets: [offset('t', 0, 99)] })).to.have.property('error', 'UNKNOWN_MEMBER_ID');
    const partial = await s.commitOffsets({
      groupId: 'g',
      memberId: 'a',
      memberEpoch: 1,
      offsets: [offset('t', 2, 8), offset('t', 9, 1), offset('nope', 0, 1), offset('t', 3, 1, 'x'.repeat(5000)), offset('t', 3, -4)],
    });
    expect(partial).to.deep.equal({
      results: [
        { topic: 't', partition: 2 },
        { topic: 't', partition: 9, error: 'UNKNOWN_TOPIC_OR_PARTITION', message: 'unknown topic or partition: t-9' },
        { topic: 'nope', partition: 0, error: 'UNKNOWN_TOPIC_OR_PARTITION', message: 'unknown topic or partition: nope-0' },
        { topic: 't', partition: 3, error: 'OFFSET_METADATA_TOO_LARGE', message: 'the offset metadata is too large: at most 4096 bytes' },
        { topic: 't', partition: 3, error: 'INVALID_REQUEST', message: 'invalid request: offset -4 is negative' },
      ],
    });
    expect(await s.fetchOffsets({ groupId: 'g' })).to.deep.equal({
      offsets: [
        { topic: 't', partition: 0, offset: 5, leaderEpoch: 2, metadata: '' },
        { topic: 't', partition: 1, offset: 6, leaderEpoch: 2, metadata: 'meta' },
        { topic: 't', partition: 2, offset: 8, leaderEpoch: 2, metadata: '' },
      ],
    });
    expect(await s.fetchOffsets({ groupId: 'g', topics: [{ topic: 't', partitions: [1, 3] }, { topic: 'u' }] })).to.deep.equal({
      offsets: [
        { topic: 't', partition: 1, offset: 6, leaderEpoch: 2, metadata: 'meta' },
        { topic: 't', partition: 3, offset: -1, leaderEpoch: -1, metadata: '' },
      ],
    });
    expect(await s.fetchOffsets({ groupId: 'unknown', topics: [{ topic: 't', partitions: [0] }] })).to.deep.equal({ offsets: [{ topic: 't', partition: 0, offset: -1, leaderEpoch: -1, metadata: '' }] });
    // Once empty, an admin tool may reset the offsets.
    ok(await s.heartbeat(hb('g', 'a', -1)));
    ok(await s.heartbeat(hb('g', 'b', -1)));
    expect(await s.commitOffsets({ groupId: 'g', memberId: '', memberEpoch: -1, offsets: [offset('t', 0, 0)] })).to.deep.equal({ results: [{ topic: 't', partition: 0 }] });
    expect(await s.fetchOffsets({ groupId: 'g', topics: [{ topic: 't', partitions: [0] }] })).to.deep.equal({ offsets: [{ topic: 't', partition: 0, offset: 0, leaderEpoch: 2, metadata: '' }] });
    s.unload();
  });

  it('deletes only empty groups, with their offsets', async () => {
    const log = new FakeOffsetsLog();
    const clock = new TestClock(false);
    const s = await loaded(log, clock);
    ok(await s.heartbeat(join('busy', 'a')));
    await s.commitOffsets({ groupId: 'idle', memberId: '', memberEpoch: -1, offsets: [offset('t', 0, 4), offset('u', 1, 2)] });
    const mark = log.logEnd(0);
    expect(await s.deleteGroups(['busy', 'idle', 'never'])).to.deep.equal([
      { groupId: 'busy', error: 'NON_EMPTY_GROUP', message: 'the group has members: group busy has 1 members' },
      { groupId: 'idle' },
      { groupId: 'never', error: 'GROUP_ID_NOT_FOUND', message: 'no such group: no group never' },
    ]);
    // One batch: the group tombstone and one per offset.
    const written = log.log(0).slice(mark).map((r) => [new TextDecoder().decode(r.key ?? new Uint8Array()), r.value]);
    expect(written).to.deep.equal([['g/idle', null], ['o/idle/t/0', null], ['o/idle/u/1', null]]);
    expect(await s.fetchOffsets({ groupId: 'idle' })).to.deep.equal({ offsets: [] });
    expect((await s.listGroups()).map((g) => g.groupId)).to.deep.equal(['busy']);
    s.unload();
  });

  it('stops serving when an append fails', async () => {
    const log = new FakeOffsetsLog();
    const clock = new TestClock(false);
    const failed: GroupShard[] = [];
    const s = await loaded(log, clock, failed);
    ok(await s.heartbeat(join('g', 'a')));
    log.failNext = { error: 'REQUEST_TIMED_OUT', message: 'slow followers', written: true };
    expect(await s.commitOffsets({ groupId: 'g', memberId: 'a', memberEpoch: 1, offsets: [offset('t', 0, 1)] })).to.have.property('error', 'REQUEST_TIMED_OUT');
    expect(s.status).to.equal('failed');
    expect(failed).to.deep.equal([s]);
    expect(await s.heartbeat(hb('g', 'a', 1))).to.have.property('error', 'NOT_COORDINATOR');
    expect(clock.pendingTimers).to.equal(0);
  });
});
