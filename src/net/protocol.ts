/**
 * The wire protocol (DESIGN.md §6): one WebSocket binary message is one protobuf `Frame` — a
 * correlation id and exactly one request, response, one-way message or whole-frame error. The schema
 * is embedded below as text and parsed once at module load; in memory a frame is the typed union
 * `Frame`. `encodeFrame` / `decodeFrame` convert between them.
 *
 * Invariants:
 * - Record batches (Produce, Fetch) and Raft entry/snapshot data travel as raw protobuf `bytes`: never
 *   JSON, never per-record protobuf, never re-encoded. `decodeFrame` returns views into the input
 *   buffer (zero copy): the caller must not mutate the input while the decoded frame is in use.
 * - Every int64 is checked to be a safe integer in both directions (protobufjs decodes int64 to Long);
 *   every int32 is checked to be an int32 when encoding (protobufjs would silently truncate).
 * - `decodeFrame` never throws anything but a `NetError` (MALFORMED_FRAME or UNKNOWN_FRAME) on bad
 *   input, whatever the bytes. `encodeFrame` asserts (a programmer error) on out-of-range numbers.
 * - Controller RPC bodies (src/metadata/rpc.ts) travel as JSON text in a string field — they are
 *   small and rare — and are checked field by field against the request kind's shape on decode.
 * - Consumer-group frames (src/groups/rpc.ts) are encoded and decoded by group-frames.ts, whose
 *   messages are part of this schema.
 *
 * Compatibility: `PROTOCOL_VERSION` is exchanged in the handshake; a change to this schema that an
 * older peer would misread bumps it. Field numbers are never reused.
 *
 * Conventions: correlation id 0 means "not a request" (one-way Raft messages, connection-level
 * errors); requests use 1..2^32-1. "No leader" / "no controller" is -1 (Kafka's convention), except
 * inside Raft messages, which keep src/raft's NO_NODE (0).
 */
import protobuf from 'protobufjs';
import { assert } from '../util/assert.js';
import type { Entry, Message } from '../raft/types.js';
import type { Endpoint } from '../metadata/records.js';
import type { ControllerRequest, ControllerResponse } from '../metadata/rpc.js';
import { MetadataError, type ErrorResult, type MetadataErrorCode } from '../metadata/errors.js';
import type { Acks, FetchResponse, ProduceResult } from '../partitions/replica.js';
import type { PartitionFetch, ReplicaFetchRequest, ReplicaFetchResponse } from '../partitions/replica-fetch.js';
import { PartitionError, type PartitionErrorCode, type PartitionErrorResult } from '../partitions/errors.js';
import type {
  ConsumerGroupHeartbeatRequest,
  ConsumerGroupHeartbeatResponse,
  DeleteGroupsRequest,
  DeleteGroupsResponse,
  DescribeGroupsRequest,
  DescribeGroupsResponse,
  FindCoordinatorRequest,
  FindCoordinatorResponse,
  ListGroupsRequest,
  ListGroupsResponse,
  OffsetCommitRequest,
  OffsetCommitResponse,
  OffsetFetchRequest,
  OffsetFetchResponse,
} from '../groups/rpc.js';
import { netError } from './errors.js';
import { GROUP_SCHEMA, groupRequestToProto, groupResponseToProto, readGroupRequest, readGroupResponse } from './group-frames.js';

export const PROTOCOL_VERSION = 1;

