/**
 * The client library's public face: `Skein` and what its producers, consumers and admins take and
 * return, the error classes, and the Kafka-compatible partitioner. Internals (batches, queues, the
 * consumer's fetch state) stay unexported. Browser-safe, like everything under src/client.
 */
export { Skein } from './skein.js';
export type { SkeinOptions } from './skein.js';

export { Cluster, DEFAULT_METADATA_MAX_AGE_MS, DEFAULT_REQUEST_TIMEOUT_MS } from './cluster.js';
export type { BrokerInfo, ClusterMetadata, ClusterOptions, PartitionInfo, TopicInfo } from './cluster.js';

export { Producer } from './producer.js';
export type { ProducerBatchRecord, ProducerDefaults, ProducerRecord, ProducerStats, SendCallback } from './producer.js';
export type { Acks, AcksOption, ProducerOptions, ResolvedProducerOptions } from './producer-options.js';
export type { HeaderValue, Message, RecordMetadata, TopicMessages } from './producer-messages.js';
export type { ProducerIdentity } from './producer-batch.js';
export { StickyPartitioner, keyPartition, murmur2, toPositive } from './partitioner.js';

export { Consumer } from './consumer.js';
export * from './consumer-types.js';
export {
  DEFAULT_AUTO_COMMIT_INTERVAL_MS,
  DEFAULT_HEARTBEAT_INTERVAL_MS,
  DEFAULT_REBALANCE_TIMEOUT_MS,
  DEFAULT_SESSION_TIMEOUT_MS,
} from './group-options.js';

export { Admin, ConfigResourceType } from './admin.js';
export type {
  AdminOptions,
  AlterConfigResource,
  ClusterDescription,
  ConfigEntry,
  ConfigResourceRequest,
  CreateTopicsOptions,
  DescribeConfigsResult,
  ITopicConfig,
  PartitionMetadata,
  PartitionOffsets,
  QuorumDescription,
  TopicMetadata,
} from './admin.js';
export type { GroupDescription, GroupMemberDescription, GroupOverview, GroupPartitionOffset, GroupState, GroupTopicOffsets } from './group-admin.js';

export { DEFAULT_RETRY, backoffMs } from './retry.js';
export type { RetryOptions } from './retry.js';

export * from './errors.js';
export {
  CoordinatorLoadInProgressError,
  CoordinatorNotAvailableError,
  FencedMemberError,
  GroupErrorCodes,
  GroupIdNotFoundError,
  InvalidGroupIdError,
  NonEmptyGroupError,
  NotCoordinatorError,
  OffsetMetadataTooLargeError,
  StaleMemberEpochError,
  UnreleasedInstanceIdError,
} from './group-errors.js';
