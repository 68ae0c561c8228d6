/**
 * A tiny deterministic, synchronous cluster of `RaftCore`s for unit tests (after etcd-io/raft's
 * `network` in raft_test.go). No timers, no I/O: time is `tick()`, the network is an array.
 *
 * Each round of `stabilize()` drains every live core's Ready — persisting it instantly into an
 * in-memory store, applying committed entries to a list-of-strings state machine, then `advance()` —
 * and delivers the collected messages through the drop filters. Rounds repeat until no core has work
 * and no message is in flight.
 *
 * Invariants checked after every Ready (a violation throws, naming the seed):
 * - SingleLeader: at most one leader per term;
 * - ConsistentCommittedData: every node applies the same entry at each index.
 *
 * The state machine's snapshot format is the JSON of its applied command strings.
 */
import type { InitialState, ProposeResult, RaftOptions, Ready } from '../../src/raft/raft-core.js';
import { RaftCore } from '../../src/raft/raft-core.js';
import { EntryType } from '../../src/raft/types.js';
import type { Entry, HardState, Message, NodeId, Snapshot, Term } from '../../src/raft/types.js';
import { SeededRandom } from '../../src/util/random.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export const noopLogger = (): void => {};

export function encode(text: string): Uint8Array {
  return encoder.encode(text);
}

export function decode(data: Uint8Array): string {
  return decoder.decode(data);
}

/** A command entry; `data` defaults to `"<index>@<term>"`. */
export function entry(index: number, term: Term, data = `${index}@${term}`): Entry {
  return { index, term, type: EntryType.Command, data: encode(data) };
}

/** A log from its terms: `logOfTerms(1, 1, 2)` is [1@1, 2@1, 3@2]. */
export function logOfTerms(...terms: Term[]): Entry[] {
  return terms.map((term, i) => entry(i + 1, term));
}

/** `count` entries of one term starting at `from`. */
export function run(from: number, count: number, term: Term): Entry[] {
  const out: Entry[] = [];
  for (let i = 0; i < count; i++) out.push(entry(from + i, term));
  return out;
}

export function initialState(term: Term, entries: readonly Entry[] = [], vote: NodeId = 0, snapshot?: Snapshot): InitialState {
  return { hardState: { term, vote }, snapshot, entries };
}

export const EMPTY: InitialState = initialState(0);

export type CoreOptions = Partial<Omit<RaftOptions, 'id' | 'voters' | 'random' | 'logger'>>;

/** One core outside any cluster, with the test defaults (10-tick election timeout, 1-tick heartbeat). */
export function newCore(id: NodeId, voters: readonly NodeId[], initial: InitialState = EMPTY, options: CoreOptions = {}, seed = 1): RaftCore {
  return new RaftCore(
    { id, voters, random: new SeededRandom(seed * 1009 + id), logger: noopLogger, electionTimeoutTicks: 10, heartbeatTicks: 1, ...options },
    initial,
  );
}

/** Runs a lone core's Ready loop (instant persistence) and returns the messages it would send. */
export function drain(core: RaftCore): Message[] {
  const out: Message[] = [];
  for (let i = 0; core.hasReady(); i++) {
    if (i > 1000) throw new Error(`n${core.id} never ran out of Ready`);
    const rd = core.ready();
    out.push(...rd.messages);
    core.advance(rd);
  }
  return out;
}

/** Steps one message into a lone core and returns what it sends in reply. */
export function stepAndDrain(core: RaftCore, m: Message): Message[] {
  drain(core);
  core.step(m);
  return drain(core);
}

interface Store {
  hardState: HardState;
  snapshot: Snapshot | undefined;
  entries: Entry[];
}

export type DropFilter = (m: Message) => boolean;

export interface ClusterOptions {
  readonly voters: readonly NodeId[];
  readonly observers?: readonly NodeId[];
  readonly seed?: number;
  /** Options for every core. */
  readonly options?: CoreOptions;
  /** Per-node options, on top of `options`. */
  readonly nodeOptions?: Readonly<Record<number, CoreOptions>>;
  /** Per-node durable state at start (default: empty). */
  readonly initial?: Readonly<Record<number, InitialState>>;
}

export class Cluster {
  readonly seed: number;
  readonly voters: readonly NodeId[];
  readonly ids: readonly NodeId[];
  /** Live cores; a stopped node is absent and messages to it are lost. */
  readonly cores = new Map<NodeId, RaftCore>();
  /** Every message handed to a core, in delivery order. */
  readonly delivered: Message[] = [];
  /** Every message a core sent (delivered or dropped). */
  readonly sent: Message[] = [];