const SCHEMA = `
syntax = "proto3";
package skein.net;

message Handshake { uint32 protocol_version = 1; string client_id = 2; int32 node_id = 3; bytes credentials = 4; }
message HandshakeResponse { uint32 protocol_version = 1; int32 node_id = 2; string cluster_id = 3; }
message Error { string code = 1; string message = 2; bool retriable = 3; }

message RaftEntry { int64 term = 1; int64 index = 2; int32 type = 3; bytes data = 4; }
message RaftVote { bool pre_vote = 1; int64 last_log_index = 2; int64 last_log_term = 3; bool transfer = 4; }
message RaftVoteResponse { bool pre_vote = 1; bool granted = 2; }
message RaftAppend { int64 prev_index = 1; int64 prev_term = 2; repeated RaftEntry entries = 3; int64 commit_index = 4; }
message RaftAppendResponse { int64 index = 1; bool rejected = 2; int64 hint_index = 3; int64 hint_term = 4; bool recovering = 5; }
message RaftHeartbeat { int64 commit_index = 1; int64 commit_term = 2; int64 leader_last_index = 3; }
message RaftHeartbeatResponse { int64 last_index = 1; bool recovering = 2; }
message RaftSnapshot { int64 index = 1; int64 term = 2; bytes data = 3; }
message RaftEmpty {}
message RaftMessage {
  int32 from = 1;
  int32 to = 2;
  int64 term = 3;
  oneof body {
    RaftVote vote = 4;
    RaftVoteResponse vote_response = 5;
    RaftAppend append = 6;
    RaftAppendResponse append_response = 7;
    RaftHeartbeat heartbeat = 8;
    RaftHeartbeatResponse heartbeat_response = 9;
    RaftSnapshot snapshot = 10;
    RaftEmpty timeout_now = 11;
    RaftEmpty observe = 12;
  }
}

message ControllerRequest { string kind = 1; string body_json = 2; }
message ControllerResponse { string kind = 1; string body_json = 2; }

message PartitionError { string code = 1; string message = 2; }

message FetchRequest {
  string topic_id = 1; int32 partition = 2; int32 replica_id = 3; int64 broker_epoch = 4; int64 sequence = 5;
  int64 fetch_offset = 6; int32 last_fetched_epoch = 7; int32 current_leader_epoch = 8;
  int32 max_bytes = 9; int32 min_bytes = 10; int32 max_wait_ms = 11;
}
message DivergingEpoch { int32 epoch = 1; int64 end_offset = 2; }
message FetchResponse {
  bytes records = 1; int64 high_watermark = 2; int64 log_start_offset = 3; int64 log_end_offset = 4;
  DivergingEpoch diverging_epoch = 5; PartitionError error = 6;
}

message ReplicaFetchRequest { int32 replica_id = 1; int32 max_wait_ms = 2; int32 max_bytes = 3; repeated FetchRequest partitions = 4; int32 fetcher_id = 5; }
message ReplicaFetchResponse { repeated FetchResponse partitions = 1; }

message ProduceRequest { string topic_id = 1; int32 partition = 2; sint32 acks = 3; int32 timeout_ms = 4; bytes records = 5; }
message ProduceResponse { int64 base_offset = 1; int64 last_offset = 2; bool duplicate = 3; PartitionError error = 4; }

message ListOffsetsRequest { string topic_id = 1; int32 partition = 2; int64 timestamp = 3; }
message ListOffsetsResponse { int64 offset = 1; int64 timestamp = 2; PartitionError error = 3; }

message Endpoint { string name = 1; string url = 2; }
message MetadataRequest { bool all_topics = 1; repeated string topics = 2; }
message MetadataBroker { int32 id = 1; repeated Endpoint endpoints = 2; string rack = 3; bool fenced = 4; }
message MetadataPartition { int32 partition = 1; int32 leader = 2; int32 leader_epoch = 3; repeated int32 replicas = 4; repeated int32 isr = 5; }
message MetadataTopic { string name = 1; string topic_id = 2; repeated MetadataPartition partitions = 3; PartitionError error = 4; }
message MetadataResponse { string cluster_id = 1; int32 controller_id = 2; repeated MetadataBroker brokers = 3; repeated MetadataTopic topics = 4; }

message MetadataError { string code = 1; string message = 2; }
message InitProducerIdRequest {}
message InitProducerIdResponse { int64 producer_id = 1; int32 producer_epoch = 2; MetadataError error = 3; }
message DescribeQuorumRequest {}
message QuorumReplica { int32 id = 1; int64 log_end_offset = 2; int64 lag = 3; int64 last_contact_ms = 4; }
message DescribeQuorumResponse {
  int32 leader_id = 1; int64 term = 2; int64 high_watermark = 3;
  repeated QuorumReplica voters = 4; repeated QuorumReplica observers = 5; MetadataError error = 6;
}

${GROUP_SCHEMA}

message Frame {
  uint32 correlation_id = 1;
  oneof body {
    Handshake handshake = 2;
    HandshakeResponse handshake_response = 3;
    Error error = 4;
    RaftMessage raft = 5;
    ControllerRequest controller = 6;
    ControllerResponse controller_response = 7;
    FetchRequest fetch = 8;
    FetchResponse fetch_response = 9;
    ProduceRequest produce = 10;
    ProduceResponse produce_response = 11;
    ListOffsetsRequest list_offsets = 12;
    ListOffsetsResponse list_offsets_response = 13;
    MetadataRequest metadata = 14;
    MetadataResponse metadata_response = 15;
    InitProducerIdRequest init_producer_id = 16;
    InitProducerIdResponse init_producer_id_response = 17;
    DescribeQuorumRequest describe_quorum = 18;
    DescribeQuorumResponse describe_quorum_response = 19;
    FindCoordinatorRequest find_coordinator = 20;
    FindCoordinatorResponse find_coordinator_response = 21;
    ConsumerGroupHeartbeatRequest consumer_group_heartbeat = 22;
    ConsumerGroupHeartbeatResponse consumer_group_heartbeat_response = 23;
    OffsetCommitRequest offset_commit = 24;
    OffsetCommitResponse offset_commit_response = 25;
    OffsetFetchRequest offset_fetch = 26;
    OffsetFetchResponse offset_fetch_response = 27;
    ListGroupsRequest list_groups = 28;
    ListGroupsResponse list_groups_response = 29;
    DescribeGroupsRequest describe_groups = 30;
    DescribeGroupsResponse describe_groups_response = 31;
    DeleteGroupsRequest delete_groups = 32;
    DeleteGroupsResponse delete_groups_response = 33;
    ReplicaFetchRequest replica_fetch = 34;
    ReplicaFetchResponse replica_fetch_response = 35;
  }
}
`;

const root = protobuf.parse(SCHEMA, { keepCase: false }).root;
const FrameType = root.lookupType('skein.net.Frame');

// ---- Typed frames ---------------------------------------------------------------------------------

export interface Handshake {
  readonly protocolVersion: number;
  readonly clientId: string;
  /** The connecting node's id (a broker or controller), 0 for clients. */
  readonly nodeId: number;
  /** Reserved for authentication; empty today. */
  readonly credentials: Uint8Array;
}

export interface HandshakeResponse {
  readonly protocolVersion: number;
  readonly nodeId: number;
  readonly clusterId: string;
}

/** A whole-frame error: with a correlation id, that request failed; with 0, the connection is closing. */
export interface ErrorBody {
  readonly code: string;
  readonly message: string;
  readonly retriable: boolean;
}

/** A follower's or consumer's fetch of one partition. */
export type FetchPartitionRequest = PartitionFetch;

/** One record batch for one partition, as the producer encoded it. */
export interface ProduceRequest {
  readonly topicId: string;
  readonly partition: number;
  readonly acks: Acks;
  readonly timeoutMs: number;
  readonly records: Uint8Array;
}
export type ProduceResponse = ProduceResult | PartitionErrorResult;

