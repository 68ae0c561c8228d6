/**
 * The client's view of the cluster: broker connections and metadata (Kafka's `Metadata` +
 * `NetworkClient`, KafkaJS's `Cluster`). Every producer, consumer and admin owns one.
 *
 * Metadata discovery: `connect()` asks the seed brokers (in order, first that answers) for the broker
 * list; later requests go to the endpoints that metadata lists, the seeds being only the fallback
 * when no listed broker answers. Topic metadata is fetched per topic on demand (`topic()`), cached, and
 * refetched when a caller `invalidate`s it (NOT_LEADER_OR_FOLLOWER, UNKNOWN_TOPIC_OR_PARTITION, a
 * fenced or unknown leader epoch), after any connection loss, and once it is older than
 * `metadataMaxAgeMs` (Kafka's metadata.max.age.ms).
 *
 * Invariants:
 * - At most one connection per broker URL, opened lazily on first use and reopened on the next use
 *   after it closed. Opening is single-flight: concurrent requests share one attempt.
 * - Everything this class rejects with is a `SkeinError` (wire failures through `toSkeinError`).
 *   Error answers inside a response (`{ error, message }`) are values, returned to the caller.
 * - Metadata refreshes are single-flight per topic set: concurrent `topic()` calls for an unknown
 *   topic share one metadata request.
 * - After `close()`, every call rejects with NotConnectedError and no connection is (re)opened.
 *
 * Browser-safe: no Node-only APIs (the connection itself comes from net/client-connection.ts).
 */
import type { Clock } from '../util/clock.js';
import { debugLoggers, type Logger } from '../util/log.js';
import type { Random } from '../util/random.js';
import { openConnection } from '../net/client-connection.js';
import { DEFAULT_CONNECTION_LIMITS, type Connection } from '../net/connection.js';
import type { MetadataResponse, RequestKind, RequestMap } from '../net/protocol.js';
import { BrokerNotAvailableError, ConnectionError, InvalidArgumentError, NotConnectedError, SkeinError, UnknownTopicError, toSkeinError } from './errors.js';
import { mathRandom, realClientClock } from './retry.js';
import { Semaphore } from './consumer-sync.js';

export interface ClusterOptions {
  /** Seed broker URLs (`ws://host:port`); at least one. */
  readonly brokers: readonly string[];
  readonly clientId: string;
  /** Socket open plus handshake, per attempt; default 10000. */
  readonly connectTimeoutMs?: number;
  /** How long a request waits for its answer unless the call says otherwise; default 30000. */
  readonly requestTimeoutMs?: number;
  /** Topic metadata older than this is refetched on next use; default 300000 (Kafka's metadata.max.age.ms). */
  readonly metadataMaxAgeMs?: number;
  readonly clock?: Clock;
  readonly random?: Random;
  readonly logger?: Logger;
}

export interface PartitionInfo {
  readonly partition: number;
  /** -1: no leader right now. */
  readonly leader: number;
  readonly leaderEpoch: number;
  readonly replicas: readonly number[];
  readonly isr: readonly number[];
}

export interface TopicInfo {
  readonly name: string;
  readonly topicId: string;
  /** Sorted by partition number; index i is partition i. */
  readonly partitions: readonly PartitionInfo[];
}

export interface BrokerInfo {
  readonly id: number;
  /** The client endpoint. */
  readonly url: string;
  readonly rack: string;
  readonly fenced: boolean;
}

export interface ClusterMetadata {
  readonly clusterId: string;
  /** -1: no active controller known. */
  readonly controllerId: number;
  readonly brokers: readonly BrokerInfo[];
  /** The topics fetched so far (those asked for); a topic the cluster does not have is absent. */
  readonly topics: ReadonlyMap<string, TopicInfo>;
}

export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
export const DEFAULT_CLUSTER_CONNECT_TIMEOUT_MS = 10_000;
export const DEFAULT_METADATA_MAX_AGE_MS = 300_000;
const CLIENT_ENDPOINT = 'client';

/** The client endpoint of a metadata broker entry (the one named 'client', else the first). */
function clientUrl(b: MetadataResponse['brokers'][number]): string | undefined {
  return (b.endpoints.find((e) => e.name === CLIENT_ENDPOINT) ?? b.endpoints[0])?.url;
}

