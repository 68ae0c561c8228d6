/**
 * The thin asynchronous shell around `RaftCore`: it ticks the core on the injected clock, feeds it
 * messages, and runs the Ready loop — persist, then send, then apply — one batch at a time. Everything
 * that reaches the world goes through injected ports (Clock, RaftStorage, `send`), so the simulator
 * runs exactly this code.
 *
 * Duties, in order, for each Ready (see raft-core.ts):
 *   1. `storage.save` of hard state + snapshot + entries, awaited (durable) before anything else;
 *   2. send the messages;
 *   3. restore the state machine from a received snapshot, then apply committed entries in order and
 *      settle the proposals they answer;
 *   4. `core.advance`, then maybe take a local snapshot and compact the log behind it.
 * Proposals made while a batch is being persisted ride in the next batch: that is the group commit.
 *
 * A failing storage write is fatal: the node stops and reports it through `onFatal`.
 */
import { assert } from '../util/assert.js';
import type { CancelTimer, Clock } from '../util/clock.js';
import type { LoggerFactory } from '../util/log.js';
import {
  LeadershipLostError,
  NodeStoppedError,
  NotLeaderError,
  ProposalDroppedError,
  QuorumOverloadedError,
  type RaftError,
} from './errors.js';
import { RaftCore, type RaftOptions, type RaftStatus, type Ready } from './raft-core.js';
import type { RaftStorage } from './storage.js';
import type { Entry, LogIndex, Message, NodeId, Role, Snapshot, Term } from './types.js';

/** The replicated state machine. Calls come from the node loop, one at a time, in log order. */
export interface StateMachine {
  /** Applies one committed entry (commands and leader-change markers alike). */
  apply(entry: Entry): void;
  /** The state after the last applied entry, serialized. */
  snapshot(): Uint8Array;
  /** Replaces the whole state with a snapshot's (a snapshot from storage at start, or from the leader). */
  restore(snapshot: Snapshot): void;
}

export interface RaftNodeOptions extends Omit<RaftOptions, 'logger' | 'random'> {
  readonly random: RaftOptions['random'];
  readonly clock: Clock;
  readonly storage: RaftStorage;
  /** Hands a message to the transport; best effort, must not call back into this node synchronously. */
  readonly send: (message: Message) => void;
  readonly stateMachine: StateMachine;
  readonly loggers: LoggerFactory;
  /** Milliseconds per tick. Default 100 (with 10 ticks per election timeout: Kafka's 1000 ms). */
  readonly tickMs?: number;
  /** Take a snapshot after this many entries since the last one. Default 10,000. */
  readonly snapshotEntries?: number;
  /** ...or after this many bytes of entry data. Default 16 MiB. */
  readonly snapshotBytes?: number;
  /** ...or after this long, when anything was applied. Default 1 hour. */
  readonly snapshotIntervalMs?: number;
  /** Entries kept in memory behind a snapshot for followers slightly behind. Default 1,000. */
  readonly snapshotTrailingEntries?: number;
  /** Called once when a storage failure or an assertion stops the node. */
  readonly onFatal?: (error: unknown) => void;
  /** Called after every input that changed the role, term or known leader. */
  readonly onRoleChange?: (status: { role: Role; term: Term; leader: NodeId }) => void;
  /** Builds the core; tests substitute deliberately broken cores to prove the simulator catches them. */
  readonly createCore?: (options: RaftOptions, initial: ConstructorParameters<typeof RaftCore>[1]) => RaftCore;
}

export interface Committed {
  readonly index: LogIndex;
  readonly term: Term;
}

interface PendingProposal extends Committed {
  resolve(result: Committed): void;
  reject(error: RaftError): void;
}

export class RaftNode {
  readonly id: NodeId;
  private readonly core: RaftCore;
  private readonly options: RaftNodeOptions;
  private readonly tickMs: number;
  private readonly pending = new Map<LogIndex, PendingProposal>();
  private cancelTick: CancelTimer = () => {};
  private looping = false;
  private kicked = false;
  private stopped = false;
  private loopIdle: Promise<void> = Promise.resolve();
  private lastRole: { role: Role; term: Term; leader: NodeId };
  /** The last index the state machine really holds (the core's may run ahead while a snapshot waits). */
  private stateMachineIndex: LogIndex;
  private entriesSinceSnapshot = 0;
  private bytesSinceSnapshot = 0;
  private lastSnapshotMs: number;

  private constructor(options: RaftNodeOptions, core: RaftCore) {
    this.id = options.id;
    this.options = options;
    this.core = core;
    this.tickMs = options.tickMs ?? 100;
    this.lastRole = { role: core.role, term: core.term, leader: core.leader };
    this.lastSnapshotMs = options.clock.nowMs();
    this.stateMachineIndex = core.log.snapshotIndex;
  }

