/**
 * Sets of topic-partitions for the group code: a string key per partition (`<partition>:<topic>`;
 * Kafka topic names hold no ':'), and conversions between key sets and the wire's
 * `{ topic, partitions }[]` lists — sorted by topic, then partition, so what a member reports is
 * stable and comparable.
 */
import type { WireTopicPartitions } from './group-wire.js';

export interface TopicPartition {
  readonly topic: string;
  readonly partition: number;
}

export function partitionKey(topic: string, partition: number): string {
  return `${partition}:${topic}`;
}

export function parseKey(key: string): TopicPartition {
  const at = key.indexOf(':');
  return { topic: key.slice(at + 1), partition: Number(key.slice(0, at)) };
}

/** The keys of a wire list (duplicates collapse). */
export function keysOf(list: readonly WireTopicPartitions[]): Set<string> {
  const keys = new Set<string>();
  for (const t of list) for (const p of t.partitions) keys.add(partitionKey(t.topic, p));
  return keys;
}

/** A wire list of `keys`, sorted by topic then partition. */
export function listOf(keys: Iterable<string>): Array<{ topic: string; partitions: number[] }> {
  const byTopic = new Map<string, number[]>();
  for (const key of keys) {
    const { topic, partition } = parseKey(key);
    const list = byTopic.get(topic) ?? [];
    list.push(partition);
    byTopic.set(topic, list);
  }
  return [...byTopic.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([topic, partitions]) => ({ topic, partitions: partitions.sort((a, b) => a - b) }));
}

/** The keys of `a` that are not in `b`. */
export function minus(a: ReadonlySet<string>, b: ReadonlySet<string>): Set<string> {
  const out = new Set<string>();
  for (const k of a) if (!b.has(k)) out.add(k);
  return out;
}

export function sameKeys(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  if (a.size !== b.size) return false;
  for (const k of a) if (!b.has(k)) return false;
  return true;
}
