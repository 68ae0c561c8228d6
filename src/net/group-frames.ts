/**
 * The consumer-group frames of the wire protocol (src/groups/rpc.ts carried as protobuf): their part
 * of the schema, spliced into protocol.ts's `Frame`, and their encoders and decoders, which
 * protocol.ts calls for the group request kinds. Same rules as the rest of the protocol:
 * - int32 fields are checked on encode (a programmer error: assert), int64 fields are safe integers
 *   both ways;
 * - decoding throws only NetError MALFORMED_FRAME (an unknown group error code or group state);
 * - optional fields ("absent" in rpc.ts) travel with explicit presence flags (`has_*`), since
 *   proto3 cannot tell an absent repeated field from an empty one; per-item errors are an optional
 *   GroupError submessage, whose message is '' when none was given.
 */
import { assert } from '../util/assert.js';
import { isGroupErrorCode, type GroupErrorCode, type GroupErrorResult } from '../groups/errors.js';
import type { DescribedGroup, GroupStateName, TopicPartitions } from '../groups/rpc.js';
import { netError } from './errors.js';
import type { RequestBody, ResponseBody } from './protocol.js';

export type GroupRequestKind = 'find-coordinator' | 'consumer-group-heartbeat' | 'offset-commit' | 'offset-fetch' | 'list-groups' | 'describe-groups' | 'delete-groups';
type GroupRequestBody = Extract<RequestBody, { kind: GroupRequestKind }>;
type GroupResponseBody = Extract<ResponseBody, { kind: GroupRequestKind }>;

/** The group messages of the schema (protocol.ts puts them before `Frame`). */
export const GROUP_SCHEMA = `
message GroupError { string code = 1; string message = 2; }
message GroupTopicPartitions { string topic = 1; repeated int32 partitions = 2; }
message FindCoordinatorRequest { string group_id = 1; }
message FindCoordinatorResponse { int32 node_id = 1; string url = 2; GroupError error = 3; }
message ConsumerGroupHeartbeatRequest {
  string group_id = 1; string member_id = 2; int32 member_epoch = 3; string instance_id = 4; string client_id = 5;
  int32 rebalance_timeout_ms = 6; int32 session_timeout_ms = 7;
  bool has_subscribed_topics = 8; repeated string subscribed_topics = 9;
  bool has_owned_partitions = 10; repeated GroupTopicPartitions owned_partitions = 11;
  string assignor = 12;
}
message ConsumerGroupHeartbeatResponse {
  string member_id = 1; int32 member_epoch = 2; int32 heartbeat_interval_ms = 3;
  bool has_assignment = 4; repeated GroupTopicPartitions assignment = 5; GroupError error = 6;
}
message OffsetCommitPartition { string topic = 1; int32 partition = 2; int64 offset = 3; int32 leader_epoch = 4; string metadata = 5; }
message OffsetCommitRequest { string group_id = 1; string member_id = 2; int32 member_epoch = 3; repeated OffsetCommitPartition offsets = 4; }
message GroupPartitionResult { string topic = 1; int32 partition = 2; GroupError error = 3; }
message OffsetCommitResponse { repeated GroupPartitionResult results = 1; GroupError error = 2; }
message OffsetFetchTopic { string topic = 1; bool has_partitions = 2; repeated int32 partitions = 3; }
message OffsetFetchRequest { string group_id = 1; bool has_topics = 2; repeated OffsetFetchTopic topics = 3; }
message FetchedOffset { string topic = 1; int32 partition = 2; int64 offset = 3; int32 leader_epoch = 4; string metadata = 5; }
message OffsetFetchResponse { repeated FetchedOffset offsets = 1; GroupError error = 2; }
message ListGroupsRequest {}
message ListedGroup { string group_id = 1; string state = 2; int32 members = 3; }
message ListGroupsResponse { repeated ListedGroup groups = 1; }
message DescribeGroupsRequest { repeated string group_ids = 1; }
message DescribedMember {
  string member_id = 1; string instance_id = 2; string client_id = 3; int32 member_epoch = 4; repeated string subscribed_topics = 5;
  repeated GroupTopicPartitions assignment = 6; repeated GroupTopicPartitions target_assignment = 7;
}
message DescribedGroup {
  string group_id = 1; string state = 2; int32 group_epoch = 3; int32 assignment_epoch = 4; string assignor = 5;
  repeated DescribedMember members = 6; GroupError error = 7;
}
message DescribeGroupsResponse { repeated DescribedGroup groups = 1; }
message DeleteGroupsRequest { repeated string group_ids = 1; }
message DeleteGroupResult { string group_id = 1; GroupError error = 2; }
message DeleteGroupsResponse { repeated DeleteGroupResult results = 1; }
`;