  /** Loads durable state, restores the state machine from the stored snapshot, and starts ticking. */
  static async start(options: RaftNodeOptions): Promise<RaftNode> {
    let stored = await options.storage.load();
    if (options.recovering === true && stored.hardState.recovering !== true && options.voters.includes(options.id)) {
      // Durable before anything else: a crash during recovery must not end it.
      const hardState = { ...stored.hardState, recovering: true } as const;
      await options.storage.save({ hardState });
      stored = { ...stored, hardState };
    }
    const logger = options.loggers('skein:raft');
    const coreOptions: RaftOptions = { ...options, logger };
    const core = options.createCore?.(coreOptions, stored) ?? new RaftCore(coreOptions, stored);
    if (stored.snapshot !== undefined) options.stateMachine.restore(stored.snapshot);
    const node = new RaftNode(options, core);
    node.scheduleTick();
    return node;
  }

  /** Delivers a message from the transport. */
  receive(message: Message): void {
    if (this.stopped || message.to !== this.id) return;
    this.input(() => this.core.step(message));
  }

  /**
   * Proposes `data` for the log. Resolves with its index and term once committed and applied on this
   * node; rejects with NotLeaderError (with a hint), QuorumOverloadedError, LeadershipLostError
   * (outcome unknown), ProposalDroppedError or NodeStoppedError.
   */
  propose(data: Uint8Array): Promise<Committed> {
    if (this.stopped) return Promise.reject(new NodeStoppedError());
    let result: ReturnType<RaftCore['propose']>;
    try {
      result = this.core.propose(data);
    } catch (error) {
      this.fatal(error);
      return Promise.reject(new NodeStoppedError());
    }
    if (!result.ok) {
      if (result.reason === 'overloaded') return Promise.reject(new QuorumOverloadedError());
      const why = result.reason === 'transferring' ? 'leadership is being transferred' : 'not the leader';
      return Promise.reject(new NotLeaderError(result.leaderHint, why));
    }
    this.kick();
    return new Promise<Committed>((resolve, reject) => {
      this.pending.set(result.index, { index: result.index, term: result.term, resolve, reject });
    });
  }

  /** Hands leadership to a caught-up voter (controlled shutdown). Returns the successor or 0. */
  transferLeadership(target?: NodeId): NodeId {
    if (this.stopped) return 0;
    let to = 0;
    this.input(() => {
      to = this.core.transferLeadership(target);
    });
    return to;
  }

  /**
   * Controlled shutdown of a leader: hands leadership over and waits until this node is no longer
   * leader, or `timeoutMs` passed. Resolves with whether leadership moved.
   */
  async resignLeadership(timeoutMs: number): Promise<boolean> {
    if (this.stopped || this.core.role !== 'leader') return true;
    if (this.transferLeadership() === 0) return false;
    const deadline = this.options.clock.nowMs() + timeoutMs;
    while (!this.stopped && this.core.role === 'leader' && this.options.clock.nowMs() < deadline) {
      await new Promise<void>((resolve) => this.options.clock.setTimer(this.tickMs, resolve));
    }
    return this.core.role !== 'leader';
  }

  status(): RaftStatus {
    return this.core.status();
  }

  /** The core, read-only, for invariant checkers. */
  inspect(): RaftCore {
    return this.core;
  }

  get isStopped(): boolean {
    return this.stopped;
  }

  /** Stops ticking and the loop, fails pending proposals, and closes the storage. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.halt();
    await this.loopIdle;
    await this.options.storage.close();
  }

  /**
   * Simulated crash: stop at once, without waiting for in-flight writes or closing storage (the
   * simulator's disk decides what survived).
   */
  crash(): void {
    this.halt();
  }

  private halt(): void {
    this.stopped = true;
    this.cancelTick();
    this.failPending(() => new NodeStoppedError());
  }

  private scheduleTick(): void {
    this.cancelTick = this.options.clock.setTimer(this.tickMs, () => {
      if (this.stopped) return;
      this.input(() => this.core.tick());
      this.scheduleTick();
    });
  }

  /** Runs one input against the core, then reacts to role changes and schedules the loop. */
  private input(fn: () => void): void {
    try {
      fn();
    } catch (error) {
      this.fatal(error);
      return;
    }
    this.noticeRoleChange();
    if (this.core.hasReady()) this.kick();
  }

  private noticeRoleChange(): void {
    const now = { role: this.core.role, term: this.core.term, leader: this.core.leader };
    const before = this.lastRole;
    if (now.role === before.role && now.term === before.term && now.leader === before.leader) return;
    this.lastRole = now;
    if (before.role === 'leader' && now.role !== 'leader') {
      // Entries already committed will still be applied and resolve; the rest have unknown outcomes.
      const log = this.core.log;
      for (const [index, p] of this.pending) {
        if (index <= log.commitIndex && log.termAt(index) === p.term) continue;
        this.pending.delete(index);
        p.reject(new LeadershipLostError(index));
      }
    }
    this.options.onRoleChange?.(now);
  }

