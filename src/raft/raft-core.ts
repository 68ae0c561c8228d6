/**
 * The Raft state machine of one controller-quorum member: pure and synchronous, after etcd-io/raft.
 * Inputs: `tick()`, `step(message)`, `propose(data)`, `transferLeadership()`, `compact(snapshot)`.
 * Output: a `Ready` batch that the node loop (raft-node.ts) handles in this order, then `advance()`:
 *   1. persist `hardState`, `snapshot` and `entries` durably (one atomic storage update);
 *   2. only then send `messages` — every vote and every acknowledgement in them depends on step 1;
 *   3. restore the state machine from `snapshot`, then apply `committed` in order.
 * Only one Ready is outstanding at a time; inputs may keep arriving while it is handled.
 *
 * Replication is push-style (Raft paper §5.3: AppendEntries) rather than KIP-595's pull: the paper's
 * rules then map one-to-one onto tests, and the leader learns each follower's position without a
 * poll interval. Observers (non-voters, e.g. brokers) ask the voters to be replicated to with an
 * `observe` message; the leader then streams to them like to any follower but never counts them.
 *
 * Roles and their legal transitions (anything else is a bug):
 *   follower -> pre-candidate (election timeout, pre-vote on) | candidate (pre-vote off, or timeout-now)
 *   pre-candidate -> candidate (majority of pre-votes) | follower
 *   candidate -> leader (majority of votes) | follower
 *   leader -> follower (higher term, or check-quorum failed)
 *   observer -> observer (never votes, never campaigns)
 *
 * Safety measures beyond the paper: pre-vote (a partitioned node cannot disrupt by raising its term),
 * check-quorum with a leader lease (voters that heard from a leader within the election timeout
 * ignore vote requests), a leader-change entry at the start of every term (§8), and `recovering`
 * nodes (a voter restarted on a wiped disk) that neither vote nor campaign until they hold an entry
 * committed in the current term — so a node that forgot what it acknowledged cannot help elect a
 * leader that lacks it.
 */
import { assert } from '../util/assert.js';
import type { Logger } from '../util/log.js';
import type { Random } from '../util/random.js';
import { Progress } from './progress.js';
import { RaftLog } from './raft-log.js';
import {
  EntryType,
  NO_NODE,
  type AppendRequest,
  type AppendResponse,
  type Entry,
  type HardState,
  type HeartbeatRequest,
  type LogIndex,
  type Message,
  type NodeId,
  type Role,
  type Snapshot,
  type SnapshotRequest,
  type Term,
  type VoteRequest,
  type VoteResponse,
} from './types.js';

export interface RaftOptions {
  readonly id: NodeId;
  /** The static voter set: 1, 3 or 5 node ids. A node not in it is an observer. */
  readonly voters: readonly NodeId[];
  readonly random: Random;
  readonly logger: Logger;
  /** Election timeout; each follower waits a random time in [timeout, 2 * timeout). Default 10. */
  readonly electionTimeoutTicks?: number;
  /** Default 1. Must be well below the election timeout. */
  readonly heartbeatTicks?: number;
  /** Default true (KIP-996). */
  readonly preVote?: boolean;
  /** Default true: a leader that has not heard from a majority within an election timeout resigns. */
  readonly checkQuorum?: boolean;
  /** Bytes of entry data per append message (at least one entry is always sent). Default 1 MiB. */
  readonly appendBytesMax?: number;
  /** Unacknowledged appends per follower. Default 64. */
  readonly inflightAppendsMax?: number;
  /** Proposals are refused while uncommitted entry data exceeds this. Default 64 MiB. */
  readonly uncommittedBytesMax?: number;
  /** Committed entry data handed out per Ready. Default 4 MiB. */
  readonly applyBytesMax?: number;
  /** An observer the leader has not heard from for this long is forgotten. Default 10 election timeouts. */
  readonly observerIdleTicksMax?: number;
  /** Started on a wiped disk: abstain from elections until caught up (see the header). */
  readonly recovering?: boolean;
}

export interface InitialState {
  readonly hardState: HardState;
  readonly snapshot: Snapshot | undefined;
  readonly entries: readonly Entry[];
}

/** One batch of work for the node loop; see the module header for the order. */
export interface Ready {
  readonly hardState: HardState | undefined;
  /** A leader's snapshot to persist (with `discardLog`) and to restore the state machine from. */
  readonly snapshot: Snapshot | undefined;
  readonly entries: readonly Entry[];
  readonly messages: readonly Message[];
  readonly committed: readonly Entry[];
}

