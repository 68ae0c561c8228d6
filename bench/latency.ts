/**
 * The latency run of issue 7 — open loop at 50,000 records/s of 100 B, acks=all, on a fresh topic of
 * 6 partitions (RF 3, min.insync.replicas=2, flush=always): produce-to-ack in the producer process,
 * produce-to-consume in a consumer process that is reading before the first record is due, both from
 * each record's due time (docs/benchmarks.md, "The cluster suite"). Run 4 of the suite (cluster.ts),
 * and a benchmark of its own:
 *
 * `npm run bench -- latency [--repeat N] [--quick]`: a fresh 3-node cluster and N rounds of the run
 * alone (default 3; --quick: 1 round of 5 s), medians reported. For comparing two builds, which the full
 * suite (6 minutes) makes slow; alternate the builds over several clusters: the first round on a fresh
 * cluster is the slowest (code still being compiled), and rounds spread widely (docs/benchmarks.md,
 * "What bounds the p99").
 *
 * Invariant: every process and directory it starts is gone when it returns or throws.
 */
import type { Admin } from '../src/client/admin.js';
import { Skein } from '../src/client/skein.js';
import { formatCount, type Bench, type BenchContext, type BenchRow } from './bench-result.js';
import { median, type LatencySummary } from './latency-recorder.js';
import { LoadClient } from './load-client.js';
import { wallMs, type ConsumeResult, type PacedResult } from './load-protocol.js';
import { LocalCluster } from './local-cluster.js';

export const PARTITIONS = 6;
export const REPLICATION = 3;
const TOPIC_CONFIGS = [
  { name: 'min.insync.replicas', value: '2' },
  { name: 'flush', value: 'always' },
];
export const LATENCY_RATE_PER_S = 50_000;
/**
 * linger.ms of the latency runs. The throughput runs' 5 ms would let a record wait 5 ms in the client
 * before it is even sent — the whole p99 budget of the target (5 ms) — so the latency runs batch for
 * at most 1 ms (at 50,000/s that is still about 50 records per batch).
 */
export const LATENCY_LINGER_MS = 1;

export interface LatencyRound {
  readonly paced: PacedResult;
  readonly consumed: ConsumeResult;
}

/** `--repeat N`: rounds of every measurement (medians reported); default 3, or 1 with --quick. */
export function repeatOf(options: ReadonlyMap<string, string>, quick: boolean): number {
  const repeat = Number(options.get('repeat') ?? (quick ? 1 : 3));
  if (!(Number.isSafeInteger(repeat) && repeat >= 1 && repeat <= 20)) throw new Error(`--repeat must be 1..20, not ${options.get('repeat')}`);
  return repeat;
}

export async function createTopic(admin: Admin, topic: string): Promise<void> {
  const created = await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS, replicationFactor: REPLICATION, configEntries: TOPIC_CONFIGS }] });
  if (!created) throw new Error(`topic ${topic} already existed`);
}

/** One round on a new topic `topic`: `warmupMs`, then `durationMs` of samples. */
export async function latencyRound(
  clients: { readonly admin: Admin; readonly producer: LoadClient; readonly consumer: LoadClient; readonly brokers: readonly string[] },
  topic: string,
  timing: { readonly warmupMs: number; readonly durationMs: number },
  progress: BenchContext['progress'],
  label: string,
): Promise<LatencyRound> {
  const { admin, producer, consumer, brokers } = clients;
  const { warmupMs, durationMs } = timing;
  await createTopic(admin, topic);
  progress.update(label, true);
  const total = Math.floor((LATENCY_RATE_PER_S * (warmupMs + durationMs)) / 1000);
  producer.onProgress = (text) => progress.update(`${label}: ${text}`);
  consumer.onProgress = () => {};
  const consumed = consumer.run({ kind: 'consume', brokers, topic, records: total, timeoutMs: warmupMs + durationMs + 60_000, latency: { measureFromMs: wallMs() + 1_000 + warmupMs } }, warmupMs + durationMs + 90_000);
  await new Promise<void>((resolve) => setTimeout(resolve, 1_000));
  const paced = await producer.run({ kind: 'paced', brokers, topic, ratePerS: LATENCY_RATE_PER_S, valueBytes: 100, warmupMs, durationMs, lingerMs: LATENCY_LINGER_MS }, warmupMs + durationMs + 90_000);
  return { paced, consumed: await consumed };
}

export function ms(value: number): string {
  return `${value.toFixed(value < 10 ? 2 : value < 100 ? 1 : 0)} ms`;
}

export function medianOf<T>(runs: readonly T[], pick: (run: T) => number): number {
  return median(runs.map(pick));
}

