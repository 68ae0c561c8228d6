/**
 * Topic configuration: the names Skein knows, their types, defaults and validation (after Kafka's
 * `LogConfig`/`TopicConfig`), topic-name rules (after Kafka's `Topic.validate`), the precedence that
 * produces a topic's effective configuration, and typed getters over it.
 *
 * Values travel as strings, exactly as clients send them in CreateTopics/AlterConfigs and as they
 * are stored in Config records; the typed getters parse them where they are used.
 *
 * Invariants and decisions:
 * - Names, types, defaults and lower bounds are Kafka's (4.x docs) where the concept is the same.
 *   `segment.bytes` has Kafka 4.0's minimum of 1 MiB (KIP-1030; it was 14 bytes before 4.0).
 *   `flush` is Skein's own (DESIGN.md §3): `always` fsyncs before a batch counts toward the HW,
 *   `os` leaves it to the page cache and replication, as Kafka does by default.
 * - Numbers parse as Kafka parses them: optional surrounding whitespace, optional sign, decimal
 *   digits, within the Java `int`/`long` range. `long` values beyond 2^53 - 1 (e.g. the customary
 *   `retention.ms=9223372036854775807` for "forever") are accepted; the getters saturate them to
 *   `Number.MAX_SAFE_INTEGER`, which is just as infinite for milliseconds and bytes.
 *   Doubles (`min.cleanable.dirty.ratio`) take plain decimal or exponent notation, not Java's hex,
 *   `NaN` or `Infinity`. Booleans are `true`/`false`, case-insensitive; enumerations are
 *   case-sensitive, as in Kafka.
 * - `min.insync.replicas` greater than the replication factor is rejected at creation. Kafka accepts
 *   it and then fails every `acks=all` produce with NOT_ENOUGH_REPLICAS; a topic that can never take
 *   a durable write is a configuration mistake, so Skein says so up front (the safer default).
 * - Precedence: topic override > cluster default > built-in default. Names this build does not know
 *   are rejected by validation; `effectiveConfig` ignores them (a metadata log written by a newer
 *   version may carry names this one cannot interpret, and replaying it must not crash).
 * - Pure and deterministic: no I/O, no clock, no randomness. Validation returns values; the getters
 *   assert (a stored config that fails to parse means validation was skipped: a programmer error).
 */
import { assert } from '../util/assert.js';

export type ConfigType = 'boolean' | 'int' | 'long' | 'double' | 'string' | 'list';

/** One known configuration name. `validate` returns an error text, or undefined when the value is good. */
export interface ConfigDef {
  readonly name: string;
  readonly type: ConfigType;
  /** The built-in default, as a string in the same syntax a client would send. */
  readonly default: string;
  readonly doc: string;
  validate(value: string): string | undefined;
}

/** An expected (client-input) error, shaped for the CreateTopics / AlterConfigs responses. */
export interface ConfigError {
  readonly code: 'INVALID_CONFIG';
  readonly message: string;
}

/** The configuration names, for callers that prefer constants to string literals. */
export const TopicConfigName = {
  cleanupPolicy: 'cleanup.policy',
  retentionMs: 'retention.ms',
  retentionBytes: 'retention.bytes',
  segmentBytes: 'segment.bytes',
  segmentMs: 'segment.ms',
  minInsyncReplicas: 'min.insync.replicas',
  uncleanLeaderElectionEnable: 'unclean.leader.election.enable',
  maxMessageBytes: 'max.message.bytes',
  deleteRetentionMs: 'delete.retention.ms',
  minCleanableDirtyRatio: 'min.cleanable.dirty.ratio',
  minCompactionLagMs: 'min.compaction.lag.ms',
  flush: 'flush',
  messageTimestampType: 'message.timestamp.type',
} as const;
export type TopicConfigName = (typeof TopicConfigName)[keyof typeof TopicConfigName];

export const CleanupPolicy = { delete: 'delete', compact: 'compact' } as const;
export type CleanupPolicy = (typeof CleanupPolicy)[keyof typeof CleanupPolicy];

export const FlushPolicy = { always: 'always', os: 'os' } as const;
export type FlushPolicy = (typeof FlushPolicy)[keyof typeof FlushPolicy];

