/**
 * The metadata checker (sim/metadata-checker.ts) catches the bugs it exists for. Hand-made deltas and
 * images show each check firing with its specific text (and staying quiet on correct input); then an
 * end-to-end run injects a bad record through the Raft leader — a partition change that makes a
 * fenced broker leader, which no correct controller writes — and the checker must flag it.
 */
import { expect } from 'chai';
import { MetadataChecker } from '../../sim/metadata-checker.js';
import { SimControllerChannel, startMetadataProcess, type MetadataProcess } from '../../sim/metadata-process.js';
import { RaftCluster } from '../../sim/raft-cluster.js';
import { MetadataImage, type MetadataDelta, type PartitionState } from '../../src/metadata/image.js';
import type { MetadataNode } from '../../src/metadata/metadata-node.js';
import { encodeBatch, type MetadataRecord } from '../../src/metadata/records.js';
import type * as rpc from '../../src/metadata/rpc.js';
import type { NodeId } from '../../src/raft/types.js';

const T = 'tid';

function register(brokerId: number, brokerEpoch: number): MetadataRecord {
  return { type: 'register-broker', brokerId, incarnationId: `i${brokerId}`, brokerEpoch, endpoints: [], rack: '' };
}

/** Brokers 1..3 (unfenced unless listed in `fenced`) and topic "orders" with partition 0 on [1, 2, 3]. */
function image(options: { fenced?: number[]; offset?: number; extraTopic?: string } = {}): MetadataImage {
  const img = new MetadataImage();
  const records: MetadataRecord[] = [register(1, 1), register(2, 2), register(3, 3)];
  for (const id of [1, 2, 3]) if (!(options.fenced ?? []).includes(id)) records.push({ type: 'broker-registration-change', brokerId: id, brokerEpoch: id, fenced: false });
  records.push({ type: 'topic', name: 'orders', topicId: T });
  records.push({ type: 'partition', topicId: T, partition: 0, replicas: [1, 2, 3], isr: [1, 2, 3], leader: 1, leaderEpoch: 0, partitionEpoch: 0 });
  if (options.extraTopic !== undefined) records.push({ type: 'topic', name: options.extraTopic, topicId: 'x' });
  img.applyBatch(records, options.offset ?? 1);
  return img;
}

function state(leader: number, leaderEpoch: number, isr = [1, 2, 3]): PartitionState {
  return { topicId: T, partition: 0, replicas: [1, 2, 3], isr, leader, leaderEpoch, partitionEpoch: leaderEpoch };
}

function delta(offset: number, change: { before: PartitionState | undefined; after: PartitionState } | undefined): MetadataDelta {
  const partitions = new Map<string, { before: PartitionState | undefined; after: PartitionState }>();
  if (change !== undefined) partitions.set(`${T}:0`, change);
  return { offset, brokers: new Set(), partitions, removedTopics: [], configs: new Set() };
}

function newChecker(): { checker: MetadataChecker; violations: string[] } {
  const violations: string[] = [];
  return { checker: new MetadataChecker(violations, () => 1234), violations };
}

