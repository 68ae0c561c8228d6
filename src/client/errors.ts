/**
 * The client library's errors (DESIGN.md §8): one class per condition a caller matches on, each with
 * the wire `code` and whether retrying can help (`retriable`). Match on `code` or `instanceof`, never
 * on the message text.
 *
 * Every failure the client reports is a `SkeinError`: protocol error codes from responses
 * (partitions/errors.ts, metadata/errors.ts), wire-layer failures (`NetError`, net/errors.ts) and the
 * client's own conditions (bad input, a disconnected client, log truncation). `toSkeinError` is the
 * one mapping from the first two to these classes; an unknown code (from a newer server) becomes a
 * plain `SkeinError` that keeps the code and the retriable flag it came with.
 *
 * `retriable` of a code that both the data and metadata planes use (UNKNOWN_TOPIC_OR_PARTITION,
 * REQUEST_TIMED_OUT, FENCED_LEADER_EPOCH) follows the plane that answered: the data plane's table is
 * the default; callers mapping a controller answer pass the metadata plane's flag explicitly.
 *
 * Browser-safe: no Node-only APIs.
 */
import { MetadataError } from '../metadata/errors.js';
import { PartitionError } from '../partitions/errors.js';
import { NetError, NetErrorCode } from '../net/errors.js';

/** Codes the client raises itself (they never travel on the wire). */
export const ClientErrorCode = {
  /** Bad input to a client call, caught before anything was sent. */
  INVALID_ARGUMENT: { retriable: false, text: 'invalid argument' },
  /** The producer, consumer or admin is not connected (never connected, or disconnected). */
  NOT_CONNECTED: { retriable: false, text: 'the client is not connected' },
  /** The partition has no leader right now (metadata shows leader -1). */
  LEADER_NOT_AVAILABLE: { retriable: true, text: 'the partition has no leader right now' },
  /** No seed broker or known broker could be reached. */
  BROKER_NOT_AVAILABLE: { retriable: true, text: 'no broker could be reached' },
  /** The consumer's position lies beyond the end of its leader epoch on the new leader (KIP-320). */
  LOG_TRUNCATION: { retriable: false, text: 'the log was truncated below the consumer position' },
  /** A record was not acknowledged within delivery.timeout.ms. */
  DELIVERY_TIMEOUT: { retriable: false, text: 'the record was not acknowledged within delivery.timeout.ms' },
  /** A fatal producer error earlier made this producer unusable. */
  PRODUCER_FENCED: { retriable: false, text: 'the producer hit a fatal error and can no longer send' },
  /** Something failed that is neither a wire nor a client condition (a bug); `cause` is the original. */
  UNKNOWN_CLIENT_ERROR: { retriable: false, text: 'unexpected client failure' },
} as const;
export type ClientErrorCode = keyof typeof ClientErrorCode;

/** Base class of every client error. `code` is a wire or client code; `retriable` says whether to retry. */
export class SkeinError extends Error {
  override readonly name: string = 'SkeinError';
  constructor(
    readonly code: string,
    message: string,
    readonly retriable: boolean,
    options?: { readonly cause?: unknown },
  ) {
    super(message, options);
  }
}

type Ctor = new (message: string, retriable?: boolean, options?: { readonly cause?: unknown }) => SkeinError;

/** Defines a subclass with a fixed code and a default retriable flag. */
function errorClass<const C extends string>(name: string, code: C, defaultRetriable: boolean): new (message?: string, retriable?: boolean, options?: { readonly cause?: unknown }) => SkeinError & { readonly code: C } {
  const cls = class extends SkeinError {
    override readonly name = name;
    declare readonly code: C;
    constructor(message?: string, retriable = defaultRetriable, options?: { readonly cause?: unknown }) {
      super(code, message ?? defaultText(code), retriable, options);
    }
  };
  Object.defineProperty(cls, 'name', { value: name });
  return cls;
}

function defaultText(code: string): string {
  if (Object.hasOwn(PartitionError, code)) return PartitionError[code as keyof typeof PartitionError].text;
  if (Object.hasOwn(MetadataError, code)) return MetadataError[code as keyof typeof MetadataError].text;
  if (Object.hasOwn(NetErrorCode, code)) return NetErrorCode[code as NetErrorCode].text;
  if (Object.hasOwn(ClientErrorCode, code)) return ClientErrorCode[code as ClientErrorCode].text;
  return code;
}

