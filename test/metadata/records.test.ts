/**
 * Metadata record codec (records.ts): every record kind survives encode/decode unchanged, optional
 * fields keep the difference between "absent" and "present with the zero value" (proto3 `optional`),
 * 64-bit fields round-trip above 2^32 and are refused above 2^53, and bytes that are not a metadata
 * batch are refused instead of decoding to something.
 */
import { expect } from 'chai';
import { ConfigResource, decodeBatch, encodeBatch, NO_LEADER, type MetadataRecord } from '../../src/metadata/records.js';

function roundTrip(records: readonly MetadataRecord[]): MetadataRecord[] {
  return decodeBatch(encodeBatch(records));
}

function roundTripOne(record: MetadataRecord): MetadataRecord {
  const out = roundTrip([record]);
  expect(out).to.have.length(1);
  return out[0] as MetadataRecord;
}

describe('metadata records', () => {
  describe('round trip of every record kind', () => {
    it('register-broker with endpoints, a rack, and a broker epoch above 2^32', () => {
      const r: MetadataRecord = {
        type: 'register-broker',
        brokerId: 7,
        incarnationId: 'inc-7-a',
        brokerEpoch: 2 ** 40 + 3,
        endpoints: [
          { name: 'client', url: 'ws://10.0.0.7:9092' },
          { name: 'replication', url: 'ws://10.0.0.7:9093' },
        ],
        rack: 'rack-b',
      };
      expect(roundTripOne(r)).to.deep.equal(r);
    });

    it('register-broker with no endpoints and no rack', () => {
      const r: MetadataRecord = { type: 'register-broker', brokerId: 0, incarnationId: 'x', brokerEpoch: 1, endpoints: [], rack: '' };
      expect(roundTripOne(r)).to.deep.equal(r);
    });

    it('broker-registration-change keeps absent flags absent and false flags false', () => {
      const none: MetadataRecord = { type: 'broker-registration-change', brokerId: 3, brokerEpoch: 2 ** 33 };
      const decodedNone = roundTripOne(none);
      expect(decodedNone).to.deep.equal(none);
      expect(decodedNone).to.not.have.property('fenced');
      expect(decodedNone).to.not.have.property('inControlledShutdown');

      const falses: MetadataRecord = { type: 'broker-registration-change', brokerId: 3, brokerEpoch: 5, fenced: false, inControlledShutdown: false };
      expect(roundTripOne(falses)).to.deep.equal(falses);

      const fencedOnly: MetadataRecord = { type: 'broker-registration-change', brokerId: 3, brokerEpoch: 5, fenced: true };
      const decoded = roundTripOne(fencedOnly);
      expect(decoded).to.deep.equal(fencedOnly);
      expect(decoded).to.not.have.property('inControlledShutdown');

      const both: MetadataRecord = { type: 'broker-registration-change', brokerId: 3, brokerEpoch: 5, fenced: true, inControlledShutdown: true };
      expect(roundTripOne(both)).to.deep.equal(both);
    });

    it('topic', () => {
      const r: MetadataRecord = { type: 'topic', name: 'orders.v1', topicId: 'AAECAwQFBgcICQoLDA0ODw' };
      expect(roundTripOne(r)).to.deep.equal(r);
    });

    it('partition, led and offline (leader -1, empty ISR), with non-zero epochs', () => {
      const led: MetadataRecord = { type: 'partition', topicId: 't1', partition: 4, replicas: [3, 1, 2], isr: [3, 2], leader: 3, leaderEpoch: 17, partitionEpoch: 42 };
      expect(roundTripOne(led)).to.deep.equal(led);
      const offline: MetadataRecord = { type: 'partition', topicId: 't1', partition: 0, replicas: [1], isr: [], leader: NO_LEADER, leaderEpoch: 0, partitionEpoch: 0 };
      expect(roundTripOne(offline)).to.deep.equal(offline);
      // Leader 0 is a real broker id, not "absent".
      const leaderZero: MetadataRecord = { type: 'partition', topicId: 't1', partition: 1, replicas: [0, 1], isr: [0, 1], leader: 0, leaderEpoch: 1, partitionEpoch: 1 };
      expect(roundTripOne(leaderZero)).to.deep.equal(leaderZero);
    });

    it('partition-change: leader and ISR absent, present, zero, -1 and empty are all distinct', () => {
      const nothing: MetadataRecord = { type: 'partition-change', topicId: 't', partition: 2 };
      const d0 = roundTripOne(nothing);
      expect(d0).to.deep.equal(nothing);
      expect(d0).to.not.have.property('leader');
      expect(d0).to.not.have.property('isr');

      const leaderZero: MetadataRecord = { type: 'partition-change', topicId: 't', partition: 2, leader: 0 };
      const d1 = roundTripOne(leaderZero);
      expect(d1).to.deep.equal(leaderZero);
      expect(d1).to.not.have.property('isr');

      const offline: MetadataRecord = { type: 'partition-change', topicId: 't', partition: 2, leader: NO_LEADER };
      expect(roundTripOne(offline)).to.deep.equal(offline);

      // An empty ISR list is a change to "no ISR", not the same as "ISR unchanged".
      const emptyIsr: MetadataRecord = { type: 'partition-change', topicId: 't', partition: 2, isr: [] };
      const d2 = roundTripOne(emptyIsr);
      expect(d2).to.deep.equal(emptyIsr);
      expect(d2).to.have.property('isr').that.deep.equals([]);
      expect(d2).to.not.have.property('leader');

      const both: MetadataRecord = { type: 'partition-change', topicId: 't', partition: 0, leader: 2, isr: [2, 3] };
      expect(roundTripOne(both)).to.deep.equal(both);
    });

    it('remove-topic', () => {
      const r: MetadataRecord = { type: 'remove-topic', topicId: 'gone' };
      expect(roundTripOne(r)).to.deep.equal(r);
    });

    it('config: set, set to the empty string, and delete (value absent) are distinct', () => {
      const set: MetadataRecord = { type: 'config', resourceType: ConfigResource.Topic, resourceName: 'orders', name: 'retention.ms', value: '1000' };
      expect(roundTripOne(set)).to.deep.equal(set);
      const empty: MetadataRecord = { type: 'config', resourceType: ConfigResource.Cluster, resourceName: '', name: 'x', value: '' };
      const de = roundTripOne(empty);
      expect(de).to.deep.equal(empty);
      expect(de).to.have.property('value', '');
      const deleted: MetadataRecord = { type: 'config', resourceType: ConfigResource.Topic, resourceName: 'orders', name: 'retention.ms' };
      const dd = roundTripOne(deleted);
      expect(dd).to.deep.equal(deleted);
      expect(dd).to.not.have.property('value');
    });

    it('producer-ids with int64 values above 2^32', () => {
      const r: MetadataRecord = { type: 'producer-ids', brokerId: 2, brokerEpoch: 2 ** 35 + 1, nextProducerId: 2 ** 50 + 1000 };
      expect(roundTripOne(r)).to.deep.equal(r);
      const snapshotStyle: MetadataRecord = { type: 'producer-ids', brokerId: -1, brokerEpoch: 0, nextProducerId: 1000 };
      expect(roundTripOne(snapshotStyle)).to.deep.equal(snapshotStyle);
    });

    it('no-op', () => {
      expect(roundTripOne({ type: 'no-op' })).to.deep.equal({ type: 'no-op' });
    });

    it('a batch keeps its records in order; an empty batch decodes to no records', () => {
      const batch: MetadataRecord[] = [
        { type: 'topic', name: 'a', topicId: 'ida' },
        { type: 'partition', topicId: 'ida', partition: 0, replicas: [1, 2], isr: [1, 2], leader: 1, leaderEpoch: 0, partitionEpoch: 0 },
        { type: 'config', resourceType: ConfigResource.Topic, resourceName: 'a', name: 'cleanup.policy', value: 'compact' },
        { type: 'no-op' },
        { type: 'partition-change', topicId: 'ida', partition: 0, isr: [1] },
      ];
      expect(roundTrip(batch)).to.deep.equal(batch);
      expect(roundTrip([])).to.deep.equal([]);
    });
  });

  describe('refusals', () => {
    it('garbage bytes are refused, not decoded', () => {
      const garbage = [
        [0xff, 0xff, 0xff], // a truncated varint tag
        [0x0a, 0x05, 0x01], // a record whose length runs past the end
        [1, 2, 3, 4, 5, 6, 7], // wire type 1 (fixed64) with too few bytes
        [0x0a, 0x02, 0x08, 0x01], // a record field with the wrong wire type
      ];
      for (const bytes of garbage) {
        expect(() => decodeBatch(new Uint8Array(bytes)), JSON.stringify(bytes)).to.throw();
      }
    });

    it('a truncated batch is refused', () => {
      const bytes = encodeBatch([{ type: 'register-broker', brokerId: 1, incarnationId: 'abc', brokerEpoch: 9, endpoints: [{ name: 'c', url: 'ws://x' }], rack: 'r' }]);
      expect(() => decodeBatch(bytes.subarray(0, bytes.length - 3))).to.throw();
    });

    it('a record with no kind set is refused', () => {
      // MetadataBatch.records[0] = an empty MetadataRecord (no oneof member).
      expect(() => decodeBatch(new Uint8Array([0x0a, 0x00]))).to.throw(/unknown metadata record kind/);
    });

    it('an int64 beyond the safe-integer range is refused at decode', () => {
      const bytes = encodeBatch([{ type: 'producer-ids', brokerId: 1, brokerEpoch: 1, nextProducerId: 2 ** 60 }]);
      expect(() => decodeBatch(bytes)).to.throw(/producer id is not a safe integer/);
      const epoch = encodeBatch([{ type: 'register-broker', brokerId: 1, incarnationId: 'i', brokerEpoch: 2 ** 62, endpoints: [], rack: '' }]);
      expect(() => decodeBatch(epoch)).to.throw(/broker epoch is not a safe integer/);
    });

    it('a config record for an unknown resource type is refused', () => {
      const bytes = encodeBatch([{ type: 'config', resourceType: 3 as ConfigResource, resourceName: '', name: 'x', value: '1' }]);
      expect(() => decodeBatch(bytes)).to.throw(/unknown config resource 3/);
    });
  });
});
