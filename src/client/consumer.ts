/**
 * The consumer (KafkaJS-shaped, DESIGN.md §8), in one of two modes:
 * - manual assignment: `assign` partitions, choose where each starts (the log start, the end, a
 *   timestamp, or `seek`), then `run({ eachMessage })` or `run({ eachBatch })`;
 * - a consumer group (`groupId`): `subscribe`, then `run`: the group's coordinator decides the
 *   assignment and committed offsets the start positions (group-session.ts: membership, reconciliation
 *   and commits, at-least-once). Everything below the assignment is the same in both modes.
 *
 * How it fetches: one loop per assigned partition, each with at most one fetch in flight — a long poll
 * (`maxWaitTimeInMs`, `minBytes`) to the partition's leader — and at most one fetch answer held, so
 * buffering is bounded by the partitions assigned times `maxBytes`. Fetches in flight per broker are
 * capped too (`maxInFlightFetchesPerBroker`), below the connection's request limit. (The wire's fetch
 * names one partition, so there is no multi-partition fetch per broker to share.)
 *
 * Invariants (per partition, within one run):
 * - Messages are handed over strictly in offset order, one callback at a time, never at or above the
 *   high watermark of the answer they came in, each at most once — unless the position is moved by
 *   the user (`seek`, eachBatch without resolving), by an out-of-range reset, or by a detected
 *   truncation (reported, see below).
 * - The position advances only once the callback for a message resolved (eachMessage), or as
 *   `resolveOffset` / auto-resolve says (eachBatch). A callback that throws stops the run: CRASH event
 *   with the error as thrown; the position stays at that message.
 * - Every record batch is checked (framing, CRC-32C) before any of its records is handed over; a
 *   corrupt one is never delivered: the records before it are, then the run crashes with a
 *   CorruptMessageError naming the offset.
 * - A retriable failure (leader moved, epoch fenced or unknown, unknown partition, lost connection,
 *   timeout, storage error on the leader) never surfaces: metadata is invalidated and the same
 *   position is fetched again after a backoff (`retry`, default 100 ms doubling to 1 s, jittered).
 * - Truncation (KIP-320): each fetch carries the leader epoch of the last record consumed and the
 *   leader epoch from metadata. When the leader answers that the log diverged below the position, the
 *   consumer emits TRUNCATION { fromOffset, toOffset, leaderEpoch } and continues from toOffset (Kafka's
 *   behaviour with a reset policy); with autoOffsetReset 'none' the run crashes with a
 *   LogTruncationError instead (Kafka's LogTruncationException), leaving the position for a `seek`.
 * - OFFSET_OUT_OF_RANGE resets the position by the policy (OFFSET_RESET event), or with 'none'
 *   crashes with OffsetOutOfRangeError.
 *
 * Stopping: `stop()` (and `disconnect()`) resolve once no callback will start any more; they do not
 * wait for a callback already running, so they may be awaited from inside eachMessage. Such a
 * callback still counts once it resolves; `run()` again waits for it before fetching. In a group,
 * `stop()` (and a crash) also commit the positions (autoCommit) and leave the group, and `disconnect()`
 * first waits for running callbacks so what they processed is committed — so in a group, do not await
 * `disconnect()` inside eachMessage (`stop()` is fine).
 *
 * Browser-safe: no Node-only APIs.
 */
import type { FetchPartitionRequest, RequestMap } from '../net/protocol.js';
import { debugLoggers, type Logger } from '../util/log.js';
import type { Cluster, PartitionInfo } from './cluster.js';
import {
  CorruptMessageError,
  InvalidArgumentError,
  LeaderNotAvailableError,
  LogTruncationError,
  MessageTooLargeError,
  NotConnectedError,
  SkeinError,
  UnknownLeaderEpochError,
  UnknownTopicError,
  partitionErrorOf,
  toSkeinError,
} from './errors.js';
import { PartitionFetchState, type OffsetResetPolicy, type StartPosition } from './consumer-partition.js';
import { createBatch, readFetchedRecords, type FetchedBatch, type FetchedRecords } from './consumer-records.js';
import { Semaphore, Signal, type Release } from './consumer-sync.js';
import {
  ConsumerEvents,
  type ConsumerEvent,
  type ConsumerEventListener,
  type ConsumerEventName,
  type ConsumerEventPayloads,
  type ConsumerOptions,
  type ConsumerRunConfig,
  type TopicAssignment,
  type SubscribeOptions,
  type TopicPartitionList,
  type TopicPartitionOffset,
  type TopicPartitions,
} from './consumer-types.js';
import { backoffMs, resolveRetryOptions, type ResolvedRetryOptions } from './retry.js';
import { GroupCoordinator } from './group-coordinator.js';
import { resolveGroupOptions, type GroupOptions } from './group-options.js';
import { partitionKey } from './group-partitions.js';
import { GroupSession, type ConsumerEngine } from './group-session.js';

/** What the consumer uses of a Cluster (a test can hand it a fake). */
export type ConsumerCluster = Pick<Cluster, 'connect' | 'topic' | 'invalidate' | 'request' | 'requestAny' | 'close' | 'clock' | 'random' | 'requestTimeoutMs' | 'clientId'>;

export const DEFAULT_MAX_WAIT_TIME_MS = 500;
export const DEFAULT_MIN_BYTES = 1;
export const DEFAULT_MAX_BYTES = 1024 * 1024;
export const DEFAULT_MAX_BATCH_BYTES = 15 * 1024 * 1024;
export const DEFAULT_MAX_IN_FLIGHT_FETCHES_PER_BROKER = 64;
const DEFAULT_FETCH_RETRY = { initialRetryTimeMs: 100, maxRetryTimeMs: 1000, multiplier: 2, factor: 0.2 } as const;
const INT32_MAX = 0x7fff_ffff;

