/**
 * A group consumer's options, checked and with their defaults (Kafka's where the concept is the same:
 * session.timeout.ms 45000 within the coordinator's 6000..300000, max.poll.interval.ms 300000 as the
 * rebalance timeout, heartbeat 3000, auto-commit every 5000 ms). Bad input is an InvalidArgumentError
 * when the consumer is made, before anything is sent.
 */
import { InvalidArgumentError } from './errors.js';
import type { ConsumerOptions, RebalanceListener } from './consumer-types.js';

export const DEFAULT_SESSION_TIMEOUT_MS = 45_000;
export const SESSION_TIMEOUT_MS_MIN = 6_000;
export const SESSION_TIMEOUT_MS_MAX = 300_000;
export const DEFAULT_REBALANCE_TIMEOUT_MS = 300_000;
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 3_000;
export const DEFAULT_AUTO_COMMIT_INTERVAL_MS = 5_000;
/** Kafka's group.id limit is the string length the protocol allows; Skein keys records by it, so keep it sane. */
const GROUP_ID_LENGTH_MAX = 255;
const INT32_MAX = 0x7fff_ffff;

export interface GroupOptions {
  readonly groupId: string;
  /** '' for a dynamic member. */
  readonly instanceId: string;
  readonly sessionTimeoutMs: number;
  readonly rebalanceTimeoutMs: number;
  readonly heartbeatIntervalMs: number;
  /** '' = the group's current. */
  readonly assignor: string;
  readonly autoCommit: boolean;
  readonly autoCommitIntervalMs: number;
  /** 0 = off. */
  readonly autoCommitThreshold: number;
  readonly rebalanceListener: RebalanceListener | undefined;
}

/** Checks a group id (non-empty, at most 255 characters). Returns it. */
export function checkGroupId(groupId: unknown, where = 'groupId'): string {
  if (typeof groupId !== 'string' || groupId.length === 0) throw new InvalidArgumentError(`${where} must be a non-empty string, got ${JSON.stringify(groupId)}`);
  if (groupId.length > GROUP_ID_LENGTH_MAX) throw new InvalidArgumentError(`${where} is longer than ${GROUP_ID_LENGTH_MAX} characters`);
  return groupId;
}

function int(value: number | undefined, fallback: number, name: string, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (!(Number.isSafeInteger(value) && value >= min && value <= max)) throw new InvalidArgumentError(`${name} must be an integer in [${min}, ${max}], got ${String(value)}`);
  return value;
}

/** The group options of `options`, or undefined without a groupId (manual assignment). */
export function resolveGroupOptions(options: ConsumerOptions): GroupOptions | undefined {
  if (options.groupId === undefined) {
    const stray = (['groupInstanceId', 'sessionTimeoutMs', 'rebalanceTimeoutMs', 'heartbeatIntervalMs', 'assignor', 'autoCommit', 'autoCommitIntervalMs', 'autoCommitThreshold', 'rebalanceListener'] as const).find(
      (k) => options[k] !== undefined,
    );
    if (stray !== undefined) throw new InvalidArgumentError(`${stray} needs a groupId`);
    return undefined;
  }
  const groupId = checkGroupId(options.groupId);
  const instanceId = options.groupInstanceId ?? '';
  if (typeof instanceId !== 'string' || (options.groupInstanceId !== undefined && instanceId.length === 0)) {
    throw new InvalidArgumentError(`groupInstanceId must be a non-empty string, got ${JSON.stringify(options.groupInstanceId)}`);
  }
  if (options.assignor !== undefined && options.assignor !== 'uniform' && options.assignor !== 'range') {
    throw new InvalidArgumentError(`assignor must be 'uniform' or 'range', got ${JSON.stringify(options.assignor)}`);
  }
  if (options.autoCommit !== undefined && typeof options.autoCommit !== 'boolean') throw new InvalidArgumentError(`autoCommit must be a boolean, got ${String(options.autoCommit)}`);
  const listener = options.rebalanceListener;
  if (listener !== undefined) {
    if (typeof listener !== 'object' || listener === null) throw new InvalidArgumentError('rebalanceListener must be an object of callbacks');
    for (const k of ['onPartitionsAssigned', 'onPartitionsRevoked', 'onPartitionsLost'] as const) {
      if (listener[k] !== undefined && typeof listener[k] !== 'function') throw new InvalidArgumentError(`rebalanceListener.${k} must be a function`);
    }
  }
  const sessionTimeoutMs = int(options.sessionTimeoutMs, DEFAULT_SESSION_TIMEOUT_MS, 'sessionTimeoutMs', SESSION_TIMEOUT_MS_MIN, SESSION_TIMEOUT_MS_MAX);
  return {
    groupId,
    instanceId,
    sessionTimeoutMs,
    rebalanceTimeoutMs: int(options.rebalanceTimeoutMs, DEFAULT_REBALANCE_TIMEOUT_MS, 'rebalanceTimeoutMs', 1_000, INT32_MAX),
    heartbeatIntervalMs: int(options.heartbeatIntervalMs, Math.min(DEFAULT_HEARTBEAT_INTERVAL_MS, Math.floor(sessionTimeoutMs / 3)), 'heartbeatIntervalMs', 1, sessionTimeoutMs - 1),
    assignor: options.assignor ?? '',
    autoCommit: options.autoCommit ?? true,
    autoCommitIntervalMs: int(options.autoCommitIntervalMs, DEFAULT_AUTO_COMMIT_INTERVAL_MS, 'autoCommitIntervalMs', 1, INT32_MAX),
    autoCommitThreshold: int(options.autoCommitThreshold, 0, 'autoCommitThreshold', 0, INT32_MAX),
    rebalanceListener: listener,
  };
}
