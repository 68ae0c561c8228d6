/**
 * The data of the controller quorum's Raft: log entries, durable state, snapshots and the messages
 * nodes exchange. Everything here is plain data so that it can be persisted, sent over any transport,
 * or delivered by the simulator.
 *
 * Vocabulary: "term" is the quorum's epoch (KIP-595 calls it epoch); "index" is a 1-based log
 * position. Index 0 with term 0 is the empty log's sentinel. "Leader epoch" is reserved for partitions.
 */

export type NodeId = number;
export type Term = number;
export type LogIndex = number;

/** Marks "no node" in votes and leader hints. Node ids are positive integers. */
export const NO_NODE: NodeId = 0;

export const EntryType = {
  /** A command for the state machine. */
  Command: 0,
  /**
   * Appended by every new leader at the start of its term (Raft §8, KAFKA-12619): a leader may only
   * count replicas of an entry of its own term, so it needs one before anything commits.
   */
  LeaderChange: 1,
} as const;
export type EntryType = (typeof EntryType)[keyof typeof EntryType];

export interface Entry {
  readonly term: Term;
  readonly index: LogIndex;
  readonly type: EntryType;
  /** Opaque to Raft. Nobody mutates it once the entry exists. */
  readonly data: Uint8Array;
}

/** What must be durable before any message that depends on it leaves the node (Raft §5.1, Figure 2). */
export interface HardState {
  readonly term: Term;
  readonly vote: NodeId;
  /**
   * Present while the node, restarted on a wiped disk, has not yet caught up: it must not vote or
   * campaign. Durable, so that a crash during recovery does not end it early.
   */
  readonly recovering?: true;
}

/** A state-machine image covering every entry up to and including `index`. */
export interface Snapshot {
  readonly index: LogIndex;
  readonly term: Term;
  readonly data: Uint8Array;
}

/** Static membership: 3 or 5 voters; observers join and leave freely and are not listed. */
export interface QuorumConfig {
  readonly voters: readonly NodeId[];
}

interface Envelope {
  readonly from: NodeId;
  readonly to: NodeId;
  /** The sender's term (for pre-votes: the term it would campaign in). */
  readonly term: Term;
}

export interface VoteRequest extends Envelope {
  readonly type: 'vote' | 'pre-vote';
  readonly lastLogIndex: LogIndex;
  readonly lastLogTerm: Term;
  /** Set when a leader handed over leadership: voters then ignore their leader lease. */
  readonly transfer: boolean;
}

export interface VoteResponse extends Envelope {
  readonly type: 'vote-response' | 'pre-vote-response';
  readonly granted: boolean;
}

export interface AppendRequest extends Envelope {
  readonly type: 'append';
  readonly prevIndex: LogIndex;
  readonly prevTerm: Term;
  readonly entries: readonly Entry[];
  readonly commitIndex: LogIndex;
}

export interface AppendResponse extends Envelope {
  readonly type: 'append-response';
  /**
   * On success: the index up to which the follower's log now matches the leader's.
   * On rejection: the `prevIndex` that was rejected (lets the leader ignore stale rejections).
   */
  readonly index: LogIndex;
  readonly rejected: boolean;
  /**
   * On rejection, where the leader should try next (fast back-tracking, Raft §5.3 and etcd-io/raft):
   * the follower's last index at or below the rejected `prevIndex` whose term is <= `prevTerm`.
   */
  readonly hintIndex: LogIndex;
  readonly hintTerm: Term;
  /** Sent by a voter recovering from a wiped disk: only then may it lack what it acknowledged. */
  readonly recovering?: true;
}

export interface HeartbeatRequest extends Envelope {
  readonly type: 'heartbeat';
  /** min(leader commit, follower match): never tells a follower to commit what it may not hold. */
  readonly commitIndex: LogIndex;
  /**
   * The leader's term of the entry at `commitIndex`. The follower commits only if its own entry there
   * has this term (log matching then proves the whole prefix equal): a follower that lost its disk
   * since it last acknowledged must not commit whatever it holds now.
   */
  readonly commitTerm: Term;
  /** The leader's last index: what a recovering follower must hold before it votes again. */
  readonly leaderLastIndex: LogIndex;
}

export interface HeartbeatResponse extends Envelope {
  readonly type: 'heartbeat-response';
  /** The follower's last log index: below its acknowledged match it lost its disk, and the leader starts over. */
  readonly lastIndex: LogIndex;
  /** As in AppendResponse. */
  readonly recovering?: true;
}

export interface SnapshotRequest extends Envelope {
  readonly type: 'snapshot';
  readonly snapshot: Snapshot;
}

/** A leader handing over tells the chosen successor to campaign now. */
export interface TimeoutNowRequest extends Envelope {
  readonly type: 'timeout-now';
}

/** An observer asks the voters to be replicated to; only the leader acts on it. */
export interface ObserveRequest extends Envelope {
  readonly type: 'observe';
}

export type Message =
  | VoteRequest
  | VoteResponse
  | AppendRequest
  | AppendResponse
  | HeartbeatRequest
  | HeartbeatResponse
  | SnapshotRequest
  | TimeoutNowRequest
  | ObserveRequest;

export type MessageType = Message['type'];

export type Role = 'follower' | 'pre-candidate' | 'candidate' | 'leader' | 'observer';
