/**
 * One simulation run of the metadata plane, fully determined by its seed: controllers (3 or 5 voters)
 * and brokers — combined nodes (broker+controller, KRaft's combined mode) plus broker-only observers,
 * or dedicated controllers with separate brokers — all running the production metadata node. An admin
 * client and the brokers' ISR churn load the controller while the seed's faults strike; then
 * everything heals and the cluster must converge within `LIVENESS_BOUND_MS`: one Raft leader, every
 * broker registered and unfenced, every partition led, every node's image identical.
 * Raft's checks (raft-checker.ts) and the metadata checks (metadata-checker.ts) run after every event.
 */
import { SeededRandom } from '../src/util/random.js';
import { NO_LEADER } from '../src/metadata/records.js';
import type { MetadataNode } from '../src/metadata/metadata-node.js';
import { MetadataChecker } from './metadata-checker.js';
import { startMetadataProcess, type MetadataProcess } from './metadata-process.js';
import { MetadataWorkload, startBrokerChurn, type AdminStats } from './metadata-workload.js';
import { RaftCluster } from './raft-cluster.js';
import { RaftFaults } from './raft-faults.js';
import type { SeedOptions, SeedResult } from './run-seed.js';

export const METADATA_LIVENESS_BOUND_MS = 40_000;

export interface MetadataSeedResult extends SeedResult {
  readonly admin: AdminStats;
}

export async function runMetadataSeed(seed: number, options: SeedOptions = {}): Promise<MetadataSeedResult> {
  const shapeRandom = new SeededRandom(seed ^ 0x3e7a);
  const voters = shapeRandom.int(10) < 8 ? 3 : 5;
  const combined = shapeRandom.int(2) === 0;
  const extraBrokers = combined ? shapeRandom.int(3) : 3;
  const snapshotEntries = [20, 200][shapeRandom.int(2)] as number;
  const shape = `metadata: ${voters} controllers${combined ? ' (also brokers)' : ''}, ${extraBrokers} broker-only nodes, snapshot every ${snapshotEntries} entries`;
  const brokerIds = new Set<number>();
  const nodes = new Map<number, MetadataNode>();
  let checker: MetadataChecker | undefined;
  const churnRandom = shapeRandom.fork();
  const cluster: RaftCluster = new RaftCluster({
    seed,
    voters,
    observers: extraBrokers,
    trace: options.trace ?? false,
    snapshotEntries,
    snapshotTrailingEntries: 10,
    createProcess: (ctx) =>
      startMetadataProcess(ctx, {
        isBroker: (id) => brokerIds.has(id),
        controller: { sessionTimeoutMs: 3000, leaderImbalanceCheckIntervalMs: 5000 },
        broker: { heartbeatIntervalMs: 500, retryBackoffMs: 200 },
        listener: (id) => (checker as MetadataChecker).listenerFor(id),
        onStarted: (node, channel) => {
          nodes.set(node.options.id, node);
          if (node.broker !== undefined) startBrokerChurn(node, channel, churnRandom.fork(), checker as MetadataChecker);
        },
      }),
  });
  for (const id of cluster.observerIds) brokerIds.add(id);
  if (combined) for (const id of cluster.voterIds) brokerIds.add(id);
  checker = new MetadataChecker(cluster.checker.violations, () => cluster.scheduler.nowMs());
  cluster.trace.event('seed %d: %s', seed, shape);
  const workload = new MetadataWorkload(cluster, checker, shapeRandom.fork());
  const faults = new RaftFaults(cluster, shapeRandom.fork(), 2500, options.faults);
  cluster.trace.event('faults enabled: %s', faults.enabled.join(', '));

  const violations: string[] = [];
  const running = (id: number): MetadataNode | undefined => {
    const m = cluster.machine(id);
    return m.isUp ? (m.process as MetadataProcess | undefined)?.node : undefined;
  };
  const converged = (): boolean => {
    if (!cluster.converged()) return false;
    const leader = running(cluster.leader() as number);
    if (leader?.controller?.isActive !== true) return false;
    const image = leader.metadata.image;
    for (const id of brokerIds) {
      if (running(id)?.broker?.state !== 'running' || image.broker(id)?.fenced !== false) return false;
    }
    for (const t of image.topics()) for (const p of t.partitions.values()) if (p.leader === NO_LEADER) return false;
    const digest = image.digest();
    return [...cluster.machines.keys()].every((id) => running(id)?.metadata.image.digest() === digest);
  };
  try {
    await cluster.startAll();
    workload.start();
    faults.start();
    await cluster.runFor(options.faultPhaseMs ?? 30_000);
    faults.stop();
    cluster.healAll();
    if (!(await cluster.runFor(METADATA_LIVENESS_BOUND_MS, converged))) {
      violations.push(`liveness: not converged ${METADATA_LIVENESS_BOUND_MS} ms after healing: ${cluster.describe()}; brokers ${[...brokerIds].map((id) => `${id}:${running(id)?.broker?.state ?? 'down'}`).join(' ')}`);
    }
    workload.stop();
    cluster.checker.finalCheck();
  } catch (error) {
    violations.push(`crash: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  }
  cluster.trace.event('end: %s', cluster.describe());
  const leader = cluster.leader();
  const topics = leader === undefined ? 0 : (running(leader)?.metadata.image.topics().length ?? 0);
  return {
    seed,
    violations: [...cluster.checker.violations, ...violations],
    trace: cluster.trace.lines,
    shape: `${shape}; ${topics} topics at the end`,
    virtualMs: cluster.scheduler.nowMs(),
    events: cluster.scheduler.eventsRun,
    committed: cluster.checker.committedCount,
    workload: { proposed: workload.stats.requests, committed: workload.stats.ok, refused: workload.stats.expectedErrors, unknown: workload.stats.failures },
    faults: faults.counts,
    admin: workload.stats,
  };
}
