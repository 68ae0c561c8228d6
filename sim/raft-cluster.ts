/**
 * A simulated controller quorum: voters and observers running the production `RaftNode` on one
 * scheduler, a simulated network and one simulated disk per machine. Faults are methods that read like
 * the failure they model (`crash`, `powerLoss`, `wipeDisk`, `pause`, `network.partition`, ...), so
 * scenario tests read like their source.
 *
 * What runs on each machine is a `SimProcess`: by default a bare `RaftNode` replicating a hash state
 * machine; `createProcess` substitutes another (the metadata simulation runs whole metadata nodes).
 *
 * Every random choice comes from streams forked off one seeded PRNG in a fixed order, so a seed and a
 * sequence of calls replay bit for bit.
 */
import { assert } from '../src/util/assert.js';
import { SeededRandom } from '../src/util/random.js';
import type { RaftCore, RaftOptions } from '../src/raft/raft-core.js';
import { RaftNode, type Committed } from '../src/raft/raft-node.js';
import type { RaftStorage } from '../src/raft/storage.js';
import { NO_NODE, type Message, type NodeId } from '../src/raft/types.js';
import type { LoggerFactory } from '../src/util/log.js';
import { HashStateMachine } from './hash-state-machine.js';
import { DEFAULT_PROFILE, SimNetwork } from './network.js';
import { RaftChecker, type CheckedNode } from './raft-checker.js';
import { Scheduler, type ScopedClock } from './scheduler.js';
import { SimDisk } from './sim-raft-storage.js';
import { Trace } from './trace.js';

/** Everything the simulator delivers: Raft messages, and whatever else a process kind exchanges. */
export type SimMessage = Message | { readonly type: `app:${string}`; readonly from: NodeId; readonly to: NodeId };

export function isRaftMessage(message: SimMessage): message is Message {
  return !message.type.startsWith('app:');
}

/** One running process on a simulated machine. */
export interface SimProcess {
  readonly raft: RaftNode;
  receive(message: SimMessage): void;
  /** kill -9: stop at once, timers and all. */
  crash(): void;
}

/** What a process is started with. */
export interface ProcessContext {
  readonly id: NodeId;
  readonly voters: readonly NodeId[];
  readonly clock: ScopedClock;
  readonly random: SeededRandom;
  readonly storage: RaftStorage;
  readonly send: (message: SimMessage) => void;
  readonly loggers: LoggerFactory;
  /** Raft options every process kind should pass on to its RaftNode. */
  readonly raft: {
    readonly tickMs: number;
    readonly electionTimeoutTicks: number;
    readonly preVote: boolean;
    readonly checkQuorum: boolean;
    readonly snapshotEntries: number;
    readonly snapshotTrailingEntries: number;
    readonly snapshotBytes?: number;
    readonly snapshotIntervalMs?: number;
    readonly recovering: boolean;
    readonly onFatal: (error: unknown) => void;
  };
}

export interface RaftClusterOptions {
  readonly seed: number;
  readonly voters: number;
  readonly observers?: number;
  readonly trace?: boolean;
  readonly preVote?: boolean;
  readonly checkQuorum?: boolean;
  readonly tickMs?: number;
  readonly electionTimeoutTicks?: number;
  readonly snapshotEntries?: number;
  readonly snapshotTrailingEntries?: number;
  readonly snapshotBytes?: number;
  readonly snapshotIntervalMs?: number;
  readonly diskLatencyMs?: { min: number; max: number };
  /** Replaces the Raft core (deliberately broken cores prove the checker works). */
  readonly createCore?: (options: RaftOptions, initial: ConstructorParameters<typeof RaftCore>[1]) => RaftCore;
  /** Replaces what runs on each machine (default: a RaftNode with a hash state machine). */
  readonly createProcess?: (context: ProcessContext) => Promise<SimProcess>;
  /** Hears every machine fault, so other simulated disks on the machine can suffer it too. */
  readonly onMachineFault?: (id: NodeId, fault: 'crash' | 'power-loss' | 'wipe') => void;
}

/** One simulated machine: its disk, its clock, and the process running on it (if any). */
export class SimMachine implements CheckedNode {
  process: SimProcess | undefined;
  incarnation = 0;
  /** Messages that arrived while the process was paused (SIGSTOP): delivered on resume. */
  readonly held: SimMessage[] = [];
  paused = false;
  /** Set after a disk wipe: the next start is a recovering voter. */
  recovering = false;