export interface ListOffsetsRequest {
  readonly topicId: string;
  readonly partition: number;
  /** -2 earliest, -1 latest (the HW), otherwise a timestamp in ms. */
  readonly timestamp: number;
}
export type ListOffsetsResponse = { readonly offset: number; readonly timestamp: number } | PartitionErrorResult;

export interface MetadataRequest {
  /** Absent: every topic. */
  readonly topics?: readonly string[];
}
export interface MetadataBroker {
  readonly id: number;
  readonly endpoints: readonly Endpoint[];
  readonly rack: string;
  readonly fenced: boolean;
}
export interface MetadataPartition {
  readonly partition: number;
  /** -1: no leader. */
  readonly leader: number;
  readonly leaderEpoch: number;
  readonly replicas: readonly number[];
  readonly isr: readonly number[];
}
export type MetadataTopic =
  | { readonly name: string; readonly topicId: string; readonly partitions: readonly MetadataPartition[] }
  | (PartitionErrorResult & { readonly name: string });
export interface MetadataResponse {
  readonly clusterId: string;
  /** -1: unknown. */
  readonly controllerId: number;
  readonly brokers: readonly MetadataBroker[];
  readonly topics: readonly MetadataTopic[];
}

/** Kafka's InitProducerId (no transactions): a fresh producer id for an idempotent producer. */
export type InitProducerIdRequest = Record<string, never>;
export type InitProducerIdResponse = { readonly producerId: number; readonly producerEpoch: number } | ErrorResult;

/** Kafka's DescribeQuorum (KIP-595): the controller quorum as its Raft leader sees it. */
export type DescribeQuorumRequest = Record<string, never>;
export interface QuorumReplica {
  readonly id: number;
  /** The replica's last log index as the leader knows it (its match index). */
  readonly logEndOffset: number;
  /** Entries behind the leader's log end. */
  readonly lag: number;
  /** Since the leader last heard from it, in ms; -1 unknown; 0 for the leader itself. */
  readonly lastContactMs: number;
}
export type DescribeQuorumResponse =
  | {
      readonly leaderId: number;
      readonly term: number;
      /** The Raft commit index. */
      readonly highWatermark: number;
      readonly voters: readonly QuorumReplica[];
      readonly observers: readonly QuorumReplica[];
    }
  | ErrorResult;

export type ControllerKind = ControllerRequest['kind'];
/** A controller request's answer, tagged with the request's kind. */
export type ControllerAnswer = { [K in ControllerKind]: { readonly kind: K; readonly response: ControllerResponse<K> } }[ControllerKind];

/** Every request kind, with its request and response bodies. */
export interface RequestMap {
  fetch: { request: FetchPartitionRequest; response: FetchResponse };
  /** A follower broker's fetch of all the partitions it follows from the receiving broker. */
  'replica-fetch': { request: ReplicaFetchRequest; response: ReplicaFetchResponse };
  produce: { request: ProduceRequest; response: ProduceResponse };
  'list-offsets': { request: ListOffsetsRequest; response: ListOffsetsResponse };
  metadata: { request: MetadataRequest; response: MetadataResponse };
  controller: { request: ControllerRequest; response: ControllerAnswer };
  'init-producer-id': { request: InitProducerIdRequest; response: InitProducerIdResponse };
  'describe-quorum': { request: DescribeQuorumRequest; response: DescribeQuorumResponse };
  // Consumer groups (src/groups/rpc.ts): answered by the group's coordinator, found with find-coordinator.
  'find-coordinator': { request: FindCoordinatorRequest; response: FindCoordinatorResponse };
  'consumer-group-heartbeat': { request: ConsumerGroupHeartbeatRequest; response: ConsumerGroupHeartbeatResponse };
  'offset-commit': { request: OffsetCommitRequest; response: OffsetCommitResponse };
  'offset-fetch': { request: OffsetFetchRequest; response: OffsetFetchResponse };
  'list-groups': { request: ListGroupsRequest; response: ListGroupsResponse };
  'describe-groups': { request: DescribeGroupsRequest; response: DescribeGroupsResponse };
  'delete-groups': { request: DeleteGroupsRequest; response: DeleteGroupsResponse };
}
export type RequestKind = keyof RequestMap;
export const REQUEST_KINDS: readonly RequestKind[] = [
  'fetch',
  'replica-fetch',
  'produce',
  'list-offsets',
  'metadata',
  'controller',
  'init-producer-id',
  'describe-quorum',
  'find-coordinator',
  'consumer-group-heartbeat',
  'offset-commit',
  'offset-fetch',
  'list-groups',
  'describe-groups',
  'delete-groups',
];

export type RequestBody = { [K in RequestKind]: { readonly type: 'request'; readonly kind: K; readonly request: RequestMap[K]['request'] } }[RequestKind];
export type ResponseBody = { [K in RequestKind]: { readonly type: 'response'; readonly kind: K; readonly response: RequestMap[K]['response'] } }[RequestKind];

export type FrameBody =
  | { readonly type: 'handshake'; readonly handshake: Handshake }
  | { readonly type: 'handshake-response'; readonly handshake: HandshakeResponse }
  | { readonly type: 'error'; readonly error: ErrorBody }
  | { readonly type: 'raft'; readonly message: Message }
  | RequestBody
  | ResponseBody;

export interface Frame {
  /** uint32; 0 for one-way frames. */
  readonly correlationId: number;
  readonly body: FrameBody;
}

/** The largest correlation id (they are uint32 on the wire). */
export const CORRELATION_ID_MAX = 0xffff_ffff;

// ---- Encoding -------------------------------------------------------------------------------------

function i32(value: number, what: string): number {
  assert(Number.isInteger(value) && value >= -0x8000_0000 && value <= 0x7fff_ffff, `${what} must be an int32, got ${value}`);
  return value;
}

