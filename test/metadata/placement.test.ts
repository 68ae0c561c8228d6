/**
 * Replica placement: every partition gets RF distinct brokers; preferred leaders and replicas are
 * balanced; rack-aware placement spans min(RF, racks) racks; same seed, same result; CreatePartitions
 * continues the pattern; bad requests are returned as errors.
 */
import { expect } from 'chai';
import { PLACEMENT_PARTITIONS_MAX, placeReplicas } from '../../src/metadata/placement.js';
import type { PlacementBroker, PlacementRequest } from '../../src/metadata/placement.js';
import { SeededRandom } from '../../src/util/random.js';
import type { Random } from '../../src/util/random.js';

function brokers(count: number, racks = 0): PlacementBroker[] {
  // Ids deliberately not 0..n-1 and not sorted, to catch index/id mix-ups.
  const result: PlacementBroker[] = [];
  for (let i = count - 1; i >= 0; i--) {
    const id = 100 + i * 3;
    result.push(racks > 0 ? { id, rack: `rack-${i % racks}` } : { id });
  }
  return result;
}

function place(request: Omit<PlacementRequest, 'random'> & { random?: Random }): number[][] {
  const result = placeReplicas({ random: new SeededRandom(42), ...request });
  if (!result.ok) throw new Error(`unexpected ${result.code}: ${result.message}`);
  return result.assignments;
}

function spread(counts: Map<number, number>, ids: readonly number[]): number {
  const values = ids.map((id) => counts.get(id) ?? 0);
  return Math.max(...values) - Math.min(...values);
}