  private readonly stores = new Map<NodeId, Store>();
  private readonly applied = new Map<NodeId, string[]>();
  private readonly appliedEntries = new Map<NodeId, Entry[]>();
  private readonly filters = new Set<DropFilter>();
  private readonly random: SeededRandom;
  private readonly options: ClusterOptions;
  /** index -> the entry some node applied there (ConsistentCommittedData). */
  private readonly committedByIndex = new Map<number, Entry>();
  /** term -> its leader (SingleLeader). */
  private readonly leaderByTerm = new Map<Term, NodeId>();

  constructor(options: ClusterOptions) {
    this.options = options;
    this.seed = options.seed ?? 1;
    this.voters = options.voters;
    this.ids = [...options.voters, ...(options.observers ?? [])];
    this.random = new SeededRandom(this.seed);
    for (const id of this.ids) {
      const initial = options.initial?.[id] ?? EMPTY;
      this.stores.set(id, { hardState: initial.hardState, snapshot: initial.snapshot, entries: [...initial.entries] });
      this.start(id, initial, {});
    }
  }

  core(id: NodeId): RaftCore {
    const core = this.cores.get(id);
    if (core === undefined) throw new Error(`n${id} is not running`);
    return core;
  }

  // ---- Network ------------------------------------------------------------------------------------

  /** Drops every message matching `filter` until `heal()` or the returned function is called. */
  drop(filter: DropFilter): () => void {
    this.filters.add(filter);
    return () => this.filters.delete(filter);
  }

  /** Cuts `id` off from everyone. */
  isolate(id: NodeId): void {
    this.drop((m) => m.from === id || m.to === id);
  }

  /** Only nodes in the same group talk to each other; nodes in no group talk to nobody. */
  partition(...groups: NodeId[][]): void {
    const groupOf = new Map<NodeId, number>();
    groups.forEach((g, i) => g.forEach((id) => groupOf.set(id, i)));
    this.drop((m) => groupOf.get(m.from) === undefined || groupOf.get(m.from) !== groupOf.get(m.to));
  }

  heal(): void {
    this.filters.clear();
  }

  /** Crashes a node: its core is gone; its store (what it persisted) survives. */
  stop(id: NodeId): void {
    this.cores.delete(id);
  }

  /** Starts a node again from its store, or from an empty disk with `wipe`. */
  restart(id: NodeId, opts: { wipe?: boolean; recovering?: boolean } = {}): RaftCore {
    if (opts.wipe === true) this.stores.set(id, { hardState: { term: 0, vote: 0 }, snapshot: undefined, entries: [] });
    const store = this.stores.get(id) as Store;
    return this.start(id, { hardState: store.hardState, snapshot: store.snapshot, entries: [...store.entries] }, opts.recovering === true ? { recovering: true } : {});
  }

  // ---- Time ---------------------------------------------------------------------------------------

  /** Runs Ready loops and deliveries until nothing moves. */
  stabilize(roundsMax = 10_000): void {
    let outbox: Message[] = [];
    for (let round = 0; ; round++) {
      if (round > roundsMax) throw new Error(`cluster did not settle within ${roundsMax} rounds (reproduce with seed=${this.seed})`);
      for (const [id, core] of this.cores) {
        for (let i = 0; core.hasReady(); i++) {
          if (i > 1000) throw new Error(`n${id} never ran out of Ready (seed=${this.seed})`);
          const rd = core.ready();
          this.persist(id, rd);
          this.apply(id, rd);
          core.advance(rd);
          outbox.push(...rd.messages);
          this.sent.push(...rd.messages);
        }
        this.checkSingleLeader(core);
      }
      if (outbox.length === 0) return;
      const batch = outbox;
      outbox = [];
      for (const m of batch) {
        if ([...this.filters].some((f) => f(m))) continue;
        const to = this.cores.get(m.to);
        if (to === undefined) continue;
        this.delivered.push(m);
        to.step(m);
      }
    }
  }

  /** `n` ticks of every live core (or of `only`), settling the cluster after each. */
  tick(n = 1, only?: readonly NodeId[]): void {
    for (let i = 0; i < n; i++) {
      for (const [id, core] of this.cores) if (only === undefined || only.includes(id)) core.tick();
      this.stabilize();
    }
  }

  /** Ticks until some live core leads, and returns the leader of the highest term. */
  electLeader(ticksMax = 500): NodeId {
    this.stabilize();
    for (let i = 0; i <= ticksMax; i++) {
      const leader = this.leader();
      if (leader !== undefined) return leader;
      this.tick();
    }
    throw new Error(`no leader within ${ticksMax} ticks (reproduce with seed=${this.seed})`);
  }

  /** Makes `id` campaign now, as a leader's timeout-now would (it skips pre-vote and the lease). */
  campaign(id: NodeId): void {
    const core = this.core(id);
    core.step({ type: 'timeout-now', from: id, to: id, term: core.term });
    this.stabilize();
  }

