/**
 * A load worker: a child process (forked by bench/cluster.ts) that drives the cluster through the
 * client library, so that client CPU is spent outside the process that measures and orchestrates.
 * Commands and answers are in bench/load-protocol.ts; one command at a time, each with its own
 * `Skein` client, disconnected before the answer is sent.
 *
 * Invariants: every wait is bounded (a command's own duration plus the producer's delivery timeout, or
 * the consumer's `timeoutMs`); the process exits when its parent goes away (IPC disconnect), so a
 * crashed benchmark leaves no load running.
 */
import { Skein } from '../src/client/skein.js';
import type { Producer } from '../src/client/producer.js';
import type { Message } from '../src/client/producer-messages.js';
import { LatencyRecorder } from './latency-recorder.js';
import {
  wallMs,
  type ConsumeCommand,
  type ConsumeResult,
  type FromLoadWorker,
  type PacedCommand,
  type PacedResult,
  type PartitionGap,
  type ProduceCommand,
  type ProduceResult,
  type ToLoadWorker,
} from './load-protocol.js';

const PROGRESS_INTERVAL_MS = 1000;
/**
 * Producer settings of every run: the batching a throughput-minded Kafka user picks — batches up to
 * max.request.size (1 MiB) instead of the 16 KiB default, which the broker then handles as one unit.
 */
const PRODUCER_TUNING = { lingerMs: 5, batchSize: 1024 * 1024, bufferMemoryBytes: 128 * 1024 * 1024, deliveryTimeoutMs: 60_000 } as const;
const PACED_TICK_MS = 1;

let stopRequested = false;

