/**
 * The simulator hook for consumer groups (sim/groups-plane.ts): the same broker-side composition as
 * the node process runs on simulated brokers, reached over the simulated network. A scenario on
 * virtual time: FindCoordinator creates `__consumer_offsets`, a member joins and commits, the
 * coordinator's machine crashes (kill -9) — the group's offsets partition gets a new leader that
 * loads the group from its own log, with the member and its offsets intact — and the Raft, metadata
 * and data checkers report no violation. Same seed, same run.
 */
import { expect } from 'chai';
import { DataChecker } from '../../sim/data-checker.js';
import { groupsPlaneAddOn, type GroupCall } from '../../sim/groups-plane.js';
import { MetadataChecker } from '../../sim/metadata-checker.js';
import { SimControllerChannel, startMetadataProcess, type MetadataProcess } from '../../sim/metadata-process.js';
import { RaftCluster } from '../../sim/raft-cluster.js';
import { SimLogDisk } from '../../sim/sim-log-fs.js';
import { SimRpc } from '../../sim/sim-rpc.js';
import { groupConfig } from '../../src/groups/config.js';
import type { GroupErrorResult } from '../../src/groups/errors.js';
import type * as rpc from '../../src/metadata/rpc.js';
import type { NodeId } from '../../src/raft/types.js';
import { SeededRandom } from '../../src/util/random.js';

const ADMIN_ID = 901;
const CLIENT_ID = 904;
const RETRY = new Set(['COORDINATOR_NOT_AVAILABLE', 'NOT_COORDINATOR', 'COORDINATOR_LOAD_IN_PROGRESS', 'REQUEST_TIMED_OUT']);

