/**
 * Consumer groups on the brokers (issue 6): the group coordinator, its state in `__consumer_offsets`,
 * server-side assignors, and the wire contract shared with src/client. Deterministic (DESIGN.md §2):
 * time, timers and the log come in through ports.
 */
export { GroupError, groupError, isGroupErrorCode, isRetriableGroupError, type GroupErrorCode, type GroupErrorResult } from './errors.js';
export type * from './rpc.js';
export { MemberEpoch } from './rpc.js';
export { OFFSETS_TOPIC, offsetsPartitionFor, javaStringHashCode } from './coordinator-key.js';
export { DEFAULT_GROUP_CONFIG, groupConfig, type GroupConfig } from './config.js';
export { ASSIGNOR_NAMES, DEFAULT_ASSIGNOR, type Assignor, type AssignorName, type AssignorInput } from './assignor.js';
export { uniformAssignor } from './assignor-uniform.js';
export { rangeAssignor } from './assignor-range.js';
export { ConsumerGroup, type TopicMetadataPort, type GroupContext } from './group.js';
export { GroupShard, type ShardStatus } from './shard.js';
export { GroupCoordinator, validateGroupId, GROUP_ID_LENGTH_MAX, type CoordinatorOptions } from './coordinator.js';
export type { OffsetsLogPort, AppendResult, ReadResult, ReadRecord } from './log-port.js';
export { replicaLogPort, type ReplicaAccess, type ReplicaLogPortOptions } from './replica-log-port.js';
export { offsetsTopicSpec, type OffsetsTopicSpec } from './offsets-topic.js';
export { offsetsLeadership, topicsChanged, coordinatorListener } from './metadata-feed.js';
export { CoordinatorFinder, type CoordinatorFinderOptions } from './coordinator-finder.js';
export { brokerGroups, type BrokerGroups, type BrokerGroupsOptions } from './broker-coordinator.js';
