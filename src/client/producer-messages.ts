/**
 * What a producer accepts (KafkaJS's message shape) and its checks: every message of a send call is
 * validated and converted to the encoder's `RecordInput` before anything is queued, so bad input is an
 * InvalidArgumentError from `send` itself and never half a send on the wire.
 *
 * Rules (KafkaJS's, plus Kafka's where KafkaJS is silent):
 * - topic: a legal topic name (Kafka's Topic.validate: 1..249 of [a-zA-Z0-9._-], not "." or "..");
 * - messages: an array; each message an object whose `value` is present (null is a tombstone, but a
 *   message with neither key nor value carries nothing and is refused);
 * - key / value: string (stored as UTF-8), Uint8Array (Node's Buffer is one) or null;
 * - headers: an object of string | Uint8Array | null values, or arrays of them (one header each, in
 *   order, as KafkaJS);
 * - partition: a non-negative integer (checked against the partition count once metadata is known);
 * - timestamp: ms since the epoch, a safe integer >= 0 or its decimal string (KafkaJS sends strings).
 *
 * Browser-safe: TextEncoder, no Buffer.
 */
import type { RecordInput } from '../partitions/record-batch.js';
import { validateTopicName } from '../metadata/topic-config.js';
import { InvalidArgumentError } from './errors.js';

export type HeaderValue = string | Uint8Array | null | undefined | ReadonlyArray<string | Uint8Array>;

export interface Message {
  readonly key?: string | Uint8Array | null;
  readonly value: string | Uint8Array | null;
  readonly headers?: Readonly<Record<string, HeaderValue>>;
  /** Explicit partition: skips the partitioner. */
  readonly partition?: number;
  /** Create time in ms since the epoch; default: when `send` was called. */
  readonly timestamp?: number | string;
}

export interface TopicMessages {
  readonly topic: string;
  readonly messages: readonly Message[];
}

/** One partition's outcome of a send call. */
export interface RecordMetadata {
  readonly topic: string;
  readonly partition: number;
  /**
   * Offset of the first record this send call wrote to the partition (-1 with acks=0, where the
   * broker's answer is not awaited). Records of one call in one partition have consecutive offsets
   * unless the call was split over several batches.
   */
  readonly baseOffset: number;
}

/** A validated record, ready for the accumulator. */
export interface PreparedRecord {
  readonly input: RecordInput;
  /** Key bytes for the partitioner; null without a key. */
  readonly keyBytes: Uint8Array | null;
  /** Explicit partition, if the message named one. */
  readonly partition: number | undefined;
  /** Upper bound of the record's encoded size in bytes (for batch.size and buffer accounting). */
  readonly sizeBytes: number;
}

const encoder = new TextEncoder();
/** Per-record overhead bound: length, attributes, timestamp delta, offset delta, key/value lengths, header count. */
const RECORD_OVERHEAD_BYTES = 5 + 1 + 10 + 5 + 5 + 5 + 5;
/** Per-header overhead bound: key and value lengths. */
const HEADER_OVERHEAD_BYTES = 10;

/** Throws InvalidArgumentError unless `topic` is a legal topic name. */
export function checkTopic(topic: unknown): asserts topic is string {
  if (typeof topic !== 'string') throw new InvalidArgumentError(`topic must be a string, got ${describe(topic)}`);
  const problem = validateTopicName(topic, { allowInternal: true });
  if (problem !== undefined) throw new InvalidArgumentError(problem);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (value instanceof Uint8Array) return 'a Uint8Array';
  return typeof value === 'string' ? JSON.stringify(value) : typeof value;
}

function toBytes(value: unknown, where: () => string, what: string): Uint8Array | null {
  if (value === null) return null;
  if (typeof value === 'string') return encoder.encode(value);
  if (value instanceof Uint8Array) return value;
  throw new InvalidArgumentError(`${where()}: ${what} must be a string, a Uint8Array or null, got ${describe(value)}`);
}

