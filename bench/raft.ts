/**
 * `npm run bench -- raft`: the controller quorum's commit rate on real disks, and the simulator's speed.
 *
 * Commit rate: three production RaftNodes, each in its own worker thread (bench/raft-worker.ts) with
 * its own LevelDB directory and synced writes, 100 ms ticks, messages by structured clone between
 * threads (`--transport mesh`, the default: a MessageChannel per pair; `--transport relay`: through
 * the main thread). Once a leader is agreed on, clients on the leader's thread propose 100-byte
 * payloads: a warm-up, then 1 proposal in flight (propose, await the commit, repeat) for ~3 s, then
 * 200 in flight for ~5 s. Reference: a 3-member etcd on this machine commits ~2,400 puts/s with 200 in
 * flight (bench/../shared peers table); the goal is 10x that.
 *
 * Simulator speed: `runSeed` (sim/run-seed.ts) for seeds 1..SIM_SEEDS, in this thread after the
 * workers are gone; simulated seconds per wall second.
 *
 * Everything is bounded by deadlines; the temporary directories are removed even on failure.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import type { RaftStatus } from '../src/raft/raft-core.js';
import type { Message, NodeId } from '../src/raft/types.js';
import { runSeed } from '../sim/run-seed.js';
import { formatCount, type BenchContext, type BenchResult, type BenchRow } from './bench-result.js';
import type { FromWorker, LoadResult, ToWorker, TransportMode, WorkerInit } from './raft-protocol.js';

const VOTERS: readonly NodeId[] = [1, 2, 3];
const TICK_MS = 100;
const PAYLOAD_BYTES = 100;
const WARMUP_MS = 1_000;
const SEQUENTIAL_MS = 3_000;
const PIPELINED_MS = 5_000;
export const PIPELINED_INFLIGHT = 200;
const LEADER_WAIT_MS_MAX = 15_000;
const REPLY_WAIT_MS_MAX = 30_000;
const SIM_SEEDS = 10;
const ETCD_COMMITS_PER_S = 2_400;

type Reply<K extends FromWorker['kind']> = Extract<FromWorker, { kind: K }>;

/** The main thread's handle on one node worker: request/reply with deadlines, relaying, progress. */
class NodeWorker {
  private readonly waiters = new Map<string, { resolve: (reply: FromWorker) => void; reject: (error: Error) => void }>();
  private failure: Error | undefined;
  onProgress: (committed: number, elapsedMs: number) => void = () => {};

  constructor(
    readonly id: NodeId,
    readonly worker: Worker,
    relay: (message: Message) => void,
  ) {
    worker.on('message', (reply: FromWorker) => {
      if (reply.kind === 'raft') relay(reply.message);
      else if (reply.kind === 'progress') this.onProgress(reply.committed, reply.elapsedMs);
      else if (reply.kind === 'fatal') this.fail(new Error(`n${id} stopped: ${reply.error}`));
      else this.settle(reply);
    });
    worker.on('error', (error) => this.fail(error));
    worker.on('exit', (code) => this.fail(new Error(`n${id} worker exited with code ${code}`)));
  }

  post(command: ToWorker): void {
    this.worker.postMessage(command);
  }

