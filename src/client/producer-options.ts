/**
 * Producer options (Kafka's producer configs under KafkaJS-style camelCase names) with their defaults
 * and checks. `resolveProducerOptions` throws InvalidArgumentError for a bad value, so a misconfigured
 * producer fails at construction, not at its first send.
 *
 * Decisions:
 * - `idempotent` defaults to true (Kafka 3.0+); it needs acks=all (-1) and 1..5 in-flight requests per
 *   partition (Kafka's rule: the broker keeps the last 5 batches per producer for deduplication).
 * - Retries are bounded by `deliveryTimeoutMs` (Kafka: retries = MAX_INT, delivery.timeout.ms bounds
 *   them); `retry.retries` can bound them further. The backoff defaults are Kafka's producer ones
 *   (retry.backoff.ms 100, retry.backoff.max.ms 1000), not the admin's slower curve.
 * - `maxBlockMs` (Kafka's max.block.ms) bounds how long `send` waits for topic metadata and for buffer
 *   space; its default here is 10 s rather than Kafka's 60 s, so a typo in a topic name fails fast.
 */
import { InvalidArgumentError } from './errors.js';
import { DEFAULT_RETRY, resolveRetryOptions, type ResolvedRetryOptions, type RetryOptions } from './retry.js';

/** Kafka's acks: 0 none, 1 the leader, -1 ('all') every in-sync replica. */
export type Acks = 0 | 1 | -1;
export type AcksOption = Acks | 'all';

export interface ProducerOptions {
  /** Default -1 (all). */
  readonly acks?: AcksOption;
  /** linger.ms: how long a batch waits for more records; default 5. */
  readonly lingerMs?: number;
  /** batch.size: bytes per partition batch before it is sent regardless of linger; default 16384. */
  readonly batchSize?: number;
  /** enable.idempotence; default true. */
  readonly idempotent?: boolean;
  /** max.in.flight.requests.per.connection, here per partition; default 5 (at most 5 when idempotent). */
  readonly maxInFlightRequests?: number;
  /** delivery.timeout.ms: a record not acknowledged this long after send fails; default 120000. */
  readonly deliveryTimeoutMs?: number;
  /** request.timeout.ms: how long one produce request may wait for its answer; default 30000. */
  readonly requestTimeoutMs?: number;
  /** The broker-side wait for acks=all (KafkaJS's `timeout`); default 30000. */
  readonly timeout?: number;
  /** max.request.size: the largest record batch sent; default 1048576. */
  readonly maxRequestSizeBytes?: number;
  /** buffer.memory: bytes of records waiting to be sent or acknowledged; default 33554432. */
  readonly bufferMemoryBytes?: number;
  /** max.block.ms: how long send waits for metadata or buffer space; default 10000. */
  readonly maxBlockMs?: number;
  /** metadata.max.age.ms; default 300000. */
  readonly metadataMaxAgeMs?: number;
  readonly retry?: RetryOptions;
}

export interface ResolvedProducerOptions {
  readonly acks: Acks;
  readonly lingerMs: number;
  readonly batchSize: number;
  readonly idempotent: boolean;
  readonly maxInFlightRequests: number;
  readonly deliveryTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly timeout: number;
  readonly maxRequestSizeBytes: number;
  readonly bufferMemoryBytes: number;
  readonly maxBlockMs: number;
  readonly retry: ResolvedRetryOptions;
}

export const PRODUCER_RETRY_DEFAULTS: ResolvedRetryOptions = { ...DEFAULT_RETRY, retries: Number.MAX_SAFE_INTEGER, initialRetryTimeMs: 100, maxRetryTimeMs: 1000 };
export const IDEMPOTENT_IN_FLIGHT_MAX = 5;

/** Checks an acks value (from options or a send call); throws InvalidArgumentError for anything else. */
export function parseAcks(value: unknown): Acks {
  if (value === 'all' || value === -1) return -1;
  if (value === 0 || value === 1) return value;
  throw new InvalidArgumentError(`acks must be 0, 1, -1 or 'all', got ${JSON.stringify(value) ?? String(value)}`);
}

function int(value: number | undefined, fallback: number, name: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined) return fallback;
  if (!(Number.isSafeInteger(value) && value >= min && value <= max)) throw new InvalidArgumentError(`${name} must be an integer in [${min}, ${max}], got ${String(value)}`);
  return value;
}

/** Fills in defaults and checks every option. `base` carries client-wide defaults (Skein's options). */
export function resolveProducerOptions(options: ProducerOptions = {}, base: { readonly requestTimeoutMs?: number; readonly retry?: RetryOptions } = {}): ResolvedProducerOptions {
  const idempotent = options.idempotent ?? true;
  if (typeof idempotent !== 'boolean') throw new InvalidArgumentError(`idempotent must be a boolean, got ${String(idempotent)}`);
  const acks = parseAcks(options.acks ?? -1);
  if (idempotent && acks !== -1) throw new InvalidArgumentError(`an idempotent producer needs acks=all (-1), got ${acks}; set idempotent: false to use acks=${acks}`);
  const maxInFlightRequests = int(options.maxInFlightRequests, 5, 'maxInFlightRequests', 1, idempotent ? IDEMPOTENT_IN_FLIGHT_MAX : 1000);
  const requestTimeoutMs = int(options.requestTimeoutMs ?? base.requestTimeoutMs, 30_000, 'requestTimeoutMs', 1, 0x7fff_ffff);
  const lingerMs = int(options.lingerMs, 5, 'lingerMs', 0, 0x7fff_ffff);
  const deliveryTimeoutMs = int(options.deliveryTimeoutMs, 120_000, 'deliveryTimeoutMs', 1);
  if (deliveryTimeoutMs < lingerMs) throw new InvalidArgumentError(`deliveryTimeoutMs (${deliveryTimeoutMs}) must be at least lingerMs (${lingerMs})`);
  return {
    acks,
    lingerMs,
    batchSize: int(options.batchSize, 16_384, 'batchSize', 1),
    idempotent,
    maxInFlightRequests,
    deliveryTimeoutMs,
    requestTimeoutMs,
    timeout: int(options.timeout, 30_000, 'timeout', 1, 0x7fff_ffff),
    maxRequestSizeBytes: int(options.maxRequestSizeBytes, 1_048_576, 'maxRequestSizeBytes', 1),
    bufferMemoryBytes: int(options.bufferMemoryBytes, 32 * 1024 * 1024, 'bufferMemoryBytes', 1),
    maxBlockMs: int(options.maxBlockMs, 10_000, 'maxBlockMs', 0),
    retry: resolveRetryOptions({ ...PRODUCER_RETRY_DEFAULTS, ...base.retry, ...options.retry }),
  };
}
