/**
 * The shape of `__consumer_offsets` when the coordinator side creates it (through the controller, with
 * CreateTopics `internal: true`): `offsets.topic.num.partitions` partitions, replication factor
 * min(`offsets.topic.replication.factor`, live brokers), min.insync.replicas min(2, RF), compacted —
 * the latest record per key is all the coordinator needs, and tombstones delete groups and offsets.
 */
import type { CreatableTopic } from '../metadata/rpc.js';
import type { GroupConfig } from './config.js';
import { OFFSETS_TOPIC } from './coordinator-key.js';

export type OffsetsTopicSpec = CreatableTopic & { readonly configs: Readonly<Record<string, string>> };

export function offsetsTopicSpec(config: GroupConfig, liveBrokers: number): OffsetsTopicSpec {
  const replicationFactor = Math.max(1, Math.min(config.offsetsTopicReplicationFactor, liveBrokers));
  return {
    name: OFFSETS_TOPIC,
    numPartitions: config.offsetsTopicPartitions,
    replicationFactor,
    configs: { 'cleanup.policy': 'compact', 'min.insync.replicas': String(Math.min(2, replicationFactor)) },
  };
}
