/**
 * Consumer groups end to end on three real nodes in-process (real sockets, real disks, the real
 * coordinator and `__consumer_offsets`), through the client library:
 * - two members split the partitions and together read every record exactly once — also the records
 *   the first one read before the second joined (the handover commits exactly what was processed);
 * - one leaves (disconnect: commit, leave) and the other takes over from the committed offsets,
 *   again with every record exactly once;
 * - a member "crashes" (its connections closed under it: no commit, no leave): after its session
 *   times out the other resumes at the last committed offsets — the records after them come again
 *   (at most what was uncommitted), none is skipped;
 * - the admin sees the group (list, describe, offsets), refuses to move offsets of a live group and
 *   moves them once it is empty;
 * - the coordinator's node stops: the member finds the new coordinator, keeps its partitions (no
 *   fencing: the group's state was durable) and its commits land there.
 *
 * Waits are bounded polls; nothing asserts on timing.
 */
import { expect } from 'chai';
import { Cluster } from '../../src/client/cluster.js';
import { Consumer } from '../../src/client/consumer.js';
import { ConsumerEvents, messageText, type ConsumerOptions } from '../../src/client/consumer-types.js';
import { NonEmptyGroupError } from '../../src/client/group-errors.js';
import { groupRequestAny } from '../../src/client/group-wire.js';
import { GroupClientCluster, waitFor } from '../support/group-client-cluster.js';

interface Seen {
  readonly partition: number;
  readonly offset: number;
  readonly value: string;
}

