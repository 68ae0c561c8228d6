/**
 * One simulation run of consumer groups (issue 6), fully determined by its seed: 3 controllers and 3
 * brokers running the real group coordinator (groups-plane.ts), a topic of 4 partitions (RF 3,
 * min.insync.replicas 2) fed by the data plane's producers (data-workload.ts; its own per-partition
 * consumers run too and keep the data checker busy), and a group of 2-4 members (groups-workload.ts).
 *
 * Faults, drawn from the seed: the group's coordinator crashed on purpose every 6-12 s (restarted
 * 1-4 s later); machine crashes, partitions, an isolated or one-way-cut leader, swizzle-clog, machine
 * pauses and a lossy network from RaftFaults; member crashes (restarted with a new member id) and
 * member pauses longer than the session timeout. Not enabled: clock-rate skew — a coordinator whose
 * clock runs 4x fast expires sessions early in real time, which no lease on the client side can
 * survive (Kafka has the same limit) — and power loss / disk faults, which the data seeds cover.
 *
 * Then faults stop, everything heals, producers stop, and the group must consume to the end: every
 * partition's committed offset at its high watermark within GROUPS_LIVENESS_BOUND_MS. The final
 * committed offsets, fetched as an admin would, go to the checker (groups-checker.ts), along with the
 * Raft, metadata and data checkers' findings.
 */
import { SeededRandom } from '../src/util/random.js';
import { groupConfig } from '../src/groups/config.js';
import type { GroupErrorResult } from '../src/groups/errors.js';
import type { OffsetFetchResponse } from '../src/groups/rpc.js';
import type { MetadataNode } from '../src/metadata/metadata-node.js';
import { NO_LEADER } from '../src/metadata/records.js';
import { isError } from '../src/metadata/rpc.js';
import type { ReplicaManager } from '../src/partitions/replica-manager.js';
import type { NodeId } from '../src/raft/types.js';
import { DataChecker } from './data-checker.js';
import { DataWorkload } from './data-workload.js';
import { GroupsChecker } from './groups-checker.js';
import { groupsPlaneAddOn, type GroupCall } from './groups-plane.js';
import { GroupsWorkload } from './groups-workload.js';
import { MetadataChecker } from './metadata-checker.js';
import { SimControllerChannel, startMetadataProcess, type MetadataProcess } from './metadata-process.js';
import { RaftCluster } from './raft-cluster.js';
import { RaftFaults, type FaultKind } from './raft-faults.js';
import type { SeedOptions, SeedResult } from './run-seed.js';
import { SimLogDisk } from './sim-log-fs.js';
import { SimRpc } from './sim-rpc.js';

export const GROUPS_LIVENESS_BOUND_MS = 90_000;
const TOPIC = 'orders';
const PARTITIONS = 4;
const GROUP = 'g';
const ADMIN_ID = 901;
const GROUP_ADMIN_ID = 902;
const SESSION_TIMEOUT_MS = 4000;