export type ProposeResult =
  | { readonly ok: true; readonly index: LogIndex; readonly term: Term }
  | { readonly ok: false; readonly reason: 'not-leader' | 'transferring' | 'overloaded'; readonly leaderHint: NodeId };

export interface PeerStatus {
  readonly id: NodeId;
  readonly isVoter: boolean;
  readonly matchIndex: LogIndex;
  readonly nextIndex: LogIndex;
  readonly state: string;
  /** Entries the peer lacks: leader's last index minus its match index. */
  readonly lag: number;
  readonly idleTicks: number;
}

export interface RaftStatus {
  readonly id: NodeId;
  readonly role: Role;
  readonly term: Term;
  readonly vote: NodeId;
  readonly leader: NodeId;
  readonly commitIndex: LogIndex;
  readonly appliedIndex: LogIndex;
  readonly lastIndex: LogIndex;
  readonly lastTerm: Term;
  readonly snapshotIndex: LogIndex;
  readonly voters: readonly NodeId[];
  readonly recovering: boolean;
  /** Leader only (empty elsewhere: ask the leader): every peer it replicates to. */
  readonly peers: readonly PeerStatus[];
}

export class RaftCore {
  readonly id: NodeId;
  readonly voters: readonly NodeId[];
  readonly log: RaftLog;

  private termValue: Term;
  private voteValue: NodeId;
  private roleValue: Role;
  private leaderValue: NodeId = NO_NODE;
  private recoveringValue: boolean;
  /** While recovering: the first leader's last index seen in this term; recovery ends once committed. */
  private recoveryTarget: { term: Term; index: LogIndex } | undefined;

  private electionElapsed = 0;
  private heartbeatElapsed = 0;
  private randomizedElectionTimeout = 0;
  private readonly votesReceived = new Map<NodeId, boolean>();
  private readonly progress = new Map<NodeId, Progress>();
  private leadTransferee: NodeId = NO_NODE;
  /** Set by propose(): the next ready() sends the new entries to everyone in one go (batching). */
  private appendPending = false;

  private messages: Message[] = [];
  private persistedHardState: HardState;
  private pendingSnapshot: Snapshot | undefined;

  private readonly random: Random;
  private readonly logger: Logger;
  private readonly electionTimeoutTicks: number;
  private readonly heartbeatTicks: number;
  private readonly preVote: boolean;
  private readonly checkQuorum: boolean;
  private readonly appendBytesMax: number;
  private readonly inflightAppendsMax: number;
  private readonly uncommittedBytesMax: number;
  private readonly applyBytesMax: number;
  private readonly observerIdleTicksMax: number;

  constructor(options: RaftOptions, initial: InitialState) {
    assert(options.id !== NO_NODE && Number.isSafeInteger(options.id) && options.id > 0, `bad node id ${options.id}`);
    assert([1, 3, 5].includes(options.voters.length), `need 1, 3 or 5 voters, got ${options.voters.length}`);
    assert(new Set(options.voters).size === options.voters.length, 'voter ids must be distinct');
    this.id = options.id;
    this.voters = [...options.voters];
    this.random = options.random;
    this.logger = options.logger;
    this.electionTimeoutTicks = options.electionTimeoutTicks ?? 10;
    this.heartbeatTicks = options.heartbeatTicks ?? 1;
    assert(this.heartbeatTicks < this.electionTimeoutTicks, 'heartbeat must be shorter than the election timeout');
    this.preVote = options.preVote ?? true;
    this.checkQuorum = options.checkQuorum ?? true;
    this.appendBytesMax = options.appendBytesMax ?? 1 << 20;
    this.inflightAppendsMax = options.inflightAppendsMax ?? 64;
    this.uncommittedBytesMax = options.uncommittedBytesMax ?? 64 << 20;
    this.applyBytesMax = options.applyBytesMax ?? 4 << 20;
    this.observerIdleTicksMax = options.observerIdleTicksMax ?? 10 * this.electionTimeoutTicks;

    this.log = new RaftLog(initial.snapshot, initial.entries);
    this.termValue = initial.hardState.term;
    this.voteValue = initial.hardState.vote;
    this.persistedHardState = initial.hardState;
    this.recoveringValue = ((options.recovering ?? false) || initial.hardState.recovering === true) && this.isVoter(this.id);
    this.roleValue = this.isVoter(this.id) ? 'follower' : 'observer';
    this.resetElectionTimer();
    // An observer asks for a leader at its first tick rather than after a whole timeout.
    if (this.roleValue === 'observer') this.electionElapsed = this.electionTimeoutTicks - 1;
  }

