/**
 * The error codes of the metadata plane's requests (Kafka's names where the condition is the same).
 * Each says whether a client should retry. Expected conditions travel as these codes, never as thrown
 * exceptions through the controller.
 */

export const MetadataError = {
  NOT_CONTROLLER: { retriable: true, text: 'this node is not the active controller' },
  INVALID_TOPIC_NAME: { retriable: false, text: 'invalid topic name' },
  TOPIC_ALREADY_EXISTS: { retriable: false, text: 'topic already exists' },
  UNKNOWN_TOPIC_OR_PARTITION: { retriable: false, text: 'unknown topic or partition' },
  INVALID_PARTITIONS: { retriable: false, text: 'invalid number of partitions' },
  INVALID_REPLICATION_FACTOR: { retriable: false, text: 'invalid replication factor' },
  INVALID_CONFIG: { retriable: false, text: 'invalid configuration' },
  INVALID_REQUEST: { retriable: false, text: 'invalid request' },
  DUPLICATE_BROKER_REGISTRATION: { retriable: true, text: 'another incarnation of this broker is still registered' },
  STALE_BROKER_EPOCH: { retriable: false, text: 'stale broker epoch' },
  BROKER_NOT_REGISTERED: { retriable: false, text: 'broker is not registered' },
  FENCED_LEADER_EPOCH: { retriable: false, text: 'stale leader epoch' },
  NOT_LEADER_OR_FOLLOWER: { retriable: true, text: 'not the partition leader' },
  INVALID_UPDATE_VERSION: { retriable: false, text: 'stale partition epoch' },
  INELIGIBLE_REPLICA: { retriable: false, text: 'replica cannot join the ISR' },
  REQUEST_TIMED_OUT: { retriable: true, text: 'the controller did not commit the change in time; its outcome is unknown' },
} as const;

export type MetadataErrorCode = keyof typeof MetadataError;

/** A failed request's answer: a code and a message that says what was wrong. */
export interface ErrorResult {
  readonly error: MetadataErrorCode;
  readonly message: string;
}

export function errorResult(code: MetadataErrorCode, detail?: string): ErrorResult {
  return { error: code, message: detail === undefined ? MetadataError[code].text : `${MetadataError[code].text}: ${detail}` };
}

export function isRetriable(code: MetadataErrorCode): boolean {
  return MetadataError[code].retriable;
}
