/**
 * The simulator catches bugs: deliberately broken Raft cores run in the simulated cluster must produce
 * the checker's violations (and the same scenario with the real core must produce none), and the
 * checker itself, fed broken histories through its hooks, must name each broken property.
 */
import { expect } from 'chai';
import { RaftCluster, type RaftClusterOptions } from '../../sim/raft-cluster.js';
import { RaftChecker, type CheckedNode } from '../../sim/raft-checker.js';
import { runSeed } from '../../sim/run-seed.js';
import { Scheduler } from '../../sim/scheduler.js';
import { SimDisk } from '../../sim/sim-raft-storage.js';
import { RaftCore, type InitialState, type RaftOptions } from '../../src/raft/raft-core.js';
import { EntryType, NO_NODE, type Entry, type HardState, type Message, type NodeId } from '../../src/raft/types.js';
import { SeededRandom } from '../../src/util/random.js';

const encoder = new TextEncoder();

/** Commits (and wins elections) with its own vote alone: no majority needed. */
class QuorumOfOneCore extends RaftCore {
  protected override quorum(): number {
    return 1;
  }
}

/** Persists its term but never its vote: after a crash it has forgotten whom it voted for. */
class ForgetfulVoterCore extends RaftCore {
  override hardState(): HardState {
    return { ...super.hardState(), vote: NO_NODE };
  }
}

/** Ignores that its disk was wiped: it votes at once, though it forgot what it acknowledged. */
function amnesiacCore(options: RaftOptions, initial: InitialState): RaftCore {
  return new RaftCore({ ...options, recovering: false }, { ...initial, hardState: { term: initial.hardState.term, vote: initial.hardState.vote } });
}

type CreateCore = NonNullable<RaftClusterOptions['createCore']>;

/** Matches the whole violation text, whatever the virtual time. */
function violation(text: RegExp): RegExp {
  return new RegExp(`^t=[\\d.]+ms ${text.source}$`);
}

function matching(violations: readonly string[], text: RegExp): string[] {
  const re = violation(text);
  return violations.filter((v) => re.test(v));
}