  get term(): Term {
    return this.termValue;
  }
  get vote(): NodeId {
    return this.voteValue;
  }
  get role(): Role {
    return this.roleValue;
  }
  get leader(): NodeId {
    return this.leaderValue;
  }
  get recovering(): boolean {
    return this.recoveringValue;
  }

  isVoter(id: NodeId): boolean {
    return this.voters.includes(id);
  }

  /** Votes needed to win an election or entries' replicas needed to commit. */
  protected quorum(): number {
    return Math.floor(this.voters.length / 2) + 1;
  }

  // ---- Inputs -------------------------------------------------------------------------------------

  tick(): void {
    if (this.roleValue === 'leader') this.tickLeader();
    else if (this.roleValue === 'observer') this.tickObserver();
    else this.tickElection();
  }

  propose(data: Uint8Array): ProposeResult {
    if (this.roleValue !== 'leader') return { ok: false, reason: 'not-leader', leaderHint: this.leaderValue };
    if (this.leadTransferee !== NO_NODE) return { ok: false, reason: 'transferring', leaderHint: this.leadTransferee };
    if (this.log.uncommittedBytes() + data.length > this.uncommittedBytesMax) {
      return { ok: false, reason: 'overloaded', leaderHint: this.id };
    }
    const entry = this.appendOwn(EntryType.Command, data);
    return { ok: true, index: entry.index, term: entry.term };
  }

  /**
   * Hands leadership to `target` (default: the most caught-up voter) for a controlled shutdown.
   * Proposals are refused meanwhile; the attempt is abandoned after one election timeout.
   * Returns the chosen successor, or NO_NODE when there is none (not leader, single voter).
   */
  transferLeadership(target: NodeId = NO_NODE): NodeId {
    if (this.roleValue !== 'leader') return NO_NODE;
    let to = target;
    if (to === NO_NODE) {
      let best = -1;
      for (const id of this.voters) {
        const pr = this.progress.get(id);
        if (id !== this.id && pr !== undefined && pr.matchIndex > best) {
          best = pr.matchIndex;
          to = id;
        }
      }
    }
    if (to === NO_NODE || to === this.id || !this.isVoter(to)) return NO_NODE;
    this.logger('n%d [term %d] transferring leadership to n%d', this.id, this.termValue, to);
    this.leadTransferee = to;
    // The transfer gets one election timeout. This also postpones the next check-quorum round (as in
    // etcd-io/raft); callers transfer once, for a controlled shutdown, not in a loop.
    this.electionElapsed = 0;
    const pr = this.progress.get(to) as Progress;
    if (pr.matchIndex === this.log.lastIndex()) this.send({ type: 'timeout-now', from: this.id, to, term: this.termValue });
    else this.sendAppend(to);
    return to;
  }

  /**
   * The node loop made a local snapshot durable; drop the entries it covers but the last
   * `trailingEntries` (kept in memory so that followers slightly behind need no snapshot).
   */
  compact(snapshot: Snapshot, trailingEntries = 0): void {
    this.log.compact(snapshot, trailingEntries);
  }

  step(m: Message): void {
    if (m.type === 'observe') {
      this.handleObserve(m.from);
      return;
    }
    if (this.roleValue === 'observer' && (m.type === 'vote' || m.type === 'pre-vote' || m.type === 'timeout-now')) return;
    if (m.term > this.termValue) {
      if ((m.type === 'vote' || m.type === 'pre-vote') && !m.transfer && this.inLease()) {
        // Leader lease: we heard from a live leader recently; a disruptive candidate is ignored.
        this.logger('n%d [term %d] ignored %s from n%d at term %d: leader lease', this.id, this.termValue, m.type, m.from, m.term);
        return;
      }
      const keepTerm = m.type === 'pre-vote' || (m.type === 'pre-vote-response' && m.granted);
      if (!keepTerm) {
        const fromLeader = m.type === 'append' || m.type === 'heartbeat' || m.type === 'snapshot';
        this.becomeFollower(m.term, fromLeader ? m.from : NO_NODE);
      }
    } else if (m.term < this.termValue) {
      if (m.type === 'append' || m.type === 'heartbeat' || m.type === 'snapshot') {
        // A stale leader (e.g. healed from a partition) learns our term from this and steps down.
        this.send({ type: 'append-response', from: this.id, to: m.from, term: this.termValue, index: 0, rejected: true, hintIndex: 0, hintTerm: 0 });
      } else if (m.type === 'pre-vote') {
        this.send({ type: 'pre-vote-response', from: this.id, to: m.from, term: this.termValue, granted: false });
      }
      return;
    }

    if (m.type === 'vote' || m.type === 'pre-vote') {
      this.handleVoteRequest(m);
      return;
    }
    switch (this.roleValue) {
      case 'leader':
        this.stepLeader(m);
        break;
      case 'candidate':
      case 'pre-candidate':
        this.stepCandidate(m);
        break;
      case 'follower':
      case 'observer':
        this.stepFollower(m);
        break;
    }
  }

