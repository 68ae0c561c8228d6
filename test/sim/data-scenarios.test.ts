/**
 * Named fault scenarios for the data plane (src/partitions) on whole simulated clusters: three
 * dedicated controllers, brokers 101..103 with the data-plane add-on, as sim/run-data-seed.ts builds
 * them (test/sim/data-harness.ts). Each scenario reads like the fault it reproduces, cites its source
 * (KIP-101, KIP-279, KIP-320, KIP-966, Jepsen's 2013 Kafka analysis, docs/data-plane.md), asserts its
 * specific point, and ends with the Raft, metadata and data checkers' violations empty — except where
 * a scenario exists to show a documented gap, which it says.
 *
 * Virtual time only; every scenario is a fixed seed and replays bit for bit.
 */
import { expect } from 'chai';
import type { FetchResponse } from '../../src/partitions/replica.js';
import type { NodeId } from '../../src/raft/types.js';
import { DataCluster, recordsIn, values, type ProduceOutcome } from './data-harness.js';

function errorOf(a: ProduceOutcome | FetchResponse | { error: string } | readonly unknown[] | undefined): string | undefined {
  if (a === undefined || a === 'timeout') return a;
  return !Array.isArray(a) && 'error' in a ? (a as { error: string }).error : undefined;
}

async function startCluster(seed: number, options: { segmentBytes?: number } = {}): Promise<DataCluster> {
  const c = new DataCluster({ seed, trace: process.env.DEBUG_SCEN !== undefined, ...options });
  await c.start();
  return c;
}

function others(all: readonly NodeId[], ...not: NodeId[]): NodeId[] {
  return all.filter((id) => !not.includes(id));
}

const NO_LEADER = -1;
const sameSet = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((x) => b.includes(x));

