/**
 * Raft's safety properties (Raft paper Figure 3), checked continuously while a simulation runs — after
 * every event and at every durable write, send and apply — in the manner of Kafka's
 * RaftEventSimulationTest and TigerBeetle's VOPR. A violation is recorded with the virtual time; the
 * run goes on so the trace shows what followed, and the seed fails.
 *
 * Properties:
 * - election safety: at most one leader per term (and a voter grants at most one vote per term, even
 *   across crashes and disk loss);
 * - durable term monotonic and durable vote fixed within a term, per node, across restarts;
 * - log matching: entries with the same (index, term) carry the same data and the same predecessor
 *   term — by induction, identical prefixes;
 * - leader completeness: a new leader's log holds every entry committed before it took office;
 * - state-machine safety: every committed or applied entry equals the one history's entry at its index;
 * - the commit index never goes back within a process, and a leader commits only entries that a
 *   majority of voters hold durably;
 * - every proposal reported committed is in the history at its index, forever.
 */
import type { RaftCore } from '../src/raft/raft-core.js';
import type { StorageUpdate } from '../src/raft/storage.js';
import { NO_NODE, type Entry, type LogIndex, type Message, type NodeId, type Term } from '../src/raft/types.js';
import type { SimDisk } from './sim-raft-storage.js';

/** What the checker may look at for one simulated node. */
export interface CheckedNode {
  readonly id: NodeId;
  readonly isVoter: boolean;
  readonly disk: SimDisk;
  /** The live core, when the process is up. */
  core(): RaftCore | undefined;
  /** Bumped at every restart. */
  readonly incarnation: number;
  /** Its disk was wiped and it has not caught up since. */
  readonly isRecovering: boolean;
}

interface HistoryEntry {
  readonly term: Term;
  readonly key: string;
}

function entryKey(e: Entry): string {
  return `${e.type}:${Buffer.from(e.data.buffer, e.data.byteOffset, e.data.byteLength).toString('latin1')}`;
}

export class RaftChecker {
  readonly violations: string[] = [];
  /** history[i] is the entry committed at index i. */
  private readonly history = new Map<LogIndex, HistoryEntry>();
  private historyMax: LogIndex = 0;
  private readonly leaderOfTerm = new Map<Term, NodeId>();
  private readonly voteOf = new Map<string, NodeId>();
  private readonly durable = new Map<NodeId, { term: Term; vote: NodeId }>();
  /** (index, term) -> what any node ever stored there. */
  private readonly entryRegistry = new Map<string, { key: string; prevTerm: Term }>();
  private readonly lastCommit = new Map<NodeId, { incarnation: number; commit: LogIndex }>();
  private readonly lastRole = new Map<NodeId, { incarnation: number; role: string; term: Term }>();
  private readonly acknowledged: Array<{ index: LogIndex; term: Term; key: string }> = [];

  constructor(
    private readonly nodes: () => readonly CheckedNode[],
    private readonly nowMs: () => number,
    private readonly quorum: number,
  ) {}

  private fail(message: string): void {
    if (this.violations.length < 100) this.violations.push(`t=${this.nowMs()}ms ${message}`);
  }

  // ---- Hooks --------------------------------------------------------------------------------------

  /** An update became durable on `node`'s disk (called before the disk's state changes). */
  onDurable(node: CheckedNode, update: StorageUpdate): void {
    if (update.hardState !== undefined) {
      const hs = update.hardState;
      const before = this.durable.get(node.id) ?? { term: 0, vote: NO_NODE };
      if (hs.term < before.term) this.fail(`n${node.id} durable term went back from ${before.term} to ${hs.term}`);
      if (hs.term === before.term && before.vote !== NO_NODE && hs.vote !== before.vote) {
        this.fail(`n${node.id} durable vote in term ${hs.term} changed from n${before.vote} to n${hs.vote}`);
      }
      this.durable.set(node.id, { term: hs.term, vote: hs.vote });
    }
    const entries = update.entries ?? [];
    if (entries.length === 0) return;
    const first = entries[0] as Entry;
    let prevTerm: Term;
    if (first.index === 1) prevTerm = 0;
    else if (update.snapshot !== undefined && update.snapshot.index === first.index - 1) prevTerm = update.snapshot.term;
    else prevTerm = node.disk.durableTermAt(first.index - 1) ?? -1;
    if (prevTerm === -1) {
      this.fail(`n${node.id} stored entry ${first.index} with no durable predecessor`);
      return;
    }
    for (const e of entries) {
      const id = `${e.index}/${e.term}`;
      const key = entryKey(e);
      const known = this.entryRegistry.get(id);
      if (known === undefined) this.entryRegistry.set(id, { key, prevTerm });
      else if (known.key !== key || known.prevTerm !== prevTerm) {
        this.fail(`log matching: n${node.id} stored (${e.index}, term ${e.term}) unlike another node's copy`);
      }
      prevTerm = e.term;
    }
  }