  // ---- Ready / advance ----------------------------------------------------------------------------

  hasReady(): boolean {
    return (
      this.appendPending ||
      this.messages.length > 0 ||
      this.pendingSnapshot !== undefined ||
      this.log.stableIndex < this.log.lastIndex() ||
      this.log.appliedIndex < this.log.commitIndex ||
      !sameHardState(this.hardState(), this.persistedHardState)
    );
  }

  /** Takes the next batch of work; the caller must `advance(ready)` once it is handled. */
  ready(): Ready {
    if (this.appendPending) {
      this.appendPending = false;
      this.broadcastAppend();
    }
    const hs = this.hardState();
    const rd: Ready = {
      hardState: sameHardState(hs, this.persistedHardState) ? undefined : hs,
      snapshot: this.pendingSnapshot,
      entries: this.log.unstableEntries(),
      messages: this.messages,
      committed: this.log.committedToApply(this.applyBytesMax),
    };
    this.messages = [];
    return rd;
  }

  advance(rd: Ready): void {
    if (rd.hardState !== undefined) this.persistedHardState = rd.hardState;
    if (rd.snapshot !== undefined && rd.snapshot === this.pendingSnapshot) this.pendingSnapshot = undefined;
    const last = rd.entries[rd.entries.length - 1];
    if (last !== undefined) this.log.stableTo(last.index, last.term);
    const lastApplied = rd.committed[rd.committed.length - 1];
    if (lastApplied !== undefined) this.log.appliedTo(lastApplied.index);
    if (this.roleValue === 'leader') {
      // Our own log counts toward the commit only once it is durable.
      const self = this.progress.get(this.id) as Progress;
      if (self.maybeUpdate(this.log.stableIndex) && this.maybeCommit()) this.broadcastAppend();
    }
  }

  hardState(): HardState {
    const hs = { term: this.termValue, vote: this.voteValue };
    return this.recoveringValue ? { ...hs, recovering: true } : hs;
  }

  status(): RaftStatus {
    const peers: PeerStatus[] = [];
    if (this.roleValue === 'leader') {
      for (const pr of this.progress.values()) {
        peers.push({
          id: pr.id,
          isVoter: pr.isVoter,
          matchIndex: pr.matchIndex,
          nextIndex: pr.nextIndex,
          state: pr.state,
          lag: this.log.lastIndex() - pr.matchIndex,
          idleTicks: pr.id === this.id ? 0 : pr.idleTicks,
        });
      }
      peers.sort((a, b) => a.id - b.id);
    }
    return {
      id: this.id,
      role: this.roleValue,
      term: this.termValue,
      vote: this.voteValue,
      leader: this.leaderValue,
      commitIndex: this.log.commitIndex,
      appliedIndex: this.log.appliedIndex,
      lastIndex: this.log.lastIndex(),
      lastTerm: this.log.lastTerm(),
      snapshotIndex: this.log.snapshotIndex,
      voters: this.voters,
      recovering: this.recoveringValue,
      peers,
    };
  }

  // ---- Role transitions ---------------------------------------------------------------------------

  private becomeFollower(term: Term, leader: NodeId): void {
    assert(term >= this.termValue, `term may not go back from ${this.termValue} to ${term}`);
    if (term > this.termValue) {
      this.termValue = term;
      this.voteValue = NO_NODE;
    }
    if (this.roleValue === 'leader' || this.leaderValue !== leader) {
      this.logger('n%d [term %d] following n%d', this.id, term, leader);
    }
    this.roleValue = this.isVoter(this.id) ? 'follower' : 'observer';
    this.leaderValue = leader;
    this.leadTransferee = NO_NODE;
    this.appendPending = false;
    this.votesReceived.clear();
    this.progress.clear();
    this.resetElectionTimer();
  }

  private becomePreCandidate(): void {
    assert(this.roleValue !== 'leader' && this.roleValue !== 'observer', `${this.roleValue} cannot pre-campaign`);
    // Pre-vote changes neither term nor vote: a node that cannot win disrupts nobody (KIP-996).
    this.roleValue = 'pre-candidate';
    this.leaderValue = NO_NODE;
    this.votesReceived.clear();
    this.resetElectionTimer();
    this.logger('n%d [term %d] pre-campaigning', this.id, this.termValue);
  }