/** list-offsets' special timestamps. */
const EARLIEST_TIMESTAMP = -2;
const LATEST_TIMESTAMP = -1;

type FetchResponse = RequestMap['fetch']['response'];

/** Thrown inside a loop when a wait was cut short by a stop or a change of the partition's state. */
class Abandoned {}
const ABANDONED = new Abandoned();

/** A user callback's failure, kept apart from fetch errors (it is never retried, and crashes as thrown). */
class CallbackFailed {
  constructor(readonly error: Error) {}
}

interface RunState {
  readonly eachMessage: ConsumerRunConfig['eachMessage'];
  readonly eachBatch: ConsumerRunConfig['eachBatch'];
  readonly autoResolve: boolean;
  readonly deliverySlots: Semaphore;
  stopped: boolean;
  readonly stop: Signal;
  readonly loops: Set<Promise<void>>;
}

interface ResolvedOptions {
  readonly maxWaitMs: number;
  readonly minBytes: number;
  readonly maxBytes: number;
  readonly maxBatchBytes: number;
  readonly autoOffsetReset: OffsetResetPolicy | undefined;
  readonly maxInFlightFetchesPerBroker: number;
  readonly retry: ResolvedRetryOptions;
}

/** The same key as the group code's (group-partitions.ts). */
const stateKey = partitionKey;

function asError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}

export class Consumer {
  /** The event names, as KafkaJS's `consumer.events`. */
  readonly events = ConsumerEvents;
  private readonly options: ResolvedOptions;
  private readonly log: Logger;
  /** Assigned partitions, in assignment order. */
  private readonly states = new Map<string, PartitionFetchState>();
  private current: RunState | undefined;
  /** User callbacks still running, of any run (a new run waits for them). */
  private readonly callbacks = new Set<Promise<void>>();
  private readonly brokerSlots = new Map<number, Semaphore>();
  private readonly listeners = new Map<ConsumerEventName, Set<ConsumerEventListener<ConsumerEventName>>>();
  private eventId = 0;
  private connected = false;
  /** Callbacks still running, by partition key (a partition is released only once its own settled). */
  private readonly runningByKey = new Map<string, Set<Promise<void>>>();
  // ---- Group mode (undefined / empty with manual assignment) ----
  private readonly groupOptions: GroupOptions | undefined;
  /** Subscribed topics, each with fromBeginning. */
  private readonly subscription = new Map<string, boolean>();
  /** Random, stable for this consumer's life (the contract: the client picks it). */
  private readonly memberId: string;
  private coordinator: GroupCoordinator | undefined;
  private session: GroupSession | undefined;
  /** The last session's close (stop, crash): a new run waits for it. */
  private sessionClosed: Promise<void> = Promise.resolve();
  /** Partitions being revoked: paused by the group, which the application must not resume. */
  private readonly revoking = new Set<PartitionFetchState>();

  constructor(
    private readonly cluster: ConsumerCluster,
    options: ConsumerOptions = {},
  ) {
    this.options = resolveOptions(options);
    this.groupOptions = resolveGroupOptions(options);
    this.log = options.logger ?? debugLoggers('skein:client:consumer');
    this.memberId = randomMemberId(cluster.random);
  }

  // ---- Lifecycle ----------------------------------------------------------------------------------

  /** Connects to the cluster (fetches the broker list). */
  async connect(): Promise<void> {
    await this.cluster.connect();
    this.connected = true;
    this.emit(ConsumerEvents.CONNECT, {});
  }

  /**
   * Stops the run (if any) and closes every connection. In a group: waits for running callbacks,
   * commits the positions (autoCommit) and leaves the group first.
   */
  async disconnect(): Promise<void> {
    const run = this.current;
    if (run !== undefined && this.halt(run)) this.emit(ConsumerEvents.STOP, {});
    this.endSession(true);
    await this.stop();
    const wasConnected = this.connected;
    this.connected = false;
    await this.cluster.close();
    if (wasConnected) this.emit(ConsumerEvents.DISCONNECT, {});
  }

  /**
   * Starts handing over messages of the assigned partitions (and of any assigned later). Resolves
   * once started, as KafkaJS's run; failures arrive as the CRASH event. Rejects with
   * InvalidArgumentError on a bad config or while a run is going on, NotConnectedError before connect.
   */
  async run(config: ConsumerRunConfig): Promise<void> {
    this.checkConnected();
    const { eachMessage, eachBatch } = config;
    if ((eachMessage === undefined) === (eachBatch === undefined)) throw new InvalidArgumentError('run() needs exactly one of eachMessage and eachBatch');
    if (eachMessage !== undefined && typeof eachMessage !== 'function') throw new InvalidArgumentError('eachMessage must be a function');
    if (eachBatch !== undefined && typeof eachBatch !== 'function') throw new InvalidArgumentError('eachBatch must be a function');
    const concurrency = config.partitionsConsumedConcurrently ?? 1;
    if (!(Number.isSafeInteger(concurrency) && concurrency >= 1)) throw new InvalidArgumentError(`partitionsConsumedConcurrently must be a positive integer, got ${concurrency}`);
    if (this.isRunning()) throw new InvalidArgumentError('the consumer is already running');
    if (this.groupOptions !== undefined && this.subscription.size === 0) throw new InvalidArgumentError('subscribe({ topics }) before run() in a consumer group');
    // A callback of an earlier run may still be settling (stop() does not wait for it): its position
    // must be final before this run fetches, or its partition would be handed over twice at once.
    await Promise.allSettled([...this.callbacks]);
    // An earlier group session (stopped or crashed) must have left before this one joins.
    await this.sessionClosed;
    if (this.isRunning()) throw new InvalidArgumentError('the consumer is already running');
    const run: RunState = {
      eachMessage,
      eachBatch,
      autoResolve: config.eachBatchAutoResolve ?? config.autoResolve ?? true,
      deliverySlots: new Semaphore(concurrency),
      stopped: false,
      stop: new Signal(),
      loops: new Set(),
    };
    this.current = run;
    for (const state of this.states.values()) this.startLoop(run, state);
    if (this.groupOptions !== undefined) this.startSession(this.groupOptions);
  }