export class Cluster {
  readonly clientId: string;
  readonly requestTimeoutMs: number;
  readonly clock: Clock;
  readonly random: Random;
  private readonly seeds: readonly string[];
  private readonly connectTimeoutMs: number;
  private readonly metadataMaxAgeMs: number;
  private readonly log: Logger;
  /** Open (or opening) connections by URL. */
  private readonly connections = new Map<string, Promise<Connection>>();
  /**
   * Requests in flight per broker URL, at most the connection's own bound: callers beyond it wait
   * their turn here (first come, first served) instead of failing TOO_MANY_REQUESTS locally — a
   * producer writing to many partitions of one broker easily has more than that in flight.
   */
  private readonly slots = new Map<string, Semaphore>();
  private clusterId = '';
  private controllerId = -1;
  private brokers: BrokerInfo[] = [];
  private readonly topics = new Map<string, TopicInfo>();
  /** When each cached topic was fetched (clock ms). */
  private readonly fetchedAtMs = new Map<string, number>();
  /** Topics whose cached metadata must be refetched on next use. */
  private readonly stale = new Set<string>();
  /** In-flight metadata refreshes, by the sorted topic list they fetch. */
  private readonly refreshing = new Map<string, Promise<ClusterMetadata>>();
  private connected = false;
  private closed = false;
  /** Rotates requestAny's first choice so load spreads. */
  private nextAny = 0;

  constructor(options: ClusterOptions) {
    if (!Array.isArray(options.brokers) || options.brokers.length === 0) throw new InvalidArgumentError('brokers must list at least one broker URL');
    for (const url of options.brokers) {
      if (typeof url !== 'string' || !/^wss?:\/\/./.test(url)) throw new InvalidArgumentError(`broker URL must start with ws:// or wss://, got ${JSON.stringify(url)}`);
    }
    if (typeof options.clientId !== 'string') throw new InvalidArgumentError('clientId must be a string');
    this.seeds = [...options.brokers];
    this.clientId = options.clientId;
    this.connectTimeoutMs = positive(options.connectTimeoutMs, DEFAULT_CLUSTER_CONNECT_TIMEOUT_MS, 'connectTimeoutMs');
    this.requestTimeoutMs = positive(options.requestTimeoutMs, DEFAULT_REQUEST_TIMEOUT_MS, 'requestTimeoutMs');
    this.metadataMaxAgeMs = positive(options.metadataMaxAgeMs, DEFAULT_METADATA_MAX_AGE_MS, 'metadataMaxAgeMs');
    this.clock = options.clock ?? realClientClock;
    this.random = options.random ?? mathRandom;
    this.log = options.logger ?? debugLoggers('skein:client:cluster');
  }

  get isConnected(): boolean {
    return this.connected && !this.closed;
  }

  /** Connects to the first seed broker that answers and fetches the broker list. Idempotent. */
  async connect(): Promise<void> {
    if (this.closed) throw new NotConnectedError('the cluster client was closed');
    if (this.connected) return;
    let lastError: SkeinError | undefined;
    for (const url of this.seeds) {
      try {
        const response = await this.requestUrl(url, 'metadata', { topics: [] }, {});
        this.absorb(response, []);
        this.connected = true;
        this.log('connected through %s: cluster %s, brokers %o', url, this.clusterId, this.brokers.map((b) => b.id));
        return;
      } catch (e) {
        lastError = toSkeinError(e);
        this.log('seed %s: %s', url, lastError.message);
      }
    }
    throw new BrokerNotAvailableError(`no seed broker answered (${this.seeds.join(', ')}): ${lastError?.message ?? 'no attempt'}`, true, { cause: lastError });
  }

  /** The last metadata fetched, or undefined before `connect()`. The caller must not rely on it staying current. */
  metadata(): ClusterMetadata | undefined {
    if (!this.connected) return undefined;
    return this.snapshot();
  }

  /**
   * A topic's metadata: from the cache unless unknown, invalidated, older than metadataMaxAgeMs, or
   * `refresh` is set — then refetched once. Rejects with UnknownTopicError (retriable: it may have
   * just been created and not reached this broker yet) when the cluster does not know it.
   */
  async topic(name: string, options: { readonly refresh?: boolean } = {}): Promise<TopicInfo> {
    this.checkOpen();
    const cached = this.topics.get(name);
    if (cached !== undefined && options.refresh !== true && !this.isStale(name)) return cached;
    await this.refreshMetadata([name]);
    const fresh = this.topics.get(name);
    if (fresh === undefined) throw new UnknownTopicError(`unknown topic ${JSON.stringify(name)}`);
    return fresh;
  }

