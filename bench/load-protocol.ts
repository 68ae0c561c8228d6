/**
 * The messages between the cluster benchmark (bench/cluster.ts) and a load worker process
 * (bench/load-worker.ts), over the child-process IPC channel. One command runs at a time per worker;
 * it answers with exactly one `done` or `failed`, and may send `progress` lines meanwhile.
 *
 * Times that cross the process boundary are wall-clock ms as a float (`performance.timeOrigin +
 * performance.now()`, see `wallMs`): both processes read the same system clock, with sub-ms precision.
 */
import type { LatencySummary } from './latency-recorder.js';

/** Closed loop: as fast as the cluster takes it, `sendsInFlight` send calls of `recordsPerSend` each. */
export interface ProduceCommand {
  readonly kind: 'produce';
  readonly brokers: readonly string[];
  readonly topic: string;
  readonly acks: -1 | 1;
  readonly valueBytes: number;
  readonly warmupMs: number;
  readonly durationMs: number;
  readonly recordsPerSend: number;
  readonly sendsInFlight: number;
  /** Stop once this many records were sent (filling a log to a size); the window then ends early. */
  readonly recordsMax?: number;
}

/**
 * Open loop at `ratePerS`: record i is due at start + i / rate, and is sent as soon as the loop sees
 * it due, whatever is in flight. Latency is taken from the due time, so a stalled cluster is charged
 * for every record it delayed (no coordinated omission). Each value starts with its due time (float64,
 * little-endian wall ms) so a consumer can measure produce-to-consume. Records due during `warmupMs`
 * are sent but not measured. With `perPartition`, every tick sends one call per partition (explicit
 * partitions) and the answer reports each partition's longest gap between acknowledgements.
 */
export interface PacedCommand {
  readonly kind: 'paced';
  readonly brokers: readonly string[];
  readonly topic: string;
  readonly ratePerS: number;
  readonly valueBytes: number;
  readonly warmupMs: number;
  readonly durationMs: number;
  /** Per-partition sends and ack-gap tracking (the failover run); the topic's partition count. */
  readonly perPartition?: number;
  /** The producer's linger.ms for this run; default the throughput runs' 5. */
  readonly lingerMs?: number;
}

/** Reads `topic` from the beginning (every partition) until `records` were delivered or `timeoutMs`. */
export interface ConsumeCommand {
  readonly kind: 'consume';
  readonly brokers: readonly string[];
  readonly topic: string;
  readonly records: number;
  readonly timeoutMs: number;
  /** Take each value's leading due time and record produce-to-consume latency (from `measureFromMs`). */
  readonly latency?: { readonly measureFromMs: number };
}

/** Ends a running paced command early (the failover run lasts until the benchmark has seen enough). */
export interface StopCommand {
  readonly kind: 'stop';
}

export type ToLoadWorker = ProduceCommand | PacedCommand | ConsumeCommand | StopCommand;

export interface ProduceResult {
  readonly records: number;
  readonly bytes: number;
  readonly seconds: number;
  /** Produce requests over the whole run (warm-up and drain included), and records per request. */
  readonly requests: number;
  readonly recordsPerRequest: number;
  readonly retries: number;
}

export interface PartitionGap {
  readonly partition: number;
  readonly gapMs: number;
  /** Wall ms of the acknowledgement before the gap. */
  readonly fromMs: number;
  readonly acks: number;
}

export interface PacedResult {
  readonly sent: number;
  readonly acked: number;
  readonly failed: number;
  readonly firstError?: string;
  readonly seconds: number;
  readonly ack: LatencySummary;
  /** How far the sending loop fell behind the schedule at worst (ms): the pacing was honest if small. */
  readonly lagMsMax: number;
  readonly gaps?: readonly PartitionGap[];
}

export interface ConsumeResult {
  readonly records: number;
  readonly bytes: number;
  readonly seconds: number;
  readonly complete: boolean;
  readonly e2e?: LatencySummary;
}

export type FromLoadWorker =
  | { readonly kind: 'ready' }
  | { readonly kind: 'progress'; readonly text: string }
  | { readonly kind: 'done'; readonly result: ProduceResult | PacedResult | ConsumeResult }
  | { readonly kind: 'failed'; readonly error: string };

/** Wall-clock ms with sub-ms precision, comparable across processes on one machine. */
export function wallMs(): number {
  return performance.timeOrigin + performance.now();
}