  /** Stops the run: no callback starts after this resolves (one already running may finish later). */
  async stop(): Promise<void> {
    const run = this.current;
    if (run === undefined) return;
    if (this.halt(run)) this.emit(ConsumerEvents.STOP, {});
    this.endSession(false);
    await Promise.all([...run.loops]);
    await this.sessionClosed;
  }

  /** Whether a run is going on (started, not stopped or crashed). */
  isRunning(): boolean {
    return this.current !== undefined && !this.current.stopped;
  }

  // ---- Assignment and positions -------------------------------------------------------------------

  /**
   * Sets the assignment (replacing the previous one, as Kafka's assign). Partitions that stay assigned
   * keep their position; new ones start as their entry says (`fromTimestamp`, else `fromBeginning`,
   * else the end). Rejects with UnknownTopicError for a topic the cluster does not have,
   * InvalidArgumentError for a partition it does not have or bad input.
   */
  async assign(assignments: readonly TopicAssignment[]): Promise<void> {
    this.checkConnected();
    if (this.groupOptions !== undefined) throw new InvalidArgumentError('a consumer in a group gets its partitions from the group: use subscribe()');
    if (!Array.isArray(assignments)) throw new InvalidArgumentError('assign() takes an array of { topic, partitions? }');
    const wanted = new Map<string, { topic: string; partition: number; start: StartPosition; resetPolicy: OffsetResetPolicy }>();
    for (const a of assignments) {
      checkTopic(a?.topic);
      if (a.fromTimestamp !== undefined && !(Number.isSafeInteger(a.fromTimestamp) && a.fromTimestamp >= 0)) {
        throw new InvalidArgumentError(`fromTimestamp must be a non-negative integer (ms), got ${String(a.fromTimestamp)}`);
      }
      if (a.partitions !== undefined && !Array.isArray(a.partitions)) throw new InvalidArgumentError('partitions must be an array of partition numbers');
      for (const p of a.partitions ?? []) checkPartition(p);
      const info = await this.cluster.topic(a.topic);
      const partitions = a.partitions ?? info.partitions.map((p) => p.partition);
      for (const p of partitions) {
        if (!info.partitions.some((x) => x.partition === p)) {
          throw new InvalidArgumentError(`topic ${JSON.stringify(a.topic)} has no partition ${p} (it has ${info.partitions.length})`);
        }
      }
      const start: StartPosition =
        a.fromTimestamp !== undefined ? { kind: 'timestamp', timestampMs: a.fromTimestamp } : a.fromBeginning === true ? { kind: 'earliest' } : { kind: 'latest' };
      const resetPolicy = this.options.autoOffsetReset ?? (a.fromBeginning === true ? 'earliest' : 'latest');
      for (const partition of partitions) wanted.set(stateKey(a.topic, partition), { topic: a.topic, partition, start, resetPolicy });
    }
    for (const [key, state] of this.states) {
      if (wanted.has(key)) continue;
      state.unassign();
      this.states.delete(key);
    }
    for (const [key, w] of wanted) {
      const existing = this.states.get(key);
      if (existing !== undefined) {
        if (existing.position === undefined) existing.start = w.start;
        continue;
      }
      const state = new PartitionFetchState(w.topic, w.partition, w.start, w.resetPolicy, this.options.maxBytes);
      this.states.set(key, state);
      const run = this.current;
      if (run !== undefined && !run.stopped) this.startLoop(run, state);
    }
  }

  /** The assigned partitions, by topic. */
  assignment(): TopicPartitionList[] {
    return this.group([...this.states.values()]);
  }

  /**
   * Moves a partition's position: the next message handed over is the one at `offset` (or the first
   * after it). Takes effect at once, also during a run: messages of the old position still in hand are
   * dropped. Throws InvalidArgumentError for a partition that is not assigned.
   */
  seek({ topic, partition, offset }: { readonly topic: string; readonly partition: number; readonly offset: number | string }): void {
    const state = this.assigned(topic, partition);
    const value = typeof offset === 'string' && /^\d+$/.test(offset) ? Number(offset) : offset;
    if (!(typeof value === 'number' && Number.isSafeInteger(value) && value >= 0)) throw new InvalidArgumentError(`offset must be a non-negative integer, got ${String(offset)}`);
    state.seek(value);
  }

  /** Moves a partition to the first record with a timestamp >= `timestamp` (ms), or the end if none. */
  seekToTimestamp({ topic, partition, timestamp }: { readonly topic: string; readonly partition: number; readonly timestamp: number }): void {
    const state = this.assigned(topic, partition);
    if (!(Number.isSafeInteger(timestamp) && timestamp >= 0)) throw new InvalidArgumentError(`timestamp must be a non-negative integer (ms), got ${String(timestamp)}`);
    state.resetTo({ kind: 'timestamp', timestampMs: timestamp });
  }

  /** The next offset to hand over, or undefined while the start position is not resolved yet. */
  position({ topic, partition }: { readonly topic: string; readonly partition: number }): number | undefined {
    return this.assigned(topic, partition).position;
  }

  /** Stops handing over and fetching the given partitions (all assigned ones of a topic without `partitions`). */
  pause(topics: readonly TopicPartitions[]): void {
    for (const state of this.select(topics)) state.setPaused(true);
  }

