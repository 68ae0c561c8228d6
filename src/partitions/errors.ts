/**
 * Error codes of the data plane (Kafka's names), each with whether a client should retry. They travel
 * as values in responses; nothing in the replica core throws them.
 */

export const PartitionError = {
  NOT_LEADER_OR_FOLLOWER: { retriable: true, text: 'this broker does not lead the partition' },
  FENCED_LEADER_EPOCH: { retriable: true, text: 'the request carries an older leader epoch than the broker' },
  UNKNOWN_LEADER_EPOCH: { retriable: true, text: 'the request carries a newer leader epoch than the broker knows' },
  NOT_ENOUGH_REPLICAS: { retriable: true, text: 'fewer in-sync replicas than min.insync.replicas; nothing was written' },
  NOT_ENOUGH_REPLICAS_AFTER_APPEND: { retriable: true, text: 'written by the leader, but the in-sync replicas fell below min.insync.replicas; outcome unknown' },
  REQUEST_TIMED_OUT: { retriable: true, text: 'not replicated in time; outcome unknown' },
  CORRUPT_RECORD: { retriable: false, text: 'the record batch is corrupt' },
  MESSAGE_TOO_LARGE: { retriable: false, text: 'the record batch is larger than max.message.bytes' },
  OFFSET_OUT_OF_RANGE: { retriable: false, text: 'the offset is outside the log' },
  OUT_OF_ORDER_SEQUENCE: { retriable: false, text: 'the producer sequence number is out of order' },
  INVALID_PRODUCER_EPOCH: { retriable: false, text: 'the producer epoch is stale (another producer took over)' },
  UNKNOWN_TOPIC_OR_PARTITION: { retriable: true, text: 'unknown topic or partition' },
  KAFKA_STORAGE_ERROR: { retriable: true, text: 'the replica\'s storage failed' },
} as const;

export type PartitionErrorCode = keyof typeof PartitionError;

export interface PartitionErrorResult {
  readonly error: PartitionErrorCode;
  readonly message: string;
}

export function partitionError(code: PartitionErrorCode, detail?: string): PartitionErrorResult {
  return { error: code, message: detail === undefined ? PartitionError[code].text : `${PartitionError[code].text}: ${detail}` };
}
