/**
 * The consumer's public shapes (KafkaJS's, DESIGN.md §8): options (with the consumer-group ones), the
 * assignment and the subscription, the rebalance listener, what `run` takes, the payloads handed to
 * `eachMessage` / `eachBatch`, the `Batch` object, and the events.
 *
 * Offsets and timestamps are numbers (safe integers), not KafkaJS's decimal strings: Skein offsets fit
 * in 2^53. Keys, values and header values are `Uint8Array` views into the fetched bytes (browser-safe;
 * `messageText` decodes UTF-8).
 */
import type { Logger } from '../util/log.js';
import type { ConsumedMessage, MessageHeaders } from './consumer-records.js';
import type { OffsetResetPolicy } from './consumer-partition.js';
import type { RetryOptions } from './retry.js';
import type { SkeinError } from './errors.js';

export type { ConsumedMessage, MessageHeaders, OffsetResetPolicy };

export interface ConsumerOptions {
  /** How long the broker may hold a fetch open waiting for `minBytes` (long poll); default 500. */
  readonly maxWaitTimeInMs?: number;
  /** The broker answers a fetch once it has this many bytes (or maxWaitTimeInMs passed); default 1. */
  readonly minBytes?: number;
  /**
   * Bytes asked per fetch, default 1 MiB. Every Skein fetch covers one partition, so this is KafkaJS's
   * maxBytesPerPartition (accepted as an alias). A single record batch larger than this is still read:
   * the consumer asks again with a larger size, up to `maxBatchBytes`.
   */
  readonly maxBytes?: number;
  /** KafkaJS's name for `maxBytes`. */
  readonly maxBytesPerPartition?: number;
  /** The largest record batch the consumer will fetch; default 15 MiB (under the 16 MiB frame limit). */
  readonly maxBatchBytes?: number;
  /**
   * What to do when the position falls outside the log (OFFSET_OUT_OF_RANGE) — and, for 'none', when
   * truncation is detected (see the TRUNCATION event). Default: as KafkaJS, the assignment's own start
   * ('earliest' when assigned `fromBeginning`, else 'latest', Kafka's auto.offset.reset default).
   */
  readonly autoOffsetReset?: OffsetResetPolicy;
  /** Fetches in flight per broker (each long poll holds one); default 64, below the connection's 128. */
  readonly maxInFlightFetchesPerBroker?: number;
  /**
   * Backoff between attempts after a retriable fetch error (a leader change, a lost connection):
   * default 100 ms doubling to 1000 ms, ±20 %. `retries` is ignored: a retriable fetch error never
   * surfaces, the consumer keeps trying (as Kafka's consumer does).
   */
  readonly retry?: RetryOptions;
  readonly logger?: Logger;

  // ---- Consumer groups (issue 6): with a groupId the consumer subscribes instead of assigning ----

  /** The group to join: partitions are assigned by its coordinator (`subscribe`, then `run`). */
  readonly groupId?: string;
  /**
   * Static membership (KIP-345): a stable id for this instance. Leaving with `disconnect` keeps its
   * assignment for the session timeout, so a restart within it gets the same partitions back.
   */
  readonly groupInstanceId?: string;
  /** The coordinator drops a member it has not heard from for this long (ms); 6000..300000, default 45000. */
  readonly sessionTimeoutMs?: number;
  /**
   * How long a member may take to release a partition the coordinator takes away (ms; Kafka's
   * max.poll.interval.ms semantics): one whose callback runs longer is removed. Default 300000.
   */
  readonly rebalanceTimeoutMs?: number;
  /** Until the coordinator says otherwise (its answer wins), ms; default 3000. */
  readonly heartbeatIntervalMs?: number;
  /** The server-side assignor to ask for; default the group's current ('uniform' for a new group). */
  readonly assignor?: 'uniform' | 'range';
  /** Commit processed positions by interval, by threshold, on revocation and on disconnect; default true. */
  readonly autoCommit?: boolean;
  /** Auto-commit every this many ms; default 5000. */
  readonly autoCommitIntervalMs?: number;
  /** Also auto-commit once this many messages were processed since the last commit; default off. */
  readonly autoCommitThreshold?: number;
  /** Called around reconciliation (see RebalanceListener). */
  readonly rebalanceListener?: RebalanceListener;
}