  constructor(
    readonly id: NodeId,
    readonly isVoter: boolean,
    readonly disk: SimDisk,
    readonly clock: ScopedClock,
    readonly stateMachine: () => HashStateMachine,
  ) {}

  /** The running Raft node, if the process is up. */
  get node(): RaftNode | undefined {
    return this.process?.raft;
  }

  core(): RaftCore | undefined {
    return this.node !== undefined && !this.node.isStopped ? this.node.inspect() : undefined;
  }

  /** Wiped and not yet caught up (see raft-core.ts, `recovering`). */
  get isRecovering(): boolean {
    return this.recovering || this.disk.durableHardState().recovering === true || (this.core()?.recovering ?? false);
  }

  get isUp(): boolean {
    return this.node !== undefined && !this.node.isStopped;
  }
}

export class RaftCluster {
  readonly scheduler: Scheduler;
  readonly network: SimNetwork<SimMessage>;
  readonly checker: RaftChecker;
  readonly trace: Trace;
  readonly machines = new Map<NodeId, SimMachine>();
  readonly voterIds: NodeId[];
  readonly observerIds: NodeId[];
  private readonly random: SeededRandom;
  private readonly nodeRandom: SeededRandom;
  private readonly options: RaftClusterOptions;
  private readonly machinesList: SimMachine[] = [];
  private readonly stateMachines = new Map<NodeId, HashStateMachine>();
  /** Network endpoints that are not machines (clients). */
  private readonly clients = new Map<NodeId, (message: SimMessage) => void>();

  constructor(options: RaftClusterOptions) {
    assert([1, 3, 5].includes(options.voters), 'voters must be 1, 3 or 5');
    this.options = options;
    this.random = new SeededRandom(options.seed);
    const netRandom = this.random.fork();
    const diskRandom = this.random.fork();
    this.nodeRandom = this.random.fork();
    this.scheduler = new Scheduler({ afterEvent: () => this.checker.afterEvent() });
    this.trace = new Trace(this.scheduler, options.trace ?? false);
    this.network = new SimNetwork<SimMessage>({
      scheduler: this.scheduler,
      random: netRandom,
      deliver: (m) => this.deliver(m),
      profile: DEFAULT_PROFILE,
    });
    this.voterIds = Array.from({ length: options.voters }, (_, i) => i + 1);
    this.observerIds = Array.from({ length: options.observers ?? 0 }, (_, i) => 101 + i);
    const quorum = Math.floor(options.voters / 2) + 1;
    this.checker = new RaftChecker(() => this.machinesList, () => this.scheduler.nowMs(), quorum);
    for (const id of [...this.voterIds, ...this.observerIds]) {
      const disk = new SimDisk({ clock: this.scheduler, random: diskRandom.fork(), writeLatencyMs: options.diskLatencyMs ?? { min: 0, max: 2 } });
      const machine = new SimMachine(id, this.voterIds.includes(id), disk, this.scheduler.clockFor(`n${id}`), () => this.stateMachineOf(id));
      disk.onDurable = (update) => this.checker.onDurable(machine, update);
      this.machines.set(id, machine);
      this.machinesList.push(machine);
    }
  }

  machine(id: NodeId): SimMachine {
    const m = this.machines.get(id);
    assert(m !== undefined, `no node ${id}`);
    return m;
  }

  /** Starts every machine's process. */
  async startAll(): Promise<void> {
    for (const m of this.machinesList) this.start(m.id);
    await this.scheduler.runUntil({ until: () => this.machinesList.every((x) => x.isUp) , untilMs: this.scheduler.nowMs() + 1000 });
  }

