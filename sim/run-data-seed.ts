/**
 * One simulation run of the data plane, fully determined by its seed: controllers and brokers (the
 * metadata plane underneath), a replicated topic (replication factor 3, min.insync.replicas 2, flush
 * `always` or `os` by seed), idempotent and plain producers with acks=all and acks=1, and a consumer
 * per partition — under the seed's faults. Then faults stop, producers stop, everything heals, and the
 * cluster must converge: every partition led, its ISR complete, every replica at the leader's log end
 * and the HW there too. Finally every replica's log is read back and the history checked
 * (data-checker.ts).
 *
 * The durability promise checked depends on the flush policy (docs/data-plane.md): with
 * `flush=always` acknowledged data survives any crashes and power losses, all at once included; with
 * `flush=os` it survives any number of process crashes, and the power loss of one machine at a time
 * while the other replicas are healthy. So an `os` seed either injects process-level faults only, or
 * only cuts the power of one machine at a time, 10 s apart. (A power loss of a replica after the ISR
 * shrank to it alone can lose its unflushed tail: KIP-966's last-replica-standing case, not yet
 * handled — see docs/data-plane.md.)
 */
import { SeededRandom } from '../src/util/random.js';
import type { MetadataImage } from '../src/metadata/image.js';
import type { MetadataNode } from '../src/metadata/metadata-node.js';
import { NO_LEADER } from '../src/metadata/records.js';
import { isError } from '../src/metadata/rpc.js';
import { decodeRecords, iterateBatches } from '../src/partitions/record-batch.js';
import type { ReplicaManager } from '../src/partitions/replica-manager.js';
import type { NodeId } from '../src/raft/types.js';
import { DataChecker, type FinalRecord } from './data-checker.js';
import { dataPlaneAddOn } from './data-plane.js';
import { DataWorkload } from './data-workload.js';
import { MetadataChecker } from './metadata-checker.js';
import { SimControllerChannel, startMetadataProcess, type MetadataProcess } from './metadata-process.js';
import { RaftCluster } from './raft-cluster.js';
import { RaftFaults, type FaultKind } from './raft-faults.js';
import type { SeedOptions, SeedResult } from './run-seed.js';
import { SimLogDisk } from './sim-log-fs.js';

export const DATA_LIVENESS_BOUND_MS = 60_000;
const TOPIC = 'events';
const PARTITIONS = 3;
const ADMIN_ID = 901;

const decoder = new TextDecoder();

