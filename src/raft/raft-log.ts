/**
 * A Raft node's log as the core sees it: the latest snapshot (index, term, data) and the entries in
 * memory, which start at `firstIndex()` — at or before the snapshot's end: a leader keeps a trail of
 * entries the snapshot covers so that a follower slightly behind gets entries, not a whole snapshot
 * (etcd's catch-up entries). Storage holds only what follows the snapshot; the trail is a cache. The
 * node loop persists what `unstableEntries()` returns and then reports it with `stableTo`.
 *
 * Invariants (asserted):
 * - entries are contiguous from baseIndex + 1; baseIndex <= snapshotIndex <= lastIndex();
 * - snapshotIndex <= appliedIndex <= commitIndex <= lastIndex();
 * - stableIndex <= lastIndex(): entries up to stableIndex are durable on this node;
 * - nothing at or below commitIndex is ever truncated (Raft's state-machine safety).
 */
import { assert } from '../util/assert.js';
import type { Entry, LogIndex, Snapshot, Term } from './types.js';

export class RaftLog {
  private snapshot: Snapshot;
  /** The index before entries[0], and its term (known: the snapshot's or a compacted entry's). */
  private baseIndex: LogIndex;
  private baseTerm: Term;
  private entries: Entry[];
  /** Highest index known durable on this node's storage. */
  stableIndex: LogIndex;
  commitIndex: LogIndex;
  appliedIndex: LogIndex;

  constructor(snapshot: Snapshot | undefined, entries: readonly Entry[]) {
    this.snapshot = snapshot ?? { index: 0, term: 0, data: new Uint8Array(0) };
    this.baseIndex = this.snapshot.index;
    this.baseTerm = this.snapshot.term;
    this.entries = [...entries];
    this.assertContiguous(this.entries, this.baseIndex + 1);
    this.stableIndex = this.lastIndex();
    this.commitIndex = this.snapshot.index;
    this.appliedIndex = this.snapshot.index;
  }

  get snapshotIndex(): LogIndex {
    return this.snapshot.index;
  }

  get snapshotTerm(): Term {
    return this.snapshot.term;
  }

  /** The latest snapshot (for sending to laggers). The caller must not mutate its data. */
  latestSnapshot(): Snapshot {
    return this.snapshot;
  }

  /** The first index whose entry is in memory (entries before it exist only in the snapshot). */
  firstIndex(): LogIndex {
    return this.baseIndex + 1;
  }

  lastIndex(): LogIndex {
    return this.baseIndex + this.entries.length;
  }

  lastTerm(): Term {
    return this.termAt(this.lastIndex()) as Term;
  }

  /** The term of the entry at `index`; undefined when compacted away (below the snapshot) or not yet written. */
  termAt(index: LogIndex): Term | undefined {
    if (index === this.baseIndex) return this.baseTerm;
    if (index < this.baseIndex || index > this.lastIndex()) return undefined;
    return (this.entries[index - this.baseIndex - 1] as Entry).term;
  }

  matchTerm(index: LogIndex, term: Term): boolean {
    return this.termAt(index) === term;
  }

  entryAt(index: LogIndex): Entry | undefined {
    if (index <= this.baseIndex || index > this.lastIndex()) return undefined;
    return this.entries[index - this.baseIndex - 1];
  }

  /**
   * Entries in [lo, hiExclusive), at least one (when there is one) and otherwise at most about
   * `bytesMax` bytes of data. `lo` must be at or after `firstIndex()`.
   */
  slice(lo: LogIndex, hiExclusive: LogIndex, bytesMax = Number.POSITIVE_INFINITY): Entry[] {
    assert(lo > this.baseIndex, `slice(${lo}) reaches before the first entry in memory ${this.baseIndex + 1}`);
    const hi = Math.min(hiExclusive, this.lastIndex() + 1);
    const out: Entry[] = [];
    let bytes = 0;
    for (let i = lo; i < hi; i++) {
      const entry = this.entries[i - this.baseIndex - 1] as Entry;
      bytes += entry.data.length;
      if (out.length > 0 && bytes > bytesMax) break;
      out.push(entry);
    }
    return out;
  }

  /**
   * Raft §5.4.1: a candidate's log is at least as up to date as ours when its last term is higher, or
   * equal with a last index at least ours.
   */
  isUpToDate(lastIndex: LogIndex, lastTerm: Term): boolean {
    const ourTerm = this.lastTerm();
    return lastTerm > ourTerm || (lastTerm === ourTerm && lastIndex >= this.lastIndex());
  }

  /**
   * The largest index <= `index` whose term is <= `term` (or the snapshot index). Used on both sides of
   * fast back-tracking: a follower names where the leader should probe next; the leader jumps there.
   */
  findConflictByTerm(index: LogIndex, term: Term): LogIndex {
    let i = Math.min(index, this.lastIndex());
    while (i > this.baseIndex && (this.termAt(i) as Term) > term) i--;
    return i;
  }