  private becomeCandidate(): void {
    assert(this.roleValue !== 'leader' && this.roleValue !== 'observer', `${this.roleValue} cannot campaign`);
    this.termValue += 1;
    this.voteValue = this.id;
    this.roleValue = 'candidate';
    this.leaderValue = NO_NODE;
    this.votesReceived.clear();
    this.resetElectionTimer();
    this.logger('n%d [term %d] campaigning', this.id, this.termValue);
  }

  private becomeLeader(): void {
    assert(this.roleValue === 'candidate', `only a candidate becomes leader, not a ${this.roleValue}`);
    this.roleValue = 'leader';
    this.leaderValue = this.id;
    this.leadTransferee = NO_NODE;
    this.heartbeatElapsed = 0;
    this.electionElapsed = 0;
    this.progress.clear();
    for (const id of this.voters) {
      const pr = new Progress(id, true, this.log.lastIndex(), this.inflightAppendsMax);
      if (id === this.id) pr.maybeUpdate(this.log.stableIndex);
      pr.recentActive = true;
      this.progress.set(id, pr);
    }
    this.logger('n%d [term %d] became leader at index %d', this.id, this.termValue, this.log.lastIndex() + 1);
    // Raft §8: commit an entry of our own term first; it also tells observers who leads.
    const data = new Uint8Array(4);
    new DataView(data.buffer).setUint32(0, this.id);
    this.appendOwn(EntryType.LeaderChange, data);
  }

  private campaign(kind: 'pre-vote' | 'vote', transfer: boolean): void {
    if (this.recoveringValue) return;
    if (kind === 'pre-vote') this.becomePreCandidate();
    else this.becomeCandidate();
    const term = kind === 'pre-vote' ? this.termValue + 1 : this.termValue;
    this.votesReceived.set(this.id, true);
    if (this.tallyVotes() === 'won') {
      this.wonElection(kind);
      return;
    }
    for (const to of this.voters) {
      if (to === this.id) continue;
      this.send({
        type: kind,
        from: this.id,
        to,
        term,
        lastLogIndex: this.log.lastIndex(),
        lastLogTerm: this.log.lastTerm(),
        transfer,
      });
    }
  }

  private wonElection(kind: 'pre-vote' | 'vote'): void {
    if (kind === 'pre-vote') this.campaign('vote', false);
    else this.becomeLeader();
  }

  private tallyVotes(): 'won' | 'lost' | 'pending' {
    let granted = 0;
    let rejected = 0;
    for (const g of this.votesReceived.values()) {
      if (g) granted++;
      else rejected++;
    }
    if (granted >= this.quorum()) return 'won';
    if (rejected > this.voters.length - this.quorum()) return 'lost';
    return 'pending';
  }

  // ---- Ticks --------------------------------------------------------------------------------------

  private tickElection(): void {
    this.electionElapsed++;
    if (this.electionElapsed >= this.randomizedElectionTimeout) {
      this.electionElapsed = 0;
      this.campaign(this.preVote ? 'pre-vote' : 'vote', false);
    }
  }

  private tickObserver(): void {
    this.electionElapsed++;
    if (this.electionElapsed >= this.electionTimeoutTicks) {
      // No word from a leader for a whole timeout: ask every voter to be replicated to.
      this.electionElapsed = 0;
      this.leaderValue = NO_NODE;
      for (const to of this.voters) this.send({ type: 'observe', from: this.id, to, term: this.termValue });
    }
  }

  private tickLeader(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    for (const pr of this.progress.values()) {
      pr.idleTicks++;
      if (pr.state === 'snapshot' && --pr.snapshotTicksLeft <= 0) pr.becomeProbe();
    }
    if (this.electionElapsed >= this.electionTimeoutTicks) {
      this.electionElapsed = 0;
      if (this.checkQuorum && !this.quorumActive()) {
        this.logger('n%d [term %d] stepping down: no word from a majority within the election timeout', this.id, this.termValue);
        this.becomeFollower(this.termValue, NO_NODE);
        return;
      }
      this.forgetIdleObservers();
      if (this.leadTransferee !== NO_NODE) {
        this.logger('n%d [term %d] leadership transfer to n%d timed out', this.id, this.termValue, this.leadTransferee);
        this.leadTransferee = NO_NODE;
      }
    }
    if (this.heartbeatElapsed >= this.heartbeatTicks) {
      this.heartbeatElapsed = 0;
      for (const pr of this.progress.values()) if (pr.id !== this.id) this.sendHeartbeat(pr);
    }
  }

  /** Counts voters heard from since the last round (ourselves included) and starts a new round. */
  private quorumActive(): boolean {
    let active = 0;
    for (const pr of this.progress.values()) {
      if (!pr.isVoter) continue;
      if (pr.id === this.id || pr.recentActive) active++;
      pr.recentActive = false;
    }
    return active >= this.quorum();
  }

