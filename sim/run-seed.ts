/**
 * One simulation run of the controller quorum, fully determined by its seed: a randomly shaped
 * cluster (3 or 5 voters, 0-2 observers, snapshot cadence), a workload of proposals, a fault phase
 * drawn from the seed, then everything healed and a liveness phase that must converge within
 * `LIVENESS_BOUND_MS` of virtual time. Safety is checked after every event (raft-checker.ts).
 */
import { SeededRandom } from '../src/util/random.js';
import type { RaftOptions, RaftCore } from '../src/raft/raft-core.js';
import { RaftCluster } from './raft-cluster.js';
import { RaftFaults, type FaultKind } from './raft-faults.js';
import { RaftWorkload, type WorkloadStats } from './raft-workload.js';

/** After healing, the cluster must elect a leader and bring every node to the same commit index within this. */
export const LIVENESS_BOUND_MS = 30_000;

export interface SeedOptions {
  readonly trace?: boolean;
  /** Virtual length of the fault phase. Default 30 s. */
  readonly faultPhaseMs?: number;
  readonly faults?: readonly FaultKind[];
  readonly createCore?: (options: RaftOptions, initial: ConstructorParameters<typeof RaftCore>[1]) => RaftCore;
}

export interface SeedResult {
  readonly seed: number;
  readonly violations: readonly string[];
  readonly trace: readonly string[];
  readonly shape: string;
  readonly virtualMs: number;
  readonly events: number;
  readonly committed: number;
  readonly workload: WorkloadStats;
  readonly faults: ReadonlyMap<FaultKind, number>;
}

export async function runSeed(seed: number, options: SeedOptions = {}): Promise<SeedResult> {
  const shapeRandom = new SeededRandom(seed ^ 0x5eed);
  const voters = shapeRandom.int(10) < 7 ? 3 : 5;
  const observers = shapeRandom.int(3);
  const snapshotEntries = [20, 100, 1000][shapeRandom.int(3)] as number;
  const snapshotTrailingEntries = [0, 10, 200][shapeRandom.int(3)] as number;
  const shape = `${voters} voters, ${observers} observers, snapshot every ${snapshotEntries} entries (+${snapshotTrailingEntries} kept)`;
  const cluster = new RaftCluster({
    seed,
    voters,
    observers,
    trace: options.trace ?? false,
    snapshotEntries,
    snapshotTrailingEntries,
    ...(options.createCore !== undefined ? { createCore: options.createCore } : {}),
  });
  cluster.trace.event('seed %d: %s', seed, shape);
  const workload = new RaftWorkload(cluster, shapeRandom.fork(), { clients: 3, intervalMsMax: 40, inflightMax: 8 });
  const faults = new RaftFaults(cluster, shapeRandom.fork(), 2500, options.faults);
  cluster.trace.event('faults enabled: %s', faults.enabled.join(', '));

  const violations: string[] = [];
  try {
    await cluster.startAll();
    workload.start();
    faults.start();
    await cluster.runFor(options.faultPhaseMs ?? 30_000);
    faults.stop();
    cluster.healAll();
    const converged = await cluster.runFor(LIVENESS_BOUND_MS, () => cluster.converged());
    workload.stop();
    if (!converged) {
      violations.push(`liveness: not converged ${LIVENESS_BOUND_MS} ms after healing: ${cluster.describe()}`);
    } else if (!(await commitOne(cluster, 10_000))) {
      violations.push(`liveness: a proposal did not commit within 10 s of convergence: ${cluster.describe()}`);
    }
    cluster.checker.finalCheck();
  } catch (error) {
    violations.push(`crash: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  }
  cluster.trace.event('end: %s', cluster.describe());
  return {
    seed,
    violations: [...cluster.checker.violations, ...violations],
    trace: cluster.trace.lines,
    shape,
    virtualMs: cluster.scheduler.nowMs(),
    events: cluster.scheduler.eventsRun,
    committed: cluster.checker.committedCount,
    workload: workload.stats,
    faults: faults.counts,
  };
}

/**
 * Like a client: proposes to the current leader, retrying (with a fresh command) after every failure,
 * until one commits or `boundMs` of virtual time pass.
 */
async function commitOne(cluster: RaftCluster, boundMs: number): Promise<boolean> {
  let committed = false;
  let attempt = 0;
  const tryOnce = (): void => {
    const leader = cluster.leader();
    if (leader === undefined) {
      cluster.scheduler.setTimer(100, tryOnce);
      return;
    }
    cluster.propose(leader, new TextEncoder().encode(`final-${++attempt}`)).then(
      () => (committed = true),
      () => cluster.scheduler.setTimer(100, tryOnce),
    );
  };
  tryOnce();
  return cluster.runFor(boundMs, () => committed);
}
