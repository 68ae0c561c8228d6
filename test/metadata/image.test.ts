/**
 * The metadata image (image.ts) and the metadata state machine (metadata-state-machine.ts): what each
 * record does to the image, the invariants the image asserts on apply (a record that breaks them is a
 * controller bug and must crash loudly), and snapshots — `toRecords()` rebuilds an equal image, and a
 * snapshot taken at offset k plus the batches after k rebuilds the image at the end.
 */
import { expect } from 'chai';
import { MetadataImage, type MetadataDelta } from '../../src/metadata/image.js';
import { MetadataStateMachine } from '../../src/metadata/metadata-state-machine.js';
import { ConfigResource, decodeBatch, encodeBatch, NO_LEADER, type MetadataRecord } from '../../src/metadata/records.js';
import { EntryType, type Entry } from '../../src/raft/types.js';
import { AssertionError } from '../../src/util/assert.js';

const T1 = 'topic-id-1';
const T2 = 'topic-id-2';

function register(brokerId: number, brokerEpoch: number, incarnationId = `inc-${brokerId}-${brokerEpoch}`): MetadataRecord {
  return { type: 'register-broker', brokerId, incarnationId, brokerEpoch, endpoints: [{ name: 'client', url: `ws://b${brokerId}` }], rack: '' };
}

function unfence(brokerId: number, brokerEpoch: number): MetadataRecord {
  return { type: 'broker-registration-change', brokerId, brokerEpoch, fenced: false };
}

function partition(topicId: string, p: number, replicas: number[], extra: Partial<{ isr: number[]; leader: number; leaderEpoch: number; partitionEpoch: number }> = {}): MetadataRecord {
  return {
    type: 'partition',
    topicId,
    partition: p,
    replicas,
    isr: extra.isr ?? [...replicas],
    leader: extra.leader ?? (replicas[0] as number),
    leaderEpoch: extra.leaderEpoch ?? 0,
    partitionEpoch: extra.partitionEpoch ?? 0,
  };
}

/** Three unfenced brokers and topic "orders" (T1, 2 partitions of RF 3), at offset 2. */
function baseImage(): MetadataImage {
  const image = new MetadataImage();
  image.applyBatch([register(1, 1), register(2, 2), register(3, 3), unfence(1, 1), unfence(2, 2), unfence(3, 3)], 1);
  image.applyBatch([{ type: 'topic', name: 'orders', topicId: T1 }, partition(T1, 0, [1, 2, 3]), partition(T1, 1, [2, 3, 1])], 2);
  return image;
}

/** A history touching every record kind: batches at offsets 1..n (with gaps, like Raft leader-change entries). */
function history(): Array<{ offset: number; records: MetadataRecord[] }> {
  return [
    { offset: 1, records: [register(1, 1), register(2, 2), register(3, 3)] },
    { offset: 2, records: [unfence(1, 1), unfence(2, 2), unfence(3, 3)] },
    { offset: 4, records: [{ type: 'topic', name: 'orders', topicId: T1 }, partition(T1, 0, [1, 2, 3]), partition(T1, 1, [2, 3, 1]), { type: 'config', resourceType: ConfigResource.Topic, resourceName: 'orders', name: 'retention.ms', value: '1000' }] },
    { offset: 5, records: [{ type: 'topic', name: 'audit', topicId: T2 }, partition(T2, 0, [3, 1])] },
    { offset: 6, records: [{ type: 'partition-change', topicId: T1, partition: 0, isr: [1, 2] }] },
    { offset: 7, records: [{ type: 'config', resourceType: ConfigResource.Cluster, resourceName: '', name: 'min.insync.replicas', value: '2' }] },
    { offset: 8, records: [{ type: 'producer-ids', brokerId: 1, brokerEpoch: 1, nextProducerId: 1000 }] },
    { offset: 10, records: [{ type: 'broker-registration-change', brokerId: 2, brokerEpoch: 2, fenced: true }, { type: 'partition-change', topicId: T1, partition: 1, leader: 3, isr: [3, 1] }, { type: 'partition-change', topicId: T1, partition: 0, isr: [1] }] },
    { offset: 11, records: [register(2, 4, 'second-start')] },
    { offset: 12, records: [unfence(2, 4), { type: 'no-op' }] },
    { offset: 13, records: [{ type: 'remove-topic', topicId: T2 }] },
    { offset: 14, records: [{ type: 'producer-ids', brokerId: 3, brokerEpoch: 3, nextProducerId: 2000 }, { type: 'config', resourceType: ConfigResource.Topic, resourceName: 'orders', name: 'cleanup.policy', value: 'compact' }] },
    { offset: 15, records: [{ type: 'broker-registration-change', brokerId: 3, brokerEpoch: 3, fenced: true, inControlledShutdown: true }, { type: 'partition-change', topicId: T1, partition: 1, leader: 1, isr: [1] }] },
  ];
}

