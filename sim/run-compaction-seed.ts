/**
 * One simulation run of a compacted topic, fully determined by its seed, built as run-data-seed.ts
 * builds a data-plane run (controllers and brokers, a topic of 3 partitions with replication factor 3
 * and min.insync.replicas 2, `flush` always or os by seed) — but the topic has `cleanup.policy=compact`
 * with a short `delete.retention.ms` and `min.cleanable.dirty.ratio`, producers write keyed records
 * and tombstones over a few keys (compaction-workload.ts), and segments are small, so every broker's
 * replica manager compacts its replicas (leaders and followers alike, independently) while crashes,
 * power losses (flush=always only), partitions, pauses, clock skew and message loss hit the cluster.
 * Then everything heals, the cluster must converge, and every replica's final log is checked by the
 * compaction checker (compaction-checker.ts): the latest acks=all value of every key readable, no
 * write at another offset, replicas agreeing on the latest record of every key.
 *
 * Compaction runs on the replica manager's default schedule (every 15 s of virtual time per broker,
 * one partition per check), so the fault phase is longer than a data seed's.
 */
import { SeededRandom } from '../src/util/random.js';
import type { MetadataNode } from '../src/metadata/metadata-node.js';
import { NO_LEADER } from '../src/metadata/records.js';
import { isError } from '../src/metadata/rpc.js';
import { decodeRecords, iterateBatches } from '../src/partitions/record-batch.js';
import type { ReplicaManager } from '../src/partitions/replica-manager.js';
import type { ReplicaLog } from '../src/partitions/replica.js';
import type { NodeId } from '../src/raft/types.js';
import { CompactionChecker, type CompactedRecord } from './compaction-checker.js';
import { CompactionWorkload, compactedRecord } from './compaction-workload.js';
import { dataPlaneAddOn } from './data-plane.js';
import { MetadataChecker } from './metadata-checker.js';
import { SimControllerChannel, startMetadataProcess, type MetadataProcess } from './metadata-process.js';
import { RaftCluster } from './raft-cluster.js';
import { RaftFaults, type FaultKind } from './raft-faults.js';
import type { SeedOptions, SeedResult } from './run-seed.js';
import { SimLogDisk } from './sim-log-fs.js';

export const COMPACTION_LIVENESS_BOUND_MS = 60_000;
const TOPIC = 'compacted';
const PARTITIONS = 3;
const HOT_KEYS = 6;
const COLD_KEYS = 60;
const ADMIN_ID = 901;

export interface CompactionSeedResult extends SeedResult {
  /** Offsets below the leaders' log ends that hold no record any more: what compaction removed. */
  readonly offsetsCompacted: number;
}

