/**
 * `npm run bench -- profile [--seconds N] [--acks all|1] [--dir DIR]`: one produce run (100 B, acks=all
 * by default, one producer process, 6 partitions, RF 3, min.insync.replicas=2, flush=always — the first
 * run of the cluster benchmark, or with `--acks 1` the second, not idempotent like it) with every node
 * process and the producer process under `node --cpu-prof`, then a summary of where the time went
 * (bench/cpu-profile.ts).
 *
 * Every node gets `NODE_OPTIONS=--import=bench/cpu-prof-preload.js` (Node refuses --cpu-prof there)
 * through `cluster up`'s environment, the producer the same flag as execArgv; SIGUSR2 starts their
 * profilers after a 2 s warm-up and stops them (writing DIR/nodes/*, DIR/producer/*) at the end of the
 * window, so start-up, topic creation and shutdown are not in the profiles. DIR (default: a new directory under the OS temp dir) is
 * kept: the raw profiles open in Chrome DevTools or speedscope, and `summary-*.txt` hold the full
 * text summaries. Profiling slows the processes down (a few %), so the rate printed here is not a
 * benchmark figure.
 */
import { mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Skein } from '../src/client/skein.js';
import { formatCount, type Bench, type BenchRow } from './bench-result.js';
import { formatSummary, readProfile, summariseProfiles, type ProfileSummary } from './cpu-profile.js';
import { LoadClient } from './load-client.js';
import type { ProduceResult } from './load-protocol.js';
import { LocalCluster } from './local-cluster.js';

const TOPIC = 'bench-profile';
const PRELOAD = fileURLToPath(new URL('./cpu-prof-preload.js', import.meta.url));
const WARMUP_MS = 2000;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** CPU time of a process so far (all its threads: libuv's pool too), from /proc; undefined elsewhere. */
interface CpuTimes {
  readonly userMs: number;
  readonly systemMs: number;
}

/** Clock ticks per second of /proc/<pid>/stat (USER_HZ): 100 on Linux builds for every mainstream arch. */
const USER_HZ = 100;

async function cpuTimes(pid: number): Promise<CpuTimes | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name: state is field 3, utime 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { userMs: (Number(fields[11]) * 1000) / USER_HZ, systemMs: (Number(fields[12]) * 1000) / USER_HZ };
  } catch {
    return undefined;
  }
}

async function cpuTimesOf(pids: readonly number[]): Promise<Map<number, CpuTimes>> {
  const out = new Map<number, CpuTimes>();
  for (const pid of pids) {
    const t = await cpuTimes(pid);
    if (t !== undefined) out.set(pid, t);
  }
  return out;
}

function topRows(label: string, s: ProfileSummary, count: number, list: 'selfByFunction' | 'selfByFile'): BenchRow[] {
  return s[list]
    .filter((i) => i.name !== '(idle)')
    .slice(0, count)
    .map((i) => ({ what: `${label} ${i.name}`, value: `${((100 * i.ms) / Math.max(1, s.busyMs)).toFixed(1)}%`, note: `${formatCount(i.ms)} ms self` }));
}

