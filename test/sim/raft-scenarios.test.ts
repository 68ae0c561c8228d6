/**
 * Named fault scenarios for the controller quorum, each driven through `RaftCluster` the way its source
 * describes the failure (REFERENCES.md, Testing: Raft paper Figure 8, etcd-io/raft's paper tests, Kafka's
 * RaftEventSimulationTest, TigerBeetle's VOPR, FoundationDB's swizzle-clog).
 *
 * Every scenario ends the same way: heal everything, the cluster must converge (one leader, every node
 * applied the same commit index, one more proposal commits, every state machine has the same hash),
 * and the checker (raft-checker.ts: election safety, log matching, leader completeness, state-machine
 * safety, majority commits, acknowledged proposals kept) must have recorded no violation. Each also
 * asserts the specific point of its fault, so it fails if the feature that handles that fault breaks.
 *
 * Virtual time only: each scenario is a fixed seed and replays bit for bit.
 */
import { expect } from 'chai';
import { RaftCluster, type RaftClusterOptions } from '../../sim/raft-cluster.js';
import type { RaftCore } from '../../src/raft/raft-core.js';
import { NO_NODE, type LogIndex, type Message, type NodeId, type Term } from '../../src/raft/types.js';

// ---- Helpers ----------------------------------------------------------------------------------------

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A client's view of one proposal. */
interface Outcome {
  readonly data: string;
  readonly via: NodeId;
  state: 'pending' | 'committed' | 'failed';
  index?: LogIndex;
  term?: Term;
  code?: string;
}

/** Proposes `data` through node `via` and records what the client is told. */
function submit(cluster: RaftCluster, via: NodeId, data: string): Outcome {
  const outcome: Outcome = { data, via, state: 'pending' };
  cluster.propose(via, encoder.encode(data)).then(
    (c) => {
      outcome.state = 'committed';
      outcome.index = c.index;
      outcome.term = c.term;
    },
    (error: unknown) => {
      outcome.state = 'failed';
      outcome.code = (error as { code?: string }).code ?? 'DOWN';
    },
  );
  return outcome;
}

/** Runs until every outcome is known (or `ms` pass); the scenario then asserts what they are. */
async function settle(cluster: RaftCluster, outcomes: readonly Outcome[], ms = 10_000): Promise<void> {
  await cluster.runFor(ms, () => outcomes.every((o) => o.state !== 'pending'));
}

function coreOf(cluster: RaftCluster, id: NodeId): RaftCore {
  const core = cluster.machine(id).core();
  expect(core, `n${id} is up`).to.not.equal(undefined);
  return core as RaftCore;
}

/** A running node in `among` that leads and has committed an entry of its own term. */
function stableLeaderAmong(cluster: RaftCluster, among: readonly NodeId[]): NodeId | undefined {
  for (const id of among) {
    const core = cluster.machine(id).core();
    if (core !== undefined && core.role === 'leader' && core.log.termAt(core.log.commitIndex) === core.term) return id;
  }
  return undefined;
}

/** Runs until a node of `among` leads (`stable`: and has committed in its term); returns it. */
async function electedAmong(cluster: RaftCluster, among: readonly NodeId[], options: { stable?: boolean; ms?: number } = {}): Promise<NodeId> {
  const find = (): NodeId | undefined =>
    options.stable === true ? stableLeaderAmong(cluster, among) : among.find((id) => cluster.machine(id).core()?.role === 'leader');
  const ok = await cluster.runFor(options.ms ?? 10_000, () => find() !== undefined);
  expect(ok, `a leader among ${among.map((i) => `n${i}`).join(',')}: ${cluster.describe()}`).to.equal(true);
  return find() as NodeId;
}

async function stableLeader(cluster: RaftCluster): Promise<NodeId> {
  return electedAmong(cluster, [...cluster.voterIds], { stable: true });
}

async function converge(cluster: RaftCluster, ms = 30_000): Promise<void> {
  const ok = await cluster.runFor(ms, () => cluster.converged());
  expect(ok, `converged: ${cluster.describe()}`).to.equal(true);
}

/** Every message any node sends, with the virtual time (the checker's send hook, extended). */
function recordSends(cluster: RaftCluster): Array<{ atMs: number; msg: Message; senderRecovering: boolean }> {
  const sends: Array<{ atMs: number; msg: Message; senderRecovering: boolean }> = [];
  const checker = cluster.checker;
  const onSend = checker.onSend.bind(checker);
  checker.onSend = (msg: Message) => {
    sends.push({ atMs: cluster.scheduler.nowMs(), msg, senderRecovering: cluster.machine(msg.from).isRecovering });
    onSend(msg);
  };
  return sends;
}

/** Every entry any node applies (the checker's apply hook, extended). */
function recordApplies(cluster: RaftCluster): Array<{ node: NodeId; index: LogIndex; term: Term; data: string }> {
  const applies: Array<{ node: NodeId; index: LogIndex; term: Term; data: string }> = [];
  const checker = cluster.checker;
  const onApply = checker.onApply.bind(checker);
  checker.onApply = (node, entry) => {
    applies.push({ node: node.id, index: entry.index, term: entry.term, data: entry.type === 0 ? decoder.decode(entry.data) : '' });
    onApply(node, entry);
  };
  return applies;
}

