/**
 * The committed offsets of one group, keyed by topic-partition. Plain in-memory state: the shard
 * (shard.ts) changes it only together with an append of the same change to `__consumer_offsets`, and
 * rebuilds it from that log on load.
 */
import { partitionKey } from './assignment.js';

export interface CommittedOffset {
  readonly offset: number;
  /** The leader epoch of the last consumed record (KIP-320); -1 unknown. */
  readonly leaderEpoch: number;
  readonly metadata: string;
  /** Wall-clock milliseconds of the commit. */
  readonly commitTimestampMs: number;
}

export interface StoredOffset extends CommittedOffset {
  readonly topic: string;
  readonly partition: number;
}

export class OffsetStore {
  private readonly byKey = new Map<string, StoredOffset>();

  get size(): number {
    return this.byKey.size;
  }

  get(topic: string, partition: number): StoredOffset | undefined {
    return this.byKey.get(partitionKey(topic, partition));
  }

  set(topic: string, partition: number, committed: CommittedOffset): void {
    this.byKey.set(partitionKey(topic, partition), { topic, partition, ...committed });
  }

  delete(topic: string, partition: number): void {
    this.byKey.delete(partitionKey(topic, partition));
  }

  /** Every committed offset, by topic then partition. */
  all(): StoredOffset[] {
    return [...this.byKey.values()].sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
  }
}
