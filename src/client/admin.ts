/**
 * The admin client (KafkaJS's `admin()` API over Skein's wire requests): topics, partitions, configs,
 * offsets, the cluster, the controller quorum and consumer groups (group-admin.ts).
 *
 * Contract:
 * - Input is checked before anything is sent (InvalidArgumentError): topic names by Kafka's rules,
 *   partition counts and replication factors as positive integers (or absent: the cluster default),
 *   no topic twice in one call, config entries as { name, value } strings.
 * - Controller requests (create/delete topics, create partitions, describe/alter configs) go to any
 *   broker, which forwards them to the active controller. Whole-request retriable errors
 *   (NOT_CONTROLLER while a controller is being elected, REQUEST_TIMED_OUT, a lost connection) are
 *   retried with backoff (`retry`); per-topic errors are thrown as their SkeinError class.
 * - `createTopics` resolves true when every topic was created, false when one already existed
 *   (KafkaJS); with `waitForLeaders` (default) only once metadata shows a leader for every partition
 *   of the created topics.
 * - Offsets come from each partition's leader (list-offsets); NOT_LEADER_OR_FOLLOWER refetches
 *   metadata and retries.
 */
import { debugLoggers, type Logger } from '../util/log.js';
import { validateTopicName } from '../metadata/topic-config.js';
import type { ConfigSource, ControllerRequest, ControllerResponses } from '../metadata/rpc.js';
import type { QuorumReplica } from '../net/protocol.js';
import type { BrokerInfo, Cluster, TopicInfo } from './cluster.js';
import { InvalidArgumentError, LeaderNotAvailableError, RequestTimedOutError, UnknownTopicError, metadataErrorOf, partitionErrorOf, toSkeinError, type SkeinError } from './errors.js';
import { backoffMs, resolveRetryOptions, sleep, withRetry, type ResolvedRetryOptions, type RetryOptions } from './retry.js';
import { GroupAdmin, type GroupDescription, type GroupOverview, type GroupTopicOffsets } from './group-admin.js';

/** Config resource types, with Kafka's numbers (KafkaJS's ConfigResourceTypes). Skein has no per-broker configs: CLUSTER holds the cluster-wide topic defaults. */
export const ConfigResourceType = { TOPIC: 2, CLUSTER: 4 } as const;
export type ConfigResourceType = (typeof ConfigResourceType)[keyof typeof ConfigResourceType];

export interface ITopicConfig {
  readonly topic: string;
  /** Default: the cluster's default (num.partitions). */
  readonly numPartitions?: number;
  /** Default: the cluster's default (default.replication.factor). */
  readonly replicationFactor?: number;
  readonly configEntries?: ReadonlyArray<{ readonly name: string; readonly value: string }>;
}

export interface CreateTopicsOptions {
  readonly topics: readonly ITopicConfig[];
  readonly validateOnly?: boolean;
  /** Resolve only once metadata shows a leader for every partition; default true. */
  readonly waitForLeaders?: boolean;
  /** How long to wait for leaders, ms; default 30000. */
  readonly timeout?: number;
}

export interface PartitionMetadata {
  readonly partitionId: number;
  /** -1: none right now. */
  readonly leader: number;
  readonly leaderEpoch: number;
  readonly replicas: readonly number[];
  readonly isr: readonly number[];
  /** Replicas on fenced (unreachable) brokers. */
  readonly offlineReplicas: readonly number[];
}

export interface TopicMetadata {
  readonly name: string;
  readonly topicId: string;
  readonly partitions: readonly PartitionMetadata[];
}

export interface ClusterDescription {
  readonly brokers: ReadonlyArray<{ readonly nodeId: number; readonly url: string; readonly rack: string; readonly fenced: boolean }>;
  /** -1: no active controller right now. */
  readonly controller: number;
  readonly clusterId: string;
}

export interface PartitionOffsets {
  readonly partition: number;
  /** The high watermark: the offset the next committed record gets (KafkaJS's `offset`). */
  readonly offset: number;
  readonly high: number;
  /** The log start offset. */
  readonly low: number;
}

export interface ConfigResourceRequest {
  readonly type: ConfigResourceType;
  /** The topic; ignored (may be '') for CLUSTER. */
  readonly name: string;
  /** Only these names; default all. */
  readonly configNames?: readonly string[];
}