  private forgetIdleObservers(): void {
    for (const pr of [...this.progress.values()]) {
      if (!pr.isVoter && pr.idleTicks > this.observerIdleTicksMax) this.progress.delete(pr.id);
    }
  }

  private inLease(): boolean {
    return this.checkQuorum && this.leaderValue !== NO_NODE && this.electionElapsed < this.electionTimeoutTicks;
  }

  private resetElectionTimer(): void {
    this.electionElapsed = 0;
    this.randomizedElectionTimeout = this.electionTimeoutTicks + this.random.int(this.electionTimeoutTicks);
  }

  // ---- Message handling ---------------------------------------------------------------------------

  private handleVoteRequest(m: VoteRequest): void {
    const responseType = m.type === 'vote' ? 'vote-response' : 'pre-vote-response';
    // We may vote for a candidate we already voted for, or when we have neither voted nor know a
    // leader in this term; a pre-vote for a future term is always allowed (it changes nothing).
    const canVote =
      this.voteValue === m.from ||
      (this.voteValue === NO_NODE && this.leaderValue === NO_NODE) ||
      (m.type === 'pre-vote' && m.term > this.termValue);
    const granted = canVote && !this.recoveringValue && this.isVoter(m.from) && this.log.isUpToDate(m.lastLogIndex, m.lastLogTerm);
    if (granted) {
      this.send({ type: responseType, from: this.id, to: m.from, term: m.term, granted: true });
      if (m.type === 'vote') {
        this.electionElapsed = 0;
        this.voteValue = m.from;
        this.logger('n%d [term %d] voted for n%d', this.id, this.termValue, m.from);
      }
    } else {
      this.send({ type: responseType, from: this.id, to: m.from, term: this.termValue, granted: false });
    }
  }

  private stepFollower(m: Message): void {
    switch (m.type) {
      case 'append':
        this.electionElapsed = 0;
        this.leaderValue = m.from;
        this.handleAppend(m);
        break;
      case 'heartbeat':
        this.electionElapsed = 0;
        this.leaderValue = m.from;
        this.handleHeartbeat(m);
        break;
      case 'snapshot':
        this.electionElapsed = 0;
        this.leaderValue = m.from;
        this.handleSnapshot(m);
        break;
      case 'timeout-now':
        this.logger('n%d [term %d] asked by n%d to take over leadership', this.id, this.termValue, m.from);
        this.campaign('vote', true);
        break;
      default:
        break;
    }
  }

  private stepCandidate(m: Message): void {
    switch (m.type) {
      case 'append':
      case 'heartbeat':
      case 'snapshot':
        // Someone won this term (m.term === our term here).
        this.becomeFollower(m.term, m.from);
        this.stepFollower(m);
        break;
      case 'vote-response':
      case 'pre-vote-response':
        this.handleVoteResponse(m);
        break;
      default:
        break;
    }
  }

  private handleVoteResponse(m: VoteResponse): void {
    const expected = this.roleValue === 'pre-candidate' ? 'pre-vote-response' : 'vote-response';
    if (m.type !== expected || !this.isVoter(m.from)) return;
    this.votesReceived.set(m.from, m.granted);
    const outcome = this.tallyVotes();
    if (outcome === 'won') this.wonElection(this.roleValue === 'pre-candidate' ? 'pre-vote' : 'vote');
    else if (outcome === 'lost') this.becomeFollower(this.termValue, NO_NODE);
  }

  private stepLeader(m: Message): void {
    switch (m.type) {
      case 'append-response': {
        const pr = this.progress.get(m.from);
        if (pr === undefined) return;
        pr.recentActive = true;
        pr.idleTicks = 0;
        this.handleAppendResponse(pr, m);
        break;
      }
      case 'heartbeat-response': {
        const pr = this.progress.get(m.from);
        if (pr === undefined) return;
        pr.recentActive = true;
        pr.idleTicks = 0;
        if (m.recovering === true && m.lastIndex < pr.matchIndex) {
          // It lost entries it acknowledged: its disk was wiped. Start over from its log end.
          pr.maybeDecrease(pr.nextIndex - 1, m.lastIndex + 1, true);
        }
        pr.onHeartbeatResponse();
        // An empty append still probes: if a pipelined append was lost, the follower rejects it and
        // the leader backs up and resends.
        if (pr.matchIndex < this.log.lastIndex()) this.sendAppend(pr.id, true);
        break;
      }
      case 'append':
      case 'heartbeat':
      case 'snapshot':
        assert(false, `n${this.id} leader of term ${this.termValue} got ${m.type} from n${m.from} in the same term`);
        break;
      default:
        break;
    }
  }