  /**
   * Fetches metadata for `topics` (default: every topic fetched before) and the broker list, and
   * merges it into the cache: topics the answer says do not exist are dropped from it.
   */
  refreshMetadata(topics?: readonly string[]): Promise<ClusterMetadata> {
    this.checkOpen();
    const names = [...new Set(topics ?? this.topics.keys())].sort();
    const key = JSON.stringify(names);
    const running = this.refreshing.get(key);
    if (running !== undefined) return running;
    const promise = (async () => {
      try {
        const response = await this.requestAny('metadata', { topics: names });
        this.absorb(response, names);
        this.connected = true;
        return this.snapshot();
      } finally {
        this.refreshing.delete(key);
      }
    })();
    this.refreshing.set(key, promise);
    return promise;
  }

  /** Marks a topic's metadata (or, without a name, all of it) stale: the next `topic()` refetches. */
  invalidate(topic?: string): void {
    if (topic === undefined) for (const name of this.topics.keys()) this.stale.add(name);
    else this.stale.add(topic);
  }

  /** The broker's client URL, if the metadata lists it. */
  brokerUrl(brokerId: number): string | undefined {
    return this.brokers.find((b) => b.id === brokerId)?.url;
  }

  /**
   * One request to a broker, over its (lazily opened) connection. Rejects with a SkeinError:
   * BrokerNotAvailableError when the metadata does not list the broker, ConnectionError when the
   * connection cannot be opened or drops (metadata is then marked stale), RequestTimedOutError...
   */
  async request<K extends RequestKind>(brokerId: number, kind: K, body: RequestMap[K]['request'], options: { readonly timeoutMs?: number } = {}): Promise<RequestMap[K]['response']> {
    this.checkOpen();
    let url = this.brokerUrl(brokerId);
    if (url === undefined) {
      await this.refreshMetadata();
      url = this.brokerUrl(brokerId);
      if (url === undefined) throw new BrokerNotAvailableError(`broker ${brokerId} is not in the cluster metadata`);
    }
    return this.requestUrl(url, kind, body, options);
  }

  /**
   * One request to any live broker: one with an open connection first, then the other brokers the
   * metadata lists (unfenced first), then the seeds. Moves on to the next only when a connection
   * cannot be opened or is lost; any other failure rejects at once.
   */
  async requestAny<K extends RequestKind>(kind: K, body: RequestMap[K]['request'], options: { readonly timeoutMs?: number } = {}): Promise<RequestMap[K]['response']> {
    this.checkOpen();
    let lastError: SkeinError | undefined;
    for (const url of this.candidateUrls()) {
      try {
        return await this.requestUrl(url, kind, body, options);
      } catch (e) {
        const error = toSkeinError(e);
        if (!(error instanceof ConnectionError) && error.code !== 'REQUEST_TIMED_OUT') throw error;
        lastError = error;
      }
    }
    throw lastError instanceof SkeinError ? lastError : new BrokerNotAvailableError('no broker could be reached');
  }