export interface ConfigEntry {
  readonly configName: string;
  readonly configValue: string;
  readonly configSource: ConfigSource;
  readonly isDefault: boolean;
  readonly readOnly: boolean;
  readonly isSensitive: boolean;
}

export interface DescribeConfigsResult {
  readonly resources: ReadonlyArray<{ readonly resourceType: ConfigResourceType; readonly resourceName: string; readonly configEntries: readonly ConfigEntry[] }>;
}

export interface AlterConfigResource {
  readonly type: ConfigResourceType;
  readonly name: string;
  /** Incremental: each entry sets its config; a null or absent value removes the override. */
  readonly configEntries: ReadonlyArray<{ readonly name: string; readonly value?: string | null }>;
}

export interface QuorumDescription {
  readonly leaderId: number;
  readonly term: number;
  readonly highWatermark: number;
  readonly voters: readonly QuorumReplica[];
  readonly observers: readonly QuorumReplica[];
}

export interface AdminOptions {
  readonly retry?: RetryOptions;
  readonly logger?: Logger;
}

/** The controller requests a client may send (the others are broker-to-controller). */
type AdminControllerRequest = Extract<ControllerRequest, { kind: 'create-topics' | 'delete-topics' | 'create-partitions' | 'describe-configs' | 'alter-configs' }>;

const LIST_OFFSETS_EARLIEST = -2;
const LIST_OFFSETS_LATEST = -1;

export class Admin {
  private readonly retry: ResolvedRetryOptions;
  private readonly groups: GroupAdmin;

  constructor(
    readonly cluster: Cluster,
    options: AdminOptions = {},
  ) {
    this.retry = resolveRetryOptions(options.retry);
    this.groups = new GroupAdmin({
      cluster,
      retry: this.retry,
      log: options.logger ?? debugLoggers('skein:client:admin'),
      partitionsOf: async (topic) => (await this.topicInfo(topic)).partitions.map((p) => p.partition),
      offsetsAt: async (topic, timestamp) => {
        const info = await this.topicInfo(topic);
        return Promise.all(info.partitions.map(async (p) => ({ partition: p.partition, offset: await this.listOffset(topic, p.partition, timestamp) })));
      },
    });
  }

  /** Connects to the cluster (first seed broker that answers). */
  async connect(): Promise<void> {
    await this.cluster.connect();
  }

  async disconnect(): Promise<void> {
    await this.cluster.close();
  }

  // ---- topics -------------------------------------------------------------------------------------

  async createTopics(options: CreateTopicsOptions): Promise<boolean> {
    const topics = checkTopicList(options?.topics, 'createTopics', (t: ITopicConfig, i) => {
      const where = `createTopics: topics[${i}]`;
      const name = checkTopicName(t?.topic, where);
      const numPartitions = optionalCount(t.numPartitions, `${where}.numPartitions`);
      const replicationFactor = optionalCount(t.replicationFactor, `${where}.replicationFactor`);
      const configs = configRecord(t.configEntries, `${where}.configEntries`);
      return { name, numPartitions, replicationFactor, ...(configs !== undefined && { configs }) };
    });
    const validateOnly = optionalBoolean(options.validateOnly, 'createTopics: validateOnly') ?? false;
    const waitForLeaders = optionalBoolean(options.waitForLeaders, 'createTopics: waitForLeaders') ?? true;
    const timeoutMs = optionalTimeout(options.timeout, 'createTopics: timeout') ?? 30_000;

    const attempts = { count: 0 };
    const response = await this.controller({ kind: 'create-topics', topics, validateOnly }, attempts);
    let existed = false;
    const created: string[] = [];
    for (const result of response.topics) {
      if (!('error' in result)) {
        created.push(result.name);
        continue;
      }
      if (result.error !== 'TOPIC_ALREADY_EXISTS') throw metadataErrorOf(result);
      // After a retry, "already exists" may be our own earlier attempt, whose answer was lost: that is
      // a creation as far as the caller can tell (Kafka's admin client does the same).
      if (attempts.count > 1 && !validateOnly) created.push(result.name);
      else existed = true;
    }
    for (const name of created) this.cluster.invalidate(name);
    if (!validateOnly && waitForLeaders && created.length > 0) await this.waitForLeaders(created, timeoutMs);
    return !existed;
  }

