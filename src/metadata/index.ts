/** The metadata plane: records, the image, the quorum controller, brokers' registration, and the node that hosts them. */
export * from './records.js';
export * from './errors.js';
export * from './rpc.js';
export { MetadataImage, type BrokerRegistration, type PartitionState, type TopicImage, type MetadataDelta } from './image.js';
export { MetadataStateMachine, type MetadataListener } from './metadata-state-machine.js';
export { QuorumController, type ControllerOptions, type QuorumPort } from './controller.js';
export { BrokerLifecycle, type BrokerLifecycleOptions, type BrokerState, type ControllerChannel } from './broker-lifecycle.js';
export { MetadataNode, type MetadataNodeOptions } from './metadata-node.js';
export { replicaChanges, type ReplicaChanges } from './replica-changes.js';
export { TOPIC_CONFIGS, validateTopicConfigs, validateTopicName, effectiveConfig } from './topic-config.js';
export { placeReplicas } from './placement.js';
