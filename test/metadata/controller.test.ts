/**
 * The quorum controller (controller.ts) driven directly through controller-harness.ts: a fake quorum
 * that commits proposals into a committed image (at once, or when the test says), a manual clock.
 * Each test names the rule it checks; refused requests are also checked to have proposed nothing.
 */
import { expect } from 'chai';
import type { MetadataErrorCode } from '../../src/metadata/errors.js';
import { NO_LEADER } from '../../src/metadata/records.js';
import type * as rpc from '../../src/metadata/rpc.js';
import { FakeRaftError, flush, Harness } from './controller-harness.js';

function errorOf(res: object): MetadataErrorCode | undefined {
  return 'error' in res ? (res as { error: MetadataErrorCode }).error : undefined;
}

/** The per-topic error of a create-topics answer. */
function topicError(res: rpc.ControllerResponse<'create-topics'>, name: string): MetadataErrorCode | undefined {
  expect(res, JSON.stringify(res)).to.have.property('topics');
  const t = (res as rpc.CreateTopicsResponse).topics.find((x) => x.name === name);
  expect(t, `an answer for ${name}`).to.not.equal(undefined);
  return errorOf(t as object);
}

/** Three registered, unfenced brokers (ids 1, 2, 3), active controller. */
async function threeBrokers(options: ConstructorParameters<typeof Harness>[0] = {}): Promise<Harness> {
  const h = new Harness(options);
  h.activate();
  await h.addBrokers([1, 2, 3]);
  return h;
}

const ALL_KINDS: rpc.ControllerRequest[] = [
  { kind: 'register-broker', brokerId: 1, incarnationId: 'a', endpoints: [], rack: '' },
  { kind: 'broker-heartbeat', brokerId: 1, brokerEpoch: 1, metadataOffset: 0, wantShutdown: false },
  { kind: 'alter-partition', brokerId: 1, brokerEpoch: 1, topicId: 'x', partition: 0, leaderEpoch: 0, partitionEpoch: 0, newIsr: [] },
  { kind: 'create-topics', topics: [{ name: 'a', numPartitions: 1, replicationFactor: 1 }], validateOnly: false },
  { kind: 'delete-topics', names: ['a'] },
  { kind: 'create-partitions', topics: [{ name: 'a', count: 2 }], validateOnly: false },
  { kind: 'describe-configs', resources: [''] },
  { kind: 'alter-configs', resource: '', changes: [], validateOnly: false },
  { kind: 'allocate-producer-ids', brokerId: 1, brokerEpoch: 1 },
];

