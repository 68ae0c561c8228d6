/**
 * One group's membership and reconciliation (group.ts, member.ts), driven heartbeat by heartbeat with
 * no time and no I/O: joins split partitions only after the previous owner confirms the revocation;
 * leaves free partitions at once; stale and unknown epochs are fenced (a retry after a lost answer is
 * not); static members keep their assignment across a restart; offset commits are checked against
 * the member's epoch; the record form rebuilds the same group.
 */
import { expect } from 'chai';
import { DEFAULT_GROUP_CONFIG } from '../../src/groups/config.js';
import { ConsumerGroup, type GroupContext, type HeartbeatAnswer } from '../../src/groups/group.js';
import type { GroupErrorResult } from '../../src/groups/errors.js';
import type { ConsumerGroupHeartbeatRequest, TopicPartitions } from '../../src/groups/rpc.js';

const topics = new Map<string, number>([['t', 4]]);
const ctx: GroupContext = { topics: { partitionCount: (t) => topics.get(t) }, config: DEFAULT_GROUP_CONFIG };

function hb(memberId: string, memberEpoch: number, extra: Partial<ConsumerGroupHeartbeatRequest> = {}): ConsumerGroupHeartbeatRequest {
  return { groupId: 'g', memberId, memberEpoch, instanceId: '', clientId: 'client', rebalanceTimeoutMs: 0, sessionTimeoutMs: 0, assignor: '', ...extra };
}

function join(memberId: string, extra: Partial<ConsumerGroupHeartbeatRequest> = {}): ConsumerGroupHeartbeatRequest {
  return hb(memberId, 0, { subscribedTopics: ['t'], ownedPartitions: [], ...extra });
}

function ok(r: HeartbeatAnswer | GroupErrorResult): HeartbeatAnswer {
  if ('error' in r) expect.fail(`${r.error}: ${r.message}`);
  return r;
}

function err(r: HeartbeatAnswer | GroupErrorResult): string {
  expect(r).to.have.property('error');
  return (r as GroupErrorResult).error;
}

function owned(...partitions: number[]): TopicPartitions[] {
  return partitions.length === 0 ? [] : [{ topic: 't', partitions }];
}

function parts(r: HeartbeatAnswer): number[] | undefined {
  return r.assignment === undefined ? undefined : r.assignment.flatMap((x) => x.partitions);
}

/** No partition held by two members. */
function expectExclusive(g: ConsumerGroup): void {
  const seen = new Set<string>();
  for (const m of g.members()) {
    for (const [t, ps] of [...m.assigned, ...m.pendingRevocation]) {
      for (const p of ps) {
        expect(seen.has(`${t}:${p}`), `${t}:${p} held twice`).to.equal(false);
        seen.add(`${t}:${p}`);
      }
    }
  }
}