/** `subscribe`'s argument: the topics to consume in the group. */
export interface SubscribeOptions {
  readonly topics?: readonly string[];
  /** One topic (KafkaJS's older form). */
  readonly topic?: string;
  /**
   * Where a partition with no committed offset starts: the log start when true, else the end (only
   * records produced from now on; Kafka's auto.offset.reset=latest).
   */
  readonly fromBeginning?: boolean;
}

/**
 * Callbacks around the group's reconciliation (Kafka's ConsumerRebalanceListener). Each may be
 * async; the member waits for it. One that throws stops the run (CRASH), as a throwing eachMessage.
 */
export interface RebalanceListener {
  /** After the partitions were taken on (their start positions are known), before their first fetch answer is handed over. */
  readonly onPartitionsAssigned?: (partitions: TopicPartitionList[]) => void | Promise<void>;
  /**
   * Before the partitions are released: fetching stopped and their running callback finished; with
   * autoCommit their positions are committed right after this returns (without it, commit here).
   */
  readonly onPartitionsRevoked?: (partitions: TopicPartitionList[]) => void | Promise<void>;
  /** The partitions were lost (the member was fenced or its session expired): they may already be someone else's; nothing was committed. */
  readonly onPartitionsLost?: (partitions: TopicPartitionList[]) => void | Promise<void>;
}

/** One `commitOffsets` entry: `offset` is the next offset to read (Kafka's convention). */
export interface TopicPartitionOffset {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number | string;
  /** Stored with the offset; default ''. */
  readonly metadata?: string;
}

/** One `assign` entry. Without `partitions`, every partition the topic has now. */
export interface TopicAssignment {
  readonly topic: string;
  readonly partitions?: readonly number[];
  /** Start from the log start instead of the end (when the partition has no position yet). */
  readonly fromBeginning?: boolean;
  /** Start from the first record with a timestamp >= this (ms), or the end if none. */
  readonly fromTimestamp?: number;
}

/** A set of partitions of one topic (pause, resume, paused). Without `partitions`: all assigned ones. */
export interface TopicPartitions {
  readonly topic: string;
  readonly partitions?: readonly number[];
}

export interface TopicPartitionList {
  readonly topic: string;
  readonly partitions: number[];
}

/** What `eachMessage` gets. */
export interface EachMessagePayload {
  readonly topic: string;
  readonly partition: number;
  readonly message: ConsumedMessage;
  /** Kept for KafkaJS compatibility: heartbeats run in the background, so this does nothing. */
  heartbeat(): Promise<void>;
  /** Pauses this partition (after this message); returns a function that resumes it. */
  pause(): () => void;
}

/** One fetch answer's messages for one partition (KafkaJS's Batch). */
export interface Batch {
  readonly topic: string;
  readonly partition: number;
  /** The partition's high watermark when the batch was fetched. */
  readonly highWatermark: number;
  readonly messages: readonly ConsumedMessage[];
  isEmpty(): boolean;
  /** The first message's offset, or null when empty. */
  firstOffset(): number | null;
  /** The last message's offset, or highWatermark - 1 when empty. */
  lastOffset(): number;
  /** highWatermark - 1 - lastOffset(), at least 0. */
  offsetLag(): number;
  /** highWatermark - 1 - firstOffset(), at least 0 (0 when empty). */
  offsetLagLow(): number;
}

/** What `eachBatch` gets. */
export interface EachBatchPayload {
  readonly batch: Batch;
  /** Marks every message up to `offset` as consumed: the position moves to offset + 1. */
  resolveOffset(offset: number): void;
  /** Kept for KafkaJS compatibility: heartbeats run in the background, so this does nothing. */
  heartbeat(): Promise<void>;
  /** False once the run stopped (stop, disconnect or crash). */
  isRunning(): boolean;
  /** True once this batch is no longer current: a seek, pause, truncation or reset happened. */
  isStale(): boolean;
  /** Pauses this partition; returns a function that resumes it. */
  pause(): () => void;
}

export interface ConsumerRunConfig {
  readonly eachMessage?: (payload: EachMessagePayload) => Promise<void>;
  readonly eachBatch?: (payload: EachBatchPayload) => Promise<void>;
  /** After eachBatch resolves, move past the whole batch (KafkaJS's eachBatchAutoResolve); default true. */
  readonly eachBatchAutoResolve?: boolean;
  /** Alias of eachBatchAutoResolve. */
  readonly autoResolve?: boolean;
  /** Partitions whose messages are handed over at the same time; default 1 (as KafkaJS). */
  readonly partitionsConsumedConcurrently?: number;
}