  async deleteTopics(options: { readonly topics: readonly string[]; readonly timeout?: number }): Promise<void> {
    const names = checkTopicList(options?.topics, 'deleteTopics', (t: string, i) => checkTopicName(t, `deleteTopics: topics[${i}]`));
    const response = await this.controller({ kind: 'delete-topics', names });
    for (const name of names) this.cluster.invalidate(name);
    for (const result of response.topics) if ('error' in result) throw metadataErrorOf(result);
  }

  /** Raises topics' partition counts to `count` (the new total, as Kafka's CreatePartitions). */
  async createPartitions(options: { readonly topicPartitions: ReadonlyArray<{ readonly topic: string; readonly count: number }>; readonly validateOnly?: boolean; readonly timeout?: number }): Promise<void> {
    const topics = checkTopicList(options?.topicPartitions, 'createPartitions', (t: { topic: string; count: number }, i) => {
      const where = `createPartitions: topicPartitions[${i}]`;
      const name = checkTopicName(t?.topic, where);
      const count = optionalCount(t.count, `${where}.count`);
      if (count === -1) throw new InvalidArgumentError(`${where}.count is required`);
      return { name, count };
    });
    const validateOnly = optionalBoolean(options.validateOnly, 'createPartitions: validateOnly') ?? false;
    const response = await this.controller({ kind: 'create-partitions', topics, validateOnly });
    for (const t of topics) this.cluster.invalidate(t.name);
    for (const result of response.topics) if ('error' in result) throw metadataErrorOf(result);
  }

  /** Topic names, sorted. */
  async listTopics(): Promise<string[]> {
    const response = await this.retrying(() => this.cluster.requestAny('metadata', {}));
    return response.topics.map((t) => t.name).sort();
  }

