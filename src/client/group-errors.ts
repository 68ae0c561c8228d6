/**
 * The consumer-group error classes (issue 6's GroupErrorCode), one per condition a caller matches on,
 * each a `SkeinError` with the wire `code` and `retriable` — and `groupErrorOf`, the one mapping from a
 * group answer `{ error, message }` to them. Codes the group requests share with other planes
 * (INVALID_REQUEST, UNKNOWN_TOPIC_OR_PARTITION, REQUEST_TIMED_OUT) map to the existing classes.
 *
 * What each means to a member (the client side of the contract):
 * - COORDINATOR_NOT_AVAILABLE, NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS: retriable; the first two
 *   also mean "find the coordinator again".
 * - UNKNOWN_MEMBER_ID, FENCED_MEMBER_EPOCH: the member lost its place: drop every partition without
 *   committing and rejoin with epoch 0 (`FencedMemberError`, not retriable as such).
 * - STALE_MEMBER_EPOCH: an offset commit with an old epoch: heartbeat, then commit again.
 * - UNRELEASED_INSTANCE_ID: another live member holds this static instance id.
 *
 * Browser-safe.
 */
import { SkeinError, toSkeinError } from './errors.js';
import { GroupError, type GroupErrorCode } from '../groups/errors.js';

/** Each group code: retriable or not, and its default text — the coordinator's own table. */
export const GroupErrorCodes = GroupError;

type Ctor<C extends string> = new (message?: string, options?: { readonly cause?: unknown }) => SkeinError & { readonly code: C };

function groupErrorClass<const C extends GroupErrorCode>(name: string, code: C): Ctor<C> {
  const cls = class extends SkeinError {
    override readonly name = name;
    declare readonly code: C;
    constructor(message?: string, options?: { readonly cause?: unknown }) {
      super(code, message ?? GroupErrorCodes[code].text, GroupErrorCodes[code].retriable, options);
    }
  };
  Object.defineProperty(cls, 'name', { value: name });
  return cls;
}

export const CoordinatorNotAvailableError = groupErrorClass('CoordinatorNotAvailableError', 'COORDINATOR_NOT_AVAILABLE');
export type CoordinatorNotAvailableError = InstanceType<typeof CoordinatorNotAvailableError>;
export const NotCoordinatorError = groupErrorClass('NotCoordinatorError', 'NOT_COORDINATOR');
export type NotCoordinatorError = InstanceType<typeof NotCoordinatorError>;
export const CoordinatorLoadInProgressError = groupErrorClass('CoordinatorLoadInProgressError', 'COORDINATOR_LOAD_IN_PROGRESS');
export type CoordinatorLoadInProgressError = InstanceType<typeof CoordinatorLoadInProgressError>;
export const StaleMemberEpochError = groupErrorClass('StaleMemberEpochError', 'STALE_MEMBER_EPOCH');
export type StaleMemberEpochError = InstanceType<typeof StaleMemberEpochError>;
export const UnreleasedInstanceIdError = groupErrorClass('UnreleasedInstanceIdError', 'UNRELEASED_INSTANCE_ID');
export type UnreleasedInstanceIdError = InstanceType<typeof UnreleasedInstanceIdError>;
export const InvalidGroupIdError = groupErrorClass('InvalidGroupIdError', 'INVALID_GROUP_ID');
export type InvalidGroupIdError = InstanceType<typeof InvalidGroupIdError>;
export const GroupIdNotFoundError = groupErrorClass('GroupIdNotFoundError', 'GROUP_ID_NOT_FOUND');
export type GroupIdNotFoundError = InstanceType<typeof GroupIdNotFoundError>;
export const NonEmptyGroupError = groupErrorClass('NonEmptyGroupError', 'NON_EMPTY_GROUP');
export type NonEmptyGroupError = InstanceType<typeof NonEmptyGroupError>;
export const OffsetMetadataTooLargeError = groupErrorClass('OffsetMetadataTooLargeError', 'OFFSET_METADATA_TOO_LARGE');
export type OffsetMetadataTooLargeError = InstanceType<typeof OffsetMetadataTooLargeError>;

/** UNKNOWN_MEMBER_ID or FENCED_MEMBER_EPOCH: the member must drop its partitions and rejoin. */
export class FencedMemberError extends SkeinError {
  override readonly name = 'FencedMemberError';
  declare readonly code: 'UNKNOWN_MEMBER_ID' | 'FENCED_MEMBER_EPOCH';
  constructor(code: 'UNKNOWN_MEMBER_ID' | 'FENCED_MEMBER_EPOCH', message?: string) {
    super(code, message ?? GroupErrorCodes[code].text, false);
  }
}

const BY_CODE: Partial<Record<GroupErrorCode, Ctor<GroupErrorCode>>> = {
  COORDINATOR_NOT_AVAILABLE: CoordinatorNotAvailableError,
  NOT_COORDINATOR: NotCoordinatorError,
  COORDINATOR_LOAD_IN_PROGRESS: CoordinatorLoadInProgressError,
  STALE_MEMBER_EPOCH: StaleMemberEpochError,
  UNRELEASED_INSTANCE_ID: UnreleasedInstanceIdError,
  INVALID_GROUP_ID: InvalidGroupIdError,
  GROUP_ID_NOT_FOUND: GroupIdNotFoundError,
  NON_EMPTY_GROUP: NonEmptyGroupError,
  OFFSET_METADATA_TOO_LARGE: OffsetMetadataTooLargeError,
};

/** Whether `code` says the coordinator is elsewhere or gone (find it again before the next attempt). */
export function isCoordinatorMoved(code: string): boolean {
  return code === 'NOT_COORDINATOR' || code === 'COORDINATOR_NOT_AVAILABLE';
}

/** Whether `code` is one of the coordinator's own retriable conditions (moved, gone, loading). */
export function isCoordinatorError(code: string): boolean {
  return isCoordinatorMoved(code) || code === 'COORDINATOR_LOAD_IN_PROGRESS';
}

/** The client error of a group answer `{ error, message }`. */
export function groupErrorOf(result: { readonly error: string; readonly message?: string }): SkeinError {
  const code = result.error;
  const message = result.message !== undefined && result.message !== '' ? result.message : undefined;
  if (code === 'UNKNOWN_MEMBER_ID' || code === 'FENCED_MEMBER_EPOCH') return new FencedMemberError(code, message);
  const cls = BY_CODE[code as GroupErrorCode];
  if (cls !== undefined) return new cls(message);
  if (Object.hasOwn(GroupErrorCodes, code)) return toSkeinError(code, message, GroupErrorCodes[code as GroupErrorCode].retriable);
  return toSkeinError(code, message);
}