function i32(value: number, what: string): number {
  assert(Number.isInteger(value) && value >= -0x8000_0000 && value <= 0x7fff_ffff, `${what} must be an int32, got ${value}`);
  return value;
}

function i64(value: number, what: string): number {
  assert(Number.isSafeInteger(value), `${what} must be a safe integer, got ${value}`);
  return value;
}

function malformed(message: string): Error {
  return netError('MALFORMED_FRAME', message);
}

/* eslint-disable @typescript-eslint/no-explicit-any -- decoded protobufjs messages are untyped */

function readI64(value: unknown, what: string): number {
  // protobufjs hands out Long objects for int64 (see protocol.ts).
  const n = typeof value === 'number' ? value : typeof value === 'object' && value !== null && 'toNumber' in value ? (value as { toNumber(): number }).toNumber() : NaN;
  if (!Number.isSafeInteger(n)) throw malformed(`${what} is not a safe integer: ${String(value)}`);
  return n;
}

// ---- Encoding -------------------------------------------------------------------------------------

function topicPartitionsToProto(list: readonly TopicPartitions[]): object[] {
  return list.map((t) => ({ topic: t.topic, partitions: t.partitions.map((p) => i32(p, 'partition')) }));
}

function groupErrorToProto(code: GroupErrorCode, message: string | undefined): { code: string; message: string } {
  return { code, message: message ?? '' };
}

export function groupRequestToProto(body: GroupRequestBody): Record<string, object> {
  switch (body.kind) {
    case 'find-coordinator':
      return { findCoordinator: { groupId: body.request.groupId } };
    case 'consumer-group-heartbeat': {
      const r = body.request;
      return {
        consumerGroupHeartbeat: {
          groupId: r.groupId,
          memberId: r.memberId,
          memberEpoch: i32(r.memberEpoch, 'memberEpoch'),
          instanceId: r.instanceId,
          clientId: r.clientId,
          rebalanceTimeoutMs: i32(r.rebalanceTimeoutMs, 'rebalanceTimeoutMs'),
          sessionTimeoutMs: i32(r.sessionTimeoutMs, 'sessionTimeoutMs'),
          hasSubscribedTopics: r.subscribedTopics !== undefined,
          subscribedTopics: r.subscribedTopics ?? [],
          hasOwnedPartitions: r.ownedPartitions !== undefined,
          ownedPartitions: topicPartitionsToProto(r.ownedPartitions ?? []),
          assignor: r.assignor,
        },
      };
    }
    case 'offset-commit': {
      const r = body.request;
      return {
        offsetCommit: {
          groupId: r.groupId,
          memberId: r.memberId,
          memberEpoch: i32(r.memberEpoch, 'memberEpoch'),
          offsets: r.offsets.map((o) => ({
            topic: o.topic,
            partition: i32(o.partition, 'partition'),
            offset: i64(o.offset, 'offset'),
            leaderEpoch: i32(o.leaderEpoch, 'leaderEpoch'),
            metadata: o.metadata,
          })),
        },
      };
    }
    case 'offset-fetch': {
      const r = body.request;
      return {
        offsetFetch: {
          groupId: r.groupId,
          hasTopics: r.topics !== undefined,
          topics: (r.topics ?? []).map((t) => ({ topic: t.topic, hasPartitions: t.partitions !== undefined, partitions: (t.partitions ?? []).map((p) => i32(p, 'partition')) })),
        },
      };
    }
    case 'list-groups':
      return { listGroups: {} };
    case 'describe-groups':
      return { describeGroups: { groupIds: body.request.groupIds } };
    case 'delete-groups':
      return { deleteGroups: { groupIds: body.request.groupIds } };
  }
}

function describedGroupToProto(g: DescribedGroup): object {
  if ('error' in g) return { groupId: g.groupId, error: groupErrorToProto(g.error, g.message) };
  return {
    groupId: g.groupId,
    state: g.state,
    groupEpoch: i32(g.groupEpoch, 'groupEpoch'),
    assignmentEpoch: i32(g.assignmentEpoch, 'assignmentEpoch'),
    assignor: g.assignor,
    members: g.members.map((m) => ({
      memberId: m.memberId,
      instanceId: m.instanceId,
      clientId: m.clientId,
      memberEpoch: i32(m.memberEpoch, 'memberEpoch'),
      subscribedTopics: m.subscribedTopics,
      assignment: topicPartitionsToProto(m.assignment),
      targetAssignment: topicPartitionsToProto(m.targetAssignment),
    })),
  };
}

