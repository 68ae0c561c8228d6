/**
 * Where a group lives: the internal topic `__consumer_offsets` and the partition a group id maps to.
 * The rule is Kafka's (GroupMetadataManager.partitionFor): `abs(groupId.hashCode()) % partitions`
 * with Java's String.hashCode over UTF-16 code units and Kafka's Utils.abs (Integer.MIN_VALUE maps to
 * 0), so a group lands on the same partition number as it would in Kafka. The coordinator of the
 * group is the leader of that partition.
 */
import { assert } from '../util/assert.js';

export const OFFSETS_TOPIC = '__consumer_offsets';

/** Java's String.hashCode: s[0]*31^(n-1) + ... + s[n-1] in 32-bit two's complement. */
export function javaStringHashCode(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(h, 31) + s.charCodeAt(i)) | 0;
  return h;
}

/** The `__consumer_offsets` partition of a group, for a topic of `partitions` partitions. */
export function offsetsPartitionFor(groupId: string, partitions: number): number {
  assert(Number.isSafeInteger(partitions) && partitions > 0, `the offsets topic must have partitions, got ${partitions}`);
  const h = javaStringHashCode(groupId);
  const abs = h === -0x8000_0000 ? 0 : Math.abs(h);
  return abs % partitions;
}
