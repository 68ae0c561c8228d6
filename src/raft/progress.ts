/**
 * The leader's view of one peer's log (after etcd-io/raft's Progress).
 *
 * - `probe`: we do not know where the peer's log matches ours; send one append at a time and wait.
 * - `replicate`: the peer is in step; stream appends, advancing `nextIndex` optimistically, with at
 *   most `inflightMax` unacknowledged appends.
 * - `snapshot`: the peer needs entries we compacted; a snapshot is on its way, send nothing else until
 *   it is acknowledged or `snapshotTicks` run out.
 *
 * Invariant: matchIndex < nextIndex. `matchIndex` goes down only for a peer that says it is
 * recovering from a wiped disk; that is safe because the leader's commit index never goes down.
 */
import type { LogIndex, NodeId } from './types.js';

export type ProgressState = 'probe' | 'replicate' | 'snapshot';

export class Progress {
  matchIndex: LogIndex = 0;
  nextIndex: LogIndex;
  state: ProgressState = 'probe';
  /** In probe state: an append is out and we wait for its answer (or the next heartbeat response). */
  probeSent = false;
  /** In snapshot state: the snapshot's index, and ticks left before we give up on it. */
  pendingSnapshotIndex: LogIndex = 0;
  snapshotTicksLeft = 0;
  /** Last index of each unacknowledged append, oldest first (replicate state). */
  readonly inflight: LogIndex[] = [];
  /** Heard from since the last check-quorum round. */
  recentActive = false;
  /** Ticks since we last heard from it (observers expire when silent too long). */
  idleTicks = 0;

  constructor(
    readonly id: NodeId,
    readonly isVoter: boolean,
    lastIndex: LogIndex,
    private readonly inflightMax: number,
  ) {
    this.nextIndex = lastIndex + 1;
  }

  isPaused(): boolean {
    switch (this.state) {
      case 'probe':
        return this.probeSent;
      case 'replicate':
        return this.inflight.length >= this.inflightMax;
      case 'snapshot':
        return true;
    }
  }

  becomeProbe(): void {
    // After a snapshot, resume right after it; otherwise right after what we know matches.
    this.nextIndex = Math.max(this.matchIndex + 1, this.state === 'snapshot' ? this.pendingSnapshotIndex + 1 : 0);
    this.state = 'probe';
    this.probeSent = false;
    this.pendingSnapshotIndex = 0;
    this.inflight.length = 0;
  }

  becomeReplicate(): void {
    this.state = 'replicate';
    this.nextIndex = this.matchIndex + 1;
    this.probeSent = false;
    this.pendingSnapshotIndex = 0;
    this.inflight.length = 0;
  }

  becomeSnapshot(snapshotIndex: LogIndex, snapshotTicks: number): void {
    this.state = 'snapshot';
    this.pendingSnapshotIndex = snapshotIndex;
    this.snapshotTicksLeft = snapshotTicks;
    this.inflight.length = 0;
  }

  /** An append of entries ending at `lastIndex` was sent. */
  sentEntries(lastIndex: LogIndex): void {
    if (this.state === 'replicate') {
      this.nextIndex = lastIndex + 1;
      this.inflight.push(lastIndex);
    } else if (this.state === 'probe') {
      this.probeSent = true;
    }
  }

  /** A successful append response up to `index`. Returns false when it told us nothing new. */
  maybeUpdate(index: LogIndex): boolean {
    let updated = false;
    if (index > this.matchIndex) {
      this.matchIndex = index;
      updated = true;
      this.probeSent = false;
    }
    this.nextIndex = Math.max(this.nextIndex, index + 1);
    while (this.inflight.length > 0 && (this.inflight[0] as LogIndex) <= index) this.inflight.shift();
    return updated;
  }

  /**
   * A rejection of an append at `rejectedIndex`; `probeNext` is where the leader's log and the hint
   * suggest trying next. Returns false for a stale rejection that changes nothing.
   */
  maybeDecrease(rejectedIndex: LogIndex, probeNext: LogIndex, peerLostLog: boolean): boolean {
    if (peerLostLog) {
      this.matchIndex = 0;
      this.state = 'probe';
      this.inflight.length = 0;
      this.nextIndex = Math.max(1, probeNext);
      this.probeSent = false;
      return true;
    }
    if (this.state === 'replicate') {
      if (rejectedIndex <= this.matchIndex) return false;
      this.becomeProbe();
      return true;
    }
    // Probe: only the answer to the append we sent last (at nextIndex - 1) counts.
    if (this.nextIndex - 1 !== rejectedIndex) return false;
    this.nextIndex = Math.max(Math.min(rejectedIndex, probeNext), this.matchIndex + 1, 1);
    this.probeSent = false;
    return true;
  }

  /** A heartbeat response: an unanswered probe or a full pipeline may have lost a message; retry. */
  onHeartbeatResponse(): void {
    this.probeSent = false;
    if (this.state === 'replicate' && this.inflight.length >= this.inflightMax) this.inflight.shift();
  }
}