/** Validates one message of `topic` and converts it; `defaultTimestampMs` stamps messages without one. */
export function prepareMessage(topic: string, message: unknown, index: number, defaultTimestampMs: number): PreparedRecord {
  // Built only for an error message: this runs once per record.
  const where = (): string => `message ${index} for topic ${JSON.stringify(topic)}`;
  if (typeof message !== 'object' || message === null || Array.isArray(message)) throw new InvalidArgumentError(`${where()} must be an object, got ${describe(message)}`);
  const m = message as Partial<Message>;
  if (m.value === undefined) throw new InvalidArgumentError(`invalid ${where()}: it has no value (use null for a tombstone)`);
  if (m.value === null && (m.key === undefined || m.key === null)) throw new InvalidArgumentError(`invalid ${where()}: it has neither a key nor a value`);
  const keyBytes = m.key === undefined ? null : toBytes(m.key, where, 'key');
  const valueBytes = toBytes(m.value, where, 'value');

  let partition: number | undefined;
  if (m.partition !== undefined && m.partition !== null) {
    if (!(Number.isSafeInteger(m.partition) && m.partition >= 0)) throw new InvalidArgumentError(`${where()}: partition must be a non-negative integer, got ${String(m.partition)}`);
    partition = m.partition;
  }

  let timestamp = defaultTimestampMs;
  if (m.timestamp !== undefined && m.timestamp !== null) {
    const t = typeof m.timestamp === 'string' && /^[0-9]+$/.test(m.timestamp) ? Number(m.timestamp) : m.timestamp;
    if (!(typeof t === 'number' && Number.isSafeInteger(t) && t >= 0)) throw new InvalidArgumentError(`${where()}: timestamp must be ms since the epoch (a non-negative integer), got ${describe(m.timestamp)}`);
    timestamp = t;
  }

  let sizeBytes = RECORD_OVERHEAD_BYTES + (keyBytes?.length ?? 0) + (valueBytes?.length ?? 0);
  let headers: { key: string; value: Uint8Array | null }[] | undefined;
  if (m.headers !== undefined && m.headers !== null) {
    if (typeof m.headers !== 'object' || Array.isArray(m.headers) || m.headers instanceof Uint8Array) {
      throw new InvalidArgumentError(`${where()}: headers must be an object of header values, got ${describe(m.headers)}`);
    }
    headers = [];
    for (const [key, raw] of Object.entries(m.headers)) {
      if (raw === undefined) continue;
      const values = Array.isArray(raw) ? (raw as readonly unknown[]) : [raw];
      for (const v of values) {
        const value = toBytes(v, where, `header ${JSON.stringify(key)}`);
        headers.push({ key, value });
        // A UTF-16 unit is at most 3 UTF-8 bytes: a bound, not the exact size.
        sizeBytes += HEADER_OVERHEAD_BYTES + key.length * 3 + (value?.length ?? 0);
      }
    }
  }
  const input: RecordInput = headers === undefined ? { key: keyBytes, value: valueBytes, timestamp } : { key: keyBytes, value: valueBytes, headers, timestamp };
  return { input, keyBytes, partition, sizeBytes };
}

/** Validates a send call's topic and messages; returns the prepared records (possibly none). */
export function prepareTopicMessages(topicMessages: unknown, defaultTimestampMs: number): { topic: string; records: PreparedRecord[] } {
  if (typeof topicMessages !== 'object' || topicMessages === null) throw new InvalidArgumentError(`a send needs { topic, messages }, got ${describe(topicMessages)}`);
  const { topic, messages } = topicMessages as Partial<TopicMessages>;
  checkTopic(topic);
  if (!Array.isArray(messages)) throw new InvalidArgumentError(`messages for topic ${JSON.stringify(topic)} must be an array, got ${describe(messages)}`);
  const records = (messages as readonly unknown[]).map((m, i) => prepareMessage(topic, m, i, defaultTimestampMs));
  return { topic, records };
}
