/**
 * One chaos run, start to verdict:
 * 1. a 3-node cluster of real processes (cluster.ts) with a proxy on every inter-node link, a
 *    replicated topic (RF 3, min.insync.replicas 2) and the workload (workload.ts);
 * 2. the seeded fault schedule (schedule.ts, faults.ts) for `durationS` seconds, with a progress line
 *    every 10 s;
 * 3. heal: every link passes, paused nodes continue, killed nodes restart; producers settle; the
 *    cluster must converge (every broker unfenced, every partition led with its full ISR, the high
 *    watermarks still) and the consumers must reach the end;
 * 4. every partition read from the start (the final logs), the group's committed offsets fetched;
 * 5. the history checked with the simulator's checkers (check.ts), the summary printed and saved.
 *
 * Cleanup: `abort()` (Ctrl-C) and any error stop every process and remove the cluster directory; the
 * output directory (history, summary, node logs) is kept.
 */
import { execFileSync } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Skein } from '../src/client/skein.js';
import type { Admin } from '../src/client/admin.js';
import { SeededRandom } from '../src/util/random.js';
import type { ChaosOptions } from './args.js';
import { checkHistory, type CheckResult } from './check.js';
import { caughtUp, waitFor } from './harness.js';
import { CHAOS_TIMING, ChaosCluster } from './cluster.js';
import { FaultRunner } from './faults.js';
import { History } from './history.js';
import { planSchedule, type FaultKind } from './schedule.js';
import { formatSummary, lastLine } from './summary.js';
import { Workload } from './workload.js';

export const TOPIC = 'chaos';
export const PARTITIONS = 4;
export const GROUP = 'chaos-group';
const READY_MS_MAX = 60_000;
/** How often the waits above ask the cluster. */
const POLL_MS = 250;
const CONVERGE_MS_MAX = 90_000;
const DRAIN_MS_MAX = 60_000;
const FINAL_READ_MS_MAX = 60_000;