export function groupResponseToProto(body: GroupResponseBody): Record<string, object> {
  switch (body.kind) {
    case 'find-coordinator': {
      const r = body.response;
      if ('error' in r) return { findCoordinatorResponse: { error: groupErrorToProto(r.error, r.message) } };
      return { findCoordinatorResponse: { nodeId: i32(r.nodeId, 'nodeId'), url: r.url } };
    }
    case 'consumer-group-heartbeat': {
      const r = body.response;
      if ('error' in r) return { consumerGroupHeartbeatResponse: { error: groupErrorToProto(r.error, r.message) } };
      return {
        consumerGroupHeartbeatResponse: {
          memberId: r.memberId,
          memberEpoch: i32(r.memberEpoch, 'memberEpoch'),
          heartbeatIntervalMs: i32(r.heartbeatIntervalMs, 'heartbeatIntervalMs'),
          hasAssignment: r.assignment !== undefined,
          assignment: topicPartitionsToProto(r.assignment ?? []),
        },
      };
    }
    case 'offset-commit': {
      const r = body.response;
      if ('error' in r) return { offsetCommitResponse: { error: groupErrorToProto(r.error, r.message) } };
      return {
        offsetCommitResponse: {
          results: r.results.map((x) => ({
            topic: x.topic,
            partition: i32(x.partition, 'partition'),
            ...(x.error !== undefined ? { error: groupErrorToProto(x.error, x.message) } : {}),
          })),
        },
      };
    }
    case 'offset-fetch': {
      const r = body.response;
      if ('error' in r) return { offsetFetchResponse: { error: groupErrorToProto(r.error, r.message) } };
      return {
        offsetFetchResponse: {
          offsets: r.offsets.map((o) => ({ topic: o.topic, partition: i32(o.partition, 'partition'), offset: i64(o.offset, 'offset'), leaderEpoch: i32(o.leaderEpoch, 'leaderEpoch'), metadata: o.metadata })),
        },
      };
    }
    case 'list-groups':
      return { listGroupsResponse: { groups: body.response.groups.map((g) => ({ groupId: g.groupId, state: g.state, members: i32(g.members, 'members') })) } };
    case 'describe-groups':
      return { describeGroupsResponse: { groups: body.response.groups.map(describedGroupToProto) } };
    case 'delete-groups':
      return {
        deleteGroupsResponse: {
          results: body.response.results.map((x) => ({ groupId: x.groupId, ...(x.error !== undefined ? { error: groupErrorToProto(x.error, x.message) } : {}) })),
        },
      };
  }
}

// ---- Decoding -------------------------------------------------------------------------------------

function readGroupError(e: any): GroupErrorResult {
  const code = e.code as unknown;
  if (!isGroupErrorCode(code)) throw malformed(`unknown group error code ${JSON.stringify(code)}`);
  return { error: code, message: e.message as string };
}

function readTopicPartitions(list: any[]): TopicPartitions[] {
  return list.map((t) => ({ topic: t.topic as string, partitions: [...(t.partitions as number[])] }));
}

const GROUP_STATES: ReadonlySet<string> = new Set<GroupStateName>(['empty', 'assigning', 'reconciling', 'stable', 'dead']);
function readGroupState(state: unknown): GroupStateName {
  if (typeof state !== 'string' || !GROUP_STATES.has(state)) throw malformed(`unknown group state ${JSON.stringify(state)}`);
  return state as GroupStateName;
}

export function readGroupRequest(p: any, field: string): RequestBody | undefined {
  switch (field) {
    case 'findCoordinator':
      return { type: 'request', kind: 'find-coordinator', request: { groupId: p.findCoordinator.groupId } };
    case 'consumerGroupHeartbeat': {
      const r = p.consumerGroupHeartbeat;
      return {
        type: 'request',
        kind: 'consumer-group-heartbeat',
        request: {
          groupId: r.groupId,
          memberId: r.memberId,
          memberEpoch: r.memberEpoch,
          instanceId: r.instanceId,
          clientId: r.clientId,
          rebalanceTimeoutMs: r.rebalanceTimeoutMs,
          sessionTimeoutMs: r.sessionTimeoutMs,
          ...(r.hasSubscribedTopics ? { subscribedTopics: [...(r.subscribedTopics as string[])] } : {}),
          ...(r.hasOwnedPartitions ? { ownedPartitions: readTopicPartitions(r.ownedPartitions) } : {}),
          assignor: r.assignor,
        },
      };
    }
    case 'offsetCommit': {
      const r = p.offsetCommit;
      return {
        type: 'request',
        kind: 'offset-commit',
        request: {
          groupId: r.groupId,
          memberId: r.memberId,
          memberEpoch: r.memberEpoch,
          offsets: (r.offsets as any[]).map((o) => ({ topic: o.topic, partition: o.partition, offset: readI64(o.offset, 'offset'), leaderEpoch: o.leaderEpoch, metadata: o.metadata })),
        },
      };
    }
    case 'offsetFetch': {
      const r = p.offsetFetch;
      return {
        type: 'request',
        kind: 'offset-fetch',
        request: {
          groupId: r.groupId,
          ...(r.hasTopics
            ? { topics: (r.topics as any[]).map((t) => ({ topic: t.topic as string, ...(t.hasPartitions ? { partitions: [...(t.partitions as number[])] } : {}) })) }
            : {}),
        },
      };
    }
    case 'listGroups':
      return { type: 'request', kind: 'list-groups', request: {} };
    case 'describeGroups':
      return { type: 'request', kind: 'describe-groups', request: { groupIds: [...(p.describeGroups.groupIds as string[])] } };
    case 'deleteGroups':
      return { type: 'request', kind: 'delete-groups', request: { groupIds: [...(p.deleteGroups.groupIds as string[])] } };
    default:
      return undefined;
  }
}

