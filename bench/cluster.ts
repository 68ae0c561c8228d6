/**
 * `npm run bench` (the default benchmark, issue 7): a 3-node cluster of real processes in a temporary
 * directory (bench/local-cluster.ts), driven by load worker processes (bench/load-worker.ts) through
 * the client library, next to this machine's ceilings (bench/ceilings.ts). Every topic: 6 partitions,
 * replication factor 3, min.insync.replicas=2, flush=always.
 *
 * Runs, in order (durations: full / --quick):
 * 1. ceilings: loopback WebSocket between two processes, sequential disk write with fdatasync, and the
 *    latency floor (produce→ack of a bare acks=all chain of three processes, bench/latency-floor.ts);
 * 2. produce, closed loop, one producer process, many send calls in flight: 100 B and 1 KiB values,
 *    acks=all (idempotent) and acks=1; `repeat` rounds, interleaved, medians reported. Each run writes
 *    a topic of its own, deleted after it (the next run waits until its files are gone), so that no
 *    run measures another's backlog or the page cache of the data before it; the last round's 100 B
 *    acks=all topic is kept for the consume runs, once the followers have caught up (`settle`);
 * 3. consume: one consumer process reads that topic from the beginning (`repeat` times);
 * 4. latency: open loop at 50,000 records/s, acks=all; produce-to-ack in the producer process,
 *    produce-to-consume in a consumer process, both from each record's due time;
 * 5. fill: the topics so far are deleted, then acks=1 1 KiB records until a node holds `recoveryBytes`
 *    of partition data (1 GiB / 128 MiB);
 * 6. failover: open loop (per-partition sends), kill -9 of a partition leader that is not the active
 *    controller; the longest gap between acknowledgements on any partition (all stall: acks=all waits
 *    for the dead follower until it leaves the ISR), and on the partitions it led;
 * 7. restart recovery: the killed node (fenced by then, holding the filled data, crashed uncleanly) is
 *    started again: ms until it listens, until the controller unfences it (it serves: recovery_ms), and
 *    until it is back in the ISR of every partition;
 * 8. the controller quorum: bench/raft.ts's three RaftNodes on LevelDB (worker threads, not the cluster
 *    processes), after the cluster is stopped.
 * The 1-min load average is sampled at every step and reported.
 *
 * Invariants: every process and directory it creates is gone when it returns or throws; every wait is
 * bounded. `--json` keys are listed in `figures` below; units are last in each name.
 */
import { readdir, stat } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import type { Admin } from '../src/client/admin.js';
import { Skein } from '../src/client/skein.js';
import { formatCount, type Bench, type BenchContext, type BenchRow } from './bench-result.js';
import { measureCeilings, type Ceilings } from './ceilings.js';
import { createTopic, LATENCY_RATE_PER_S, latencyResults, latencyRound, medianOf, ms, PARTITIONS, repeatOf, REPLICATION, spread, type LatencyRound } from './latency.js';
import { median } from './latency-recorder.js';
import { LoadClient } from './load-client.js';
import { wallMs, type ConsumeResult, type PacedResult, type ProduceResult } from './load-protocol.js';
import { caughtUp, waitFor } from '../chaos/harness.js';
import { LocalCluster } from './local-cluster.js';
import { runPeers, type PeerFigures } from './peers.js';
import { measureCommits, PIPELINED_INFLIGHT, ratePerS } from './raft.js';

const RECORDS_PER_SEND = 1000;
const SENDS_IN_FLIGHT = 32;
const MB = 1e6;
const MIB = 1024 * 1024;

export interface ClusterBenchPlan {
  readonly quick: boolean;
  readonly repeat: number;
  readonly warmupMs: number;
  readonly produceMs: number;
  readonly latencyMs: number;
  readonly recoveryBytes: number;
  readonly failoverRatePerS: number;
  /** A scratch folder with `nats` installed (npm install nats), for --peers. */
  readonly peersDir: string | undefined;
}