export const profileBench: Bench = async (context) => {
  const seconds = Number(context.options.get('seconds') ?? (context.quick ? 8 : 15));
  if (!(Number.isFinite(seconds) && seconds > 0 && seconds <= 600)) throw new Error('profile: --seconds must be in (0, 600]');
  const acksOption = context.options.get('acks') ?? 'all';
  if (acksOption !== 'all' && acksOption !== '1') throw new Error(`profile: --acks must be all or 1, not ${acksOption}`);
  const acks = acksOption === 'all' ? -1 : 1;
  const label = `produce 100 B acks=${acksOption}`;
  const given = context.options.get('dir');
  const dir = given === undefined ? await mkdtemp(join(tmpdir(), 'skein-profile-')) : resolve(given);
  const nodesDir = join(dir, 'nodes');
  const producerDir = join(dir, 'producer');
  await mkdir(nodesDir, { recursive: true });
  await mkdir(producerDir, { recursive: true });

  context.progress.update('profile: starting 3 node processes with the profiler loaded', true);
  const cluster = await LocalCluster.start({ prefix: 'skein-bench-profile-', env: { NODE_OPTIONS: `--import=${PRELOAD}`, SKEIN_CPU_PROF_DIR: nodesDir } });
  let producer: LoadClient | undefined;
  let result: ProduceResult;
  const pids = new Map<number, number>();
  let cpuBefore = new Map<number, CpuTimes>();
  let cpuAfter = new Map<number, CpuTimes>();
  let windowMs = 0;
  let producerPid: number | undefined;
  try {
    for (let id = 1; id <= cluster.nodes; id++) pids.set(cluster.pidOf(id), id);
    const admin = new Skein({ brokers: cluster.brokers, clientId: 'bench-admin' }).admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: 6, replicationFactor: 3, configEntries: [{ name: 'min.insync.replicas', value: '2' }, { name: 'flush', value: 'always' }] }] });
    await admin.disconnect();
    producer = await LoadClient.start('producer', [`--import=${PRELOAD}`], { SKEIN_CPU_PROF_DIR: producerDir });
    const p = producer;
    p.onProgress = (text) => context.progress.update(`profile: ${label}: ${text}`);
    const running = p.run(
      { kind: 'produce', brokers: cluster.brokers, topic: TOPIC, acks, valueBytes: 100, warmupMs: WARMUP_MS, durationMs: seconds * 1000, recordsPerSend: 1000, sendsInFlight: 32 },
      seconds * 1000 + 120_000,
    );
    // The profilers run during the measurement window only (SIGUSR2 toggles them).
    const toggle = (): void => {
      for (const pid of [...pids.keys(), p.pid]) if (pid !== undefined) process.kill(pid, 'SIGUSR2');
    };
    const watched = [...pids.keys(), ...(p.pid === undefined ? [] : [p.pid])];
    await sleep(WARMUP_MS);
    cpuBefore = await cpuTimesOf(watched);
    const windowStartMs = performance.now();
    toggle();
    await sleep(seconds * 1000 - 200);
    toggle();
    cpuAfter = await cpuTimesOf(watched);
    windowMs = performance.now() - windowStartMs;
    producerPid = p.pid;
    result = await running;
    await sleep(1000); // the profiles are written synchronously on the signal; give the event loops a moment
  } finally {
    await producer?.close();
    context.progress.update('profile: stopping the nodes', true);
    await cluster.stop();
  }

  const nodeFiles = (await readdir(nodesDir)).filter((f) => f.endsWith('.cpuprofile'));
  const byNode = new Map<number, string>();
  for (const f of nodeFiles) {
    const id = pids.get(Number(/^skein-(\d+)-/.exec(f)?.[1]));
    if (id !== undefined) byNode.set(id, join(nodesDir, f));
  }
  if (byNode.size === 0) throw new Error(`profile: no node profile was written to ${nodesDir}`);
  const producerFiles = (await readdir(producerDir)).filter((f) => f.endsWith('.cpuprofile')).map((f) => join(producerDir, f));

  const perNode = new Map<number, ProfileSummary>();
  for (const [id, file] of byNode) {
    const s = summariseProfiles([await readProfile(file)]);
    perNode.set(id, s);
    await writeFile(join(dir, `summary-node-${id}.txt`), `${formatSummary(`node ${id}`, s, 60)}\n`);
  }
  const nodes = summariseProfiles(await Promise.all([...byNode.values()].map(readProfile)));
  await writeFile(join(dir, 'summary-nodes.txt'), `${formatSummary('nodes 1-3 merged', nodes, 80)}\n`);
  const client = producerFiles.length === 0 ? undefined : summariseProfiles(await Promise.all(producerFiles.map(readProfile)));
  if (client !== undefined) await writeFile(join(dir, 'summary-producer.txt'), `${formatSummary('producer', client, 60)}\n`);

  const rate = result.records / result.seconds;
  // CPU actually used in the window (user and kernel), per process: the profiles sample wall-clock
  // time of the main thread, which on a busy machine includes time spent waiting for a core.
  const cpuRows: BenchRow[] = [];
  let nodesCpuMs = 0;
  let producerCpuMs = 0;
  for (const [pid, after] of cpuAfter) {
    const before = cpuBefore.get(pid);
    if (before === undefined) continue;
    const user = after.userMs - before.userMs;
    const system = after.systemMs - before.systemMs;
    const who = pid === producerPid ? 'producer' : `node ${pids.get(pid)}`;
    if (pid === producerPid) producerCpuMs += user + system;
    else nodesCpuMs += user + system;
    cpuRows.push({ what: `${who} CPU in the window`, value: `${((100 * (user + system)) / windowMs).toFixed(0)}% of a core`, note: `user ${formatCount(user)} ms, kernel ${formatCount(system)} ms over ${formatCount(windowMs)} ms` });
  }
  // The budget view: at the target of 500,000 records/s, 2 cores allow 4 µs of CPU per record in all.
  const recordsInWindow = (rate * windowMs) / 1000;
  const usPerRecord = (cpuMs: number): number => (1000 * cpuMs) / Math.max(1, recordsInWindow);
  if (cpuRows.length > 0) {
    cpuRows.push({
      what: 'CPU per record (all 3 nodes / producer)',
      value: `${usPerRecord(nodesCpuMs).toFixed(2)} / ${usPerRecord(producerCpuMs).toFixed(2)} µs`,
      note: 'at 500,000 records/s two cores allow 4 µs per record for everything',
    });
  }
  const rows: BenchRow[] = [
    { what: `${label} with the profilers on`, value: `${formatCount(rate)} rec/s`, note: `${seconds} s window, ${formatCount(result.recordsPerRequest)} records/request; profiles and summary-*.txt in ${dir}` },
    ...[...perNode].sort(([a], [b]) => a - b).map(([id, s]) => ({ what: `node ${id} main thread on-stack`, value: `${((100 * s.busyMs) / s.sampledMs).toFixed(0)}%`, note: `${formatCount(s.busyMs)} of ${formatCount(s.sampledMs)} ms sampled` })),
    ...cpuRows,
    ...(client === undefined ? [] : [{ what: 'producer main thread on-stack', value: `${((100 * client.busyMs) / client.sampledMs).toFixed(0)}%`, note: `${formatCount(client.busyMs)} of ${formatCount(client.sampledMs)} ms sampled` }]),
    ...topRows('nodes, self:', nodes, 25, 'selfByFunction'),
    ...topRows('nodes, file:', nodes, 12, 'selfByFile'),
    ...(client === undefined ? [] : topRows('producer, self:', client, 12, 'selfByFunction')),
  ];
  return {
    figures: {
      [acks === -1 ? 'profile_produce_acks_all_rps' : 'profile_produce_acks_1_rps']: Math.round(rate),
      profile_records_per_request: Math.round(result.recordsPerRequest),
      ...(cpuRows.length > 0 && { profile_nodes_cpu_us_per_record: Math.round(usPerRecord(nodesCpuMs) * 100) / 100, profile_producer_cpu_us_per_record: Math.round(usPerRecord(producerCpuMs) * 100) / 100 }),
      profile_nodes_busy_ms: Math.round(nodes.busyMs),
      profile_nodes_sampled_ms: Math.round(nodes.sampledMs),
      ...(client !== undefined && { profile_producer_busy_ms: Math.round(client.busyMs) }),
    },
    rows,
  };
};