function readDescribedGroup(g: any): DescribedGroup {
  if (g.error != null) return { groupId: g.groupId, ...readGroupError(g.error) };
  return {
    groupId: g.groupId,
    state: readGroupState(g.state),
    groupEpoch: g.groupEpoch,
    assignmentEpoch: g.assignmentEpoch,
    assignor: g.assignor,
    members: (g.members as any[]).map((m) => ({
      memberId: m.memberId,
      instanceId: m.instanceId,
      clientId: m.clientId,
      memberEpoch: m.memberEpoch,
      subscribedTopics: [...(m.subscribedTopics as string[])],
      assignment: readTopicPartitions(m.assignment),
      targetAssignment: readTopicPartitions(m.targetAssignment),
    })),
  };
}

function readItemError(e: any): { error?: GroupErrorCode; message?: string } {
  return e == null ? {} : readGroupError(e);
}

export function readGroupResponse(p: any, field: string): ResponseBody | undefined {
  switch (field) {
    case 'findCoordinatorResponse': {
      const r = p.findCoordinatorResponse;
      if (r.error != null) return { type: 'response', kind: 'find-coordinator', response: readGroupError(r.error) };
      return { type: 'response', kind: 'find-coordinator', response: { nodeId: r.nodeId, url: r.url } };
    }
    case 'consumerGroupHeartbeatResponse': {
      const r = p.consumerGroupHeartbeatResponse;
      if (r.error != null) return { type: 'response', kind: 'consumer-group-heartbeat', response: readGroupError(r.error) };
      return {
        type: 'response',
        kind: 'consumer-group-heartbeat',
        response: {
          memberId: r.memberId,
          memberEpoch: r.memberEpoch,
          heartbeatIntervalMs: r.heartbeatIntervalMs,
          ...(r.hasAssignment ? { assignment: readTopicPartitions(r.assignment) } : {}),
        },
      };
    }
    case 'offsetCommitResponse': {
      const r = p.offsetCommitResponse;
      if (r.error != null) return { type: 'response', kind: 'offset-commit', response: readGroupError(r.error) };
      return {
        type: 'response',
        kind: 'offset-commit',
        response: { results: (r.results as any[]).map((x) => ({ topic: x.topic as string, partition: x.partition as number, ...readItemError(x.error) })) },
      };
    }
    case 'offsetFetchResponse': {
      const r = p.offsetFetchResponse;
      if (r.error != null) return { type: 'response', kind: 'offset-fetch', response: readGroupError(r.error) };
      return {
        type: 'response',
        kind: 'offset-fetch',
        response: {
          offsets: (r.offsets as any[]).map((o) => ({ topic: o.topic, partition: o.partition, offset: readI64(o.offset, 'offset'), leaderEpoch: o.leaderEpoch, metadata: o.metadata })),
        },
      };
    }
    case 'listGroupsResponse':
      return {
        type: 'response',
        kind: 'list-groups',
        response: { groups: (p.listGroupsResponse.groups as any[]).map((g) => ({ groupId: g.groupId as string, state: readGroupState(g.state), members: g.members as number })) },
      };
    case 'describeGroupsResponse':
      return { type: 'response', kind: 'describe-groups', response: { groups: (p.describeGroupsResponse.groups as any[]).map(readDescribedGroup) } };
    case 'deleteGroupsResponse':
      return {
        type: 'response',
        kind: 'delete-groups',
        response: { results: (p.deleteGroupsResponse.results as any[]).map((x) => ({ groupId: x.groupId as string, ...readItemError(x.error) })) },
      };
    default:
      return undefined;
  }
}
/* eslint-enable @typescript-eslint/no-explicit-any */