  /** Metadata of `topics` (default: every topic). Rejects with UnknownTopicError for a topic that does not exist. */
  async fetchTopicMetadata(options: { readonly topics?: readonly string[] } = {}): Promise<{ topics: TopicMetadata[] }> {
    const names = options.topics === undefined ? undefined : checkTopicList(options.topics, 'fetchTopicMetadata', (t: string, i) => checkTopicName(t, `fetchTopicMetadata: topics[${i}]`, true));
    const response = await this.retrying(() => this.cluster.requestAny('metadata', names === undefined ? {} : { topics: names }));
    const fenced = new Set(response.brokers.filter((b) => b.fenced).map((b) => b.id));
    const topics: TopicMetadata[] = [];
    for (const t of response.topics) {
      if ('error' in t) throw partitionErrorOf(t).code === 'UNKNOWN_TOPIC_OR_PARTITION' ? new UnknownTopicError(`unknown topic ${JSON.stringify(t.name)}`, false) : partitionErrorOf(t);
      topics.push({
        name: t.name,
        topicId: t.topicId,
        partitions: [...t.partitions]
          .sort((a, b) => a.partition - b.partition)
          .map((p) => ({ partitionId: p.partition, leader: p.leader, leaderEpoch: p.leaderEpoch, replicas: [...p.replicas], isr: [...p.isr], offlineReplicas: p.replicas.filter((r) => fenced.has(r)) })),
      });
    }
    return { topics: topics.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)) };
  }

  async describeCluster(): Promise<ClusterDescription> {
    await this.cluster.connect();
    const m = await this.retrying(() => this.cluster.refreshMetadata([]));
    return { brokers: m.brokers.map((b: BrokerInfo) => ({ nodeId: b.id, url: b.url, rack: b.rack, fenced: b.fenced })), controller: m.controllerId, clusterId: m.clusterId };
  }

  // ---- offsets ------------------------------------------------------------------------------------

  /** Per partition: the high watermark (`offset`, `high`) and the log start (`low`). */
  async fetchTopicOffsets(topic: string): Promise<PartitionOffsets[]> {
    checkTopicName(topic, 'fetchTopicOffsets', true);
    const info = await this.topicInfo(topic);
    return Promise.all(
      info.partitions.map(async (p) => {
        const high = await this.listOffset(topic, p.partition, LIST_OFFSETS_LATEST);
        const low = await this.listOffset(topic, p.partition, LIST_OFFSETS_EARLIEST);
        return { partition: p.partition, offset: high, high, low };
      }),
    );
  }

  /** Per partition: the first offset whose record timestamp is >= `timestamp` (ms), or the high watermark if none. */
  async fetchTopicOffsetsByTimestamp(topic: string, timestamp?: number): Promise<Array<{ partition: number; offset: number }>> {
    checkTopicName(topic, 'fetchTopicOffsetsByTimestamp', true);
    if (timestamp !== undefined && !(Number.isSafeInteger(timestamp) && timestamp >= 0)) throw new InvalidArgumentError(`timestamp must be ms since the epoch, got ${String(timestamp)}`);
    const info = await this.topicInfo(topic);
    return Promise.all(info.partitions.map(async (p) => ({ partition: p.partition, offset: await this.listOffset(topic, p.partition, timestamp ?? LIST_OFFSETS_LATEST) })));
  }

  // ---- configs ------------------------------------------------------------------------------------

  async describeConfigs(options: { readonly resources: readonly ConfigResourceRequest[]; readonly includeSynonyms?: boolean }): Promise<DescribeConfigsResult> {
    const resources = checkResources(options?.resources, 'describeConfigs');
    const response = await this.controller({ kind: 'describe-configs', resources: resources.map((r) => r.wireName) });
    const byName = new Map(response.resources.map((r) => [r.resource, r]));
    return {
      resources: resources.map(({ request, wireName }) => {
        const r = byName.get(wireName);
        if (r === undefined) throw new UnknownTopicError(`no configs returned for ${JSON.stringify(wireName)}`, false);
        if ('error' in r) throw metadataErrorOf(r);
        const wanted = request.configNames === undefined ? undefined : new Set(request.configNames);
        const configEntries = r.configs
          .filter((c) => wanted === undefined || wanted.has(c.name))
          .map((c): ConfigEntry => ({ configName: c.name, configValue: c.value, configSource: c.source, isDefault: c.source === 'default', readOnly: false, isSensitive: false }));
        return { resourceType: request.type, resourceName: request.name, configEntries };
      }),
    };
  }

  /** Incremental config changes (a null/absent value removes the override); one controller request per resource. */
  async alterConfigs(options: { readonly resources: readonly AlterConfigResource[]; readonly validateOnly?: boolean }): Promise<{ resources: Array<{ resourceType: ConfigResourceType; resourceName: string }> }> {
    const resources = checkResources(options?.resources, 'alterConfigs');
    const validateOnly = optionalBoolean(options.validateOnly, 'alterConfigs: validateOnly') ?? false;
    const changesOf = resources.map(({ request }, i) => {
      const entries = (request as AlterConfigResource).configEntries;
      if (!Array.isArray(entries) || entries.length === 0) throw new InvalidArgumentError(`alterConfigs: resources[${i}].configEntries must be a non-empty array`);
      return entries.map((e: { name: string; value?: string | null }, j: number) => {
        if (typeof e?.name !== 'string' || e.name.length === 0) throw new InvalidArgumentError(`alterConfigs: resources[${i}].configEntries[${j}].name must be a non-empty string`);
        if (e.value !== undefined && e.value !== null && typeof e.value !== 'string') throw new InvalidArgumentError(`alterConfigs: resources[${i}].configEntries[${j}].value must be a string or null`);
        return e.value === undefined || e.value === null ? { name: e.name } : { name: e.name, value: e.value };
      });
    });
    const out: Array<{ resourceType: ConfigResourceType; resourceName: string }> = [];
    for (const [i, { request, wireName }] of resources.entries()) {
      const response = await this.controller({ kind: 'alter-configs', resource: wireName, changes: changesOf[i]!, validateOnly });
      if ('error' in response) throw metadataErrorOf(response);
      out.push({ resourceType: request.type, resourceName: request.name });
    }
    return { resources: out };
  }

  // ---- consumer groups ----------------------------------------------------------------------------

  /** Every consumer group (each broker lists those it coordinates), sorted by id. */
  listGroups(): Promise<{ groups: GroupOverview[] }> {
    return this.groups.listGroups();
  }

  /** State, epochs, assignor and members (with assignment and target) of each group; a missing one is 'dead'. */
  describeGroups(groupIds: readonly string[]): Promise<{ groups: GroupDescription[] }> {
    return this.groups.describeGroups(groupIds);
  }

  /** Committed offsets (-1: none): of every partition of `topics`, or every committed one without. */
  fetchOffsets(options: { readonly groupId: string; readonly topics?: readonly string[] }): Promise<GroupTopicOffsets[]> {
    return this.groups.fetchOffsets(options);
  }

  /** Sets committed offsets of some partitions; only on an empty group (NonEmptyGroupError). */
  setOffsets(options: { readonly groupId: string; readonly topic: string; readonly partitions: ReadonlyArray<{ readonly partition: number; readonly offset: number | string }> }): Promise<void> {
    return this.groups.setOffsets(options);
  }

  /**
   * Moves every partition of a topic to the log start (`earliest: true`), to the first record at or
   * after `timestamp` (ms), or to the end (default); only on an empty group. Resolves with the new offsets.
   */
  resetOffsets(options: { readonly groupId: string; readonly topic: string; readonly earliest?: boolean; readonly timestamp?: number }): Promise<Array<{ partition: number; offset: number }>> {
    return this.groups.resetOffsets(options);
  }

  /** Deletes groups with their offsets; NonEmptyGroupError for one that has members. */
  deleteGroups(groupIds: readonly string[]): Promise<Array<{ groupId: string }>> {
    return this.groups.deleteGroups(groupIds);
  }

  // ---- quorum -------------------------------------------------------------------------------------

  /** The controller quorum as its Raft leader sees it (any broker forwards the request). */
  async describeQuorum(): Promise<QuorumDescription> {
    return this.retrying(async () => {
      const r = await this.cluster.requestAny('describe-quorum', {});
      if ('error' in r) throw metadataErrorOf(r);
      return { leaderId: r.leaderId, term: r.term, highWatermark: r.highWatermark, voters: r.voters, observers: r.observers };
    });
  }

  // ---- internals ----------------------------------------------------------------------------------

  private retrying<T>(operation: () => Promise<T>): Promise<T> {
    return withRetry({ clock: this.cluster.clock, random: this.cluster.random }, this.retry, operation);
  }

  /** One controller request, retried on whole-request retriable errors; per-item errors stay in the answer. */
  private controller<R extends AdminControllerRequest>(request: R, attempts?: { count: number }): Promise<ControllerResponses[R['kind']]> {
    return this.retrying(async () => {
      if (attempts !== undefined) attempts.count++;
      const answer = await this.cluster.requestAny('controller', request);
      const response = answer.response as object;
      // A whole-request ErrorResult names no item (alter-configs' per-resource errors carry `resource`).
      if ('error' in response && !('resource' in response)) throw metadataErrorOf(response as { error: string; message: string });
      if (answer.kind !== request.kind) throw toSkeinError('INVALID_REQUEST', `asked ${request.kind}, answered ${answer.kind}`, false);
      return response as ControllerResponses[R['kind']];
    });
  }

  private async topicInfo(topic: string): Promise<TopicInfo> {
    return this.retrying(() => this.cluster.topic(topic)).catch((e: unknown) => {
      const error = toSkeinError(e);
      throw error instanceof UnknownTopicError ? new UnknownTopicError(error.message, false) : error;
    });
  }

  /** list-offsets on the partition's leader, refetching metadata and retrying when leadership moved. */
  private listOffset(topic: string, partition: number, timestamp: number): Promise<number> {
    return withRetry({ clock: this.cluster.clock, random: this.cluster.random }, this.retry, async ({ attempt }) => {
      const info = await this.cluster.topic(topic, { refresh: attempt > 0 });
      const p = info.partitions[partition];
      if (p === undefined) throw new UnknownTopicError(`topic ${topic} has no partition ${partition}`);
      if (p.leader < 0) throw new LeaderNotAvailableError(`${topic}-${partition} has no leader right now`);
      const r = await this.cluster.request(p.leader, 'list-offsets', { topicId: info.topicId, partition, timestamp });
      if ('error' in r) throw partitionErrorOf(r);
      return r.offset;
    });
  }

  /** Polls metadata until every partition of `names` has a leader, or rejects after `timeoutMs`. */
  private async waitForLeaders(names: readonly string[], timeoutMs: number): Promise<void> {
    const deadline = this.cluster.clock.nowMs() + timeoutMs;
    let last: SkeinError | undefined;
    for (let attempt = 0; ; attempt++) {
      try {
        const m = await this.cluster.refreshMetadata(names);
        const ready = names.every((n) => {
          const t = m.topics.get(n);
          return t !== undefined && t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0);
        });
        if (ready) return;
      } catch (e) {
        last = toSkeinError(e);
        if (!last.retriable) throw last;
      }
      const left = deadline - this.cluster.clock.nowMs();
      if (left <= 0) throw new RequestTimedOutError(`topics ${names.join(', ')} were created, but not every partition had a leader within ${timeoutMs} ms${last === undefined ? '' : ` (${last.message})`}`, false);
      await sleep(this.cluster.clock, Math.min(left, backoffMs({ ...this.retry, maxRetryTimeMs: 500 }, attempt, this.cluster.random)));
    }
  }
}

