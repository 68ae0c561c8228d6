/**
 * Why a proposal did not (or may not have) committed. Each condition is its own class with a stable
 * `code` and a `retriable` flag; match on those, never on message text.
 */
import type { NodeId } from './types.js';

export abstract class RaftError extends Error {
  abstract readonly code: string;
  abstract readonly retriable: boolean;
}

/** This node does not lead the quorum. `leaderHint` is the leader it knows of, or 0. */
export class NotLeaderError extends RaftError {
  override readonly name = 'NotLeaderError';
  readonly code = 'NOT_LEADER';
  readonly retriable = true;
  constructor(readonly leaderHint: NodeId, reason = 'not the leader') {
    super(leaderHint === 0 ? `${reason}; no leader known` : `${reason}; try node ${leaderHint}`);
  }
}

/**
 * Leadership was lost before the proposal committed. Its outcome is unknown: it may still commit
 * under the next leader, or vanish. Retry only if the command is safe to apply twice.
 */
export class LeadershipLostError extends RaftError {
  override readonly name = 'LeadershipLostError';
  readonly code = 'LEADERSHIP_LOST';
  readonly retriable = true;
  constructor(readonly index: number) {
    super(`leadership lost before entry ${index} committed; its outcome is unknown`);
  }
}

/** Another leader's entry was committed at the proposal's index: the proposal certainly did not commit. */
export class ProposalDroppedError extends RaftError {
  override readonly name = 'ProposalDroppedError';
  readonly code = 'PROPOSAL_DROPPED';
  readonly retriable = true;
  constructor(readonly index: number) {
    super(`entry ${index} was replaced by another leader's entry; the proposal did not commit`);
  }
}

/** Too much uncommitted data is queued on the leader; back off and retry. */
export class QuorumOverloadedError extends RaftError {
  override readonly name = 'QuorumOverloadedError';
  readonly code = 'QUORUM_OVERLOADED';
  readonly retriable = true;
  constructor() {
    super('too many uncommitted proposals; retry later');
  }
}

/** The node was stopped (or crashed) before the proposal's outcome was known. */
export class NodeStoppedError extends RaftError {
  override readonly name = 'NodeStoppedError';
  readonly code = 'NODE_STOPPED';
  readonly retriable = true;
  constructor() {
    super('the raft node stopped; the proposal outcome is unknown');
  }
}
