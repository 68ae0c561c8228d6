/**
 * Unit tests of RaftLog (src/raft/raft-log.ts): the follower's side of AppendEntries (Raft §5.3),
 * the up-to-date rule (§5.4.1), fast back-tracking's conflict search, stability tracking, and
 * compaction / restore (§7).
 */
import { expect } from 'chai';
import { RaftLog } from '../../src/raft/raft-log.js';
import type { Entry, Snapshot } from '../../src/raft/types.js';
import { encode, entry, logOfTerms } from './core-harness.js';

function termsOf(log: RaftLog): number[] {
  const out: number[] = [];
  for (let i = log.firstIndex(); i <= log.lastIndex(); i++) out.push(log.termAt(i) as number);
  return out;
}

function snap(index: number, term: number): Snapshot {
  return { index, term, data: encode(`snap@${index}`) };
}

describe('RaftLog', () => {
  describe('maybeAppend (Raft §5.3, AppendEntries receiver rules 2-5)', () => {
    it('rejects when the log holds no entry at prevIndex with prevTerm (rule 2)', () => {
      const log = new RaftLog(undefined, logOfTerms(1, 1, 2));
      expect(log.maybeAppend(3, 1, 0, [entry(4, 3)])).to.equal(undefined); // term mismatch at 3
      expect(log.maybeAppend(5, 2, 0, [entry(6, 3)])).to.equal(undefined); // no entry at 5
      expect(termsOf(log)).to.deep.equal([1, 1, 2]);
    });

    it('accepts at prevIndex 0 on an empty log and appends', () => {
      const log = new RaftLog(undefined, []);
      expect(log.maybeAppend(0, 0, 0, [entry(1, 1), entry(2, 1)])).to.equal(2);
      expect(termsOf(log)).to.deep.equal([1, 1]);
    });

    it('deletes a conflicting entry and all that follow it, then appends (rule 3)', () => {
      const log = new RaftLog(undefined, logOfTerms(1, 1, 2, 2, 2));
      expect(log.maybeAppend(2, 1, 0, [entry(3, 3)])).to.equal(3);
      expect(termsOf(log)).to.deep.equal([1, 1, 3]);
    });

    it('keeps entries it already has and later ones when the append is a stale, shorter copy (rule 3 says only *conflicting*)', () => {
      const log = new RaftLog(undefined, logOfTerms(1, 1, 2, 2));
      // A delayed append carrying 2..3 must not truncate 4.
      expect(log.maybeAppend(1, 1, 0, [entry(2, 1), entry(3, 2)])).to.equal(3);
      expect(termsOf(log)).to.deep.equal([1, 1, 2, 2]);
    });

    it('appends only the new entries when the append overlaps the tail (rule 4)', () => {
      const log = new RaftLog(undefined, logOfTerms(1, 1));
      log.stableTo(2, 1);
      expect(log.maybeAppend(1, 1, 0, [entry(2, 1), entry(3, 1), entry(4, 1)])).to.equal(4);
      expect(termsOf(log)).to.deep.equal([1, 1, 1, 1]);
      // Index 2 was already stable and did not change: only 3 and 4 need persisting.
      expect(log.unstableEntries().map((e) => e.index)).to.deep.equal([3, 4]);
    });

    it('commits min(leaderCommit, index of last new entry) (rule 5)', () => {
      const log = new RaftLog(undefined, logOfTerms(1, 1, 1, 1, 1));
      // The leader's commit 5 is beyond what this append proves we share (prev 1 + 1 entry = 2).
      expect(log.maybeAppend(1, 1, 5, [entry(2, 1)])).to.equal(2);
      expect(log.commitIndex).to.equal(2);
      log.maybeAppend(2, 1, 1, []);
      expect(log.commitIndex, 'the commit index never goes back').to.equal(2);
      log.maybeAppend(4, 1, 4, []);
      expect(log.commitIndex).to.equal(4);
    });

    it('refuses (asserts) to truncate a committed entry', () => {
      const log = new RaftLog(undefined, logOfTerms(1, 1, 1));
      log.commitTo(3);
      expect(() => log.maybeAppend(1, 1, 3, [entry(2, 2)])).to.throw(/conflicts with the committed log/);
      expect(termsOf(log)).to.deep.equal([1, 1, 1]);
    });
  });

  describe('findConflictByTerm (fast back-tracking, §5.3)', () => {
    const log = new RaftLog(undefined, logOfTerms(1, 1, 2, 2, 4, 4, 4));

    it('returns the largest index <= index whose term is <= term', () => {
      expect(log.findConflictByTerm(7, 4)).to.equal(7);
      expect(log.findConflictByTerm(7, 3)).to.equal(4);
      expect(log.findConflictByTerm(7, 2)).to.equal(4);
      expect(log.findConflictByTerm(7, 1)).to.equal(2);
      expect(log.findConflictByTerm(3, 1)).to.equal(2);
      expect(log.findConflictByTerm(7, 0)).to.equal(0);
    });

    it('starts from the last index when asked beyond it', () => {
      expect(log.findConflictByTerm(100, 9)).to.equal(7);
      expect(log.findConflictByTerm(100, 3)).to.equal(4);
    });

    it('stops at the snapshot index', () => {
      const compacted = new RaftLog(snap(2, 1), [entry(3, 3), entry(4, 3)]);
      expect(compacted.findConflictByTerm(4, 1)).to.equal(2);
      expect(compacted.findConflictByTerm(4, 3)).to.equal(4);
    });
  });

  describe('isUpToDate (§5.4.1)', () => {
    const log = new RaftLog(undefined, logOfTerms(1, 2, 2));

    it('prefers the higher last term whatever the length', () => {
      expect(log.isUpToDate(1, 3)).to.equal(true);
      expect(log.isUpToDate(10, 1)).to.equal(false);
    });

    it('with equal last terms, the longer (or equal) log is up to date', () => {
      expect(log.isUpToDate(3, 2)).to.equal(true);
      expect(log.isUpToDate(4, 2)).to.equal(true);
      expect(log.isUpToDate(2, 2)).to.equal(false);
    });

    it('uses the snapshot term when the log after it is empty', () => {
      const compacted = new RaftLog(snap(5, 3), []);
      expect(compacted.lastTerm()).to.equal(3);
      expect(compacted.isUpToDate(5, 3)).to.equal(true);
      expect(compacted.isUpToDate(4, 3)).to.equal(false);
      expect(compacted.isUpToDate(1, 4)).to.equal(true);
    });
  });

  describe('stability', () => {
    it('unstableEntries lists what is above stableIndex; stableTo moves it', () => {
      const log = new RaftLog(undefined, []);
      log.append([entry(1, 1), entry(2, 1), entry(3, 1)]);
      expect(log.unstableEntries().map((e) => e.index)).to.deep.equal([1, 2, 3]);
      log.stableTo(2, 1);
      expect(log.stableIndex).to.equal(2);
      expect(log.unstableEntries().map((e) => e.index)).to.deep.equal([3]);
    });

    it('truncating durable entries pulls stableIndex back below the conflict', () => {
      const log = new RaftLog(undefined, logOfTerms(1, 1, 1));
      expect(log.stableIndex).to.equal(3);
      log.maybeAppend(1, 1, 0, [entry(2, 2)]);
      expect(log.stableIndex).to.equal(1);
      expect(log.unstableEntries().map((e) => `${e.index}@${e.term}`)).to.deep.equal(['2@2']);
    });

    it('stableTo ignores an acknowledgement for an entry rewritten meanwhile', () => {
      const log = new RaftLog(undefined, logOfTerms(1));
      log.stableTo(1, 1);
      log.maybeAppend(1, 1, 0, [entry(2, 1), entry(3, 1)]);
      const handedOut = log.unstableEntries();
      expect(handedOut.map((e) => `${e.index}@${e.term}`)).to.deep.equal(['2@1', '3@1']);
      // While 2@1, 3@1 are being persisted, a new leader overwrites index 3.
      log.maybeAppend(2, 1, 0, [entry(3, 2)]);
      log.stableTo(3, 1); // the old batch's last entry
      expect(log.stableIndex, 'the stale acknowledgement of 3@1 must not mark 3@2 durable').to.equal(1);
      expect(log.unstableEntries().map((e) => `${e.index}@${e.term}`)).to.deep.equal(['2@1', '3@2']);
      log.stableTo(3, 2);
      expect(log.stableIndex).to.equal(3);
      expect(log.unstableEntries()).to.deep.equal([]);
    });
  });

  describe('apply', () => {
    it('hands out committed entries once, bounded by bytes but at least one', () => {
      const log = new RaftLog(undefined, []);
      const big: Entry[] = [1, 2, 3].map((i) => ({ index: i, term: 1, type: 0, data: new Uint8Array(10) }));
      log.append(big);
      log.commitTo(3);
      expect(log.committedToApply(15).map((e) => e.index)).to.deep.equal([1]);
      expect(log.committedToApply(5).map((e) => e.index), 'at least one entry even over the limit').to.deep.equal([1]);
      log.appliedTo(1);
      expect(log.committedToApply(100).map((e) => e.index)).to.deep.equal([2, 3]);
      log.appliedTo(3);
      expect(log.committedToApply(100)).to.deep.equal([]);
    });

    it('uncommittedBytes counts the data above the commit index', () => {
      const log = new RaftLog(undefined, [entry(1, 1, 'aa'), entry(2, 1, 'bbb'), entry(3, 1, 'c')]);
      expect(log.uncommittedBytes()).to.equal(6);
      log.commitTo(2);
      expect(log.uncommittedBytes()).to.equal(1);
    });
  });

  describe('compact and restore (§7)', () => {
    it('compact drops the entries up to the snapshot and keeps the rest addressable', () => {
      const log = new RaftLog(undefined, logOfTerms(1, 1, 2, 2, 3));
      log.commitTo(4);
      log.appliedTo(3);
      log.compact(snap(3, 2));
      expect(log.snapshotIndex).to.equal(3);
      expect(log.firstIndex()).to.equal(4);
      expect(log.lastIndex()).to.equal(5);
      expect(log.termAt(3)).to.equal(2);
      expect(log.termAt(2), 'compacted away').to.equal(undefined);
      expect(log.entryAt(3)).to.equal(undefined);
      expect(log.entryAt(4)?.term).to.equal(2);
      expect(log.matchTerm(3, 2)).to.equal(true);
      expect(() => log.slice(3, 5), 'reaches into the snapshot').to.throw();
      expect(log.slice(4, 6).map((e) => e.index)).to.deep.equal([4, 5]);
    });

    it('compact refuses to go beyond the applied index or with a wrong term, and ignores older snapshots', () => {
      const log = new RaftLog(undefined, logOfTerms(1, 1, 2, 2));
      log.commitTo(4);
      log.appliedTo(2);
      expect(() => log.compact(snap(3, 2))).to.throw(/beyond applied/);
      log.appliedTo(4);
      expect(() => log.compact(snap(3, 1))).to.throw(/does not match/);
      log.compact(snap(3, 2));
      log.compact(snap(2, 1));
      expect(log.snapshotIndex).to.equal(3);
      expect(log.lastIndex()).to.equal(4);
    });

    it('compact may keep a trail of entries the snapshot covers, still addressable', () => {
      const log = new RaftLog(undefined, logOfTerms(1, 1, 2, 2, 3, 3));
      log.commitTo(5);
      log.appliedTo(5);
      log.compact(snap(5, 3), 2);
      expect(log.snapshotIndex).to.equal(5);
      expect(log.firstIndex()).to.equal(4);
      expect(log.termAt(3), 'the trail base term is known').to.equal(2);
      expect(log.termAt(2)).to.equal(undefined);
      expect(log.slice(4, 7).map((e) => e.index)).to.deep.equal([4, 5, 6]);
      expect(log.findConflictByTerm(6, 1)).to.equal(3);
      // A later compaction keeps at most what is still in memory.
      log.commitTo(6);
      log.appliedTo(6);
      log.compact(snap(6, 3), 10);
      expect(log.firstIndex()).to.equal(4);
    });

    it('restore replaces the whole log and moves commit and applied to the snapshot', () => {
      const log = new RaftLog(undefined, logOfTerms(1, 1, 2));
      log.commitTo(1);
      log.appliedTo(1);
      const s = snap(10, 4);
      log.restore(s);
      expect(log.latestSnapshot()).to.equal(s);
      expect(log.lastIndex()).to.equal(10);
      expect(log.lastTerm()).to.equal(4);
      expect(log.commitIndex).to.equal(10);
      expect(log.appliedIndex).to.equal(10);
      expect(log.stableIndex).to.equal(10);
      expect(log.unstableEntries()).to.deep.equal([]);
      expect(log.termAt(3), 'old entries are gone').to.equal(undefined);
      // The log continues right after the snapshot.
      expect(log.maybeAppend(10, 4, 11, [entry(11, 4)])).to.equal(11);
      expect(log.commitIndex).to.equal(11);
    });

    it('restore refuses a snapshot at or below the commit index', () => {
      const log = new RaftLog(undefined, logOfTerms(1, 1, 2));
      log.commitTo(3);
      expect(() => log.restore(snap(3, 2))).to.throw(/at or below commit/);
    });

    it('a log built from a snapshot starts committed and applied at the snapshot', () => {
      const log = new RaftLog(snap(5, 2), [entry(6, 2), entry(7, 3)]);
      expect(log.commitIndex).to.equal(5);
      expect(log.appliedIndex).to.equal(5);
      expect(log.stableIndex).to.equal(7);
      expect(() => new RaftLog(snap(5, 2), [entry(7, 2)])).to.throw(/not contiguous/);
    });
  });
});