function u32(value: number, what: string): number {
  assert(Number.isInteger(value) && value >= 0 && value <= 0xffff_ffff, `${what} must be a uint32, got ${value}`);
  return value;
}

function i64(value: number, what: string): number {
  assert(Number.isSafeInteger(value), `${what} must be a safe integer, got ${value}`);
  return value;
}

function partitionErrorToProto(r: PartitionErrorResult): { code: string; message: string } {
  return { code: r.error, message: r.message };
}

function entryToProto(e: Entry): object {
  return { term: i64(e.term, 'entry term'), index: i64(e.index, 'entry index'), type: i32(e.type, 'entry type'), data: e.data };
}

function raftToProto(m: Message): object {
  const base = { from: i32(m.from, 'raft from'), to: i32(m.to, 'raft to'), term: i64(m.term, 'raft term') };
  switch (m.type) {
    case 'vote':
    case 'pre-vote':
      return { ...base, vote: { preVote: m.type === 'pre-vote', lastLogIndex: i64(m.lastLogIndex, 'lastLogIndex'), lastLogTerm: i64(m.lastLogTerm, 'lastLogTerm'), transfer: m.transfer } };
    case 'vote-response':
    case 'pre-vote-response':
      return { ...base, voteResponse: { preVote: m.type === 'pre-vote-response', granted: m.granted } };
    case 'append':
      return { ...base, append: { prevIndex: i64(m.prevIndex, 'prevIndex'), prevTerm: i64(m.prevTerm, 'prevTerm'), entries: m.entries.map(entryToProto), commitIndex: i64(m.commitIndex, 'commitIndex') } };
    case 'append-response':
      return {
        ...base,
        appendResponse: { index: i64(m.index, 'index'), rejected: m.rejected, hintIndex: i64(m.hintIndex, 'hintIndex'), hintTerm: i64(m.hintTerm, 'hintTerm'), recovering: m.recovering === true },
      };
    case 'heartbeat':
      return { ...base, heartbeat: { commitIndex: i64(m.commitIndex, 'commitIndex'), commitTerm: i64(m.commitTerm, 'commitTerm'), leaderLastIndex: i64(m.leaderLastIndex, 'leaderLastIndex') } };
    case 'heartbeat-response':
      return { ...base, heartbeatResponse: { lastIndex: i64(m.lastIndex, 'lastIndex'), recovering: m.recovering === true } };
    case 'snapshot':
      return { ...base, snapshot: { index: i64(m.snapshot.index, 'snapshot index'), term: i64(m.snapshot.term, 'snapshot term'), data: m.snapshot.data } };
    case 'timeout-now':
      return { ...base, timeoutNow: {} };
    case 'observe':
      return { ...base, observe: {} };
  }
}

function fetchRequestToProto(r: FetchPartitionRequest): object {
  return {
    topicId: r.topicId,
    partition: i32(r.partition, 'partition'),
    replicaId: i32(r.replicaId, 'replicaId'),
    brokerEpoch: i64(r.brokerEpoch, 'brokerEpoch'),
    sequence: i64(r.sequence, 'sequence'),
    fetchOffset: i64(r.fetchOffset, 'fetchOffset'),
    lastFetchedEpoch: i32(r.lastFetchedEpoch, 'lastFetchedEpoch'),
    currentLeaderEpoch: i32(r.currentLeaderEpoch, 'currentLeaderEpoch'),
    maxBytes: i32(r.maxBytes, 'maxBytes'),
    minBytes: i32(r.minBytes, 'minBytes'),
    maxWaitMs: i32(r.maxWaitMs, 'maxWaitMs'),
  };
}

function fetchResponseToProto(r: FetchResponse): object {
  if ('error' in r) return { error: partitionErrorToProto(r) };
  if ('divergingEpoch' in r) {
    return {
      highWatermark: i64(r.highWatermark, 'highWatermark'),
      divergingEpoch: { epoch: i32(r.divergingEpoch.epoch, 'diverging epoch'), endOffset: i64(r.divergingEpoch.endOffset, 'diverging end offset') },
    };
  }
  return {
    records: r.records,
    highWatermark: i64(r.highWatermark, 'highWatermark'),
    logStartOffset: i64(r.logStartOffset, 'logStartOffset'),
    logEndOffset: i64(r.logEndOffset, 'logEndOffset'),
  };
}

function requestToProto(body: RequestBody): Record<string, object> {
  switch (body.kind) {
    case 'fetch':
      return { fetch: fetchRequestToProto(body.request) };
    case 'replica-fetch': {
      const r = body.request;
      return {
        replicaFetch: {
          replicaId: i32(r.replicaId, 'replicaId'),
          fetcherId: i32(r.fetcherId, 'fetcherId'),
          maxWaitMs: i32(r.maxWaitMs, 'maxWaitMs'),
          maxBytes: i32(r.maxBytes, 'maxBytes'),
          partitions: r.partitions.map(fetchRequestToProto),
        },
      };
    }
    case 'produce': {
      const r = body.request;
      return { produce: { topicId: r.topicId, partition: i32(r.partition, 'partition'), acks: i32(r.acks, 'acks'), timeoutMs: i32(r.timeoutMs, 'timeoutMs'), records: r.records } };
    }
    case 'list-offsets': {
      const r = body.request;
      return { listOffsets: { topicId: r.topicId, partition: i32(r.partition, 'partition'), timestamp: i64(r.timestamp, 'timestamp') } };
    }
    case 'metadata':
      return { metadata: { allTopics: body.request.topics === undefined, topics: body.request.topics ?? [] } };
    case 'controller': {
      const { kind } = body.request;
      return { controller: { kind, bodyJson: JSON.stringify(body.request) } };
    }
    case 'init-producer-id':
      return { initProducerId: {} };
    case 'describe-quorum':
      return { describeQuorum: {} };
    default:
      return groupRequestToProto(body);
  }
}

