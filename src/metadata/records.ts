/**
 * Metadata records (after KIP-631): the cluster's state is the sequence of these records in the
 * controller quorum's Raft log. One Raft entry holds one `MetadataBatch` — the records of one
 * controller decision, applied atomically.
 *
 * Wire form: protobuf (schema below, parsed once at module load); in memory: the typed union
 * `MetadataRecord`. `encodeBatch` / `decodeBatch` convert between them and check every 64-bit field
 * is a safe integer (protobufjs would otherwise hand out Long objects).
 *
 * Conventions: broker ids and partition numbers are int32; epochs are int32 (leader/partition) or
 * int64 (broker epoch); "no leader" is -1 (Kafka's convention).
 */
import protobuf from 'protobufjs';
import { assert } from '../util/assert.js';

export const NO_LEADER = -1;

const SCHEMA = `
syntax = "proto3";
package skein.metadata;

message Endpoint { string name = 1; string url = 2; }
message Int32List { repeated int32 values = 1; }

message RegisterBrokerRecord {
  int32 broker_id = 1;
  string incarnation_id = 2;
  int64 broker_epoch = 3;
  repeated Endpoint endpoints = 4;
  string rack = 5;
}
message BrokerRegistrationChangeRecord {
  int32 broker_id = 1;
  int64 broker_epoch = 2;
  optional bool fenced = 3;
  optional bool in_controlled_shutdown = 4;
}
message TopicRecord { string name = 1; string topic_id = 2; }
message PartitionRecord {
  string topic_id = 1;
  int32 partition = 2;
  repeated int32 replicas = 3;
  repeated int32 isr = 4;
  int32 leader = 5;
  int32 leader_epoch = 6;
  int32 partition_epoch = 7;
}
message PartitionChangeRecord {
  string topic_id = 1;
  int32 partition = 2;
  optional int32 leader = 3;
  Int32List isr = 4;
}
message RemoveTopicRecord { string topic_id = 1; }
message ConfigRecord {
  int32 resource_type = 1;
  string resource_name = 2;
  string name = 3;
  optional string value = 4;
}
message ProducerIdsRecord { int32 broker_id = 1; int64 broker_epoch = 2; int64 next_producer_id = 3; }
message NoOpRecord {}

message MetadataRecord {
  oneof record {
    RegisterBrokerRecord register_broker = 1;
    BrokerRegistrationChangeRecord broker_registration_change = 2;
    TopicRecord topic = 3;
    PartitionRecord partition = 4;
    PartitionChangeRecord partition_change = 5;
    RemoveTopicRecord remove_topic = 6;
    ConfigRecord config = 7;
    ProducerIdsRecord producer_ids = 8;
    NoOpRecord no_op = 9;
  }
}
message MetadataBatch { repeated MetadataRecord records = 1; }
`;

const root = protobuf.parse(SCHEMA, { keepCase: false }).root;
const BatchType = root.lookupType('skein.metadata.MetadataBatch');

export interface Endpoint {
  readonly name: string;
  readonly url: string;
}

export const ConfigResource = { Topic: 2, Cluster: 4 } as const;
export type ConfigResource = (typeof ConfigResource)[keyof typeof ConfigResource];

/** A partition's whole state: what a Partition record carries and the image holds. */
export interface PartitionFields {
  readonly topicId: string;
  readonly partition: number;
  /** The first replica is the preferred leader. */
  readonly replicas: readonly number[];
  readonly isr: readonly number[];
  readonly leader: number;
  readonly leaderEpoch: number;
  readonly partitionEpoch: number;
}

export type MetadataRecord =
  | {
      readonly type: 'register-broker';
      readonly brokerId: number;
      readonly incarnationId: string;
      readonly brokerEpoch: number;
      readonly endpoints: readonly Endpoint[];
      readonly rack: string;
    }
  | {
      readonly type: 'broker-registration-change';
      readonly brokerId: number;
      readonly brokerEpoch: number;
      readonly fenced?: boolean;
      readonly inControlledShutdown?: boolean;
    }
  | { readonly type: 'topic'; readonly name: string; readonly topicId: string }
  | ({ readonly type: 'partition' } & PartitionFields)
  | {
      /** Only what changed. Applying it bumps the partition epoch, and the leader epoch when the leader changes. */
      readonly type: 'partition-change';
      readonly topicId: string;
      readonly partition: number;
      readonly leader?: number;
      readonly isr?: readonly number[];
    }
  | { readonly type: 'remove-topic'; readonly topicId: string }
  | {
      /** `value` absent: the config is deleted (back to its default). */
      readonly type: 'config';
      readonly resourceType: ConfigResource;
      readonly resourceName: string;
      readonly name: string;
      readonly value?: string;
    }
  | { readonly type: 'producer-ids'; readonly brokerId: number; readonly brokerEpoch: number; readonly nextProducerId: number }
  | { readonly type: 'no-op' };

export type MetadataRecordType = MetadataRecord['type'];

type ProtoRecord = Record<string, Record<string, unknown> | undefined>;

function safeInt(value: unknown, what: string): number {
  const n = typeof value === 'number' ? value : Number(value);
  assert(Number.isSafeInteger(n), `${what} is not a safe integer: ${String(value)}`);
  return n;
}