describe('RaftChecker catches broken cores', function () {
  this.timeout(30_000);

  /** Both sides of a partition take proposals; then everything heals. */
  async function splitBrain(createCore?: CreateCore): Promise<readonly string[]> {
    const cluster = new RaftCluster({ seed: 5, voters: 3, ...(createCore !== undefined ? { createCore } : {}) });
    await cluster.startAll();
    await cluster.runFor(3000);
    cluster.network.partition([1], [2, 3]);
    await cluster.runFor(3000);
    for (const id of cluster.voterIds) {
      for (let k = 0; k < 3; k++) cluster.propose(id, encoder.encode(`n${id}-${k}`)).catch(() => {});
    }
    await cluster.runFor(3000);
    cluster.healAll();
    await cluster.runFor(5000);
    cluster.checker.finalCheck();
    return cluster.checker.violations;
  }

  it('(a) a core whose quorum is 1 commits without a majority and forks the history', async () => {
    const violations = await splitBrain((options, initial) => new QuorumOfOneCore(options, initial));
    expect(matching(violations, /n\d committed \d+ \(term \d+\) held durably by 1 voters, fewer than a majority/)).to.not.be.empty;
    expect(matching(violations, /state-machine safety: n\d applied \(\d+, term \d+\) but \(\d+, term \d+\) was committed/)).to.not.be.empty;
    expect(matching(violations, /state-machine safety: acknowledged proposal \(\d+, term \d+\) but \(\d+, term \d+\) was committed/)).to.not.be.empty;
  });

  it('(a) control: the real core in the same split brain records nothing', async () => {
    expect(await splitBrain()).to.deep.equal([]);
  });

  it('(a) the randomized run of one seed catches the quorum-of-one core too', async () => {
    const r = await runSeed(1, { createCore: (options, initial) => new QuorumOfOneCore(options, initial) });
    expect(matching(r.violations, /n\d committed \d+ \(term \d+\) held durably by 1 voters, fewer than a majority/)).to.not.be.empty;
  });

  /**
   * A wins term 1 with V's vote and is cut off at once (before its first entry leaves); V crashes and
   * restarts; B, asleep until now, campaigns in term 1 without pre-vote and asks V.
   */
  async function revote(createCore?: CreateCore): Promise<{ violations: readonly string[]; early: string[]; a: NodeId; v: NodeId; b: NodeId }> {
    const cluster = new RaftCluster({ seed: 5, voters: 3, preVote: false, ...(createCore !== undefined ? { createCore } : {}) });
    // The invariant of the "crash between vote and fsync" scenario: a granted vote leaves only when durable.
    const early: string[] = [];
    const onSend = cluster.checker.onSend.bind(cluster.checker);
    cluster.checker.onSend = (msg: Message) => {
      if (msg.type === 'vote-response' && msg.granted) {
        const hs = cluster.machine(msg.from).disk.durableHardState();
        if (hs.term !== msg.term || hs.vote !== msg.to) early.push(`n${msg.from} granted n${msg.to} in term ${msg.term} before its disk recorded it`);
      }
      onSend(msg);
    };
    await cluster.startAll();
    const b = 3;
    cluster.pause(b);
    cluster.network.partition([b], [1, 2]);
    expect(await cluster.runFor(5000, () => [1, 2].some((id) => cluster.machine(id).core()?.role === 'leader'))).to.equal(true);
    const a = [1, 2].find((id) => cluster.machine(id).core()?.role === 'leader') as NodeId;
    const v = a === 1 ? 2 : 1;
    cluster.network.isolate(a);
    await cluster.runFor(50);
    cluster.crash(v);
    cluster.start(v);
    expect(await cluster.runFor(100, () => cluster.machine(v).isUp)).to.equal(true);
    cluster.pause(v);
    cluster.network.heal();
    cluster.network.isolate(a);
    cluster.resume(b);
    expect(await cluster.runFor(5000, () => cluster.machine(b).core()?.role === 'candidate')).to.equal(true);
    expect(cluster.machine(b).core()?.term).to.equal(1);
    cluster.resume(v);
    await cluster.runFor(3000);
    return { violations: cluster.checker.violations, early, a, v, b };
  }

  it('(b) a core that does not persist its vote votes twice in a term after a crash', async () => {
    const r = await revote((options, initial) => new ForgetfulVoterCore(options, initial));
    expect(matching(r.violations, new RegExp(`n${r.v} granted votes to n${r.a} and n${r.b} in term 1`))).to.have.length(1);
    expect(matching(r.violations, new RegExp(`two leaders in term 1: n${r.a} and n${r.b}`))).to.have.length(1);
    expect(r.early).to.include(`n${r.v} granted n${r.a} in term 1 before its disk recorded it`);
  });

  it('(b) control: the real core in the same schedule refuses the second vote', async () => {
    const r = await revote();
    expect(r.violations).to.deep.equal([]);
    expect(r.early).to.deep.equal([]);
  });

  /** Entries commit on the leader and W only; W's disk is wiped and the leader dies; G and W are left. */
  async function wipeAndElect(createCore?: CreateCore): Promise<readonly string[]> {
    const cluster = new RaftCluster({ seed: 61, voters: 3, ...(createCore !== undefined ? { createCore } : {}) });
    await cluster.startAll();
    expect(await cluster.runFor(10_000, () => cluster.converged())).to.equal(true);
    const leader = cluster.leader() as NodeId;
    const [wiped, lagging] = cluster.voterIds.filter((id) => id !== leader) as [NodeId, NodeId];
    cluster.network.blockLink(leader, lagging);
    for (let k = 0; k < 10; k++) cluster.propose(leader, encoder.encode(`acked-${k}`)).catch(() => {});
    await cluster.runFor(2000);
    cluster.wipeDisk(wiped);
    cluster.crash(leader);
    cluster.network.heal();
    cluster.start(wiped);
    await cluster.runFor(8000);
    cluster.start(leader);
    await cluster.runFor(10_000, () => cluster.converged());
    cluster.checker.finalCheck();
    return cluster.checker.violations;
  }

  it('(b) a core that ignores its wiped disk helps elect a leader without committed entries', async () => {
    const violations = await wipeAndElect(amnesiacCore);
    expect(matching(violations, /leader completeness: n\d leads term \d+ without committed entry \d+ \(term \d+\)/)).to.have.length(1);
    expect(matching(violations, /state-machine safety: n\d (applied|committed) \(\d+, term \d+\) but \(\d+, term \d+\) was committed/)).to.not.be.empty;
  });

  it('(b) control: the real core keeps the wiped voter out of the election', async () => {
    expect(await wipeAndElect()).to.deep.equal([]);
  });
});

