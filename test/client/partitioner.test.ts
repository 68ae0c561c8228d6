/**
 * The key partitioner is Kafka's: murmur2 vectors from Kafka's own UtilsTest and from KafkaJS's
 * Java-compatible partitioner tests (generated with the Java client), `toPositive` at the sign bit,
 * and the partition a key maps to. Sticky partitioning (KIP-480): keyless records stay on one
 * partition until its batch is done, then move to another, preferring partitions with a leader.
 */
import { expect } from 'chai';
import { StickyPartitioner, keyPartition, murmur2, toPositive } from '../../src/client/partitioner.js';
import { SeededRandom } from '../../src/util/random.js';

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('client partitioner', () => {
  it('murmur2 matches Kafka Utils.murmur2 (Kafka UtilsTest vectors)', () => {
    const cases: Array<[string | number[], number]> = [
      ['21', -973932308],
      ['foobar', -790332482],
      ['a-little-bit-long-string', -985981536],
      ['a-little-bit-longer-string', -1486304829],
      ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
      [[0x61, 0x62, 0x63], 479470107],
    ];
    for (const [input, expected] of cases) {
      const bytes = typeof input === 'string' ? utf8(input) : new Uint8Array(input);
      expect(murmur2(bytes), JSON.stringify(input)).to.equal(expected);
    }
  });

  it("murmur2 matches KafkaJS's Java-compatible partitioner vectors", () => {
    const vectors: Record<string, number> = {
      '0': 971027396,
      '1': -1993445489,
      '128': -326012175,
      '2187': -1508407203,
      '16384': -325739742,
      '78125': -1654490814,
      '279936': 1462227128,
      '823543': -2014198330,
      '2097152': 607668903,
      '4782969': -1182699775,
      '10000000': -1830336757,
      '19487171': -1603849305,
      '35831808': -857013643,
      '62748517': -1167431028,
      '105413504': -381294639,
      '170859375': -1658323481,
      '100:48069': 1009543857,
    };
    for (const [key, expected] of Object.entries(vectors)) expect(murmur2(utf8(key)), key).to.equal(expected);
  });

  it('toPositive clears the sign bit, and keys map to toPositive(murmur2) % n', () => {
    expect(toPositive(-1)).to.equal(0x7fffffff);
    expect(toPositive(-2147483648)).to.equal(0);
    expect(toPositive(5)).to.equal(5);
    // '1' hashes to -1993445489: toPositive = 154038159.
    expect(keyPartition(utf8('1'), 3)).to.equal(154038159 % 3);
    expect(keyPartition(utf8('foobar'), 7)).to.equal(toPositive(-790332482) % 7);
    // Empty keys hash too (an empty key is not a missing key).
    expect(keyPartition(new Uint8Array(0), 10)).to.equal(toPositive(murmur2(new Uint8Array(0))) % 10);
  });

  it('keeps keyless records on one partition until its batch is done, then moves (KIP-480)', () => {
    const partitions = [0, 1, 2, 3].map((partition) => ({ partition, leader: 1 }));
    const p = new StickyPartitioner(new SeededRandom(7));
    const first = p.partition('t', null, partitions);
    for (let i = 0; i < 100; i++) expect(p.partition('t', null, partitions)).to.equal(first);
    // Keyed records do not disturb the sticky choice.
    p.partition('t', utf8('k'), partitions);
    expect(p.partition('t', null, partitions)).to.equal(first);

    p.onNewBatch('t', first, partitions);
    const second = p.partition('t', null, partitions);
    expect(second).to.not.equal(first);
    // A stale notification (for the partition we already left) changes nothing.
    p.onNewBatch('t', first, partitions);
    expect(p.partition('t', null, partitions)).to.equal(second);
    // Topics stick independently.
    expect(p.current('other')).to.equal(undefined);
  });

  it('spreads keyless batches over every available partition and avoids leaderless ones', () => {
    const partitions = [
      { partition: 0, leader: 1 },
      { partition: 1, leader: -1 },
      { partition: 2, leader: 2 },
      { partition: 3, leader: 3 },
    ];
    const p = new StickyPartitioner(new SeededRandom(42));
    const seen = new Set<number>();
    let current = p.partition('t', null, partitions);
    for (let i = 0; i < 200; i++) {
      seen.add(current);
      p.onNewBatch('t', current, partitions);
      const next = p.partition('t', null, partitions);
      expect(next).to.not.equal(current);
      current = next;
    }
    expect([...seen].sort()).to.deep.equal([0, 2, 3]);

    // With no leader anywhere it still picks a partition (the send will wait for a leader).
    const none = new StickyPartitioner(new SeededRandom(1));
    expect(none.partition('t', null, [{ partition: 0, leader: -1 }])).to.equal(0);
  });
});
