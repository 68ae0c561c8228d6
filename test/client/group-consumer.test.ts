/**
 * The group consumer's client side against a scripted coordinator (group-fake-cluster.ts): joining
 * and starting at committed offsets, reconciliation (a revoked partition is stopped, its running
 * eachMessage waited for and its position committed before the heartbeat that releases it), never
 * committing beyond what eachMessage finished, fencing (drop without committing, rejoin with epoch 0),
 * STALE_MEMBER_EPOCH, coordinator rediscovery, seek, leaving (static and dynamic), bad input. Real timers with short waits; nothing asserts
 * on timing — only on the order of what the member sent.
 */
import { expect } from 'chai';
import { Consumer } from '../../src/client/consumer.js';
import { ConsumerEvents, messageText, type ConsumerOptions, type CrashPayload, type TopicPartitionList } from '../../src/client/consumer-types.js';
import { InvalidArgumentError } from '../../src/client/errors.js';
import { FakeGroupCluster } from './group-fake-cluster.js';
import { records } from './consumer-fake-cluster.js';
import { waitUntil } from '../support/test-nodes.js';

/** Every gate made, opened after each test so a failed one leaves no callback hanging (disconnect waits for them). */
const gates: Array<() => void> = [];

/** A promise with its resolver: a callback blocked until the test lets it go. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open = (): void => undefined;
  const promise = new Promise<void>((resolve) => (open = resolve));
  gates.push(open);
  return { promise, open };
}

function owned(partitions: TopicPartitionList[] | undefined): number[] {
  return (partitions ?? []).flatMap((t) => t.partitions);
}

describe('group consumer against a scripted coordinator', function () {
  this.timeout(20_000);
  let consumers: Consumer[] = [];
  let crashes: CrashPayload[] = [];

  afterEach(async () => {
    for (const open of gates.splice(0)) open();
    await Promise.all(consumers.map((c) => c.disconnect()));
    consumers = [];
    const seen = crashes;
    crashes = [];
    expect(seen.map((c) => c.error.message)).to.deep.equal([]);
  });

  async function consumer(fake: FakeGroupCluster, options: ConsumerOptions = {}): Promise<Consumer> {
    const c = new Consumer(fake.asCluster(), {
      groupId: 'g',
      maxWaitTimeInMs: 20,
      retry: { initialRetryTimeMs: 1, maxRetryTimeMs: 5 },
      autoCommitIntervalMs: 60_000,
      ...options,
    });
    consumers.push(c);
    c.on(ConsumerEvents.CRASH, (e) => crashes.push(e.payload));
    await c.connect();
    return c;
  }

  it('starts each assigned partition at its committed offset, else where the subscription says, and commits and leaves on disconnect', async () => {
    const fake = new FakeGroupCluster('t', 2);
    fake.partitions[0]!.append(records('a', 5));
    fake.partitions[1]!.append(records('b', 3));
    fake.committed.set('t/0', { offset: 2, leaderEpoch: 0 });
    const c = await consumer(fake);
    const joins: TopicPartitionList[][] = [];
    c.on(ConsumerEvents.GROUP_JOIN, (e) => joins.push(e.payload.memberAssignment));
    await c.subscribe({ topics: ['t'], fromBeginning: true });
    const got: string[] = [];
    await c.run({ eachMessage: async ({ message }) => void got.push(messageText(message.value) ?? '') });
    await waitUntil('every record after the committed offsets', () => got.length === 6);
    expect([...got].sort()).to.deep.equal(['a-2', 'a-3', 'a-4', 'b-0', 'b-1', 'b-2']);
    expect(owned(joins[0])).to.deep.equal([0, 1]);
    expect(c.assignment()).to.deep.equal([{ topic: 't', partitions: [0, 1] }]);

    const [memberId] = fake.member();
    const join = fake.heartbeats()[0]!.request;
    expect(join.memberEpoch).to.equal(0);
    expect(join.subscribedTopics).to.deep.equal(['t']);
    expect(join.ownedPartitions).to.deep.equal([]);

    await c.disconnect();
    consumers = [];
    expect(fake.committed.get('t/0')?.offset).to.equal(5);
    expect(fake.committed.get('t/1')?.offset).to.equal(3);
    const last = fake.heartbeats().at(-1)!.request;
    expect(last.memberId).to.equal(memberId);
    expect(last.memberEpoch).to.equal(-1);
    // The commits came before the leave.
    const leaveAt = fake.events.findIndex((e) => e.type === 'heartbeat' && e.request.memberEpoch === -1);
    const lastCommitAt = fake.events.map((e) => e.type).lastIndexOf('commit');
    expect(lastCommitAt).to.be.lessThan(leaveAt);
  });

  it('revokes a partition before confirming it: stops it, waits for its running eachMessage, commits it, then reports it released', async () => {
    const fake = new FakeGroupCluster('t', 2);
    fake.partitions[0]!.append(records('a', 3));
    fake.partitions[1]!.append(records('b', 3));
    const c = await consumer(fake);
    await c.subscribe({ topics: ['t'], fromBeginning: true });
    const blocked = gate();
    let inside = false;
    const finished: string[] = [];
    await c.run({
      eachMessage: async ({ partition, message }) => {
        const v = messageText(message.value) ?? '';
        if (v === 'b-1') {
          inside = true;
          await blocked.promise;
        }
        finished.push(`${partition}:${v}`);
      },
    });
    await waitUntil('b-1 being handled', () => inside);
    const [memberId] = fake.member();
    fake.assign(memberId, [0]);
    const before = fake.events.length;
    // Heartbeats go on while the callback holds the partition; none may report it released.
    const heartbeatsSince = (): number => fake.events.slice(before).filter((e) => e.type === 'heartbeat').length;
    await waitUntil('a few heartbeats during the revocation', () => heartbeatsSince() >= 3);
    for (const e of fake.events.slice(before)) {
      if (e.type === 'heartbeat' && e.request.ownedPartitions !== undefined) expect(owned(e.request.ownedPartitions as TopicPartitionList[])).to.include(1);
    }
    expect(fake.commits().filter((x) => x.request.offsets.some((o) => o.partition === 1))).to.have.length(0);
    blocked.open();
    const released = (e: (typeof fake.events)[number], i: number): boolean =>
      i >= before && e.type === 'heartbeat' && e.request.ownedPartitions !== undefined && !owned(e.request.ownedPartitions as TopicPartitionList[]).includes(1);
    await waitUntil('the release', () => fake.events.some(released));
    const releaseAt = fake.events.findIndex(released);
    const commitAt = fake.events.findIndex((e) => e.type === 'commit' && e.request.offsets.some((o) => o.partition === 1));
    expect(commitAt).to.be.greaterThan(-1);
    expect(commitAt).to.be.lessThan(releaseAt);
    // b-1 finished, so the commit is past it; b-2 was never handed over.
    const commit = fake.events[commitAt] as Extract<(typeof fake.events)[number], { type: 'commit' }>;
    expect(commit.request.offsets.find((o) => o.partition === 1)?.offset).to.equal(2);
    expect(finished).to.include('1:b-1');
    expect(finished).not.to.include('1:b-2');
    expect(c.assignment()).to.deep.equal([{ topic: 't', partitions: [0] }]);
  });

  it('calls the rebalance listener: onPartitionsRevoked after the running callback, before the commit', async () => {
    const fake = new FakeGroupCluster('t', 2);
    fake.partitions[1]!.append(records('b', 2));
    const calls: string[] = [];
    const c = await consumer(fake, {
      rebalanceListener: {
        onPartitionsAssigned: async (p) => void calls.push(`assigned ${owned(p).join(',')}`),
        onPartitionsRevoked: async (p) => {
          calls.push(`revoked ${owned(p).join(',')} after ${fake.commits().length} commits`);
        },
      },
    });
    await c.subscribe({ topics: ['t'], fromBeginning: true });
    let seen = 0;
    await c.run({ eachMessage: async () => void seen++ });
    await waitUntil('both records', () => seen === 2);
    fake.assign(fake.member()[0], [0]);
    await waitUntil('the revocation', () => calls.length === 2);
    await waitUntil('the commit after it', () => fake.commits().length === 1);
    expect(calls).to.deep.equal(['assigned 0,1', 'revoked 1 after 0 commits']);
    expect(fake.committed.get('t/1')?.offset).to.equal(2);
  });

  it('never commits an offset beyond what eachMessage finished', async () => {
    const fake = new FakeGroupCluster('t', 1);
    fake.partitions[0]!.append(records('a', 10));
    let finishedUpTo = -1;
    const violations: string[] = [];
    fake.onCommit = (request) => {
      for (const o of request.offsets) if (o.offset > finishedUpTo + 1) violations.push(`committed ${o.offset} with ${finishedUpTo} finished`);
    };
    const c = await consumer(fake, { autoCommitIntervalMs: 10 });
    await c.subscribe({ topics: ['t'], fromBeginning: true });
    const blocked = gate();
    let reached = false;
    await c.run({
      eachMessage: async ({ message }) => {
        if (message.offset === 5) {
          reached = true;
          await blocked.promise;
        }
        finishedUpTo = message.offset;
      },
    });
    await waitUntil('offset 5 in eachMessage', () => reached);
    const commitsBefore = fake.commits().length;
    // Several auto-commit intervals pass while offset 5 is being handled.
    await new Promise((r) => setTimeout(r, 100));
    expect(fake.committed.get('t/0')?.offset).to.equal(5);
    blocked.open();
    await waitUntil('all ten committed', () => fake.committed.get('t/0')?.offset === 10);
    expect(fake.commits().length).to.be.greaterThan(commitsBefore);
    expect(violations).to.deep.equal([]);
  });

  it('when fenced, drops every partition without committing and rejoins with epoch 0, then resumes from the committed offset', async () => {
    const fake = new FakeGroupCluster('t', 1);
    fake.partitions[0]!.append(records('a', 4));
    const lost: number[][] = [];
    const c = await consumer(fake, { rebalanceListener: { onPartitionsLost: (p) => void lost.push(owned(p)) } });
    await c.subscribe({ topics: ['t'], fromBeginning: true });
    const got: number[] = [];
    await c.run({ eachMessage: async ({ message }) => void got.push(message.offset) });
    await waitUntil('four records', () => got.length === 4);
    await c.commitOffsets([{ topic: 't', partition: 0, offset: 2 }]);
    const [memberId] = fake.member();
    const fencedAt = fake.events.length;
    fake.heartbeatErrors.push('FENCED_MEMBER_EPOCH');
    await waitUntil('the rejoin', () => fake.events.slice(fencedAt).some((e) => e.type === 'heartbeat' && e.request.memberEpoch === 0));
    await waitUntil('re-delivery from the committed offset', () => got.length === 6);
    expect(lost).to.deep.equal([[0]]);
    const rejoin = fake.events.slice(fencedAt).find((e) => e.type === 'heartbeat' && e.request.memberEpoch === 0);
    expect(rejoin?.type === 'heartbeat' && rejoin.request.memberId).to.equal(memberId);
    expect(rejoin?.type === 'heartbeat' && rejoin.request.ownedPartitions).to.deep.equal([]);
    // Nothing was committed between the fencing answer and the rejoin.
    const between = fake.events.slice(fencedAt, fake.events.indexOf(rejoin!));
    expect(between.filter((e) => e.type === 'commit')).to.have.length(0);
    // Offsets 2 and 3 came again (uncommitted), nothing was skipped.
    expect(got).to.deep.equal([0, 1, 2, 3, 2, 3]);
  });

  it('rejoins when a commit is answered UNKNOWN_MEMBER_ID, and heartbeats then commits again on STALE_MEMBER_EPOCH', async () => {
    const fake = new FakeGroupCluster('t', 1);
    fake.partitions[0]!.append(records('a', 3));
    const c = await consumer(fake);
    await c.subscribe({ topics: ['t'], fromBeginning: true });
    let seen = 0;
    await c.run({ eachMessage: async () => void seen++ });
    await waitUntil('three records', () => seen === 3);

    // STALE: the coordinator moved the member to a new epoch the member has not heard of yet.
    const [memberId, member] = fake.member();
    const oldEpoch = member.epoch;
    fake.assign(memberId, [0]);
    const staleAt = fake.events.length;
    await c.commitOffsets([{ topic: 't', partition: 0, offset: 1 }]);
    const after = fake.events.slice(staleAt);
    const commits = after.filter((e) => e.type === 'commit');
    expect(commits.map((e) => e.type === 'commit' && e.response)).to.satisfy((r: unknown[]) => r.length >= 1);
    const lastCommit = commits.at(-1)!;
    expect(lastCommit.type === 'commit' && lastCommit.request.memberEpoch).to.be.greaterThan(oldEpoch);
    expect(fake.committed.get('t/0')?.offset).to.equal(1);

    // UNKNOWN_MEMBER_ID on a commit: the member drops its partitions and rejoins.
    fake.commitErrors.push('UNKNOWN_MEMBER_ID');
    const fencedAt = fake.events.length;
    const error = await c.commitOffsets([{ topic: 't', partition: 0, offset: 2 }]).then(() => undefined, (e: unknown) => e);
    expect((error as { code?: string }).code).to.equal('UNKNOWN_MEMBER_ID');
    await waitUntil('the rejoin', () => fake.events.slice(fencedAt).some((e) => e.type === 'heartbeat' && e.request.memberEpoch === 0));
    await waitUntil('re-delivery from offset 1', () => seen === 5);
  });

  it('finds the coordinator again after NOT_COORDINATOR and keeps its partitions through retriable errors', async () => {
    const fake = new FakeGroupCluster('t', 1);
    fake.partitions[0]!.append(records('a', 2));
    const c = await consumer(fake);
    await c.subscribe({ topics: ['t'], fromBeginning: true });
    let seen = 0;
    await c.run({ eachMessage: async () => void seen++ });
    await waitUntil('two records', () => seen === 2);
    const finds = fake.events.filter((e) => e.type === 'find-coordinator').length;
    fake.heartbeatErrors.push('NOT_COORDINATOR', 'COORDINATOR_LOAD_IN_PROGRESS', 'COORDINATOR_NOT_AVAILABLE');
    fake.findErrors.push('COORDINATOR_NOT_AVAILABLE');
    await waitUntil('the errors used up and a good heartbeat', () => fake.heartbeatErrors.length === 0 && !('error' in fake.heartbeats().at(-1)!.response));
    // NOT_COORDINATOR and COORDINATOR_NOT_AVAILABLE each sent it looking again (one lookup failed too).
    expect(fake.events.filter((e) => e.type === 'find-coordinator').length - finds).to.be.at.least(3);
    expect(c.assignment()).to.deep.equal([{ topic: 't', partitions: [0] }]);
    fake.partitions[0]!.append(records('a', 1, 2));
    await waitUntil('the next record', () => seen === 3);
    expect(fake.heartbeats().some((h) => h.request.memberEpoch === 0 && fake.heartbeats().indexOf(h) > 0)).to.equal(false);
  });

  it('a static member leaves with epoch -2; stop() commits and leaves, run() joins again', async () => {
    const fake = new FakeGroupCluster('t', 1);
    fake.partitions[0]!.append(records('a', 2));
    const c = await consumer(fake, { groupInstanceId: 'instance-1' });
    await c.subscribe({ topics: ['t'], fromBeginning: true });
    let seen = 0;
    await c.run({ eachMessage: async () => void seen++ });
    await waitUntil('two records', () => seen === 2);
    expect(fake.heartbeats()[0]!.request.instanceId).to.equal('instance-1');
    await c.stop();
    expect(fake.committed.get('t/0')?.offset).to.equal(2);
    expect(fake.heartbeats().at(-1)!.request.memberEpoch).to.equal(-2);
    expect(c.assignment()).to.deep.equal([]);
    await c.run({ eachMessage: async () => void seen++ });
    await waitUntil('joined again', () => fake.heartbeats().at(-1)!.request.memberEpoch > 0 && c.assignment().length === 1);
    fake.partitions[0]!.append(records('a', 1, 2));
    await waitUntil('the third record', () => seen === 3);
    await c.disconnect();
    consumers = [];
    expect(fake.heartbeats().at(-1)!.request.memberEpoch).to.equal(-2);
    expect(fake.committed.get('t/0')?.offset).to.equal(3);
  });

  it('a seek on an owned partition moves it, and the next commit carries the new position', async () => {
    const fake = new FakeGroupCluster('t', 1);
    fake.partitions[0]!.append(records('a', 5));
    const c = await consumer(fake);
    await c.subscribe({ topics: ['t'], fromBeginning: true });
    const got: number[] = [];
    await c.run({ eachMessage: async ({ message }) => void got.push(message.offset) });
    await waitUntil('five records', () => got.length === 5);
    await c.commitOffsets([{ topic: 't', partition: 0, offset: 5 }]);
    c.pause([{ topic: 't' }]);
    c.seek({ topic: 't', partition: 0, offset: 1 });
    expect(() => c.seek({ topic: 't', partition: 3, offset: 0 })).to.throw(InvalidArgumentError);
    await c.disconnect();
    consumers = [];
    expect(fake.committed.get('t/0')?.offset).to.equal(1);
  });

  it('rejects what a group consumer cannot do, and group options without a groupId', async () => {
    const fake = new FakeGroupCluster('t', 1);
    const c = await consumer(fake);
    expect(await c.assign([{ topic: 't' }]).then(() => undefined, (e: unknown) => e)).to.be.instanceOf(InvalidArgumentError);
    expect(await c.run({ eachMessage: async () => undefined }).then(() => undefined, (e: unknown) => e)).to.be.instanceOf(InvalidArgumentError);
    expect(await c.subscribe({ topics: [] }).then(() => undefined, (e: unknown) => e)).to.be.instanceOf(InvalidArgumentError);
    expect(await c.commitOffsets([{ topic: 't', partition: 0, offset: 1 }]).then(() => undefined, (e: unknown) => e)).to.be.instanceOf(InvalidArgumentError);
    const manual = new Consumer(fake.asCluster());
    expect(await manual.subscribe({ topics: ['t'] }).then(() => undefined, (e: unknown) => e)).to.be.instanceOf(InvalidArgumentError);
    expect(() => new Consumer(fake.asCluster(), { sessionTimeoutMs: 10_000 })).to.throw(InvalidArgumentError, /groupId/);
    expect(() => new Consumer(fake.asCluster(), { groupId: 'g', sessionTimeoutMs: 1000 })).to.throw(InvalidArgumentError, /sessionTimeoutMs/);
    expect(() => new Consumer(fake.asCluster(), { groupId: 'g', assignor: 'sticky' as never })).to.throw(InvalidArgumentError, /assignor/);
    expect(() => new Consumer(fake.asCluster(), { groupId: '' })).to.throw(InvalidArgumentError, /groupId/);
  });
});