// ---- Data plane -----------------------------------------------------------------------------------

export const NotLeaderError = errorClass('NotLeaderError', 'NOT_LEADER_OR_FOLLOWER', true);
export type NotLeaderError = InstanceType<typeof NotLeaderError>;
export const UnknownTopicError = errorClass('UnknownTopicError', 'UNKNOWN_TOPIC_OR_PARTITION', true);
export type UnknownTopicError = InstanceType<typeof UnknownTopicError>;
export const FencedLeaderEpochError = errorClass('FencedLeaderEpochError', 'FENCED_LEADER_EPOCH', true);
export type FencedLeaderEpochError = InstanceType<typeof FencedLeaderEpochError>;
export const UnknownLeaderEpochError = errorClass('UnknownLeaderEpochError', 'UNKNOWN_LEADER_EPOCH', true);
export type UnknownLeaderEpochError = InstanceType<typeof UnknownLeaderEpochError>;
export const NotEnoughReplicasError = errorClass('NotEnoughReplicasError', 'NOT_ENOUGH_REPLICAS', true);
export type NotEnoughReplicasError = InstanceType<typeof NotEnoughReplicasError>;
export const NotEnoughReplicasAfterAppendError = errorClass('NotEnoughReplicasAfterAppendError', 'NOT_ENOUGH_REPLICAS_AFTER_APPEND', true);
export type NotEnoughReplicasAfterAppendError = InstanceType<typeof NotEnoughReplicasAfterAppendError>;
/** A request (data plane, controller or wire) timed out; its outcome is unknown. */
export const RequestTimedOutError = errorClass('RequestTimedOutError', 'REQUEST_TIMED_OUT', true);
export type RequestTimedOutError = InstanceType<typeof RequestTimedOutError>;
/** Kafka's CorruptRecordException (the client-side twin of partitions' CorruptRecordError). */
export const CorruptMessageError = errorClass('CorruptMessageError', 'CORRUPT_RECORD', false);
export type CorruptMessageError = InstanceType<typeof CorruptMessageError>;
export const MessageTooLargeError = errorClass('MessageTooLargeError', 'MESSAGE_TOO_LARGE', false);
export type MessageTooLargeError = InstanceType<typeof MessageTooLargeError>;
export const OffsetOutOfRangeError = errorClass('OffsetOutOfRangeError', 'OFFSET_OUT_OF_RANGE', false);
export type OffsetOutOfRangeError = InstanceType<typeof OffsetOutOfRangeError>;
export const OutOfOrderSequenceError = errorClass('OutOfOrderSequenceError', 'OUT_OF_ORDER_SEQUENCE', false);
export type OutOfOrderSequenceError = InstanceType<typeof OutOfOrderSequenceError>;
export const InvalidProducerEpochError = errorClass('InvalidProducerEpochError', 'INVALID_PRODUCER_EPOCH', false);
export type InvalidProducerEpochError = InstanceType<typeof InvalidProducerEpochError>;
export const KafkaStorageError = errorClass('KafkaStorageError', 'KAFKA_STORAGE_ERROR', true);
export type KafkaStorageError = InstanceType<typeof KafkaStorageError>;

// ---- Metadata plane -------------------------------------------------------------------------------

export const NotControllerError = errorClass('NotControllerError', 'NOT_CONTROLLER', true);
export type NotControllerError = InstanceType<typeof NotControllerError>;
export const TopicAlreadyExistsError = errorClass('TopicAlreadyExistsError', 'TOPIC_ALREADY_EXISTS', false);
export type TopicAlreadyExistsError = InstanceType<typeof TopicAlreadyExistsError>;
export const InvalidTopicError = errorClass('InvalidTopicError', 'INVALID_TOPIC_NAME', false);
export type InvalidTopicError = InstanceType<typeof InvalidTopicError>;
export const InvalidPartitionsError = errorClass('InvalidPartitionsError', 'INVALID_PARTITIONS', false);
export type InvalidPartitionsError = InstanceType<typeof InvalidPartitionsError>;
export const InvalidReplicationFactorError = errorClass('InvalidReplicationFactorError', 'INVALID_REPLICATION_FACTOR', false);
export type InvalidReplicationFactorError = InstanceType<typeof InvalidReplicationFactorError>;
export const InvalidConfigError = errorClass('InvalidConfigError', 'INVALID_CONFIG', false);
export type InvalidConfigError = InstanceType<typeof InvalidConfigError>;
export const InvalidRequestError = errorClass('InvalidRequestError', 'INVALID_REQUEST', false);
export type InvalidRequestError = InstanceType<typeof InvalidRequestError>;

