/**
 * The consumer-group requests as the client sees them (issue 6's wire contract, defined in
 * src/groups/rpc.ts and carried by src/net/protocol.ts): find-coordinator, consumer-group-heartbeat,
 * offset-commit, offset-fetch, list-groups, describe-groups, delete-groups — and `groupRequest` /
 * `groupRequestAny`, the calls the group code makes with them.
 *
 * "Absent" optional fields are left out of the object (exactOptionalPropertyTypes), never set to
 * undefined. Error answers are values (`GroupErrorResult`), as every Skein answer; group-errors.ts
 * turns them into error classes.
 *
 * Browser-safe: types (type-only imports) and two calls.
 */
import type { RequestMap } from '../net/protocol.js';
import type { Cluster } from './cluster.js';

export type { GroupErrorCode, GroupErrorResult } from '../groups/errors.js';
export type {
  DescribedGroup,
  GroupDescription,
  GroupStateName as GroupState,
  MemberDescription as GroupMemberDescription,
  OffsetCommitPartition as CommitOffsetEntry,
  TopicPartitions as WireTopicPartitions,
} from '../groups/rpc.js';

/** Member epochs with a meaning of their own. */
export const MemberEpoch = {
  /** Sent to join (or rejoin after being fenced). */
  JOIN: 0,
  /** Sent to leave the group for good. */
  LEAVE: -1,
  /** Sent by a static member leaving for a while: its assignment is kept for the session timeout. */
  LEAVE_STATIC: -2,
  /** On an offset commit: not a member (admin, manually assigned consumers; empty groups only). */
  NOT_A_MEMBER: -1,
} as const;

export type GroupRequestKind = 'find-coordinator' | 'consumer-group-heartbeat' | 'offset-commit' | 'offset-fetch' | 'list-groups' | 'describe-groups' | 'delete-groups';
export type GroupRequestMap = Pick<RequestMap, GroupRequestKind>;

export type FindCoordinatorResponse = RequestMap['find-coordinator']['response'];
export type HeartbeatRequest = RequestMap['consumer-group-heartbeat']['request'];
export type HeartbeatResponse = RequestMap['consumer-group-heartbeat']['response'];
export type OffsetCommitRequest = RequestMap['offset-commit']['request'];
export type OffsetCommitResponse = RequestMap['offset-commit']['response'];
export type OffsetFetchRequest = RequestMap['offset-fetch']['request'];
export type OffsetFetchResponse = RequestMap['offset-fetch']['response'];
export type ListGroupsResponse = RequestMap['list-groups']['response'];
export type DescribeGroupsResponse = RequestMap['describe-groups']['response'];
export type DeleteGroupsResponse = RequestMap['delete-groups']['response'];

/** What the group code uses of a Cluster (a test can hand it a fake). */
export type GroupCluster = Pick<Cluster, 'request' | 'requestAny' | 'clock' | 'random' | 'requestTimeoutMs'>;

/** One group request to a broker (see Cluster.request for what it rejects with). */
export function groupRequest<K extends GroupRequestKind>(
  cluster: Pick<Cluster, 'request'>,
  brokerId: number,
  kind: K,
  body: GroupRequestMap[K]['request'],
  options: { readonly timeoutMs?: number } = {},
): Promise<GroupRequestMap[K]['response']> {
  return cluster.request(brokerId, kind, body, options);
}

/** One group request to any live broker (see Cluster.requestAny). */
export function groupRequestAny<K extends GroupRequestKind>(
  cluster: Pick<Cluster, 'requestAny'>,
  kind: K,
  body: GroupRequestMap[K]['request'],
  options: { readonly timeoutMs?: number } = {},
): Promise<GroupRequestMap[K]['response']> {
  return cluster.requestAny(kind, body, options);
}