  /**
   * Schedules the Ready loop in a promise job, so that all proposals of this turn share one batch.
   * (A promise job rather than queueMicrotask: the simulator tracks outstanding work by promise hooks.)
   */
  private kick(): void {
    if (this.kicked || this.looping || this.stopped) return;
    this.kicked = true;
    void Promise.resolve().then(() => {
      this.kicked = false;
      if (this.looping || this.stopped) return;
      this.looping = true;
      this.loopIdle = this.loop().finally(() => {
        this.looping = false;
      });
    });
  }

  private async loop(): Promise<void> {
    try {
      while (!this.stopped && this.core.hasReady()) {
        const rd = this.core.ready();
        // A leader's replication messages may leave before its own write is durable (Raft thesis
        // §10.2.1): its log counts toward the commit only after `advance`, and its term was made
        // durable before it could become leader. Everything else waits for the write.
        const early = rd.hardState === undefined ? rd.messages.filter(isLeaderReplication) : [];
        for (const m of early) this.options.send(m);
        await this.persist(rd);
        if (this.stopped) return;
        for (const m of rd.messages) if (!isLeaderReplication(m) || rd.hardState !== undefined) this.options.send(m);
        if (rd.snapshot !== undefined) {
          this.options.stateMachine.restore(rd.snapshot);
          this.stateMachineIndex = rd.snapshot.index;
          this.settleCoveredBySnapshot(rd.snapshot.index);
          this.entriesSinceSnapshot = 0;
          this.bytesSinceSnapshot = 0;
        }
        for (const entry of rd.committed) this.applyEntry(entry);
        this.core.advance(rd);
        this.noticeRoleChange();
        await this.maybeSnapshot();
      }
    } catch (error) {
      this.fatal(error);
    }
  }

  private async persist(rd: Ready): Promise<void> {
    if (rd.hardState === undefined && rd.snapshot === undefined && rd.entries.length === 0) return;
    await this.options.storage.save({
      ...(rd.hardState !== undefined ? { hardState: rd.hardState } : {}),
      ...(rd.snapshot !== undefined ? { snapshot: rd.snapshot, discardLog: true } : {}),
      entries: rd.entries,
    });
  }

  private applyEntry(entry: Entry): void {
    this.options.stateMachine.apply(entry);
    this.stateMachineIndex = entry.index;
    this.entriesSinceSnapshot++;
    this.bytesSinceSnapshot += entry.data.length;
    const p = this.pending.get(entry.index);
    if (p === undefined) return;
    this.pending.delete(entry.index);
    if (p.term === entry.term) p.resolve({ index: p.index, term: p.term });
    else p.reject(new ProposalDroppedError(entry.index));
  }

  private async maybeSnapshot(): Promise<void> {
    const log = this.core.log;
    // Snapshot what the state machine really holds; not while a leader's snapshot is on its way in.
    const index = this.stateMachineIndex;
    if (index <= log.snapshotIndex || index !== log.appliedIndex) return;
    const due =
      this.entriesSinceSnapshot >= (this.options.snapshotEntries ?? 10_000) ||
      this.bytesSinceSnapshot >= (this.options.snapshotBytes ?? 16 << 20) ||
      this.options.clock.nowMs() - this.lastSnapshotMs >= (this.options.snapshotIntervalMs ?? 3_600_000);
    if (!due) return;
    const term = log.termAt(index);
    assert(term !== undefined, `no term for applied index ${index}`);
    const snapshot: Snapshot = { index, term, data: this.options.stateMachine.snapshot() };
    await this.options.storage.save({ snapshot });
    if (this.stopped) return;
    this.core.compact(snapshot, this.options.snapshotTrailingEntries ?? 1000);
    this.entriesSinceSnapshot = 0;
    this.bytesSinceSnapshot = 0;
    this.lastSnapshotMs = this.options.clock.nowMs();
  }

  /**
   * Proposals a received snapshot covers will never be applied one by one. Only proposals already
   * known committed in their own term survive a step-down (noticeRoleChange), so they resolve.
   */
  private settleCoveredBySnapshot(snapshotIndex: LogIndex): void {
    for (const [index, p] of this.pending) {
      if (index > snapshotIndex) continue;
      this.pending.delete(index);
      p.resolve({ index: p.index, term: p.term });
    }
  }

  private failPending(makeError: (index: LogIndex) => RaftError): void {
    for (const [index, p] of this.pending) p.reject(makeError(index));
    this.pending.clear();
  }

  private fatal(error: unknown): void {
    if (this.stopped) return;
    this.halt();
    this.options.loggers('skein:raft')('n%d stopped by a fatal error: %s', this.id, error instanceof Error ? error.message : String(error));
    this.options.onFatal?.(error);
  }
}

function isLeaderReplication(m: Message): boolean {
  return m.type === 'append' || m.type === 'heartbeat' || m.type === 'snapshot';
}