// ---- Events ---------------------------------------------------------------------------------------

export const ConsumerEvents = {
  CONNECT: 'consumer.connect',
  DISCONNECT: 'consumer.disconnect',
  /** The run stopped (stop(), disconnect() or a crash). */
  STOP: 'consumer.stop',
  /** The run stopped on an error (see the payload's `error`). */
  CRASH: 'consumer.crash',
  /** KIP-320: the log was truncated under the consumer's position (see docs/client.md). */
  TRUNCATION: 'consumer.truncation',
  /** The position was out of range and was reset by the autoOffsetReset policy. */
  OFFSET_RESET: 'consumer.offset_reset',
  /** Groups: the member's assignment is reconciled (after joining and after every change). */
  GROUP_JOIN: 'consumer.group_join',
  /** Groups: the coordinator changed the member's assignment; reconciliation starts. */
  REBALANCING: 'consumer.rebalancing',
  /** Groups: a heartbeat was answered. */
  HEARTBEAT: 'consumer.heartbeat',
  /** Groups: offsets were committed. */
  COMMIT_OFFSETS: 'consumer.commit_offsets',
} as const;
export type ConsumerEventName = (typeof ConsumerEvents)[keyof typeof ConsumerEvents];

export interface CrashPayload {
  /** What eachMessage/eachBatch threw (as thrown), or the SkeinError that stopped fetching. */
  readonly error: Error;
  /** The partition it happened on, when it is about one. */
  readonly topic?: string;
  readonly partition?: number;
  /** Always false: a crashed run is not restarted; call run() again (after a seek) to continue. */
  readonly restart: false;
}

export interface TruncationPayload {
  readonly topic: string;
  readonly partition: number;
  /** The position when truncation was detected (records up to it were delivered). */
  readonly fromOffset: number;
  /** Where the logs agree: the new position (unless autoOffsetReset is 'none'). */
  readonly toOffset: number;
  /** The leader epoch both logs share up to toOffset. */
  readonly leaderEpoch: number;
}

export interface OffsetResetPayload {
  readonly topic: string;
  readonly partition: number;
  /** The offset that was out of range. */
  readonly fromOffset: number;
  readonly policy: 'earliest' | 'latest';
  readonly error: SkeinError;
}

export interface GroupJoinPayload {
  readonly groupId: string;
  readonly memberId: string;
  readonly memberEpoch: number;
  /** What the member owns now. */
  readonly memberAssignment: TopicPartitionList[];
}

export interface GroupMemberPayload {
  readonly groupId: string;
  readonly memberId: string;
  readonly memberEpoch: number;
}

export interface CommitOffsetsPayload {
  readonly groupId: string;
  readonly memberId: string;
  readonly memberEpoch: number;
  readonly topics: ReadonlyArray<{ readonly topic: string; readonly partitions: ReadonlyArray<{ readonly partition: number; readonly offset: number }> }>;
}

export interface ConsumerEventPayloads {
  'consumer.connect': Record<string, never>;
  'consumer.disconnect': Record<string, never>;
  'consumer.stop': Record<string, never>;
  'consumer.crash': CrashPayload;
  'consumer.truncation': TruncationPayload;
  'consumer.offset_reset': OffsetResetPayload;
  'consumer.group_join': GroupJoinPayload;
  'consumer.rebalancing': GroupMemberPayload;
  'consumer.heartbeat': GroupMemberPayload;
  'consumer.commit_offsets': CommitOffsetsPayload;
}

export interface ConsumerEvent<E extends ConsumerEventName> {
  /** Increasing per consumer. */
  readonly id: number;
  readonly type: E;
  /** Milliseconds on the consumer's clock. */
  readonly timestamp: number;
  readonly payload: ConsumerEventPayloads[E];
}

export type ConsumerEventListener<E extends ConsumerEventName> = (event: ConsumerEvent<E>) => void;

// ---- Helpers --------------------------------------------------------------------------------------

const utf8 = new TextDecoder();

/** UTF-8 text of a key, value or header value (null stays null). */
export function messageText(bytes: Uint8Array | null | undefined): string | null {
  return bytes === null || bytes === undefined ? null : utf8.decode(bytes);
}