async function scenario(seed: number): Promise<{ trace: string[]; violations: string[] }> {
  const brokerIds = new Set<number>();
  const disks = new Map<NodeId, SimLogDisk>();
  let metadataChecker: MetadataChecker | undefined;
  const cluster: RaftCluster = new RaftCluster({
    seed,
    voters: 3,
    observers: 3,
    onMachineFault: (id, fault) => {
      if (fault === 'crash') disks.get(id)?.processCrash();
    },
    createProcess: (ctx) =>
      startMetadataProcess(ctx, {
        isBroker: (id) => brokerIds.has(id),
        controller: { sessionTimeoutMs: 3000, leaderImbalanceCheckIntervalMs: 5000 },
        broker: { heartbeatIntervalMs: 500, retryBackoffMs: 200 },
        listener: (id) => (metadataChecker as MetadataChecker).listenerFor(id),
        addOn: groupsPlaneAddOn({ disks, isBroker: (id) => brokerIds.has(id), segmentBytes: 16 * 1024, replicaLagTimeMaxMs: 3000, groups: groupConfig() }),
      }),
  });
  for (const id of cluster.observerIds) brokerIds.add(id);
  for (const id of brokerIds) disks.set(id, new SimLogDisk({ clock: cluster.scheduler, random: new SeededRandom(seed + id), latencyMs: { min: 0, max: 2 } }));
  metadataChecker = new MetadataChecker(cluster.checker.violations, () => cluster.scheduler.nowMs());
  new DataChecker(cluster.checker.violations, () => cluster.scheduler.nowMs());
  const send = (m: Parameters<RaftCluster['network']['send']>[0]): void => cluster.network.send(m);
  const admin = new SimControllerChannel(ADMIN_ID, send, cluster.scheduler, 2000);
  cluster.addClient(ADMIN_ID, (m) => admin.onMessage(m));
  const groups = new SimRpc('groups', CLIENT_ID, send, cluster.scheduler, 3000);
  cluster.addClient(CLIENT_ID, (m) => groups.onMessage(m));
  const trace: string[] = [];
  const up = (id: NodeId): boolean => cluster.machine(id).isUp && (cluster.machine(id).process as MetadataProcess | undefined) !== undefined;

  /** One call over the simulated network, run until answered (undefined: no answer in time). */
  const call = async <T>(request: () => Promise<unknown>): Promise<T | undefined> => {
    let answer: unknown;
    let done = false;
    void request().then((r) => (answer = r), () => undefined).finally(() => (done = true));
    await cluster.runFor(5000, () => done);
    return answer as T | undefined;
  };
  const group = <T>(to: NodeId, payload: GroupCall): Promise<T | undefined> => call<T>(() => groups.call(to, payload, payload.kind));
  /** Retries a group call at the coordinator (found again each time) until it is not a retriable error. */
  const atCoordinator = async <T extends object>(payload: (coordinator: NodeId) => GroupCall, avoid?: NodeId): Promise<{ at: NodeId; answer: T }> => {
    for (let attempt = 0; attempt < 200; attempt++) {
      await cluster.runFor(200);
      const asked = [...brokerIds].filter(up)[attempt % 3];
      if (asked === undefined) continue;
      const found = await group<{ nodeId: number } | GroupErrorResult>(asked, { kind: 'find-coordinator', request: { groupId: 'g' } });
      if (found === undefined || 'error' in found || found.nodeId === avoid || !up(found.nodeId)) continue;
      const answer = await group<T | GroupErrorResult>(found.nodeId, payload(found.nodeId));
      if (answer === undefined || ('error' in answer && RETRY.has((answer as GroupErrorResult).error))) continue;
      return { at: found.nodeId, answer: answer as T };
    }
    throw new Error(`no answer from the coordinator: ${cluster.describe()}`);
  };

  await cluster.startAll();
  expect(await cluster.runFor(30_000, () => [...brokerIds].every((id) => (cluster.machine(id).process as MetadataProcess | undefined)?.node.broker?.state === 'running'))).to.equal(true);
  for (let attempt = 0; attempt < 50; attempt++) {
    const leader = cluster.leader();
    const created = leader === undefined ? undefined : await call<rpc.CreateTopicsResponse>(() => admin.request(leader, { kind: 'create-topics', topics: [{ name: 'orders', numPartitions: 4, replicationFactor: 3 }], validateOnly: false }));
    if (created?.topics?.[0] !== undefined && !('error' in created.topics[0])) break;
    await cluster.runFor(500);
  }

  const join = await atCoordinator<{ memberEpoch: number; assignment?: Array<{ partitions: number[] }> }>(() => ({
    kind: 'consumer-group-heartbeat',
    request: { groupId: 'g', memberId: 'm', memberEpoch: 0, instanceId: '', clientId: 'sim', rebalanceTimeoutMs: 0, sessionTimeoutMs: 30_000, subscribedTopics: ['orders'], ownedPartitions: [], assignor: '' },
  }));
  trace.push(`joined at n${join.at}: epoch ${join.answer.memberEpoch}, ${JSON.stringify(join.answer.assignment)}`);
  expect(join.answer.assignment?.flatMap((a) => a.partitions)).to.deep.equal([0, 1, 2, 3]);
  const offsets = [0, 1, 2, 3].map((p) => ({ topic: 'orders', partition: p, offset: 10 * p, leaderEpoch: 0, metadata: '' }));
  const committed = await atCoordinator<{ results: unknown[] }>(() => ({ kind: 'offset-commit', request: { groupId: 'g', memberId: 'm', memberEpoch: join.answer.memberEpoch, offsets } }));
  expect(committed.answer).to.have.property('results').with.length(4);

  cluster.crash(committed.at);
  trace.push(`crashed n${committed.at} at ${cluster.scheduler.nowMs()}`);
  const fetched = await atCoordinator<{ offsets: unknown[] }>(() => ({ kind: 'offset-fetch', request: { groupId: 'g' } }), committed.at);
  trace.push(`fetched at n${fetched.at} at ${cluster.scheduler.nowMs()}`);
  expect(fetched.at).to.not.equal(committed.at);
  expect(fetched.answer.offsets).to.deep.equal(offsets.map((o) => ({ topic: o.topic, partition: o.partition, offset: o.offset, leaderEpoch: 0, metadata: '' })));
  const again = await atCoordinator<{ memberEpoch: number }>(() => ({
    kind: 'consumer-group-heartbeat',
    request: { groupId: 'g', memberId: 'm', memberEpoch: join.answer.memberEpoch, instanceId: '', clientId: 'sim', rebalanceTimeoutMs: 0, sessionTimeoutMs: 30_000, assignor: '' },
  }), committed.at);
  expect(again.answer.memberEpoch).to.equal(join.answer.memberEpoch);
  trace.push(`heartbeat at n${again.at} at ${cluster.scheduler.nowMs()}`);
  return { trace, violations: [...cluster.checker.violations] };
}

describe('sim: consumer groups on simulated brokers', function () {
  this.timeout(60_000);

  it('moves a group with its offsets when the coordinator crashes; same seed, same run', async () => {
    const first = await scenario(11);
    expect(first.violations).to.deep.equal([]);
    expect(first.trace).to.have.length(4);
    expect(await scenario(11)).to.deep.equal(first);
  });
});
