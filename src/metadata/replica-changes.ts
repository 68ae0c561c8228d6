/**
 * What a metadata change means for one broker's replicas — the partition layer's input (KRaft's
 * "become leader / become follower / stop"): for each partition touched by a delta, whether this
 * broker now leads it, follows it (and of which leader epoch), or no longer holds a replica.
 */
import type { MetadataDelta, PartitionState } from './image.js';

export interface ReplicaChanges {
  readonly leader: PartitionState[];
  readonly follower: PartitionState[];
  /** Partitions whose replica on this broker must stop (reassigned away or topic deleted). */
  readonly stop: Array<{ readonly topicId: string; readonly partition: number; readonly deleted: boolean }>;
}

/** The changes `delta` makes to the replicas on broker `brokerId`. */
export function replicaChanges(delta: MetadataDelta, brokerId: number): ReplicaChanges {
  const out: ReplicaChanges = { leader: [], follower: [], stop: [] };
  for (const { before, after } of delta.partitions.values()) {
    if (!after.replicas.includes(brokerId)) {
      if (before?.replicas.includes(brokerId) === true) out.stop.push({ topicId: after.topicId, partition: after.partition, deleted: false });
      continue;
    }
    if (after.leader === brokerId) out.leader.push(after);
    else out.follower.push(after);
  }
  for (const topic of delta.removedTopics) {
    for (const p of topic.partitions.values()) {
      if (p.replicas.includes(brokerId)) out.stop.push({ topicId: p.topicId, partition: p.partition, deleted: true });
    }
  }
  return out;
}
