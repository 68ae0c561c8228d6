/**
 * Named fault scenarios for the metadata plane: whole metadata nodes (three dedicated controllers,
 * three broker-only observers) on `RaftCluster`, wired as sim/run-metadata-seed.ts wires them, with
 * the metadata checker (sim/metadata-checker.ts) and the Raft checker watching every event. Each
 * scenario reads like its fault, asserts its specific point, and ends with the cluster converged and
 * zero violations. Virtual time only; each is a fixed seed.
 */
import { expect } from 'chai';
import { MetadataChecker } from '../../sim/metadata-checker.js';
import { SimControllerChannel, startMetadataProcess, type MetadataProcess } from '../../sim/metadata-process.js';
import { RaftCluster } from '../../sim/raft-cluster.js';
import type { MetadataImage } from '../../src/metadata/image.js';
import type { MetadataNode } from '../../src/metadata/metadata-node.js';
import { NO_LEADER } from '../../src/metadata/records.js';
import type * as rpc from '../../src/metadata/rpc.js';
import type { NodeId } from '../../src/raft/types.js';

const ADMIN = 950;
const SESSION_TIMEOUT_MS = 3000;
const IMBALANCE_INTERVAL_MS = 5000;

type Answer<K extends rpc.ControllerRequest['kind']> = rpc.ControllerResponse<K> | 'timeout';

function isErr(x: unknown): x is { error: string } {
  return typeof x === 'object' && x !== null && 'error' in x;
}

/** A metadata cluster: controllers 1..3, brokers 101..103, an admin client, both checkers. */
class MetadataSim {
  readonly cluster: RaftCluster;
  readonly checker: MetadataChecker;
  readonly resets = new Map<NodeId, number[]>();
  private readonly admin: SimControllerChannel;

  constructor(options: { seed: number; snapshotEntries?: number }) {
    let checker: MetadataChecker | undefined;
    this.cluster = new RaftCluster({
      seed: options.seed,
      voters: 3,
      observers: 3,
      snapshotEntries: options.snapshotEntries ?? 200,
      snapshotTrailingEntries: 0,
      createProcess: (ctx) =>
        startMetadataProcess(ctx, {
          isBroker: (id) => !ctx.voters.includes(id),
          controller: { sessionTimeoutMs: SESSION_TIMEOUT_MS, leaderImbalanceCheckIntervalMs: IMBALANCE_INTERVAL_MS },
          broker: { heartbeatIntervalMs: 500, retryBackoffMs: 200 },
          listener: (id) => {
            const checked = (checker as MetadataChecker).listenerFor(id);
            return {
              ...checked,
              onReset: (image) => {
                const list = this.resets.get(id) ?? [];
                list.push(image.offset);
                this.resets.set(id, list);
                checked.onReset?.(image);
              },
            };
          },
        }),
    });
    checker = new MetadataChecker(this.cluster.checker.violations, () => this.cluster.scheduler.nowMs());
    this.checker = checker;
    this.admin = new SimControllerChannel(ADMIN, (m) => this.cluster.network.send(m), this.cluster.scheduler, 2000);
    this.cluster.addClient(ADMIN, (m) => this.admin.onMessage(m));
  }

  get brokerIds(): NodeId[] {
    return this.cluster.observerIds;
  }

  node(id: NodeId): MetadataNode | undefined {
    const m = this.cluster.machine(id);
    return m.isUp ? (m.process as MetadataProcess | undefined)?.node : undefined;
  }

  image(id: NodeId): MetadataImage {
    const n = this.node(id);
    expect(n, `n${id} is up`).to.not.equal(undefined);
    return (n as MetadataNode).metadata.image;
  }

  /** The node whose controller is active (the highest-term Raft leader's), if any. */
  activeController(): NodeId | undefined {
    const leader = this.cluster.leader();
    return leader !== undefined && this.node(leader)?.controller?.isActive === true ? leader : undefined;
  }