function metadataErrorToProto(r: ErrorResult): { code: string; message: string } {
  return { code: r.error, message: r.message };
}

function quorumReplicaToProto(r: QuorumReplica): object {
  return { id: i32(r.id, 'replica id'), logEndOffset: i64(r.logEndOffset, 'logEndOffset'), lag: i64(r.lag, 'lag'), lastContactMs: i64(r.lastContactMs, 'lastContactMs') };
}

function responseToProto(body: ResponseBody): Record<string, object> {
  switch (body.kind) {
    case 'fetch':
      return { fetchResponse: fetchResponseToProto(body.response) };
    case 'replica-fetch':
      return { replicaFetchResponse: { partitions: body.response.partitions.map(fetchResponseToProto) } };
    case 'produce': {
      const r = body.response;
      if ('error' in r) return { produceResponse: { error: partitionErrorToProto(r) } };
      return { produceResponse: { baseOffset: i64(r.baseOffset, 'baseOffset'), lastOffset: i64(r.lastOffset, 'lastOffset'), duplicate: r.duplicate } };
    }
    case 'list-offsets': {
      const r = body.response;
      if ('error' in r) return { listOffsetsResponse: { error: partitionErrorToProto(r) } };
      return { listOffsetsResponse: { offset: i64(r.offset, 'offset'), timestamp: i64(r.timestamp, 'timestamp') } };
    }
    case 'metadata': {
      const r = body.response;
      return {
        metadataResponse: {
          clusterId: r.clusterId,
          controllerId: i32(r.controllerId, 'controllerId'),
          brokers: r.brokers.map((b) => ({ id: i32(b.id, 'broker id'), endpoints: b.endpoints.map((e) => ({ name: e.name, url: e.url })), rack: b.rack, fenced: b.fenced })),
          topics: r.topics.map((t) =>
            'error' in t
              ? { name: t.name, error: partitionErrorToProto(t) }
              : {
                  name: t.name,
                  topicId: t.topicId,
                  partitions: t.partitions.map((p) => ({
                    partition: i32(p.partition, 'partition'),
                    leader: i32(p.leader, 'leader'),
                    leaderEpoch: i32(p.leaderEpoch, 'leaderEpoch'),
                    replicas: p.replicas.map((x) => i32(x, 'replica')),
                    isr: p.isr.map((x) => i32(x, 'isr member')),
                  })),
                },
          ),
        },
      };
    }
    case 'controller':
      return { controllerResponse: { kind: body.response.kind, bodyJson: JSON.stringify(body.response.response) } };
    case 'init-producer-id': {
      const r = body.response;
      if ('error' in r) return { initProducerIdResponse: { error: metadataErrorToProto(r) } };
      return { initProducerIdResponse: { producerId: i64(r.producerId, 'producerId'), producerEpoch: i32(r.producerEpoch, 'producerEpoch') } };
    }
    case 'describe-quorum': {
      const r = body.response;
      if ('error' in r) return { describeQuorumResponse: { error: metadataErrorToProto(r) } };
      return {
        describeQuorumResponse: {
          leaderId: i32(r.leaderId, 'leaderId'),
          term: i64(r.term, 'term'),
          highWatermark: i64(r.highWatermark, 'highWatermark'),
          voters: r.voters.map(quorumReplicaToProto),
          observers: r.observers.map(quorumReplicaToProto),
        },
      };
    }
    default:
      return groupResponseToProto(body);
  }
}

function bodyToProto(body: FrameBody): Record<string, object> {
  switch (body.type) {
    case 'handshake': {
      const h = body.handshake;
      return { handshake: { protocolVersion: u32(h.protocolVersion, 'protocolVersion'), clientId: h.clientId, nodeId: i32(h.nodeId, 'nodeId'), credentials: h.credentials } };
    }
    case 'handshake-response': {
      const h = body.handshake;
      return { handshakeResponse: { protocolVersion: u32(h.protocolVersion, 'protocolVersion'), nodeId: i32(h.nodeId, 'nodeId'), clusterId: h.clusterId } };
    }
    case 'error':
      return { error: { code: body.error.code, message: body.error.message, retriable: body.error.retriable } };
    case 'raft':
      return { raft: raftToProto(body.message) };
    case 'request':
      return requestToProto(body);
    case 'response':
      return responseToProto(body);
  }
}

/**
 * Encodes one frame. Asserts on numbers that do not fit their wire type (a programmer error). The
 * returned buffer is new; byte payloads are copied into it once.
 */
export function encodeFrame(frame: Frame): Uint8Array {
  const message = { correlationId: u32(frame.correlationId, 'correlationId'), ...bodyToProto(frame.body) };
  return FrameType.encode(message).finish();
}

// ---- Decoding -------------------------------------------------------------------------------------

/* eslint-disable @typescript-eslint/no-explicit-any -- decoded protobufjs messages are untyped */

/** Thrown out of the field readers below; turned into a NetError by decodeFrame. */
class Malformed extends Error {}

function readI64(value: unknown, what: string): number {
  // protobufjs hands out Long objects for int64 (numbers when long.js is absent). toNumber() of a
  // value beyond 2^53 is at least 2^53 in magnitude, so the safe-integer check catches it.
  const n = typeof value === 'number' ? value : typeof value === 'object' && value !== null && 'toNumber' in value ? (value as { toNumber(): number }).toNumber() : NaN;
  if (!Number.isSafeInteger(n)) throw new Malformed(`${what} is not a safe integer: ${String(value)}`);
  return n;
}