describe('quorum controller', () => {
  describe('activation', () => {
    it('answers NOT_CONTROLLER to everything before activation, until its leader-change entry is applied, and after resigning', async () => {
      const h = new Harness();
      for (const req of ALL_KINDS) expect(errorOf((await h.controller.handle(req)) as object), req.kind).to.equal('NOT_CONTROLLER');
      // Leader, but the committed image has not reached the leader-change entry yet.
      h.controller.becameLeader(h.committed.offset + 1, h.committed);
      expect(h.controller.isActive).to.equal(false);
      expect(errorOf(await h.handle({ kind: 'describe-configs', resources: [''] }))).to.equal('NOT_CONTROLLER');
      h.controller.maybeActivate(h.committed);
      expect(h.controller.isActive).to.equal(false);
      h.controller.resigned();
      h.activate();
      expect(errorOf(await h.handle({ kind: 'describe-configs', resources: [''] }))).to.equal(undefined);
      await h.addBrokers([1]);
      h.controller.resigned();
      expect(h.controller.isActive).to.equal(false);
      const mark = h.proposalCount;
      for (const req of ALL_KINDS) expect(errorOf((await h.controller.handle(req)) as object), req.kind).to.equal('NOT_CONTROLLER');
      h.controller.tick();
      await flush();
      expect(h.proposalCount, 'an inactive controller proposes nothing').to.equal(mark);
      // A leader again after resigning: waits for its new leader-change entry.
      h.controller.maybeActivate(h.committed);
      expect(h.controller.isActive, 'resigning forgets the pending activation').to.equal(false);
    });

    it('a newly active controller restarts every broker session at "now" and serves from the committed image', async () => {
      const h = await threeBrokers();
      const topicId = await h.createTopic('orders', 2, 3);
      h.controller.resigned();
      // A new controller (another node) over the same committed image, much later.
      const h2 = new Harness({ sessionTimeoutMs: 9000 }, h.committed);
      h2.clock.advance(1_000_000);
      h2.activate();
      await h2.tick();
      expect(h2.committed.brokers().every((b) => !b.fenced), 'no broker fenced for a heartbeat sent to the old controller').to.equal(true);
      const res = await h2.handle({ kind: 'create-topics', topics: [{ name: 'orders', numPartitions: 1, replicationFactor: 1 }], validateOnly: false });
      expect(topicError(res, 'orders')).to.equal('TOPIC_ALREADY_EXISTS');
      h2.clock.advance(9001);
      await h2.tick();
      expect(h2.committed.brokers().every((b) => b.fenced), 'silent brokers are fenced a session timeout after activation').to.equal(true);
      expect(h2.committed.partition(topicId, 0)?.leader).to.equal(NO_LEADER);
    });
  });

  describe('broker registration', () => {
    it('hands out increasing epochs; a retry of the same start gets the same epoch and writes nothing', async () => {
      const h = new Harness();
      h.activate();
      expect(await h.register(1)).to.deep.equal({ brokerEpoch: 1 });
      expect(await h.register(2)).to.deep.equal({ brokerEpoch: 2 });
      const mark = h.proposalCount;
      expect(await h.register(1)).to.deep.equal({ brokerEpoch: 1 });
      expect(h.proposalCount).to.equal(mark);
      expect(h.committed.broker(1)).to.include({ epoch: 1, fenced: true, incarnationId: 'inc-1' });
      expect(h.committed.broker(1)?.endpoints).to.deep.equal([{ name: 'client', url: 'ws://b1' }]);
    });

    // Regression: a retry of an in-flight registration was answered from the working image with an
    // epoch the log might never commit.
    it('a retry of a registration that is still in flight is not answered before the registration commits', async () => {
      const h = new Harness();
      h.activate();
      h.quorum.auto = false;
      const first = h.register(1);
      await flush();
      let retry: unknown;
      void h.register(1).then((r) => (retry = r));
      await flush();
      // Not answered yet, or told to retry: either way no epoch is promised before it commits.
      expect(retry === undefined || errorOf(retry as object) === 'REQUEST_TIMED_OUT', `retry answered ${JSON.stringify(retry)}`).to.equal(true);
      h.quorum.failAll(new FakeRaftError('NOT_LEADER'));
      expect(errorOf(await first)).to.equal('NOT_CONTROLLER');
      await flush();
      expect(retry === undefined || errorOf(retry as object) !== undefined, `retry answered ${JSON.stringify(retry)}`).to.equal(true);
    });

    it('refuses an invalid broker id or an empty incarnation', async () => {
      const h = new Harness();
      h.activate();
      expect(errorOf(await h.handle({ kind: 'register-broker', brokerId: -1, incarnationId: 'a', endpoints: [], rack: '' }))).to.equal('INVALID_REQUEST');
      expect(errorOf(await h.handle({ kind: 'register-broker', brokerId: 1, incarnationId: '', endpoints: [], rack: '' }))).to.equal('INVALID_REQUEST');
      expect(h.proposalCount).to.equal(0);
    });

    it('DUPLICATE_BROKER_REGISTRATION for a new incarnation while the old one is unfenced; accepted once fenced, with a higher epoch', async () => {
      const h = await threeBrokers();
      const mark = h.proposalCount;
      expect(errorOf(await h.register(2, 'second-start'))).to.equal('DUPLICATE_BROKER_REGISTRATION');
      expect(h.proposalCount).to.equal(mark);
      expect(h.committed.broker(2)).to.include({ epoch: 2, incarnationId: 'inc-2', fenced: false });
      await h.expireSession(2);
      const res = await h.register(2, 'second-start');
      expect(res).to.deep.equal({ brokerEpoch: 4 });
      expect(h.committed.broker(2)).to.include({ epoch: 4, incarnationId: 'second-start', fenced: true });
      // The old incarnation is now stale.
      expect(errorOf(await h.heartbeat(2, { brokerEpoch: 2 }))).to.equal('STALE_BROKER_EPOCH');
      expect(errorOf(await h.heartbeat(9, { brokerEpoch: 1 }))).to.equal('BROKER_NOT_REGISTERED');
    });

    it('after a failover, a new incarnation replaces an unfenced registration the new controller never heard from, fencing the old one first', async () => {
      const h = await threeBrokers();
      await h.handle({ kind: 'create-topics', topics: [{ name: 't', numPartitions: 3, replicationFactor: 3 }], validateOnly: false });
      // A new term (the whole cluster restarted, say): sessions start over, nobody heard from yet.
      h.controller.resigned();
      h.activate();
      const mark = h.proposalCount;
      const res = await h.register(2, 'after-restart');
      expect(res).to.deep.equal({ brokerEpoch: 4 });
      expect(h.committed.broker(2)).to.include({ epoch: 4, incarnationId: 'after-restart', fenced: true });
      const records = h.recordsSince(mark);
      expect(records[0]).to.deep.equal({ type: 'broker-registration-change', brokerId: 2, brokerEpoch: 2, fenced: true });
      for (const p of h.committed.topic('t')?.partitions.values() ?? []) {
        expect(p.leader).to.not.equal(2);
        expect(p.isr).to.not.include(2);
      }
      // Broker 3 heartbeats the new controller: from then on its registration is protected again.
      await h.heartbeat(3, { brokerEpoch: 3 });
      expect(errorOf(await h.register(3, 'imposter'))).to.equal('DUPLICATE_BROKER_REGISTRATION');
    });

    it('a registered broker stays fenced until its heartbeat reports the registration\'s committed offset', async () => {
      const h = new Harness();
      h.activate();
      await h.register(1);
      const registeredAt = h.committed.offset;
      const mark = h.proposalCount;
      expect(await h.heartbeat(1, { metadataOffset: registeredAt - 1 })).to.deep.equal({ fenced: true, inControlledShutdown: false, shouldShutdown: false });
      expect(await h.heartbeat(1, { metadataOffset: 0 })).to.include({ fenced: true });
      expect(h.proposalCount, 'no write while it is behind').to.equal(mark);
      expect(h.committed.broker(1)?.fenced).to.equal(true);
      expect(await h.heartbeat(1, { metadataOffset: registeredAt })).to.deep.equal({ fenced: false, inControlledShutdown: false, shouldShutdown: false });
      expect(h.committed.broker(1)?.fenced).to.equal(false);
      expect(h.recordsSince(mark)).to.deep.equal([{ type: 'broker-registration-change', brokerId: 1, brokerEpoch: 1, fenced: false, inControlledShutdown: false }]);
    });

    it('while the registration is in flight, no heartbeat unfences the broker', async () => {
      const h = new Harness();
      h.activate();
      h.quorum.auto = false;
      const pending = h.register(1);
      await flush();
      expect(h.quorum.inFlight).to.equal(1);
      // The broker cannot know its epoch yet; even a heartbeat with the working epoch and a huge offset stays fenced.
      expect(await h.heartbeat(1, { brokerEpoch: 1, metadataOffset: 1_000_000 })).to.include({ fenced: true });
      expect(h.quorum.inFlight).to.equal(1);
      h.quorum.commitAll();
      expect(await pending).to.deep.equal({ brokerEpoch: 1 });
      h.quorum.auto = true;
      expect(await h.heartbeat(1)).to.include({ fenced: false });
    });
  });

  describe('sessions and leader election', () => {
    describe('a broker the node has no connection with', () => {
      /** Three brokers; `down` holds the ids the node has no connection with. */
      async function withConnections(): Promise<{ h: Harness; down: Set<number> }> {
        const down = new Set<number>();
        const h = await threeBrokers({ disconnectedSessionTimeoutMs: 1000, brokerConnected: (id) => !down.has(id) });
        return { h, down };
      }

      it('is fenced once disconnected for longer than disconnectedSessionTimeoutMs, long before the session timeout', async () => {
        const { h, down } = await withConnections();
        await h.createTopic('orders', 3, 3);
        down.add(2);
        await h.tick(); // the disconnection is seen here
        h.clock.advance(1000);
        await h.tick();
        expect(h.committed.broker(2)?.fenced, 'exactly the timeout is not past it').to.equal(false);
        h.clock.advance(1);
        await h.tick();
        expect(h.committed.broker(2)?.fenced).to.equal(true);
        expect(h.partitions('orders').every((p) => p.leader !== 2 && !p.isr.includes(2)), 'its leaderships and ISR places went').to.equal(true);
        expect(h.logLines.some((l) => l.includes('no connection for 1001 ms'))).to.equal(true);
      });

      it('a heartbeat or a reconnection within the timeout restarts the count', async () => {
        const { h, down } = await withConnections();
        down.add(2);
        await h.tick();
        h.clock.advance(800);
        await h.heartbeat(2); // arrived just before its connection closed again
        await h.tick();
        h.clock.advance(800);
        await h.tick();
        expect(h.committed.broker(2)?.fenced, '800 ms since the heartbeat, though 1600 ms since the disconnection began').to.equal(false);
        down.delete(2);
        await h.tick();
        down.add(2);
        await h.tick();
        h.clock.advance(900);
        await h.tick();
        expect(h.committed.broker(2)?.fenced, 'the reconnection restarted the count').to.equal(false);
      });

      it('a connected broker that stops heartbeating still has the whole session timeout', async () => {
        const { h } = await withConnections();
        for (let i = 0; i < 9; i++) {
          await h.tick(); // each tick asks brokerConnected: broker 2 is connected, so nothing counts
          h.clock.advance(1000);
          await h.heartbeatAll([2]);
        }
        await h.tick();
        expect(h.committed.broker(2)?.fenced, '9000 ms silent but connected').to.equal(false);
        h.clock.advance(1);
        await h.heartbeatAll([2]);
        await h.tick();
        expect(h.committed.broker(2)?.fenced, 'the session timeout still applies').to.equal(true);
      });

      it('a newly active controller counts from its first tick, so a broker that died with the old controller goes soon', async () => {
        const { h } = await withConnections();
        await h.createTopic('orders', 3, 3);
        h.controller.resigned();
        const down = new Set([1]); // the old controller's node died with it
        const h2 = new Harness({ disconnectedSessionTimeoutMs: 1000, brokerConnected: (id) => !down.has(id) }, h.committed);
        h2.activate();
        await h2.tick();
        h2.clock.advance(1000);
        await h2.tick();
        expect(h2.committed.broker(1)?.fenced, 'the timeout exactly is not past it').to.equal(false);
        h2.clock.advance(1);
        await h2.tick();
        expect(h2.committed.broker(1)?.fenced).to.equal(true);
        expect(h2.committed.brokers().filter((b) => b.fenced).map((b) => b.id), 'the connected ones stay').to.deep.equal([1]);
      });
    });

    it('a session timeout fences the broker and moves each of its leaderships to the next ISR member, bumping the leader epoch', async () => {
      const h = await threeBrokers();
      await h.createTopic('orders', 6, 3);
      const before = h.partitions('orders');
      const victim = 2;
      expect(before.some((p) => p.leader === victim)).to.equal(true);
      // Not yet: exactly the session timeout is not past it.
      h.clock.advance(9000);
      await h.heartbeatAll([victim]);
      await h.tick();
      expect(h.committed.broker(victim)?.fenced).to.equal(false);
      h.clock.advance(1);
      await h.heartbeatAll([victim]);
      await h.tick();
      expect(h.committed.broker(victim)?.fenced).to.equal(true);
      for (const [i, after] of h.partitions('orders').entries()) {
        const b = before[i] as (typeof before)[number];
        expect(after.isr, `${i}: the fenced broker left the ISR`).to.not.include(victim);
        if (b.leader === victim) {
          const expected = b.replicas.find((r) => r !== victim && b.isr.includes(r));
          expect(after.leader, `partition ${i}: next ISR member in replica order`).to.equal(expected);
          expect(after.leaderEpoch).to.equal(b.leaderEpoch + 1);
        } else {
          expect(after.leader).to.equal(b.leader);
          expect(after.leaderEpoch).to.equal(b.leaderEpoch);
        }
        expect(after.partitionEpoch).to.equal(b.partitionEpoch + 1);
      }
      // A second tick does not fence it again.
      const mark = h.proposalCount;
      await h.heartbeatAll();
      await h.tick();
      expect(h.proposalCount).to.equal(mark);
    });

    it('a replica with corrupt stored data leaves the ISR and, if it leads, leadership moves to the next ISR member', async () => {
      const h = await threeBrokers();
      await h.createTopic('rot', 1, 3);
      const p = h.partitions('rot')[0] as ReturnType<typeof h.partitions>[number];
      const leader = p.leader;
      const stale = await h.handle({ kind: 'replica-failed', brokerId: leader, brokerEpoch: h.epoch(leader) + 100, topicId: p.topicId, partition: 0 });
      expect(errorOf(stale)).to.equal('STALE_BROKER_EPOCH');
      const res = await h.handle({ kind: 'replica-failed', brokerId: leader, brokerEpoch: h.epoch(leader), topicId: p.topicId, partition: 0 });
      expect(errorOf(res)).to.equal(undefined);
      const after = h.partitions('rot')[0] as typeof p;
      expect(after.isr).to.not.include(leader);
      expect(after.leader).to.not.equal(leader);
      expect(after.leader).to.equal(p.replicas.find((r) => r !== leader));
      expect(after.leaderEpoch).to.equal(p.leaderEpoch + 1);
      // A follower's report only shrinks the ISR; the last ISR member stays (offline beats data loss).
      const follower = after.isr.find((r) => r !== after.leader) as number;
      await h.handle({ kind: 'replica-failed', brokerId: follower, brokerEpoch: h.epoch(follower), topicId: p.topicId, partition: 0 });
      const last = h.partitions('rot')[0] as typeof p;
      expect(last.isr).to.deep.equal([after.leader]);
      expect(last.leader).to.equal(after.leader);
      const mark = h.proposalCount;
      await h.handle({ kind: 'replica-failed', brokerId: after.leader, brokerEpoch: h.epoch(after.leader), topicId: p.topicId, partition: 0 });
      expect(h.partitions('rot')[0]?.isr).to.deep.equal([after.leader]);
      expect(h.proposalCount, 'the last ISR member with no one to hand over to: nothing written').to.equal(mark);
    });

    it('a fenced broker is unfenced only once its metadata has caught up past its own fencing', async () => {
      const h = await threeBrokers();
      const victim = 2;
      const staleOffset = h.committed.offset;
      h.clock.advance(9001);
      await h.heartbeatAll([victim]);
      await h.tick();
      expect(h.committed.broker(victim)?.fenced).to.equal(true);
      const fencedAt = h.committed.offset;
      expect(fencedAt).to.be.above(staleOffset);
      // Resumed after a pause with the image it had before: it stays fenced.
      expect(await h.heartbeat(victim, { metadataOffset: staleOffset })).to.include({ fenced: true });
      expect(h.committed.broker(victim)?.fenced).to.equal(true);
      // Caught up to the record that fenced it: unfenced.
      expect(await h.heartbeat(victim, { metadataOffset: fencedAt })).to.include({ fenced: false });
    });

    it('with no eligible ISR member the partition goes offline and keeps its last ISR member; unfencing brings it back', async () => {
      const h = await threeBrokers();
      await h.createTopic('solo', 1, 1);
      const p0 = h.partition('solo', 0);
      const only = p0.leader;
      await h.expireSession(only);
      expect(h.partition('solo', 0)).to.deep.include({ leader: NO_LEADER, isr: [only], leaderEpoch: p0.leaderEpoch + 1 });
      // Same process, heartbeating again and caught up: unfenced, and leads its partition again.
      expect(await h.heartbeat(only)).to.include({ fenced: false });
      expect(h.partition('solo', 0)).to.deep.include({ leader: only, isr: [only], leaderEpoch: p0.leaderEpoch + 2 });
    });

    it('a partition whose ISR is only its leader goes offline when the leader is fenced, although another replica is alive', async () => {
      const h = await threeBrokers();
      await h.createTopic('pair', 1, 2);
      const p = h.partition('pair', 0);
      expect(await h.alterIsr('pair', 0, [p.leader])).to.not.have.property('error');
      await h.expireSession(p.leader);
      expect(h.partition('pair', 0)).to.deep.include({ leader: NO_LEADER, isr: [p.leader] });
    });

    it('unclean election only when the topic sets unclean.leader.election.enable=true', async () => {
      const h = await threeBrokers();
      await h.createTopic('unclean', 1, 2, { 'unclean.leader.election.enable': 'true' });
      const p = h.partition('unclean', 0);
      const other = p.replicas.find((r) => r !== p.leader) as number;
      expect(await h.alterIsr('unclean', 0, [p.leader])).to.not.have.property('error');
      await h.expireSession(p.leader);
      expect(h.partition('unclean', 0)).to.deep.include({ leader: other, isr: [other], leaderEpoch: p.leaderEpoch + 1 });
    });

    it('an offline partition of an unclean topic is led by a replica outside the ISR once it returns; a clean topic stays offline', async () => {
      for (const unclean of [true, false]) {
        const h = await threeBrokers();
        await h.createTopic('t', 1, 2, { 'unclean.leader.election.enable': String(unclean) });
        const p = h.partition('t', 0);
        const other = p.replicas.find((r) => r !== p.leader) as number;
        expect(await h.alterIsr('t', 0, [p.leader])).to.not.have.property('error');
        await h.expireSession(other); // out of the ISR, and now gone too
        await h.expireSession(p.leader); // the last ISR member goes: offline
        expect(h.partition('t', 0)).to.deep.include({ leader: NO_LEADER, isr: [p.leader] });
        expect(await h.heartbeat(other)).to.include({ fenced: false }); // the other replica returns
        if (unclean) expect(h.partition('t', 0), 'unclean').to.deep.include({ leader: other, isr: [other] });
        else expect(h.partition('t', 0), 'clean').to.deep.include({ leader: NO_LEADER, isr: [p.leader] });
      }
    });

    it('a cluster-wide unclean.leader.election.enable=true applies to topics without an override; a topic override of false wins', async () => {
      const h = await threeBrokers();
      expect(await h.handle({ kind: 'alter-configs', resource: '', changes: [{ name: 'unclean.leader.election.enable', value: 'true' }], validateOnly: false })).to.not.have.property('error');
      await h.createTopic('inherits', 1, 2);
      await h.createTopic('clean', 1, 2, { 'unclean.leader.election.enable': 'false' });
      // Put both leaderships on one broker with an ISR of just it.
      const a = h.partition('inherits', 0);
      const c = h.partition('clean', 0);
      await h.alterIsr('inherits', 0, [a.leader]);
      await h.alterIsr('clean', 0, [c.leader]);
      await h.expireSession(a.leader);
      expect(h.partition('inherits', 0).leader).to.not.equal(NO_LEADER);
      expect(h.partition('inherits', 0).leader).to.not.equal(a.leader);
      if (c.leader !== a.leader) await h.expireSession(c.leader);
      expect(h.partition('clean', 0)).to.deep.include({ leader: NO_LEADER, isr: [c.leader] });
    });

    it('controlled shutdown moves leadership away, leaves the ISRs, and answers shouldShutdown once it leads nothing', async () => {
      const h = await threeBrokers();
      await h.createTopic('orders', 3, 3);
      const leaving = h.partition('orders', 0).leader;
      h.quorum.auto = false;
      let answer: rpc.BrokerHeartbeatResponse | undefined;
      void h.heartbeat(leaving, { wantShutdown: true }).then((r) => (answer = r));
      await flush();
      expect(answer, 'answered only once the move committed').to.equal(undefined);
      h.quorum.commitAll();
      h.quorum.auto = true;
      await flush();
      expect(answer).to.deep.equal({ fenced: true, inControlledShutdown: true, shouldShutdown: true });
      expect(h.committed.broker(leaving)).to.include({ fenced: true, inControlledShutdown: true });
      for (const p of h.partitions('orders')) {
        expect(p.leader).to.not.equal(leaving);
        expect(p.leader).to.not.equal(NO_LEADER);
        expect(p.isr).to.not.include(leaving);
      }
      // A new start of the broker may register (the old one is fenced) and gets a new epoch.
      const epochBefore = h.epoch(leaving);
      const res = await h.register(leaving, 'after-restart');
      expect(res).to.have.property('brokerEpoch').above(epochBefore);
    });

    it('a broker shutting down while it is the last ISR member leaves its partition offline and may stop', async () => {
      const h = await threeBrokers();
      await h.createTopic('solo', 1, 1);
      const only = h.partition('solo', 0).leader;
      expect(await h.heartbeat(only, { wantShutdown: true })).to.deep.equal({ fenced: true, inControlledShutdown: true, shouldShutdown: true });
      expect(h.partition('solo', 0)).to.deep.include({ leader: NO_LEADER, isr: [only] });
    });

    it('preferred leader election runs every leaderImbalanceCheckIntervalMs and moves leadership back to the first replica', async () => {
      const h = await threeBrokers({ sessionTimeoutMs: 9000, leaderImbalanceCheckIntervalMs: 60_000 });
      await h.createTopic('orders', 3, 3);
      const p0 = h.partition('orders', 0);
      const preferred = p0.replicas[0] as number;
      await h.expireSession(preferred);
      expect(h.partition('orders', 0).leader).to.not.equal(preferred);
      // It comes back: unfenced, then the leader adds it back to the ISR.
      expect(await h.heartbeat(preferred)).to.include({ fenced: false });
      const isr = [...h.partition('orders', 0).isr, preferred];
      expect(await h.alterIsr('orders', 0, isr)).to.not.have.property('error');
      const moved = h.partition('orders', 0);
      expect(moved.leader).to.not.equal(preferred);
      // Before the interval: nothing.
      h.clock.advance(30_000);
      await h.heartbeatAll();
      await h.tick();
      expect(h.partition('orders', 0).leader).to.not.equal(preferred);
      h.clock.advance(30_000);
      await h.heartbeatAll();
      await h.tick();
      expect(h.partition('orders', 0)).to.include({ leader: preferred, leaderEpoch: moved.leaderEpoch + 1 });
      // Every partition led by its preferred replica now.
      for (const p of h.partitions('orders')) expect(p.leader).to.equal(p.replicas[0]);
    });

    it('preferred leader election skips a preferred replica outside the ISR', async () => {
      const h = await threeBrokers({ leaderImbalanceCheckIntervalMs: 20_000 });
      await h.createTopic('orders', 1, 3);
      const preferred = h.partition('orders', 0).replicas[0] as number;
      await h.expireSession(preferred);
      await h.heartbeat(preferred);
      const led = h.partition('orders', 0);
      h.clock.advance(20_000);
      await h.heartbeatAll();
      await h.tick();
      expect(h.partition('orders', 0).leader).to.equal(led.leader);
      expect(h.partition('orders', 0).leaderEpoch).to.equal(led.leaderEpoch);
    });
  });

  describe('CreateTopics', () => {
    const invalid: Array<{ what: string; topic: rpc.CreatableTopic; code: MetadataErrorCode }> = [
      { what: 'a name with a space', topic: { name: 'bad name', numPartitions: 1, replicationFactor: 1 }, code: 'INVALID_TOPIC_NAME' },
      { what: 'an empty name', topic: { name: '', numPartitions: 1, replicationFactor: 1 }, code: 'INVALID_TOPIC_NAME' },
      { what: 'an internal name', topic: { name: '__offsets', numPartitions: 1, replicationFactor: 1 }, code: 'INVALID_TOPIC_NAME' },
      { what: 'a name too long', topic: { name: 'x'.repeat(250), numPartitions: 1, replicationFactor: 1 }, code: 'INVALID_TOPIC_NAME' },
      { what: 'an existing name', topic: { name: 'exists', numPartitions: 1, replicationFactor: 1 }, code: 'TOPIC_ALREADY_EXISTS' },
      { what: '0 partitions', topic: { name: 'p0', numPartitions: 0, replicationFactor: 1 }, code: 'INVALID_PARTITIONS' },
      { what: '-2 partitions', topic: { name: 'pneg', numPartitions: -2, replicationFactor: 1 }, code: 'INVALID_PARTITIONS' },
      { what: 'too many partitions', topic: { name: 'pbig', numPartitions: 100_001, replicationFactor: 1 }, code: 'INVALID_PARTITIONS' },
      { what: 'replication factor 0', topic: { name: 'rf0', numPartitions: 1, replicationFactor: 0 }, code: 'INVALID_REPLICATION_FACTOR' },
      { what: 'replication factor above the brokers', topic: { name: 'rf4', numPartitions: 1, replicationFactor: 4 }, code: 'INVALID_REPLICATION_FACTOR' },
      { what: 'an unknown config', topic: { name: 'unk', numPartitions: 1, replicationFactor: 1, configs: { 'no.such.config': '1' } }, code: 'INVALID_CONFIG' },
      { what: 'a bad config value', topic: { name: 'badval', numPartitions: 1, replicationFactor: 1, configs: { 'retention.ms': 'soon' } }, code: 'INVALID_CONFIG' },
      { what: 'min.insync.replicas above the RF', topic: { name: 'minisr', numPartitions: 1, replicationFactor: 2, configs: { 'min.insync.replicas': '3' } }, code: 'INVALID_CONFIG' },
    ];
    for (const c of invalid) {
      it(`refuses ${c.what} with ${c.code} and proposes nothing`, async () => {
        const h = await threeBrokers();
        await h.createTopic('exists', 1, 1);
        const mark = h.proposalCount;
        const digest = h.committed.digest();
        const res = await h.handle({ kind: 'create-topics', topics: [c.topic], validateOnly: false });
        expect(topicError(res, c.topic.name)).to.equal(c.code);
        expect((res as rpc.CreateTopicsResponse).topics[0]).to.have.property('message').that.is.a('string').and.not.empty;
        expect(h.proposalCount).to.equal(mark);
        expect(h.committed.digest()).to.equal(digest);
      });
    }

    it('a cluster default min.insync.replicas above the RF refuses the topic unless it overrides it down', async () => {
      const h = await threeBrokers();
      await h.handle({ kind: 'alter-configs', resource: '', changes: [{ name: 'min.insync.replicas', value: '2' }], validateOnly: false });
      const mark = h.proposalCount;
      expect(topicError(await h.handle({ kind: 'create-topics', topics: [{ name: 'one', numPartitions: 1, replicationFactor: 1 }], validateOnly: false }), 'one')).to.equal('INVALID_CONFIG');
      expect(h.proposalCount).to.equal(mark);
      await h.createTopic('one', 1, 1, { 'min.insync.replicas': '1' });
    });

    it('RF counts only unfenced brokers', async () => {
      const h = await threeBrokers();
      await h.expireSession(3);
      const res = await h.handle({ kind: 'create-topics', topics: [{ name: 'wide', numPartitions: 1, replicationFactor: 3 }], validateOnly: false });
      expect(topicError(res, 'wide')).to.equal('INVALID_REPLICATION_FACTOR');
      await h.createTopic('narrow', 4, 2);
      for (const p of h.partitions('narrow')) expect(p.replicas).to.not.include(3);
    });

    it('a request with valid and invalid topics creates the valid ones only, in one batch', async () => {
      const h = await threeBrokers();
      const mark = h.proposalCount;
      const res = await h.handle({
        kind: 'create-topics',
        topics: [
          { name: 'good', numPartitions: 2, replicationFactor: 2, configs: { 'retention.ms': '1000' } },
          { name: 'bad!', numPartitions: 1, replicationFactor: 1 },
          { name: 'good', numPartitions: 1, replicationFactor: 1 },
        ],
        validateOnly: false,
      });
      expect(topicError(res, 'bad!')).to.equal('INVALID_TOPIC_NAME');
      const answers = (res as rpc.CreateTopicsResponse).topics;
      expect(answers.map((t) => errorOf(t))).to.deep.equal([undefined, 'INVALID_TOPIC_NAME', 'TOPIC_ALREADY_EXISTS']);
      expect(h.proposalCount - mark).to.equal(1);
      expect(h.committed.topic('good')?.partitions.size).to.equal(2);
      expect(h.committed.topic('bad!')).to.equal(undefined);
      expect(h.committed.topicConfig('good')).to.deep.equal({ 'retention.ms': '1000' });
      // The answer is what was committed.
      const created = answers[0] as { topicId: string; partitions: readonly object[] };
      expect(h.committed.topic('good')?.id).to.equal(created.topicId);
      expect(created.partitions).to.deep.equal(h.partitions('good'));
    });

    it('validateOnly proposes nothing but returns the would-be assignment', async () => {
      const h = await threeBrokers();
      const mark = h.proposalCount;
      const res = await h.handle({ kind: 'create-topics', topics: [{ name: 'dry', numPartitions: 4, replicationFactor: 2 }], validateOnly: true });
      const t = (res as rpc.CreateTopicsResponse).topics[0] as unknown as { name: string; topicId: string; partitions: Array<{ replicas: number[]; leader: number; isr: number[] }> };
      expect(t).to.not.have.property('error');
      expect(t.partitions).to.have.length(4);
      for (const p of t.partitions) {
        expect(p.replicas).to.have.length(2);
        expect(new Set(p.replicas).size).to.equal(2);
        expect(p.leader).to.equal(p.replicas[0]);
        expect(p.isr).to.deep.equal(p.replicas);
      }
      expect(h.proposalCount).to.equal(mark);
      expect(h.committed.topic('dry')).to.equal(undefined);
      // Validation errors are still reported.
      const bad = await h.handle({ kind: 'create-topics', topics: [{ name: 'dry', numPartitions: 1, replicationFactor: 9 }], validateOnly: true });
      expect(topicError(bad, 'dry')).to.equal('INVALID_REPLICATION_FACTOR');
      // And the name is still free.
      await h.createTopic('dry', 1, 1);
    });

    it('spreads replicas and preferred leaders evenly over the brokers', async () => {
      const h = await threeBrokers();
      await h.createTopic('spread', 6, 2);
      const leaders = new Map<number, number>();
      const replicas = new Map<number, number>();
      for (const p of h.partitions('spread')) {
        expect(new Set(p.replicas).size).to.equal(2);
        expect(p).to.include({ leader: p.replicas[0], leaderEpoch: 0, partitionEpoch: 0 });
        expect(p.isr).to.deep.equal(p.replicas);
        leaders.set(p.leader, (leaders.get(p.leader) ?? 0) + 1);
        for (const r of p.replicas) replicas.set(r, (replicas.get(r) ?? 0) + 1);
      }
      expect([...leaders.entries()].sort()).to.deep.equal([[1, 2], [2, 2], [3, 2]]);
      expect([...replicas.entries()].sort()).to.deep.equal([[1, 4], [2, 4], [3, 4]]);
    });

    it('-1 picks the default partition count and a replication factor capped at the broker count', async () => {
      const h = new Harness({ defaultPartitions: 5, defaultReplicationFactor: 3 });
      h.activate();
      await h.addBrokers([1, 2]);
      await h.createTopic('defaults', -1, -1);
      expect(h.partitions('defaults')).to.have.length(5);
      for (const p of h.partitions('defaults')) expect(p.replicas).to.have.length(2);
    });

    it('two creations of one name in flight at once: the second sees the first and is refused', async () => {
      const h = await threeBrokers();
      h.quorum.auto = false;
      const first = h.handle({ kind: 'create-topics', topics: [{ name: 'race', numPartitions: 1, replicationFactor: 1 }], validateOnly: false });
      await flush();
      const second = await h.handle({ kind: 'create-topics', topics: [{ name: 'race', numPartitions: 1, replicationFactor: 1 }], validateOnly: false });
      expect(topicError(second, 'race')).to.equal('TOPIC_ALREADY_EXISTS');
      expect(h.quorum.inFlight).to.equal(1);
      h.quorum.commitAll();
      expect(topicError(await first, 'race')).to.equal(undefined);
      expect(h.committed.topic('race')).to.not.equal(undefined);
    });
  });

  describe('DeleteTopics and CreatePartitions', () => {
    it('deletes a topic with its partitions and configs; an unknown (or repeated) name gets UNKNOWN_TOPIC_OR_PARTITION', async () => {
      const h = await threeBrokers();
      const id = await h.createTopic('doomed', 2, 2, { 'retention.ms': '5000' });
      const res = await h.handle({ kind: 'delete-topics', names: ['doomed', 'never', 'doomed'] });
      expect((res as rpc.DeleteTopicsResponse).topics.map((t) => errorOf(t))).to.deep.equal([undefined, 'UNKNOWN_TOPIC_OR_PARTITION', 'UNKNOWN_TOPIC_OR_PARTITION']);
      expect(h.committed.topic('doomed')).to.equal(undefined);
      expect(h.committed.partition(id, 0)).to.equal(undefined);
      expect(h.committed.topicConfig('doomed')).to.deep.equal({});
      const mark = h.proposalCount;
      const again = await h.handle({ kind: 'delete-topics', names: ['doomed'] });
      expect(errorOf((again as rpc.DeleteTopicsResponse).topics[0] as object)).to.equal('UNKNOWN_TOPIC_OR_PARTITION');
      expect(h.proposalCount).to.equal(mark);
      // The name is free again, and the old configs do not come back.
      await h.createTopic('doomed', 1, 1);
      expect(h.committed.topicConfig('doomed')).to.deep.equal({});
    });

    it('CreatePartitions must grow the topic; new partitions are placed with the topic\'s RF', async () => {
      const h = await threeBrokers();
      const id = await h.createTopic('grow', 2, 2);
      const mark = h.proposalCount;
      for (const count of [2, 1, 0, 100_001]) {
        const res = await h.handle({ kind: 'create-partitions', topics: [{ name: 'grow', count }], validateOnly: false });
        expect(errorOf((res as rpc.CreatePartitionsResponse).topics[0] as object), `count ${count}`).to.equal('INVALID_PARTITIONS');
      }
      const unknown = await h.handle({ kind: 'create-partitions', topics: [{ name: 'nope', count: 3 }], validateOnly: false });
      expect(errorOf((unknown as rpc.CreatePartitionsResponse).topics[0] as object)).to.equal('UNKNOWN_TOPIC_OR_PARTITION');
      const dry = await h.handle({ kind: 'create-partitions', topics: [{ name: 'grow', count: 4 }], validateOnly: true });
      expect(errorOf((dry as rpc.CreatePartitionsResponse).topics[0] as object)).to.equal(undefined);
      expect(h.proposalCount, 'refusals and validateOnly propose nothing').to.equal(mark);
      const existing = h.partitions('grow');
      const res = await h.handle({ kind: 'create-partitions', topics: [{ name: 'grow', count: 5 }], validateOnly: false });
      expect(errorOf((res as rpc.CreatePartitionsResponse).topics[0] as object)).to.equal(undefined);
      const after = h.partitions('grow');
      expect(after.map((p) => p.partition)).to.deep.equal([0, 1, 2, 3, 4]);
      expect(after.slice(0, 2)).to.deep.equal(existing);
      for (const p of after.slice(2)) {
        expect(p.topicId).to.equal(id);
        expect(new Set(p.replicas).size).to.equal(2);
        expect(p).to.include({ leader: p.replicas[0], leaderEpoch: 0, partitionEpoch: 0 });
        expect(p.isr).to.deep.equal(p.replicas);
      }
    });
  });

  describe('configs', () => {
    it('DescribeConfigs reports each value with its source: topic, cluster or default', async () => {
      const h = await threeBrokers();
      await h.createTopic('orders', 1, 1, { 'segment.ms': '60000' });
      await h.handle({ kind: 'alter-configs', resource: '', changes: [{ name: 'retention.ms', value: '5000' }], validateOnly: false });
      const res = (await h.handle({ kind: 'describe-configs', resources: ['orders', '', 'missing'] })) as rpc.DescribeConfigsResponse;
      const [topic, cluster, missing] = res.resources;
      const find = (r: unknown, name: string): unknown => (r as { configs: Array<{ name: string }> }).configs.find((c) => c.name === name);
      expect(find(topic, 'segment.ms')).to.deep.equal({ name: 'segment.ms', value: '60000', source: 'topic' });
      expect(find(topic, 'retention.ms')).to.deep.equal({ name: 'retention.ms', value: '5000', source: 'cluster' });
      expect(find(topic, 'cleanup.policy')).to.deep.equal({ name: 'cleanup.policy', value: 'delete', source: 'default' });
      expect(find(cluster, 'retention.ms')).to.deep.equal({ name: 'retention.ms', value: '5000', source: 'cluster' });
      expect(find(cluster, 'segment.ms')).to.deep.equal({ name: 'segment.ms', value: '604800000', source: 'default' });
      expect(errorOf(missing as object)).to.equal('UNKNOWN_TOPIC_OR_PARTITION');
    });

    it('AlterConfigs is incremental: a set keeps the other overrides, a value-less change deletes one', async () => {
      const h = await threeBrokers();
      await h.createTopic('orders', 1, 2, { 'retention.ms': '1000' });
      expect(await h.handle({ kind: 'alter-configs', resource: 'orders', changes: [{ name: 'segment.ms', value: '2000' }], validateOnly: false })).to.deep.equal({ resource: 'orders' });
      expect(h.committed.topicConfig('orders')).to.deep.equal({ 'retention.ms': '1000', 'segment.ms': '2000' });
      await h.handle({ kind: 'alter-configs', resource: 'orders', changes: [{ name: 'retention.ms' }, { name: 'min.insync.replicas', value: '2' }], validateOnly: false });
      expect(h.committed.topicConfig('orders')).to.deep.equal({ 'segment.ms': '2000', 'min.insync.replicas': '2' });
      const mark = h.proposalCount;
      expect(await h.handle({ kind: 'alter-configs', resource: 'orders', changes: [{ name: 'segment.ms', value: '9' }], validateOnly: true })).to.deep.equal({ resource: 'orders' });
      expect(h.proposalCount, 'validateOnly').to.equal(mark);
    });

    it('AlterConfigs refuses unknown names, bad values, unknown topics and min.insync.replicas above the RF, writing nothing', async () => {
      const h = await threeBrokers();
      await h.createTopic('orders', 1, 2);
      const mark = h.proposalCount;
      const cases: Array<{ req: rpc.AlterConfigsRequest; code: MetadataErrorCode }> = [
        { req: { kind: 'alter-configs', resource: 'orders', changes: [{ name: 'retention.ms', value: '5' }, { name: 'bogus', value: '1' }], validateOnly: false }, code: 'INVALID_CONFIG' },
        { req: { kind: 'alter-configs', resource: 'orders', changes: [{ name: 'retention.ms', value: 'forever' }], validateOnly: false }, code: 'INVALID_CONFIG' },
        { req: { kind: 'alter-configs', resource: 'orders', changes: [{ name: 'min.insync.replicas', value: '3' }], validateOnly: false }, code: 'INVALID_CONFIG' },
        { req: { kind: 'alter-configs', resource: '', changes: [{ name: 'segment.bytes', value: '10' }], validateOnly: false }, code: 'INVALID_CONFIG' },
        // A cluster default no existing topic could satisfy: 'orders' has RF 2.
        { req: { kind: 'alter-configs', resource: '', changes: [{ name: 'min.insync.replicas', value: '3' }], validateOnly: false }, code: 'INVALID_CONFIG' },
        { req: { kind: 'alter-configs', resource: 'nope', changes: [{ name: 'retention.ms', value: '5' }], validateOnly: false }, code: 'UNKNOWN_TOPIC_OR_PARTITION' },
      ];
      for (const c of cases) {
        const res = await h.handle(c.req);
        expect(errorOf(res), JSON.stringify(c.req.changes)).to.equal(c.code);
      }
      expect(h.proposalCount).to.equal(mark);
      expect(h.committed.topicConfig('orders')).to.deep.equal({});
      expect(h.committed.clusterConfig()).to.deep.equal({});
      // The cluster default that every topic can satisfy is accepted.
      expect(errorOf(await h.handle({ kind: 'alter-configs', resource: '', changes: [{ name: 'min.insync.replicas', value: '2' }], validateOnly: false }))).to.equal(undefined);
      expect(h.committed.clusterConfig()).to.deep.equal({ 'min.insync.replicas': '2' });
    });
  });

  describe('AlterPartition', () => {
    async function setup(): Promise<{ h: Harness; leader: number; follower: number; third: number; topicId: string }> {
      const h = await threeBrokers();
      const topicId = await h.createTopic('orders', 1, 3);
      const p = h.partition('orders', 0);
      const [leader, follower, third] = p.replicas as [number, number, number];
      return { h, leader, follower, third, topicId };
    }

    it('refuses each stale or invalid request with its specific error and writes nothing', async () => {
      const { h, leader, follower, third, topicId } = await setup();
      const p = h.partition('orders', 0);
      const mark = h.proposalCount;
      const cases: Array<{ what: string; overrides: Partial<rpc.AlterPartitionRequest>; isr?: number[]; code: MetadataErrorCode }> = [
        { what: 'unknown topic', overrides: { topicId: 'nope' }, code: 'UNKNOWN_TOPIC_OR_PARTITION' },
        { what: 'unknown partition', overrides: { topicId, partition: 7 }, code: 'UNKNOWN_TOPIC_OR_PARTITION' },
        { what: 'stale broker epoch', overrides: { brokerEpoch: h.epoch(leader) - 1 }, code: 'STALE_BROKER_EPOCH' },
        { what: 'unregistered broker', overrides: { brokerId: 42, brokerEpoch: 1 }, code: 'STALE_BROKER_EPOCH' },
        { what: 'not the leader', overrides: { brokerId: follower, brokerEpoch: h.epoch(follower) }, code: 'NOT_LEADER_OR_FOLLOWER' },
        { what: 'stale leader epoch', overrides: { leaderEpoch: p.leaderEpoch - 1 }, code: 'FENCED_LEADER_EPOCH' },
        { what: 'future leader epoch', overrides: { leaderEpoch: p.leaderEpoch + 1 }, code: 'FENCED_LEADER_EPOCH' },
        { what: 'stale partition epoch', overrides: { partitionEpoch: p.partitionEpoch - 1 }, code: 'INVALID_UPDATE_VERSION' },
        { what: 'ISR without the leader', isr: [follower, third], overrides: {}, code: 'INVALID_REQUEST' },
        { what: 'ISR with a non-replica', isr: [leader, 9], overrides: {}, code: 'INVALID_REQUEST' },
        { what: 'ISR with a duplicate', isr: [leader, follower, follower], overrides: {}, code: 'INVALID_REQUEST' },
      ];
      for (const c of cases) {
        const res = await h.alterIsr('orders', 0, c.isr ?? [leader, follower], c.overrides);
        expect(errorOf(res), c.what).to.equal(c.code);
      }
      expect(h.proposalCount).to.equal(mark);
      expect(h.partition('orders', 0)).to.deep.equal(p);
    });

    it('a shrink succeeds and bumps the partition epoch (not the leader epoch); the answer is the committed state', async () => {
      const { h, leader, follower } = await setup();
      const p = h.partition('orders', 0);
      const res = await h.alterIsr('orders', 0, [leader, follower]);
      expect(res).to.deep.equal({ partition: h.partition('orders', 0) });
      expect(h.partition('orders', 0)).to.deep.include({ isr: [leader, follower], leaderEpoch: p.leaderEpoch, partitionEpoch: p.partitionEpoch + 1 });
      // The old partition epoch is now stale.
      expect(errorOf(await h.alterIsr('orders', 0, [leader], { partitionEpoch: p.partitionEpoch }))).to.equal('INVALID_UPDATE_VERSION');
      // An unchanged ISR writes nothing.
      const mark = h.proposalCount;
      expect(await h.alterIsr('orders', 0, [follower, leader])).to.deep.equal({ partition: h.partition('orders', 0) });
      expect(h.proposalCount).to.equal(mark);
    });

    it('a joining replica that is fenced, shutting down, or named with a stale broker epoch is INELIGIBLE_REPLICA (KIP-903)', async () => {
      const { h, leader, follower, third } = await setup();
      await h.alterIsr('orders', 0, [leader, follower]);
      const mark = h.proposalCount;
      const stale = await h.alterIsr('orders', 0, [leader, follower, third], { newIsr: [{ brokerId: leader, brokerEpoch: h.epoch(leader) }, { brokerId: follower, brokerEpoch: h.epoch(follower) }, { brokerId: third, brokerEpoch: h.epoch(third) - 1 }] });
      expect(errorOf(stale)).to.equal('INELIGIBLE_REPLICA');
      expect(h.proposalCount).to.equal(mark);
      await h.expireSession(third);
      const markFenced = h.proposalCount;
      expect(errorOf(await h.alterIsr('orders', 0, [leader, follower, third]))).to.equal('INELIGIBLE_REPLICA');
      expect(h.proposalCount).to.equal(markFenced);
      // Unfenced again (same epoch): it may join.
      await h.heartbeat(third);
      const res = await h.alterIsr('orders', 0, [leader, follower, third]);
      expect(res).to.not.have.property('error');
      expect(h.partition('orders', 0).isr).to.deep.equal([leader, follower, third]);
    });

    it('a replica in controlled shutdown may not join', async () => {
      const { h, leader, follower, third } = await setup();
      await h.alterIsr('orders', 0, [leader, follower]);
      await h.heartbeat(third, { wantShutdown: true });
      expect(errorOf(await h.alterIsr('orders', 0, [leader, follower, third]))).to.equal('INELIGIBLE_REPLICA');
    });

    it('a member already in the ISR is not re-checked (its epoch may lag in the leader\'s view)', async () => {
      const { h, leader, follower, third } = await setup();
      const res = await h.alterIsr('orders', 0, [leader, follower], { newIsr: [{ brokerId: leader, brokerEpoch: h.epoch(leader) }, { brokerId: follower, brokerEpoch: -7 }] });
      expect(res).to.not.have.property('error');
      expect(h.partition('orders', 0).isr).to.not.include(third);
    });
  });

  describe('AllocateProducerIds', () => {
    it('hands out disjoint consecutive blocks, also to requests in flight together', async () => {
      const h = await threeBrokers({ producerIdBlockSize: 100 });
      expect(await h.handle({ kind: 'allocate-producer-ids', brokerId: 1, brokerEpoch: h.epoch(1) })).to.deep.equal({ firstProducerId: 0, count: 100 });
      expect(await h.handle({ kind: 'allocate-producer-ids', brokerId: 2, brokerEpoch: h.epoch(2) })).to.deep.equal({ firstProducerId: 100, count: 100 });
      h.quorum.auto = false;
      const a = h.handle({ kind: 'allocate-producer-ids', brokerId: 3, brokerEpoch: h.epoch(3) });
      const b = h.handle({ kind: 'allocate-producer-ids', brokerId: 1, brokerEpoch: h.epoch(1) });
      await flush();
      expect(h.quorum.inFlight).to.equal(2);
      h.quorum.commitAll();
      expect(await a).to.deep.equal({ firstProducerId: 200, count: 100 });
      expect(await b).to.deep.equal({ firstProducerId: 300, count: 100 });
      expect(h.committed.nextProducerId).to.equal(400);
    });

    it('refuses a stale broker epoch and a fenced broker', async () => {
      const h = await threeBrokers();
      const mark = h.proposalCount;
      expect(errorOf(await h.handle({ kind: 'allocate-producer-ids', brokerId: 1, brokerEpoch: 99 }))).to.equal('STALE_BROKER_EPOCH');
      expect(errorOf(await h.handle({ kind: 'allocate-producer-ids', brokerId: 42, brokerEpoch: 1 }))).to.equal('STALE_BROKER_EPOCH');
      expect(h.proposalCount).to.equal(mark);
      await h.expireSession(2);
      expect(errorOf(await h.handle({ kind: 'allocate-producer-ids', brokerId: 2, brokerEpoch: h.epoch(2) }))).to.equal('STALE_BROKER_EPOCH');
    });
  });

  describe('proposal failures', () => {
    it('a failed proposal (leadership lost) answers NOT_CONTROLLER and deactivates until re-activation; the working image is rebuilt', async () => {
      const h = await threeBrokers();
      h.quorum.failNext = new FakeRaftError('NOT_LEADER');
      const res = await h.handle({ kind: 'create-topics', topics: [{ name: 'lost', numPartitions: 1, replicationFactor: 1 }], validateOnly: false });
      expect(errorOf(res)).to.equal('NOT_CONTROLLER');
      expect(h.controller.isActive).to.equal(false);
      const mark = h.proposalCount;
      expect(errorOf(await h.handle({ kind: 'describe-configs', resources: [''] }))).to.equal('NOT_CONTROLLER');
      expect(errorOf(await h.heartbeat(1))).to.equal('NOT_CONTROLLER');
      expect(errorOf(await h.handle({ kind: 'create-topics', topics: [{ name: 'later', numPartitions: 1, replicationFactor: 1 }], validateOnly: false }))).to.equal('NOT_CONTROLLER');
      expect(h.proposalCount).to.equal(mark);
      h.activate();
      // The refused topic was never committed, and the rebuilt working image does not hold it either.
      expect(h.committed.topic('lost')).to.equal(undefined);
      await h.createTopic('lost', 1, 1);
    });

    it('any other proposal failure answers REQUEST_TIMED_OUT (outcome unknown) and deactivates too', async () => {
      const h = await threeBrokers();
      h.quorum.failNext = new FakeRaftError('LEADERSHIP_LOST');
      const res = await h.handle({ kind: 'alter-configs', resource: '', changes: [{ name: 'retention.ms', value: '5' }], validateOnly: false });
      expect(errorOf(res)).to.equal('REQUEST_TIMED_OUT');
      expect(h.controller.isActive).to.equal(false);
    });

    it('all requests in flight when leadership is lost fail, and their effects vanish from the working image', async () => {
      const h = await threeBrokers();
      h.quorum.auto = false;
      const a = h.handle({ kind: 'create-topics', topics: [{ name: 'a', numPartitions: 1, replicationFactor: 1 }], validateOnly: false });
      const b = h.handle({ kind: 'allocate-producer-ids', brokerId: 1, brokerEpoch: h.epoch(1) });
      await flush();
      expect(h.quorum.inFlight).to.equal(2);
      h.quorum.failAll(new FakeRaftError('NOT_LEADER'));
      expect(errorOf(await a)).to.equal('NOT_CONTROLLER');
      expect(errorOf(await b)).to.equal('NOT_CONTROLLER');
      expect(h.controller.isActive).to.equal(false);
      h.quorum.auto = true;
      h.activate();
      await h.createTopic('a', 1, 1);
      expect(await h.handle({ kind: 'allocate-producer-ids', brokerId: 1, brokerEpoch: h.epoch(1) })).to.deep.equal({ firstProducerId: 0, count: 1000 });
    });

    it('a change of many records is one Raft entry, so it commits or vanishes whole', async () => {
      const h = await threeBrokers();
      const mark = h.proposalCount;
      await h.createTopic('big', 3000, 1);
      const batches = h.quorum.proposals.slice(mark);
      expect(batches).to.have.length(1);
      expect((batches[0] as (typeof batches)[number]).records).to.have.length(3001);
      expect(h.partitions('big')).to.have.length(3000);
    });
  });
});
