/**
 * The `__consumer_offsets` record codec and the coordinator key: keys are read from the right (a group
 * id may hold '/'), tombstones decode as deletions, values this version cannot read decode to
 * undefined (never throw), and a group maps to the partition Kafka would pick (Java's String.hashCode,
 * Utils.abs).
 */
import { expect } from 'chai';
import { javaStringHashCode, offsetsPartitionFor } from '../../src/groups/coordinator-key.js';
import { decodeRecord, encodeGroup, encodeOffset, type GroupRecordValue } from '../../src/groups/records.js';

const utf8 = new TextEncoder();

describe('groups: records of __consumer_offsets', () => {
  it('round-trips an offset and reads keys from the right', () => {
    const committed = { offset: 42, leaderEpoch: 3, metadata: 'm', commitTimestampMs: 1_700_000_000_000 };
    for (const groupId of ['g', 'team/orders/eu', 'o/x/1']) {
      const r = encodeOffset(groupId, 'orders.v2', 17, committed);
      expect(r.key).to.equal(`o/${groupId}/orders.v2/17`);
      expect(decodeRecord(utf8.encode(r.key), r.value)).to.deep.equal({ type: 'offset', groupId, topic: 'orders.v2', partition: 17, value: committed });
    }
    const tomb = encodeOffset('g', 't', 0, null);
    expect(tomb.value).to.equal(null);
    expect(decodeRecord(utf8.encode(tomb.key), null)).to.deep.equal({ type: 'offset', groupId: 'g', topic: 't', partition: 0, value: null });
  });

  it('round-trips a group record and its tombstone', () => {
    const value: GroupRecordValue = {
      version: 1,
      groupEpoch: 4,
      assignmentEpoch: 4,
      assignor: 'uniform',
      topics: { t: 2 },
      members: [
        {
          memberId: 'a',
          instanceId: '',
          clientId: 'c',
          rebalanceTimeoutMs: 1000,
          sessionTimeoutMs: 6000,
          subscribedTopics: ['t'],
          memberEpoch: 4,
          previousMemberEpoch: 2,
          state: 'unrevoked',
          assigned: { t: [0] },
          pendingRevocation: { t: [1] },
        },
      ],
      target: { a: { t: [0] } },
    };
    const r = encodeGroup('g/1', value);
    expect(decodeRecord(utf8.encode(r.key), r.value)).to.deep.equal({ type: 'group', groupId: 'g/1', value });
    expect(decodeRecord(utf8.encode('g/g/1'), null)).to.deep.equal({ type: 'group', groupId: 'g/1', value: null });
  });

  it('decodes what it cannot read to undefined', () => {
    const bad: Array<[string | null, string | null]> = [
      [null, '{}'],
      ['x/g', '{}'],
      ['o/g/t', '{"offset":1}'],
      ['o/g/t/01', null],
      ['o/g/t/-1', null],
      ['o/g/t/0', 'not json'],
      ['o/g/t/0', '{"offset":1.5,"leaderEpoch":0,"metadata":"","commitTimestampMs":0}'],
      ['g/g', '{"version":2}'],
      ['g/g', '{"version":1,"groupEpoch":1,"assignmentEpoch":1,"assignor":"uniform","topics":{},"members":[{"memberId":1}],"target":{}}'],
    ];
    for (const [key, value] of bad) {
      expect(decodeRecord(key === null ? null : utf8.encode(key), value === null ? null : utf8.encode(value)), `${key} ${value}`).to.equal(undefined);
    }
    expect(decodeRecord(new Uint8Array([0x6f, 0x2f, 0xff, 0xfe]), null)).to.equal(undefined);
  });
});

describe('groups: the coordinator key', () => {
  it('is Java\'s String.hashCode', () => {
    expect(javaStringHashCode('')).to.equal(0);
    expect(javaStringHashCode('hello')).to.equal(99162322);
    // Overflow wraps as a Java int: "Aa" and "BB" collide (2112), a known property of String.hashCode.
    expect(javaStringHashCode('Aa')).to.equal(2112);
    expect(javaStringHashCode('BB')).to.equal(2112);
    // A string whose hash is Integer.MIN_VALUE: Kafka's Utils.abs maps it to 0.
    expect(javaStringHashCode('polygenelubricants')).to.equal(-0x8000_0000);
    expect(offsetsPartitionFor('polygenelubricants', 50)).to.equal(0);
  });

  it('maps a group to abs(hash) % partitions', () => {
    expect(offsetsPartitionFor('hello', 50)).to.equal(99162322 % 50);
    expect(offsetsPartitionFor('hello', 8)).to.equal(99162322 % 8);
    const negative = 'my-group';
    expect(javaStringHashCode(negative)).to.be.below(0);
    expect(offsetsPartitionFor(negative, 8)).to.equal(Math.abs(javaStringHashCode(negative)) % 8);
  });
});