  resume(topics: readonly TopicPartitions[]): void {
    for (const state of this.select(topics)) if (!this.revoking.has(state)) state.setPaused(false);
  }

  /** The paused partitions, by topic. */
  paused(): TopicPartitionList[] {
    return this.group([...this.states.values()].filter((s) => s.paused));
  }

  // ---- Consumer groups ----------------------------------------------------------------------------

  /**
   * Adds topics to the group subscription (KafkaJS's subscribe; call it before `run`, as often as
   * needed). `fromBeginning` decides where a partition with no committed offset starts: the log start,
   * else the end. A topic that does not exist yet is simply not assigned until it does. Throws
   * InvalidArgumentError without a groupId, while running, or on bad input.
   */
  async subscribe(options: SubscribeOptions): Promise<void> {
    if (this.groupOptions === undefined) throw new InvalidArgumentError('subscribe() needs a groupId: without one, use assign()');
    if (this.isRunning()) throw new InvalidArgumentError('subscribe() before run(): the consumer is running');
    if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('subscribe() takes { topics, fromBeginning? }');
    const topics = options.topics ?? (options.topic === undefined ? undefined : [options.topic]);
    if (!Array.isArray(topics) || topics.length === 0) throw new InvalidArgumentError('subscribe() needs topics: a non-empty array of topic names');
    for (const t of topics) {
      if ((t as unknown) instanceof RegExp) throw new InvalidArgumentError('topic patterns are not supported: name the topics');
      checkTopic(t);
    }
    if (options.fromBeginning !== undefined && typeof options.fromBeginning !== 'boolean') throw new InvalidArgumentError('fromBeginning must be a boolean');
    for (const t of topics) this.subscription.set(t, options.fromBeginning === true);
  }

  /**
   * Commits offsets for the group (`offset` = the next offset to read, Kafka's convention), with this
   * member's epoch, for partitions this consumer holds. Rejects with InvalidArgumentError outside a
   * running group member or for a partition it does not hold, FencedMemberError when the coordinator
   * no longer knows this member (its partitions are dropped and it rejoins), or the commit's error.
   */
  async commitOffsets(offsets: readonly TopicPartitionOffset[]): Promise<void> {
    if (this.groupOptions === undefined) throw new InvalidArgumentError('commitOffsets() needs a groupId');
    const session = this.session;
    if (session === undefined) throw new InvalidArgumentError('commitOffsets() needs a running group member: call run() first');
    if (!Array.isArray(offsets)) throw new InvalidArgumentError('commitOffsets() takes an array of { topic, partition, offset }');
    const entries = offsets.map((o) => {
      const state = this.assigned(o?.topic, o?.partition);
      const offset = typeof o.offset === 'string' && /^\d+$/.test(o.offset) ? Number(o.offset) : o.offset;
      if (!(typeof offset === 'number' && Number.isSafeInteger(offset) && offset >= 0)) throw new InvalidArgumentError(`offset must be a non-negative integer, got ${String(o.offset)}`);
      if (o.metadata !== undefined && typeof o.metadata !== 'string') throw new InvalidArgumentError('metadata must be a string');
      // The epoch of the record before the offset is known only when committing the position itself.
      const leaderEpoch = offset === state.position ? state.lastFetchedEpoch : -1;
      return { topic: state.topic, partition: state.partition, offset, leaderEpoch, ...(o.metadata !== undefined && { metadata: o.metadata }) };
    });
    if (entries.length === 0) return;
    await session.commitOffsets(entries);
  }

  private startSession(group: GroupOptions): void {
    this.coordinator ??= new GroupCoordinator(this.cluster, group.groupId, this.options.retry, this.log);
    const session = new GroupSession(
      { ...group, memberId: this.memberId, clientId: this.cluster.clientId, subscription: new Map(this.subscription), retry: this.options.retry },
      { cluster: this.cluster, coordinator: this.coordinator, engine: this.engine(), log: this.log },
    );
    this.session = session;
    session.start();
  }

  /** Ends the group session (commit, leave) in the background; `waitForCallbacks` first lets running callbacks finish. */
  private endSession(waitForCallbacks: boolean): void {
    const session = this.session;
    if (session === undefined) return;
    this.session = undefined;
    const settled = waitForCallbacks ? Promise.allSettled([...this.callbacks]) : Promise.resolve();
    this.sessionClosed = settled.then(() => session.close()).catch((e: unknown) => this.log('closing the group session: %s', asError(e).message));
  }

  /** The fetch engine as the group session sees it (group-session.ts). */
  private engine(): ConsumerEngine {
    return {
      heldKeys: () => [...this.states.keys()],
      addPartition: (tp, committed, fromBeginning) => this.addGroupPartition(tp.topic, tp.partition, committed, fromBeginning),
      startPartitions: (keys) => {
        const run = this.current;
        if (run === undefined || run.stopped) return;
        for (const key of keys) {
          const state = this.states.get(key);
          if (state !== undefined) this.startLoop(run, state);
        }
      },
      quiesce: (keys) => {
        for (const key of keys) {
          const state = this.states.get(key);
          if (state === undefined) continue;
          this.revoking.add(state);
          state.setPaused(true);
        }
      },
      settled: async (keys) => {
        await Promise.allSettled(keys.flatMap((key) => [...(this.runningByKey.get(key) ?? [])]));
      },
      position: (key) => {
        const state = this.states.get(key);
        return state?.position === undefined ? undefined : { offset: state.position, leaderEpoch: state.lastFetchedEpoch };
      },
      remove: (keys) => {
        for (const key of keys) {
          const state = this.states.get(key);
          if (state === undefined) continue;
          state.unassign();
          this.states.delete(key);
          this.revoking.delete(state);
        }
      },
      emit: (type, payload) => this.emit(type, payload),
      crash: (error) => {
        const run = this.current;
        if (run !== undefined && !run.stopped) this.crash(run, error);
        else this.log('group: %s (the run had stopped)', error.message);
      },
    };
  }