describe('metadata checker', () => {
  describe('hand-made inputs', () => {
    it('flags two leaders of one partition in one leader epoch, across nodes', () => {
      const { checker, violations } = newChecker();
      checker.listenerFor(1).onDelta?.(delta(5, { before: state(1, 0), after: state(2, 1) }), image());
      checker.listenerFor(2).onDelta?.(delta(5, { before: state(1, 0), after: state(2, 1) }), image());
      expect(violations, 'the same leader seen twice is fine').to.deep.equal([]);
      checker.listenerFor(3).onDelta?.(delta(5, { before: state(1, 0), after: state(3, 1) }), image());
      expect(violations).to.deep.equal([`t=1234ms two leaders of ${T}:0 in leader epoch 1: 2 and 3 (seen on n3)`]);
    });

    it('flags a fenced (or unregistered) broker made leader, but not a fenced broker that stays a follower', () => {
      const { checker, violations } = newChecker();
      checker.listenerFor(1).onDelta?.(delta(5, { before: state(1, 0), after: state(2, 0, [1, 2]) }), image({ fenced: [3] }));
      expect(violations).to.deep.equal([]);
      checker.listenerFor(1).onDelta?.(delta(6, { before: state(1, 0), after: state(3, 1) }), image({ fenced: [3] }));
      expect(violations).to.deep.equal([`t=1234ms n1 at offset 6: ${T}:0 got leader 3, which is fenced`]);
      checker.listenerFor(2).onDelta?.(delta(7, { before: undefined, after: { ...state(9, 5, [9]), replicas: [9] } }), image());
      expect(violations).to.have.length(2);
      expect(violations[1]).to.equal(`t=1234ms n2 at offset 7: ${T}:0 got leader 9, which is not registered`);
    });

    it('flags differing images at one offset, and not equal ones', () => {
      const { checker, violations } = newChecker();
      checker.listenerFor(1).onApplied?.(image({ offset: 4 }));
      checker.listenerFor(2).onApplied?.(image({ offset: 4 }));
      expect(violations).to.deep.equal([]);
      checker.listenerFor(3).onApplied?.(image({ offset: 4, fenced: [2] }));
      expect(violations).to.deep.equal(['t=1234ms images differ at offset 4: n3 and n1']);
      // A reset (snapshot install) is compared too.
      checker.listenerFor(4).onReset?.(image({ offset: 4, extraTopic: 'other' }));
      expect(violations[1]).to.equal('t=1234ms images differ at offset 4: n4 and n1');
    });

    it('flags overlapping producer-id blocks, and not adjacent ones', () => {
      const { checker, violations } = newChecker();
      checker.onProducerIds(0, 100);
      checker.onProducerIds(100, 100);
      expect(violations).to.deep.equal([]);
      checker.onProducerIds(150, 100);
      expect(violations).to.deep.equal(['t=1234ms producer id blocks overlap: [150, 250) and [100, 200)']);
    });

    it('flags a topic whose creation was refused appearing in an image', () => {
      const { checker, violations } = newChecker();
      checker.forbidTopic('refused');
      checker.listenerFor(1).onDelta?.(delta(2, undefined), image({ extraTopic: 'allowed' }));
      expect(violations).to.deep.equal([]);
      checker.listenerFor(1).onDelta?.(delta(3, undefined), image({ extraTopic: 'refused' }));
      expect(violations).to.deep.equal(["t=1234ms topic 'refused' exists although its creation was refused"]);
    });
  });

  describe('end to end', function () {
    this.timeout(30_000);

    it('a partition change that makes a fenced broker leader, proposed on the Raft leader, is flagged on every node', async () => {
      let checker: MetadataChecker | undefined;
      const cluster = new RaftCluster({
        seed: 21,
        voters: 3,
        observers: 3,
        createProcess: (ctx) =>
          startMetadataProcess(ctx, {
            isBroker: (id) => !ctx.voters.includes(id),
            controller: { sessionTimeoutMs: 3000, leaderImbalanceCheckIntervalMs: 5000 },
            broker: { heartbeatIntervalMs: 500, retryBackoffMs: 200 },
            listener: (id) => (checker as MetadataChecker).listenerFor(id),
          }),
      });
      checker = new MetadataChecker(cluster.checker.violations, () => cluster.scheduler.nowMs());
      const node = (id: NodeId): MetadataNode | undefined => {
        const m = cluster.machine(id);
        return m.isUp ? (m.process as MetadataProcess | undefined)?.node : undefined;
      };
      const controller = (): NodeId | undefined => {
        const l = cluster.leader();
        return l !== undefined && node(l)?.controller?.isActive === true ? l : undefined;
      };
      await cluster.startAll();
      const ready = await cluster.runFor(20_000, () => controller() !== undefined && cluster.observerIds.every((id) => node(id)?.broker?.state === 'running'));
      expect(ready, cluster.describe()).to.equal(true);

      // Create a topic through the admin path.
      const admin = new SimControllerChannel(950, (m) => cluster.network.send(m), cluster.scheduler, 2000);
      cluster.addClient(950, (m) => admin.onMessage(m));
      let created: rpc.ControllerResponse<'create-topics'> | undefined;
      void admin.request(controller() as NodeId, { kind: 'create-topics', topics: [{ name: 'orders', numPartitions: 1, replicationFactor: 3 }], validateOnly: false }).then((r) => (created = r));
      await cluster.runFor(5000, () => created !== undefined);
      expect(created).to.have.property('topics');

      // Broker 103 dies and is fenced; it leaves the ISR.
      cluster.crash(103);
      const fenced = await cluster.runFor(6000, () => node(controller() ?? 1)?.metadata.image.broker(103)?.fenced === true);
      expect(fenced).to.equal(true);
      expect(cluster.checker.violations, 'a correct controller breaks nothing').to.deep.equal([]);
      const img = (node(controller() as NodeId) as MetadataNode).metadata.image;
      const p = img.topic('orders')?.partitions.get(0) as PartitionState;
      expect(p.isr).to.not.include(103);

      // A buggy controller's record: 103 back in the ISR and leader, although fenced.
      const bad: MetadataRecord = { type: 'partition-change', topicId: p.topicId, partition: 0, leader: 103, isr: [...p.isr, 103] };
      let committed = false;
      void (node(controller() as NodeId) as MetadataNode).raft.propose(encodeBatch([bad])).then(() => (committed = true));
      await cluster.runFor(5000, () => committed);
      await cluster.runFor(1000);
      const flagged = cluster.checker.violations.filter((v) => v.includes(`${p.topicId}:0 got leader 103, which is fenced`));
      expect(flagged.length, cluster.checker.violations.join('\n')).to.be.greaterThanOrEqual(3);
    });
  });
});