export function planFor(options: ReadonlyMap<string, string>, quick: boolean): ClusterBenchPlan {
  const repeat = repeatOf(options, quick);
  return {
    quick,
    repeat,
    warmupMs: quick ? 1000 : 2000,
    produceMs: quick ? 4000 : 10_000,
    latencyMs: quick ? 5000 : 10_000,
    recoveryBytes: quick ? 128 * MIB : 1024 * MIB,
    failoverRatePerS: 10_000,
    peersDir: options.get('peers'),
  };
}

interface ProduceKind {
  readonly key: string;
  readonly topic: string;
  readonly acks: -1 | 1;
  readonly valueBytes: number;
  readonly label: string;
}

const PRODUCE_KINDS: readonly ProduceKind[] = [
  { key: 'acks_all', topic: 'bench-100b-acks-all', acks: -1, valueBytes: 100, label: '100 B, acks=all' },
  { key: 'acks_1', topic: 'bench-100b-acks-1', acks: 1, valueBytes: 100, label: '100 B, acks=1' },
  { key: 'acks_all_1k', topic: 'bench-1k-acks-all', acks: -1, valueBytes: 1024, label: '1 KiB, acks=all' },
  { key: 'acks_1_1k', topic: 'bench-1k-acks-1', acks: 1, valueBytes: 1024, label: '1 KiB, acks=1' },
];

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Whether `error` says a file or directory is missing. */
function isMissing(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 'ENOENT';
}

/**
 * Bytes of partition data (segment files and their indexes) under a node's directory. A file or
 * directory removed during the walk (a topic being deleted) counts as nothing.
 */
async function partitionBytes(nodeDir: string): Promise<number> {
  let total = 0;
  const walk = async (dir: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (error) {
      if (isMissing(error)) return;
      throw error;
    }
    for (const entry of entries) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(path);
      else total += await stat(path).then((s) => s.size, (error: unknown) => (isMissing(error) ? 0 : Promise.reject(error)));
    }
  };
  await walk(join(nodeDir, 'partitions'));
  return total;
}

/** Bytes of partition data held by each node, in node id order. */
function heldByEachNode(cluster: LocalCluster): Promise<number[]> {
  return Promise.all(Array.from({ length: cluster.nodes }, (_, i) => partitionBytes(cluster.nodeDir(i + 1))));
}

/**
 * Deletes `topics` and waits (up to a minute) until every node holds at most `heldBefore` (its bytes
 * before they were created; none: nothing) plus 16 MiB: deleted files leave the page cache, and on
 * this machine class writing into a page cache that has grown by several GB is far slower
 * (docs/benchmarks.md, "Why the second round"), so a run would otherwise measure the data of the runs
 * before it. A wait that times out is reported and the benchmark goes on.
 */
async function dropTopics(admin: Admin, cluster: LocalCluster, topics: string[], heldBefore: readonly number[] | undefined, progress: BenchContext['progress'], label: string): Promise<void> {
  progress.update(`${label}: deleting ${topics.join(', ')}`);
  await admin.deleteTopics({ topics });
  await waitFor(`the deleted topics to leave the disks`, 60_000, async () => {
    const held = await heldByEachNode(cluster);
    return held.every((bytes, i) => bytes <= (heldBefore?.[i] ?? 0) + 16 * MIB) ? true : undefined;
  }, 250).catch((e: unknown) => progress.update(`${label}: ${String(e)}; going on`, true));
}

function load1(): number {
  return loadavg()[0] ?? 0;
}

interface Measured {
  readonly ceilings: Ceilings;
  readonly produce: ReadonlyMap<string, ProduceResult[]>;
  readonly consume: ConsumeResult[];
  readonly latency: LatencyRound[];
  readonly failover: { readonly gapMs: number; readonly ledGapMs: number; readonly victim: number; readonly victimWasController: boolean; readonly partitionsLed: number; readonly firstAckAfterKillMs: number; readonly paced: PacedResult };
  readonly recovery: { readonly dataBytes: number; readonly listeningMs: number; readonly unfencedMs: number; readonly inIsrMs: number; readonly fillMbPerS: number };
  readonly raft: { readonly pipelined: number; readonly sequential: number; readonly p99Ms: number };
  readonly loads: number[];
  /** ms waited for replication to catch up after each produce run. */
  readonly settleMs: number[];
  /** An Error when the --peers run failed. */
  readonly peers: PeerFigures | Error | undefined;
}