  /** Sends `command` and waits (at most `timeoutMs`) for the reply of kind `replyKind`. */
  call<K extends FromWorker['kind']>(command: ToWorker, replyKind: K, timeoutMs = REPLY_WAIT_MS_MAX): Promise<Reply<K>> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (this.waiters.has(replyKind)) return Promise.reject(new Error(`n${this.id}: a '${replyKind}' request is already out`));
    return new Promise<Reply<K>>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(replyKind);
        reject(new Error(`n${this.id}: no '${replyKind}' reply within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.set(replyKind, {
        resolve: (reply) => {
          clearTimeout(timer);
          resolve(reply as Reply<K>);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      this.post(command);
    });
  }

  private settle(reply: FromWorker): void {
    const waiter = this.waiters.get(reply.kind);
    if (waiter === undefined) return;
    this.waiters.delete(reply.kind);
    waiter.resolve(reply);
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const waiter of this.waiters.values()) waiter.reject(error);
    this.waiters.clear();
  }
}

/** The three node workers and their data directories. */
class BenchCluster {
  private constructor(
    readonly workers: ReadonlyMap<NodeId, NodeWorker>,
    private readonly baseDir: string,
  ) {}

  static async start(mode: TransportMode): Promise<BenchCluster> {
    const baseDir = await mkdtemp(join(tmpdir(), 'skein-bench-raft-'));
    const ports = new Map<NodeId, Array<{ peer: NodeId; port: MessagePort }>>(VOTERS.map((id) => [id, []]));
    if (mode === 'mesh') {
      for (const a of VOTERS) {
        for (const b of VOTERS) {
          if (a >= b) continue;
          const channel = new MessageChannel();
          ports.get(a)?.push({ peer: b, port: channel.port1 });
          ports.get(b)?.push({ peer: a, port: channel.port2 });
        }
      }
    }
    const workers = new Map<NodeId, NodeWorker>();
    const relay = (m: Message): void => workers.get(m.to)?.post({ kind: 'raft', message: m });
    for (const id of VOTERS) {
      const nodePorts = ports.get(id) ?? [];
      const init: WorkerInit = { id, voters: VOTERS, dir: join(baseDir, `n${id}`), tickMs: TICK_MS, mode, ports: nodePorts };
      const worker = new Worker(new URL('./raft-worker.js', import.meta.url), {
        workerData: init,
        transferList: nodePorts.map((p) => p.port),
      });
      workers.set(id, new NodeWorker(id, worker, relay));
    }
    return new BenchCluster(workers, baseDir);
  }

  worker(id: NodeId): NodeWorker {
    const w = this.workers.get(id);
    if (w === undefined) throw new Error(`no worker n${id}`);
    return w;
  }

  async statuses(): Promise<RaftStatus[]> {
    const replies = await Promise.all([...this.workers.values()].map((w) => w.call({ kind: 'status' }, 'status')));
    return replies.map((r) => r.status);
  }

  /** Polls until every node names the same leader, which leads in the highest term. */
  async waitForLeader(): Promise<NodeId> {
    const deadline = performance.now() + LEADER_WAIT_MS_MAX;
    while (performance.now() < deadline) {
      const statuses = await this.statuses();
      const termMax = Math.max(...statuses.map((s) => s.term));
      const leaders = statuses.filter((s) => s.role === 'leader' && s.term === termMax);
      const leader = leaders[0]?.id;
      if (leaders.length === 1 && statuses.every((s) => s.term === termMax && s.leader === leader)) return leader as NodeId;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    throw new Error(`no leader agreed on within ${LEADER_WAIT_MS_MAX} ms`);
  }

  /** Stops every node (closing its database), ends the workers, removes the directories. */
  async destroy(): Promise<void> {
    await Promise.allSettled([...this.workers.values()].map((w) => w.call({ kind: 'stop' }, 'stopped', 10_000)));
    await Promise.allSettled([...this.workers.values()].map((w) => w.worker.terminate()));
    await rm(this.baseDir, { recursive: true, force: true });
  }
}

interface Phase {
  readonly label: string;
  readonly inflight: number;
  readonly durationMs: number;
}

async function runPhase(cluster: BenchCluster, leader: NodeId, phase: Phase, context: BenchContext): Promise<LoadResult> {
  const w = cluster.worker(leader);
  w.onProgress = (committed, elapsedMs) =>
    context.progress.update(
      `raft: ${phase.label}: ${formatCount(committed)} committed in ${(elapsedMs / 1000).toFixed(1)} s (${formatCount((committed * 1000) / Math.max(elapsedMs, 1))}/s)`,
    );
  const reply = await w.call(
    { kind: 'load', inflight: phase.inflight, durationMs: phase.durationMs, payloadBytes: PAYLOAD_BYTES },
    'load-done',
    phase.durationMs + REPLY_WAIT_MS_MAX,
  );
  w.onProgress = () => {};
  const errors = Object.entries(reply.result.errors);
  if (errors.length > 0) throw new Error(`raft: ${phase.label}: proposals failed: ${errors.map(([k, n]) => `${k} x${n}`).join(', ')}`);
  return reply.result;
}

export function ratePerS(r: LoadResult): number {
  return (r.committed * 1000) / r.elapsedMs;
}

/** Commits/s of three RaftNodes in worker threads on LevelDB (1 and PIPELINED_INFLIGHT in flight). */
export async function measureCommits(context: BenchContext, mode: TransportMode): Promise<{ sequential: LoadResult; pipelined: LoadResult }> {
  context.progress.update(`raft: starting 3 nodes (${mode} transport)`, true);
  const cluster = await BenchCluster.start(mode);
  try {
    const leader = await cluster.waitForLeader();
    context.progress.update(`raft: n${leader} leads; warming up`, true);
    await runPhase(cluster, leader, { label: 'warm-up', inflight: PIPELINED_INFLIGHT, durationMs: WARMUP_MS }, context);
    const sequential = await runPhase(cluster, leader, { label: '1 in flight', inflight: 1, durationMs: SEQUENTIAL_MS }, context);
    const pipelined = await runPhase(
      cluster,
      leader,
      { label: `${PIPELINED_INFLIGHT} in flight`, inflight: PIPELINED_INFLIGHT, durationMs: PIPELINED_MS },
      context,
    );
    return { sequential, pipelined };
  } finally {
    context.progress.update('raft: stopping nodes', true);
    await cluster.destroy();
  }
}

/** Simulated seconds per wall second over seeds 1..SIM_SEEDS; fails on any violation. */
async function measureSimulator(context: BenchContext): Promise<{ speedup: number; simulatedS: number; wallS: number }> {
  let simulatedMs = 0;
  const startMs = performance.now();
  for (let seed = 1; seed <= SIM_SEEDS; seed++) {
    context.progress.update(`raft: simulator seed ${seed}/${SIM_SEEDS}`);
    const r = await runSeed(seed);
    if (r.violations.length > 0) throw new Error(`simulator seed ${seed} failed: ${r.violations[0]}; npm run sim -- --seed ${seed}`);
    simulatedMs += r.virtualMs;
  }
  const wallS = (performance.now() - startMs) / 1000;
  return { speedup: simulatedMs / 1000 / wallS, simulatedS: simulatedMs / 1000, wallS };
}

export async function raftBench(context: BenchContext): Promise<BenchResult> {
  const mode = context.options.get('transport') ?? 'mesh';
  if (mode !== 'mesh' && mode !== 'relay') throw new Error(`raft: --transport must be mesh or relay, not ${mode}`);
  const { sequential, pipelined } = await measureCommits(context, mode);
  const sim = await measureSimulator(context);
  const pipelinedRate = ratePerS(pipelined);
  const latency = (r: LoadResult): string => `p50 ${r.latencyMsP50.toFixed(2)} ms, p99 ${r.latencyMsP99.toFixed(2)} ms`;
  const rows: BenchRow[] = [
    {
      what: `commits/s, ${PIPELINED_INFLIGHT} in flight`,
      value: formatCount(pipelinedRate),
      note: `${(pipelinedRate / ETCD_COMMITS_PER_S).toFixed(1)}x etcd's ~${formatCount(ETCD_COMMITS_PER_S)}; ${latency(pipelined)}`,
    },
    { what: 'commits/s, 1 in flight', value: formatCount(ratePerS(sequential)), note: latency(sequential) },
    {
      what: 'simulator, simulated s per wall s',
      value: `${sim.speedup.toFixed(0)}x`,
      note: `${sim.simulatedS.toFixed(0)} s simulated in ${sim.wallS.toFixed(1)} s, seeds 1..${SIM_SEEDS}`,
    },
  ];
  return {
    figures: {
      raft_commits_per_s: Math.round(pipelinedRate),
      raft_commits_per_s_1_inflight: Math.round(ratePerS(sequential)),
      sim_speedup: Math.round(sim.speedup * 10) / 10,
    },
    rows: [
      ...rows,
      { what: 'setup', value: '', note: `3 workers, LevelDB sync, ${TICK_MS} ms ticks, ${PAYLOAD_BYTES} B payloads, ${mode} transport` },
    ],
  };
}