// ---- Wire layer -----------------------------------------------------------------------------------

/** The connection closed or could not be opened; the outcome of requests in flight is unknown. */
export const ConnectionError = errorClass('ConnectionError', 'CONNECTION_CLOSED', true);
export type ConnectionError = InstanceType<typeof ConnectionError>;
export const UnauthorizedError = errorClass('UnauthorizedError', 'UNAUTHORIZED', false);
export type UnauthorizedError = InstanceType<typeof UnauthorizedError>;
export const UnsupportedVersionError = errorClass('UnsupportedVersionError', 'UNSUPPORTED_VERSION', false);
export type UnsupportedVersionError = InstanceType<typeof UnsupportedVersionError>;

// ---- The client's own -----------------------------------------------------------------------------

/** Bad input to a client call, rejected before anything was sent. */
export const InvalidArgumentError = errorClass('InvalidArgumentError', 'INVALID_ARGUMENT', false);
export type InvalidArgumentError = InstanceType<typeof InvalidArgumentError>;
export const NotConnectedError = errorClass('NotConnectedError', 'NOT_CONNECTED', false);
export type NotConnectedError = InstanceType<typeof NotConnectedError>;
export const LeaderNotAvailableError = errorClass('LeaderNotAvailableError', 'LEADER_NOT_AVAILABLE', true);
export type LeaderNotAvailableError = InstanceType<typeof LeaderNotAvailableError>;
export const BrokerNotAvailableError = errorClass('BrokerNotAvailableError', 'BROKER_NOT_AVAILABLE', true);
export type BrokerNotAvailableError = InstanceType<typeof BrokerNotAvailableError>;
/**
 * The consumer's position is beyond the end offset of its last fetched leader epoch on the current
 * leader (KIP-320): records it consumed were truncated away. `divergingOffset` is where the logs agree.
 */
export class LogTruncationError extends SkeinError {
  override readonly name = 'LogTruncationError';
  declare readonly code: 'LOG_TRUNCATION';
  constructor(
    message: string,
    readonly topic: string,
    readonly partition: number,
    /** The first offset that is no longer the same as what was consumed. */
    readonly divergingOffset: number,
  ) {
    super('LOG_TRUNCATION', message, false);
  }
}
export const DeliveryTimeoutError = errorClass('DeliveryTimeoutError', 'DELIVERY_TIMEOUT', false);
export type DeliveryTimeoutError = InstanceType<typeof DeliveryTimeoutError>;
/** The producer hit a fatal error (OUT_OF_ORDER_SEQUENCE, INVALID_PRODUCER_EPOCH) earlier; `cause` is it. */
export const ProducerFencedError = errorClass('ProducerFencedError', 'PRODUCER_FENCED', false);
export type ProducerFencedError = InstanceType<typeof ProducerFencedError>;