function readBytes(value: unknown): Uint8Array {
  if (!(value instanceof Uint8Array)) throw new Malformed('bytes field is not bytes');
  // A plain Uint8Array view (not a Buffer) over the same memory: zero copy, one type for callers.
  return value.constructor === Uint8Array ? value : new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
}

function readPartitionError(p: any): PartitionErrorResult {
  const code = p.code as string;
  if (!Object.hasOwn(PartitionError, code)) throw new Malformed(`unknown partition error code ${JSON.stringify(code)}`);
  return { error: code as PartitionErrorCode, message: p.message as string };
}

function readMetadataError(p: any): ErrorResult {
  const code = p.code as string;
  if (!Object.hasOwn(MetadataError, code)) throw new Malformed(`unknown metadata error code ${JSON.stringify(code)}`);
  return { error: code as MetadataErrorCode, message: p.message as string };
}

function readQuorumReplica(r: any): QuorumReplica {
  return { id: r.id, logEndOffset: readI64(r.logEndOffset, 'logEndOffset'), lag: readI64(r.lag, 'lag'), lastContactMs: readI64(r.lastContactMs, 'lastContactMs') };
}

function readAcks(value: number): Acks {
  if (value !== 0 && value !== 1 && value !== -1) throw new Malformed(`acks must be 0, 1 or -1, got ${value}`);
  return value;
}

function readEntry(e: any): Entry {
  const type = e.type as number;
  if (type !== 0 && type !== 1) throw new Malformed(`unknown raft entry type ${type}`);
  return { term: readI64(e.term, 'entry term'), index: readI64(e.index, 'entry index'), type, data: readBytes(e.data) };
}

function readRaft(m: any): Message {
  const base = { from: m.from as number, to: m.to as number, term: readI64(m.term, 'raft term') };
  switch (m.body as string | undefined) {
    case 'vote': {
      const v = m.vote;
      return { ...base, type: v.preVote ? 'pre-vote' : 'vote', lastLogIndex: readI64(v.lastLogIndex, 'lastLogIndex'), lastLogTerm: readI64(v.lastLogTerm, 'lastLogTerm'), transfer: v.transfer as boolean };
    }
    case 'voteResponse': {
      const v = m.voteResponse;
      return { ...base, type: v.preVote ? 'pre-vote-response' : 'vote-response', granted: v.granted as boolean };
    }
    case 'append': {
      const a = m.append;
      return { ...base, type: 'append', prevIndex: readI64(a.prevIndex, 'prevIndex'), prevTerm: readI64(a.prevTerm, 'prevTerm'), entries: (a.entries as unknown[]).map(readEntry), commitIndex: readI64(a.commitIndex, 'commitIndex') };
    }
    case 'appendResponse': {
      const a = m.appendResponse;
      return {
        ...base,
        type: 'append-response',
        index: readI64(a.index, 'index'),
        rejected: a.rejected as boolean,
        hintIndex: readI64(a.hintIndex, 'hintIndex'),
        hintTerm: readI64(a.hintTerm, 'hintTerm'),
        ...(a.recovering ? { recovering: true as const } : {}),
      };
    }
    case 'heartbeat': {
      const h = m.heartbeat;
      return { ...base, type: 'heartbeat', commitIndex: readI64(h.commitIndex, 'commitIndex'), commitTerm: readI64(h.commitTerm, 'commitTerm'), leaderLastIndex: readI64(h.leaderLastIndex, 'leaderLastIndex') };
    }
    case 'heartbeatResponse': {
      const h = m.heartbeatResponse;
      return { ...base, type: 'heartbeat-response', lastIndex: readI64(h.lastIndex, 'lastIndex'), ...(h.recovering ? { recovering: true as const } : {}) };
    }
    case 'snapshot': {
      const s = m.snapshot;
      return { ...base, type: 'snapshot', snapshot: { index: readI64(s.index, 'snapshot index'), term: readI64(s.term, 'snapshot term'), data: readBytes(s.data) } };
    }
    case 'timeoutNow':
      return { ...base, type: 'timeout-now' };
    case 'observe':
      return { ...base, type: 'observe' };
    default:
      throw new Malformed('raft message carries no known body');
  }
}

// Controller bodies: JSON checked against a shape per kind, so that a handler only ever sees the types
// rpc.ts promises. A shape lists every allowed field; unknown fields are rejected.
type FieldSpec = 'string' | 'int' | 'bool' | 'bool?' | 'string?' | 'strings' | 'string-record?' | { readonly array: Shape };
type Shape = Readonly<Record<string, FieldSpec>>;

