/**
 * The leader-epoch cache against Kafka's LeaderEpochFileCache semantics: assign, OffsetsForLeaderEpoch
 * (endOffsetFor), truncation from both ends, the checkpoint format, and the KIP-101 / KIP-279 lookups.
 */
import { expect } from 'chai';
import { AssertionError } from '../../src/util/assert.js';
import { LeaderEpochCache, UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET, decodeLeaderEpochCheckpoint } from '../../src/partitions/leader-epoch-cache.js';

function cache(...entries: Array<[number, number]>): LeaderEpochCache {
  return new LeaderEpochCache(entries.map(([epoch, startOffset]) => ({ epoch, startOffset })));
}

function plain(c: LeaderEpochCache): Array<[number, number]> {
  return c.entries().map((e) => [e.epoch, e.startOffset]);
}

describe('leader-epoch cache', () => {
  it('assign keeps the first start of the latest epoch and appends newer epochs', () => {
    const c = new LeaderEpochCache();
    expect(c.latestEpoch).to.equal(undefined);
    expect(c.assign(1, 0)).to.equal(true);
    expect(c.assign(1, 5)).to.equal(false);
    expect(c.assign(2, 10)).to.equal(true);
    expect(plain(c)).to.deep.equal([
      [1, 0],
      [2, 10],
    ]);
    expect(c.latestEpoch).to.equal(2);
  });

  it('assign removes conflicting entries (epoch >= new or start >= new) before appending', () => {
    const c = cache([1, 0], [2, 10], [4, 20]);
    // An older epoch at a later offset than epoch 2's start: epochs 2.. and starts >= 15 go.
    expect(c.assign(3, 15)).to.equal(true);
    expect(plain(c)).to.deep.equal([
      [1, 0],
      [2, 10],
      [3, 15],
    ]);
    // The latest epoch at an earlier start moves back.
    expect(c.assign(3, 12)).to.equal(true);
    expect(plain(c)).to.deep.equal([
      [1, 0],
      [2, 10],
      [3, 12],
    ]);
    // A new epoch starting where an older one starts replaces it.
    expect(c.assign(5, 10)).to.equal(true);
    expect(plain(c)).to.deep.equal([
      [1, 0],
      [5, 10],
    ]);
  });

  it('endOffsetFor answers as Kafka OffsetsForLeaderEpoch does', () => {
    const c = cache([1, 0], [3, 10], [5, 20]);
    const leo = 30;
    expect(c.endOffsetFor(5, leo)).to.deep.equal({ epoch: 5, endOffset: 30 }); // the latest: the log end
    expect(c.endOffsetFor(3, leo)).to.deep.equal({ epoch: 3, endOffset: 20 }); // start of the next epoch
    expect(c.endOffsetFor(4, leo)).to.deep.equal({ epoch: 3, endOffset: 20 }); // unknown: the largest <= it
    expect(c.endOffsetFor(2, leo)).to.deep.equal({ epoch: 1, endOffset: 10 });
    expect(c.endOffsetFor(0, leo)).to.deep.equal({ epoch: 0, endOffset: 0 }); // below every entry
    expect(c.endOffsetFor(6, leo)).to.deep.equal({ epoch: UNDEFINED_EPOCH, endOffset: UNDEFINED_EPOCH_OFFSET });
    expect(c.endOffsetFor(-1, leo)).to.deep.equal({ epoch: UNDEFINED_EPOCH, endOffset: UNDEFINED_EPOCH_OFFSET });
    expect(new LeaderEpochCache().endOffsetFor(0, 0)).to.deep.equal({ epoch: UNDEFINED_EPOCH, endOffset: UNDEFINED_EPOCH_OFFSET });
  });

  it('KIP-101 scenario 1: the follower truncates to the leader epoch end, not to its HW', () => {
    // Leader A and follower B both hold offsets 0-1 of epoch 0; B's HW is 1 (it had not heard HW 2).
    const b = cache([0, 0]);
    const a = cache([0, 0]);
    a.assign(1, 2); // A restarts as the leader of epoch 1 at its log end 2
    // B asks A for the end of its latest epoch 0: A says 2 — B keeps offset 1 (truncating to HW 1 would lose it).
    expect(a.endOffsetFor(b.latestEpoch!, 2)).to.deep.equal({ epoch: 0, endOffset: 2 });
  });

  it('KIP-279: after two quick leader changes the lookup is iterated until the epochs agree', () => {
    // A led epoch 1 (offsets 0-1). B became leader of epoch 2 and wrote offset 1 in epoch 2 that A never
    // fetched; A then led epoch 3 from its end 2 (A's offset 1 is of epoch 1).
    const a = cache([1, 0], [3, 2]);
    const b = cache([1, 0], [2, 1]);
    // B (now a follower) asks about its latest epoch 2: A never had it: the largest epoch below is 1,
    // which ends where epoch 3 starts.
    const first = a.endOffsetFor(b.latestEpoch!, 3);
    expect(first).to.deep.equal({ epoch: 1, endOffset: 2 });
    // The answer's epoch differs from B's: B looks up that epoch in its own cache and truncates to the
    // smaller end — offset 1, dropping the epoch-2 batch A never had.
    const own = b.endOffsetFor(first.epoch, 2);
    expect(own).to.deep.equal({ epoch: 1, endOffset: 1 });
    const truncateAt = Math.min(first.endOffset, own.endOffset);
    expect(truncateAt).to.equal(1);
    expect(b.truncateFromEnd(truncateAt)).to.equal(true);
    expect(plain(b)).to.deep.equal([[1, 0]]);
    // Now the epochs agree: A's end for epoch 1 (2) is at or beyond B's log end (1): fetching resumes.
    expect(a.endOffsetFor(b.latestEpoch!, 3).epoch).to.equal(b.latestEpoch);
  });

  it('truncateFromEnd drops entries starting at or after the new end', () => {
    const c = cache([1, 0], [2, 10], [3, 20]);
    expect(c.truncateFromEnd(25)).to.equal(false);
    expect(c.truncateFromEnd(10)).to.equal(true);
    expect(plain(c)).to.deep.equal([[1, 0]]);
  });

  it('truncateFromStart collapses the entries below the new start into one starting there', () => {
    const c = cache([1, 0], [2, 10], [3, 20]);
    expect(c.truncateFromStart(0)).to.equal(false);
    expect(c.truncateFromStart(15)).to.equal(true);
    expect(plain(c)).to.deep.equal([
      [2, 15],
      [3, 20],
    ]);
    expect(c.truncateFromStart(20)).to.equal(true);
    expect(plain(c)).to.deep.equal([[3, 20]]);
    expect(c.epochForOffset(25)).to.equal(3);
    expect(c.epochForOffset(19)).to.equal(undefined);
  });

  it('round-trips Kafka\'s checkpoint text and rejects malformed ones', () => {
    const c = cache([1, 0], [3, 42]);
    const bytes = c.encode();
    expect(new TextDecoder().decode(bytes)).to.equal('0\n2\n1 0\n3 42\n');
    expect(decodeLeaderEpochCheckpoint(bytes)).to.deep.equal(c.entries());
    for (const bad of ['', '0\n', '1\n0\n', '0\n2\n1 0\n', '0\n1\n1 x\n', '0\n2\n3 0\n1 5\n', '0\n1\n1 0', '0\n1\n-1 0\n']) {
      expect(decodeLeaderEpochCheckpoint(new TextEncoder().encode(bad)), JSON.stringify(bad)).to.equal(undefined);
    }
    expect(decodeLeaderEpochCheckpoint(new TextEncoder().encode('0\n0\n'))).to.deep.equal([]);
  });

  it('asserts on invalid entries', () => {
    expect(() => new LeaderEpochCache().assign(-1, 0)).to.throw(AssertionError);
    expect(() => new LeaderEpochCache().assign(1, -5)).to.throw(AssertionError);
    expect(() => cache([2, 0], [1, 5])).to.throw(AssertionError);
  });
});