  /** A partition the group gave this member: at its committed offset, else the subscription's start. Not fetched until started. */
  private addGroupPartition(topic: string, partition: number, committed: { readonly offset: number; readonly leaderEpoch: number } | undefined, fromBeginning: boolean): void {
    const key = stateKey(topic, partition);
    if (this.states.has(key)) return;
    const start: StartPosition = fromBeginning ? { kind: 'earliest' } : { kind: 'latest' };
    const resetPolicy = this.options.autoOffsetReset ?? (fromBeginning ? 'earliest' : 'latest');
    const state = new PartitionFetchState(topic, partition, start, resetPolicy, this.options.maxBytes);
    if (committed !== undefined) {
      state.seek(committed.offset);
      // KIP-320 from the commit on: a log truncated below the committed offset is detected.
      state.lastFetchedEpoch = committed.leaderEpoch >= 0 ? committed.leaderEpoch : -1;
    }
    this.states.set(key, state);
  }

  // ---- Events -------------------------------------------------------------------------------------

  /** Adds a listener (KafkaJS's `consumer.on(consumer.events.CRASH, ...)`); returns its remover. */
  on<E extends ConsumerEventName>(event: E, listener: ConsumerEventListener<E>): () => void {
    if (!Object.values(ConsumerEvents).includes(event)) throw new InvalidArgumentError(`unknown consumer event ${JSON.stringify(event)}`);
    let set = this.listeners.get(event);
    if (set === undefined) {
      set = new Set();
      this.listeners.set(event, set);
    }
    const entry = listener as unknown as ConsumerEventListener<ConsumerEventName>;
    set.add(entry);
    return () => {
      set.delete(entry);
    };
  }

  private emit<E extends ConsumerEventName>(type: E, payload: ConsumerEventPayloads[E]): void {
    const set = this.listeners.get(type);
    if (set === undefined || set.size === 0) return;
    const event: ConsumerEvent<E> = { id: ++this.eventId, type, timestamp: this.cluster.clock.nowMs(), payload };
    for (const listener of [...set]) {
      try {
        listener(event as unknown as ConsumerEvent<ConsumerEventName>);
      } catch (e) {
        this.log('a %s listener threw: %s', type, asError(e).message);
      }
    }
  }

  // ---- The partition loop -------------------------------------------------------------------------

  private startLoop(run: RunState, state: PartitionFetchState): void {
    const loop = this.partitionLoop(run, state).catch((e: unknown) => this.crash(run, asError(e), state));
    run.loops.add(loop);
    void loop.then(() => run.loops.delete(loop));
  }

  private async partitionLoop(run: RunState, state: PartitionFetchState): Promise<void> {
    while (!run.stopped && state.assigned) {
      if (state.paused) {
        await this.waitForChange(run, state);
        continue;
      }
      const generation = state.generation;
      try {
        if (state.position === undefined) await this.resolvePosition(run, state, generation);
        else await this.fetchAndDeliver(run, state, generation, state.position);
      } catch (e) {
        if (e === ABANDONED) continue;
        if (e instanceof CallbackFailed) {
          this.crash(run, e.error, state);
          return;
        }
        if (run.stopped || !state.assigned) return;
        const error = toSkeinError(e);
        if (!error.retriable) {
          this.crash(run, error, state);
          return;
        }
        const delayMs = backoffMs(this.options.retry, Math.min(state.failures++, 30), this.cluster.random);
        this.log('%s: %s: %s; fetching again in %d ms', state.label, error.code, error.message, delayMs);
        this.cluster.invalidate(state.topic);
        await this.waitForChange(run, state, delayMs);
      }
    }
  }

  /** Resolves the start position (earliest, latest or by timestamp) with a list-offsets request to the leader. */
  private async resolvePosition(run: RunState, state: PartitionFetchState, generation: number): Promise<void> {
    const { topicId, info } = await this.guard(run, state, this.partitionInfo(state));
    const start = state.start;
    const timestamp = start.kind === 'earliest' ? EARLIEST_TIMESTAMP : start.kind === 'latest' ? LATEST_TIMESTAMP : start.timestampMs;
    const answer = await this.guard(run, state, this.cluster.request(info.leader, 'list-offsets', { topicId, partition: state.partition, timestamp }));
    if ('error' in answer) throw partitionErrorOf(answer);
    if (state.generation !== generation || state.position !== undefined) return;
    state.position = answer.offset;
    state.lastFetchedEpoch = -1;
    state.failures = 0;
    this.log('%s: starts at offset %d (%s)', state.label, answer.offset, start.kind);
  }