const ISR_MEMBER: Shape = { brokerId: 'int', brokerEpoch: 'int' };
const CONTROLLER_SHAPES: Readonly<Record<ControllerKind, Shape>> = {
  'register-broker': { brokerId: 'int', incarnationId: 'string', endpoints: { array: { name: 'string', url: 'string' } }, rack: 'string' },
  'broker-heartbeat': { brokerId: 'int', brokerEpoch: 'int', metadataOffset: 'int', wantShutdown: 'bool' },
  'alter-partition': { brokerId: 'int', brokerEpoch: 'int', topicId: 'string', partition: 'int', leaderEpoch: 'int', partitionEpoch: 'int', newIsr: { array: ISR_MEMBER } },
  'create-topics': { topics: { array: { name: 'string', numPartitions: 'int', replicationFactor: 'int', configs: 'string-record?' } }, validateOnly: 'bool', internal: 'bool?' },
  'delete-topics': { names: 'strings' },
  'create-partitions': { topics: { array: { name: 'string', count: 'int' } }, validateOnly: 'bool' },
  'describe-configs': { resources: 'strings' },
  'alter-configs': { resource: 'string', changes: { array: { name: 'string', value: 'string?' } }, validateOnly: 'bool' },
  'allocate-producer-ids': { brokerId: 'int', brokerEpoch: 'int' },
  'replica-failed': { brokerId: 'int', brokerEpoch: 'int', topicId: 'string', partition: 'int' },
};

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkShape(value: unknown, shape: Shape, where: string): void {
  if (!isPlainObject(value)) throw new Malformed(`${where} must be an object`);
  for (const key of Object.keys(value)) if (!Object.hasOwn(shape, key)) throw new Malformed(`${where} has an unknown field ${JSON.stringify(key)}`);
  for (const [key, spec] of Object.entries(shape)) {
    const v = value[key];
    const at = `${where}.${key}`;
    if (typeof spec === 'object') {
      if (!Array.isArray(v)) throw new Malformed(`${at} must be an array`);
      v.forEach((item, i) => checkShape(item, spec.array, `${at}[${i}]`));
      continue;
    }
    const ok =
      spec === 'string' ? typeof v === 'string'
      : spec === 'int' ? Number.isSafeInteger(v)
      : spec === 'bool' ? typeof v === 'boolean'
      : spec === 'bool?' ? v === undefined || typeof v === 'boolean'
      : spec === 'string?' ? v === undefined || typeof v === 'string'
      : spec === 'strings' ? Array.isArray(v) && v.every((s) => typeof s === 'string')
      : v === undefined || (isPlainObject(v) && Object.values(v).every((s) => typeof s === 'string'));
    if (!ok) throw new Malformed(`${at} must be ${spec}`);
  }
}

function readControllerKind(kind: unknown): ControllerKind {
  if (typeof kind !== 'string' || !Object.hasOwn(CONTROLLER_SHAPES, kind)) throw new Malformed(`unknown controller request kind ${JSON.stringify(kind)}`);
  return kind as ControllerKind;
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new Malformed(`${what} is not valid JSON`);
  }
}

function readControllerRequest(c: any): ControllerRequest {
  const kind = readControllerKind(c.kind);
  const value = parseJson(c.bodyJson as string, 'controller request body');
  if (!isPlainObject(value) || value['kind'] !== kind) throw new Malformed(`controller request body is not a ${kind} request`);
  checkShape(value, { ...CONTROLLER_SHAPES[kind], kind: 'string' }, kind);
  return value as unknown as ControllerRequest;
}

function readControllerResponse(c: any): ControllerAnswer {
  const kind = readControllerKind(c.kind);
  // Answers come from our own controller: checked to be an object, not field by field.
  const value = parseJson(c.bodyJson as string, 'controller response body');
  if (!isPlainObject(value)) throw new Malformed('controller response body must be an object');
  return { kind, response: value } as unknown as ControllerAnswer;
}

function readFetchRequest(r: any): FetchPartitionRequest {
  return {
    topicId: r.topicId,
    partition: r.partition,
    replicaId: r.replicaId,
    brokerEpoch: readI64(r.brokerEpoch, 'brokerEpoch'),
    sequence: readI64(r.sequence, 'sequence'),
    fetchOffset: readI64(r.fetchOffset, 'fetchOffset'),
    lastFetchedEpoch: r.lastFetchedEpoch,
    currentLeaderEpoch: r.currentLeaderEpoch,
    maxBytes: r.maxBytes,
    minBytes: r.minBytes,
    maxWaitMs: r.maxWaitMs,
  };
}

function readFetchResponse(r: any): FetchResponse {
  if (r.error != null) return readPartitionError(r.error);
  const highWatermark = readI64(r.highWatermark, 'highWatermark');
  if (r.divergingEpoch != null) return { divergingEpoch: { epoch: r.divergingEpoch.epoch, endOffset: readI64(r.divergingEpoch.endOffset, 'diverging end offset') }, highWatermark };
  return { records: readBytes(r.records), highWatermark, logStartOffset: readI64(r.logStartOffset, 'logStartOffset'), logEndOffset: readI64(r.logEndOffset, 'logEndOffset') };
}

function readRequest(p: any, field: string): RequestBody | undefined {
  switch (field) {
    case 'fetch':
      return { type: 'request', kind: 'fetch', request: readFetchRequest(p.fetch) };
    case 'replicaFetch': {
      const r = p.replicaFetch;
      return {
        type: 'request',
        kind: 'replica-fetch',
        request: { replicaId: r.replicaId, fetcherId: r.fetcherId, maxWaitMs: r.maxWaitMs, maxBytes: r.maxBytes, partitions: (r.partitions as any[]).map(readFetchRequest) },
      };
    }
    case 'produce': {
      const r = p.produce;
      return { type: 'request', kind: 'produce', request: { topicId: r.topicId, partition: r.partition, acks: readAcks(r.acks), timeoutMs: r.timeoutMs, records: readBytes(r.records) } };
    }
    case 'listOffsets': {
      const r = p.listOffsets;
      return { type: 'request', kind: 'list-offsets', request: { topicId: r.topicId, partition: r.partition, timestamp: readI64(r.timestamp, 'timestamp') } };
    }
    case 'metadata': {
      const r = p.metadata;
      return { type: 'request', kind: 'metadata', request: r.allTopics ? {} : { topics: [...(r.topics as string[])] } };
    }
    case 'controller':
      return { type: 'request', kind: 'controller', request: readControllerRequest(p.controller) };
    case 'initProducerId':
      return { type: 'request', kind: 'init-producer-id', request: {} };
    case 'describeQuorum':
      return { type: 'request', kind: 'describe-quorum', request: {} };
    default:
      return readGroupRequest(p, field);
  }
}