describe('groups: a consumer group', () => {
  it('gives the first member everything, at epoch 1', () => {
    const g = new ConsumerGroup('g');
    const a = ok(g.heartbeat(join('a'), ctx));
    expect(a).to.deep.equal({ memberId: 'a', memberEpoch: 1, heartbeatIntervalMs: 3000, assignment: owned(0, 1, 2, 3) });
    expect(g.state()).to.equal('stable');
    expect(g.groupEpoch).to.equal(1);
    // A steady heartbeat answers without an assignment.
    expect(ok(g.heartbeat(hb('a', 1), ctx))).to.deep.equal({ memberId: 'a', memberEpoch: 1, heartbeatIntervalMs: 3000 });
  });

  it('moves a partition only after its owner confirms the revocation', () => {
    const g = new ConsumerGroup('g');
    ok(g.heartbeat(join('a'), ctx));
    // b joins: epoch 2; everything it should get is still a's.
    const b1 = ok(g.heartbeat(join('b'), ctx));
    expect(b1.memberEpoch).to.equal(2);
    expect(parts(b1)).to.deep.equal([]);
    expect(g.state()).to.equal('reconciling');
    const bTarget = g.target('b').get('t') ?? [];
    expect(bTarget).to.have.length(2);
    expectExclusive(g);

    // a learns it must give up b's target; its epoch stays until it confirms.
    const a2 = ok(g.heartbeat(hb('a', 1), ctx));
    expect(a2.memberEpoch).to.equal(1);
    const aKeeps = parts(a2) ?? [];
    expect(aKeeps).to.have.length(2);
    expect(aKeeps.some((p) => bTarget.includes(p))).to.equal(false);
    // b asks again: still nothing, a has not confirmed.
    expect(parts(ok(g.heartbeat(hb('b', 2), ctx)))).to.deep.equal([]);
    // a heartbeats without saying what it owns: not a confirmation.
    expect(ok(g.heartbeat(hb('a', 1), ctx)).memberEpoch).to.equal(1);
    expect(g.member('a')?.state).to.equal('unrevoked');
    // a reports it still owns one revoked partition: still not.
    ok(g.heartbeat(hb('a', 1, { ownedPartitions: owned(...aKeeps, bTarget[0] ?? -1) }), ctx));
    expect(g.member('a')?.state).to.equal('unrevoked');
    expectExclusive(g);

    // a confirms: it moves to epoch 2; b gets its partitions on its next heartbeat.
    const a3 = ok(g.heartbeat(hb('a', 1, { ownedPartitions: owned(...aKeeps) }), ctx));
    expect(a3.memberEpoch).to.equal(2);
    const b2 = ok(g.heartbeat(hb('b', 2), ctx));
    expect(parts(b2)).to.deep.equal(bTarget);
    expect(g.state()).to.equal('stable');
    expectExclusive(g);
  });

  it('frees a leaving member\'s partitions at once', () => {
    const g = new ConsumerGroup('g');
    ok(g.heartbeat(join('a'), ctx));
    ok(g.heartbeat(join('b'), ctx));
    const aKeeps = parts(ok(g.heartbeat(hb('a', 1), ctx))) ?? [];
    ok(g.heartbeat(hb('a', 1, { ownedPartitions: owned(...aKeeps) }), ctx));
    ok(g.heartbeat(hb('b', 2), ctx));
    expect(ok(g.heartbeat(hb('a', 2), ctx)).memberEpoch).to.equal(2);
    // a leaves: b gets everything at epoch 3 without waiting.
    expect(ok(g.heartbeat(hb('a', -1), ctx))).to.deep.equal({ memberId: 'a', memberEpoch: -1, heartbeatIntervalMs: 0 });
    expect(g.groupEpoch).to.equal(3);
    const b = ok(g.heartbeat(hb('b', 2), ctx));
    expect(b.memberEpoch).to.equal(3);
    expect(parts(b)).to.deep.equal([0, 1, 2, 3]);
    // Leaving again is answered the same (a retry).
    expect(ok(g.heartbeat(hb('a', -1), ctx)).memberEpoch).to.equal(-1);
    expect(g.groupEpoch).to.equal(3);
  });

  it('fences unknown members and wrong epochs, but accepts a retry with the previous epoch', () => {
    const g = new ConsumerGroup('g');
    ok(g.heartbeat(join('a'), ctx));
    expect(err(g.heartbeat(hb('nobody', 1), ctx))).to.equal('UNKNOWN_MEMBER_ID');
    expect(err(g.heartbeat(hb('a', 5), ctx))).to.equal('FENCED_MEMBER_EPOCH');
    ok(g.heartbeat(join('b'), ctx));
    const aKeeps = parts(ok(g.heartbeat(hb('a', 1), ctx))) ?? [];
    ok(g.heartbeat(hb('a', 1, { ownedPartitions: owned(...aKeeps) }), ctx)); // a is now at epoch 2, previous 1
    // The answer was lost: a retries with epoch 1 and what it owns — accepted, told epoch 2 again.
    const retry = ok(g.heartbeat(hb('a', 1, { ownedPartitions: owned(...aKeeps) }), ctx));
    expect(retry.memberEpoch).to.equal(2);
    expect(parts(retry)).to.deep.equal(aKeeps);
    // The previous epoch with a partition it may not own is fenced.
    const notMine = [0, 1, 2, 3].find((p) => !aKeeps.includes(p)) ?? -1;
    expect(err(g.heartbeat(hb('a', 1, { ownedPartitions: owned(notMine) }), ctx))).to.equal('FENCED_MEMBER_EPOCH');
    // An epoch from before that is fenced too.
    expect(err(g.heartbeat(hb('a', 0 + 3), ctx))).to.equal('FENCED_MEMBER_EPOCH');
  });

  it('lets a fenced member start over with epoch 0, dropping its partitions', () => {
    const g = new ConsumerGroup('g');
    ok(g.heartbeat(join('a'), ctx));
    ok(g.heartbeat(join('b'), ctx));
    ok(g.heartbeat(hb('a', 1), ctx)); // a must revoke half
    expect(g.member('a')?.state).to.equal('unrevoked');
    // a rejoins (after a fence, say): it owns nothing now, so b can have its partitions at once.
    const a = ok(g.heartbeat(join('a'), ctx));
    expect(parts(a)).to.have.length(2);
    const b = ok(g.heartbeat(hb('b', 2), ctx));
    expect(parts(b)).to.have.length(2);
    expect(g.state()).to.equal('stable');
    expectExclusive(g);
  });

  it('keeps a static member\'s partitions while it restarts, without a new group epoch', () => {
    const g = new ConsumerGroup('g');
    ok(g.heartbeat(join('a1', { instanceId: 'host-a' }), ctx));
    ok(g.heartbeat(join('b', { instanceId: '' }), ctx));
    const aKeeps = parts(ok(g.heartbeat(hb('a1', 1, { instanceId: 'host-a' }), ctx))) ?? [];
    ok(g.heartbeat(hb('a1', 1, { instanceId: 'host-a', ownedPartitions: owned(...aKeeps) }), ctx));
    ok(g.heartbeat(hb('b', 2), ctx));
    expect(g.state()).to.equal('stable');
    const epoch = g.groupEpoch;

    // a leaves for now (-2): its partitions stay reserved, nobody else gets them.
    expect(ok(g.heartbeat(hb('a1', -2, { instanceId: 'host-a' }), ctx)).memberEpoch).to.equal(-2);
    expect(g.groupEpoch).to.equal(epoch);
    ok(g.heartbeat(hb('b', 2, { ownedPartitions: owned(...(g.member('b')?.assigned.get('t') ?? [])) }), ctx));
    expect(g.member('b')?.assigned.get('t')).to.have.length(2);
    // Its new incarnation (a new member id) gets the same partitions and epoch back; then no other
    // process may take the instance id while that one is active.
    const back = ok(g.heartbeat(join('a2', { instanceId: 'host-a' }), ctx));
    expect(back.memberEpoch).to.equal(2);
    expect(parts(back)).to.deep.equal(aKeeps);
    expect(g.groupEpoch).to.equal(epoch);
    expect(g.member('a1')).to.equal(undefined);
    expect(err(g.heartbeat(join('a3', { instanceId: 'host-a' }), ctx))).to.equal('UNRELEASED_INSTANCE_ID');
    expect(err(g.heartbeat(hb('a1', 2, { instanceId: 'host-a' }), ctx))).to.equal('UNKNOWN_MEMBER_ID');
    expectExclusive(g);
  });

  it('checks offset commits against the member epoch; outsiders only while the group is empty', () => {
    const g = new ConsumerGroup('g');
    expect(g.validateCommit('', -1)).to.equal(undefined);
    ok(g.heartbeat(join('a'), ctx));
    expect(g.validateCommit('a', 1)).to.equal(undefined);
    expect(g.validateCommit('a', 0)?.error).to.equal('STALE_MEMBER_EPOCH');
    expect(g.validateCommit('zz', 1)?.error).to.equal('UNKNOWN_MEMBER_ID');
    expect(g.validateCommit('', -1)?.error).to.equal('UNKNOWN_MEMBER_ID');
    ok(g.heartbeat(hb('a', -1), ctx));
    expect(g.validateCommit('', -1)).to.equal(undefined);
  });

  it('refuses bad heartbeats without changing anything', () => {
    const g = new ConsumerGroup('g');
    ok(g.heartbeat(join('a'), ctx));
    g.dirty = false;
    const before = JSON.stringify(g.toRecord());
    expect(err(g.heartbeat(hb('b', 0), ctx))).to.equal('INVALID_REQUEST'); // no subscription on join
    expect(err(g.heartbeat(join('b', { sessionTimeoutMs: 1000 }), ctx))).to.equal('INVALID_REQUEST');
    expect(err(g.heartbeat(join('b', { assignor: 'sticky' }), ctx))).to.equal('INVALID_REQUEST');
    expect(err(g.heartbeat(join(''), ctx))).to.equal('INVALID_REQUEST');
    expect(err(g.heartbeat(hb('a', -3), ctx))).to.equal('INVALID_REQUEST');
    expect(err(g.heartbeat(hb('a', -2), ctx))).to.equal('INVALID_REQUEST'); // -2 is for static members
    expect(JSON.stringify(g.toRecord())).to.equal(before);
    expect(g.dirty).to.equal(false);
  });

  it('computes a new target when a subscription, the assignor or a topic changes', () => {
    const local = new Map<string, number>([['t', 4], ['u', 2]]);
    const c: GroupContext = { topics: { partitionCount: (t) => local.get(t) }, config: DEFAULT_GROUP_CONFIG };
    const g = new ConsumerGroup('g');
    ok(g.heartbeat(join('a'), c));
    ok(g.heartbeat(hb('a', 1, { subscribedTopics: ['t', 'u'] }), c));
    expect(g.groupEpoch).to.equal(2);
    expect(g.target('a').get('u')).to.deep.equal([0, 1]);
    ok(g.heartbeat(hb('a', 2, { assignor: 'range' }), c));
    expect(g.groupEpoch).to.equal(3);
    expect(g.assignor).to.equal('range');
    expect(g.refreshTopics(c)).to.equal(false);
    local.set('u', 3);
    expect(g.refreshTopics(c)).to.equal(true);
    expect(g.groupEpoch).to.equal(4);
    expect(g.target('a').get('u')).to.deep.equal([0, 1, 2]);
  });

  it('removes a member that does not confirm its revocation in time, and only such a member', () => {
    const g = new ConsumerGroup('g');
    ok(g.heartbeat(join('a'), ctx));
    expect(g.expireRevocation('a', ctx)).to.equal(false);
    ok(g.heartbeat(join('b'), ctx));
    ok(g.heartbeat(hb('a', 1), ctx));
    expect(g.expireRevocation('a', ctx)).to.equal(true);
    expect(g.member('a')).to.equal(undefined);
    expect(parts(ok(g.heartbeat(hb('b', 2), ctx)))).to.deep.equal([0, 1, 2, 3]);
  });

  it('rebuilds the same group from its record', () => {
    const g = new ConsumerGroup('g');
    ok(g.heartbeat(join('a', { instanceId: 'i' }), ctx));
    ok(g.heartbeat(join('b'), ctx));
    ok(g.heartbeat(hb('a', 1, { instanceId: 'i' }), ctx));
    const copy = new ConsumerGroup('g');
    copy.applyRecord(JSON.parse(JSON.stringify(g.toRecord())));
    expect(copy.describe()).to.deep.equal(g.describe());
    expect(copy.toRecord()).to.deep.equal(g.toRecord());
    expect(copy.ownerOf('t', 0)).to.equal(g.ownerOf('t', 0));
    // And behaves the same from there.
    expect(copy.heartbeat(hb('b', 2), ctx)).to.deep.equal(g.heartbeat(hb('b', 2), ctx));
  });
});