describe('RaftChecker fed broken histories', () => {
  const NOW_MS = 42;

  interface FakeCore {
    role: string;
    term: number;
    log: {
      commitIndex: number;
      snapshotIndex: number;
      firstIndex(): number;
      termAt(index: number): number | undefined;
      entryAt(index: number): Entry | undefined;
    };
  }

  function setup(voters = 3) {
    const scheduler = new Scheduler();
    const cores = new Map<NodeId, FakeCore>();
    const nodes: CheckedNode[] = Array.from({ length: voters }, (_, i) => {
      const id = i + 1;
      return {
        id,
        isVoter: true,
        incarnation: 1,
        isRecovering: false,
        disk: new SimDisk({ clock: scheduler, random: new SeededRandom(id), writeLatencyMs: { min: 0, max: 0 } }),
        core: () => cores.get(id) as RaftCore | undefined,
      };
    });
    const checker = new RaftChecker(() => nodes, () => NOW_MS, Math.floor(voters / 2) + 1);
    const node = (id: NodeId): CheckedNode => nodes[id - 1] as CheckedNode;
    /** A fake live core whose log holds `entries` (index 1 on) and has committed up to `commitIndex`. */
    const fakeCore = (id: NodeId, role: string, term: number, entries: Entry[], commitIndex: number): FakeCore => {
      const core: FakeCore = {
        role,
        term,
        log: {
          commitIndex,
          snapshotIndex: 0,
          firstIndex: () => 1,
          termAt: (index) => (index === 0 ? 0 : entries[index - 1]?.term),
          entryAt: (index) => entries[index - 1],
        },
      };
      cores.set(id, core);
      return core;
    };
    return { scheduler, checker, node, fakeCore };
  }

  const entry = (index: number, term: number, data: string): Entry => ({ index, term, type: EntryType.Command, data: encoder.encode(data) });

  it('a consistent history records nothing (the checks below can fail, this one must not)', () => {
    const { checker, node } = setup();
    checker.onDurable(node(1), { hardState: { term: 1, vote: 1 }, entries: [entry(1, 1, 'a')] });
    checker.onDurable(node(2), { hardState: { term: 1, vote: 1 }, entries: [entry(1, 1, 'a')] });
    checker.onSend({ type: 'vote-response', from: 2, to: 1, term: 1, granted: true });
    checker.onSend({ type: 'vote-response', from: 2, to: 1, term: 1, granted: true }); // a duplicate
    checker.onSend({ type: 'vote-response', from: 2, to: 3, term: 1, granted: false });
    checker.onAcknowledged(1, 1, encoder.encode('a'));
    checker.onApply(node(1), entry(1, 1, 'a'));
    checker.onApply(node(2), entry(1, 1, 'a'));
    checker.finalCheck();
    expect(checker.violations).to.deep.equal([]);
  });

  it('two different entries applied at one index: state-machine safety', () => {
    const { checker, node } = setup();
    checker.onApply(node(1), entry(1, 1, 'a'));
    checker.onApply(node(2), entry(1, 2, 'b'));
    expect(checker.violations).to.deep.equal(['t=42ms state-machine safety: n2 applied (1, term 2) but (1, term 1) was committed']);
  });

  it('the same index and term but other data applied: state-machine safety', () => {
    const { checker, node } = setup();
    checker.onApply(node(1), entry(1, 1, 'a'));
    checker.onApply(node(2), entry(1, 1, 'b'));
    expect(checker.violations).to.deep.equal(['t=42ms state-machine safety: n2 applied (1, term 1) but (1, term 1) was committed']);
  });

  it('two granted vote-responses from one voter in one term to different candidates: election safety', () => {
    const { checker } = setup();
    checker.onSend({ type: 'vote-response', from: 1, to: 2, term: 3, granted: true });
    checker.onSend({ type: 'vote-response', from: 1, to: 3, term: 3, granted: true });
    expect(checker.violations).to.deep.equal(['t=42ms n1 granted votes to n2 and n3 in term 3']);
  });

  it('a durable term going back: monotonic term', () => {
    const { checker, node } = setup();
    checker.onDurable(node(1), { hardState: { term: 5, vote: 2 } });
    checker.onDurable(node(1), { hardState: { term: 4, vote: NO_NODE } });
    expect(checker.violations).to.deep.equal(['t=42ms n1 durable term went back from 5 to 4']);
  });

  it('a durable vote changing within a term; a wiped disk may start over', () => {
    const { checker, node } = setup();
    checker.onDurable(node(1), { hardState: { term: 5, vote: 2 } });
    checker.onDurable(node(1), { hardState: { term: 5, vote: 3 } });
    checker.onWipe(node(2));
    checker.onDurable(node(2), { hardState: { term: 7, vote: 2 } });
    checker.onWipe(node(2));
    checker.onDurable(node(2), { hardState: { term: 0, vote: NO_NODE } });
    expect(checker.violations).to.deep.equal(['t=42ms n1 durable vote in term 5 changed from n2 to n3']);
  });

  it('an acknowledged proposal, then another entry applied at its index: state-machine safety', () => {
    const { checker, node } = setup();
    checker.onAcknowledged(1, 2, encoder.encode('acked'));
    checker.onApply(node(1), entry(1, 3, 'other'));
    expect(checker.violations).to.deep.equal(['t=42ms state-machine safety: n1 applied (1, term 3) but (1, term 2) was committed']);
  });

  it('an apply, then a conflicting acknowledgement: the client was told of an entry that did not commit', () => {
    const { checker, node } = setup();
    checker.onApply(node(1), entry(1, 3, 'other'));
    checker.onAcknowledged(1, 2, encoder.encode('acked'));
    checker.finalCheck();
    expect(checker.violations).to.deep.equal([
      't=42ms state-machine safety: acknowledged proposal (1, term 2) but (1, term 3) was committed',
      't=42ms acknowledged entry 1 (term 2) lost',
    ]);
  });

  it('two nodes storing different data at one (index, term): log matching', () => {
    const { checker, node } = setup();
    checker.onDurable(node(1), { entries: [entry(1, 1, 'a')] });
    checker.onDurable(node(2), { entries: [entry(1, 1, 'b')] });
    expect(checker.violations).to.deep.equal(["t=42ms log matching: n2 stored (1, term 1) unlike another node's copy"]);
  });

  it('two leaders in one term: election safety', () => {
    const { checker, fakeCore } = setup();
    fakeCore(1, 'leader', 3, [], 0);
    fakeCore(2, 'leader', 3, [], 0);
    checker.afterEvent();
    expect(checker.violations).to.deep.equal(['t=42ms two leaders in term 3: n1 and n2']);
  });

  it('a new leader without a committed entry: leader completeness', () => {
    const { checker, node, fakeCore } = setup();
    checker.onApply(node(1), entry(1, 1, 'a'));
    fakeCore(2, 'leader', 3, [entry(1, 2, 'b')], 0);
    checker.afterEvent();
    expect(checker.violations).to.deep.equal(['t=42ms leader completeness: n2 leads term 3 without committed entry 1 (term 1)']);
  });

  it('a leader committing an entry only its own disk holds, then its commit index going back', async () => {
    const { scheduler, checker, node, fakeCore } = setup();
    const e = entry(1, 1, 'a');
    void node(1).disk.open().save({ hardState: { term: 1, vote: 1 }, entries: [e] });
    await scheduler.runUntil();
    expect(node(1).disk.durableTermAt(1)).to.equal(1);
    const core = fakeCore(1, 'leader', 1, [e], 1);
    checker.afterEvent();
    core.log.commitIndex = 0;
    checker.afterEvent();
    expect(checker.violations).to.deep.equal([
      't=42ms n1 committed 1 (term 1) held durably by 1 voters, fewer than a majority',
      't=42ms n1 commit index went back from 1 to 0',
    ]);
  });
});