  /**
   * The follower's side of AppendEntries (Raft §5.3): when our entry at prevIndex has prevTerm, drop
   * whatever conflicts with `entries`, append what is new, and commit up to min(commit, last new
   * index). Returns the last index now known to match the leader, or undefined when prevIndex does
   * not match (the leader must back up).
   */
  maybeAppend(prevIndex: LogIndex, prevTerm: Term, commitIndex: LogIndex, entries: readonly Entry[]): LogIndex | undefined {
    if (!this.matchTerm(prevIndex, prevTerm)) return undefined;
    const lastNewIndex = prevIndex + entries.length;
    const conflict = this.findConflict(entries);
    if (conflict !== undefined) {
      assert(conflict > this.commitIndex, `entry ${conflict} conflicts with the committed log (commit ${this.commitIndex})`);
      const first = (entries[0] as Entry).index;
      this.truncateAndAppend(entries.slice(conflict - first));
    }
    this.commitTo(Math.min(commitIndex, lastNewIndex));
    return lastNewIndex;
  }

  /** The leader's append of its own new entries. */
  append(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    assert((entries[0] as Entry).index === this.lastIndex() + 1, 'leader append must extend the log');
    this.assertContiguous(entries, this.lastIndex() + 1);
    for (const e of entries) this.entries.push(e);
  }

  commitTo(index: LogIndex): boolean {
    if (index <= this.commitIndex) return false;
    assert(index <= this.lastIndex(), `commit ${index} beyond the last index ${this.lastIndex()}`);
    this.commitIndex = index;
    return true;
  }

  /** Entries the node loop must persist: everything above stableIndex. */
  unstableEntries(): Entry[] {
    if (this.stableIndex >= this.lastIndex()) return [];
    return this.entries.slice(this.stableIndex - this.baseIndex);
  }

  /**
   * The node loop made entries up to (index, term) durable. Ignored when the log was rewritten in the
   * meantime (the entry there no longer has that term): the next batch persists the new entries.
   */
  stableTo(index: LogIndex, term: Term): void {
    if (this.termAt(index) === term && index > this.stableIndex) this.stableIndex = index;
  }

  /** Committed entries not yet applied, at most about `bytesMax` bytes (at least one when there is one). */
  committedToApply(bytesMax: number): Entry[] {
    if (this.appliedIndex >= this.commitIndex) return [];
    return this.slice(this.appliedIndex + 1, this.commitIndex + 1, bytesMax);
  }

  /**
   * The node loop applied entries up to `index`. A leader's snapshot installed while that batch was
   * being handled may already have moved `appliedIndex` past it; then this changes nothing.
   */
  appliedTo(index: LogIndex): void {
    assert(index <= this.commitIndex, `applied ${index} beyond commit ${this.commitIndex}`);
    if (index > this.appliedIndex) this.appliedIndex = index;
  }

  /** Uncommitted bytes (leader back-pressure). */
  uncommittedBytes(): number {
    let bytes = 0;
    for (let i = this.commitIndex + 1; i <= this.lastIndex(); i++) bytes += (this.entryAt(i) as Entry).data.length;
    return bytes;
  }

  /**
   * A local snapshot covering up to `snapshot.index` (<= applied) is durable: forget the entries it
   * covers, except the last `trailingEntries` of them.
   */
  compact(snapshot: Snapshot, trailingEntries = 0): void {
    assert(snapshot.index <= this.appliedIndex, `snapshot ${snapshot.index} beyond applied ${this.appliedIndex}`);
    if (snapshot.index <= this.snapshot.index) return;
    assert(this.termAt(snapshot.index) === snapshot.term, `snapshot term ${snapshot.term} does not match the log at ${snapshot.index}`);
    this.snapshot = snapshot;
    const newBase = Math.max(this.baseIndex, snapshot.index - trailingEntries);
    this.baseTerm = this.termAt(newBase) as Term;
    this.entries = this.entries.slice(newBase - this.baseIndex);
    this.baseIndex = newBase;
  }

  /**
   * A leader's snapshot replaces the whole log (the caller checked that our log does not already
   * contain its last entry). The node loop persists it with `discardLog`.
   */
  restore(snapshot: Snapshot): void {
    assert(snapshot.index > this.commitIndex, `restore ${snapshot.index} at or below commit ${this.commitIndex}`);
    this.snapshot = snapshot;
    this.baseIndex = snapshot.index;
    this.baseTerm = snapshot.term;
    this.entries = [];
    this.commitIndex = snapshot.index;
    this.appliedIndex = snapshot.index;
    this.stableIndex = snapshot.index;
  }

  /** The index of the first entry in `entries` that we lack or hold with another term. */
  private findConflict(entries: readonly Entry[]): LogIndex | undefined {
    for (const e of entries) {
      if (!this.matchTerm(e.index, e.term)) return e.index;
    }
    return undefined;
  }

  private truncateAndAppend(entries: readonly Entry[]): void {
    const first = (entries[0] as Entry).index;
    assert(first > this.baseIndex && first <= this.lastIndex() + 1, `cannot append at ${first}`);
    this.entries.length = first - this.baseIndex - 1;
    for (const e of entries) this.entries.push(e);
    this.assertContiguous(entries, first);
    if (this.stableIndex >= first) this.stableIndex = first - 1;
  }

  private assertContiguous(entries: readonly Entry[], firstIndex: LogIndex): void {
    for (let i = 0; i < entries.length; i++) {
      assert((entries[i] as Entry).index === firstIndex + i, `entries not contiguous at ${firstIndex + i}`);
    }
  }
}