  private handleObserve(from: NodeId): void {
    if (this.roleValue !== 'leader' || this.isVoter(from)) return;
    let pr = this.progress.get(from);
    if (pr === undefined) {
      pr = new Progress(from, false, this.log.lastIndex(), this.inflightAppendsMax);
      this.progress.set(from, pr);
      this.logger('n%d [term %d] replicating to observer n%d', this.id, this.termValue, from);
    }
    pr.idleTicks = 0;
    pr.onHeartbeatResponse();
    this.sendAppend(from);
  }

  private handleAppend(m: AppendRequest): void {
    if (m.prevIndex < this.log.commitIndex) {
      // Everything up to our commit index matches any leader's log; say so and let it move on.
      this.respondAppend(m.from, this.log.commitIndex, false);
      return;
    }
    const lastNew = this.log.maybeAppend(m.prevIndex, m.prevTerm, m.commitIndex, m.entries);
    if (lastNew !== undefined) {
      this.respondAppend(m.from, lastNew, false);
      this.maybeFinishRecovery();
      return;
    }
    const hintIndex = this.log.findConflictByTerm(m.prevIndex, m.prevTerm);
    this.send({
      type: 'append-response',
      from: this.id,
      to: m.from,
      term: this.termValue,
      index: m.prevIndex,
      rejected: true,
      hintIndex,
      hintTerm: this.log.termAt(hintIndex) ?? 0,
      ...this.recoveringMark(),
    });
  }

  private recoveringMark(): { recovering?: true } {
    return this.recoveringValue ? { recovering: true } : {};
  }

  private handleHeartbeat(m: HeartbeatRequest): void {
    if (this.recoveringValue && this.recoveryTarget?.term !== this.termValue) {
      this.recoveryTarget = { term: this.termValue, index: m.leaderLastIndex };
    }
    if (m.commitIndex > this.log.commitIndex && this.log.matchTerm(m.commitIndex, m.commitTerm)) {
      this.log.commitTo(m.commitIndex);
    }
    this.maybeFinishRecovery();
    this.send({ type: 'heartbeat-response', from: this.id, to: m.from, term: this.termValue, lastIndex: this.log.lastIndex(), ...this.recoveringMark() });
  }

  private handleSnapshot(m: SnapshotRequest): void {
    const s = m.snapshot;
    if (s.index <= this.log.commitIndex) {
      this.respondAppend(m.from, this.log.commitIndex, false);
      return;
    }
    if (this.log.matchTerm(s.index, s.term)) {
      // We already hold everything the snapshot covers: just commit up to it.
      this.log.commitTo(s.index);
    } else {
      this.logger('n%d [term %d] installing snapshot at %d (term %d) from n%d', this.id, this.termValue, s.index, s.term, m.from);
      this.log.restore(s);
      this.pendingSnapshot = s;
    }
    this.respondAppend(m.from, s.index, false);
    this.maybeFinishRecovery();
  }

  private respondAppend(to: NodeId, index: LogIndex, rejected: boolean): void {
    this.send({ type: 'append-response', from: this.id, to, term: this.termValue, index, rejected, hintIndex: 0, hintTerm: 0 });
  }

  /**
   * A recovering voter rejoins elections once it has committed everything its leader held when they
   * first spoke in this term (`recoveryTarget`). Whatever the node acknowledged before its disk was
   * lost is in that leader's log: the leader sent it, or — elected while this node abstained — it won
   * the votes of a majority that overlaps every commit quorum in a node other than this one. The node
   * may have voted in this term before the loss, so it records a vote for itself: it grants none here.
   */
  private maybeFinishRecovery(): void {
    const target = this.recoveryTarget;
    if (
      this.recoveringValue &&
      target !== undefined &&
      target.term === this.termValue &&
      this.log.commitIndex >= target.index &&
      this.log.termAt(this.log.commitIndex) === this.termValue
    ) {
      this.recoveringValue = false;
      if (this.voteValue === NO_NODE) this.voteValue = this.id;
      this.logger('n%d [term %d] recovered: caught up to commit %d', this.id, this.termValue, this.log.commitIndex);
    }
  }