  controllerImage(): MetadataImage {
    const id = this.activeController();
    expect(id, `an active controller: ${this.cluster.describe()}`).to.not.equal(undefined);
    return this.image(id as NodeId);
  }

  /** Sends without waiting; `outcome.answer` is set when the answer (or the timeout) arrives. */
  send<K extends rpc.ControllerRequest['kind']>(request: Extract<rpc.ControllerRequest, { kind: K }>, to?: NodeId): { answer?: Answer<K> } {
    const outcome: { answer?: Answer<K> } = {};
    const target = to ?? this.activeController() ?? (this.cluster.voterIds[0] as NodeId);
    this.admin.request(target, request).then(
      (r) => (outcome.answer = r),
      () => (outcome.answer = 'timeout'),
    );
    return outcome;
  }

  async request<K extends rpc.ControllerRequest['kind']>(request: Extract<rpc.ControllerRequest, { kind: K }>, to?: NodeId): Promise<Answer<K>> {
    const o = this.send(request, to);
    await this.cluster.runFor(5000, () => o.answer !== undefined);
    expect(o.answer, 'an answer or a timeout').to.not.equal(undefined);
    return o.answer as Answer<K>;
  }

  async createTopic(name: string, numPartitions: number, replicationFactor: number): Promise<string> {
    const res = await this.request({ kind: 'create-topics', topics: [{ name, numPartitions, replicationFactor }], validateOnly: false });
    const t = (res as rpc.CreateTopicsResponse).topics?.[0];
    expect(t, JSON.stringify(res)).to.not.equal(undefined);
    expect(t, JSON.stringify(res)).to.not.have.property('error');
    return (t as { topicId: string }).topicId;
  }

  /** run-metadata-seed's convergence: one leader, every broker running and unfenced, every partition led, one image everywhere. */
  converged(): boolean {
    if (!this.cluster.converged()) return false;
    const leader = this.node(this.cluster.leader() as NodeId);
    if (leader?.controller?.isActive !== true) return false;
    const image = leader.metadata.image;
    for (const id of this.brokerIds) {
      if (this.node(id)?.broker?.state !== 'running' || image.broker(id)?.fenced !== false) return false;
    }
    for (const t of image.topics()) for (const p of t.partitions.values()) if (p.leader === NO_LEADER) return false;
    const digest = image.digest();
    return [...this.cluster.machines.keys()].every((id) => this.node(id)?.metadata.image.digest() === digest);
  }

  async converge(ms = 20_000): Promise<void> {
    const ok = await this.cluster.runFor(ms, () => this.converged());
    expect(ok, `converged: ${this.cluster.describe()}`).to.equal(true);
  }

  async start(): Promise<void> {
    await this.cluster.startAll();
    await this.converge();
  }

  /** Zero violations from the Raft checker and the metadata checker. */
  finish(): void {
    this.cluster.checker.finalCheck();
    expect(this.cluster.checker.violations, this.cluster.trace.lines.slice(-40).join('\n')).to.deep.equal([]);
  }

  /** The partition layer of `topic:p`'s leader asks to set the ISR (as it would once a follower caught up). */
  async alterIsr(topic: string, p: number, isr: readonly NodeId[]): Promise<Answer<'alter-partition'>> {
    const image = this.controllerImage();
    const t = image.topic(topic);
    const state = t?.partitions.get(p);
    expect(state).to.not.equal(undefined);
    const s = state as NonNullable<typeof state>;
    return this.request({
      kind: 'alter-partition',
      brokerId: s.leader,
      brokerEpoch: image.broker(s.leader)?.epoch ?? -1,
      topicId: s.topicId,
      partition: p,
      leaderEpoch: s.leaderEpoch,
      partitionEpoch: s.partitionEpoch,
      newIsr: isr.map((id) => ({ brokerId: id, brokerEpoch: image.broker(id)?.epoch ?? -1 })),
    });
  }
}

