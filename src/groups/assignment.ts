/**
 * Sets of topic-partitions (an assignment, what a member owns, what it must revoke) as immutable
 * values: a map from topic to its partitions, sorted ascending, without duplicates and without empty
 * topics. Every function here returns a new value in that normal form and never mutates its inputs,
 * so two equal sets are also equal by `equals` and encode to the same JSON and wire form.
 */
import type { TopicPartitions } from './rpc.js';

export type Assignment = ReadonlyMap<string, readonly number[]>;

export const EMPTY: Assignment = new Map();

/** `topic:partition` — a topic name never holds ':' (topic-config.ts), so the key is unambiguous. */
export function partitionKey(topic: string, partition: number): string {
  return `${topic}:${partition}`;
}

function normal(entries: Iterable<readonly [string, Iterable<number>]>): Assignment {
  const merged = new Map<string, Set<number>>();
  for (const [topic, partitions] of entries) {
    let set = merged.get(topic);
    for (const p of partitions) {
      if (set === undefined) merged.set(topic, (set = new Set()));
      set.add(p);
    }
  }
  const out = new Map<string, readonly number[]>();
  for (const topic of [...merged.keys()].sort()) out.set(topic, [...(merged.get(topic) ?? [])].sort((a, b) => a - b));
  return out;
}

/** From the wire form (any order, duplicates allowed). */
export function fromTopicPartitions(list: readonly TopicPartitions[]): Assignment {
  return normal(list.map((t) => [t.topic, t.partitions] as const));
}

/** To the wire form: topics by name, partitions ascending. */
export function toTopicPartitions(a: Assignment): TopicPartitions[] {
  return [...a].map(([topic, partitions]) => ({ topic, partitions: [...partitions] }));
}

/** From `{ topic: [partitions] }` (the record form). */
export function fromRecord(record: Readonly<Record<string, readonly number[]>>): Assignment {
  return normal(Object.entries(record));
}

export function toRecord(a: Assignment): Record<string, number[]> {
  return Object.fromEntries([...a].map(([t, ps]) => [t, [...ps]]));
}

export function fromPairs(pairs: Iterable<{ readonly topic: string; readonly partition: number }>): Assignment {
  return normal([...pairs].map((x) => [x.topic, [x.partition]] as const));
}

export function* pairs(a: Assignment): Generator<{ topic: string; partition: number }> {
  for (const [topic, partitions] of a) for (const partition of partitions) yield { topic, partition };
}

export function size(a: Assignment): number {
  let n = 0;
  for (const ps of a.values()) n += ps.length;
  return n;
}

export function isEmpty(a: Assignment): boolean {
  return a.size === 0;
}

export function has(a: Assignment, topic: string, partition: number): boolean {
  return a.get(topic)?.includes(partition) === true;
}

export function union(a: Assignment, b: Assignment): Assignment {
  return normal([...a, ...b]);
}

/** The partitions of `a` not in `b`. */
export function minus(a: Assignment, b: Assignment): Assignment {
  return normal([...a].map(([t, ps]) => [t, ps.filter((p) => !has(b, t, p))] as const));
}

export function intersect(a: Assignment, b: Assignment): Assignment {
  return normal([...a].map(([t, ps]) => [t, ps.filter((p) => has(b, t, p))] as const));
}

export function filter(a: Assignment, keep: (topic: string, partition: number) => boolean): Assignment {
  return normal([...a].map(([t, ps]) => [t, ps.filter((p) => keep(t, p))] as const));
}

export function overlaps(a: Assignment, b: Assignment): boolean {
  for (const [t, ps] of a) for (const p of ps) if (has(b, t, p)) return true;
  return false;
}

export function isSubset(a: Assignment, of: Assignment): boolean {
  for (const [t, ps] of a) for (const p of ps) if (!has(of, t, p)) return false;
  return true;
}

export function equals(a: Assignment, b: Assignment): boolean {
  if (a.size !== b.size) return false;
  for (const [t, ps] of a) {
    const other = b.get(t);
    if (other === undefined || other.length !== ps.length || ps.some((p, i) => other[i] !== p)) return false;
  }
  return true;
}