  /** Closes every connection; later calls reject with NotConnectedError. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.connected = false;
    const all = [...this.connections.values()];
    this.connections.clear();
    await Promise.all(all.map((p) => p.then((c) => c.close('client closed'), () => undefined)));
  }

  // ---- internals ----------------------------------------------------------------------------------

  private checkOpen(): void {
    if (this.closed) throw new NotConnectedError('the cluster client was closed');
  }

  private isStale(name: string): boolean {
    if (this.stale.has(name)) return true;
    const at = this.fetchedAtMs.get(name);
    return at === undefined || this.clock.nowMs() - at > this.metadataMaxAgeMs;
  }

  private snapshot(): ClusterMetadata {
    return { clusterId: this.clusterId, controllerId: this.controllerId, brokers: [...this.brokers], topics: new Map(this.topics) };
  }

  /** Merges a metadata answer for `asked` topics into the cache. */
  private absorb(response: MetadataResponse, asked: readonly string[]): void {
    const now = this.clock.nowMs();
    this.clusterId = response.clusterId;
    this.controllerId = response.controllerId;
    const brokers: BrokerInfo[] = [];
    for (const b of response.brokers) {
      const url = clientUrl(b);
      if (url !== undefined) brokers.push({ id: b.id, url, rack: b.rack, fenced: b.fenced });
    }
    // An answer from a node that has not caught up yet may list no brokers: keep what we knew.
    if (brokers.length > 0 || this.brokers.length === 0) this.brokers = brokers.sort((a, b) => a.id - b.id);
    const answered = new Set<string>();
    for (const t of response.topics) {
      answered.add(t.name);
      this.stale.delete(t.name);
      if ('error' in t) {
        this.topics.delete(t.name);
        this.fetchedAtMs.delete(t.name);
        continue;
      }
      const partitions = [...t.partitions]
        .sort((a, b) => a.partition - b.partition)
        .map((p): PartitionInfo => ({ partition: p.partition, leader: p.leader, leaderEpoch: p.leaderEpoch, replicas: [...p.replicas], isr: [...p.isr] }));
      this.topics.set(t.name, { name: t.name, topicId: t.topicId, partitions });
      this.fetchedAtMs.set(t.name, now);
    }
    for (const name of asked) {
      if (answered.has(name)) continue;
      this.topics.delete(name);
      this.fetchedAtMs.delete(name);
      this.stale.delete(name);
    }
  }

  /** URLs to try for requestAny, best first, without duplicates. */
  private candidateUrls(): string[] {
    const live = this.brokers.filter((b) => !b.fenced).map((b) => b.url);
    const fenced = this.brokers.filter((b) => b.fenced).map((b) => b.url);
    const known = [...live, ...fenced];
    // Rotate the known brokers so requests spread; an open connection still goes first.
    const start = known.length === 0 ? 0 : this.nextAny++ % known.length;
    const rotated = [...known.slice(start), ...known.slice(0, start)];
    const open = rotated.filter((url) => this.connections.has(url));
    return [...new Set([...open, ...rotated, ...this.seeds])];
  }

  private async requestUrl<K extends RequestKind>(url: string, kind: K, body: RequestMap[K]['request'], options: { readonly timeoutMs?: number }): Promise<RequestMap[K]['response']> {
    let slots = this.slots.get(url);
    if (slots === undefined) {
      slots = new Semaphore(DEFAULT_CONNECTION_LIMITS.maxInFlightRequests);
      this.slots.set(url, slots);
    }
    const release = await slots.acquire();
    try {
      const connection = await this.connection(url);
      try {
        return await connection.request(kind, body, { timeoutMs: options.timeoutMs ?? this.requestTimeoutMs });
      } catch (e) {
        const error = toSkeinError(e);
        if (error instanceof ConnectionError || !connection.isOpen) {
          // Leadership may have moved with the broker: refetch topic metadata on next use.
          this.invalidate();
        }
        throw error;
      }
    } finally {
      release();
    }
  }

  /** The open connection to `url`, opening one if needed (single-flight). */
  private async connection(url: string): Promise<Connection> {
    this.checkOpen();
    const existing = this.connections.get(url);
    if (existing !== undefined) {
      const c = await existing.catch(() => undefined);
      if (c !== undefined && c.isOpen) return c;
      if (this.connections.get(url) === existing) this.connections.delete(url);
      return this.connection(url);
    }
    const opening = openConnection({ url, clientId: this.clientId, connectTimeoutMs: this.connectTimeoutMs, clock: this.clock, limits: { requestTimeoutMs: this.requestTimeoutMs } });
    this.connections.set(url, opening);
    try {
      const c = await opening;
      if (this.closed) {
        c.close('client closed');
        throw new NotConnectedError('the cluster client was closed');
      }
      c.closed.then(
        () => {
          if (this.connections.get(url) === opening) this.connections.delete(url);
        },
        () => undefined,
      );
      return c;
    } catch (e) {
      if (this.connections.get(url) === opening) this.connections.delete(url);
      this.invalidate();
      const error = toSkeinError(e);
      // A connect that timed out is a lost connection as far as the caller is concerned.
      if (error.code === 'REQUEST_TIMED_OUT') throw new ConnectionError(`cannot connect to ${url}: ${error.message}`, true, { cause: error });
      throw error;
    }
  }
}

function positive(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!(Number.isFinite(value) && value > 0)) throw new InvalidArgumentError(`${name} must be a positive number of ms, got ${value}`);
  return value;
}