  private async fetchAndDeliver(run: RunState, state: PartitionFetchState, generation: number, position: number): Promise<void> {
    const { topicId, info } = await this.guard(run, state, this.partitionInfo(state));
    const o = this.options;
    const request: FetchPartitionRequest = {
      topicId,
      partition: state.partition,
      replicaId: -1,
      brokerEpoch: -1,
      sequence: -1,
      fetchOffset: position,
      lastFetchedEpoch: state.lastFetchedEpoch,
      currentLeaderEpoch: info.leaderEpoch,
      maxBytes: state.maxBytes,
      minBytes: o.minBytes,
      maxWaitMs: o.maxWaitMs,
    };
    const answer = await this.guard(run, state, this.fetch(run, state, generation, info.leader, request));
    if (run.stopped || state.generation !== generation || state.paused) return;
    if ('error' in answer) return this.onFetchError(state, position, answer);
    if ('divergingEpoch' in answer) return this.onDivergingEpoch(state, position, answer.divergingEpoch);
    state.highWatermark = answer.highWatermark;
    const read = readFetchedRecords({ records: answer.records, fetchOffset: position, highWatermark: answer.highWatermark });
    if (read.incompleteBytes !== undefined) return this.growFetchSize(state, position, read.incompleteBytes);
    state.maxBytes = o.maxBytes;
    state.failures = 0;
    await this.deliver(run, state, generation, read, answer.highWatermark);
    if (!this.live(run, state, generation)) return;
    const corrupt = read.corrupt;
    if (corrupt !== undefined && state.position === corrupt.offset) {
      throw new CorruptMessageError(`${state.label}: the record batch at offset ${corrupt.offset} is corrupt and was not delivered: ${corrupt.message}`);
    }
    if (state.position !== position) return;
    // Bytes came back but nothing at the position could be used (and no callback held it there on
    // purpose): asking again at once would spin. Back off as after any retriable failure.
    if (answer.records.length > 0 && read.batches.every((b) => b.messages.length === 0)) {
      throw new SkeinError('NO_PROGRESS', `${state.label}: the fetch answer held nothing usable at offset ${position}`, true);
    }
  }

  /** The partition's topic id and metadata; LeaderNotAvailableError (retriable) without a leader. */
  private async partitionInfo(state: PartitionFetchState): Promise<{ topicId: string; info: PartitionInfo }> {
    const topic = await this.cluster.topic(state.topic);
    const info = topic.partitions.find((p) => p.partition === state.partition);
    if (info === undefined) throw new UnknownTopicError(`${state.label} is not in the cluster metadata`, true);
    if (info.leader < 0) throw new LeaderNotAvailableError(`${state.label} has no leader right now`);
    return { topicId: topic.topicId, info };
  }

  /** One fetch to `leader`, holding one of its in-flight slots; abandoned if the partition moved on while waiting for the slot. */
  private async fetch(run: RunState, state: PartitionFetchState, generation: number, leader: number, request: FetchPartitionRequest): Promise<FetchResponse> {
    let slots = this.brokerSlots.get(leader);
    if (slots === undefined) {
      slots = new Semaphore(this.options.maxInFlightFetchesPerBroker);
      this.brokerSlots.set(leader, slots);
    }
    const release = await slots.acquire();
    try {
      if (run.stopped || state.generation !== generation || state.paused) throw ABANDONED;
      return await this.cluster.request(leader, 'fetch', request, { timeoutMs: this.cluster.requestTimeoutMs + request.maxWaitMs });
    } finally {
      release();
    }
  }

  private onFetchError(state: PartitionFetchState, position: number, answer: { readonly error: string; readonly message: string }): void {
    const error = partitionErrorOf(answer);
    if (answer.error !== 'OFFSET_OUT_OF_RANGE') throw error;
    const policy = state.resetPolicy;
    if (policy === 'none') throw error;
    this.log('%s: offset %d is out of range; resetting to %s', state.label, position, policy);
    state.resetTo({ kind: policy });
    this.emit(ConsumerEvents.OFFSET_RESET, { topic: state.topic, partition: state.partition, fromOffset: position, policy, error });
  }

  /**
   * KIP-320: the leader says the log holds `epoch` only up to `endOffset`. Below the position, what
   * was consumed from there on was truncated away; at or above it, nothing consumed was lost (the
   * leader just never wrote our last epoch): adopt its epoch and go on.
   */
  private onDivergingEpoch(state: PartitionFetchState, position: number, diverging: { readonly epoch: number; readonly endOffset: number }): void {
    const { epoch, endOffset } = diverging;
    if (endOffset >= position) {
      // Told so for the epoch we sent already: the leader contradicts itself (its epoch cache is
      // changing under us). Back off instead of asking again at once, forever.
      if (epoch === state.lastFetchedEpoch) throw new UnknownLeaderEpochError(`${state.label}: the leader reports epoch ${epoch} diverging at ${endOffset}, beyond the position ${position}`);
      state.lastFetchedEpoch = epoch;
      return;
    }
    this.log('%s: log truncated: position %d, the leader has epoch %d only up to %d', state.label, position, epoch, endOffset);
    this.emit(ConsumerEvents.TRUNCATION, { topic: state.topic, partition: state.partition, fromOffset: position, toOffset: endOffset, leaderEpoch: epoch });
    if (state.resetPolicy === 'none') {
      throw new LogTruncationError(
        `${state.label}: the log was truncated below the consumer's position ${position}: it now agrees only up to offset ${endOffset} (leader epoch ${epoch}); seek to continue`,
        state.topic,
        state.partition,
        endOffset,
      );
    }
    state.truncateTo(endOffset, epoch);
  }

  /** No whole batch came back: the first one is larger than maxBytes. Ask for more, up to maxBatchBytes. */
  private growFetchSize(state: PartitionFetchState, position: number, neededBytes: number): void {
    const limit = this.options.maxBatchBytes;
    if (state.maxBytes >= limit || neededBytes > limit) {
      const size = neededBytes > 0 ? `${neededBytes} bytes` : `over ${state.maxBytes} bytes`;
      throw new MessageTooLargeError(`${state.label}: the record batch at offset ${position} is ${size}, larger than maxBatchBytes (${limit})`);
    }
    state.maxBytes = Math.min(limit, Math.max(neededBytes, state.maxBytes * 2));
    this.log('%s: a batch at offset %d is larger than the fetch size; asking for %d bytes', state.label, position, state.maxBytes);
  }

  // ---- Delivery -----------------------------------------------------------------------------------