export const TimestampType = { createTime: 'CreateTime', logAppendTime: 'LogAppendTime' } as const;
export type TimestampType = (typeof TimestampType)[keyof typeof TimestampType];

// ---- parsing -------------------------------------------------------------------------------------

const INT_MIN = -(2n ** 31n);
const INT_MAX = 2n ** 31n - 1n;
const LONG_MIN = -(2n ** 63n);
const LONG_MAX = 2n ** 63n - 1n;
const DECIMAL = /^[+-]?[0-9]+$/;

/** Parses like Java's Integer/Long.parseLong after trim(); undefined when malformed or out of range. */
function parseInteger(value: string, type: 'int' | 'long'): bigint | undefined {
  const text = value.trim();
  if (!DECIMAL.test(text)) return undefined;
  const n = BigInt(text);
  const [min, max] = type === 'int' ? [INT_MIN, INT_MAX] : [LONG_MIN, LONG_MAX];
  return n < min || n > max ? undefined : n;
}

/** Java's Double.parseDouble for plain decimal notation (no hex, no NaN/Infinity); undefined when malformed. */
const DECIMAL_FRACTION = /^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$/;
function parseDouble(value: string): number | undefined {
  const text = value.trim();
  if (!DECIMAL_FRACTION.test(text)) return undefined;
  const n = Number(text);
  return Number.isFinite(n) ? n : undefined;
}

function parseBoolean(value: string): boolean | undefined {
  const text = value.trim().toLowerCase();
  return text === 'true' ? true : text === 'false' ? false : undefined;
}

/** Kafka's list syntax: comma-separated, each element trimmed. */
function parseList(value: string): string[] {
  const text = value.trim();
  return text === '' ? [] : text.split(',').map((element) => element.trim());
}

// ---- validators ----------------------------------------------------------------------------------

function integerAtLeast(type: 'int' | 'long', min: number): (value: string) => string | undefined {
  return (value) => {
    const n = parseInteger(value, type);
    if (n === undefined) {
      return type === 'int'
        ? 'must be a 32-bit integer (-2147483648..2147483647)'
        : 'must be a 64-bit integer (-9223372036854775808..9223372036854775807)';
    }
    return n < BigInt(min) ? `must be at least ${min}` : undefined;
  };
}

function doubleBetween(min: number, max: number): (value: string) => string | undefined {
  return (value) => {
    const n = parseDouble(value);
    if (n === undefined) return 'must be a decimal number';
    return n < min || n > max ? `must be between ${min} and ${max}` : undefined;
  };
}

function booleanValue(value: string): string | undefined {
  return parseBoolean(value) === undefined ? 'must be true or false' : undefined;
}

function oneOf(allowed: readonly string[]): (value: string) => string | undefined {
  return (value) => (allowed.includes(value.trim()) ? undefined : `must be one of: ${allowed.join(', ')}`);
}

/** A non-empty list of distinct elements, each from `allowed` (Kafka's ValidList). */
function listOf(allowed: readonly string[]): (value: string) => string | undefined {
  return (value) => {
    const elements = parseList(value);
    const rule = `must be a comma-separated list of distinct values from: ${allowed.join(', ')}`;
    if (elements.length === 0) return rule;
    for (const element of elements) if (!allowed.includes(element)) return rule;
    if (new Set(elements).size !== elements.length) return rule;
    return undefined;
  };
}

function def(
  name: TopicConfigName,
  type: ConfigType,
  defaultValue: string,
  doc: string,
  validate: (value: string) => string | undefined,
): ConfigDef {
  assert(validate(defaultValue) === undefined, `the default of ${name} must pass its own validation`);
  return { name, type, default: defaultValue, doc, validate };
}

// ---- the table -----------------------------------------------------------------------------------