export function spread<T>(runs: readonly T[], pick: (run: T) => number, format: (v: number) => string): string {
  return runs.length > 1 ? `runs ${runs.map((r) => format(pick(r))).join(' / ')}` : '1 run';
}

/** The latency keys of `--json` (medians of the rounds) and the two table rows. */
export function latencyResults(rounds: readonly LatencyRound[], figures: Record<string, number>, rows: BenchRow[]): void {
  const ackOf = (pick: (s: LatencySummary) => number): number => medianOf(rounds, (r) => pick(r.paced.ack));
  const e2eOf = (pick: (s: LatencySummary) => number): number => medianOf(rounds, (r) => (r.consumed.e2e === undefined ? Number.NaN : pick(r.consumed.e2e)));
  figures['ack_p50_ms'] = Math.round(ackOf((s) => s.p50Ms) * 100) / 100;
  figures['ack_p99_ms'] = Math.round(ackOf((s) => s.p99Ms) * 100) / 100;
  figures['ack_p999_ms'] = Math.round(ackOf((s) => s.p999Ms) * 100) / 100;
  figures['ack_sender_lag_max_ms'] = Math.round(medianOf(rounds, (r) => r.paced.lagMsMax) * 10) / 10;
  figures['e2e_p50_ms'] = Math.round(e2eOf((s) => s.p50Ms) * 100) / 100;
  figures['e2e_p99_ms'] = Math.round(e2eOf((s) => s.p99Ms) * 100) / 100;
  figures['e2e_p999_ms'] = Math.round(e2eOf((s) => s.p999Ms) * 100) / 100;
  const first = rounds[0] as LatencyRound;
  const failed = rounds.reduce((sum, r) => sum + r.paced.failed, 0);
  rows.push({
    what: `produce->ack at ${formatCount(LATENCY_RATE_PER_S)}/s, acks=all, linger ${LATENCY_LINGER_MS} ms`,
    value: `p99 ${ms(figures['ack_p99_ms'])}`,
    note: `p50 ${ms(figures['ack_p50_ms'])}, p99.9 ${ms(figures['ack_p999_ms'])}, max ${ms(ackOf((s) => s.maxMs))}; ${formatCount(first.paced.ack.count)} samples/run, sender lag max ${ms(medianOf(rounds, (r) => r.paced.lagMsMax))}; ${spread(rounds, (r) => r.paced.ack.p99Ms, ms)}${failed > 0 ? `; ${formatCount(failed)} FAILED: ${first.paced.firstError ?? ''}` : ''}`,
  });
  rows.push({
    what: `produce->consume at ${formatCount(LATENCY_RATE_PER_S)}/s`,
    value: `p99 ${ms(figures['e2e_p99_ms'])}`,
    note: `p50 ${ms(figures['e2e_p50_ms'])}, p99.9 ${ms(figures['e2e_p999_ms'])}; ${rounds.every((r) => r.consumed.complete) ? 'every record consumed' : 'NOT every record consumed'}; ${spread(rounds, (r) => r.consumed.e2e?.p99Ms ?? Number.NaN, ms)}`,
  });
}

export const latencyBench: Bench = async (context: BenchContext) => {
  const quick = context.quick;
  const repeat = repeatOf(context.options, quick);
  const timing = { warmupMs: quick ? 1000 : 2000, durationMs: quick ? 5000 : 10_000 };
  context.progress.update('latency: starting 3 node processes', true);
  const cluster = await LocalCluster.start({ prefix: 'skein-bench-latency-' });
  const skein = new Skein({ brokers: cluster.brokers, clientId: 'bench-admin' });
  const admin = skein.admin();
  let producer: LoadClient | undefined;
  let consumer: LoadClient | undefined;
  const rounds: LatencyRound[] = [];
  try {
    producer = await LoadClient.start('producer');
    consumer = await LoadClient.start('consumer');
    await admin.connect();
    const clients = { admin, producer, consumer, brokers: cluster.brokers };
    for (let round = 1; round <= repeat; round++) {
      rounds.push(await latencyRound(clients, `bench-latency-${round}`, timing, context.progress, `latency: ${formatCount(LATENCY_RATE_PER_S)} records/s, round ${round}/${repeat}`));
    }
  } finally {
    await admin.disconnect().catch(() => {});
    await Promise.all([producer?.close(), consumer?.close()]);
    await cluster.stop();
  }
  const figures: Record<string, number> = { repeat };
  const rows: BenchRow[] = [];
  latencyResults(rounds, figures, rows);
  rows.push({ what: 'setup', value: '', note: `a fresh cluster: 3 node processes, ${PARTITIONS} partitions, RF ${REPLICATION}, min.insync.replicas=2, flush=always; ${quick ? '--quick, ' : ''}medians of ${repeat} round${repeat === 1 ? '' : 's'}` });
  return { figures, rows };
};