  private async deliver(run: RunState, state: PartitionFetchState, generation: number, read: FetchedRecords, highWatermark: number): Promise<void> {
    const batches = read.batches;
    if (batches.length === 0) return;
    if (!batches.some((b) => b.messages.length > 0)) {
      // Only empty or control batches: step past them, nothing to hand over.
      for (const b of batches) state.stepPast(b.lastOffset, b.leaderEpoch);
      return;
    }
    const acquired = run.deliverySlots.acquire();
    let release: Release;
    try {
      release = await this.guard(run, state, acquired);
    } catch (e) {
      Semaphore.abandon(acquired);
      throw e;
    }
    try {
      if (run.eachMessage !== undefined) await this.deliverMessages(run, state, generation, batches, run.eachMessage);
      else if (run.eachBatch !== undefined) await this.deliverBatch(run, state, generation, batches, highWatermark, run.eachBatch);
    } finally {
      release();
    }
  }

  private live(run: RunState, state: PartitionFetchState, generation: number): boolean {
    return !run.stopped && state.assigned && !state.paused && state.generation === generation;
  }

  private async deliverMessages(
    run: RunState,
    state: PartitionFetchState,
    generation: number,
    batches: readonly FetchedBatch[],
    eachMessage: NonNullable<ConsumerRunConfig['eachMessage']>,
  ): Promise<void> {
    const { topic, partition } = state;
    const heartbeat = (): Promise<void> => Promise.resolve();
    const pause = (): (() => void) => this.pauseOne(state);
    for (const batch of batches) {
      for (const message of batch.messages) {
        if (!this.live(run, state, generation)) return;
        await this.callback(run, state, generation, () => eachMessage({ topic, partition, message, heartbeat, pause }), () => {
          state.consumed(message.offset, batch.leaderEpoch);
          this.session?.processed(1);
        });
      }
      if (!this.live(run, state, generation)) return;
      state.stepPast(batch.lastOffset, batch.leaderEpoch);
    }
  }

  private async deliverBatch(
    run: RunState,
    state: PartitionFetchState,
    generation: number,
    batches: readonly FetchedBatch[],
    highWatermark: number,
    eachBatch: NonNullable<ConsumerRunConfig['eachBatch']>,
  ): Promise<void> {
    if (!this.live(run, state, generation)) return;
    const first = batches[0]!;
    const last = batches[batches.length - 1]!;
    const batch = createBatch(state.topic, state.partition, highWatermark, batches.flatMap((b) => b.messages));
    const epochOf = (offset: number): number => (batches.find((b) => offset <= b.lastOffset) ?? last).leaderEpoch;
    const resolveOffset = (offset: number): void => {
      if (!(Number.isSafeInteger(offset) && offset >= first.baseOffset && offset <= last.lastOffset)) {
        throw new InvalidArgumentError(`resolveOffset(${String(offset)}): not an offset of this batch (${first.baseOffset}..${last.lastOffset})`);
      }
      if (state.generation === generation) state.stepPast(offset, epochOf(offset));
    };
    await this.callback(
      run,
      state,
      generation,
      () =>
        eachBatch({
          batch,
          resolveOffset,
          heartbeat: () => Promise.resolve(),
          isRunning: () => !run.stopped,
          isStale: () => state.generation !== generation || !state.assigned,
          pause: () => this.pauseOne(state),
        }),
      () => {
        if (run.autoResolve) for (const b of batches) state.stepPast(b.lastOffset, b.leaderEpoch);
        this.session?.processed(batch.messages.length);
      },
    );
  }

  /**
   * Runs a user callback. `onResolved` (moving the position) runs when it resolves, if the partition
   * was not moved meanwhile — also after a stop, so a message whose callback completed counts. Only a
   * stop cuts the wait short (see the module header); a rejection comes back as CallbackFailed.
   */
  private async callback(run: RunState, state: PartitionFetchState, generation: number, call: () => Promise<void>, onResolved: () => void): Promise<void> {
    let promise: Promise<void>;
    try {
      promise = Promise.resolve(call());
    } catch (e) {
      promise = Promise.reject(e);
    }
    const tracked = promise.then(
      () => {
        if (state.generation === generation) onResolved();
      },
      (e: unknown) => {
        throw new CallbackFailed(asError(e));
      },
    );
    this.callbacks.add(tracked);
    const key = stateKey(state.topic, state.partition);
    let running = this.runningByKey.get(key);
    if (running === undefined) {
      running = new Set();
      this.runningByKey.set(key, running);
    }
    running.add(tracked);
    const untrack = (): void => {
      this.callbacks.delete(tracked);
      const set = this.runningByKey.get(key);
      set?.delete(tracked);
      if (set?.size === 0) this.runningByKey.delete(key);
    };
    void tracked.then(untrack, (e: unknown) => {
      untrack();
      if (run.stopped && e instanceof CallbackFailed) this.log('%s: a callback failed after the run stopped: %s', state.label, e.error.message);
    });
    await this.guard(run, undefined, tracked);
  }

  private pauseOne(state: PartitionFetchState): () => void {
    state.setPaused(true);
    return () => {
      if (!this.revoking.has(state)) state.setPaused(false);
    };
  }

  // ---- Waiting ------------------------------------------------------------------------------------

  /**
   * `promise`, unless the run stops (or, with `state`, the partition's state changes) first: then
   * rejects with ABANDONED and leaves `promise` to settle unobserved.
   */
  private guard<T>(run: RunState, state: PartitionFetchState | undefined, promise: Promise<T>): Promise<T> {
    if (run.stopped) {
      promise.catch(() => undefined);
      return Promise.reject(ABANDONED);
    }
    return new Promise<T>((resolve, reject) => {
      const abandon = (): void => {
        cleanup();
        reject(ABANDONED);
      };
      const offStop = run.stop.subscribe(abandon);
      const offState = state?.onChange(abandon);
      const cleanup = (): void => {
        offStop();
        offState?.();
      };
      promise.then(
        (value) => {
          cleanup();
          resolve(value);
        },
        (error: unknown) => {
          cleanup();
          reject(error);
        },
      );
    });
  }

