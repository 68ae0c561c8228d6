/**
 * Choosing a partition for a record (Kafka's BuiltInPartitioner / DefaultPartitioner; KafkaJS's
 * DefaultPartitioner):
 * - an explicit `partition` wins;
 * - a keyed record goes to `toPositive(murmur2(keyBytes)) % numPartitions` — bit for bit what the Java
 *   client and KafkaJS compute, so the same key lands on the same partition whichever client wrote it;
 * - a record without a key sticks to one partition per topic until that partition's batch is sent
 *   (KIP-480), then the producer calls `onNewBatch` and the next keyless record picks another
 *   partition at random — preferring partitions with a leader — so keyless records fill whole batches
 *   instead of spreading thin ones over every partition.
 *
 * Pure except for the injected Random; no I/O.
 */
import type { Random } from '../util/random.js';

const SEED = 0x9747b28c;
const M = 0x5bd1e995;

/**
 * Kafka's `Utils.murmur2` (MurmurHash2, seed 0x9747b28c) over `data`: a signed 32-bit integer.
 * Uses Math.imul for Java's wrapping int multiplication and `>>>` for its unsigned shift.
 */
export function murmur2(data: Uint8Array): number {
  const length = data.length;
  let h = SEED ^ length;
  const length4 = length >>> 2;
  for (let i = 0; i < length4; i++) {
    const i4 = i * 4;
    let k = data[i4]! | (data[i4 + 1]! << 8) | (data[i4 + 2]! << 16) | (data[i4 + 3]! << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M);
    h ^= k;
  }
  // Java's switch falls through 3 -> 2 -> 1; spelled out (noFallthroughCasesInSwitch).
  const tail = length & ~3;
  const rest = length & 3;
  if (rest >= 3) h ^= data[tail + 2]! << 16;
  if (rest >= 2) h ^= data[tail + 1]! << 8;
  if (rest >= 1) {
    h ^= data[tail]!;
    h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

/** Kafka's `Utils.toPositive`: clears the sign bit (not Math.abs, which fails for INT_MIN). */
export function toPositive(n: number): number {
  return n & 0x7fffffff;
}

/** The partition of a keyed record among `numPartitions` (all partitions, available or not, as Kafka). */
export function keyPartition(keyBytes: Uint8Array, numPartitions: number): number {
  return toPositive(murmur2(keyBytes)) % numPartitions;
}

/** What the partitioner needs to know of a topic's partitions. */
export interface PartitionAvailability {
  readonly partition: number;
  /** -1: no leader (unavailable). */
  readonly leader: number;
}

/** Keyed records by murmur2, keyless ones sticky per topic (KIP-480). */
export class StickyPartitioner {
  /** The current sticky partition per topic. */
  private readonly sticky = new Map<string, number>();

  constructor(private readonly random: Random) {}

  /**
   * The partition for a record of `topic` with `keyBytes` (null: no key) among `partitions` (the
   * topic's partitions, index i = partition i). An explicit partition is the caller's business.
   */
  partition(topic: string, keyBytes: Uint8Array | null, partitions: readonly PartitionAvailability[]): number {
    if (keyBytes !== null) return keyPartition(keyBytes, partitions.length);
    const current = this.sticky.get(topic);
    if (current !== undefined && current < partitions.length) return current;
    return this.next(topic, -1, partitions);
  }

  /**
   * The batch of `topic`'s sticky partition `previous` was sealed: move keyless records of the topic
   * elsewhere. A no-op when the topic already stuck to another partition since (another batch of
   * the topic closed first), exactly as Kafka's StickyPartitionCache.nextPartition.
   */
  onNewBatch(topic: string, previous: number, partitions: readonly PartitionAvailability[]): void {
    const current = this.sticky.get(topic);
    if (current === undefined || current === previous) this.next(topic, previous, partitions);
  }

  /** The sticky partition of `topic` right now, if any (for tests and diagnostics). */
  current(topic: string): number | undefined {
    return this.sticky.get(topic);
  }

  private next(topic: string, previous: number, partitions: readonly PartitionAvailability[]): number {
    const available = partitions.filter((p) => p.leader !== -1).map((p) => p.partition);
    const pool = available.length > 0 ? available : partitions.map((p) => p.partition);
    let choice: number;
    if (pool.length === 1) choice = pool[0]!;
    else {
      // Another partition than the one just filled, uniformly among the rest.
      const others = pool.filter((p) => p !== previous);
      choice = others[this.random.int(others.length)]!;
    }
    this.sticky.set(topic, choice);
    return choice;
  }
}