const DEFS: readonly ConfigDef[] = [
  def(
    'cleanup.policy',
    'list',
    'delete',
    'How old segments are cleaned: "delete" drops segments past retention, "compact" keeps the last ' +
      'record per key; "delete,compact" does both.',
    listOf([CleanupPolicy.delete, CleanupPolicy.compact]),
  ),
  def(
    'retention.ms',
    'long',
    '604800000',
    'How long (ms) a segment is kept before "delete" may drop it; -1 keeps data forever.',
    integerAtLeast('long', -1),
  ),
  def(
    'retention.bytes',
    'long',
    '-1',
    'The size (bytes) a partition may grow to before "delete" drops its oldest segments; -1 means no limit.',
    integerAtLeast('long', -1),
  ),
  def(
    'segment.bytes',
    'int',
    '1073741824',
    'The size (bytes) at which a segment file is rolled. Minimum 1 MiB (Kafka 4.0, KIP-1030).',
    integerAtLeast('int', 1048576),
  ),
  def(
    'segment.ms',
    'long',
    '604800000',
    'The age (ms) at which a segment is rolled even if not full, so retention can drop it.',
    integerAtLeast('long', 1),
  ),
  def(
    'min.insync.replicas',
    'int',
    '1',
    'The fewest in-sync replicas (leader included) that must hold a batch before acks=all succeeds and ' +
      'the high watermark advances; below it, produce fails with NOT_ENOUGH_REPLICAS. At most the ' +
      'replication factor.',
    integerAtLeast('int', 1),
  ),
  def(
    'unclean.leader.election.enable',
    'boolean',
    'false',
    'Whether a replica outside the ISR may become leader when no ISR member is alive (availability over ' +
      'durability: acknowledged records can be lost).',
    booleanValue,
  ),
  def(
    'max.message.bytes',
    'int',
    '1048588',
    'The largest record batch (bytes, after compression) the broker accepts for this topic.',
    integerAtLeast('int', 0),
  ),
  def(
    'delete.retention.ms',
    'long',
    '86400000',
    'How long (ms) tombstones are kept on compacted topics, bounding how long a full read may take.',
    integerAtLeast('long', 0),
  ),
  def(
    'min.cleanable.dirty.ratio',
    'double',
    '0.5',
    'On compacted topics, the least fraction of the cleanable log (bytes not yet compacted over all ' +
      'bytes that could be) at which the cleaner compacts the partition.',
    doubleBetween(0, 1),
  ),
  def(
    'min.compaction.lag.ms',
    'long',
    '0',
    'On compacted topics, how long (ms, by the largest record timestamp of a segment) a record stays ' +
      'uncompacted at least.',
    integerAtLeast('long', 0),
  ),
  def(
    'flush',
    'string',
    'always',
    'Skein durability policy: "always" fsyncs a batch (group commit) before it counts toward the high ' +
      'watermark or is acked; "os" relies on replication and background flushing, like Kafka.',
    oneOf([FlushPolicy.always, FlushPolicy.os]),
  ),
  def(
    'message.timestamp.type',
    'string',
    'CreateTime',
    'Which timestamp records carry: the producer\'s "CreateTime" or the broker\'s "LogAppendTime".',
    oneOf([TimestampType.createTime, TimestampType.logAppendTime]),
  ),
];

/** Every topic configuration Skein knows, by name, in a fixed order. */
export const TOPIC_CONFIGS: ReadonlyMap<string, ConfigDef> = new Map(DEFS.map((d) => [d.name, d]));

// ---- validation ----------------------------------------------------------------------------------

function invalid(message: string): ConfigError {
  return { code: 'INVALID_CONFIG', message };
}

/** Keys in a fixed order, so the first error reported does not depend on insertion order. */
function sortedKeys(configs: Readonly<Record<string, string>>): string[] {
  return Object.keys(configs).sort();
}

/**
 * Validates a topic's configuration overrides (CreateTopics, AlterConfigs). Returns the first error
 * (keys checked in sorted order), or undefined when every entry is known and valid.
 *
 * `min.insync.replicas` is checked against `context.replicationFactor`: the override if present,
 * otherwise the value from `context.clusterDefaults` if given (so a cluster default of 2 refuses an
 * RF=1 topic unless the topic overrides it down).
 */