  /** Starts the process on machine `id` (loading its disk); it joins when the load completes. */
  start(id: NodeId): void {
    const m = this.machine(id);
    assert(!m.isUp, `n${id} is already running`);
    m.incarnation++;
    const incarnation = m.incarnation;
    const recovering = m.recovering;
    this.network.setDown(id, false);
    this.trace.event('n%d starting (incarnation %d%s)', id, incarnation, recovering ? ', recovering' : '');
    const context: ProcessContext = {
      id,
      voters: this.voterIds,
      clock: m.clock,
      random: this.nodeRandom.fork(),
      storage: m.disk.open(),
      send: (msg) => {
        if (!('type' in msg) || !msg.type.startsWith('app:')) this.checker.onSend(msg as Message);
        this.network.send(msg);
      },
      loggers: this.trace.loggersFor(),
      raft: {
        tickMs: this.options.tickMs ?? 100,
        electionTimeoutTicks: this.options.electionTimeoutTicks ?? 10,
        preVote: this.options.preVote ?? true,
        checkQuorum: this.options.checkQuorum ?? true,
        snapshotEntries: this.options.snapshotEntries ?? 200,
        snapshotTrailingEntries: this.options.snapshotTrailingEntries ?? 0,
        ...(this.options.snapshotBytes !== undefined ? { snapshotBytes: this.options.snapshotBytes } : {}),
        ...(this.options.snapshotIntervalMs !== undefined ? { snapshotIntervalMs: this.options.snapshotIntervalMs } : {}),
        recovering,
        onFatal: (error) => {
          const message = error instanceof Error ? error.message : String(error);
          this.trace.event('n%d crashed: %s', id, message);
          // A full disk is an operational failure; anything else (a failed assertion) is a bug.
          if (message !== 'disk full') this.checker.violations.push(`t=${this.scheduler.nowMs()}ms n${id} failed: ${message}`);
          if (m.incarnation === incarnation) this.crash(id);
        },
      },
    };
    const starting = (this.options.createProcess ?? ((ctx: ProcessContext) => this.startRaftProcess(ctx, m)))(context);
    starting.then(
      (process) => {
        if (m.incarnation !== incarnation) {
          process.crash();
          return;
        }
        m.process = process;
        m.recovering = false; // the node made it durable before it started
      },
      (error: unknown) => {
        // A crash while loading leaves the load pending forever. A full disk stops the start like
        // any other write; anything else is a bug.
        const message = error instanceof Error ? error.message : String(error);
        if (message !== 'disk full') this.checker.violations.push(`n${id} failed to start: ${message}`);
        this.trace.event('n%d failed to start: %s', id, message);
        if (m.incarnation === incarnation) this.crash(id);
      },
    );
  }

  /** The default process: a RaftNode replicating a hash state machine. */
  private async startRaftProcess(ctx: ProcessContext, m: SimMachine): Promise<SimProcess> {
    const sm = new HashStateMachine((entry) => this.checker.onApply(m, entry));
    this.stateMachines.set(ctx.id, sm);
    const raft = await RaftNode.start({
      ...ctx.raft,
      id: ctx.id,
      voters: ctx.voters,
      random: ctx.random,
      clock: ctx.clock,
      storage: ctx.storage,
      send: ctx.send,
      stateMachine: sm,
      loggers: ctx.loggers,
      ...(this.options.createCore !== undefined ? { createCore: this.options.createCore } : {}),
    });
    return { raft, receive: (msg) => raft.receive(msg as Message), crash: () => raft.crash() };
  }

  /** kill -9: the process dies; an in-flight disk write is lost, or torn. */
  crash(id: NodeId, tornWrite = false, powerLoss = false): void {
    const m = this.machine(id);
    this.trace.event('n%d crash%s', id, tornWrite ? ' (torn write)' : '');
    this.options.onMachineFault?.(id, powerLoss ? 'power-loss' : 'crash');
    m.process?.crash();
    m.process = undefined;
    m.incarnation++;
    m.clock.cancelAll();
    m.clock.resume();
    m.paused = false;
    m.held.length = 0;
    m.disk.crash({ tornWrite });
    this.network.setDown(id, true);
  }

  /** Power loss on several machines at once: every in-flight write is lost or torn. */
  powerLoss(ids: readonly NodeId[]): void {
    this.trace.event('power loss on %s', ids.map((i) => `n${i}`).join(' '));
    for (const id of ids) this.crash(id, true, true);
  }

  /** The machine's disk is replaced by an empty one; the node restarts as a recovering voter. */
  wipeDisk(id: NodeId): void {
    const m = this.machine(id);
    this.trace.event('n%d disk wiped', id);
    if (m.isUp) this.crash(id);
    m.disk.wipe();
    this.options.onMachineFault?.(id, 'wipe');
    this.checker.onWipe(m);
    m.recovering = m.isVoter;
  }