async function leadersOf(admin: Admin, topic: string): Promise<Map<number, number>> {
  const t = (await admin.fetchTopicMetadata({ topics: [topic] })).topics[0];
  return new Map((t?.partitions ?? []).map((p) => [p.partitionId, p.leader]));
}

/** How long `settle` waits at most, and how long the high watermarks must hold still. */
const SETTLE_WAIT_MS_MAX = 180_000;
const SETTLE_PAUSE_MS = 500;

/**
 * Waits until replication has caught up with what was produced to `topics` (`caughtUp`: whole ISRs,
 * high watermarks still over SETTLE_PAUSE_MS). acks=1 does not wait for the followers, so after an
 * acks=1 run they are still copying the leaders' backlog (the 1 KiB acks=1 run writes faster than the
 * disk takes three copies); a run measured meanwhile would measure that copy too. Resolves with the ms waited; gives up (and says so) after SETTLE_WAIT_MS_MAX.
 */
async function settle(admin: Admin, topics: string[], progress: BenchContext['progress'], label: string): Promise<number> {
  const startMs = performance.now();
  try {
    await waitFor('replication to catch up', SETTLE_WAIT_MS_MAX, async () => {
      progress.update(`${label}: waiting for the followers to catch up (${((performance.now() - startMs) / 1000).toFixed(0)} s)`);
      return caughtUp(admin, topics, SETTLE_PAUSE_MS);
    }, SETTLE_PAUSE_MS);
  } catch (e) {
    progress.update(`${label}: ${String(e)}; going on`, true);
  }
  return performance.now() - startMs;
}