function toProto(r: MetadataRecord): ProtoRecord {
  switch (r.type) {
    case 'register-broker':
      return { registerBroker: { brokerId: r.brokerId, incarnationId: r.incarnationId, brokerEpoch: r.brokerEpoch, endpoints: r.endpoints, rack: r.rack } };
    case 'broker-registration-change':
      return { brokerRegistrationChange: { brokerId: r.brokerId, brokerEpoch: r.brokerEpoch, fenced: r.fenced, inControlledShutdown: r.inControlledShutdown } };
    case 'topic':
      return { topic: { name: r.name, topicId: r.topicId } };
    case 'partition':
      return { partition: { ...r, type: undefined } };
    case 'partition-change':
      return { partitionChange: { topicId: r.topicId, partition: r.partition, leader: r.leader, isr: r.isr === undefined ? undefined : { values: r.isr } } };
    case 'remove-topic':
      return { removeTopic: { topicId: r.topicId } };
    case 'config':
      return { config: { resourceType: r.resourceType, resourceName: r.resourceName, name: r.name, value: r.value } };
    case 'producer-ids':
      return { producerIds: { brokerId: r.brokerId, brokerEpoch: r.brokerEpoch, nextProducerId: r.nextProducerId } };
    case 'no-op':
      return { noOp: {} };
  }
}

/* eslint-disable @typescript-eslint/no-explicit-any */
function fromProto(p: any): MetadataRecord {
  switch (p.record as string) {
    case 'registerBroker': {
      const r = p.registerBroker;
      return {
        type: 'register-broker',
        brokerId: r.brokerId ?? 0,
        incarnationId: r.incarnationId ?? '',
        brokerEpoch: safeInt(r.brokerEpoch ?? 0, 'broker epoch'),
        endpoints: (r.endpoints as Endpoint[]).map((e) => ({ name: e.name ?? '', url: e.url ?? '' })),
        rack: r.rack ?? '',
      };
    }
    case 'brokerRegistrationChange': {
      const r = p.brokerRegistrationChange;
      return {
        type: 'broker-registration-change',
        brokerId: r.brokerId ?? 0,
        brokerEpoch: safeInt(r.brokerEpoch ?? 0, 'broker epoch'),
        ...(r.fenced !== undefined ? { fenced: r.fenced as boolean } : {}),
        ...(r.inControlledShutdown !== undefined ? { inControlledShutdown: r.inControlledShutdown as boolean } : {}),
      };
    }
    case 'topic':
      return { type: 'topic', name: p.topic.name ?? '', topicId: p.topic.topicId ?? '' };
    case 'partition': {
      const r = p.partition;
      return {
        type: 'partition',
        topicId: r.topicId ?? '',
        partition: r.partition ?? 0,
        replicas: r.replicas,
        isr: r.isr,
        leader: r.leader ?? 0,
        leaderEpoch: r.leaderEpoch ?? 0,
        partitionEpoch: r.partitionEpoch ?? 0,
      };
    }
    case 'partitionChange': {
      const r = p.partitionChange;
      return {
        type: 'partition-change',
        topicId: r.topicId ?? '',
        partition: r.partition ?? 0,
        ...(r.leader !== undefined ? { leader: r.leader as number } : {}),
        ...(r.isr !== undefined ? { isr: (r.isr.values ?? []) as number[] } : {}),
      };
    }
    case 'removeTopic':
      return { type: 'remove-topic', topicId: p.removeTopic.topicId ?? '' };
    case 'config': {
      const r = p.config;
      assert(r.resourceType === ConfigResource.Topic || r.resourceType === ConfigResource.Cluster, `unknown config resource ${r.resourceType}`);
      return {
        type: 'config',
        resourceType: r.resourceType as ConfigResource,
        resourceName: r.resourceName ?? '',
        name: r.name ?? '',
        ...(r.value !== undefined ? { value: r.value as string } : {}),
      };
    }
    case 'producerIds': {
      const r = p.producerIds;
      return {
        type: 'producer-ids',
        brokerId: r.brokerId ?? 0,
        brokerEpoch: safeInt(r.brokerEpoch ?? 0, 'broker epoch'),
        nextProducerId: safeInt(r.nextProducerId ?? 0, 'producer id'),
      };
    }
    case 'noOp':
      return { type: 'no-op' };
    default:
      throw new Error(`unknown metadata record kind ${String(p.record)}`);
  }
}
/* eslint-enable @typescript-eslint/no-explicit-any */

/** Encodes one controller decision as a Raft entry's data. */
export function encodeBatch(records: readonly MetadataRecord[]): Uint8Array {
  const message = BatchType.fromObject({ records: records.map(toProto) });
  return BatchType.encode(message).finish();
}

/** Decodes a Raft entry's data. Throws on bytes that are not a metadata batch (a bug: entries are CRC-checked). */
export function decodeBatch(bytes: Uint8Array): MetadataRecord[] {
  const decoded = BatchType.toObject(BatchType.decode(bytes), { longs: Number, oneofs: true, arrays: true });
  const records = (decoded as { records: unknown[] }).records;
  return records.map(fromProto);
}