export async function runDataSeed(seed: number, options: SeedOptions = {}): Promise<SeedResult> {
  const shapeRandom = new SeededRandom(seed ^ 0xda7a);
  const combined = shapeRandom.int(2) === 0;
  const flush = shapeRandom.int(2) === 0 ? 'always' : 'os';
  const osPowerCuts = flush === 'os' && shapeRandom.int(2) === 0;
  const bitRot = !osPowerCuts && shapeRandom.int(2) === 0;
  const extraBrokers = combined ? shapeRandom.int(2) : 3;
  const shape = `data: 3 controllers${combined ? ' (also brokers)' : ''}, ${extraBrokers} broker-only nodes, topic ${TOPIC} x${PARTITIONS} RF 3 min.insync 2 flush=${flush}${osPowerCuts ? ' with power cuts' : ''}${bitRot ? ' with bit rot' : ''}`;
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
          segmentBytes: 16 * 1024,
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
  const checker = new DataChecker(cluster.checker.violations, () => cluster.scheduler.nowMs());
  cluster.trace.event('seed %d: %s', seed, shape);

  const running = (id: NodeId): MetadataProcess | undefined => {
    const m = cluster.machine(id);
    return m.isUp ? (m.process as MetadataProcess | undefined) : undefined;
  };
  /** A broker's metadata, as a client would fetch it from some broker. */
  const metadataRandom = shapeRandom.fork();
  const anyBroker = (): MetadataNode | undefined => {
    const up = [...brokerIds].map((id) => running(id)?.node).filter((n): n is MetadataNode => n !== undefined);
    return up[metadataRandom.int(Math.max(1, up.length))];
  };
  const controllerImage = () => {
    const leader = cluster.leader();
    return leader === undefined ? undefined : running(leader)?.node.metadata.image;
  };

  const only: FaultKind[] = ['crash', 'partition', 'isolate-leader', 'asymmetric-leader', 'swizzle-clog', 'pause', 'clock-skew', 'lossy-network'];
  if (flush === 'always') only.push('power-loss');
  const faults = new RaftFaults(cluster, shapeRandom.fork(), 2500, options.faults ?? only);
  cluster.trace.event('faults enabled: %s', osPowerCuts ? 'one power cut at a time' : faults.enabled.join(', '));
  let topicId = '';
  const workloadRandom = shapeRandom.fork();
  let workload: DataWorkload | undefined;
  let stopPowerCuts = (): void => {};

  try {
    await cluster.startAll();
    // Create the topic through the controller, as an admin client would.
    const admin = new SimControllerChannel(ADMIN_ID, (m) => cluster.network.send(m), cluster.scheduler, 1000);
    cluster.addClient(ADMIN_ID, (m) => admin.onMessage(m));
    let created = false;
    for (let attempt = 0; attempt < 100 && !created; attempt++) {
      await cluster.runFor(200);
      const to = cluster.leader();
      if (to === undefined) continue;
      let answer: unknown;
      let done = false;
      admin
        .request(to, { kind: 'create-topics', topics: [{ name: TOPIC, numPartitions: PARTITIONS, replicationFactor: 3, configs: { 'min.insync.replicas': '2', flush } }], validateOnly: false })
        .then((r) => (answer = r), () => undefined)
        .finally(() => (done = true));
      await cluster.runFor(2000, () => done);
      try {
        const t = (answer as { topics?: Array<{ error?: string; topicId?: string }> } | undefined)?.topics?.[0];
        if (t !== undefined && !isError(t) && t.topicId !== undefined) {
          topicId = t.topicId;
          created = true;
        }
      } catch {
        // not yet: brokers still registering, or the controller moved
      }
    }
    if (!created) throw new Error('the topic could not be created');
    const ready = (): boolean => {
      const image = controllerImage();
      const t = image?.topicById(topicId);
      if (t === undefined) return false;
      return [...t.partitions.values()].every((p) => p.leader !== NO_LEADER && replicaManagers.get(p.leader)?.replica(topicId, p.partition)?.role === 'leader');
    };
    if (!(await cluster.runFor(20_000, ready))) throw new Error('the topic did not get its leaders');

    workload = new DataWorkload(cluster, checker, workloadRandom, {
      topicId,
      partitions: PARTITIONS,
      producers: [
        { acks: -1, idempotent: true },
        { acks: -1, idempotent: false },
        { acks: 1, idempotent: true },
        { acks: 1, idempotent: false },
        { acks: 0, idempotent: false },
      ],
      metadataNode: anyBroker,
    });
    workload.start();
    if (osPowerCuts) stopPowerCuts = startSingleMachinePowerCuts(cluster, shapeRandom.fork());
    else faults.start();
    const flips = bitRot ? startBitRot(cluster, shapeRandom.fork(), disks, topicId, controllerImage) : undefined;
    await cluster.runFor(options.faultPhaseMs ?? 30_000);
    faults.stop();
    stopPowerCuts();
    cluster.healAll();
    workload.stopProducers();
    flips?.stop();
    const w = workload;
    await cluster.runFor(15_000, () => w.inFlight === 0);
    const converged = (): boolean => {
      if (!cluster.converged()) return false;
      const image = controllerImage();
      const t = image?.topicById(topicId);
      if (image === undefined || t === undefined) return false;
      for (const id of brokerIds) if (running(id)?.node.broker?.state !== 'running') return false;
      for (const p of t.partitions.values()) {
        if (p.leader === NO_LEADER || p.isr.length !== p.replicas.length) return false;
        const leaderLog = replicaManagers.get(p.leader)?.replica(topicId, p.partition)?.log;
        if (leaderLog === undefined || leaderLog.highWatermark !== leaderLog.logEndOffset) return false;
        for (const r of p.replicas) {
          const replica = running(r) === undefined ? undefined : replicaManagers.get(r)?.replica(topicId, p.partition);
          if (replica === undefined || replica.damaged || replica.log.logEndOffset !== leaderLog.logEndOffset) return false;
        }
      }
      return true;
    };
    const notConverged = (when: string): string =>
      `liveness: the data plane did not converge within ${DATA_LIVENESS_BOUND_MS} ms ${when}: ${cluster.describe()}; ${describePartitions(controllerImage()?.topicById(topicId)?.partitions, replicaManagers, topicId)}`;
    let settled = await cluster.runFor(DATA_LIVENESS_BOUND_MS, converged);
    if (!settled) violations.push(notConverged('of healing'));
    else if (flips !== undefined) {
      // Bit rot in data nobody read since is found by a scrub; the damaged replicas then rebuild. The
      // scrub waits for convergence: only then does every broker host every replica it is assigned
      // (a broker restarted late opens its logs only once the metadata reaches it, and a scrub covers
      // the replicas hosted when it runs), so no damaged copy escapes it (seed 900036).
      let scrubbed: number | undefined;
      void Promise.all([...brokerIds].map((id) => replicaManagers.get(id)?.scrub() ?? 0)).then((found) => (scrubbed = found.reduce((a, b) => a + b, 0)));
      await cluster.runFor(10_000, () => scrubbed !== undefined);
      cluster.trace.event('scrubbed after %d bit flips: %s damaged replicas found', flips.count(), scrubbed ?? 'unknown (the scrub did not finish)');
      if (scrubbed === undefined) violations.push('liveness: the scrub did not finish within 10000 ms');
      settled = scrubbed !== undefined && (await cluster.runFor(DATA_LIVENESS_BOUND_MS, converged));
      if (scrubbed !== undefined && !settled) violations.push(notConverged('of the scrub'));
    }
    if (settled) {
      const t = controllerImage()?.topicById(topicId);
      const finalLogs = new Map<string, FinalRecord[]>();
      for (const p of t?.partitions.values() ?? []) {
        const logs = new Map<NodeId, FinalRecord[]>();
        for (const r of p.replicas) {
          const log = replicaManagers.get(r)?.replica(topicId, p.partition)?.log;
          if (log === undefined) continue;
          const read = await readAll(log, cluster);
          // After convergence (and the scrub, with bit rot) every replica must read back whole: a
          // read error here is damage still counted in the ISR.
          if (read.error !== undefined) checker.unreadableReplica(`${p.partition}`, `n${r}`, read.error);
          logs.set(r, read.records);
        }
        const leaderRecords = logs.get(p.leader) ?? [];
        const hw = replicaManagers.get(p.leader)?.replica(topicId, p.partition)?.log.highWatermark ?? 0;
        for (const [r, records] of logs) if (r !== p.leader) checker.compareReplicas(`${p.partition}`, `n${p.leader}`, `n${r}`, leaderRecords, records, hw);
        finalLogs.set(`${p.partition}`, leaderRecords);
      }
      checker.finalCheck(finalLogs);
    }
    cluster.checker.finalCheck();
  } catch (error) {
    violations.push(`crash: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  }
  stopPowerCuts();
  cluster.trace.event('end: %s; %s', cluster.describe(), JSON.stringify(checker.counts));
  return {
    seed,
    violations: [...cluster.checker.violations, ...violations],
    trace: cluster.trace.lines,
    shape: `${shape}; acked ${checker.counts.ackedAll} (acks=all) + ${checker.counts.ackedOne} (acks=1), ${checker.counts.unknown} unknown, ${checker.counts.reads} read`,
    virtualMs: cluster.scheduler.nowMs(),
    events: cluster.scheduler.eventsRun,
    committed: cluster.checker.committedCount,
    workload: { proposed: workload?.stats.batches ?? 0, committed: workload?.stats.acknowledged ?? 0, refused: 0, unknown: workload?.stats.unknown ?? 0 },
    faults: faults.counts,
  };
}

/** flush=os: power cuts of one machine at a time, at least 10 s apart (the documented guarantee). Returns a stop. */
function startSingleMachinePowerCuts(cluster: RaftCluster, random: SeededRandom): () => void {
  let stopped = false;
  const next = (): void => {
    cluster.scheduler.setTimer(10_000 + random.int(5000), () => {
      if (stopped) return;
      const ids = [...cluster.machines.keys()].filter((id) => cluster.machine(id).isUp);
      const victim = ids[random.int(Math.max(1, ids.length))];
      if (victim !== undefined) {
        cluster.powerLoss([victim]);
        cluster.scheduler.setTimer(1000 + random.int(3000), () => {
          if (!cluster.machine(victim).isUp && cluster.network.isDown(victim)) cluster.start(victim);
        });
      }
      next();
    });
  };
  next();
  return () => {
    stopped = true;
  };
}

/**
 * Bit rot: every 5-10 s one bit flips inside a CRC-covered batch of a sealed segment of a follower in
 * a full ISR — never two replicas of one partition before the scrub, so intact copies remain.
 */
function startBitRot(
  cluster: RaftCluster,
  random: SeededRandom,
  disks: ReadonlyMap<NodeId, SimLogDisk>,
  topicId: string,
  image: () => MetadataImage | undefined,
): { stop(): void; count(): number } {
  let stopped = false;
  let flipped = 0;
  const touched = new Set<number>();
  const next = (): void => {
    cluster.scheduler.setTimer(5000 + random.int(5000), () => {
      if (stopped) return;
      const partitions = [...(image()?.topicById(topicId)?.partitions.values() ?? [])].filter((p) => p.isr.length === 3 && !touched.has(p.partition));
      const p = partitions[random.int(Math.max(1, partitions.length))];
      const followers = p === undefined ? [] : p.isr.filter((r) => r !== p.leader && cluster.machine(r).isUp);
      const victim = followers[random.int(Math.max(1, followers.length))];
      const disk = victim === undefined ? undefined : disks.get(victim);
      if (p !== undefined && victim !== undefined && disk !== undefined) {
        const dir = `${topicId}-${p.partition}`;
        const sealed = disk.fileNames(dir).filter((n) => n.endsWith('.log')).sort().slice(0, -1);
        const name = sealed[random.int(Math.max(1, sealed.length))];
        const bytes = name === undefined ? undefined : disk.cachedBytes(dir, name);
        const batches = bytes === undefined ? [] : [...iterateBatches(bytes)];
        const batch = batches[random.int(Math.max(1, batches.length))];
        if (name !== undefined && batch !== undefined) {
          // Past the fields the CRC does not cover (base offset, length, leader epoch, magic, crc).
          const position = batch.position + 21 + random.int(batch.header.sizeInBytes - 21);
          cluster.trace.event('bit flip: n%d %s/%s byte %d (offsets %d-%d)', victim, dir, name, position, batch.header.baseOffset, batch.header.lastOffset);
          disk.flipBit(dir, name, position, random.int(8));
          touched.add(p.partition);
          flipped++;
        }
      }
      next();
    });
  };
  next();
  return {
    stop: () => {
      stopped = true;
    },
    count: () => flipped,
  };
}

/** Every record of a replica's log, read through its public API, and why the read stopped short, if it did. */
async function readAll(log: { logStartOffset: number; logEndOffset: number; read: (offset: number, limits: { maxBytes: number; maxOffset: number; fromFile?: boolean }) => Promise<Uint8Array | { error: string; message?: string }> }, cluster: RaftCluster): Promise<{ records: FinalRecord[]; error?: string }> {
  const out: FinalRecord[] = [];
  let offset = log.logStartOffset;
  while (offset < log.logEndOffset) {
    let bytes: Uint8Array | { error: string; message?: string } | undefined;
    void log.read(offset, { maxBytes: 1 << 20, maxOffset: log.logEndOffset, fromFile: true }).then((b) => (bytes = b));
    await cluster.runFor(1000, () => bytes !== undefined);
    if (bytes === undefined) return { records: out, error: `the read at offset ${offset} did not finish` };
    if ('error' in bytes) return { records: out, error: `the read at offset ${offset} failed: ${bytes.error}${bytes.message === undefined ? '' : ` (${bytes.message})`}` };
    if (bytes.length === 0) return { records: out, error: `nothing readable at offset ${offset} below the log end ${log.logEndOffset}` };
    for (const { position } of iterateBatches(bytes)) {
      for (const r of decodeRecords(bytes, position)) {
        if (r.offset >= offset) out.push({ offset: r.offset, value: decoder.decode(r.value ?? new Uint8Array()) });
      }
    }
    const last = out[out.length - 1];
    if (last === undefined || last.offset + 1 <= offset) return { records: out, error: `no record at or after offset ${offset} below the log end ${log.logEndOffset}` };
    offset = last.offset + 1;
  }
  return { records: out };
}

function describePartitions(partitions: ReadonlyMap<number, { leader: number; isr: readonly number[]; replicas: readonly number[]; partition: number }> | undefined, managers: Map<NodeId, ReplicaManager>, topicId: string): string {
  if (partitions === undefined) return 'no topic';
  return [...partitions.values()]
    .map((p) => {
      const ends = p.replicas.map((r) => {
        const log = managers.get(r)?.replica(topicId, p.partition)?.log;
        return `n${r}:${log === undefined ? '-' : `${log.logEndOffset}/hw${log.highWatermark}`}`;
      });
      return `p${p.partition} leader ${p.leader} isr [${p.isr.join(',')}] ${ends.join(' ')}`;
    })
    .join('; ');
}