  /** Waits until the run stops, the partition's state changes, or `ms` passed (when given). */
  private waitForChange(run: RunState, state: PartitionFetchState, ms?: number): Promise<void> {
    if (run.stopped) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = (): void => {
        offStop();
        offState();
        cancelTimer?.();
        resolve();
      };
      const offStop = run.stop.subscribe(done);
      const offState = state.onChange(done);
      const cancelTimer = ms === undefined ? undefined : this.cluster.clock.setTimer(ms, done);
    });
  }

  // ---- Stopping -----------------------------------------------------------------------------------

  /** Marks the run stopped and wakes its loops; false if it already was. */
  private halt(run: RunState): boolean {
    if (run.stopped) return false;
    run.stopped = true;
    run.stop.fire();
    return true;
  }

  private crash(run: RunState, error: Error, state?: PartitionFetchState): void {
    if (!this.halt(run)) {
      this.log('after the run stopped: %s', error.message);
      return;
    }
    this.log('%s: the run crashed: %s', state?.label ?? 'consumer', error.message);
    this.emit(ConsumerEvents.CRASH, { error, ...(state === undefined ? {} : { topic: state.topic, partition: state.partition }), restart: false });
    this.emit(ConsumerEvents.STOP, {});
    this.endSession(false);
  }

  // ---- Helpers ------------------------------------------------------------------------------------

  private checkConnected(): void {
    if (!this.connected) throw new NotConnectedError('the consumer is not connected: call connect() first');
  }

  private assigned(topic: string, partition: number): PartitionFetchState {
    const state = this.states.get(stateKey(topic, partition));
    if (state === undefined) throw new InvalidArgumentError(`${topic}[${partition}] is not assigned to this consumer`);
    return state;
  }

  private select(topics: readonly TopicPartitions[]): PartitionFetchState[] {
    if (!Array.isArray(topics)) throw new InvalidArgumentError('expected an array of { topic, partitions? }');
    const out: PartitionFetchState[] = [];
    for (const t of topics) {
      checkTopic(t?.topic);
      if (t.partitions === undefined) {
        const all = [...this.states.values()].filter((s) => s.topic === t.topic);
        if (all.length === 0) throw new InvalidArgumentError(`topic ${JSON.stringify(t.topic)} is not assigned to this consumer`);
        out.push(...all);
      } else {
        for (const p of t.partitions) out.push(this.assigned(t.topic, p));
      }
    }
    return out;
  }

  private group(states: readonly PartitionFetchState[]): TopicPartitionList[] {
    const byTopic = new Map<string, number[]>();
    for (const s of states) {
      const list = byTopic.get(s.topic) ?? [];
      list.push(s.partition);
      byTopic.set(s.topic, list);
    }
    return [...byTopic].map(([topic, partitions]) => ({ topic, partitions: partitions.sort((a, b) => a - b) }));
  }
}

/** A member id: 22 random base-36 characters (the contract has the client pick it). */
function randomMemberId(random: ConsumerCluster['random']): string {
  const digits = '0123456789abcdefghijklmnopqrstuvwxyz';
  let id = '';
  for (let i = 0; i < 22; i++) id += digits[random.int(digits.length)];
  return id;
}

function checkTopic(topic: unknown): asserts topic is string {
  if (typeof topic !== 'string' || topic.length === 0) throw new InvalidArgumentError(`topic must be a non-empty string, got ${JSON.stringify(topic)}`);
}

function checkPartition(partition: unknown): void {
  if (!(typeof partition === 'number' && Number.isSafeInteger(partition) && partition >= 0)) {
    throw new InvalidArgumentError(`a partition must be a non-negative integer, got ${JSON.stringify(partition)}`);
  }
}

function intOption(value: number | undefined, fallback: number, name: string, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (!(Number.isSafeInteger(value) && value >= min && value <= max)) throw new InvalidArgumentError(`${name} must be an integer in [${min}, ${max}], got ${String(value)}`);
  return value;
}

function resolveOptions(options: ConsumerOptions): ResolvedOptions {
  if (options.autoOffsetReset !== undefined && !['earliest', 'latest', 'none'].includes(options.autoOffsetReset)) {
    throw new InvalidArgumentError(`autoOffsetReset must be 'earliest', 'latest' or 'none', got ${JSON.stringify(options.autoOffsetReset)}`);
  }
  const maxBatchBytes = intOption(options.maxBatchBytes, DEFAULT_MAX_BATCH_BYTES, 'maxBatchBytes', 1, INT32_MAX);
  const maxBytes = intOption(options.maxBytes ?? options.maxBytesPerPartition, DEFAULT_MAX_BYTES, 'maxBytes', 1, maxBatchBytes);
  return {
    maxWaitMs: intOption(options.maxWaitTimeInMs, DEFAULT_MAX_WAIT_TIME_MS, 'maxWaitTimeInMs', 0, INT32_MAX),
    minBytes: intOption(options.minBytes, DEFAULT_MIN_BYTES, 'minBytes', 0, INT32_MAX),
    maxBytes,
    maxBatchBytes,
    autoOffsetReset: options.autoOffsetReset,
    maxInFlightFetchesPerBroker: intOption(options.maxInFlightFetchesPerBroker, DEFAULT_MAX_IN_FLIGHT_FETCHES_PER_BROKER, 'maxInFlightFetchesPerBroker', 1, 1024),
    retry: resolveRetryOptions({ ...DEFAULT_FETCH_RETRY, ...options.retry }),
  };
}