  /** The disk of `node` was replaced: its durable state starts over (its vote grants do not). */
  onWipe(node: CheckedNode): void {
    this.durable.delete(node.id);
  }

  onSend(message: Message): void {
    if (message.type === 'vote-response' && message.granted) {
      const key = `${message.from}/${message.term}`;
      const before = this.voteOf.get(key);
      if (before !== undefined && before !== message.to) {
        this.fail(`n${message.from} granted votes to n${before} and n${message.to} in term ${message.term}`);
      }
      this.voteOf.set(key, message.to);
    }
  }

  onApply(node: CheckedNode, entry: Entry): void {
    this.record(entry.index, entry.term, entryKey(entry), `n${node.id} applied`);
  }

  /** A client was told that its proposal committed at (index, term). */
  onAcknowledged(index: LogIndex, term: Term, data: Uint8Array): void {
    const key = entryKey({ index, term, type: 0, data });
    this.acknowledged.push({ index, term, key });
    this.record(index, term, key, 'acknowledged proposal');
  }

  /** Runs after every simulator event. */
  afterEvent(): void {
    for (const node of this.nodes()) {
      const core = node.core();
      if (core === undefined) continue;
      this.checkRole(node, core);
      this.checkCommit(node, core);
    }
  }

  /** At the end of a run: every acknowledged proposal is still in the history. */
  finalCheck(): void {
    for (const a of this.acknowledged) {
      const h = this.history.get(a.index);
      if (h === undefined || h.term !== a.term || h.key !== a.key) this.fail(`acknowledged entry ${a.index} (term ${a.term}) lost`);
    }
  }

  get committedCount(): number {
    return this.historyMax;
  }

  // ---- Checks -------------------------------------------------------------------------------------

  private record(index: LogIndex, term: Term, key: string, who: string): void {
    const h = this.history.get(index);
    if (h === undefined) {
      this.history.set(index, { term, key });
      if (index > this.historyMax) this.historyMax = index;
    } else if (h.term !== term || h.key !== key) {
      this.fail(`state-machine safety: ${who} (${index}, term ${term}) but (${index}, term ${h.term}) was committed`);
    }
  }

  private checkRole(node: CheckedNode, core: RaftCore): void {
    const before = this.lastRole.get(node.id);
    const now = { incarnation: node.incarnation, role: core.role, term: core.term };
    if (before !== undefined && before.incarnation === now.incarnation && before.role === now.role && before.term === now.term) return;
    this.lastRole.set(node.id, now);
    if (now.role !== 'leader') return;
    const other = this.leaderOfTerm.get(now.term);
    if (other !== undefined && other !== node.id) this.fail(`two leaders in term ${now.term}: n${other} and n${node.id}`);
    this.leaderOfTerm.set(now.term, node.id);
    // Leader completeness (Raft §5.4): every committed entry is in the new leader's log.
    const log = core.log;
    for (let i = log.firstIndex(); i <= this.historyMax; i++) {
      const h = this.history.get(i);
      if (h !== undefined && log.termAt(i) !== h.term) {
        this.fail(`leader completeness: n${node.id} leads term ${now.term} without committed entry ${i} (term ${h.term})`);
        return;
      }
    }
  }

  private checkCommit(node: CheckedNode, core: RaftCore): void {
    const log = core.log;
    const before = this.lastCommit.get(node.id);
    const from = before !== undefined && before.incarnation === node.incarnation ? before.commit : log.snapshotIndex;
    if (log.commitIndex < from) this.fail(`n${node.id} commit index went back from ${from} to ${log.commitIndex}`);
    if (log.commitIndex <= from) {
      this.lastCommit.set(node.id, { incarnation: node.incarnation, commit: Math.max(from, log.commitIndex) });
      return;
    }
    for (let i = Math.max(from + 1, log.firstIndex()); i <= log.commitIndex; i++) {
      const e = log.entryAt(i);
      if (e !== undefined) this.record(i, e.term, entryKey(e), `n${node.id} committed`);
    }
    if (core.role === 'leader') this.checkMajority(node, log.commitIndex, log.termAt(log.commitIndex) ?? 0);
    this.lastCommit.set(node.id, { incarnation: node.incarnation, commit: log.commitIndex });
  }

  private checkMajority(leader: CheckedNode, index: LogIndex, term: Term): void {
    let holders = 0;
    for (const n of this.nodes()) {
      if (!n.isVoter) continue;
      const t = n.disk.durableTermAt(index);
      // A voter whose disk was wiped after it acknowledged counts while it recovers: recovery keeps
      // it out of elections until it holds the entries again (raft-core.ts, `recovering`).
      if (t === term || (t === undefined && n.disk.durableLastIndex() > index) || n.isRecovering) holders++;
    }
    if (holders < this.quorum) {
      this.fail(`n${leader.id} committed ${index} (term ${term}) held durably by ${holders} voters, fewer than a majority`);
    }
  }
}
