/**
 * Requests to the active controller and their answers, as plain data. The network layer carries them
 * (as protobuf frames); the simulator delivers them as objects. Each answer is either the result or an
 * `ErrorResult` with a code from errors.ts — per topic where a request names several.
 */
import type { ErrorResult } from './errors.js';
import type { PartitionState } from './image.js';
import type { Endpoint } from './records.js';

export interface RegisterBrokerRequest {
  readonly kind: 'register-broker';
  readonly brokerId: number;
  /** Random per process start: tells a retry of this start from a new start. */
  readonly incarnationId: string;
  readonly endpoints: readonly Endpoint[];
  readonly rack: string;
}
export type RegisterBrokerResponse = { readonly brokerEpoch: number } | ErrorResult;

export interface BrokerHeartbeatRequest {
  readonly kind: 'broker-heartbeat';
  readonly brokerId: number;
  readonly brokerEpoch: number;
  /** The metadata offset the broker has applied. */
  readonly metadataOffset: number;
  /** Controlled shutdown: move leadership away, then let the broker stop. */
  readonly wantShutdown: boolean;
}
export type BrokerHeartbeatResponse =
  | {
      readonly fenced: boolean;
      readonly inControlledShutdown: boolean;
      /** The broker leads nothing any more and may stop. */
      readonly shouldShutdown: boolean;
    }
  | ErrorResult;

export interface IsrMember {
  readonly brokerId: number;
  readonly brokerEpoch: number;
}

/** A partition leader asks to change its ISR (KIP-497, with KIP-903's broker epochs). */
export interface AlterPartitionRequest {
  readonly kind: 'alter-partition';
  readonly brokerId: number;
  readonly brokerEpoch: number;
  readonly topicId: string;
  readonly partition: number;
  readonly leaderEpoch: number;
  readonly partitionEpoch: number;
  readonly newIsr: readonly IsrMember[];
}
export type AlterPartitionResponse = { readonly partition: PartitionState } | ErrorResult;

export interface CreatableTopic {
  readonly name: string;
  /** -1: the cluster default. */
  readonly numPartitions: number;
  /** -1: the cluster default. */
  readonly replicationFactor: number;
  readonly configs?: Readonly<Record<string, string>>;
}
export interface CreateTopicsRequest {
  readonly kind: 'create-topics';
  readonly topics: readonly CreatableTopic[];
  readonly validateOnly: boolean;
  /**
   * Allows names starting with `__` (internal topics such as `__consumer_offsets`). Only brokers may
   * set it: the node refuses it from clients (INVALID_REQUEST).
   */
  readonly internal?: boolean;
}
export type CreateTopicResult =
  | { readonly name: string; readonly topicId: string; readonly partitions: readonly PartitionState[] }
  | (ErrorResult & { readonly name: string });
export interface CreateTopicsResponse {
  readonly topics: readonly CreateTopicResult[];
}

export interface DeleteTopicsRequest {
  readonly kind: 'delete-topics';
  readonly names: readonly string[];
}
export interface DeleteTopicsResponse {
  readonly topics: ReadonlyArray<{ readonly name: string } | (ErrorResult & { readonly name: string })>;
}

export interface CreatePartitionsRequest {
  readonly kind: 'create-partitions';
  /** `count` is the new total number of partitions. */
  readonly topics: ReadonlyArray<{ readonly name: string; readonly count: number }>;
  readonly validateOnly: boolean;
}
export interface CreatePartitionsResponse {
  readonly topics: ReadonlyArray<{ readonly name: string } | (ErrorResult & { readonly name: string })>;
}

export type ConfigSource = 'topic' | 'cluster' | 'default';
export interface DescribeConfigsRequest {
  readonly kind: 'describe-configs';
  /** Topic names; the empty string names the cluster-wide defaults. */
  readonly resources: readonly string[];
}
export interface DescribeConfigsResponse {
  readonly resources: ReadonlyArray<
    | { readonly resource: string; readonly configs: ReadonlyArray<{ readonly name: string; readonly value: string; readonly source: ConfigSource }> }
    | (ErrorResult & { readonly resource: string })
  >;
}

export interface AlterConfigsRequest {
  readonly kind: 'alter-configs';
  /** Topic name, or '' for the cluster-wide defaults. */
  readonly resource: string;
  /** Incremental: `value` absent deletes the override. */
  readonly changes: ReadonlyArray<{ readonly name: string; readonly value?: string }>;
  readonly validateOnly: boolean;
}
export type AlterConfigsResponse = { readonly resource: string } | (ErrorResult & { readonly resource: string });

export interface AllocateProducerIdsRequest {
  readonly kind: 'allocate-producer-ids';
  readonly brokerId: number;
  readonly brokerEpoch: number;
}
export type AllocateProducerIdsResponse = { readonly firstProducerId: number; readonly count: number } | ErrorResult;

/**
 * A broker's replica of a partition found its stored data corrupt (a failed CRC on read): take it out
 * of the ISR and, if it leads, elect another ISR member. The broker then rebuilds the replica from the
 * new leader. (Kafka does this per log directory; Skein per partition.)
 */
export interface ReplicaFailedRequest {
  readonly kind: 'replica-failed';
  readonly brokerId: number;
  readonly brokerEpoch: number;
  readonly topicId: string;
  readonly partition: number;
}
export type ReplicaFailedResponse = { readonly partition: PartitionState } | ErrorResult;

export type ControllerRequest =
  | RegisterBrokerRequest
  | BrokerHeartbeatRequest
  | AlterPartitionRequest
  | CreateTopicsRequest
  | DeleteTopicsRequest
  | CreatePartitionsRequest
  | DescribeConfigsRequest
  | AlterConfigsRequest
  | AllocateProducerIdsRequest
  | ReplicaFailedRequest;

/** The answer type for each request kind. */
export interface ControllerResponses {
  'register-broker': RegisterBrokerResponse;
  'broker-heartbeat': BrokerHeartbeatResponse;
  'alter-partition': AlterPartitionResponse;
  'create-topics': CreateTopicsResponse;
  'delete-topics': DeleteTopicsResponse;
  'create-partitions': CreatePartitionsResponse;
  'describe-configs': DescribeConfigsResponse;
  'alter-configs': AlterConfigsResponse;
  'allocate-producer-ids': AllocateProducerIdsResponse;
  'replica-failed': ReplicaFailedResponse;
}

/** Whole-request failure (not the active controller, or the change's outcome unknown). */
export type ControllerResponse<K extends ControllerRequest['kind']> = ControllerResponses[K] | ErrorResult;

export function isError(value: object): value is ErrorResult {
  return 'error' in value;
}