// ---- input checks ---------------------------------------------------------------------------------

function checkTopicName(topic: unknown, where: string, allowInternal = false): string {
  if (typeof topic !== 'string') throw new InvalidArgumentError(`${where}: topic must be a string, got ${topic === null ? 'null' : typeof topic}`);
  const problem = validateTopicName(topic, { allowInternal });
  if (problem !== undefined) throw new InvalidArgumentError(`${where}: ${problem}`);
  return topic;
}

/** Maps a non-empty array of items naming topics, refusing a topic named twice. */
function checkTopicList<T, R>(items: readonly T[] | undefined, call: string, check: (item: T, index: number) => R): R[] {
  if (!Array.isArray(items) || items.length === 0) throw new InvalidArgumentError(`${call}: a non-empty array of topics is required`);
  const out = items.map((item, i) => check(item, i));
  const names = out.map((r) => (typeof r === 'string' ? r : (r as { name: string }).name));
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup !== undefined) throw new InvalidArgumentError(`${call}: topic ${JSON.stringify(dup)} appears more than once`);
  return out;
}

function optionalCount(value: unknown, what: string): number {
  if (value === undefined || value === -1) return -1;
  if (!(typeof value === 'number' && Number.isSafeInteger(value) && value >= 1 && value <= 0x7fff_ffff)) throw new InvalidArgumentError(`${what} must be a positive integer, got ${String(value)}`);
  return value;
}