  private handleAppendResponse(pr: Progress, m: AppendResponse): void {
    if (m.rejected) {
      // Fast back-tracking: jump to the last index where our log's term is <= the follower's hint term.
      if (m.index === 0) return; // a notice of a higher term, not an answer to an append
      const probeNext = this.log.findConflictByTerm(m.hintIndex, m.hintTerm) + 1;
      // A recovering follower (wiped disk) may lack what it acknowledged before: start over from its
      // hint. From any other follower such a rejection is a reordered old one, and is ignored.
      const lostLog = m.recovering === true && m.index <= pr.matchIndex && m.hintIndex < pr.matchIndex;
      if (pr.maybeDecrease(m.index, probeNext, lostLog)) this.sendAppend(pr.id);
      return;
    }
    const wasPaused = pr.isPaused();
    const updated = pr.maybeUpdate(m.index);
    const current = m.index === pr.matchIndex; // answers our latest append, not an older one
    // A probe that was answered (even with nothing new, e.g. right after a snapshot) means we know
    // where the follower stands: stream to it.
    if (current && pr.state === 'probe') pr.becomeReplicate();
    else if (pr.state === 'snapshot' && pr.matchIndex >= pr.pendingSnapshotIndex) pr.becomeProbe();
    if (updated && pr.isVoter && this.maybeCommit()) this.broadcastAppend();
    else if ((wasPaused && !pr.isPaused()) || pr.nextIndex <= this.log.lastIndex()) this.sendAppend(pr.id);
    if (current && pr.id === this.leadTransferee && pr.matchIndex === this.log.lastIndex()) {
      this.send({ type: 'timeout-now', from: this.id, to: pr.id, term: this.termValue });
    }
  }

  // ---- Leader actions -----------------------------------------------------------------------------

  private appendOwn(type: EntryType, data: Uint8Array): Entry {
    const entry: Entry = { term: this.termValue, index: this.log.lastIndex() + 1, type, data };
    this.log.append([entry]);
    this.appendPending = true;
    return entry;
  }

  /**
   * Raft §5.3-5.4.2: the commit index is the highest index replicated on a quorum of voters — but
   * only an entry of the current term is committed by counting replicas.
   */
  private maybeCommit(): boolean {
    const matched: LogIndex[] = [];
    for (const pr of this.progress.values()) if (pr.isVoter) matched.push(pr.matchIndex);
    matched.sort((a, b) => b - a);
    const candidate = matched[this.quorum() - 1] ?? 0;
    if (candidate > this.log.commitIndex && this.log.termAt(candidate) === this.termValue) {
      return this.log.commitTo(candidate);
    }
    return false;
  }

  private broadcastAppend(): void {
    for (const pr of this.progress.values()) if (pr.id !== this.id) this.sendAppend(pr.id, true);
  }

  /**
   * Sends `to` the entries it lacks (or a snapshot when they are compacted). With `evenIfEmpty`, an
   * up-to-date follower still gets an empty append carrying the new commit index.
   */
  private sendAppend(to: NodeId, evenIfEmpty = false): void {
    const pr = this.progress.get(to);
    if (pr === undefined || pr.isPaused()) return;
    const prevIndex = pr.nextIndex - 1;
    const prevTerm = this.log.termAt(prevIndex);
    if (prevTerm === undefined) {
      this.sendSnapshot(pr);
      return;
    }
    const entries = pr.nextIndex <= this.log.lastIndex() ? this.log.slice(pr.nextIndex, this.log.lastIndex() + 1, this.appendBytesMax) : [];
    if (entries.length === 0 && !evenIfEmpty && pr.state === 'replicate') return;
    this.send({
      type: 'append',
      from: this.id,
      to,
      term: this.termValue,
      prevIndex,
      prevTerm,
      entries,
      commitIndex: this.log.commitIndex,
    });
    const last = entries[entries.length - 1];
    if (last !== undefined) pr.sentEntries(last.index);
    else if (pr.state === 'probe') pr.probeSent = true;
  }

  private sendSnapshot(pr: Progress): void {
    const snapshot = this.log.latestSnapshot();
    this.logger('n%d [term %d] sending snapshot at %d to n%d', this.id, this.termValue, snapshot.index, pr.id);
    pr.becomeSnapshot(snapshot.index, this.electionTimeoutTicks);
    this.send({ type: 'snapshot', from: this.id, to: pr.id, term: this.termValue, snapshot });
  }

  private sendHeartbeat(pr: Progress): void {
    const commitIndex = Math.min(pr.matchIndex, this.log.commitIndex);
    this.send({
      type: 'heartbeat',
      from: this.id,
      to: pr.id,
      term: this.termValue,
      commitIndex,
      commitTerm: this.log.termAt(commitIndex) ?? 0,
      leaderLastIndex: this.log.lastIndex(),
    });
  }

  private send(m: Message): void {
    this.messages.push(m);
  }
}

function sameHardState(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.recovering === b.recovering;
}