function tally(lists: readonly (readonly number[])[], leadersOnly: boolean): Map<number, number> {
  const counts = new Map<number, number>();
  for (const replicas of lists) {
    for (const id of leadersOnly ? replicas.slice(0, 1) : replicas) counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return counts;
}

function checkShape(lists: number[][], partitions: number, rf: number, ids: readonly number[]): void {
  // One expect per call: chai per element makes the sweep slow.
  const live = new Set(ids);
  const bad = lists.filter((r) => r.length !== rf || new Set(r).size !== rf || !r.every((id) => live.has(id)));
  expect({ partitions: lists.length, bad }).to.deep.equal({ partitions, bad: [] });
}

describe('placement', () => {
  describe('rack-unaware', () => {
    it('gives every partition RF distinct live brokers, for many shapes and seeds', () => {
      for (let n = 1; n <= 7; n++) {
        const bs = brokers(n);
        const ids = bs.map((b) => b.id);
        for (let rf = 1; rf <= n; rf++) {
          for (const partitions of [1, 2, n, 2 * n + 1, 13]) {
            for (let seed = 0; seed < 5; seed++) {
              const lists = place({ brokers: bs, partitions, replicationFactor: rf, random: new SeededRandom(seed) });
              checkShape(lists, partitions, rf, ids);
            }
          }
        }
      }
    });

    it('balances preferred leaders and replicas exactly when partitions are a multiple of brokers', () => {
      for (let n = 2; n <= 8; n++) {
        const bs = brokers(n);
        const ids = bs.map((b) => b.id);
        for (const rf of [1, 2, Math.min(3, n), n]) {
          for (const multiple of [1, 2, 5]) {
            for (let seed = 0; seed < 4; seed++) {
              const lists = place({
                brokers: bs,
                partitions: n * multiple,
                replicationFactor: rf,
                random: new SeededRandom(seed),
              });
              expect(spread(tally(lists, true), ids), `leaders n=${n} rf=${rf}`).to.be.at.most(1);
              expect(spread(tally(lists, false), ids), `replicas n=${n} rf=${rf}`).to.be.at.most(1);
            }
          }
        }
      }
    });

    it('keeps leaders within one of each other for any partition count', () => {
      const bs = brokers(5);
      const ids = bs.map((b) => b.id);
      for (const partitions of [1, 3, 7, 11, 24]) {
        const lists = place({ brokers: bs, partitions, replicationFactor: 3 });
        expect(spread(tally(lists, true), ids)).to.be.at.most(1);
      }
    });

    it('varies follower placement across rounds (the shift), so a broker failure spreads its load', () => {
      const bs = brokers(4);
      const lists = place({ brokers: bs, partitions: 8, replicationFactor: 2 });
      // Partitions p and p + 4 share a leader but must have different followers.
      for (let p = 0; p < 4; p++) {
        expect(lists[p]?.[0]).to.equal(lists[p + 4]?.[0]);
        expect(lists[p]?.[1]).to.not.equal(lists[p + 4]?.[1]);
      }
    });

    it('does not depend on the order the brokers are listed in', () => {
      const bs = brokers(5);
      const a = place({ brokers: bs, partitions: 10, replicationFactor: 3 });
      const b = place({ brokers: [...bs].reverse(), partitions: 10, replicationFactor: 3 });
      expect(a).to.deep.equal(b);
    });
  });

  describe('rack-aware', () => {
    it('spans min(RF, racks) racks in every partition', () => {
      for (const [n, racks] of [[6, 3], [6, 2], [5, 3], [9, 3], [4, 4], [7, 2], [3, 3]] as const) {
        const bs = brokers(n, racks);
        const rackOf = new Map(bs.map((b) => [b.id, b.rack]));
        for (let rf = 1; rf <= n; rf++) {
          for (let seed = 0; seed < 5; seed++) {
            const lists = place({ brokers: bs, partitions: 2 * n + 1, replicationFactor: rf, random: new SeededRandom(seed) });
            checkShape(lists, 2 * n + 1, rf, bs.map((b) => b.id));
            const narrow = lists.filter((r) => new Set(r.map((id) => rackOf.get(id))).size !== Math.min(rf, racks));
            expect(narrow, `n=${n} racks=${racks} rf=${rf}`).to.deep.equal([]);
          }
        }
      }
    });

    it('balances leaders and replicas when racks hold equal broker counts', () => {
      for (const [n, racks] of [[6, 3], [6, 2], [9, 3], [8, 4], [4, 2]] as const) {
        const bs = brokers(n, racks);
        const ids = bs.map((b) => b.id);
        for (const rf of [1, 2, 3]) {
          for (let seed = 0; seed < 4; seed++) {
            const lists = place({ brokers: bs, partitions: 2 * n, replicationFactor: rf, random: new SeededRandom(seed) });
            expect(spread(tally(lists, true), ids), `leaders n=${n} racks=${racks} rf=${rf}`).to.be.at.most(1);
            expect(spread(tally(lists, false), ids), `replicas n=${n} racks=${racks} rf=${rf}`).to.be.at.most(1);
          }
        }
      }
    });

    it('puts each partition of RF 3 over 3 racks in different racks even with uneven racks', () => {
      const bs: PlacementBroker[] = [
        { id: 1, rack: 'a' },
        { id: 2, rack: 'a' },
        { id: 3, rack: 'a' },
        { id: 4, rack: 'b' },
        { id: 5, rack: 'c' },
      ];
      const rackOf = new Map(bs.map((b) => [b.id, b.rack]));
      for (const replicas of place({ brokers: bs, partitions: 20, replicationFactor: 3 })) {
        expect(new Set(replicas.map((id) => rackOf.get(id))).size).to.equal(3);
      }
    });
  });

  describe('determinism', () => {
    it('gives the same result for the same seed, and different results across seeds', () => {
      for (const racks of [0, 3]) {
        const bs = brokers(6, racks);
        const run = (seed: number): number[][] =>
          place({ brokers: bs, partitions: 12, replicationFactor: 3, random: new SeededRandom(seed) });
        expect(run(7)).to.deep.equal(run(7));
        const distinct = new Set([1, 2, 3, 4, 5, 6, 7, 8].map((seed) => JSON.stringify(run(seed))));
        expect(distinct.size).to.be.greaterThan(1);
      }
    });

    it('randomizes the first preferred leader', () => {
      const bs = brokers(5);
      const firstLeaders = new Set<number>();
      for (let seed = 0; seed < 40; seed++) {
        const lists = place({ brokers: bs, partitions: 1, replicationFactor: 1, random: new SeededRandom(seed) });
        firstLeaders.add(lists[0]?.[0] ?? -1);
      }
      expect(firstLeaders.size).to.equal(5);
    });
  });

  describe('CreatePartitions', () => {
    it('rack-unaware: existing + new equals placing all at once', () => {
      const bs = brokers(6);
      for (const rf of [1, 2, 3]) {
        for (let seed = 0; seed < 5; seed++) {
          const all = place({ brokers: bs, partitions: 17, replicationFactor: rf, random: new SeededRandom(seed) });
          for (const split of [1, 4, 6, 11]) {
            const existing = all.slice(0, split);
            const added = place({ brokers: bs, partitions: 17 - split, replicationFactor: rf, existing, random: new SeededRandom(999) });
            expect([...existing, ...added], `rf=${rf} seed=${seed} split=${split}`).to.deep.equal(all);
          }
        }
      }
    });

    it('rack-aware: new partitions continue the leader rotation and keep spanning racks', () => {
      // Rack skipping can make several shifts produce the same existing partitions, so the followers
      // of new partitions are only pinned down once the existing ones disambiguate (here: more than a
      // full round of brokers); the leader rotation always is.
      const bs = brokers(6, 3);
      const ids = bs.map((b) => b.id);
      const rackOf = new Map(bs.map((b) => [b.id, b.rack]));
      for (const rf of [1, 2, 3]) {
        for (let seed = 0; seed < 5; seed++) {
          const all = place({ brokers: bs, partitions: 18, replicationFactor: rf, random: new SeededRandom(seed) });
          for (const split of [1, 4, 6, 11]) {
            const existing = all.slice(0, split);
            const added = place({ brokers: bs, partitions: 18 - split, replicationFactor: rf, existing, random: new SeededRandom(999) });
            const combined = [...existing, ...added];
            expect(combined.map((r) => r[0])).to.deep.equal(all.map((r) => r[0]));
            expect(spread(tally(combined, true), ids)).to.equal(0);
            for (const replicas of added) {
              expect(new Set(replicas).size).to.equal(rf);
              expect(new Set(replicas.map((id) => rackOf.get(id))).size).to.equal(Math.min(rf, 3));
            }
            if (split > 6) expect(combined, `rf=${rf} seed=${seed} split=${split}`).to.deep.equal(all);
          }
        }
      }
    });

    it('with a changed broker set, still places valid replicas starting at partition 0\'s leader', () => {
      // Not a pattern this placer produces (both partitions led by 103), e.g. after a reassignment.
      const existing = [
        [103, 100],
        [103, 106],
      ];
      const bs = brokers(5); // ids 100, 103, 106, 109, 112
      const lists = place({ brokers: bs, partitions: 5, replicationFactor: 2, existing });
      checkShape(lists, 5, 2, bs.map((b) => b.id));
      // Partition 2 is led two places after partition 0's leader (index 1, broker 103): broker 109.
      expect(lists[0]?.[0]).to.equal(109);
      expect(spread(tally(lists, true), bs.map((b) => b.id))).to.be.at.most(1);
    });

    it('honors firstPartition without existing', () => {
      const bs = brokers(3);
      const a = place({ brokers: bs, partitions: 6, replicationFactor: 2 });
      const b = place({ brokers: bs, partitions: 3, replicationFactor: 2, firstPartition: 3 });
      expect(b).to.deep.equal(a.slice(3));
    });

    it('rejects a firstPartition that contradicts existing', () => {
      const result = placeReplicas({
        brokers: brokers(3),
        partitions: 1,
        replicationFactor: 1,
        existing: [[100]],
        firstPartition: 5,
        random: new SeededRandom(1),
      });
      expect(result).to.include({ ok: false, code: 'INVALID_PARTITIONS' });
    });
  });

  describe('errors', () => {
    const base = { brokers: brokers(3), partitions: 3, replicationFactor: 2, random: new SeededRandom(1) };

    it('rejects a replication factor below 1 or above the broker count', () => {
      for (const replicationFactor of [0, -1, 1.5, Number.NaN, 4]) {
        const result = placeReplicas({ ...base, replicationFactor });
        expect(result.ok, String(replicationFactor)).to.equal(false);
        if (!result.ok) expect(result.code).to.equal('INVALID_REPLICATION_FACTOR');
      }
      const none = placeReplicas({ ...base, brokers: [], replicationFactor: 1 });
      expect(none).to.include({ ok: false, code: 'INVALID_REPLICATION_FACTOR' });
      if (!none.ok) expect(none.message).to.include('(0)');
    });

    it('rejects a partition count below 1 or above the limit', () => {
      for (const partitions of [0, -3, 2.5, PLACEMENT_PARTITIONS_MAX + 1]) {
        const result = placeReplicas({ ...base, partitions });
        expect(result, String(partitions)).to.include({ ok: false, code: 'INVALID_PARTITIONS' });
      }
      expect(placeReplicas({ ...base, firstPartition: -1 })).to.include({ ok: false, code: 'INVALID_PARTITIONS' });
      expect(placeReplicas({ ...base, firstPartition: 2 ** 31 - 2 })).to.include({ ok: false, code: 'INVALID_PARTITIONS' });
    });

    it('rejects brokers that mix rack and no rack', () => {
      const result = placeReplicas({ ...base, brokers: [{ id: 1, rack: 'a' }, { id: 2 }, { id: 3, rack: 'b' }] });
      expect(result).to.include({ ok: false, code: 'INVALID_REPLICA_ASSIGNMENT' });
      if (!result.ok) expect(result.message).to.include('2');
    });

    it('asserts on duplicate broker ids (a corrupt metadata image, not client input)', () => {
      expect(() => placeReplicas({ ...base, brokers: [{ id: 1 }, { id: 1 }] })).to.throw(/listed twice/);
    });

    it('draws nothing from the random source when it fails', () => {
      let draws = 0;
      const counting: Random = {
        int: () => {
          draws++;
          return 0;
        },
        float: () => {
          draws++;
          return 0;
        },
      };
      placeReplicas({ ...base, replicationFactor: 9, random: counting });
      expect(draws).to.equal(0);
    });
  });
});