function readResponse(p: any, field: string): ResponseBody | undefined {
  switch (field) {
    case 'fetchResponse':
      return { type: 'response', kind: 'fetch', response: readFetchResponse(p.fetchResponse) };
    case 'replicaFetchResponse':
      return { type: 'response', kind: 'replica-fetch', response: { partitions: (p.replicaFetchResponse.partitions as any[]).map(readFetchResponse) } };
    case 'produceResponse': {
      const r = p.produceResponse;
      if (r.error != null) return { type: 'response', kind: 'produce', response: readPartitionError(r.error) };
      return { type: 'response', kind: 'produce', response: { baseOffset: readI64(r.baseOffset, 'baseOffset'), lastOffset: readI64(r.lastOffset, 'lastOffset'), duplicate: r.duplicate } };
    }
    case 'listOffsetsResponse': {
      const r = p.listOffsetsResponse;
      if (r.error != null) return { type: 'response', kind: 'list-offsets', response: readPartitionError(r.error) };
      return { type: 'response', kind: 'list-offsets', response: { offset: readI64(r.offset, 'offset'), timestamp: readI64(r.timestamp, 'timestamp') } };
    }
    case 'metadataResponse': {
      const r = p.metadataResponse;
      return {
        type: 'response',
        kind: 'metadata',
        response: {
          clusterId: r.clusterId,
          controllerId: r.controllerId,
          brokers: (r.brokers as any[]).map((b) => ({ id: b.id, endpoints: (b.endpoints as any[]).map((e) => ({ name: e.name, url: e.url })), rack: b.rack, fenced: b.fenced })),
          topics: (r.topics as any[]).map((t): MetadataTopic =>
            t.error != null
              ? { name: t.name, ...readPartitionError(t.error) }
              : {
                  name: t.name,
                  topicId: t.topicId,
                  partitions: (t.partitions as any[]).map((x) => ({ partition: x.partition, leader: x.leader, leaderEpoch: x.leaderEpoch, replicas: [...x.replicas], isr: [...x.isr] })),
                },
          ),
        },
      };
    }
    case 'controllerResponse':
      return { type: 'response', kind: 'controller', response: readControllerResponse(p.controllerResponse) };
    case 'initProducerIdResponse': {
      const r = p.initProducerIdResponse;
      if (r.error != null) return { type: 'response', kind: 'init-producer-id', response: readMetadataError(r.error) };
      return { type: 'response', kind: 'init-producer-id', response: { producerId: readI64(r.producerId, 'producerId'), producerEpoch: r.producerEpoch } };
    }
    case 'describeQuorumResponse': {
      const r = p.describeQuorumResponse;
      if (r.error != null) return { type: 'response', kind: 'describe-quorum', response: readMetadataError(r.error) };
      return {
        type: 'response',
        kind: 'describe-quorum',
        response: {
          leaderId: r.leaderId,
          term: readI64(r.term, 'term'),
          highWatermark: readI64(r.highWatermark, 'highWatermark'),
          voters: (r.voters as any[]).map(readQuorumReplica),
          observers: (r.observers as any[]).map(readQuorumReplica),
        },
      };
    }
    default:
      return readGroupResponse(p, field);
  }
}

function readBody(p: any): FrameBody {
  const field = p.body as string | undefined;
  switch (field) {
    case undefined:
      // Also what a frame from a newer peer looks like: protobufjs skips unknown fields.
      throw netError('UNKNOWN_FRAME', 'the frame has no body this version knows');
    case 'handshake': {
      const h = p.handshake;
      return { type: 'handshake', handshake: { protocolVersion: h.protocolVersion, clientId: h.clientId, nodeId: h.nodeId, credentials: readBytes(h.credentials) } };
    }
    case 'handshakeResponse': {
      const h = p.handshakeResponse;
      return { type: 'handshake-response', handshake: { protocolVersion: h.protocolVersion, nodeId: h.nodeId, clusterId: h.clusterId } };
    }
    case 'error':
      return { type: 'error', error: { code: p.error.code, message: p.error.message, retriable: p.error.retriable } };
    case 'raft':
      return { type: 'raft', message: readRaft(p.raft) };
    default: {
      const body = readRequest(p, field) ?? readResponse(p, field);
      if (body === undefined) throw netError('UNKNOWN_FRAME', `unknown frame body ${field}`);
      return body;
    }
  }
}

/**
 * Decodes one frame. Throws `NetError` MALFORMED_FRAME (not protobuf, a bad number, an unknown enum
 * value, a controller body of the wrong shape) or UNKNOWN_FRAME (no body this version knows) — never
 * anything else. Byte fields are views into `bytes`.
 */
export function decodeFrame(bytes: Uint8Array): Frame {
  let decoded: any;
  try {
    decoded = FrameType.decode(bytes);
  } catch (e) {
    throw netError('MALFORMED_FRAME', e instanceof Error ? e.message : String(e));
  }
  try {
    return { correlationId: decoded.correlationId as number, body: readBody(decoded) };
  } catch (e) {
    if (e instanceof Malformed) throw netError('MALFORMED_FRAME', e.message);
    if (e instanceof Error && e.name === 'NetError') throw e;
    // Anything else is a reader bug on unexpected input: still the input's fault from the peer's view.
    throw netError('MALFORMED_FRAME', e instanceof Error ? e.message : String(e));
  }
}
/* eslint-enable @typescript-eslint/no-explicit-any */

/** The frame kind as a short name, for logs and errors. */
export function frameKind(body: FrameBody): string {
  return body.type === 'request' || body.type === 'response' ? `${body.kind}-${body.type}` : body.type;
}