async function measure(context: BenchContext, plan: ClusterBenchPlan): Promise<Measured> {
  const progress = context.progress;
  const loads: number[] = [load1()];
  progress.update('cluster: measuring the ceilings (loopback WebSocket, disk with fdatasync, latency floor)', true);
  const ceilings = await measureCeilings({ quick: plan.quick });
  loads.push(load1());

  progress.update('cluster: starting 3 node processes', true);
  const cluster = await LocalCluster.start({ prefix: 'skein-bench-' });
  let producer: LoadClient | undefined;
  let consumer: LoadClient | undefined;
  const skein = new Skein({ brokers: cluster.brokers, clientId: 'bench-admin' });
  const admin = skein.admin();
  try {
    producer = await LoadClient.start('producer');
    consumer = await LoadClient.start('consumer');
    const p = producer;
    const c = consumer;
    await admin.connect();
    const brokers = cluster.brokers;

    // 2. Produce, closed loop: rounds interleave the kinds so that load drifts hit each kind alike.
    const produce = new Map<string, ProduceResult[]>(PRODUCE_KINDS.map((k) => [k.key, []]));
    const settleMs: number[] = [];
    const consumeTopic = `${(PRODUCE_KINDS[0] as ProduceKind).topic}-${plan.repeat}`;
    for (let round = 1; round <= plan.repeat; round++) {
      for (const kind of PRODUCE_KINDS) {
        const label = `cluster: produce ${kind.label}, round ${round}/${plan.repeat}`;
        progress.update(label, true);
        const topic = `${kind.topic}-${round}`;
        const heldBefore = await heldByEachNode(cluster);
        await createTopic(admin, topic);
        p.onProgress = (text) => progress.update(`${label}: ${text}`);
        const result = await p.run(
          { kind: 'produce', brokers, topic, acks: kind.acks, valueBytes: kind.valueBytes, warmupMs: plan.warmupMs, durationMs: plan.produceMs, recordsPerSend: RECORDS_PER_SEND, sendsInFlight: SENDS_IN_FLIGHT },
          plan.warmupMs + plan.produceMs + 120_000,
        );
        produce.get(kind.key)?.push(result);
        loads.push(load1());
        progress.update(`${label}: ${formatCount(result.records / result.seconds)} records/s`, true);
        if (topic === consumeTopic) settleMs.push(await settle(admin, [topic], progress, label));
        else await dropTopics(admin, cluster, [topic], heldBefore, progress, label);
      }
    }

    // 3. Consume the last round's 100 B acks=all topic from the beginning.
    const stored = (await admin.fetchTopicOffsets(consumeTopic)).reduce((sum, o) => sum + o.high - o.low, 0);
    const consume: ConsumeResult[] = [];
    for (let round = 1; round <= plan.repeat; round++) {
      const label = `cluster: consume ${formatCount(stored)} records, round ${round}/${plan.repeat}`;
      progress.update(label, true);
      c.onProgress = (text) => progress.update(`${label}: ${text}`);
      const result = await c.run({ kind: 'consume', brokers, topic: consumeTopic, records: stored, timeoutMs: 300_000 }, 330_000);
      if (!result.complete) throw new Error(`consume: only ${result.records} of ${stored} records within the timeout`);
      consume.push(result);
      loads.push(load1());
    }

    // 4. Latency at a fixed rate: the consumer is reading before the first record is due.
    const latency: LatencyRound[] = [];
    for (let round = 1; round <= plan.repeat; round++) {
      const label = `cluster: latency at ${formatCount(LATENCY_RATE_PER_S)} records/s, round ${round}/${plan.repeat}`;
      latency.push(await latencyRound({ admin, producer: p, consumer: c, brokers }, `bench-latency-${round}`, { warmupMs: plan.warmupMs, durationMs: plan.latencyMs }, progress, label));
      loads.push(load1());
    }

    // 5. Fill until a node holds recoveryBytes of partition data (every node holds every partition).
    // The topics so far go first, so that the data held does not depend on how fast they were written.
    await dropTopics(admin, cluster, (await admin.listTopics()).filter((t) => t.startsWith('bench-')), undefined, progress, 'cluster: before the fill');
    await createTopic(admin, 'bench-fill');
    const held = await partitionBytes(cluster.nodeDir(1));
    let fillMbPerS = Number.NaN;
    if (held < plan.recoveryBytes) {
      const records = Math.ceil((plan.recoveryBytes - held) / 1024 / 1.03);
      const label = `cluster: filling ${formatCount((plan.recoveryBytes - held) / MIB)} MiB more (acks=1, 1 KiB)`;
      progress.update(label, true);
      p.onProgress = (text) => progress.update(`${label}: ${text}`);
      const fill = await p.run({ kind: 'produce', brokers, topic: 'bench-fill', acks: 1, valueBytes: 1024, warmupMs: 0, durationMs: 600_000, recordsPerSend: RECORDS_PER_SEND, sendsInFlight: SENDS_IN_FLIGHT, recordsMax: records }, 700_000);
      fillMbPerS = fill.bytes / MB / fill.seconds;
    }
    // acks=1 answers before the followers have copied: wait until every node holds as much as the
    // others (the failover's victim, whichever node it is, is the one restarted below).
    await waitFor('every node to hold the filled data', 300_000, async () => {
      const sizes = await heldByEachNode(cluster);
      return Math.min(...sizes) >= 0.99 * Math.max(...sizes) ? true : undefined;
    }, 250).catch((e: unknown) => progress.update(`cluster: ${String(e)}; measuring recovery anyway`, true));

    // 6. Failover: kill -9 the leader of partition 0 of a topic under a steady per-partition load.
    await createTopic(admin, 'bench-failover');
    const failoverLabel = `cluster: failover at ${formatCount(plan.failoverRatePerS)} records/s`;
    progress.update(failoverLabel, true);
    p.onProgress = (text) => progress.update(`${failoverLabel}: ${text}`);
    const failoverRun = p.run({ kind: 'paced', brokers, topic: 'bench-failover', ratePerS: plan.failoverRatePerS, valueBytes: 100, warmupMs: 0, durationMs: 300_000, perPartition: PARTITIONS }, 400_000);
    await sleep(3_000);
    const leaders = await leadersOf(admin, 'bench-failover');
    const controller = (await admin.describeCluster()).controller;
    // The leader of the first partition not led by the active controller: the data path's failover,
    // comparable from run to run (killing the controller too adds a quorum election).
    const victim = [...leaders.values()].find((l) => l > 0 && l !== controller) ?? leaders.get(0) ?? -1;
    if (victim < 1) throw new Error('failover: no partition has a leader');
    const led = [...leaders].filter(([, l]) => l === victim).map(([partition]) => partition);
    const killMs = wallMs();
    cluster.kill9(victim);
    progress.update(`${failoverLabel}: killed node ${victim} (leader of partitions ${led.join(', ')}${controller === victim ? ', the controller' : ''})`, true);
    // Until the victim is fenced and every partition it led has a new leader, then a little longer.
    await waitFor('the killed node to be fenced and replaced as leader', 120_000, async () => {
      const fenced = (await admin.describeCluster()).brokers.some((b) => b.nodeId === victim && b.fenced);
      const now = await leadersOf(admin, 'bench-failover');
      return fenced && led.every((partition) => { const l = now.get(partition); return l !== undefined && l !== victim && l > 0; }) ? true : undefined;
    }, 100);
    await sleep(3_000);
    p.stopPaced();
    const failoverPaced = await failoverRun;
    loads.push(load1());
    // Every partition stalls, not only the victim's: acks=all waits for the dead follower until it
    // leaves the ISR. The figure is the longest gap anywhere; the victim's partitions are noted.
    const noGap = { partition: -1, gapMs: 0, fromMs: killMs, acks: 0 };
    const gaps = failoverPaced.gaps ?? [];
    const worst = gaps.reduce((a, g) => (g.gapMs > a.gapMs ? g : a), noGap);
    const worstLed = gaps.filter((g) => led.includes(g.partition)).reduce((a, g) => (g.gapMs > a.gapMs ? g : a), noGap);
    const failover = {
      gapMs: worst.gapMs,
      ledGapMs: worstLed.gapMs,
      victim,
      victimWasController: controller === victim,
      partitionsLed: led.length,
      firstAckAfterKillMs: worst.fromMs + worst.gapMs - killMs,
      paced: failoverPaced,
    };

    // 7. Restart recovery of the killed node, which holds the filled data and crashed uncleanly.
    const dataBytes = await partitionBytes(cluster.nodeDir(victim));
    progress.update(`cluster: restarting node ${victim} with ${formatCount(dataBytes / MIB)} MiB of partition data`, true);
    const spawnMs = performance.now();
    const { listeningMs } = await cluster.restartTimed(victim);
    await waitFor(`node ${victim} to be unfenced`, 120_000, async () => ((await admin.describeCluster()).brokers.some((b) => b.nodeId === victim && !b.fenced) ? true : undefined), 20);
    const unfencedMs = performance.now() - spawnMs;
    const topics = (await admin.listTopics()).filter((t) => t.startsWith('bench-'));
    await waitFor(`node ${victim} to rejoin every ISR`, 300_000, async () => {
      const meta = await admin.fetchTopicMetadata({ topics });
      return meta.topics.every((t) => t.partitions.every((part) => !part.replicas.includes(victim) || part.isr.includes(victim))) ? true : undefined;
    }, 100);
    const inIsrMs = performance.now() - spawnMs;
    loads.push(load1());
    const recovery = { dataBytes, listeningMs, unfencedMs, inIsrMs, fillMbPerS };

    await admin.disconnect();
    await Promise.all([p.close(), c.close()]);
    progress.update('cluster: stopping the nodes', true);
    await cluster.stop();

    // 8. The controller quorum, with the machine otherwise idle.
    const raftRuns: Array<{ pipelined: number; sequential: number; p99Ms: number }> = [];
    for (let round = 1; round <= plan.repeat; round++) {
      const r = await measureCommits(context, 'mesh');
      raftRuns.push({ pipelined: ratePerS(r.pipelined), sequential: ratePerS(r.sequential), p99Ms: r.pipelined.latencyMsP99 });
      loads.push(load1());
    }
    const raft = { pipelined: median(raftRuns.map((r) => r.pipelined)), sequential: median(raftRuns.map((r) => r.sequential)), p99Ms: median(raftRuns.map((r) => r.p99Ms)) };

    // The side-by-side run must not cost the figures measured so far: a failure is reported, not thrown.
    const peers = plan.peersDir === undefined ? undefined : await runPeers(plan.peersDir, context).catch((e: unknown) => (e instanceof Error ? e : new Error(String(e))));
    return { ceilings, produce, consume, latency, failover, recovery, raft, loads, settleMs, peers };
  } finally {
    await admin.disconnect().catch(() => {});
    await Promise.all([producer?.close(), consumer?.close()]);
    await cluster.stop();
  }
}