describe('metadata scenarios', function () {
  this.timeout(60_000);

  it('controller leader killed during a burst of topic creations: every creation answered ok exists exactly once, none partially', async () => {
    const sim = new MetadataSim({ seed: 11 });
    await sim.start();
    const first = sim.activeController() as NodeId;
    const spec = (i: number): rpc.CreatableTopic => ({ name: `burst-${i}`, numPartitions: 1 + (i % 3), replicationFactor: 1 + (i % 3), configs: { 'retention.ms': String(10_000 + i) } });
    const outcomes: Array<{ answer?: Answer<'create-topics'> }> = [];
    const count = 24;
    // One creation every 25 ms to whichever controller is active (the first, until it dies); the leader is killed after the 8th.
    for (let i = 0; i < count; i++) {
      sim.cluster.scheduler.setTimer(i * 25, () => {
        outcomes[i] = sim.send({ kind: 'create-topics', topics: [spec(i)], validateOnly: false });
      });
    }
    sim.cluster.scheduler.setTimer(8 * 25 + 5, () => sim.cluster.crash(first));
    await sim.cluster.runFor(count * 25 + 5000, () => outcomes.length === count && outcomes.every((o) => o.answer !== undefined));
    expect(outcomes.every((o) => o.answer !== undefined)).to.equal(true);
    const ok = new Map<string, string>();
    let failed = 0;
    for (const [i, o] of outcomes.entries()) {
      const t = o.answer !== 'timeout' && !isErr(o.answer) ? o.answer?.topics[0] : undefined;
      if (t !== undefined && !isErr(t)) ok.set(spec(i).name, (t as { topicId: string }).topicId);
      else failed++;
    }
    expect(ok.size, 'some creations succeeded before the crash').to.be.greaterThan(0);
    expect(failed, 'some creations were in flight or refused around the crash').to.be.greaterThan(0);
    // A retry of every creation whose outcome the client does not know: created now, or already there — never twice.
    for (let i = 0; i < count; i++) {
      if (ok.has(spec(i).name)) continue;
      let res: Answer<'create-topics'> = 'timeout';
      for (let attempt = 0; attempt < 10 && (res === 'timeout' || isErr(res)); attempt++) {
        res = await sim.request({ kind: 'create-topics', topics: [spec(i)], validateOnly: false });
        if (res === 'timeout' || isErr(res)) await sim.cluster.runFor(300);
      }
      expect(res, `retry of ${spec(i).name}`).to.have.property('topics');
      const t = (res as rpc.CreateTopicsResponse).topics[0] as object;
      expect([undefined, 'TOPIC_ALREADY_EXISTS']).to.include((t as { error?: string }).error);
      if (!isErr(t)) ok.set(spec(i).name, (t as { topicId: string }).topicId);
    }
    sim.cluster.start(first);
    await sim.converge();
    for (const id of sim.cluster.machines.keys()) {
      const image = sim.image(id);
      for (const [name, topicId] of ok) {
        expect(image.topic(name)?.id, `n${id}: ${name} exists with the id its creator was told`).to.equal(topicId);
      }
      for (let i = 0; i < count; i++) {
        const s = spec(i);
        const t = image.topic(s.name);
        expect(t, `n${id}: ${s.name} exists after the retries`).to.not.equal(undefined);
        const topic = t as NonNullable<typeof t>;
        expect(topic.partitions.size, `n${id}: ${s.name} has all its partitions`).to.equal(s.numPartitions);
        for (const p of topic.partitions.values()) expect(p.replicas).to.have.length(s.replicationFactor);
        expect(image.topicConfig(s.name)).to.deep.equal(s.configs);
      }
      expect(image.topics().filter((t) => t.name.startsWith('burst-'))).to.have.length(count);
    }
    sim.finish();
  });

  it('a broker paused past the session timeout is fenced and loses its leaderships; resumed, it is unfenced and leads again after preferred-leader election', async () => {
    const sim = new MetadataSim({ seed: 12 });
    await sim.start();
    await sim.createTopic('orders', 3, 3);
    await sim.converge();
    const before = [...(sim.controllerImage().topic('orders')?.partitions.values() ?? [])];
    const victim = 102;
    const led = before.filter((p) => p.leader === victim);
    expect(led.length, 'the victim is the preferred leader of one partition').to.equal(1);
    const p = (led[0] as (typeof led)[number]).partition;
    const epochBefore = sim.controllerImage().broker(victim)?.epoch;

    sim.cluster.pause(victim);
    const fenced = await sim.cluster.runFor(SESSION_TIMEOUT_MS + 2000, () => sim.controllerImage().broker(victim)?.fenced === true);
    expect(fenced, 'fenced after the session timeout').to.equal(true);
    const moved = sim.controllerImage().topic('orders')?.partitions.get(p);
    expect(moved?.leader).to.not.equal(victim);
    expect(moved?.leader).to.not.equal(NO_LEADER);
    expect(moved?.leaderEpoch).to.equal((led[0] as (typeof led)[number]).leaderEpoch + 1);
    for (const q of sim.controllerImage().topic('orders')?.partitions.values() ?? []) expect(q.isr).to.not.include(victim);

    sim.cluster.resume(victim);
    const unfenced = await sim.cluster.runFor(5000, () => sim.controllerImage().broker(victim)?.fenced === false && sim.node(victim)?.broker?.state === 'running');
    expect(unfenced, 'unfenced once it heartbeats again').to.equal(true);
    expect(sim.controllerImage().broker(victim)?.epoch, 'the same process keeps its registration').to.equal(epochBefore);
    // The leaders' partition layers take it back into the ISRs once it has caught up.
    for (const q of [...(sim.controllerImage().topic('orders')?.partitions.values() ?? [])]) {
      const res = await sim.alterIsr('orders', q.partition, [...q.isr, victim]);
      expect(res, JSON.stringify(res)).to.have.property('partition');
    }
    const back = await sim.cluster.runFor(IMBALANCE_INTERVAL_MS + 2000, () => sim.controllerImage().topic('orders')?.partitions.get(p)?.leader === victim);
    expect(back, 'preferred-leader election gives the partition back').to.equal(true);
    expect(sim.controllerImage().topic('orders')?.partitions.get(p)?.leaderEpoch).to.equal((moved?.leaderEpoch ?? 0) + 1);
    await sim.converge();
    sim.finish();
  });

  it('the quorum loses its majority (2 of 3 controllers isolated): nothing commits, no controller stays active, nothing committed is lost; regained, it serves again', async () => {
    const sim = new MetadataSim({ seed: 13 });
    await sim.start();
    const kept = await sim.createTopic('kept', 2, 3);
    await sim.converge();
    const leader = sim.activeController() as NodeId;
    const others = sim.cluster.voterIds.filter((id) => id !== leader);
    // Isolate the leader and one follower: the third controller and the brokers are left without a majority.
    const isolated = [leader, others[0] as NodeId];
    const remaining = others[1] as NodeId;
    for (const id of isolated) sim.cluster.network.isolate(id);
    const offsetsAt = (): number[] => [...sim.cluster.machines.keys()].map((id) => sim.image(id).offset);
    const offsetsBefore = offsetsAt();
    // Check-quorum makes the isolated leader step down within an election timeout or two.
    await sim.cluster.runFor(3000);
    const active = [...sim.cluster.voterIds].filter((id) => sim.node(id)?.controller?.isActive === true);
    expect(active, 'no active controller without a majority').to.deep.equal([]);
    for (const to of sim.cluster.voterIds) {
      const res = await sim.request({ kind: 'create-topics', topics: [{ name: `during-${to}`, numPartitions: 1, replicationFactor: 1 }], validateOnly: false }, to);
      expect(res === 'timeout' || isErr(res), `n${to} refuses or does not answer: ${JSON.stringify(res)}`).to.equal(true);
    }
    await sim.cluster.runFor(5000);
    expect(offsetsAt(), 'no metadata change committed anywhere').to.deep.equal(offsetsBefore);
    expect(sim.node(remaining)?.controller?.isActive).to.equal(false);

    sim.cluster.network.heal();
    await sim.converge(30_000);
    const image = sim.controllerImage();
    expect(image.topic('kept')?.id, 'committed before the loss, kept after').to.equal(kept);
    for (const to of sim.cluster.voterIds) expect(image.topic(`during-${to}`), 'refused while without a majority').to.equal(undefined);
    // Brokers were not fenced for heartbeats a controller could not receive: the new one restarted their sessions.
    for (const id of sim.brokerIds) expect(image.broker(id)?.fenced).to.equal(false);
    await sim.createTopic('after', 1, 3);
    await sim.converge();
    sim.finish();
  });

  // Regression: a proposal failing while the node stayed Raft leader left it without an active
  // controller until leadership moved.
  it('a leadership transfer that times out does not leave the quorum leader without an active controller', async () => {
    const sim = new MetadataSim({ seed: 15 });
    await sim.start();
    const leader = sim.activeController() as NodeId;
    const target = sim.cluster.voterIds.find((id) => id !== leader) as NodeId;
    sim.cluster.network.isolate(target);
    await sim.cluster.runFor(200);
    expect(sim.node(leader)?.raft.transferLeadership(target)).to.equal(target);
    // A request while the transfer is pending: Raft refuses the proposal (NOT_LEADER, 'transferring').
    const res = await sim.request({ kind: 'create-topics', topics: [{ name: 'during-transfer', numPartitions: 1, replicationFactor: 1 }], validateOnly: false }, leader);
    expect(res === 'timeout' || isErr(res)).to.equal(true);
    sim.cluster.network.reconnect(target);
    // The transfer times out after an election timeout; the node is still leader.
    await sim.cluster.runFor(5000);
    expect(sim.cluster.leader()).to.equal(leader);
    expect(sim.node(leader)?.controller?.isActive, 'the leader\'s controller serves again').to.equal(true);
    await sim.createTopic('after-transfer', 1, 1);
    await sim.converge();
    sim.finish();
  });

  it('a broker down for a long time (many changes, small snapshots) installs a snapshot on return and its image equals the controller\'s', async () => {
    const sim = new MetadataSim({ seed: 14, snapshotEntries: 10 });
    await sim.start();
    const victim = 103;
    sim.cluster.crash(victim);
    const offsetAtCrash = sim.image(101).offset;
    expect(await sim.cluster.runFor(SESSION_TIMEOUT_MS + 2000, () => sim.controllerImage().broker(victim)?.fenced === true), 'fenced').to.equal(true);
    // Many changes meanwhile.
    for (let i = 0; i < 12; i++) {
      await sim.createTopic(`while-down-${i}`, 2, 2);
      const res = await sim.request({ kind: 'alter-configs', resource: `while-down-${i}`, changes: [{ name: 'retention.ms', value: String(1000 + i) }], validateOnly: false });
      expect(res).to.deep.equal({ resource: `while-down-${i}` });
      if (i % 3 === 0) expect(await sim.request({ kind: 'delete-topics', names: [`while-down-${i}`] })).to.have.property('topics');
    }
    const leaderCore = sim.cluster.machine(sim.activeController() as NodeId).core();
    expect(leaderCore?.log.snapshotIndex, 'the log before the broker\'s offset is gone').to.be.greaterThan(offsetAtCrash + 1);
    sim.resets.set(victim, []);
    sim.cluster.start(victim);
    await sim.converge(30_000);
    const resets = sim.resets.get(victim) ?? [];
    expect(resets.some((offset) => offset > offsetAtCrash + 1), `a snapshot from the leader was installed (resets at ${resets.join(',')})`).to.equal(true);
    expect(sim.image(victim).digest()).to.equal(sim.controllerImage().digest());
    expect(sim.image(victim).topics().map((t) => t.name)).to.deep.equal(sim.controllerImage().topics().map((t) => t.name));
    expect(sim.image(victim).topicConfig('while-down-11')).to.deep.equal({ 'retention.ms': '1011' });
    sim.finish();
  });
});