describe('consumer groups (end to end, three nodes in-process)', function () {
  this.timeout(120_000);
  let cluster: GroupClientCluster;
  let consumers: Consumer[] = [];

  before(async () => {
    cluster = await GroupClientCluster.start(3);
  });

  after(async () => {
    await cluster?.stop();
  });

  afterEach(async () => {
    await Promise.all(consumers.map((c) => c.disconnect().catch(() => undefined)));
    consumers = [];
  });

  /** A group member on its own Cluster (returned too, so a test can pull the plug). */
  async function member(groupId: string, topic: string, seen: Seen[], options: ConsumerOptions = {}): Promise<{ consumer: Consumer; connection: Cluster }> {
    const connection = new Cluster({ brokers: cluster.urls, clientId: `member-${consumers.length}`, requestTimeoutMs: 5000 });
    const consumer = new Consumer(connection, { groupId, sessionTimeoutMs: 6000, maxWaitTimeInMs: 200, ...options });
    consumers.push(consumer);
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({ eachMessage: async ({ partition, message }) => void seen.push({ partition, offset: message.offset, value: messageText(message.value) ?? '' }) });
    return { consumer, connection };
  }

  function owned(c: Consumer): number[] {
    return c.assignment().flatMap((t) => t.partitions);
  }

  function values(count: number, partition: number, from = 0): string[] {
    return Array.from({ length: count }, (_, i) => `p${partition}-${from + i}`);
  }

  it('two members split the partitions and together read every record once; when one leaves the other goes on from its commits', async () => {
    await cluster.createTopic('orders', 4);
    for (let p = 0; p < 4; p++) await cluster.produce('orders', p, values(20, p));
    const seenA: Seen[] = [];
    const seenB: Seen[] = [];
    const a = await member('g1', 'orders', seenA);
    await waitFor('A owns every partition and read the first 80', 30_000, () => (owned(a.consumer).length === 4 && seenA.length === 80 ? true : undefined));
    const b = await member('g1', 'orders', seenB);
    await waitFor('the partitions split between A and B', 30_000, () => {
      const pa = owned(a.consumer);
      const pb = owned(b.consumer);
      return pa.length > 0 && pb.length > 0 && pa.length + pb.length === 4 && pa.every((p) => !pb.includes(p)) ? true : undefined;
    });
    for (let p = 0; p < 4; p++) await cluster.produce('orders', p, values(30, p, 20));
    await waitFor('all 200 records read', 30_000, () => (seenA.length + seenB.length >= 200 ? true : undefined));
    const all = [...seenA, ...seenB].map((s) => s.value).sort();
    const expected = [0, 1, 2, 3].flatMap((p) => values(50, p)).sort();
    expect(all).to.deep.equal(expected);
    expect(seenB.length).to.be.greaterThan(0);

    // A leaves: it commits what it read and its partitions go to B, which starts at those commits.
    const admin = await cluster.admin();
    const described = (await admin.describeGroups(['g1'])).groups[0]!;
    expect(described.members).to.have.length(2);
    expect(described.members.flatMap((m) => m.assignment.flatMap((t) => t.partitions)).sort()).to.deep.equal([0, 1, 2, 3]);
    await a.consumer.disconnect();
    await waitFor('B owns every partition', 30_000, () => (owned(b.consumer).length === 4 ? true : undefined));
    for (let p = 0; p < 4; p++) await cluster.produce('orders', p, values(10, p, 50));
    await waitFor('all 240 records read', 30_000, () => (seenA.length + seenB.length >= 240 ? true : undefined));
    const after = [...seenA, ...seenB].map((s) => s.value).sort();
    expect(after).to.deep.equal([0, 1, 2, 3].flatMap((p) => values(60, p)).sort());

    await b.consumer.disconnect();
    const offsets = await admin.fetchOffsets({ groupId: 'g1', topics: ['orders'] });
    expect(offsets[0]!.partitions.map((p) => p.offset)).to.deep.equal([60, 60, 60, 60]);
    const listed = (await admin.listGroups()).groups.find((g) => g.groupId === 'g1');
    expect(listed?.members).to.equal(0);
  });

  it('after a member crashes without committing, another resumes at the committed offsets: re-delivery of at most the uncommitted, never a skip', async () => {
    await cluster.createTopic('events', 2);
    for (let p = 0; p < 2; p++) await cluster.produce('events', p, values(100, p));
    const seenA: Seen[] = [];
    const seenB: Seen[] = [];
    // A commits only when told: what it read after that is uncommitted when it crashes.
    const a = await member('g2', 'events', seenA, { autoCommit: false });
    await waitFor('A read everything', 30_000, () => (seenA.length === 200 ? true : undefined));
    await a.consumer.commitOffsets([
      { topic: 'events', partition: 0, offset: 60 },
      { topic: 'events', partition: 1, offset: 70 },
    ]);
    // Pull the plug on A: no commit, no leave. Its session must time out before anyone gets its partitions.
    let commitsAfterCrash = 0;
    a.consumer.on(ConsumerEvents.COMMIT_OFFSETS, () => void commitsAfterCrash++);
    await a.connection.close();
    const crashedAt = seenA.length;
    const admin = await cluster.admin();
    expect((await admin.fetchOffsets({ groupId: 'g2', topics: ['events'] }))[0]!.partitions.map((p) => p.offset)).to.deep.equal([60, 70]);
    const b = await member('g2', 'events', seenB);
    for (let p = 0; p < 2; p++) await cluster.produce('events', p, values(20, p, 100));
    await waitFor('B owns both partitions and read to the end', 40_000, () => (owned(b.consumer).length === 2 && seenB.filter((s) => s.offset >= 100).length === 40 ? true : undefined));

    // B started exactly at A's commits: it re-read what A read after them (40 + 30 records) and nothing before.
    expect(seenB.filter((s) => s.partition === 0).map((s) => s.offset)).to.deep.equal(Array.from({ length: 60 }, (_, i) => 60 + i));
    expect(seenB.filter((s) => s.partition === 1).map((s) => s.offset)).to.deep.equal(Array.from({ length: 50 }, (_, i) => 70 + i));
    expect(seenA.length).to.equal(crashedAt);
    expect(commitsAfterCrash).to.equal(0);
  });

  it('the admin moves offsets only of an empty group, and deletes it', async () => {
    await cluster.createTopic('audit', 2);
    for (let p = 0; p < 2; p++) await cluster.produce('audit', p, values(5, p));
    const seen: Seen[] = [];
    const m = await member('g3', 'audit', seen);
    await waitFor('five per partition', 30_000, () => (seen.length === 10 ? true : undefined));
    const admin = await cluster.admin();
    const refused = await admin.resetOffsets({ groupId: 'g3', topic: 'audit', earliest: true }).then(() => undefined, (e: unknown) => e);
    expect(refused).to.be.instanceOf(NonEmptyGroupError);
    expect(await admin.deleteGroups(['g3']).then(() => undefined, (e: unknown) => e)).to.be.instanceOf(NonEmptyGroupError);
    await m.consumer.disconnect();
    expect((await admin.fetchOffsets({ groupId: 'g3' }))[0]!.partitions.map((p) => p.offset)).to.deep.equal([5, 5]);
    expect(await admin.resetOffsets({ groupId: 'g3', topic: 'audit', earliest: true })).to.deep.equal([
      { partition: 0, offset: 0 },
      { partition: 1, offset: 0 },
    ]);
    await admin.setOffsets({ groupId: 'g3', topic: 'audit', partitions: [{ partition: 1, offset: 3 }] });
    expect((await admin.fetchOffsets({ groupId: 'g3', topics: ['audit'] }))[0]!.partitions.map((p) => p.offset)).to.deep.equal([0, 3]);
    // A member now starts where the admin put the offsets.
    const again: Seen[] = [];
    await member('g3', 'audit', again);
    await waitFor('the re-read', 30_000, () => (again.length === 7 ? true : undefined));
    expect(again.map((s) => s.value).sort()).to.deep.equal([...values(5, 0), ...values(2, 1, 3)].sort());
    await Promise.all(consumers.map((c) => c.disconnect()));
    consumers = [];
    await admin.deleteGroups(['g3']);
    expect((await admin.describeGroups(['g3'])).groups[0]!.state).to.equal('dead');
    expect(await admin.fetchOffsets({ groupId: 'g3' })).to.deep.equal([]);
  });

  it('keeps consuming through the loss of its coordinator: finds the new one, keeps its partitions, commits land there', async () => {
    await cluster.createTopic('payments', 2);
    for (let p = 0; p < 2; p++) await cluster.produce('payments', p, values(50, p));
    const seen: Seen[] = [];
    const lost: unknown[] = [];
    const m = await member('g4', 'payments', seen, { autoCommitIntervalMs: 200, rebalanceListener: { onPartitionsLost: (p) => void lost.push(p) } });
    const admin = await cluster.admin();
    const committedOffsets = async (): Promise<number[]> => (await admin.fetchOffsets({ groupId: 'g4', topics: ['payments'] }))[0]!.partitions.map((p) => p.offset);
    await waitFor('100 read and committed', 30_000, async () => (seen.length === 100 && (await committedOffsets()).every((o) => o === 50) ? true : undefined));

    const finder = new Cluster({ brokers: cluster.urls, clientId: 'finder', requestTimeoutMs: 5000 });
    await finder.connect();
    const found = await groupRequestAny(finder, 'find-coordinator', { groupId: 'g4' });
    await finder.close();
    if ('error' in found) throw new Error(found.message);
    await cluster.stopNode(found.nodeId);

    for (let p = 0; p < 2; p++) await cluster.produce('payments', p, values(50, p, 50));
    await waitFor('200 read and committed on the new coordinator', 60_000, async () => (seen.length >= 200 && (await committedOffsets()).every((o) => o === 100) ? true : undefined));
    expect(seen.map((s) => s.value).sort()).to.deep.equal([0, 1].flatMap((p) => values(100, p)).sort());
    expect(lost).to.deep.equal([]);
    expect(owned(m.consumer)).to.deep.equal([0, 1]);
    await cluster.startNode(found.nodeId);
  });
});