/**
 * Raft §5.4.2 (Figure 8), observed after every event: whenever a leader's commit index moves, it moves
 * to an entry of the leader's own term. Returns the breaches found.
 */
function watchCommitRule(cluster: RaftCluster): string[] {
  const breaches: string[] = [];
  const last = new Map<NodeId, { key: string; commit: LogIndex }>();
  cluster.scheduler.onAfterEvent(() => {
    for (const id of [...cluster.voterIds]) {
      const m = cluster.machine(id);
      const core = m.core();
      if (core === undefined || core.role !== 'leader') {
        last.delete(id);
        continue;
      }
      const key = `${m.incarnation}/${core.term}`;
      const before = last.get(id);
      const commit = core.log.commitIndex;
      if (before !== undefined && before.key === key && commit > before.commit && core.log.termAt(commit) !== core.term) {
        breaches.push(`n${id} leading term ${core.term} advanced its commit index to ${commit} of term ${core.log.termAt(commit)}`);
      }
      last.set(id, { key, commit });
    }
  });
  return breaches;
}

/** A client that retries through the current leader until its proposal commits or `ms` pass. */
async function commitWithRetry(cluster: RaftCluster, data: string, ms: number): Promise<Outcome> {
  const deadlineMs = cluster.scheduler.nowMs() + ms;
  let attempt: Outcome = { data, via: NO_NODE, state: 'failed', code: 'NO_LEADER' };
  while (cluster.scheduler.nowMs() < deadlineMs) {
    const leader = stableLeaderAmong(cluster, cluster.voterIds);
    if (leader === undefined) {
      await cluster.runFor(50);
      continue;
    }
    attempt = submit(cluster, leader, data);
    await settle(cluster, [attempt], deadlineMs - cluster.scheduler.nowMs());
    if (attempt.state === 'committed') break;
  }
  return attempt;
}

/**
 * The common ending: heal every fault, converge, commit one more proposal, and check that every
 * replica's state machine is identical and every acknowledged proposal is in the history.
 */
async function healAndConverge(cluster: RaftCluster): Promise<void> {
  cluster.healAll();
  await converge(cluster);
  const leader = cluster.leader() as NodeId;
  const last = submit(cluster, leader, 'after healing');
  await settle(cluster, [last]);
  expect(last.state, `the post-heal proposal commits: ${cluster.describe()}`).to.equal('committed');
  await converge(cluster);
  const reference = cluster.stateMachineOf(leader);
  for (const id of cluster.machines.keys()) {
    const sm = cluster.stateMachineOf(id);
    expect({ id, index: sm.appliedIndex, hash: sm.hash }).to.deep.equal({ id, index: reference.appliedIndex, hash: reference.hash });
  }
  cluster.checker.finalCheck();
}

/**
 * Jepsen's "duplicate": no proposal of `outcomes` sits at two log indices. (A restarted node applies
 * its log again from the start, so the same index applied twice on one node is fine.)
 */
function expectAppliedAtMostOnce(applies: ReturnType<typeof recordApplies>, outcomes: readonly Outcome[]): void {
  const wanted = new Set(outcomes.map((o) => o.data));
  const indices = new Map<string, Set<LogIndex>>();
  for (const a of applies) {
    if (!wanted.has(a.data)) continue;
    let set = indices.get(a.data);
    if (set === undefined) indices.set(a.data, (set = new Set()));
    set.add(a.index);
  }
  const twice = [...indices].filter(([, set]) => set.size > 1).map(([data, set]) => `${data} at ${[...set].join(', ')}`);
  expect(twice, 'proposals applied at two indices').to.deep.equal([]);
}

function newCluster(options: RaftClusterOptions): RaftCluster {
  return new RaftCluster(options);
}

// ---- Scenarios --------------------------------------------------------------------------------------