function pct(part: number, whole: number): string {
  return `${((100 * part) / whole).toFixed(1)}%`;
}

export const clusterBench: Bench = async (context: BenchContext) => {
  const plan = planFor(context.options, context.quick);
  const m = await measure(context, plan);
  const rows: BenchRow[] = [];
  const figures: Record<string, number> = {};
  const ws = m.ceilings.wsMbPerS;
  const disk = m.ceilings.diskSequentialMbPerS;

  for (const kind of PRODUCE_KINDS) {
    const runs = m.produce.get(kind.key) ?? [];
    const rps = medianOf(runs, (r) => r.records / r.seconds);
    const mbps = medianOf(runs, (r) => r.bytes / MB / r.seconds);
    figures[`produce_${kind.key}_rps`] = Math.round(rps);
    figures[`produce_${kind.key}_mbps`] = Math.round(mbps * 10) / 10;
    figures[`produce_${kind.key}_records_per_request`] = Math.round(medianOf(runs, (r) => r.recordsPerRequest));
    rows.push({
      what: `produce ${kind.label}`,
      value: `${formatCount(rps)} rec/s`,
      note: `${mbps.toFixed(1)} MB/s of values: ${pct(mbps, ws)} of ws, ${pct(mbps * REPLICATION, disk)} of disk x${REPLICATION} replicas; ${formatCount(medianOf(runs, (r) => r.recordsPerRequest))} records/request; ${spread(runs, (r) => r.records / r.seconds, formatCount)}`,
    });
  }

  const consumeRps = medianOf(m.consume, (r) => r.records / r.seconds);
  const consumeMbps = medianOf(m.consume, (r) => r.bytes / MB / r.seconds);
  figures['consume_rps'] = Math.round(consumeRps);
  figures['consume_mbps'] = Math.round(consumeMbps * 10) / 10;
  rows.push({
    what: 'consume 100 B from the beginning',
    value: `${formatCount(consumeRps)} rec/s`,
    note: `${formatCount((m.consume[0] as ConsumeResult).records)} records, ${consumeMbps.toFixed(1)} MB/s of values: ${pct(consumeMbps, ws)} of ws; ${spread(m.consume, (r) => r.records / r.seconds, formatCount)}`,
  });

  latencyResults(m.latency, figures, rows);

  figures['failover_ms'] = Math.round(m.failover.gapMs);
  figures['failover_led_partitions_ms'] = Math.round(m.failover.ledGapMs);
  figures['failover_first_ack_after_kill_ms'] = Math.round(m.failover.firstAckAfterKillMs);
  rows.push({
    what: 'failover: longest ack gap, kill -9 of a leader',
    value: `${formatCount(m.failover.gapMs)} ms`,
    note: `node ${m.failover.victim}${m.failover.victimWasController ? ' (also the controller)' : ''} led ${m.failover.partitionsLed} of ${PARTITIONS} partitions (their longest gap ${formatCount(m.failover.ledGapMs)} ms); at ${formatCount(plan.failoverRatePerS)}/s offered, ${formatCount(m.failover.paced.acked)} acked, ${formatCount(m.failover.paced.failed)} failed`,
  });

  const r = m.recovery;
  figures['recovery_ms'] = Math.round(r.unfencedMs);
  figures['recovery_listening_ms'] = Math.round(r.listeningMs);
  figures['recovery_in_isr_ms'] = Math.round(r.inIsrMs);
  figures['recovery_data_bytes'] = r.dataBytes;
  const gib = r.dataBytes / (1024 * MIB);
  rows.push({
    what: `restart recovery (${gib >= 0.95 ? `${gib.toFixed(2)} GiB` : `${formatCount(r.dataBytes / MIB)} MiB, NOT 1 GiB${r.dataBytes < 0.5 * 1024 * MIB ? ' (--quick)' : ''}`})`,
    value: `${formatCount(r.unfencedMs)} ms`,
    note: `spawn -> listening ${formatCount(r.listeningMs)} ms, -> unfenced (serves) ${formatCount(r.unfencedMs)} ms, -> in every ISR ${formatCount(r.inIsrMs)} ms; after kill -9${Number.isNaN(r.fillMbPerS) ? '' : `; filled at ${r.fillMbPerS.toFixed(1)} MB/s (acks=1, 1 KiB)`}`,
  });

  figures['raft_commits_per_s'] = Math.round(m.raft.pipelined);
  figures['raft_commits_per_s_1_inflight'] = Math.round(m.raft.sequential);
  rows.push({
    what: `controller quorum commits/s, ${PIPELINED_INFLIGHT} in flight`,
    value: formatCount(m.raft.pipelined),
    note: `bench/raft.ts (3 RaftNodes, worker threads, LevelDB sync), not the cluster processes; p99 ${ms(m.raft.p99Ms)}; 1 in flight ${formatCount(m.raft.sequential)}/s`,
  });

  figures['ws_ceiling_mbps'] = Math.round(ws);
  figures['ws_ceiling_1k_frames_per_s'] = Math.round(m.ceilings.wsFramesPerS1k);
  figures['disk_ceiling_mbps'] = Math.round(disk);
  figures['disk_fsyncs_per_s'] = Math.round(m.ceilings.diskFsyncsPerS);
  rows.push({ what: 'ceiling: loopback WebSocket, 64 KiB frames', value: `${formatCount(ws)} MB/s`, note: `1 KiB frames: ${formatCount(m.ceilings.wsFramesPerS1k)}/s` });
  rows.push({ what: 'ceiling: sequential write, fdatasync at end', value: `${formatCount(disk)} MB/s`, note: `16 KiB write + fdatasync each: ${formatCount(m.ceilings.diskFsyncsPerS)}/s` });
  const floor = m.ceilings.latencyFloor;
  figures['latency_floor_p50_ms'] = Math.round(floor.p50Ms * 100) / 100;
  figures['latency_floor_p99_ms'] = Math.round(floor.p99Ms * 100) / 100;
  figures['latency_floor_p999_ms'] = Math.round(floor.p999Ms * 100) / 100;
  rows.push({
    what: 'floor: produce->ack of a bare acks=all chain',
    value: `p99 ${ms(floor.p99Ms)}`,
    note: `p50 ${ms(floor.p50Ms)}, p99.9 ${ms(floor.p999Ms)}; 3 processes, no Skein (bench/latency-floor.ts); Skein's produce->ack p99 is ${((figures['ack_p99_ms'] ?? Number.NaN) / floor.p99Ms).toFixed(1)}x it`,
  });

  if (m.peers instanceof Error) {
    rows.push({ what: 'NATS JetStream R3, 100 B acked publishes', value: 'failed', note: m.peers.message });
  } else if (m.peers !== undefined) {
    figures['nats_r3_publish_rps'] = m.peers.publishRps;
    figures['nats_r3_consume_rps'] = m.peers.consumeRps;
    rows.push({ what: 'NATS JetStream R3, 100 B acked publishes', value: `${formatCount(m.peers.publishRps)} rec/s`, note: `Skein acks=all is ${((figures['produce_acks_all_rps'] ?? 0) / m.peers.publishRps).toFixed(1)}x; read back ${formatCount(m.peers.consumeRps)}/s` });
  }

  figures['load_avg_min'] = Math.round(Math.min(...m.loads) * 100) / 100;
  figures['load_avg_max'] = Math.round(Math.max(...m.loads) * 100) / 100;
  figures['settle_ms_max'] = Math.round(Math.max(0, ...m.settleMs));
  figures['repeat'] = plan.repeat;
  rows.push({
    what: 'setup',
    value: '',
    note: `3 node processes, ${PARTITIONS} partitions, RF ${REPLICATION}, min.insync.replicas=2, flush=always; ${plan.quick ? '--quick, ' : ''}medians of ${plan.repeat}; 1-min load ${figures['load_avg_min'].toFixed(1)}..${figures['load_avg_max'].toFixed(1)}; each produce run on a topic of its own, deleted after it; waited ${(figures['settle_ms_max'] / 1000).toFixed(1)} s for the followers of the one kept for consume`,
  });
  return { figures, rows };
};