export function validateTopicConfigs(
  configs: Readonly<Record<string, string>>,
  context: { readonly replicationFactor: number; readonly clusterDefaults?: Readonly<Record<string, string>> },
): ConfigError | undefined {
  for (const key of sortedKeys(configs)) {
    const configDef = TOPIC_CONFIGS.get(key);
    if (configDef === undefined) {
      return invalid(`Unknown topic config '${key}'. Known configs: ${[...TOPIC_CONFIGS.keys()].join(', ')}`);
    }
    const value = configs[key];
    assert(typeof value === 'string', `config ${key} must be a string`);
    const rule = configDef.validate(value);
    if (rule !== undefined) return invalid(`Invalid value '${value}' for config '${key}': ${rule}`);
  }

  const name = TopicConfigName.minInsyncReplicas;
  const own = Object.hasOwn(configs, name) ? configs[name] : undefined;
  const inherited =
    own === undefined && context.clusterDefaults !== undefined && Object.hasOwn(context.clusterDefaults, name)
      ? context.clusterDefaults[name]
      : undefined;
  const minIsr = own ?? inherited;
  if (minIsr !== undefined) {
    const n = parseInteger(minIsr, 'int');
    // An invalid cluster default is the operator's problem, reported where it was set; skip it here.
    if (n !== undefined && n > BigInt(context.replicationFactor)) {
      const source = own !== undefined ? '' : ' (cluster default)';
      return invalid(
        `Invalid value '${minIsr}' for config '${name}'${source}: must not exceed the replication factor ` +
          `${context.replicationFactor}, or acks=all produce could never succeed`,
      );
    }
  }
  return undefined;
}

/** Kafka's limit: 249 characters, so that `<topic>-<partition>` and suffixed log dirs fit in 255. */
export const TOPIC_NAME_LENGTH_MAX = 249;
const TOPIC_NAME_CHARS = /^[a-zA-Z0-9._-]+$/;

/**
 * Validates a topic name by Kafka's rules (`Topic.validate`) plus Skein's reservation of the `__`
 * prefix for internal topics (`__consumer_offsets`, ...). Returns the broken rule, or undefined.
 */
export function validateTopicName(name: string, options: { readonly allowInternal?: boolean } = {}): string | undefined {
  if (name.length === 0) return 'Topic name is illegal: it must not be empty';
  if (name.length > TOPIC_NAME_LENGTH_MAX) {
    return `Topic name is illegal: it is ${name.length} characters long, the maximum is ${TOPIC_NAME_LENGTH_MAX}`;
  }
  if (name === '.' || name === '..') return `Topic name '${name}' is illegal: it must not be "." or ".."`;
  if (!TOPIC_NAME_CHARS.test(name)) {
    return `Topic name '${name}' is illegal: only ASCII letters, digits, '.', '_' and '-' are allowed`;
  }
  if (name.startsWith('__') && options.allowInternal !== true) {
    return `Topic name '${name}' is illegal: names starting with "__" are reserved for internal topics`;
  }
  return undefined;
}

/**
 * Whether two distinct topic names collide once '.' and '_' are treated alike (Kafka warns on these
 * because metric names replace '.' with '_'). A controller may refuse the second such topic.
 */
export function topicNamesCollide(a: string, b: string): boolean {
  return a !== b && a.replaceAll('.', '_') === b.replaceAll('.', '_');
}

// ---- effective configuration and typed getters --------------------------------------------------

/**
 * The configuration a topic runs with: for every known name, the topic override if present, else the
 * cluster default if present, else the built-in default. Unknown names in either input are ignored.
 * Returns a fresh object the caller owns, with keys in `TOPIC_CONFIGS` order.
 */
export function effectiveConfig(
  topicOverrides: Readonly<Record<string, string>>,
  clusterDefaults: Readonly<Record<string, string>>,
): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [name, configDef] of TOPIC_CONFIGS) {
    const override = Object.hasOwn(topicOverrides, name) ? topicOverrides[name] : undefined;
    const clusterDefault = Object.hasOwn(clusterDefaults, name) ? clusterDefaults[name] : undefined;
    result[name] = override ?? clusterDefault ?? configDef.default;
  }
  return result;
}

/** The raw value of `name` in `cfg`, falling back to the built-in default; asserts it validates. */
function rawValue(cfg: Readonly<Record<string, string>>, name: TopicConfigName): string {
  const configDef = TOPIC_CONFIGS.get(name);
  assert(configDef !== undefined, `unknown config ${name}`);
  const value = (Object.hasOwn(cfg, name) ? cfg[name] : undefined) ?? configDef.default;
  const rule = configDef.validate(value);
  assert(rule === undefined, `config ${name}='${value}' was stored without validation: ${rule}`);
  return value;
}