export interface ChaosResult {
  readonly check: CheckResult;
  readonly summary: string;
  readonly lastLine: string;
  readonly outDir: string;
  /** 0: no anomaly; 1: anomalies. */
  readonly exitCode: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function gitCommit(): string {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() + (execFileSync('git', ['status', '--porcelain'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() === '' ? '' : '+dirty');
  } catch {
    return 'unknown';
  }
}

export class ChaosRun {
  private cluster: ChaosCluster | undefined;
  private aborted = false;
  private readonly abortWaiters: Array<() => void> = [];

  constructor(
    private readonly o: ChaosOptions,
    private readonly print: (line: string) => void,
  ) {}

  /** Ctrl-C: stops whatever is running; `run` then rejects. Kills every process and removes the cluster directory. */
  async abort(): Promise<void> {
    this.aborted = true;
    for (const w of this.abortWaiters.splice(0)) w();
    await this.cluster?.stop({ keep: this.o.keep });
  }

  /** Last resort from a process 'exit' handler. */
  killAllSync(): void {
    this.cluster?.killAllSync();
  }

  private async sleepAbortable(ms: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.abortWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    if (this.aborted) throw new Error('aborted');
  }

  async run(): Promise<ChaosResult> {
    const o = this.o;
    const started = Date.now();
    const outDir = o.outDir ?? (await mkdtemp(join(tmpdir(), `skein-chaos-${o.seed}-`)));
    await mkdir(outDir, { recursive: true });
    const historyPath = join(outDir, 'history.jsonl');
    const history = new History(historyPath);
    const stamp = (): string => `[${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s]`;
    const log = (line: string): void => this.print(`${stamp()} ${line}`);
    const durationMs = o.durationS * 1000;
    const schedule = planSchedule({ seed: o.seed, durationMs, kinds: o.faults, nodes: 3, partitions: PARTITIONS, sessionTimeoutMs: CHAOS_TIMING.sessionTimeoutMs });
    const planned = new Map<FaultKind, number>();
    for (const f of schedule) planned.set(f.kind, (planned.get(f.kind) ?? 0) + 1);
    const commit = gitCommit();
    log(`chaos: seed ${o.seed}, ${o.durationS} s of faults, flush=${o.flush}, commit ${commit}; ${schedule.length} faults planned (${[...planned].map(([k, c]) => `${k} ${c}`).join(', ')})`);
    log(`output: ${outDir}`);

    const dataDir = await mkdtemp(join(tmpdir(), 'skein-chaos-data-'));
    let admin: Admin | undefined;
    let workload: Workload | undefined;
    let faults: FaultRunner | undefined;
    let logsDir: string | undefined;
    try {
      this.cluster = await ChaosCluster.start({
        dir: dataDir,
        nodes: 3,
        flush: o.flush,
        env: { DEBUG: process.env['DEBUG'] ?? 'skein:metadata:controller' },
        onSpawned: (c) => (this.cluster = c),
      });
      if (this.aborted) throw new Error('aborted');
      const cluster = this.cluster;
      log(`3 nodes started in ${dataDir} (client URLs ${cluster.brokers.join(', ')}; ${cluster.links.size} link proxies)`);
      const skein = new Skein({ brokers: cluster.brokers, clientId: 'chaos-admin', connectTimeoutMs: 3000, requestTimeoutMs: 5000 });
      admin = skein.admin();
      const a = admin;
      await a.connect();
      await waitFor(
        '3 unfenced brokers and a controller',
        READY_MS_MAX,
        async () => {
          const d = await a.describeCluster();
          return d.brokers.length === 3 && d.brokers.every((b) => !b.fenced) && d.controller > 0 ? d : undefined;
        },
        POLL_MS,
      );
      await a.createTopics({ topics: [{ topic: TOPIC, numPartitions: PARTITIONS, replicationFactor: 3, configEntries: [{ name: 'min.insync.replicas', value: '2' }, { name: 'flush', value: o.flush }] }] });
      log(`cluster ready; topic ${TOPIC}: ${PARTITIONS} partitions, replication factor 3, min.insync.replicas 2, flush=${o.flush}`);

      workload = new Workload(history, { brokers: cluster.brokers, topic: TOPIC, partitions: PARTITIONS, groupId: GROUP, log });
      await workload.start();
      log('workload running: 3 idempotent producers (acks=all), 2 consumers with manual assignment, 3 consumers in group chaos-group');
      await this.sleepAbortable(2000);

      faults = new FaultRunner(cluster, history, a, TOPIC, new SeededRandom(o.seed ^ 0x7a46e7), log);
      faults.start(schedule);
      const progress = setInterval(() => log(this.progress(history, cluster)), 10_000);
      try {
        await this.sleepAbortable(durationMs);
      } finally {
        clearInterval(progress);
      }
      log('fault phase over: waiting for the faults in force to end');
      await faults.stop();
      await cluster.healAll();
      log('healed: every link passes, every node runs; waiting for the producers to settle');
      await workload.stopProducers();

      // Convergence.
      log('waiting for the cluster to converge (brokers unfenced, full ISRs, still high watermarks)');
      let ends: Map<number, number> | undefined;
      try {
        ends = await waitFor('convergence', CONVERGE_MS_MAX, async () => {
          if (this.aborted) throw new Error('aborted');
          const d = await a.describeCluster();
          if (d.brokers.length !== 3 || d.brokers.some((b) => b.fenced) || d.controller <= 0) return undefined;
          const hws = (await caughtUp(a, [TOPIC], 1000, ['__consumer_offsets']))?.get(TOPIC);
          return hws?.size === PARTITIONS ? hws : undefined;
        }, POLL_MS);
        log(`converged: high watermarks ${[...ends].map(([p, hw]) => `p${p}=${hw}`).join(' ')}`);
      } catch (e) {
        history.record({ f: 'anomaly', message: `liveness: the cluster did not converge within ${CONVERGE_MS_MAX / 1000} s of healing: ${e instanceof Error ? e.message : String(e)}` });
      }

      if (ends !== undefined) {
        const behind = await workload.drain(ends, DRAIN_MS_MAX);
        if (behind !== '') history.record({ f: 'anomaly', message: `liveness: consumers did not reach the end within ${DRAIN_MS_MAX / 1000} s: ${behind}` });
        else log('every consumer read to the end; group positions committed');
        await workload.close();
        workload = undefined;
        const offsets = await a.fetchOffsets({ groupId: GROUP, topics: [TOPIC] });
        for (const p of offsets.find((t) => t.topic === TOPIC)?.partitions ?? []) history.record({ f: 'final-commit', partition: p.partition, offset: p.offset });
        await this.finalRead(skein, ends, history, log);
      }
      for (const message of cluster.unexpectedExits) history.record({ f: 'anomaly', message: `crash: ${message}` });
    } finally {
      // On an abort too: no fault may act (restart a node) once the cluster is being stopped.
      await faults?.stop().catch(() => {});
      await workload?.close().catch(() => {});
      await admin?.disconnect().catch(() => {});
      if (this.cluster !== undefined) {
        logsDir = join(outDir, 'logs');
        await mkdir(logsDir, { recursive: true });
        for (const id of this.cluster.nodeIds) await copyFile(join(dataDir, `node-${id}`, 'node.log'), join(logsDir, `node-${id}.log`)).catch(() => {});
      }
      await this.cluster?.stop({ keep: o.keep });
      if (o.keep) log(`cluster data kept in ${dataDir}`);
      await history.close();
    }

    const check = checkHistory(history.events);
    const summary = formatSummary(check, {
      seed: o.seed,
      durationS: o.durationS,
      flush: o.flush,
      commit,
      workload: `3 idempotent producers (acks=all), 2 manual consumers, 3 group members; topic ${TOPIC} (${PARTITIONS} partitions, RF 3, min.insync.replicas 2)`,
      historyPath,
      logsDir,
      wallS: (Date.now() - started) / 1000,
    });
    await writeFile(join(outDir, 'summary.txt'), `${summary}\n`);
    return { check, summary, lastLine: lastLine(check), outDir, exitCode: check.violations.length > 0 || check.lost > 0 || check.duplicates > 0 ? 1 : 0 };
  }

  private scanned = 0;
  private readonly counters = { acked: 0, unknown: 0, reads: 0, faults: 0 };

  private progress(history: History, cluster: ChaosCluster): string {
    const events = history.events;
    for (; this.scanned < events.length; this.scanned++) {
      const e = events[this.scanned];
      if (e === undefined) continue;
      if (e.f === 'send' && e.type === 'ok') this.counters.acked++;
      else if (e.f === 'send' && (e.type === 'info' || e.type === 'fail')) this.counters.unknown++;
      else if (e.f === 'poll') this.counters.reads++;
      else if (e.f === 'fault' && e.type === 'start') this.counters.faults++;
    }
    const nodes = cluster.nodeIds.map((id) => `n${id} ${cluster.state(id)}`).join(', ');
    return `${this.counters.faults} faults so far; ${this.counters.acked} acknowledged, ${this.counters.unknown} unknown, ${this.counters.reads} reads; ${nodes}`;
  }

  /** Reads every partition from offset 0 to `ends` with a fresh consumer: the final logs. */
  private async finalRead(skein: Skein, ends: ReadonlyMap<number, number>, history: History, log: (line: string) => void): Promise<void> {
    const records = new Map<number, Array<[number, string]>>();
    const positions = new Map<number, number>();
    for (const p of ends.keys()) {
      records.set(p, []);
      positions.set(p, 0);
    }
    const decoder = new TextDecoder();
    const consumer = skein.consumer({ maxWaitTimeInMs: 200 });
    try {
      await consumer.connect();
      await consumer.assign([{ topic: TOPIC, fromBeginning: true }]);
      await consumer.run({
        eachBatch: async ({ batch }) => {
          const end = ends.get(batch.partition) ?? 0;
          for (const m of batch.messages) {
            if (m.offset >= end) break;
            records.get(batch.partition)?.push([m.offset, decoder.decode(m.value ?? new Uint8Array())]);
            positions.set(batch.partition, m.offset + 1);
          }
        },
      });
      const done = (): boolean => [...ends].every(([p, end]) => (positions.get(p) ?? 0) >= end);
      const deadline = Date.now() + FINAL_READ_MS_MAX;
      while (!done() && Date.now() < deadline) await sleep(100);
      if (!done()) history.record({ f: 'anomaly', message: `liveness: the final read did not reach the end within ${FINAL_READ_MS_MAX / 1000} s: ${[...ends].map(([p, end]) => `p${p} ${positions.get(p) ?? 0}/${end}`).join(', ')}` });
    } finally {
      await consumer.disconnect().catch(() => {});
    }
    let total = 0;
    for (const [p, list] of records) {
      total += list.length;
      history.record({ f: 'final', partition: p, records: list });
    }
    log(`final read: ${total} records in ${records.size} partitions`);
  }
}
