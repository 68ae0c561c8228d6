/**
 * One member of a consumer group and its reconciliation toward its target assignment (KIP-848's
 * member state machine, simplified). A member's state is an immutable value; `reconcile` computes the
 * next one.
 *
 * States:
 * - `stable`: the member owns `assigned` at `memberEpoch`, nothing is in flight.
 * - `unrevoked`: the member must give up `pendingRevocation` (it was told to own only `assigned`);
 *   its epoch does not move until a heartbeat's owned partitions show the revocation is done.
 * - `unreleased`: the member is at the target epoch but some target partitions are still held by
 *   other members (their revocation is pending); it gets them on a later heartbeat once they are free.
 *
 * The safety rule this module keeps (with group.ts): a partition enters a member's `assigned` only if
 * no other member holds it in `assigned` or `pendingRevocation` (`isFree`). Revocation never hands a
 * partition on by itself; it only moves it from `assigned` to `pendingRevocation`.
 */
import { EMPTY, equals, filter, intersect, isEmpty, minus, overlaps, union, type Assignment } from './assignment.js';

export type MemberStateName = 'stable' | 'unrevoked' | 'unreleased';

export interface Member {
  readonly memberId: string;
  /** '' for a dynamic member. */
  readonly instanceId: string;
  readonly clientId: string;
  readonly rebalanceTimeoutMs: number;
  readonly sessionTimeoutMs: number;
  /** Sorted, without duplicates. */
  readonly subscribedTopics: readonly string[];
  /** 0 before the first assignment; -2 while a static member is away (KIP-345). */
  readonly memberEpoch: number;
  /** The epoch before the last change of `memberEpoch` (a retry after a lost answer may carry it). */
  readonly previousMemberEpoch: number;
  readonly state: MemberStateName;
  /** What the member may own now (what it was last told, once it confirms revocations). */
  readonly assigned: Assignment;
  /** What it must give up before it gets anything new; disjoint from `assigned`. */
  readonly pendingRevocation: Assignment;
}

/** A member that has just joined: no epoch, nothing owned. */
export function newMember(fields: Pick<Member, 'memberId' | 'instanceId' | 'clientId' | 'rebalanceTimeoutMs' | 'sessionTimeoutMs' | 'subscribedTopics'>): Member {
  return { ...fields, memberEpoch: 0, previousMemberEpoch: 0, state: 'stable', assigned: EMPTY, pendingRevocation: EMPTY };
}

/** Every partition the member may still be consuming, in the coordinator's view. */
export function held(m: Member): Assignment {
  return union(m.assigned, m.pendingRevocation);
}

/** A static member away (epoch -2) is neither reconciling nor heartbeating. */
export function isAway(m: Member): boolean {
  return m.memberEpoch === -2;
}

/**
 * The member's next state toward `target` at `targetEpoch`.
 * - `owned`: what the member says it owns in this heartbeat (undefined: it did not say).
 * - `isFree(topic, partition)`: no other member holds the partition.
 */
export function reconcile(m: Member, target: Assignment, targetEpoch: number, owned: Assignment | undefined, isFree: (topic: string, partition: number) => boolean): Member {
  let cur = m;
  if (cur.state === 'unrevoked') {
    // Revocation is confirmed only by what the member reports it owns.
    if (owned === undefined || overlaps(owned, cur.pendingRevocation)) return cur;
    cur = { ...cur, pendingRevocation: EMPTY, state: 'stable' };
  }
  if (cur.memberEpoch === targetEpoch && cur.state === 'stable' && equals(cur.assigned, target)) return cur;
  const revoke = minus(cur.assigned, target);
  if (!isEmpty(revoke)) return { ...cur, assigned: intersect(cur.assigned, target), pendingRevocation: revoke, state: 'unrevoked' };
  const wanted = minus(target, cur.assigned);
  const free = filter(wanted, isFree);
  const epochMoves = cur.memberEpoch !== targetEpoch;
  return {
    ...cur,
    assigned: union(cur.assigned, free),
    memberEpoch: targetEpoch,
    previousMemberEpoch: epochMoves ? cur.memberEpoch : cur.previousMemberEpoch,
    state: equals(free, wanted) ? 'stable' : 'unreleased',
  };
}