describe('Raft scenarios (simulated cluster)', function () {
  this.timeout(60_000);

  it('Raft paper Figure 8: an old-term entry held by a majority is not committed by counting, and is overwritten', async () => {
    const cluster = newCluster({ seed: 8, voters: 5 });
    const commitRule = watchCommitRule(cluster);
    await cluster.startAll();
    const s1 = await stableLeader(cluster);
    await settle(cluster, [submit(cluster, s1, 'warm-up')]);
    await converge(cluster);
    const s2 = cluster.voterIds.find((id) => id !== s1) as NodeId;
    const rest = cluster.voterIds.filter((id) => id !== s1 && id !== s2);

    // (a) S1 leads term T and replicates the entry at index i to S2 only, then crashes.
    cluster.network.partition([s1, s2], rest);
    const termT = coreOf(cluster, s1).term;
    const x = submit(cluster, s1, 'x: term T, on S1 and S2 only');
    const i = coreOf(cluster, s1).log.lastIndex();
    const durableTerm = (id: NodeId, index: LogIndex): Term | undefined => cluster.machine(id).disk.durableTermAt(index);
    expect(await cluster.runFor(1000, () => durableTerm(s1, i) === termT && durableTerm(s2, i) === termT)).to.equal(true);
    cluster.crash(s1);

    // (b) S5 is elected for term T+1 by S3, S4 and S5, writes its own entry at index i, and crashes
    // before sending it to anyone.
    const s5 = await electedAmong(cluster, rest);
    cluster.network.isolate(s5);
    const termT1 = coreOf(cluster, s5).term;
    expect(await cluster.runFor(500, () => durableTerm(s5, i) === termT1)).to.equal(true);
    cluster.crash(s5);
    // A leader may send its appends before its own write is durable (Raft thesis §10.2.1), so they may
    // be on the wire already: keep S5 cut off until they have landed (and been dropped).
    await cluster.runFor(50);
    const [s3, s4] = rest.filter((id) => id !== s5) as [NodeId, NodeId];

    // (c) S1 restarts; S1 or S2 (the only up-to-date logs) wins a later term and sends entry i, with the
    // entry of its own term behind it, to S3 only. Entry (i, T) is now on a majority: S1, S2, S3.
    cluster.network.heal();
    cluster.start(s1);
    const a = await electedAmong(cluster, [s1, s2]);
    const b = a === s1 ? s2 : s1;
    cluster.network.blockLink(a, b);
    cluster.network.blockLink(a, s4);
    cluster.network.isolate(s5);
    const termA = coreOf(cluster, a).term;
    expect(await cluster.runFor(500, () => durableTerm(s3, i) === termT && durableTerm(s3, i + 1) === termA)).to.equal(true);
    const holdersOfOldEntry = cluster.voterIds.filter((id) => durableTerm(id, i) === termT);
    expect(holdersOfOldEntry.length).to.be.at.least(3);
    await cluster.runFor(300);
    // §5.4.2: counting replicas commits only an entry of the leader's own term, and (i+1, termA) is on
    // a minority, so (i, T) must not be committed.
    expect(coreOf(cluster, a).log.commitIndex, 'Figure 8 (c): the leader must not commit (i, T)').to.be.below(i);

    // (d) The leader crashes; S5 returns and, elected by S2, S4 and itself, overwrites (i, T).
    cluster.crash(a);
    await cluster.runFor(50); // its messages on the wire to S2 and S4 land on blocked links
    cluster.network.heal();
    cluster.network.isolate(s3);
    cluster.start(s5);
    const d = await electedAmong(cluster, [s5, b, s4], { stable: true, ms: 20_000 });
    expect(d, 'only S5 has the most up-to-date log among S2, S4, S5').to.equal(s5);
    expect(coreOf(cluster, b).log.termAt(i), 'S2 took S5\'s entry at i').to.equal(termT1);

    await healAndConverge(cluster);
    for (const id of cluster.voterIds) expect(coreOf(cluster, id).log.termAt(i), `n${id} at index ${i}`).to.equal(termT1);
    expect(x.state, 'the client of the overwritten entry was never told it committed').to.equal('failed');
    expect(commitRule).to.deep.equal([]);
    expect(cluster.checker.violations).to.deep.equal([]);
  });

  it('partitioned leader keeps taking proposals, then rejoins: its entries are overwritten and its clients get errors (Raft §5.3; Jepsen etcd 2014)', async () => {
    // Check-quorum off, so the cut-off leader keeps believing it leads and keeps accepting proposals.
    const cluster = newCluster({ seed: 11, voters: 3, checkQuorum: false });
    const applies = recordApplies(cluster);
    await cluster.startAll();
    const old = await stableLeader(cluster);
    await converge(cluster);
    const oldTerm = coreOf(cluster, old).term;
    const commitBefore = coreOf(cluster, old).log.commitIndex;

    cluster.network.isolate(old);
    const stale: Outcome[] = [];
    for (let k = 0; k < 10; k++) {
      stale.push(submit(cluster, old, `stale-${k}`));
      await cluster.runFor(300);
    }
    const others = cluster.voterIds.filter((id) => id !== old);
    const leader = await electedAmong(cluster, others, { stable: true });
    const fresh: Outcome[] = [];
    for (let k = 0; k < 10; k++) fresh.push(submit(cluster, leader, `fresh-${k}`));
    await settle(cluster, fresh);
    expect(fresh.map((o) => o.state)).to.deep.equal(Array(10).fill('committed'));
    // The isolated leader still leads its old term, holds its proposals, and committed none of them.
    const oldCore = coreOf(cluster, old);
    expect([oldCore.role, oldCore.term]).to.deep.equal(['leader', oldTerm]);
    expect(oldCore.log.lastIndex()).to.be.at.least(commitBefore + 10);
    expect(oldCore.log.commitIndex).to.equal(commitBefore);
    expect(stale.every((o) => o.state === 'pending')).to.equal(true);

    cluster.network.reconnect(old);
    await settle(cluster, stale);
    await healAndConverge(cluster);
    // Every client of the stale leader got an error, none a success; the new leader's entries won.
    expect(stale.map((o) => o.state)).to.deep.equal(Array(10).fill('failed'));
    for (const o of stale) expect(o.code).to.be.oneOf(['LEADERSHIP_LOST', 'PROPOSAL_DROPPED']);
    expect(applies.filter((a) => a.data.startsWith('stale-'))).to.deep.equal([]);
    for (const o of fresh) expect(coreOf(cluster, old).log.termAt(o.index as number)).to.equal(o.term);
    expect(cluster.checker.violations).to.deep.equal([]);
  });

  it('leader backs up over a follower\'s 300 divergent uncommitted entries in a few round trips (Raft §5.3 Figure 7; etcd-io/raft fast back-tracking)', async () => {
    // No compaction: the follower must be brought back by log entries alone, not by a snapshot.
    const cluster = newCluster({ seed: 21, voters: 3, checkQuorum: false, snapshotEntries: 100_000 });
    await cluster.startAll();
    const old = await stableLeader(cluster);
    await settle(cluster, [...Array(20).keys()].map((k) => submit(cluster, old, `common-${k}`)));
    await converge(cluster);
    const divergeAt = coreOf(cluster, old).log.lastIndex() + 1;

    // The cut-off leader appends 300 entries of its term that nobody else will ever hold.
    cluster.network.isolate(old);
    const stale: Outcome[] = [];
    for (let k = 0; k < 300; k++) stale.push(submit(cluster, old, `stale-${k}`));
    await cluster.runFor(200);
    expect(cluster.machine(old).disk.durableLastIndex()).to.equal(divergeAt + 299);
    const others = cluster.voterIds.filter((id) => id !== old);
    const first = await electedAmong(cluster, others, { stable: true });
    const fresh: Outcome[] = [];
    for (let k = 0; k < 200; k++) fresh.push(submit(cluster, first, `fresh-${k}`));
    await settle(cluster, fresh);
    expect(fresh.every((o) => o.state === 'committed')).to.equal(true);
    // A further election, so that the leader that meets the divergent follower took office with its
    // whole log: its first probe goes ~200 entries past the point of divergence (Figure 7).
    cluster.crash(first);
    cluster.start(first);
    const leader = await electedAmong(cluster, others, { stable: true });
    expect(coreOf(cluster, leader).term).to.be.above(coreOf(cluster, leader).log.termAt(divergeAt + 1) as number);
    const sends = recordSends(cluster);
    const t0 = cluster.scheduler.nowMs();
    cluster.network.reconnect(old);
    const leaderCore = coreOf(cluster, leader);
    const caughtUp = (): boolean => {
      const c = coreOf(cluster, old);
      return c.role === 'follower' && c.log.lastIndex() === leaderCore.log.lastIndex() && c.log.commitIndex === leaderCore.log.commitIndex;
    };
    expect(await cluster.runFor(5000, caughtUp), cluster.describe()).to.equal(true);
    const elapsedMs = cluster.scheduler.nowMs() - t0;
    const appends = sends.filter((s) => s.msg.type === 'append' && s.msg.from === leader && s.msg.to === old);
    const rejections = sends.filter((s) => s.msg.type === 'append-response' && s.msg.from === old && s.msg.rejected && s.msg.index > 0);
    // Backing up one entry per round trip would take ~200 rejections; term-based hints take one or two.
    expect(rejections.length, 'rejected appends').to.be.within(1, 3);
    expect(appends.length, 'appends to the divergent follower').to.be.at.most(8);
    expect(elapsedMs, 'virtual ms to converge').to.be.at.most(500);
    expect(coreOf(cluster, old).log.termAt(divergeAt + 250), 'the stale tail beyond the leader\'s log is gone').to.equal(undefined);
    const oldLog = coreOf(cluster, old).log;
    for (let index = divergeAt; index <= leaderCore.log.lastIndex(); index++) expect(oldLog.termAt(index)).to.equal(leaderCore.log.termAt(index));

    await settle(cluster, stale);
    await healAndConverge(cluster);
    expect(stale.filter((o) => o.state === 'committed')).to.deep.equal([]);
    expect(cluster.checker.violations).to.deep.equal([]);
  });

  describe('disruptive follower rejoining after an isolation (Raft thesis §9.6; KIP-996)', () => {
    async function isolateFollower(options: { preVote: boolean; checkQuorum: boolean }) {
      const cluster = newCluster({ seed: 31, voters: 3, ...options });
      await cluster.startAll();
      const leader = await stableLeader(cluster);
      await converge(cluster);
      const termBefore = coreOf(cluster, leader).term;
      const follower = cluster.voterIds.find((id) => id !== leader) as NodeId;
      cluster.network.isolate(follower);
      await cluster.runFor(10_000);
      const isolatedTerm = coreOf(cluster, follower).term;
      cluster.network.reconnect(follower);
      await cluster.runFor(3000);
      const after = { leader: cluster.leader(), term: coreOf(cluster, cluster.leader() ?? leader).term };
      await healAndConverge(cluster);
      expect(cluster.checker.violations).to.deep.equal([]);
      return { leader, termBefore, isolatedTerm, after };
    }

    it('with pre-vote: the isolated follower\'s term does not rise and the leader is not deposed', async () => {
      const r = await isolateFollower({ preVote: true, checkQuorum: true });
      expect(r.isolatedTerm).to.equal(r.termBefore);
      expect(r.after).to.deep.equal({ leader: r.leader, term: r.termBefore });
    });

    it('without pre-vote (nor check-quorum): its term rises with every timeout and its return deposes the leader', async () => {
      const r = await isolateFollower({ preVote: false, checkQuorum: false });
      expect(r.isolatedTerm).to.be.at.least(r.termBefore + 3);
      expect(r.after.term).to.be.at.least(r.isolatedTerm);
      expect(r.after.term).to.be.above(r.termBefore);
    });
  });

  it('crash between vote and fsync: a vote lost with the crash was never sent, and no voter votes twice (Raft Figure 2; etcd-io/raft doc.go)', async () => {
    const cluster = newCluster({ seed: 41, voters: 3, diskLatencyMs: { min: 20, max: 80 } });
    const sends = recordSends(cluster);
    // Every granted vote leaves only once the voter's disk records that vote in that term.
    const early: string[] = [];
    const onSend = cluster.checker.onSend.bind(cluster.checker);
    cluster.checker.onSend = (msg: Message) => {
      if (msg.type === 'vote-response' && msg.granted) {
        const hs = cluster.machine(msg.from).disk.durableHardState();
        if (hs.term !== msg.term || hs.vote !== msg.to) early.push(`n${msg.from} granted n${msg.to} in term ${msg.term}; disk has term ${hs.term} vote ${hs.vote}`);
      }
      onSend(msg);
    };
    await cluster.startAll();
    let caught = 0;
    for (let round = 0; round < 4; round++) {
      const leader = await stableLeader(cluster);
      cluster.crash(leader);
      // Wait for a voter to grant a vote in memory while the hard state that records it is still in flight.
      const voting = (): NodeId | undefined =>
        cluster.voterIds.find((id) => {
          const core = cluster.machine(id).core();
          if (core === undefined || core.vote === NO_NODE || core.vote === id) return false;
          const hs = cluster.machine(id).disk.durableHardState();
          return hs.term !== core.term || hs.vote !== core.vote;
        });
      if (await cluster.runFor(5000, () => voting() !== undefined)) {
        const voter = voting() as NodeId;
        const { term, vote } = coreOf(cluster, voter);
        cluster.crash(voter);
        caught++;
        const sent = sends.filter((s) => s.msg.type === 'vote-response' && s.msg.from === voter && s.msg.term === term && s.msg.granted);
        expect(sent, `n${voter}'s vote for n${vote} in term ${term} was lost with the crash, so it must not have left`).to.deep.equal([]);
        const durable = cluster.machine(voter).disk.durableHardState();
        expect([durable.term, durable.vote], 'the vote died with the process').to.not.deep.equal([term, vote]);
        await cluster.runFor(200);
        cluster.start(voter);
      }
      cluster.start(leader);
      await cluster.runFor(3000);
    }
    expect(caught, 'rounds that crashed a voter between vote and fsync').to.be.at.least(3);
    expect(sends.filter((s) => s.msg.type === 'vote-response' && s.msg.granted).length).to.be.above(0);
    await healAndConverge(cluster);
    expect(early).to.deep.equal([]);
    expect(cluster.checker.violations).to.deep.equal([]);
  });

  it('all voters killed, a majority restarted: every acknowledged entry survives and a leader is elected', async () => {
    const cluster = newCluster({ seed: 51, voters: 5 });
    await cluster.startAll();
    const leader = await stableLeader(cluster);
    const acked: Outcome[] = [];
    for (let k = 0; k < 30; k++) acked.push(submit(cluster, leader, `acked-${k}`));
    await settle(cluster, acked);
    expect(acked.every((o) => o.state === 'committed')).to.equal(true);
    // A few more in flight at the kill: outcome unknown.
    const unknown = [0, 1, 2, 3, 4].map((k) => submit(cluster, leader, `in-flight-${k}`));
    for (const id of cluster.voterIds) cluster.crash(id);

    // Restart the three with the shortest durable logs: any majority must still hold every committed entry.
    const byLength = [...cluster.voterIds].sort((p, q) => cluster.machine(p).disk.durableLastIndex() - cluster.machine(q).disk.durableLastIndex());
    const majority = byLength.slice(0, 3);
    for (const id of majority) cluster.start(id);
    const newLeader = await electedAmong(cluster, majority, { stable: true, ms: 20_000 });
    const log = coreOf(cluster, newLeader).log;
    for (const o of acked) {
      expect(log.termAt(o.index as number), `${o.data} at ${o.index}`).to.equal(o.term);
      expect(decoder.decode(log.entryAt(o.index as number)?.data)).to.equal(o.data);
    }
    const after = submit(cluster, newLeader, 'with a majority back');
    await settle(cluster, [after]);
    expect(after.state).to.equal('committed');
    await healAndConverge(cluster);
    expect(unknown.every((o) => o.state === 'failed')).to.equal(true);
    expect(cluster.checker.violations).to.deep.equal([]);
  });

  it('one voter\'s disk wiped while the others need its vote: it abstains until caught up (Alagappan et al., FAST \'18, "Protocol-aware recovery")', async () => {
    const cluster = newCluster({ seed: 61, voters: 3 });
    const sends = recordSends(cluster);
    await cluster.startAll();
    const leader = await stableLeader(cluster);
    await converge(cluster);
    const [wiped, lagging] = cluster.voterIds.filter((id) => id !== leader) as [NodeId, NodeId];

    // `lagging` hears nothing from the leader: these entries commit on the leader and `wiped` only.
    cluster.network.blockLink(leader, lagging);
    const acked = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map((k) => submit(cluster, leader, `acked-${k}`));
    await settle(cluster, acked);
    expect(acked.every((o) => o.state === 'committed')).to.equal(true);
    const lastAcked = Math.max(...acked.map((o) => o.index as number));
    expect(cluster.machine(lagging).disk.durableLastIndex()).to.be.below(lastAcked);

    // `wiped` loses everything it acknowledged; the leader goes down. Were `wiped` to vote now, it could
    // elect `lagging`, which lacks committed entries.
    cluster.wipeDisk(wiped);
    cluster.crash(leader);
    cluster.network.heal();
    cluster.start(wiped);
    const wipeMs = cluster.scheduler.nowMs();
    await cluster.runFor(8000);
    expect(coreOf(cluster, wiped).recovering).to.equal(true);
    expect(cluster.leader(), 'no leader without the up-to-date voter').to.equal(undefined);
    const asked = sends.filter((s) => s.atMs >= wipeMs && s.msg.to === wiped && (s.msg.type === 'pre-vote' || s.msg.type === 'vote'));
    expect(asked.length, '`lagging` did ask the recovering voter').to.be.above(0);

    cluster.start(leader);
    const recoveredAt = { ms: -1 };
    const stop = cluster.scheduler.onAfterEvent(() => {
      if (recoveredAt.ms < 0 && cluster.machine(wiped).core()?.recovering === false) recoveredAt.ms = cluster.scheduler.nowMs();
    });
    expect(await cluster.runFor(10_000, () => recoveredAt.ms >= 0), cluster.describe()).to.equal(true);
    stop();
    expect(await electedAmong(cluster, cluster.voterIds, { stable: true })).to.equal(leader);
    // While recovering it granted nothing, neither a pre-vote nor a vote.
    const grants = sends.filter(
      (s) => s.msg.from === wiped && s.atMs >= wipeMs && s.atMs < recoveredAt.ms && (s.msg.type === 'vote-response' || s.msg.type === 'pre-vote-response') && s.msg.granted,
    );
    expect(grants).to.deep.equal([]);
    expect(sends.filter((s) => s.senderRecovering && (s.msg.type === 'vote-response' || s.msg.type === 'pre-vote-response') && s.msg.granted)).to.deep.equal([]);

    await healAndConverge(cluster);
    const log = coreOf(cluster, wiped).log;
    for (const o of acked) expect(log.termAt(o.index as number)).to.equal(o.term);
    expect(cluster.checker.violations).to.deep.equal([]);
  });

  it('back-to-back leader failures: each new leader is killed as soon as it is elected, three times over (Kafka RaftEventSimulationTest)', async () => {
    const cluster = newCluster({ seed: 71, voters: 5 });
    const applies = recordApplies(cluster);
    await cluster.startAll();
    let leader = await stableLeader(cluster);
    const first = submit(cluster, leader, 'before the failovers');
    await settle(cluster, [first]);
    expect(first.state).to.equal('committed');
    const proposals: Outcome[] = [first];
    const terms = [coreOf(cluster, leader).term];
    const down: NodeId[] = [];
    for (let round = 0; round < 4; round++) {
      proposals.push(submit(cluster, leader, `to leader ${round}`));
      cluster.crash(leader);
      down.push(leader);
      // Keep a majority of five alive: at most two voters down while electing.
      if (down.length > 2) cluster.start(down.shift() as NodeId);
      const up = cluster.voterIds.filter((id) => !down.includes(id));
      leader = await electedAmong(cluster, up, { ms: 20_000 });
      const term = coreOf(cluster, leader).term;
      expect(term, 'a new leader has a higher term').to.be.above(terms[terms.length - 1] as number);
      terms.push(term);
    }
    cluster.crash(leader);
    await healAndConverge(cluster);
    expect(terms.length).to.equal(5);
    expect(coreOf(cluster, cluster.leader() as NodeId).log.termAt(first.index as number), 'the entry committed before the failovers').to.equal(first.term);
    expectAppliedAtMostOnce(applies, proposals);
    expect(cluster.checker.violations).to.deep.equal([]);
  });

  describe('asymmetric partition of the leader (Cloudflare 2020 etcd outage; Jepsen)', () => {
    it('outbound lost: the leader hears everyone but reaches no one, and steps down by check-quorum', async () => {
      const cluster = newCluster({ seed: 81, voters: 3 });
      await cluster.startAll();
      const old = await stableLeader(cluster);
      await converge(cluster);
      const oldTerm = coreOf(cluster, old).term;
      const t0 = cluster.scheduler.nowMs();
      for (const id of cluster.voterIds) if (id !== old) cluster.network.blockLink(old, id);
      expect(await cluster.runFor(5000, () => coreOf(cluster, old).role !== 'leader')).to.equal(true);
      // Check-quorum runs once per election timeout (1 s here): within two of them.
      expect(cluster.scheduler.nowMs() - t0).to.be.at.most(2100);
      const others = cluster.voterIds.filter((id) => id !== old);
      const leader = await electedAmong(cluster, others, { stable: true });
      expect(coreOf(cluster, leader).term).to.be.above(oldTerm);
      const refused = submit(cluster, old, 'to the deposed leader');
      await settle(cluster, [refused]);
      expect([refused.state, refused.code]).to.deep.equal(['failed', 'NOT_LEADER']);
      await healAndConverge(cluster);
      expect(cluster.checker.violations).to.deep.equal([]);
    });

    it('inbound lost: the leader reaches everyone but hears no one; it steps down and the followers elect another', async () => {
      const cluster = newCluster({ seed: 82, voters: 3 });
      await cluster.startAll();
      const old = await stableLeader(cluster);
      await converge(cluster);
      const oldTerm = coreOf(cluster, old).term;
      let oldLedAgain = false;
      cluster.scheduler.onAfterEvent(() => {
        const c = cluster.machine(old).core();
        if (c !== undefined && c.role === 'leader' && c.term > oldTerm) oldLedAgain = true;
      });
      for (const id of cluster.voterIds) if (id !== old) cluster.network.blockLink(id, old);
      const others = cluster.voterIds.filter((id) => id !== old);
      const leader = await electedAmong(cluster, others, { stable: true, ms: 10_000 });
      expect(coreOf(cluster, leader).term).to.be.above(oldTerm);
      await cluster.runFor(5000);
      expect(coreOf(cluster, old).role).to.not.equal('leader');
      expect(oldLedAgain, 'a node that hears no one can never win a vote').to.equal(false);
      await healAndConverge(cluster);
      expect(cluster.checker.violations).to.deep.equal([]);
    });
  });

  it('swizzle-clog: clog a random subset one by one, unclog in another order, under load (FoundationDB)', async () => {
    const cluster = newCluster({ seed: 91, voters: 5, observers: 1 });
    const applies = recordApplies(cluster);
    await cluster.startAll();
    await stableLeader(cluster);
    const outcomes: Outcome[] = [];
    let running = true;
    let seq = 0;
    const client = (): void => {
      if (!running) return;
      cluster.scheduler.setTimer(50, () => {
        const leader = cluster.leader();
        if (running && leader !== undefined && outcomes.filter((o) => o.state === 'pending').length < 16) outcomes.push(submit(cluster, leader, `swizzle-${seq++}`));
        client();
      });
    };
    client();
    const leadersClogged: boolean[] = [];
    const probes: Outcome[] = [];
    // Swizzle until the subset has twice included the leader of the moment (each round's subset is random).
    for (let round = 0; round < 12 && leadersClogged.filter((c) => c).length < 2; round++) {
      const leader = cluster.leader();
      const swizzle = cluster.network.swizzleClog([...cluster.machines.keys()], { extraMs: 2500, intervalMsMax: 800 });
      leadersClogged.push(leader !== undefined && swizzle.nodes.includes(leader));
      await cluster.runFor(swizzle.endsAtMs - cluster.scheduler.nowMs());
      // Everyone is unclogged again (clogged messages may still be landing): a client retrying on
      // retriable errors must get a new proposal committed within a few election timeouts.
      probes.push(await commitWithRetry(cluster, `probe-${round}`, 10_000));
    }
    running = false;
    await settle(cluster, outcomes, 20_000);
    await healAndConverge(cluster);
    expect(leadersClogged.filter((c) => c), 'rounds whose clogged subset held the leader').to.have.length(2);
    expect(probes.map((p) => p.state)).to.deep.equal(probes.map(() => 'committed'));
    const committed = outcomes.filter((o) => o.state === 'committed');
    const leaderLog = coreOf(cluster, cluster.leader() as NodeId).log;
    for (const o of committed) if ((o.index as number) > leaderLog.snapshotIndex) expect(leaderLog.termAt(o.index as number)).to.equal(o.term);
    expectAppliedAtMostOnce(applies, outcomes);
    expect(cluster.checker.violations).to.deep.equal([]);
  });

  it('power loss of every node at once, with torn writes, three times: every acknowledged proposal survives (TigerBeetle VOPR; Pillai et al., OSDI \'14)', async () => {
    const cluster = newCluster({ seed: 101, voters: 3, observers: 1, diskLatencyMs: { min: 1, max: 8 }, snapshotEntries: 100_000 });
    const applies = recordApplies(cluster);
    const all = [...cluster.machines.keys()];
    await cluster.startAll();
    const outcomes: Outcome[] = [];
    let seq = 0;
    let running = true;
    const client = (): void => {
      cluster.scheduler.setTimer(5, () => {
        if (!running) return;
        const leader = cluster.leader();
        if (leader !== undefined && outcomes.filter((o) => o.state === 'pending').length < 24) outcomes.push(submit(cluster, leader, `p-${seq++}`));
        client();
      });
    };
    client();
    const inFlightAtCut: number[] = [];
    for (let round = 0; round < 3; round++) {
      await stableLeader(cluster);
      await cluster.runFor(1500);
      // Cut the power while at least two machines have log writes on their way to disk.
      const writing = (): NodeId[] => all.filter((id) => {
        const c = cluster.machine(id).core();
        return c !== undefined && c.log.stableIndex < c.log.lastIndex();
      });
      expect(await cluster.runFor(2000, () => writing().length >= 2)).to.equal(true);
      inFlightAtCut.push(writing().length);
      cluster.powerLoss(all);
      await cluster.runFor(500);
      for (const id of all) cluster.start(id);
    }
    running = false;
    await settle(cluster, outcomes, 20_000);
    await healAndConverge(cluster);
    expect(inFlightAtCut.every((n) => n >= 2)).to.equal(true);
    const acked = outcomes.filter((o) => o.state === 'committed');
    expect(acked.length).to.be.above(100);
    expect(outcomes.some((o) => o.state === 'failed' && o.code === 'NODE_STOPPED'), 'some proposals were cut off mid-flight').to.equal(true);
    const log = coreOf(cluster, cluster.leader() as NodeId).log;
    for (const o of acked) {
      expect(log.termAt(o.index as number), `${o.data} at ${o.index}`).to.equal(o.term);
      expect(decoder.decode(log.entryAt(o.index as number)?.data)).to.equal(o.data);
    }
    expectAppliedAtMostOnce(applies, outcomes);
    expect(cluster.checker.violations).to.deep.equal([]);
  });

  it('observers follow the committed log, never vote, and catch up by snapshot after a long absence (KIP-595 observers; Raft §7)', async () => {
    const cluster = newCluster({ seed: 111, voters: 3, observers: 2, snapshotEntries: 20, snapshotTrailingEntries: 0 });
    const sends = recordSends(cluster);
    const [o1, o2] = cluster.observerIds as [NodeId, NodeId];
    const observerRoles = new Set<string>();
    cluster.scheduler.onAfterEvent(() => {
      for (const id of cluster.observerIds) {
        const role = cluster.machine(id).core()?.role;
        if (role !== undefined) observerRoles.add(role);
      }
    });
    await cluster.startAll();
    let leader = await stableLeader(cluster);
    const early = [0, 1, 2, 3, 4].map((k) => submit(cluster, leader, `early-${k}`));
    await settle(cluster, early);
    await converge(cluster);
    expect(coreOf(cluster, o1).log.commitIndex).to.equal(coreOf(cluster, leader).log.commitIndex);

    cluster.crash(o1);
    const later: Outcome[] = [];
    for (let batch = 0; batch < 10; batch++) {
      leader = await stableLeader(cluster);
      const outcomes = [...Array(20).keys()].map((k) => submit(cluster, leader, `later-${batch}-${k}`));
      await settle(cluster, outcomes);
      later.push(...outcomes);
    }
    expect(later.every((o) => o.state === 'committed')).to.equal(true);
    const leaderLog = coreOf(cluster, leader).log;
    expect(leaderLog.snapshotIndex, 'the leader compacted past what the observer holds').to.be.above(cluster.machine(o1).disk.durableLastIndex());
    // The observer that stayed up follows within a heartbeat or two.
    expect(await cluster.runFor(500, () => coreOf(cluster, o2).log.appliedIndex === leaderLog.commitIndex)).to.equal(true);

    const restartMs = cluster.scheduler.nowMs();
    cluster.start(o1);
    // The state machine's own index: the core counts a received snapshot as applied as soon as it takes
    // it (raft-log.ts `restore`), before the node loop has persisted it and restored the state machine.
    const observerCaughtUp = (): boolean =>
      cluster.machine(o1).isUp && cluster.stateMachineOf(o1).appliedIndex === coreOf(cluster, leader).log.commitIndex;
    expect(await cluster.runFor(10_000, observerCaughtUp)).to.equal(true);
    const snapshots = sends.filter((s) => s.atMs >= restartMs && s.msg.type === 'snapshot' && s.msg.to === o1);
    expect(snapshots.length, 'snapshots sent to the returning observer').to.be.at.least(1);
    expect(cluster.stateMachineOf(o1).hash).to.equal(cluster.stateMachineOf(leader).hash);

    await healAndConverge(cluster);
    expect([...observerRoles]).to.deep.equal(['observer']);
    const electioneering = sends.filter((s) => cluster.observerIds.includes(s.msg.from) && ['vote', 'pre-vote', 'vote-response', 'pre-vote-response'].includes(s.msg.type));
    expect(electioneering).to.deep.equal([]);
    expect(cluster.checker.violations).to.deep.equal([]);
  });
});