  /** SIGSTOP: timers and incoming messages wait until `resume`. */
  pause(id: NodeId): void {
    const m = this.machine(id);
    if (!m.isUp || m.paused) return;
    this.trace.event('n%d paused', id);
    m.paused = true;
    m.clock.pause();
  }

  resume(id: NodeId): void {
    const m = this.machine(id);
    if (!m.paused) return;
    this.trace.event('n%d resumed', id);
    m.paused = false;
    m.clock.resume();
    const held = m.held.splice(0);
    for (const msg of held) m.process?.receive(msg);
  }

  /** Restarts every stopped machine, resumes paused ones, heals the network (links and profile) and disks. */
  healAll(): void {
    this.trace.event('heal all');
    this.network.heal();
    // A lossy-network fault is undone by a timer that may not have fired before the faults stopped.
    this.network.setProfile(DEFAULT_PROFILE);
    for (const m of this.machinesList) {
      m.disk.full = false;
      m.clock.rate = 1;
      if (m.paused) this.resume(m.id);
      if (!m.isUp && !this.isStarting(m)) this.start(m.id);
    }
  }

  private isStarting(m: SimMachine): boolean {
    return m.process === undefined && !this.network.isDown(m.id);
  }

  /** The leader with the highest term among running nodes, if any. */
  leader(): NodeId | undefined {
    let best: { id: NodeId; term: number } | undefined;
    for (const m of this.machinesList) {
      const core = m.core();
      if (core !== undefined && core.role === 'leader' && (best === undefined || core.term > best.term)) best = { id: m.id, term: core.term };
    }
    return best?.id;
  }

  /** Proposes through node `id`; the checker learns of every acknowledgement. */
  propose(id: NodeId, data: Uint8Array): Promise<Committed> {
    const node = this.machine(id).node;
    if (node === undefined) return Promise.reject(new Error(`n${id} is down`));
    return node.propose(data).then((c) => {
      this.checker.onAcknowledged(c.index, c.term, data);
      return c;
    });
  }

  stateMachineOf(id: NodeId): HashStateMachine {
    const sm = this.stateMachines.get(id);
    assert(sm !== undefined, `n${id} never started`);
    return sm;
  }

  /** Runs until `until` holds or `ms` of virtual time pass; returns whether `until` held. */
  async runFor(ms: number, until?: () => boolean): Promise<boolean> {
    const result = await this.scheduler.runUntil({ untilMs: this.scheduler.nowMs() + ms, ...(until !== undefined ? { until } : {}) });
    return result.reason === 'until';
  }

  /**
   * Liveness: every machine is up, one leader leads every voter's term, and all nodes have applied
   * the same commit index as the leader.
   */
  converged(): boolean {
    const leaderId = this.leader();
    if (leaderId === undefined) return false;
    const leader = this.machine(leaderId).core() as RaftCore;
    const commit = leader.log.commitIndex;
    if (leader.log.termAt(commit) !== leader.term) return false;
    for (const m of this.machinesList) {
      const core = m.core();
      if (core === undefined || m.paused) return false;
      if (core.term !== leader.term || core.leader !== leaderId) return false;
      if (core.log.commitIndex !== commit || core.log.appliedIndex !== commit) return false;
    }
    return true;
  }

  /** A client endpoint on the simulated network (it never crashes or pauses). */
  addClient(id: NodeId, receive: (message: SimMessage) => void): void {
    assert(!this.machines.has(id) && !this.clients.has(id), `id ${id} is taken`);
    this.clients.set(id, receive);
  }

  private deliver(msg: SimMessage): void {
    const client = this.clients.get(msg.to);
    if (client !== undefined) {
      client(msg);
      return;
    }
    const m = this.machines.get(msg.to);
    if (m === undefined || m.process === undefined) return;
    if (m.paused) {
      if (m.held.length < 10_000) m.held.push(msg);
      return;
    }
    m.process.receive(msg);
  }

  /** For status lines: role/term/commit of each node. */
  describe(): string {
    return this.machinesList
      .map((m) => {
        const c = m.core();
        if (c === undefined) return `n${m.id}:down`;
        return `n${m.id}:${c.role[0]}${c.term}/${c.log.commitIndex}${c.leader === NO_NODE ? '' : `@${c.leader}`}`;
      })
      .join(' ');
  }
}