function optionalBoolean(value: unknown, what: string): boolean | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'boolean') throw new InvalidArgumentError(`${what} must be a boolean, got ${String(value)}`);
  return value;
}

function optionalTimeout(value: unknown, what: string): number | undefined {
  if (value === undefined) return undefined;
  if (!(typeof value === 'number' && Number.isSafeInteger(value) && value > 0)) throw new InvalidArgumentError(`${what} must be a positive integer of ms, got ${String(value)}`);
  return value;
}

function configRecord(entries: unknown, what: string): Record<string, string> | undefined {
  if (entries === undefined) return undefined;
  if (!Array.isArray(entries)) throw new InvalidArgumentError(`${what} must be an array of { name, value }`);
  const out: Record<string, string> = {};
  for (const [i, e] of (entries as unknown[]).entries()) {
    const entry = e as { name?: unknown; value?: unknown } | null;
    if (typeof entry?.name !== 'string' || entry.name.length === 0) throw new InvalidArgumentError(`${what}[${i}].name must be a non-empty string`);
    if (typeof entry.value !== 'string') throw new InvalidArgumentError(`${what}[${i}].value must be a string (Kafka configs travel as strings), got ${typeof entry.value}`);
    if (Object.hasOwn(out, entry.name)) throw new InvalidArgumentError(`${what}: ${entry.name} appears more than once`);
    out[entry.name] = entry.value;
  }
  return out;
}

function checkResources<T extends { readonly type: ConfigResourceType; readonly name: string }>(resources: readonly T[] | undefined, call: string): Array<{ request: T; wireName: string }> {
  if (!Array.isArray(resources) || resources.length === 0) throw new InvalidArgumentError(`${call}: a non-empty array of resources is required`);
  return resources.map((r, i) => {
    if (r?.type === ConfigResourceType.CLUSTER) return { request: r, wireName: '' };
    if (r?.type !== ConfigResourceType.TOPIC) throw new InvalidArgumentError(`${call}: resources[${i}].type must be ConfigResourceType.TOPIC (2) or CLUSTER (4), got ${String(r?.type)}`);
    return { request: r, wireName: checkTopicName(r.name, `${call}: resources[${i}]`, true) };
  });
}