function send(message: FromLoadWorker): void {
  process.send?.(message);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function producerFor(skein: Skein, acks: -1 | 1, lingerMs: number = PRODUCER_TUNING.lingerMs): Producer {
  return skein.producer({ acks, idempotent: acks === -1, ...PRODUCER_TUNING, lingerMs });
}

async function produce(c: ProduceCommand): Promise<ProduceResult> {
  const skein = new Skein({ brokers: c.brokers, clientId: 'bench-producer' });
  const producer = producerFor(skein, c.acks);
  await producer.connect();
  try {
    // The same immutable messages for every call: the producer copies values into its batches.
    const value = new Uint8Array(c.valueBytes).fill(0x61);
    const messages: Message[] = Array.from({ length: c.recordsPerSend }, () => ({ value }));
    let acked = 0;
    let failure: unknown;
    const inFlight = new Set<Promise<void>>();
    const startMs = performance.now();
    const measureFromMs = startMs + c.warmupMs;
    const endMs = measureFromMs + c.durationMs;
    let ackedAtMeasureStart = -1;
    let measureStartMs = 0;
    let lastProgressMs = startMs;
    let sent = 0;
    const recordsMax = c.recordsMax ?? Number.POSITIVE_INFINITY;
    for (;;) {
      const now = performance.now();
      if (ackedAtMeasureStart < 0 && now >= measureFromMs) {
        ackedAtMeasureStart = acked;
        measureStartMs = now;
      }
      if (now >= endMs || failure !== undefined || sent >= recordsMax) break;
      if (now - lastProgressMs >= PROGRESS_INTERVAL_MS) {
        lastProgressMs = now;
        send({ kind: 'progress', text: `${acked.toLocaleString('en-US')} acked (${((now - startMs) / 1000).toFixed(0)} s)` });
      }
      sent += c.recordsPerSend;
      const call = producer.send({ topic: c.topic, messages }).then(
        () => void (acked += c.recordsPerSend),
        (e: unknown) => void (failure ??= e),
      );
      const tracked = call.finally(() => inFlight.delete(tracked));
      inFlight.add(tracked);
      if (inFlight.size >= c.sendsInFlight) await Promise.race(inFlight);
    }
    // Only what was acknowledged inside the window counts; the tail is drained but not measured.
    const measuredMs = performance.now() - measureStartMs;
    const records = acked - ackedAtMeasureStart;
    await Promise.all(inFlight);
    if (failure !== undefined) throw failure;
    const stats = producer.stats();
    return { records, bytes: records * c.valueBytes, seconds: measuredMs / 1000, requests: stats.requests, recordsPerRequest: acked / Math.max(1, stats.requests), retries: stats.retries };
  } finally {
    await producer.disconnect();
  }
}

/** Per-partition acknowledgement times: the longest gap between two consecutive ones. */
class GapTracker {
  private readonly last: number[];
  private readonly gaps: PartitionGap[];

  constructor(partitions: number, startMs: number) {
    this.last = Array.from({ length: partitions }, () => startMs);
    this.gaps = Array.from({ length: partitions }, (_, partition) => ({ partition, gapMs: 0, fromMs: startMs, acks: 0 }));
  }

  ack(partition: number, atMs: number): void {
    const previous = this.last[partition] as number;
    const g = this.gaps[partition] as PartitionGap;
    const gapMs = atMs - previous;
    this.gaps[partition] = gapMs > g.gapMs ? { partition, gapMs, fromMs: previous, acks: g.acks + 1 } : { ...g, acks: g.acks + 1 };
    this.last[partition] = Math.max(previous, atMs);
  }

  result(): PartitionGap[] {
    return this.gaps;
  }
}

async function paced(c: PacedCommand): Promise<PacedResult> {
  const skein = new Skein({ brokers: c.brokers, clientId: 'bench-paced' });
  const producer = producerFor(skein, -1, c.lingerMs);
  await producer.connect();
  try {
    const total = Math.floor((c.ratePerS * (c.warmupMs + c.durationMs)) / 1000);
    const intervalMs = 1000 / c.ratePerS;
    const startMs = wallMs();
    const measureFromMs = startMs + c.warmupMs;
    const ack = new LatencyRecorder();
    const gaps = c.perPartition === undefined ? undefined : new GapTracker(c.perPartition, startMs);
    let sent = 0;
    let acked = 0;
    let failed = 0;
    let firstError: string | undefined;
    let lagMsMax = 0;
    let lastProgressMs = startMs;
    const inFlight = new Set<Promise<void>>();

    const issue = (first: number, count: number, partition: number | undefined, step: number): void => {
      const messages: Message[] = [];
      const due: number[] = [];
      // One buffer for the call's values (views into it): the client copies them into the batch.
      const values = new Uint8Array(count * c.valueBytes);
      const view = new DataView(values.buffer);
      for (let i = first, k = 0; i < first + count * step; i += step, k++) {
        const dueMs = startMs + i * intervalMs;
        const value = values.subarray(k * c.valueBytes, (k + 1) * c.valueBytes);
        view.setFloat64(k * c.valueBytes, dueMs, true);
        messages.push(partition === undefined ? { value } : { value, partition });
        due.push(dueMs);
      }
      const call = producer.send({ topic: c.topic, messages }).then(
        () => {
          const now = wallMs();
          acked += messages.length;
          for (const d of due) if (d >= measureFromMs) ack.record(now - d);
          if (gaps !== undefined && partition !== undefined) gaps.ack(partition, now);
        },
        (e: unknown) => {
          failed += messages.length;
          firstError ??= e instanceof Error ? e.message : String(e);
        },
      );
      const tracked = call.finally(() => inFlight.delete(tracked));
      inFlight.add(tracked);
    };

    while (sent < total && !stopRequested) {
      const now = wallMs();
      const due = Math.min(total, Math.floor((now - startMs) / intervalMs) + 1);
      if (due > sent) {
        if (now >= measureFromMs) lagMsMax = Math.max(lagMsMax, now - (startMs + sent * intervalMs));
        if (c.perPartition === undefined) issue(sent, due - sent, undefined, 1);
        else {
          // Round-robin: record i goes to partition i % P, so every partition gets an even stream.
          for (let p = 0; p < c.perPartition; p++) {
            const first = sent + ((p - (sent % c.perPartition) + c.perPartition) % c.perPartition);
            if (first >= due) continue;
            issue(first, Math.ceil((due - first) / c.perPartition), p, c.perPartition);
          }
        }
        sent = due;
      }
      if (now - lastProgressMs >= PROGRESS_INTERVAL_MS) {
        lastProgressMs = now;
        send({ kind: 'progress', text: `${acked.toLocaleString('en-US')} of ${sent.toLocaleString('en-US')} acked, ${inFlight.size} calls in flight` });
      }
      await sleep(PACED_TICK_MS);
    }
    const seconds = (wallMs() - startMs) / 1000;
    await Promise.all(inFlight);
    return {
      sent,
      acked,
      failed,
      ...(firstError !== undefined && { firstError }),
      seconds,
      ack: ack.summary(),
      lagMsMax,
      ...(gaps !== undefined && { gaps: gaps.result() }),
    };
  } finally {
    await producer.disconnect();
  }
}

async function consume(c: ConsumeCommand): Promise<ConsumeResult> {
  const skein = new Skein({ brokers: c.brokers, clientId: 'bench-consumer' });
  const consumer = skein.consumer();
  await consumer.connect();
  try {
    await consumer.assign([{ topic: c.topic, fromBeginning: true }]);
    const e2e = c.latency === undefined ? undefined : new LatencyRecorder();
    const measureFromMs = c.latency?.measureFromMs ?? 0;
    let records = 0;
    let bytes = 0;
    let lastProgressMs = performance.now();
    let finish: () => void = () => {};
    const finished = new Promise<void>((resolve) => (finish = resolve));
    const startMs = performance.now();
    let endMs = startMs;
    await consumer.run({
      eachBatch: async ({ batch }) => {
        const now = wallMs();
        for (const m of batch.messages) {
          const value = m.value;
          if (value === null) continue;
          bytes += value.length;
          if (e2e !== undefined && value.length >= 8) {
            const dueMs = new DataView(value.buffer, value.byteOffset, 8).getFloat64(0, true);
            if (dueMs >= measureFromMs) e2e.record(now - dueMs);
          }
        }
        records += batch.messages.length;
        const t = performance.now();
        if (t - lastProgressMs >= PROGRESS_INTERVAL_MS) {
          lastProgressMs = t;
          send({ kind: 'progress', text: `${records.toLocaleString('en-US')} of ${c.records.toLocaleString('en-US')} consumed` });
        }
        if (records >= c.records) {
          endMs = t;
          finish();
        }
      },
    });
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([finished, new Promise<void>((r) => (timer = setTimeout(r, c.timeoutMs)))]);
    clearTimeout(timer);
    const complete = records >= c.records;
    if (!complete) endMs = performance.now();
    await consumer.stop();
    return { records, bytes, seconds: (endMs - startMs) / 1000, complete, ...(e2e !== undefined && { e2e: e2e.summary() }) };
  } finally {
    await consumer.disconnect();
  }
}

async function run(command: ToLoadWorker): Promise<void> {
  try {
    stopRequested = false;
    const result = command.kind === 'produce' ? await produce(command) : command.kind === 'paced' ? await paced(command) : await consume(command as ConsumeCommand);
    send({ kind: 'done', result });
  } catch (e) {
    send({ kind: 'failed', error: e instanceof Error ? (e.stack ?? e.message) : String(e) });
  }
}

process.on('message', (command: ToLoadWorker) => {
  if (command.kind === 'stop') stopRequested = true;
  else void run(command);
});
// The benchmark is gone (finished or crashed): so is the load. process.exit still writes a --cpu-prof profile.
process.on('disconnect', () => process.exit(0));
send({ kind: 'ready' });