describe('data-plane scenarios (simulated cluster)', function () {
  this.timeout(120_000);

  it('smoke: a topic is created, acks=all writes are committed on every replica, the checkers are clean', async () => {
    const c = await startCluster(1);
    const t = await c.createTopic('smoke', { configs: { 'min.insync.replicas': '2' } });
    const leader = c.leaderOf(t) as NodeId;
    for (let i = 0; i < 5; i++) await c.produceOk(leader, t, 0, [`v${i}`], { acks: -1 });
    const finals = await c.finalCheck(t);
    expect(values(finals.get(0) ?? [])).to.deep.equal(['v0', 'v1', 'v2', 'v3', 'v4']);
    expect(c.violations).to.deep.equal([]);
  });

  // KIP-101 scenario 1: a follower that restarts and truncates to its (lagging) HW, then becomes
  // leader, loses an acknowledged write. Skein never truncates on restart (only by leader epoch). A
  // restarted broker leaves the ISR in Skein (its old session is fenced first), so to reach KIP-101's
  // "it then becomes leader" before it could re-fetch, A is cut off from B and the topic allows unclean
  // election: B then leads with exactly the log it recovered.
  it('KIP-101 scenario 1: a restarted follower keeps its tail above its HW; the acknowledged write survives when it leads', async () => {
    const c = await startCluster(101);
    const t = await c.createTopic('kip101a', { replicationFactor: 2, configs: { 'min.insync.replicas': '1', 'unclean.leader.election.enable': 'true' } });
    const p = c.partition(t)!;
    const a = p.leader;
    const b = others(p.replicas, a)[0]!;
    await c.produceOk(a, t, 0, ['m1'], { acks: -1 });
    await c.produceOk(a, t, 0, ['m2'], { acks: -1 });
    expect(c.logOn(b, t).logEndOffset, 'B holds m2').to.equal(2);
    expect(c.logOn(b, t).highWatermark, 'B has not yet learned the HW that covers m2').to.be.lessThan(2);
    c.partitionNetwork([a], [b]); // A dies (below) before B can fetch anything again
    c.crash(b);
    c.restart(b);
    await c.runUntil('B reopened its log', () => c.replicaOn(b, t) !== undefined);
    expect(c.logOn(b, t).logEndOffset, 'no truncation to the HW on restart').to.equal(2);
    expect(c.logOn(b, t).highWatermark, 'its recovered HW is still below m2').to.be.lessThan(2);
    await c.runUntil('B unfenced again', () => c.brokerFenced(b) === false && c.node(b)?.broker?.state === 'running');
    c.crash(a);
    await c.runUntil('B leads (unclean: A is gone)', () => c.isActingLeader(b, t));
    expect(values(await c.records(b, t)), 'B leads with m1 and m2').to.deep.equal(['m1', 'm2']);
    const finals = await c.finalCheck(t);
    expect(values(finals.get(0)!)).to.deep.equal(['m1', 'm2']);
    expect(c.violations).to.deep.equal([]);
  });

  // KIP-101 scenario 2: after a double failure the two replicas hold different data at the same
  // offset (A: an acks=1 write B never fetched; B: a write of its own later epoch). A truncates by
  // leader epoch, not by HW, and both converge to B's log.
  it('KIP-101 scenario 2: divergent logs after a double failure converge to one log by leader epoch', async () => {
    const c = await startCluster(102);
    const t = await c.createTopic('kip101b', { replicationFactor: 2, configs: { 'min.insync.replicas': '1' } });
    const p = c.partition(t)!;
    const a = p.leader;
    const b = others(p.replicas, a)[0]!;
    await c.produceOk(a, t, 0, ['m1'], { acks: -1 });
    c.partitionNetwork([a], [b]);
    await c.produceOk(a, t, 0, ['m2'], { acks: 1 }); // fsynced on A (flush=always), never on B
    expect(c.logOn(b, t).logEndOffset).to.equal(1);
    // The double failure: A loses power; B's process dies a little later, so A is fenced first and B
    // is elected (still unfenced), then B is fenced: the partition is offline with ISR [B].
    c.powerCut([a]);
    await c.runFor(1200);
    c.crash(b);
    await c.runUntil('offline with B as the last ISR member', () => {
      const s = c.partition(t);
      return s !== undefined && s.leader === NO_LEADER && sameSet(s.isr, [b]);
    });
    c.healNetwork();
    expect(values(c.diskRecords(a, t).records), "A's disk holds m2 at offset 1").to.deep.equal(['m1', 'm2']);
    c.restart(b);
    await c.runUntil('B leads again', () => c.isActingLeader(b, t));
    await c.produceOk(b, t, 0, ['m3'], { acks: -1 });
    const epochOfB = c.partition(t)!.leaderEpoch;
    c.restart(a);
    await c.runUntil('A told it diverged', () => c.fetchLog.some((e) => e.servedBy === b && e.request.replicaId === a && e.diverging));
    const finals = await c.finalCheck(t);
    expect(values(finals.get(0)!)).to.deep.equal(['m1', 'm3']);
    expect(await c.records(a, t)).to.deep.equal(await c.records(b, t));
    expect(c.logOn(a, t).endOffsetForEpoch(epochOfB).epoch, 'A adopted B\'s epoch').to.be.at.least(epochOfB);
    expect(c.violations).to.deep.equal([]);
  });

  // KIP-279: leadership moves X -> Y -> Z quickly; Y wrote in its epoch what nobody fetched, so when
  // it comes back its last epoch is one the leader Z never had. Z answers with the last epoch it shares;
  // Y truncates there and converges.
  it('KIP-279: after two quick leader changes a follower holds an epoch the leader never had, and converges', async () => {
    const c = await startCluster(279);
    const t = await c.createTopic('kip279', { configs: { 'min.insync.replicas': '1' } });
    const p = c.partition(t)!;
    const x = p.leader;
    const [y, z] = others(p.replicas, x) as [NodeId, NodeId];
    await c.produceOk(x, t, 0, ['m1'], { acks: -1 });
    c.partitionNetwork([x], [y, z]);
    await c.produceOk(x, t, 0, ['m2'], { acks: 1 }); // only on X
    c.crash(x);
    await c.runUntil('Y leads', () => c.isActingLeader(y, t));
    const epochOfY = c.partition(t)!.leaderEpoch;
    c.partitionNetwork([y], [z]);
    await c.produceOk(y, t, 0, ['m3'], { acks: 1 }); // only on Y, in Y's epoch
    c.crash(y);
    await c.runUntil('Z leads', () => c.isActingLeader(z, t));
    const epochOfZ = c.partition(t)!.leaderEpoch;
    expect(epochOfZ).to.be.greaterThan(epochOfY);
    expect(c.logOn(z, t).endOffsetForEpoch(epochOfY).epoch, 'Z never had Y\'s epoch').to.be.lessThan(epochOfY);
    expect(c.logOn(z, t).logEndOffset).to.equal(1);
    c.healNetwork();
    c.restart(y);
    c.restart(x);
    await c.runUntil('Z answers Y (last epoch: Y\'s) with a diverging epoch', () =>
      c.fetchLog.some((e) => e.servedBy === z && e.request.replicaId === y && e.request.lastFetchedEpoch === epochOfY && e.diverging),
    );
    await c.produceOk(z, t, 0, ['m4'], { acks: -1 });
    const finals = await c.finalCheck(t);
    expect(values(finals.get(0)!)).to.deep.equal(['m1', 'm4']);
    for (const id of [x, y]) expect(values(await c.records(id, t)), `n${id}`).to.deep.equal(['m1', 'm4']);
    expect(c.violations).to.deep.equal([]);
  });

  // KIP-320: a follower paused past its session timeout wakes up believing an old leader epoch. Its
  // fetches carry that epoch; the leader (by now two epochs further) fences them and they change
  // nothing. Once its metadata catches up it fetches in the right epoch, catches up and rejoins.
  it('KIP-320: a zombie follower fetches with a stale leader epoch, gets FENCED_LEADER_EPOCH, never corrupts the log, and rejoins', async () => {
    const c = await startCluster(320);
    const t = await c.createTopic('kip320', { configs: { 'min.insync.replicas': '2' } });
    const p = c.partition(t)!;
    const [l, n, f] = p.replicas as [NodeId, NodeId, NodeId];
    expect(p.leader).to.equal(l);
    await c.produceOk(l, t, 0, ['a1'], { acks: -1 });
    const staleEpoch = p.leaderEpoch;
    c.pause(f);
    await c.runUntil('F fenced (session timeout)', () => c.brokerFenced(f) === true);
    // Leadership moves L -> N -> L (preferred leader) while F sleeps: two epochs F never hears of.
    c.crash(l);
    await c.runUntil('N leads', () => c.isActingLeader(n, t));
    await c.produceOk(n, t, 0, ['a2'], { acks: 1 });
    c.restart(l);
    await c.runUntil('L leads again (preferred replica)', () => c.isActingLeader(l, t) && c.partition(t)!.leaderEpoch >= staleEpoch + 2);
    await c.produceOk(l, t, 0, ['a3'], { acks: -1 });
    // F wakes up cut off from the controllers: it stays fenced, and only the metadata that reached it
    // while it slept (held messages) can update its view.
    c.partitionNetwork([f], c.cluster.voterIds);
    const fReplica = c.replicaManagers.get(f)!.replica(t, 0)!;
    expect(fReplica.state.leaderEpoch, 'the zombie believes the old epoch').to.equal(staleEpoch);
    const before = { end: fReplica.log.logEndOffset, records: c.diskRecords(f, t).records };
    const mark = c.fetchLog.length;
    let endWhenFenced: number | undefined;
    c.resume(f);
    await c.runUntil('L fences a fetch of F', () => {
      const fencedNow = c.fetchLog.slice(mark).some((e) => e.servedBy === l && e.request.replicaId === f && e.error === 'FENCED_LEADER_EPOCH');
      if (fencedNow) endWhenFenced = fReplica.log.logEndOffset;
      return fencedNow;
    });
    expect(endWhenFenced, 'the fenced fetch changed nothing').to.equal(before.end);
    expect(c.diskRecords(f, t).records).to.deep.equal(before.records);
    await c.runFor(3000);
    const stale = c.fetchLog.slice(mark).filter((e) => e.request.replicaId === f && e.request.currentLeaderEpoch < e.serverEpoch);
    expect(stale.length).to.be.greaterThan(0);
    for (const e of stale) expect(e.error, 'every stale-epoch fetch is fenced, none served').to.equal('FENCED_LEADER_EPOCH');
    expect(c.brokerFenced(f), 'still fenced by the controller').to.equal(true);
    expect(c.partition(t)!.isr, 'not back in the ISR while fenced').to.not.include(f);
    c.healNetwork();
    await c.produceOk(l, t, 0, ['a4'], { acks: -1 });
    const finals = await c.finalCheck(t);
    expect(values(finals.get(0)!)).to.deep.equal(['a1', 'a2', 'a3', 'a4']);
    expect(c.partition(t)!.isr, 'F rejoined the ISR').to.include(f);
    expect(values(await c.records(f, t))).to.deep.equal(['a1', 'a2', 'a3', 'a4']);
    expect(c.violations).to.deep.equal([]);
  });

  // KIP-966 "last replica standing": the ISR shrinks to the leader alone (min.insync.replicas=1, so
  // acks=all is still acknowledged), then it fails. With flush=always everything acknowledged was
  // fsynced on it: nothing is lost whether the process crashed or the power went; the partition
  // stays offline meanwhile (the followers are not in the ISR).
  for (const fault of ['process crash', 'power cut'] as const) {
    it(`KIP-966 last replica standing, flush=always, ${fault}: nothing acknowledged is lost`, async () => {
      const c = await startCluster(fault === 'process crash' ? 966 : 967);
      const t = await c.createTopic('kip966', { configs: { 'min.insync.replicas': '1', flush: 'always' } });
      const l = c.leaderOf(t)!;
      const followers = others(c.partition(t)!.replicas, l);
      await c.produceOk(l, t, 0, ['s1'], { acks: -1 });
      c.partitionNetwork([l], followers);
      await c.runUntil('ISR = [leader]', () => sameSet(c.partition(t)?.isr ?? [], [l]));
      const alone: string[] = [];
      for (let i = 0; i < 5; i++) {
        await c.produceOk(l, t, 0, [`alone${i}`], { acks: -1 });
        alone.push(`alone${i}`);
      }
      if (fault === 'process crash') c.crash(l);
      else c.powerCut([l], true);
      await c.runUntil('offline, the leader the last ISR member', () => {
        const s = c.partition(t);
        return s !== undefined && s.leader === NO_LEADER && sameSet(s.isr, [l]);
      });
      await c.runFor(5000);
      expect(c.partition(t)!.leader, 'no follower elected (unclean election is off)').to.equal(NO_LEADER);
      c.restart(l);
      await c.runUntil('the last replica leads again', () => c.isActingLeader(l, t));
      expect(values(await c.records(l, t))).to.deep.equal(['s1', ...alone]);
      const finals = await c.finalCheck(t);
      expect(values(finals.get(0)!)).to.deep.equal(['s1', ...alone]);
      expect(c.violations).to.deep.equal([]);
    });
  }

  // The documented gap (docs/data-plane.md, "Durability, per flush policy"): with flush=os the last
  // replica standing acknowledges from the page cache; a power cut before the background flush
  // loses that tail. This test passes when the loss happens — it pins the documented behaviour.
  it('KIP-966 documented gap, flush=os: a power cut of the last replica standing loses its unflushed acknowledged tail', async () => {
    const c = await startCluster(968);
    const t = await c.createTopic('kip966os', { configs: { 'min.insync.replicas': '1', flush: 'os' } });
    const l = c.leaderOf(t)!;
    await c.produceOk(l, t, 0, ['s1'], { acks: -1 });
    c.partitionNetwork([l], others(c.partition(t)!.replicas, l));
    await c.runUntil('ISR = [leader]', () => sameSet(c.partition(t)?.isr ?? [], [l]));
    const offset = await c.produceOk(l, t, 0, ['tail'], { acks: -1 });
    expect(c.logOn(l, t).flushedOffset, 'acknowledged but not yet flushed').to.be.at.most(offset);
    c.powerCut([l], false);
    c.restart(l);
    await c.runUntil('the last replica leads again', () => c.isActingLeader(l, t));
    expect(values(await c.records(l, t))).to.not.include('tail');
    await c.finalCheck(t);
    expect(c.violations.length).to.be.greaterThan(0);
    for (const v of c.violations) expect(v).to.match(/lost-write: 0 offset \d+ 'tail'/);
  });

  // Jepsen 2013 (Kafka 0.8 beta): the ISR shrank to the leader, which then died, and an out-of-sync
  // replica took over, losing acknowledged writes. Here min.insync.replicas=2 refuses acks=all while
  // the ISR is the leader alone, and with unclean election off the partition waits for it.
  it('Jepsen 2013: ISR shrinks to the leader, which dies: acks=all refused meanwhile, offline until it returns, nothing lost', async () => {
    const c = await startCluster(2013);
    const t = await c.createTopic('jepsen', { configs: { 'min.insync.replicas': '2' } });
    const l = c.leaderOf(t)!;
    const followers = others(c.partition(t)!.replicas, l);
    await c.produceOk(l, t, 0, ['j1', 'j2'], { acks: -1 });
    c.partitionNetwork([l], followers);
    await c.runUntil('ISR = [leader]', () => sameSet(c.partition(t)?.isr ?? [], [l]));
    const refused = await c.produce(l, t, 0, ['j3'], { acks: -1 });
    expect(errorOf(refused)).to.equal('NOT_ENOUGH_REPLICAS');
    expect(c.logOn(l, t).logEndOffset, 'a refused batch is not appended').to.equal(2);
    c.crash(l);
    await c.runUntil('offline', () => c.partition(t)?.leader === NO_LEADER);
    await c.runFor(10_000);
    expect(c.partition(t)!.leader, 'still offline').to.equal(NO_LEADER);
    for (const f of followers) expect(c.replicaOn(f, t)?.role, `n${f} did not take over`).to.not.equal('leader');
    expect(errorOf(await c.produce(followers[0]!, t, 0, ['j4'], { acks: -1 }))).to.equal('NOT_LEADER_OR_FOLLOWER');
    c.restart(l);
    await c.runUntil('the old leader leads again', () => c.isActingLeader(l, t));
    const finals = await c.finalCheck(t);
    expect(values(finals.get(0)!)).to.deep.equal(['j1', 'j2']);
    expect(c.violations).to.deep.equal([]);
  });

  // Idempotence (KIP-98 via docs/data-plane.md): the batch is appended and replicated, its answer is
  // lost, the leader dies; the producer retries the same bytes (same id/epoch/sequence) to the new
  // leader, which recognises it from the producer state it recorded as a follower.
  it('an idempotent producer retrying across a leader change: the retried batch is appended once', async () => {
    const c = await startCluster(98);
    const t = await c.createTopic('idem', { configs: { 'min.insync.replicas': '2' } });
    const l = c.leaderOf(t)!;
    const producer = (baseSequence: number) => ({ producerId: 4242, producerEpoch: 0, baseSequence });
    await c.produceOk(l, t, 0, ['i0'], { acks: -1, producer: producer(0) });
    c.cluster.network.blockLink(l, c.producerClientId);
    const first = c.send(l, t, 0, ['i1'], { acks: -1, producer: producer(1) });
    await c.runUntil('i1 committed on every replica', () => c.partition(t)!.replicas.every((r) => c.logOn(r, t).logEndOffset === 2) && c.logOn(l, t).highWatermark === 2);
    await c.runUntil('the answer is lost', () => first.answer === 'timeout');
    c.cluster.network.unblockLink(l, c.producerClientId);
    c.crash(l);
    await c.runUntil('a new leader', () => {
      const n = c.leaderOf(t);
      return n !== undefined && n !== l && c.isActingLeader(n, t);
    });
    const n = c.leaderOf(t)!;
    const retry = await c.produce(n, t, 0, ['i1'], { acks: -1, producer: producer(1), batch: first.batch });
    expect(retry).to.deep.equal({ baseOffset: 1, lastOffset: 1, duplicate: true });
    await c.produceOk(n, t, 0, ['i2'], { acks: -1, producer: producer(2) });
    const finals = await c.finalCheck(t);
    expect(values(finals.get(0)!)).to.deep.equal(['i0', 'i1', 'i2']);
    expect(c.violations).to.deep.equal([]);
  });

  // A torn last batch (SimLogDisk.powerLoss torn: a prefix of the unsynced bytes survives, its end
  // garbled): recovery truncates at the last whole valid batch; the replica re-fetches the rest.
  it('a torn last batch (power cut of a follower during appends, flush=os) is truncated at recovery and re-fetched', async () => {
    const c = await startCluster(77);
    const t = await c.createTopic('torn', { configs: { 'min.insync.replicas': '2', flush: 'os' } });
    const l = c.leaderOf(t)!;
    const f = others(c.partition(t)!.replicas, l)[0]!;
    await c.produceOk(l, t, 0, ['t0'], { acks: -1 });
    await c.runFor(1500); // the background flush makes t0 durable everywhere
    const sent = Array.from({ length: 8 }, (_, i) => c.send(l, t, 0, [`t${i + 1}a`, `t${i + 1}b`], { acks: 1 }));
    await c.runUntil('every burst batch on the follower', () => sent.every((s) => s.answer !== undefined) && c.logOn(f, t).logEndOffset === 17);
    expect(c.logOn(f, t).flushedOffset, 'the burst is not flushed yet').to.be.lessThan(17);
    c.powerCut([f], true);
    const disk = c.diskRecords(f, t);
    expect(disk.fileBytes, 'a torn tail: bytes past the last whole valid batch').to.be.greaterThan(disk.validBytes);
    const recoveredEnd = disk.records.length === 0 ? 0 : disk.records[disk.records.length - 1]!.offset + 1;
    c.restart(f);
    await c.runUntil('the follower reopened its log', () => c.replicaOn(f, t) !== undefined);
    expect(c.logOn(f, t).logEndOffset, 'recovery truncated to the last whole batch').to.equal(recoveredEnd);
    expect(recoveredEnd).to.be.lessThan(17);
    const finals = await c.finalCheck(t);
    expect(finals.get(0)!.length).to.equal(17);
    expect(await c.records(f, t)).to.deep.equal(finals.get(0));
    expect(c.violations).to.deep.equal([]);
  });

  // Bit rot in committed data (docs/data-plane.md, "The partition log"): a read verifies every CRC it
  // serves and answers KAFKA_STORAGE_ERROR rather than serving a corrupt batch; sealed segments with
  // valid indexes are not rescanned at recovery, so the damage is found when the bytes are read. What
  // happens next (docs/data-plane.md, as of this test): the replica that found it reports itself
  // failed, the controller moves leadership to another ISR member, and the damaged replica drops its
  // log and fetches it again from the new leader.
  it('bit rot in a sealed segment: never served (KAFKA_STORAGE_ERROR); the damaged replica gives up leadership and rebuilds from the new leader', async () => {
    const c = await startCluster(31);
    const t = await c.createTopic('rot', { configs: { 'min.insync.replicas': '2' } });
    const p = c.partition(t)!;
    const [l, f] = p.replicas as [NodeId, NodeId, NodeId]; // f is next in line to lead
    expect(p.leader).to.equal(l);
    const big = 'x'.repeat(1000);
    const written: string[] = [];
    for (let i = 0; i < 40; i++) {
      written.push(`r${i}:${big}`);
      await c.produceOk(l, t, 0, [written[i]!], { acks: -1 });
    }
    await c.runUntil('follower caught up', () => c.logOn(f, t).logEndOffset === 40 && c.logOn(f, t).flushedOffset === 40);
    expect(c.segmentFiles(f, t).length, 'several segments: the first is sealed').to.be.greaterThan(1);
    c.flipBit(f, t, 0, 0, 100, 3); // inside the first batch's records (CRC-covered)
    expect(errorOf(await c.readLog(f, t, 0, { from: 0, to: 1 })), 'the log refuses the damaged batch').to.equal('KAFKA_STORAGE_ERROR');
    expect(values(await c.records(l, t, 0, { from: 0, to: 1 })), 'the leader\'s copy is intact').to.deep.equal([written[0]]);
    // The damaged replica becomes leader; a consumer reading the damaged range gets the error, never the data.
    c.crash(l);
    await c.runUntil('the damaged replica leads, its HW at the end', () => c.isActingLeader(f, t) && c.logOn(f, t).highWatermark === 40);
    const epochOfF = c.partition(t)!.leaderEpoch;
    const tail = await c.consumerFetch(f, t, 0, 39);
    expect(tail !== 'timeout' && 'records' in tail ? values(recordsIn(tail.records)) : tail, 'the intact tail is served').to.deep.equal([written[39]]);
    expect(errorOf(await c.consumerFetch(f, t, 0, 0))).to.equal('KAFKA_STORAGE_ERROR');
    // What happens next: leadership moves off the damaged replica, which rebuilds from the new leader.
    await c.runUntil('leadership moved off the damaged replica', () => {
      const s = c.partition(t);
      return s !== undefined && s.leaderEpoch > epochOfF && s.leader !== f && s.leader !== NO_LEADER;
    });
    const finals = await c.finalCheck(t);
    expect(values(finals.get(0)!)).to.deep.equal(written);
    expect(values(await c.records(f, t)), 'rebuilt: the damaged range reads back intact').to.deep.equal(written);
    expect(c.violations).to.deep.equal([]);
  });
});