  /** The leader of the highest term among live cores, if any. */
  leader(): NodeId | undefined {
    let best: RaftCore | undefined;
    for (const core of this.cores.values()) {
      if (core.role === 'leader' && (best === undefined || core.term > best.term)) best = core;
    }
    return best?.id;
  }

  /** Every live core that believes it leads. */
  leaders(): NodeId[] {
    return [...this.cores.values()].filter((c) => c.role === 'leader').map((c) => c.id);
  }

  propose(id: NodeId, text: string): ProposeResult {
    const result = this.core(id).propose(encode(text));
    this.stabilize();
    return result;
  }

  /** The commands node `id` has applied, in order (leader-change markers left out). */
  appliedLog(id: NodeId): string[] {
    return [...(this.applied.get(id) ?? [])];
  }

  /** Every entry node `id` applied since it (re)started, markers included. */
  appliedEntriesOf(id: NodeId): Entry[] {
    return [...(this.appliedEntries.get(id) ?? [])];
  }

  /** Takes a local snapshot of `id` at its applied index and compacts its log behind it. */
  compact(id: NodeId): Snapshot {
    const core = this.core(id);
    const index = core.log.appliedIndex;
    const snapshot: Snapshot = { index, term: core.log.termAt(index) as Term, data: encode(JSON.stringify(this.appliedLog(id))) };
    const store = this.stores.get(id) as Store;
    store.snapshot = snapshot;
    store.entries = store.entries.filter((e) => e.index > index);
    core.compact(snapshot);
    return snapshot;
  }

  /** Messages of `type` sent from `from` to `to` (delivered or not), optionally since a mark. */
  sentOf(type: Message['type'], from: NodeId, to: NodeId, sinceIndex = 0): Message[] {
    return this.sent.slice(sinceIndex).filter((m) => m.type === type && m.from === from && m.to === to);
  }

  /** The durable log of `id` (what it would restart with). */
  storedEntries(id: NodeId): Entry[] {
    return [...(this.stores.get(id) as Store).entries];
  }

  // ---- Internals ----------------------------------------------------------------------------------

  private start(id: NodeId, initial: InitialState, extra: CoreOptions): RaftCore {
    const core = new RaftCore(
      {
        id,
        voters: this.voters,
        random: this.random.fork(),
        logger: noopLogger,
        electionTimeoutTicks: 10,
        heartbeatTicks: 1,
        ...this.options.options,
        ...this.options.nodeOptions?.[id],
        ...extra,
      },
      initial,
    );
    this.cores.set(id, core);
    this.applied.set(id, initial.snapshot === undefined ? [] : (JSON.parse(decode(initial.snapshot.data)) as string[]));
    this.appliedEntries.set(id, []);
    return core;
  }

  private persist(id: NodeId, rd: Ready): void {
    const store = this.stores.get(id) as Store;
    if (rd.hardState !== undefined) store.hardState = rd.hardState;
    if (rd.snapshot !== undefined) {
      store.snapshot = rd.snapshot;
      store.entries = [];
    }
    const first = rd.entries[0];
    if (first !== undefined) {
      store.entries = store.entries.filter((e) => e.index < first.index);
      store.entries.push(...rd.entries);
    }
  }

  private apply(id: NodeId, rd: Ready): void {
    if (rd.snapshot !== undefined) {
      const data = rd.snapshot.data;
      this.applied.set(id, data.length === 0 ? [] : (JSON.parse(decode(data)) as string[]));
    }
    const applied = this.applied.get(id) as string[];
    const appliedEntries = this.appliedEntries.get(id) as Entry[];
    for (const e of rd.committed) {
      const seen = this.committedByIndex.get(e.index);
      if (seen === undefined) this.committedByIndex.set(e.index, e);
      else if (seen.term !== e.term || decode(seen.data) !== decode(e.data)) {
        throw new Error(
          `ConsistentCommittedData: n${id} applied ${e.index}@${e.term} "${decode(e.data)}" where another node applied ${seen.index}@${seen.term} "${decode(seen.data)}" (seed=${this.seed})`,
        );
      }
      appliedEntries.push(e);
      if (e.type === EntryType.Command) applied.push(decode(e.data));
    }
  }

  private checkSingleLeader(core: RaftCore): void {
    if (core.role !== 'leader') return;
    const known = this.leaderByTerm.get(core.term);
    if (known === undefined) this.leaderByTerm.set(core.term, core.id);
    else if (known !== core.id) throw new Error(`SingleLeader: n${known} and n${core.id} both lead term ${core.term} (seed=${this.seed})`);
  }
}