const BY_CODE: Readonly<Record<string, Ctor>> = {
  NOT_LEADER_OR_FOLLOWER: NotLeaderError,
  UNKNOWN_TOPIC_OR_PARTITION: UnknownTopicError,
  FENCED_LEADER_EPOCH: FencedLeaderEpochError,
  UNKNOWN_LEADER_EPOCH: UnknownLeaderEpochError,
  NOT_ENOUGH_REPLICAS: NotEnoughReplicasError,
  NOT_ENOUGH_REPLICAS_AFTER_APPEND: NotEnoughReplicasAfterAppendError,
  REQUEST_TIMED_OUT: RequestTimedOutError,
  CORRUPT_RECORD: CorruptMessageError,
  MESSAGE_TOO_LARGE: MessageTooLargeError,
  OFFSET_OUT_OF_RANGE: OffsetOutOfRangeError,
  OUT_OF_ORDER_SEQUENCE: OutOfOrderSequenceError,
  INVALID_PRODUCER_EPOCH: InvalidProducerEpochError,
  KAFKA_STORAGE_ERROR: KafkaStorageError,
  NOT_CONTROLLER: NotControllerError,
  TOPIC_ALREADY_EXISTS: TopicAlreadyExistsError,
  INVALID_TOPIC_NAME: InvalidTopicError,
  INVALID_PARTITIONS: InvalidPartitionsError,
  INVALID_REPLICATION_FACTOR: InvalidReplicationFactorError,
  INVALID_CONFIG: InvalidConfigError,
  INVALID_REQUEST: InvalidRequestError,
  CONNECTION_CLOSED: ConnectionError,
  // A connection closed for idleness is, to the caller, a lost connection.
  IDLE_TIMEOUT: ConnectionError,
  UNAUTHORIZED: UnauthorizedError,
  UNSUPPORTED_VERSION: UnsupportedVersionError,
  INVALID_ARGUMENT: InvalidArgumentError,
  NOT_CONNECTED: NotConnectedError,
  LEADER_NOT_AVAILABLE: LeaderNotAvailableError,
  BROKER_NOT_AVAILABLE: BrokerNotAvailableError,
  DELIVERY_TIMEOUT: DeliveryTimeoutError,
  PRODUCER_FENCED: ProducerFencedError,
};

/** Whether a code is retriable per the tables (data plane first, then metadata, wire, client); false if unknown. */
export function isRetriableCode(code: string): boolean {
  if (Object.hasOwn(PartitionError, code)) return PartitionError[code as keyof typeof PartitionError].retriable;
  if (Object.hasOwn(MetadataError, code)) return MetadataError[code as keyof typeof MetadataError].retriable;
  if (Object.hasOwn(NetErrorCode, code)) return NetErrorCode[code as NetErrorCode].retriable;
  if (Object.hasOwn(ClientErrorCode, code)) return ClientErrorCode[code as ClientErrorCode].retriable;
  return false;
}

/**
 * The client error for a wire code or a thrown value:
 * - a `SkeinError` is returned as is;
 * - a `NetError` keeps its code, message and retriable flag (an IDLE_TIMEOUT becomes a ConnectionError);
 * - a code string maps to its class; `retriable` overrides the table's flag (for codes whose
 *   retriability depends on the plane that answered); unknown codes become a plain SkeinError;
 * - anything else (a bug, an unexpected exception) becomes a non-retriable SkeinError
 *   `UNKNOWN_CLIENT_ERROR` with the original as `cause`.
 */
export function toSkeinError(codeOrError: unknown, message?: string, retriable?: boolean): SkeinError {
  if (codeOrError instanceof SkeinError) return codeOrError;
  if (codeOrError instanceof NetError) {
    const cls = BY_CODE[codeOrError.code];
    const text = message ?? codeOrError.message;
    return cls !== undefined ? new cls(text, retriable ?? codeOrError.retriable, { cause: codeOrError }) : new SkeinError(codeOrError.code, text, retriable ?? codeOrError.retriable, { cause: codeOrError });
  }
  if (typeof codeOrError === 'string') {
    const cls = BY_CODE[codeOrError];
    const flag = retriable ?? isRetriableCode(codeOrError);
    const text = message ?? defaultText(codeOrError);
    return cls !== undefined ? new cls(text, flag) : new SkeinError(codeOrError, text, flag);
  }
  const text = message ?? (codeOrError instanceof Error ? codeOrError.message : String(codeOrError));
  return new SkeinError('UNKNOWN_CLIENT_ERROR', text, false, { cause: codeOrError });
}

/** The error of an answer `{ error, message }` from the data plane. */
export function partitionErrorOf(result: { readonly error: string; readonly message: string }): SkeinError {
  return toSkeinError(result.error, result.message);
}

/** The error of an answer `{ error, message }` from the metadata plane (its retriable flags). */
export function metadataErrorOf(result: { readonly error: string; readonly message: string }): SkeinError {
  const flag = Object.hasOwn(MetadataError, result.error) ? MetadataError[result.error as keyof typeof MetadataError].retriable : undefined;
  return toSkeinError(result.error, result.message, flag);
}