export async function runGroupsSeed(seed: number, options: SeedOptions = {}): Promise<SeedResult> {
  const shapeRandom = new SeededRandom(seed ^ 0x6209);
  const members = 2 + shapeRandom.int(3);
  const shape = `groups: 3 controllers, 3 brokers, topic ${TOPIC} x${PARTITIONS} RF 3, group of ${members} members, session ${SESSION_TIMEOUT_MS} ms`;
  const brokerIds = new Set<number>();
  const disks = new Map<NodeId, SimLogDisk>();
  const replicaManagers = new Map<NodeId, ReplicaManager>();
  const violations: string[] = [];
  let metadataChecker: MetadataChecker | undefined;
  const config = groupConfig({ heartbeatIntervalMs: 500, sessionTimeoutMinMs: 1000, appendTimeoutMs: 3000, offsetsTopicPartitions: 4 });
  const cluster: RaftCluster = new RaftCluster({
    seed,
    voters: 3,
    observers: 3,
    trace: options.trace ?? false,
    snapshotEntries: 200,
    snapshotTrailingEntries: 10,
    onMachineFault: (id, fault) => {
      if (fault === 'crash') disks.get(id)?.processCrash();
    },
    createProcess: (ctx) =>
      startMetadataProcess(ctx, {
        isBroker: (id) => brokerIds.has(id),
        controller: { sessionTimeoutMs: 3000, leaderImbalanceCheckIntervalMs: 5000 },
        broker: { heartbeatIntervalMs: 500, retryBackoffMs: 200 },
        listener: (id) => (metadataChecker as MetadataChecker).listenerFor(id),
        addOn: groupsPlaneAddOn({
          disks,
          isBroker: (id) => brokerIds.has(id),
          segmentBytes: 16 * 1024,
          replicaLagTimeMaxMs: 3000,
          groups: config,
          onStarted: (id, replicas) => replicaManagers.set(id, replicas),
        }),
      }),
  });
  for (const id of cluster.observerIds) brokerIds.add(id);
  const diskRandom = shapeRandom.fork();
  for (const id of brokerIds) disks.set(id, new SimLogDisk({ clock: cluster.scheduler, random: diskRandom.fork(), latencyMs: { min: 0, max: 2 } }));
  metadataChecker = new MetadataChecker(cluster.checker.violations, () => cluster.scheduler.nowMs());
  const dataChecker = new DataChecker(cluster.checker.violations, () => cluster.scheduler.nowMs());
  const checker = new GroupsChecker(cluster.checker.violations, () => cluster.scheduler.nowMs());
  cluster.trace.event('seed %d: %s', seed, shape);

  const running = (id: NodeId): MetadataProcess | undefined => {
    const m = cluster.machine(id);
    return m.isUp ? (m.process as MetadataProcess | undefined) : undefined;
  };
  const metadataRandom = shapeRandom.fork();
  const anyBroker = (): MetadataNode | undefined => {
    const up = [...brokerIds].map((id) => running(id)?.node).filter((n): n is MetadataNode => n !== undefined);
    return up[metadataRandom.int(Math.max(1, up.length))];
  };
  const controllerImage = () => {
    const leader = cluster.leader();
    return leader === undefined ? undefined : running(leader)?.node.metadata.image;
  };

  const only: FaultKind[] = ['crash', 'partition', 'isolate-leader', 'asymmetric-leader', 'swizzle-clog', 'pause', 'lossy-network'];
  const faults = new RaftFaults(cluster, shapeRandom.fork(), 4000, options.faults ?? only);
  cluster.trace.event('faults enabled: %s', faults.enabled.join(', '));
  const workloadRandom = shapeRandom.fork();
  const groupsRandom = shapeRandom.fork();
  const coordinatorRandom = shapeRandom.fork();
  let data: DataWorkload | undefined;
  let group: GroupsWorkload | undefined;
  let coordinatorCrashes = 0;
  let crashingCoordinators = false;

  try {
    await cluster.startAll();
    const admin = new SimControllerChannel(ADMIN_ID, (m) => cluster.network.send(m), cluster.scheduler, 1000);
    cluster.addClient(ADMIN_ID, (m) => admin.onMessage(m));
    let topicId = '';
    for (let attempt = 0; attempt < 100 && topicId === ''; attempt++) {
      await cluster.runFor(200);
      const to = cluster.leader();
      if (to === undefined) continue;
      let answer: unknown;
      let done = false;
      admin
        .request(to, { kind: 'create-topics', topics: [{ name: TOPIC, numPartitions: PARTITIONS, replicationFactor: 3, configs: { 'min.insync.replicas': '2' } }], validateOnly: false })
        .then((r) => (answer = r), () => undefined)
        .finally(() => (done = true));
      await cluster.runFor(2000, () => done);
      const t = (answer as { topics?: Array<{ error?: string; topicId?: string }> } | undefined)?.topics?.[0];
      if (t !== undefined && !isError(t) && t.topicId !== undefined) topicId = t.topicId;
    }
    if (topicId === '') throw new Error('the topic could not be created');
    const led = (): boolean => {
      const t = controllerImage()?.topicById(topicId);
      return t !== undefined && [...t.partitions.values()].every((p) => p.leader !== NO_LEADER && replicaManagers.get(p.leader)?.replica(topicId, p.partition)?.role === 'leader');
    };
    if (!(await cluster.runFor(20_000, led))) throw new Error('the topic did not get its leaders');

    data = new DataWorkload(cluster, dataChecker, workloadRandom, { topicId, partitions: PARTITIONS, producers: [{ acks: -1, idempotent: true }, { acks: -1, idempotent: false }], metadataNode: anyBroker });
    const g = new GroupsWorkload(cluster, checker, groupsRandom, {
      groupId: GROUP,
      topic: TOPIC,
      topicId,
      partitions: PARTITIONS,
      members,
      brokers: [...brokerIds],
      sessionTimeoutMs: SESSION_TIMEOUT_MS,
      rebalanceTimeoutMs: 10_000,
      heartbeatIntervalMs: config.heartbeatIntervalMs,
      metadataNode: anyBroker,
      isUp: (id) => running(id) !== undefined,
    });
    group = g;
    data.start();
    g.start();
    // Let the group form before the faults begin, so every seed has a group to disturb.
    await cluster.runFor(5000);
    faults.start();
    g.startFaults(3000);
    crashingCoordinators = true;
    const crashCoordinator = (): void => {
      cluster.scheduler.setTimer(6000 + coordinatorRandom.int(6000), () => {
        if (!crashingCoordinators) return;
        const victim = g.lastCoordinator;
        if (victim !== undefined && running(victim) !== undefined) {
          cluster.trace.event('crashing the coordinator n%d', victim);
          cluster.crash(victim);
          coordinatorCrashes++;
          cluster.scheduler.setTimer(1000 + coordinatorRandom.int(3000), () => {
            if (!cluster.machine(victim).isUp) cluster.start(victim);
          });
        }
        crashCoordinator();
      });
    };
    crashCoordinator();
    await cluster.runFor(options.faultPhaseMs ?? 30_000);
    crashingCoordinators = false;
    faults.stop();
    g.stopFaults();
    cluster.healAll();
    data.stopProducers();

    // Liveness: the group consumes everything, and commits it.
    const groupAdmin = new SimRpc('groups', GROUP_ADMIN_ID, (m) => cluster.network.send(m), cluster.scheduler, 2000);
    cluster.addClient(GROUP_ADMIN_ID, (m) => groupAdmin.onMessage(m));
    const highWatermarks = (): Map<number, number> | undefined => {
      const t = controllerImage()?.topicById(topicId);
      if (t === undefined) return undefined;
      const hws = new Map<number, number>();
      for (const p of t.partitions.values()) {
        const log = p.leader === NO_LEADER ? undefined : replicaManagers.get(p.leader)?.replica(topicId, p.partition)?.log;
        if (log === undefined || log.highWatermark !== log.logEndOffset) return undefined;
        hws.set(p.partition, log.highWatermark);
      }
      return hws;
    };
    const fetchCommitted = async (): Promise<Map<number, number> | undefined> => {
      const up = [...brokerIds].filter((id) => running(id) !== undefined);
      const asked = up[coordinatorRandom.int(Math.max(1, up.length))];
      if (asked === undefined) return undefined;
      const ask = async (to: NodeId, payload: GroupCall): Promise<unknown> => {
        let answer: unknown;
        let done = false;
        groupAdmin.call(to, payload, payload.kind).then((r) => (answer = r), () => undefined).finally(() => (done = true));
        await cluster.runFor(3000, () => done);
        return answer;
      };
      const found = (await ask(asked, { kind: 'find-coordinator', request: { groupId: GROUP } })) as { nodeId: number } | GroupErrorResult | undefined;
      if (found === undefined || 'error' in found) return undefined;
      const sentAtMs = cluster.scheduler.nowMs();
      const fetched = (await ask(found.nodeId, { kind: 'offset-fetch', request: { groupId: GROUP } })) as OffsetFetchResponse | undefined;
      if (fetched === undefined || 'error' in fetched) return undefined;
      const committed = new Map<number, number>();
      for (let p = 0; p < PARTITIONS; p++) {
        const offset = fetched.offsets.find((o) => o.topic === TOPIC && o.partition === p)?.offset ?? -1;
        committed.set(p, offset);
        checker.onFetched('admin', p, offset, sentAtMs);
      }
      return committed;
    };
    const deadline = cluster.scheduler.nowMs() + GROUPS_LIVENESS_BOUND_MS;
    let final: Map<number, number> | undefined;
    let lastSeen = '';
    while (cluster.scheduler.nowMs() < deadline) {
      await cluster.runFor(2000);
      const hws = highWatermarks();
      if (hws === undefined || data.inFlight > 0) continue;
      const committed = await fetchCommitted();
      if (committed === undefined) continue;
      lastSeen = `committed ${JSON.stringify([...committed])} high watermarks ${JSON.stringify([...hws])}`;
      if ([...hws].every(([p, hw]) => committed.get(p) === hw || (hw === 0 && committed.get(p) === -1))) {
        final = committed;
        break;
      }
    }
    g.stopAll();
    if (final === undefined) {
      violations.push(`liveness: the group did not commit to the end of every partition within ${GROUPS_LIVENESS_BOUND_MS} ms of healing: ${lastSeen || 'no answer'}; ${cluster.describe()}`);
    } else {
      cluster.trace.event('group done: %s', lastSeen);
      checker.finalCheck(final);
    }
    cluster.checker.finalCheck();
  } catch (error) {
    violations.push(`crash: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  }
  crashingCoordinators = false;
  group?.stopAll();
  data?.stopProducers();
  const s = group?.stats;
  cluster.trace.event('end: %s; %s; %s', cluster.describe(), JSON.stringify(checker.counts), JSON.stringify(s));
  // The CLI prints the fault map's keys; the group's own faults are added under their names.
  const faultCounts = new Map<string, number>(faults.counts);
  if (coordinatorCrashes > 0) faultCounts.set('coordinator-crash', coordinatorCrashes);
  if ((s?.memberCrashes ?? 0) > 0) faultCounts.set('member-crash', s?.memberCrashes ?? 0);
  if ((s?.memberPauses ?? 0) > 0) faultCounts.set('member-pause', s?.memberPauses ?? 0);
  return {
    seed,
    violations: [...cluster.checker.violations, ...violations],
    trace: cluster.trace.lines,
    shape: `${shape}; ${checker.counts.reads} reads, ${checker.counts.sessions} reading sessions, ${checker.counts.commitsAcked} commits acknowledged, ${s?.drops ?? 0} rejoins`,
    virtualMs: cluster.scheduler.nowMs(),
    events: cluster.scheduler.eventsRun,
    committed: cluster.checker.committedCount,
    workload: { proposed: data?.stats.batches ?? 0, committed: data?.stats.acknowledged ?? 0, refused: 0, unknown: data?.stats.unknown ?? 0 },
    faults: faultCounts as Map<FaultKind, number>,
  };
}