function intValue(cfg: Readonly<Record<string, string>>, name: TopicConfigName): number {
  const n = parseInteger(rawValue(cfg, name), 'int');
  assert(n !== undefined, `config ${name} must parse as int`);
  return Number(n);
}

/** A long, saturated to the safe-integer range (see the header). */
function longValue(cfg: Readonly<Record<string, string>>, name: TopicConfigName): number {
  const n = parseInteger(rawValue(cfg, name), 'long');
  assert(n !== undefined, `config ${name} must parse as long`);
  const max = BigInt(Number.MAX_SAFE_INTEGER);
  return Number(n > max ? max : n < -max ? -max : n);
}

/** `cleanup.policy` as a set of policies (never empty). */
export function cleanupPolicy(cfg: Readonly<Record<string, string>>): ReadonlySet<CleanupPolicy> {
  return new Set(parseList(rawValue(cfg, TopicConfigName.cleanupPolicy)) as CleanupPolicy[]);
}

/** `retention.ms` in milliseconds; -1 means keep forever. */
export function retentionMs(cfg: Readonly<Record<string, string>>): number {
  return longValue(cfg, TopicConfigName.retentionMs);
}

/** `retention.bytes` per partition; -1 means no size limit. */
export function retentionBytes(cfg: Readonly<Record<string, string>>): number {
  return longValue(cfg, TopicConfigName.retentionBytes);
}

/** `segment.bytes`: roll a segment once it would exceed this many bytes. */
export function segmentBytes(cfg: Readonly<Record<string, string>>): number {
  return intValue(cfg, TopicConfigName.segmentBytes);
}

/** `segment.ms`: roll a segment once its first record is this many milliseconds old. */
export function segmentMs(cfg: Readonly<Record<string, string>>): number {
  return longValue(cfg, TopicConfigName.segmentMs);
}

/** `min.insync.replicas`: the ISR size (leader included) below which acks=all fails and the HW stalls. */
export function minInsyncReplicas(cfg: Readonly<Record<string, string>>): number {
  return intValue(cfg, TopicConfigName.minInsyncReplicas);
}

/** `unclean.leader.election.enable`: may a non-ISR replica become leader. */
export function uncleanLeaderElection(cfg: Readonly<Record<string, string>>): boolean {
  const value = parseBoolean(rawValue(cfg, TopicConfigName.uncleanLeaderElectionEnable));
  assert(value !== undefined, 'unclean.leader.election.enable must parse as boolean');
  return value;
}

/** `max.message.bytes`: the largest record batch accepted, in bytes. */
export function maxMessageBytes(cfg: Readonly<Record<string, string>>): number {
  return intValue(cfg, TopicConfigName.maxMessageBytes);
}

/** `delete.retention.ms`: how long tombstones survive compaction, in milliseconds. */
export function deleteRetentionMs(cfg: Readonly<Record<string, string>>): number {
  return longValue(cfg, TopicConfigName.deleteRetentionMs);
}

/** `min.cleanable.dirty.ratio`: the dirty fraction at which a compacted partition is cleaned, in [0, 1]. */
export function minCleanableDirtyRatio(cfg: Readonly<Record<string, string>>): number {
  const n = parseDouble(rawValue(cfg, TopicConfigName.minCleanableDirtyRatio));
  assert(n !== undefined, 'min.cleanable.dirty.ratio must parse as a number');
  return n;
}

/** `min.compaction.lag.ms`: how long a record stays uncompacted at least, in milliseconds. */
export function minCompactionLagMs(cfg: Readonly<Record<string, string>>): number {
  return longValue(cfg, TopicConfigName.minCompactionLagMs);
}

/** `flush`: Skein's durability policy (DESIGN.md §3). */
export function flushPolicy(cfg: Readonly<Record<string, string>>): FlushPolicy {
  return rawValue(cfg, TopicConfigName.flush).trim() as FlushPolicy;
}

/** `message.timestamp.type`: CreateTime or LogAppendTime. */
export function messageTimestampType(cfg: Readonly<Record<string, string>>): TimestampType {
  return rawValue(cfg, TopicConfigName.messageTimestampType).trim() as TimestampType;
}