function replay(batches: ReturnType<typeof history>): MetadataImage {
  const image = new MetadataImage();
  for (const b of batches) image.applyBatch(b.records, b.offset);
  return image;
}

function command(index: number, records: readonly MetadataRecord[], term = 1): Entry {
  return { term, index, type: EntryType.Command, data: encodeBatch(records) };
}

describe('metadata image', () => {
  describe('applying records', () => {
    it('register-broker adds a fenced broker and raises nextBrokerEpoch above its epoch', () => {
      const image = new MetadataImage();
      const delta = image.applyBatch([register(4, 9)], 1);
      const b = image.broker(4);
      expect(b).to.include({ id: 4, epoch: 9, fenced: true, inControlledShutdown: false, incarnationId: 'inc-4-9' });
      expect(b?.endpoints).to.deep.equal([{ name: 'client', url: 'ws://b4' }]);
      expect(image.nextBrokerEpoch).to.equal(10);
      expect([...delta.brokers]).to.deep.equal([4]);
      expect(image.offset).to.equal(1);
    });

    it('a re-registered broker starts fenced again with the higher epoch; an epoch that does not grow is refused', () => {
      const image = baseImage();
      expect(image.broker(2)?.fenced).to.equal(false);
      image.applyBatch([register(2, 7, 'restart')], 3);
      expect(image.broker(2)).to.include({ epoch: 7, fenced: true, incarnationId: 'restart' });
      expect(image.nextBrokerEpoch).to.equal(8);
      expect(() => image.apply(register(2, 7, 'again'))).to.throw(AssertionError, /does not grow/);
      expect(() => image.apply(register(2, 5, 'older'))).to.throw(AssertionError, /does not grow/);
    });

    it('broker-registration-change changes only the flags it carries, and needs the current epoch', () => {
      const image = baseImage();
      image.applyBatch([{ type: 'broker-registration-change', brokerId: 1, brokerEpoch: 1, inControlledShutdown: true }], 3);
      expect(image.broker(1)).to.include({ fenced: false, inControlledShutdown: true });
      image.applyBatch([{ type: 'broker-registration-change', brokerId: 1, brokerEpoch: 1, fenced: true }], 4);
      expect(image.broker(1)).to.include({ fenced: true, inControlledShutdown: true });
      expect(() => image.apply({ type: 'broker-registration-change', brokerId: 1, brokerEpoch: 2, fenced: false })).to.throw(AssertionError, /does not match/);
      expect(() => image.apply({ type: 'broker-registration-change', brokerId: 99, brokerEpoch: 1, fenced: false })).to.throw(AssertionError, /does not match/);
    });

    it('topic and partition records create partitions; the delta lists them with no before', () => {
      const image = new MetadataImage();
      image.applyBatch([register(1, 1), register(2, 2)], 1);
      const delta = image.applyBatch([{ type: 'topic', name: 'a', topicId: T1 }, partition(T1, 0, [1, 2]), partition(T1, 1, [2, 1])], 2);
      expect(image.topic('a')?.id).to.equal(T1);
      expect(image.topicById(T1)?.name).to.equal('a');
      expect(image.partition(T1, 1)).to.deep.equal({ topicId: T1, partition: 1, replicas: [2, 1], isr: [2, 1], leader: 2, leaderEpoch: 0, partitionEpoch: 0 });
      expect([...delta.partitions.keys()].sort()).to.deep.equal([`${T1}:0`, `${T1}:1`]);
      expect(delta.partitions.get(`${T1}:0`)?.before).to.equal(undefined);
      expect(() => image.apply({ type: 'topic', name: 'a', topicId: 'other' })).to.throw(AssertionError, /exists/);
      expect(() => image.apply({ type: 'topic', name: 'b', topicId: T1 })).to.throw(AssertionError, /exists/);
    });

    it('partition-change bumps the partition epoch always and the leader epoch only when the leader changes', () => {
      const image = baseImage();
      // ISR only.
      image.applyBatch([{ type: 'partition-change', topicId: T1, partition: 0, isr: [1, 3] }], 3);
      expect(image.partition(T1, 0)).to.include({ leader: 1, leaderEpoch: 0, partitionEpoch: 1 });
      expect(image.partition(T1, 0)?.isr).to.deep.equal([1, 3]);
      // The same leader named again is not a leader change.
      image.applyBatch([{ type: 'partition-change', topicId: T1, partition: 0, leader: 1 }], 4);
      expect(image.partition(T1, 0)).to.include({ leader: 1, leaderEpoch: 0, partitionEpoch: 2 });
      // A new leader.
      image.applyBatch([{ type: 'partition-change', topicId: T1, partition: 0, leader: 3 }], 5);
      expect(image.partition(T1, 0)).to.include({ leader: 3, leaderEpoch: 1, partitionEpoch: 3 });
      // Going offline is a leader change too.
      image.applyBatch([{ type: 'partition-change', topicId: T1, partition: 0, leader: NO_LEADER, isr: [3] }], 6);
      expect(image.partition(T1, 0)).to.include({ leader: NO_LEADER, leaderEpoch: 2, partitionEpoch: 4 });
      // An empty change still bumps the partition epoch.
      image.applyBatch([{ type: 'partition-change', topicId: T1, partition: 0 }], 7);
      expect(image.partition(T1, 0)).to.include({ leaderEpoch: 2, partitionEpoch: 5 });
    });

    it('the delta of a batch carries before (from the batch start) and after of each changed partition', () => {
      const image = baseImage();
      const before = image.partition(T1, 0);
      const delta = image.applyBatch(
        [
          { type: 'partition-change', topicId: T1, partition: 0, isr: [1, 2] },
          { type: 'partition-change', topicId: T1, partition: 0, leader: 2 },
        ],
        3,
      );
      const change = delta.partitions.get(`${T1}:0`);
      expect(change?.before).to.deep.equal(before);
      expect(change?.after).to.deep.equal(image.partition(T1, 0));
      expect(change?.after).to.include({ leader: 2, leaderEpoch: 1, partitionEpoch: 2 });
      expect(delta.partitions.has(`${T1}:1`)).to.equal(false);
      expect(delta.offset).to.equal(3);
    });

    // Regression: a partition created and changed in one batch was reported as pre-existing.
    it('a partition created and changed in one batch is reported as created (before undefined)', () => {
      const image = new MetadataImage();
      image.applyBatch([register(1, 1), unfence(1, 1), register(2, 2), unfence(2, 2)], 1);
      const delta = image.applyBatch([{ type: 'topic', name: 'a', topicId: T1 }, partition(T1, 0, [1, 2]), { type: 'partition-change', topicId: T1, partition: 0, leader: 2 }], 2);
      const change = delta.partitions.get(`${T1}:0`);
      expect(change?.after).to.include({ leader: 2, leaderEpoch: 1 });
      expect(change?.before).to.equal(undefined);
    });

    it('remove-topic drops its partitions and configs, frees the name, and reports the topic removed', () => {
      const image = baseImage();
      image.applyBatch([{ type: 'config', resourceType: ConfigResource.Topic, resourceName: 'orders', name: 'retention.ms', value: '5' }], 3);
      expect(image.topicConfig('orders')).to.deep.equal({ 'retention.ms': '5' });
      const delta = image.applyBatch([{ type: 'partition-change', topicId: T1, partition: 0, isr: [1] }, { type: 'remove-topic', topicId: T1 }], 4);
      expect(image.topic('orders')).to.equal(undefined);
      expect(image.topicById(T1)).to.equal(undefined);
      expect(image.partition(T1, 0)).to.equal(undefined);
      expect(image.topicConfig('orders')).to.deep.equal({});
      expect(delta.removedTopics.map((t) => t.id)).to.deep.equal([T1]);
      expect(delta.partitions.size, 'no change of a removed topic is reported').to.equal(0);
      expect(image.toRecords().some((r) => r.type === 'config')).to.equal(false);
      // The name can be used again, by a new topic id.
      image.applyBatch([{ type: 'topic', name: 'orders', topicId: T2 }, partition(T2, 0, [3])], 5);
      expect(image.topic('orders')?.id).to.equal(T2);
      expect(image.topic('orders')?.partitions.size).to.equal(1);
      expect(() => image.apply({ type: 'remove-topic', topicId: T1 })).to.throw(AssertionError, /unknown topic/);
    });

    it('config records set and delete cluster and topic overrides', () => {
      const image = baseImage();
      const d1 = image.applyBatch(
        [
          { type: 'config', resourceType: ConfigResource.Cluster, resourceName: '', name: 'retention.ms', value: '100' },
          { type: 'config', resourceType: ConfigResource.Topic, resourceName: 'orders', name: 'segment.ms', value: '200' },
        ],
        3,
      );
      expect(image.clusterConfig()).to.deep.equal({ 'retention.ms': '100' });
      expect(image.topicConfig('orders')).to.deep.equal({ 'segment.ms': '200' });
      expect([...d1.configs].sort()).to.deep.equal(['', 'orders']);
      image.applyBatch(
        [
          { type: 'config', resourceType: ConfigResource.Cluster, resourceName: '', name: 'retention.ms' },
          { type: 'config', resourceType: ConfigResource.Topic, resourceName: 'orders', name: 'segment.ms' },
        ],
        4,
      );
      expect(image.clusterConfig()).to.deep.equal({});
      expect(image.topicConfig('orders')).to.deep.equal({});
      expect(image.toRecords().some((r) => r.type === 'config')).to.equal(false);
    });

    it('producer-ids only move forward', () => {
      const image = baseImage();
      image.applyBatch([{ type: 'producer-ids', brokerId: 1, brokerEpoch: 1, nextProducerId: 1000 }], 3);
      expect(image.nextProducerId).to.equal(1000);
      expect(() => image.apply({ type: 'producer-ids', brokerId: 1, brokerEpoch: 1, nextProducerId: 1000 })).to.throw(AssertionError, /go back/);
      expect(() => image.apply({ type: 'producer-ids', brokerId: 1, brokerEpoch: 1, nextProducerId: 10 })).to.throw(AssertionError, /go back/);
    });

    it('no-op changes nothing but the offset', () => {
      const image = baseImage();
      const before = image.toRecords();
      image.applyBatch([{ type: 'no-op' }], 9);
      expect(image.toRecords()).to.deep.equal(before);
      expect(image.offset).to.equal(9);
    });
  });

  describe('asserted invariants', () => {
    it('a leader outside the ISR is refused (partition and partition-change)', () => {
      const image = baseImage();
      expect(() => image.apply(partition(T1, 5, [1, 2], { isr: [2], leader: 1 }))).to.throw(AssertionError, /leader 1 not in ISR/);
      expect(() => image.apply({ type: 'partition-change', topicId: T1, partition: 0, isr: [2, 3] })).to.throw(AssertionError, /leader 1 not in ISR/);
      expect(() => image.apply({ type: 'partition-change', topicId: T1, partition: 0, leader: 4 })).to.throw(AssertionError, /not in ISR/);
    });

    it('an ISR outside the replicas is refused', () => {
      const image = baseImage();
      expect(() => image.apply(partition(T1, 5, [1, 2], { isr: [1, 3], leader: 1 }))).to.throw(AssertionError, /not within replicas/);
      expect(() => image.apply({ type: 'partition-change', topicId: T1, partition: 0, isr: [1, 4] })).to.throw(AssertionError, /not within replicas/);
    });

    it('empty or duplicate replica lists are refused', () => {
      const image = baseImage();
      expect(() => image.apply(partition(T1, 5, [1, 1], { isr: [1], leader: 1 }))).to.throw(AssertionError, /bad replicas/);
      expect(() => image.apply(partition(T1, 5, [], { isr: [], leader: NO_LEADER }))).to.throw(AssertionError, /bad replicas/);
    });

    it('epochs going back are refused', () => {
      const image = baseImage();
      image.applyBatch([{ type: 'partition-change', topicId: T1, partition: 0, leader: 2 }], 3);
      expect(() => image.apply(partition(T1, 0, [1, 2, 3], { leader: 2, leaderEpoch: 0, partitionEpoch: 5 }))).to.throw(AssertionError, /epochs went back/);
      expect(() => image.apply(partition(T1, 0, [1, 2, 3], { leader: 2, leaderEpoch: 1, partitionEpoch: 0 }))).to.throw(AssertionError, /epochs went back/);
    });

    it('a change of an unknown partition or topic, or a partition of an unknown topic, is refused', () => {
      const image = baseImage();
      expect(() => image.apply({ type: 'partition-change', topicId: T1, partition: 9, isr: [1] })).to.throw(AssertionError, /unknown partition/);
      expect(() => image.apply({ type: 'partition-change', topicId: 'nope', partition: 0, isr: [1] })).to.throw(AssertionError, /unknown partition/);
      expect(() => image.apply(partition('nope', 0, [1]))).to.throw(AssertionError, /unknown topic/);
    });

    it('a batch must come after the last applied offset', () => {
      const image = baseImage();
      expect(() => image.applyBatch([{ type: 'no-op' }], 2)).to.throw(AssertionError, /not after/);
      expect(() => image.applyBatch([{ type: 'no-op' }], 1)).to.throw(AssertionError, /not after/);
    });
  });

  describe('snapshots', () => {
    it('fromRecords(toRecords()) gives an equal image (same digest, same reads)', () => {
      const original = replay(history());
      const rebuilt = MetadataImage.fromRecords(original.toRecords(), original.offset);
      expect(rebuilt.digest()).to.equal(original.digest());
      expect(rebuilt.brokers()).to.deep.equal(original.brokers());
      expect(rebuilt.nextBrokerEpoch).to.equal(original.nextBrokerEpoch);
      expect(rebuilt.nextProducerId).to.equal(2000);
      expect(rebuilt.topicConfig('orders')).to.deep.equal({ 'retention.ms': '1000', 'cleanup.policy': 'compact' });
      expect(rebuilt.broker(3)).to.include({ fenced: true, inControlledShutdown: true });
      expect(rebuilt.broker(2)).to.include({ epoch: 4, incarnationId: 'second-start', fenced: false });
      // And through the wire form, as a snapshot travels.
      const viaWire = MetadataImage.fromRecords(decodeBatch(encodeBatch(original.toRecords())), original.offset);
      expect(viaWire.digest()).to.equal(original.digest());
      expect(original.clone().digest()).to.equal(original.digest());
    });

    it('the digest tells different images apart', () => {
      const a = baseImage();
      const b = baseImage();
      expect(a.digest()).to.equal(b.digest());
      b.applyBatch([{ type: 'partition-change', topicId: T1, partition: 0, isr: [1, 2] }], 3);
      a.applyBatch([{ type: 'partition-change', topicId: T1, partition: 0, isr: [1, 3] }], 3);
      expect(a.digest()).to.not.equal(b.digest());
      const c = baseImage();
      c.applyBatch([{ type: 'no-op' }], 3);
      expect(c.digest(), 'the offset is part of the digest').to.not.equal(baseImage().digest());
    });

    it('a snapshot at every offset k plus the batches after k rebuilds the final image', () => {
      const batches = history();
      const final = replay(batches);
      for (let k = 0; k <= batches.length; k++) {
        const prefix = replay(batches.slice(0, k));
        const snapshotOffset = k === 0 ? 0 : (batches[k - 1] as { offset: number }).offset;
        const restored = MetadataImage.fromRecords(decodeBatch(encodeBatch(prefix.toRecords())), snapshotOffset);
        for (const b of batches.slice(k)) restored.applyBatch(b.records, b.offset);
        expect(restored.digest(), `snapshot after ${k} batches`).to.equal(final.digest());
      }
    });
  });

  describe('MetadataStateMachine', () => {
    it('applies command entries, tells listeners each delta (before/after) in order, and advances on leader-change entries', () => {
      const sm = new MetadataStateMachine();
      const deltas: Array<{ delta: MetadataDelta; offset: number }> = [];
      const applied: number[] = [];
      sm.listen({ onDelta: (delta, image) => deltas.push({ delta, offset: image.offset }), onApplied: (image) => applied.push(image.offset) });
      sm.apply({ term: 1, index: 1, type: EntryType.LeaderChange, data: new Uint8Array() });
      sm.apply(command(2, [register(1, 1), unfence(1, 1), register(2, 2), unfence(2, 2)]));
      sm.apply(command(3, [{ type: 'topic', name: 'a', topicId: T1 }, partition(T1, 0, [1, 2])]));
      sm.apply(command(4, [{ type: 'partition-change', topicId: T1, partition: 0, leader: 2 }]));
      expect(applied).to.deep.equal([1, 2, 3, 4]);
      expect(deltas.map((d) => d.offset)).to.deep.equal([2, 3, 4], 'no delta for the leader-change entry');
      const last = deltas[2]?.delta.partitions.get(`${T1}:0`);
      expect(last?.before).to.include({ leader: 1, leaderEpoch: 0 });
      expect(last?.after).to.include({ leader: 2, leaderEpoch: 1, partitionEpoch: 1 });
      expect(sm.image.offset).to.equal(4);
      expect(sm.image.partition(T1, 0)?.leader).to.equal(2);
    });

    it('snapshot() then restore() on another state machine gives an equal image and a reset to listeners', () => {
      const a = new MetadataStateMachine();
      let index = 0;
      for (const b of history()) a.apply(command((index = b.offset), b.records));
      const data = a.snapshot();
      const b = new MetadataStateMachine();
      const events: string[] = [];
      b.listen({ onReset: (image) => events.push(`reset@${image.offset}`), onApplied: (image) => events.push(`applied@${image.offset}`), onDelta: () => events.push('delta') });
      b.restore({ index, term: 1, data });
      expect(events).to.deep.equal([`reset@${index}`, `applied@${index}`]);
      expect(b.image.digest()).to.equal(a.image.digest());
      // Both continue identically.
      const next = command(index + 1, [{ type: 'partition-change', topicId: T1, partition: 1, isr: [1, 2] }]);
      a.apply(next);
      b.apply(next);
      expect(b.image.digest()).to.equal(a.image.digest());
      expect(events.at(-1)).to.equal(`applied@${index + 1}`);
    });

    it('a command entry holding a record that breaks an invariant throws (the node crashes)', () => {
      const sm = new MetadataStateMachine();
      sm.apply(command(1, [register(1, 1)]));
      expect(() => sm.apply(command(2, [{ type: 'partition-change', topicId: T1, partition: 0, isr: [1] }]))).to.throw(AssertionError);
    });
  });
});
