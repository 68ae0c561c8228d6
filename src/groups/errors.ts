/**
 * The error codes of the consumer-group requests (Kafka's names where the condition is the same), each
 * with whether a client should retry. Expected conditions travel as these codes in answers; nothing in
 * the group core throws them.
 *
 * What a client does with each (the contract with src/client):
 * - COORDINATOR_NOT_AVAILABLE, NOT_COORDINATOR: find the coordinator again, then retry.
 * - COORDINATOR_LOAD_IN_PROGRESS, REQUEST_TIMED_OUT: retry (after a backoff) at the same coordinator.
 * - UNKNOWN_MEMBER_ID, FENCED_MEMBER_EPOCH: drop every partition, rejoin with epoch 0.
 * - STALE_MEMBER_EPOCH (offset commit): heartbeat to learn the current epoch, then retry the commit.
 */

export const GroupError = {
  COORDINATOR_NOT_AVAILABLE: { retriable: true, text: 'no coordinator is available for the group right now' },
  NOT_COORDINATOR: { retriable: true, text: 'this broker is not the coordinator of the group' },
  COORDINATOR_LOAD_IN_PROGRESS: { retriable: true, text: 'the coordinator is loading the group state' },
  UNKNOWN_MEMBER_ID: { retriable: false, text: 'the member is not in the group' },
  FENCED_MEMBER_EPOCH: { retriable: false, text: 'the member epoch is fenced' },
  STALE_MEMBER_EPOCH: { retriable: false, text: 'the member epoch is stale' },
  UNRELEASED_INSTANCE_ID: { retriable: false, text: 'another member uses this group instance id' },
  INVALID_GROUP_ID: { retriable: false, text: 'invalid group id' },
  GROUP_ID_NOT_FOUND: { retriable: false, text: 'no such group' },
  NON_EMPTY_GROUP: { retriable: false, text: 'the group has members' },
  INVALID_REQUEST: { retriable: false, text: 'invalid request' },
  UNKNOWN_TOPIC_OR_PARTITION: { retriable: false, text: 'unknown topic or partition' },
  OFFSET_METADATA_TOO_LARGE: { retriable: false, text: 'the offset metadata is too large' },
  REQUEST_TIMED_OUT: { retriable: true, text: 'the change was not replicated in time; its outcome is unknown' },
} as const;

export type GroupErrorCode = keyof typeof GroupError;

/** A failed request's answer: a code and a message that says what was wrong. */
export interface GroupErrorResult {
  readonly error: GroupErrorCode;
  readonly message: string;
}

export function groupError(code: GroupErrorCode, detail?: string): GroupErrorResult {
  return { error: code, message: detail === undefined ? GroupError[code].text : `${GroupError[code].text}: ${detail}` };
}

export function isGroupErrorCode(code: unknown): code is GroupErrorCode {
  return typeof code === 'string' && Object.hasOwn(GroupError, code);
}

export function isRetriableGroupError(code: GroupErrorCode): boolean {
  return GroupError[code].retriable;
}
