/**
 * The coordinator's settings, with Kafka's names and defaults where the concept is the same
 * (`group.consumer.*`, `offsets.*`). All durations in milliseconds.
 */

export interface GroupConfig {
  /** offsets.topic.num.partitions: partitions of `__consumer_offsets` when the coordinator creates it. */
  readonly offsetsTopicPartitions: number;
  /** offsets.topic.replication.factor, lowered to the number of live brokers at creation. */
  readonly offsetsTopicReplicationFactor: number;
  /** group.consumer.heartbeat.interval.ms: told to members in every heartbeat answer. */
  readonly heartbeatIntervalMs: number;
  /** group.consumer.session.timeout.ms: used when a member asks for 0. */
  readonly sessionTimeoutMs: number;
  /** group.consumer.min.session.timeout.ms / max: the range a member may ask for. */
  readonly sessionTimeoutMinMs: number;
  readonly sessionTimeoutMaxMs: number;
  /** Used when a member asks for 0 (the consumer's max.poll.interval.ms default). */
  readonly rebalanceTimeoutMs: number;
  /** group.consumer.max.size. */
  readonly membersMax: number;
  /** offset.metadata.max.bytes (UTF-8 bytes of an offset's metadata string). */
  readonly offsetMetadataBytesMax: number;
  /** offsets.commit.timeout.ms: how long an append may wait for the HW before it fails. */
  readonly appendTimeoutMs: number;
  /** Backoff between reads while a partition loads and its replica is not ready to serve. */
  readonly loadRetryBackoffMs: number;
  /** Max wait of one load read at the HW (a long poll) while the HW catches up. */
  readonly loadReadWaitMs: number;
}

export const DEFAULT_GROUP_CONFIG: GroupConfig = {
  offsetsTopicPartitions: 8,
  offsetsTopicReplicationFactor: 3,
  heartbeatIntervalMs: 3000,
  sessionTimeoutMs: 45_000,
  sessionTimeoutMinMs: 6000,
  sessionTimeoutMaxMs: 300_000,
  rebalanceTimeoutMs: 300_000,
  membersMax: 10_000,
  offsetMetadataBytesMax: 4096,
  appendTimeoutMs: 5000,
  loadRetryBackoffMs: 100,
  loadReadWaitMs: 500,
};

export function groupConfig(overrides: Partial<GroupConfig> = {}): GroupConfig {
  return { ...DEFAULT_GROUP_CONFIG, ...overrides };
}