describe('Raft snapshots by size and interval (simulated cluster)', function () {
  this.timeout(30_000);

  async function snapshotIndexAfter(options: Partial<RaftClusterOptions>, proposals: number, bytes: number, waitMs: number): Promise<number> {
    const cluster = new RaftCluster({ seed: 99, voters: 3, snapshotEntries: 1_000_000, ...options });
    await cluster.startAll();
    await cluster.runFor(5000, () => cluster.leader() !== undefined);
    const leader = cluster.leader() as NodeId;
    let done = 0;
    for (let i = 0; i < proposals; i++) void cluster.propose(leader, new Uint8Array(bytes).fill(i % 256)).then(() => done++);
    await cluster.runFor(5000, () => done === proposals);
    expect(done).to.equal(proposals);
    await cluster.runFor(waitMs);
    expect(cluster.checker.violations).to.deep.equal([]);
    return (cluster.machine(leader).core() as RaftCore).log.snapshotIndex;
  }

  it('takes a snapshot once the applied entries reach snapshotBytes, and not before', async () => {
    expect(await snapshotIndexAfter({ snapshotBytes: 1_000_000 }, 50, 100, 100)).to.equal(0);
    expect(await snapshotIndexAfter({ snapshotBytes: 2_000 }, 50, 100, 100)).to.be.above(0);
  });

  it('takes a snapshot after snapshotIntervalMs when anything was applied', async () => {
    expect(await snapshotIndexAfter({ snapshotIntervalMs: 60_000 }, 5, 10, 1000)).to.equal(0);
    expect(await snapshotIndexAfter({ snapshotIntervalMs: 2_000 }, 5, 10, 3000)).to.be.above(0);
  });
});
