/**
 * The records of `__consumer_offsets` (a compacted topic: the latest record per key wins, a null value
 * deletes the key). Keys are UTF-8 text; values are UTF-8 JSON.
 *
 * - `o/<groupId>/<topic>/<partition>` → a committed offset: `{ offset, leaderEpoch, metadata, commitTimestampMs }`.
 * - `g/<groupId>` → the group's whole state: epochs, assignor, members (subscription, epochs, state,
 *   assigned and pending-revocation partitions) and the target assignment (`GroupRecordValue`).
 *
 * Keys are read from the right: the partition is the last `/`-separated part and the topic the one
 * before it (topic names hold no `/`), so a group id may contain `/`.
 *
 * Decoding never throws: a key or value this version cannot read gives undefined, and the loader skips
 * it (and logs it). Encoding is deterministic: the same value gives the same bytes.
 */
import type { CommittedOffset } from './offset-store.js';

export interface MemberRecordValue {
  readonly memberId: string;
  readonly instanceId: string;
  readonly clientId: string;
  readonly rebalanceTimeoutMs: number;
  readonly sessionTimeoutMs: number;
  readonly subscribedTopics: readonly string[];
  readonly memberEpoch: number;
  readonly previousMemberEpoch: number;
  readonly state: 'stable' | 'unrevoked' | 'unreleased';
  readonly assigned: Readonly<Record<string, readonly number[]>>;
  readonly pendingRevocation: Readonly<Record<string, readonly number[]>>;
}

export interface GroupRecordValue {
  readonly version: 1;
  readonly groupEpoch: number;
  readonly assignmentEpoch: number;
  readonly assignor: string;
  /** Partition counts of the subscribed topics the target was computed for. */
  readonly topics: Readonly<Record<string, number>>;
  readonly members: readonly MemberRecordValue[];
  /** memberId → its target assignment. */
  readonly target: Readonly<Record<string, Readonly<Record<string, readonly number[]>>>>;
}

export type GroupLogRecord =
  | { readonly type: 'offset'; readonly groupId: string; readonly topic: string; readonly partition: number; readonly value: CommittedOffset | null }
  | { readonly type: 'group'; readonly groupId: string; readonly value: GroupRecordValue | null };

/** A record as the offsets log port carries it. */
export interface LogRecord {
  readonly key: string;
  readonly value: Uint8Array | null;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

export function offsetKey(groupId: string, topic: string, partition: number): string {
  return `o/${groupId}/${topic}/${partition}`;
}

export function groupKey(groupId: string): string {
  return `g/${groupId}`;
}

export function encodeOffset(groupId: string, topic: string, partition: number, value: CommittedOffset | null): LogRecord {
  const v = value === null ? null : { offset: value.offset, leaderEpoch: value.leaderEpoch, metadata: value.metadata, commitTimestampMs: value.commitTimestampMs };
  return { key: offsetKey(groupId, topic, partition), value: v === null ? null : encoder.encode(JSON.stringify(v)) };
}

export function encodeGroup(groupId: string, value: GroupRecordValue | null): LogRecord {
  return { key: groupKey(groupId), value: value === null ? null : encoder.encode(JSON.stringify(value)) };
}

// ---- Decoding -----------------------------------------------------------------------------------

const isInt = (v: unknown): v is number => Number.isSafeInteger(v);
const isString = (v: unknown): v is string => typeof v === 'string';
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isPartitions = (v: unknown): boolean => isObject(v) && Object.values(v).every((ps) => Array.isArray(ps) && ps.every((p) => isInt(p) && p >= 0));

function isCommittedOffset(v: unknown): v is CommittedOffset {
  return isObject(v) && isInt(v['offset']) && isInt(v['leaderEpoch']) && isString(v['metadata']) && isInt(v['commitTimestampMs']);
}

function isMemberRecord(v: unknown): v is MemberRecordValue {
  return (
    isObject(v) &&
    isString(v['memberId']) &&
    isString(v['instanceId']) &&
    isString(v['clientId']) &&
    isInt(v['rebalanceTimeoutMs']) &&
    isInt(v['sessionTimeoutMs']) &&
    Array.isArray(v['subscribedTopics']) &&
    v['subscribedTopics'].every(isString) &&
    isInt(v['memberEpoch']) &&
    isInt(v['previousMemberEpoch']) &&
    (v['state'] === 'stable' || v['state'] === 'unrevoked' || v['state'] === 'unreleased') &&
    isPartitions(v['assigned']) &&
    isPartitions(v['pendingRevocation'])
  );
}

function isGroupRecord(v: unknown): v is GroupRecordValue {
  return (
    isObject(v) &&
    v['version'] === 1 &&
    isInt(v['groupEpoch']) &&
    isInt(v['assignmentEpoch']) &&
    isString(v['assignor']) &&
    isObject(v['topics']) &&
    Object.values(v['topics']).every(isInt) &&
    Array.isArray(v['members']) &&
    v['members'].every(isMemberRecord) &&
    isObject(v['target']) &&
    Object.values(v['target']).every(isPartitions)
  );
}

function parseJson(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(decoder.decode(bytes));
  } catch {
    return undefined;
  }
}

/** One record of `__consumer_offsets`, or undefined when this version cannot read it. */
export function decodeRecord(key: Uint8Array | null, value: Uint8Array | null): GroupLogRecord | undefined {
  if (key === null) return undefined;
  let text: string;
  try {
    text = decoder.decode(key);
  } catch {
    return undefined;
  }
  if (text.startsWith('g/')) {
    const groupId = text.slice(2);
    if (value === null) return { type: 'group', groupId, value: null };
    const v = parseJson(value);
    return isGroupRecord(v) ? { type: 'group', groupId, value: v } : undefined;
  }
  if (text.startsWith('o/')) {
    const rest = text.slice(2);
    const lastSlash = rest.lastIndexOf('/');
    const topicSlash = lastSlash <= 0 ? -1 : rest.lastIndexOf('/', lastSlash - 1);
    if (topicSlash < 0) return undefined;
    const partitionText = rest.slice(lastSlash + 1);
    if (!/^(0|[1-9][0-9]{0,9})$/.test(partitionText)) return undefined;
    const partition = Number(partitionText);
    const topic = rest.slice(topicSlash + 1, lastSlash);
    const groupId = rest.slice(0, topicSlash);
    if (topic === '' || partition > 0x7fff_ffff) return undefined;
    if (value === null) return { type: 'offset', groupId, topic, partition, value: null };
    const v = parseJson(value);
    return isCommittedOffset(v) ? { type: 'offset', groupId, topic, partition, value: v } : undefined;
  }
  return undefined;
}