export async function runCompactionSeed(seed: number, options: SeedOptions = {}): Promise<CompactionSeedResult> {
  const shapeRandom = new SeededRandom(seed ^ 0xc0c0);
  const combined = shapeRandom.int(2) === 0;
  const flush = shapeRandom.int(2) === 0 ? 'always' : 'os';
  const extraBrokers = combined ? shapeRandom.int(2) : 3;
  const shape = `compaction: 3 controllers${combined ? ' (also brokers)' : ''}, ${extraBrokers} broker-only nodes, topic ${TOPIC} x${PARTITIONS} RF 3 min.insync 2 flush=${flush} cleanup.policy=compact, ${HOT_KEYS} hot and ${COLD_KEYS} cold keys`;
  const brokerIds = new Set<number>();
  const disks = new Map<NodeId, SimLogDisk>();
  const replicaManagers = new Map<NodeId, ReplicaManager>();
  const violations: string[] = [];
  let metadataChecker: MetadataChecker | undefined;
  const cluster: RaftCluster = new RaftCluster({
    seed,
    voters: 3,
    observers: extraBrokers,
    trace: options.trace ?? false,
    snapshotEntries: 200,
    snapshotTrailingEntries: 10,
    onMachineFault: (id, fault) => {
      const disk = disks.get(id);
      if (disk === undefined) return;
      cluster.trace.event('n%d data disk: %s', id, fault);
      if (fault === 'crash') disk.processCrash();
      else if (fault === 'power-loss') disk.powerLoss({ torn: true });
    },
    createProcess: (ctx) =>
      startMetadataProcess(ctx, {
        isBroker: (id) => brokerIds.has(id),
        controller: { sessionTimeoutMs: 3000, leaderImbalanceCheckIntervalMs: 5000 },
        broker: { heartbeatIntervalMs: 500, retryBackoffMs: 200 },
        listener: (id) => (metadataChecker as MetadataChecker).listenerFor(id),
        addOn: dataPlaneAddOn({
          disks,
          isBroker: (id) => brokerIds.has(id),
          segmentBytes: 4 * 1024,
          replicaLagTimeMaxMs: 3000,
          onStarted: (id, replicas) => replicaManagers.set(id, replicas),
        }),
      }),
  });
  for (const id of cluster.observerIds) brokerIds.add(id);
  if (combined) for (const id of cluster.voterIds) brokerIds.add(id);
  const diskRandom = shapeRandom.fork();
  for (const id of brokerIds) disks.set(id, new SimLogDisk({ clock: cluster.scheduler, random: diskRandom.fork(), latencyMs: { min: 0, max: 2 } }));
  metadataChecker = new MetadataChecker(cluster.checker.violations, () => cluster.scheduler.nowMs());
  const checker = new CompactionChecker(cluster.checker.violations, () => cluster.scheduler.nowMs());
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

  // flush=os promises durability across process crashes only (docs/data-plane.md): no power loss then.
  const only: FaultKind[] = ['crash', 'partition', 'isolate-leader', 'asymmetric-leader', 'swizzle-clog', 'pause', 'clock-skew', 'lossy-network'];
  if (flush === 'always') only.push('power-loss');
  const faults = new RaftFaults(cluster, shapeRandom.fork(), 2500, options.faults ?? only);
  cluster.trace.event('faults enabled: %s', faults.enabled.join(', '));
  let topicId = '';
  const workloadRandom = shapeRandom.fork();
  let workload: CompactionWorkload | undefined;
  let offsetsCompacted = 0;

  try {
    await cluster.startAll();
    const admin = new SimControllerChannel(ADMIN_ID, (m) => cluster.network.send(m), cluster.scheduler, 1000);
    cluster.addClient(ADMIN_ID, (m) => admin.onMessage(m));
    const configs = { 'min.insync.replicas': '2', flush, 'cleanup.policy': 'compact', 'delete.retention.ms': '5000', 'min.cleanable.dirty.ratio': '0.2' };
    for (let attempt = 0; attempt < 100 && topicId === ''; attempt++) {
      await cluster.runFor(200);
      const to = cluster.leader();
      if (to === undefined) continue;
      let answer: unknown;
      let done = false;
      admin
        .request(to, { kind: 'create-topics', topics: [{ name: TOPIC, numPartitions: PARTITIONS, replicationFactor: 3, configs }], validateOnly: false })
        .then((r) => (answer = r), () => undefined)
        .finally(() => (done = true));
      await cluster.runFor(2000, () => done);
      try {
        const t = (answer as { topics?: Array<{ error?: string; topicId?: string }> } | undefined)?.topics?.[0];
        if (t !== undefined && !isError(t) && t.topicId !== undefined) topicId = t.topicId;
      } catch {
        // not yet
      }
    }
    if (topicId === '') throw new Error('the topic could not be created');
    const ready = (): boolean => {
      const t = controllerImage()?.topicById(topicId);
      return t !== undefined && [...t.partitions.values()].every((p) => p.leader !== NO_LEADER && replicaManagers.get(p.leader)?.replica(topicId, p.partition)?.role === 'leader');
    };
    if (!(await cluster.runFor(20_000, ready))) throw new Error('the topic did not get its leaders');

    workload = new CompactionWorkload(cluster, checker, workloadRandom, {
      topicId,
      partitions: PARTITIONS,
      hotKeys: HOT_KEYS,
      coldKeys: COLD_KEYS,
      producers: [
        { acks: -1, idempotent: true },
        { acks: -1, idempotent: false },
        { acks: 1, idempotent: false },
      ],
      metadataNode: anyBroker,
    });
    workload.start();
    faults.start();
    await cluster.runFor(options.faultPhaseMs ?? 45_000);
    faults.stop();
    cluster.healAll();
    workload.stopProducers();
    const w = workload;
    await cluster.runFor(15_000, () => w.inFlight === 0);
    // Let every broker's cleaner take a few more turns on the healed cluster.
    await cluster.runFor(20_000);

    const replicaLog = (id: NodeId, partition: number): ReplicaLog | undefined => (running(id) === undefined ? undefined : replicaManagers.get(id)?.replica(topicId, partition)?.log);
    const converged = (): boolean => {
      if (!cluster.converged()) return false;
      const t = controllerImage()?.topicById(topicId);
      if (t === undefined) return false;
      for (const id of brokerIds) if (running(id)?.node.broker?.state !== 'running') return false;
      for (const p of t.partitions.values()) {
        if (p.leader === NO_LEADER || p.isr.length !== p.replicas.length) return false;
        const leaderLog = replicaLog(p.leader, p.partition);
        if (leaderLog === undefined || leaderLog.highWatermark !== leaderLog.logEndOffset) return false;
        for (const r of p.replicas) {
          const replica = running(r) === undefined ? undefined : replicaManagers.get(r)?.replica(topicId, p.partition);
          if (replica === undefined || replica.damaged || replica.log.logEndOffset !== leaderLog.logEndOffset) return false;
        }
      }
      return true;
    };
    if (!(await cluster.runFor(COMPACTION_LIVENESS_BOUND_MS, converged))) {
      violations.push(`liveness: the compacted topic did not converge within ${COMPACTION_LIVENESS_BOUND_MS} ms of healing: ${cluster.describe()}`);
    } else {
      const t = controllerImage()?.topicById(topicId);
      const finalLogs = new Map<string, CompactedRecord[]>();
      for (const p of t?.partitions.values() ?? []) {
        const logs = new Map<NodeId, CompactedRecord[]>();
        for (const r of p.replicas) {
          const log = replicaLog(r, p.partition);
          if (log !== undefined) logs.set(r, await readAll(log, cluster));
        }
        const leaderRecords = logs.get(p.leader) ?? [];
        const leaderLog = replicaLog(p.leader, p.partition);
        const hw = leaderLog?.highWatermark ?? 0;
        for (const [r, records] of logs) if (r !== p.leader) checker.compareReplicas(`${p.partition}`, `n${p.leader}`, `n${r}`, leaderRecords, records, hw);
        finalLogs.set(`${p.partition}`, leaderRecords);
        if (leaderLog !== undefined) offsetsCompacted += leaderLog.logEndOffset - leaderLog.logStartOffset - leaderRecords.length;
      }
      checker.finalCheck(finalLogs);
    }
    cluster.checker.finalCheck();
  } catch (error) {
    violations.push(`crash: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  }
  cluster.trace.event('end: %s; %s; %d offsets compacted away', cluster.describe(), JSON.stringify(checker.counts), offsetsCompacted);
  return {
    seed,
    violations: [...cluster.checker.violations, ...violations],
    trace: cluster.trace.lines,
    shape: `${shape}; acked ${checker.counts.ackedAll} (acks=all) + ${checker.counts.ackedOne} (acks=1), ${checker.counts.unknown} unknown, ${checker.counts.tombstones} tombstones, ${checker.counts.reads} read, ${offsetsCompacted} offsets compacted away`,
    virtualMs: cluster.scheduler.nowMs(),
    events: cluster.scheduler.eventsRun,
    committed: cluster.checker.committedCount,
    workload: { proposed: workload?.stats.batches ?? 0, committed: workload?.stats.acknowledged ?? 0, refused: 0, unknown: workload?.stats.unknown ?? 0 },
    faults: faults.counts,
    offsetsCompacted,
  };
}

/** Every record of a replica's log, read through its public API, past empty batches and gaps. */
async function readAll(log: ReplicaLog, cluster: RaftCluster): Promise<CompactedRecord[]> {
  const out: CompactedRecord[] = [];
  let offset = log.logStartOffset;
  while (offset < log.logEndOffset) {
    let bytes: Uint8Array | { error: string } | undefined;
    void log.read(offset, { maxBytes: 1 << 20, maxOffset: log.logEndOffset, fromFile: true }).then((b) => (bytes = b));
    await cluster.runFor(1000, () => bytes !== undefined);
    if (bytes === undefined || 'error' in bytes || bytes.length === 0) break;
    let next = offset;
    for (const { position, header } of iterateBatches(bytes)) {
      for (const r of decodeRecords(bytes, position)) if (r.offset >= offset) out.push(compactedRecord(r));
      next = header.lastOffset + 1;
    }
    if (next <= offset) break;
    offset = next;
  }
  return out;
}
