/**
 * The producer (KafkaJS's API, Kafka's semantics): `send` / `sendBatch` validate the messages, pick
 * partitions (partitioner.ts), append the records to per-partition batches (producer-batch.ts), and
 * resolve once every batch holding them is acknowledged — one promise per call, never one per record.
 * A batch goes out when it is full (`batchSize`), when it has lingered `lingerMs`, or on `flush` /
 * `disconnect`; records of many concurrent calls to one partition share a batch and a produce request.
 *
 * Delivery (Kafka's Sender):
 * - Up to `maxInFlightRequests` batches per partition in flight, to the partition's leader per the
 *   cached metadata. A batch is encoded once, when first sent; retries resend the same bytes.
 * - A retriable failure (NOT_LEADER_OR_FOLLOWER, UNKNOWN_TOPIC_OR_PARTITION, FENCED/UNKNOWN_LEADER_EPOCH,
 *   NOT_ENOUGH_REPLICAS, timeouts, a lost connection...) puts the batch on the partition's retry list;
 *   metadata is refetched where leadership may have moved. Retries go out in order, one at a time,
 *   once nothing else of the partition is in flight, after an exponential backoff with jitter (held
 *   at its first step when the leader moved: the retry refetches metadata anyway); new batches wait
 *   behind them. This keeps per-partition order with several requests in flight.
 * - Idempotence (default): one producer id per producer (init-producer-id at connect), sequences per
 *   partition. The broker answers a resent batch it already has with the original offsets, so a retry
 *   never duplicates. OUT_OF_ORDER_SEQUENCE for a batch behind an earlier unacknowledged one is the
 *   expected echo of that one's failure and is retried; for the first unacknowledged batch, and
 *   INVALID_PRODUCER_EPOCH always, it is fatal: every pending and later send fails.
 * - `deliveryTimeoutMs` bounds a record's life from `send` to its acknowledgement; a batch past it
 *   fails with DeliveryTimeoutError (its last error as `cause`). When an idempotent batch fails for
 *   good, the partition's sequences restart under a fresh producer id (Kafka bumps the epoch): batches
 *   known not to be written (never sent, or refused with an answer that proves it) are re-sealed and
 *   retried; one that may be in the log fails rather than risk being written twice under the new id,
 *   and after an expiry with an unknown outcome all the partition's other unacknowledged batches do.
 * - acks=0: the call resolves once its requests are issued (baseOffset -1); answers are not awaited.
 *
 * Bounds: `bufferMemoryBytes` of records waiting (send waits up to `maxBlockMs` for space), one record
 * at most `maxRequestSizeBytes`, `maxInFlightRequests` per partition, `deliveryTimeoutMs` per record.
 * Time comes from the cluster's Clock, jitter from its Random; record timestamps are wall-clock ms.
 */
import { debugLoggers, type Logger } from '../util/log.js';
import type { Cluster, TopicInfo } from './cluster.js';
import {
  ConnectionError,
  DeliveryTimeoutError,
  InvalidArgumentError,
  LeaderNotAvailableError,
  MessageTooLargeError,
  NotConnectedError,
  ProducerFencedError,
  RequestTimedOutError,
  SkeinError,
  UnknownTopicError,
  metadataErrorOf,
  partitionErrorOf,
  toSkeinError,
} from './errors.js';
import { StickyPartitioner } from './partitioner.js';
import { PartitionQueue, ProducerBatch, SendCall, type ProducerIdentity } from './producer-batch.js';
import { prepareTopicMessages, type Message, type PreparedRecord, type RecordMetadata, type TopicMessages } from './producer-messages.js';
import { parseAcks, resolveProducerOptions, type Acks, type AcksOption, type ProducerOptions, type ResolvedProducerOptions } from './producer-options.js';
import { backoffMs, DEFAULT_RETRY, resolveRetryOptions, sleep, withRetry, type RetryOptions } from './retry.js';

export interface ProducerRecord {
  readonly topic: string;
  readonly messages: readonly Message[];
  /** Overrides the producer's acks for this call (an idempotent producer accepts only -1 / 'all'). */
  readonly acks?: AcksOption;
  /** Broker-side wait for acks=all, ms. */
  readonly timeout?: number;
}

export interface ProducerBatchRecord {
  readonly topicMessages: readonly TopicMessages[];
  readonly acks?: AcksOption;
  readonly timeout?: number;
}

export interface ProducerStats {
  /** Produce requests sent (one per batch attempt). */
  readonly requests: number;
  /** Batch attempts that failed retriably and were queued again. */
  readonly retries: number;
  /** Batches the broker recognised as already written (a retry of an appended batch: not written twice). */
  readonly duplicates: number;
}

/** Node-style completion callback: `error` null on success. */
export type SendCallback = (error: SkeinError | null, metadata?: RecordMetadata[]) => void;

/** Client-wide defaults a producer inherits (from `Skein`). */
export interface ProducerDefaults {
  readonly requestTimeoutMs?: number;
  readonly retry?: RetryOptions;
  readonly logger?: Logger;
}

/** Answers that prove the broker did not write the batch (anything else may have written it). */
const NOT_WRITTEN_CODES: ReadonlySet<string> = new Set([
  'NOT_LEADER_OR_FOLLOWER',
  'UNKNOWN_TOPIC_OR_PARTITION',
  'FENCED_LEADER_EPOCH',
  'UNKNOWN_LEADER_EPOCH',
  'LEADER_NOT_AVAILABLE',
  'NOT_ENOUGH_REPLICAS',
  'OUT_OF_ORDER_SEQUENCE',
  'INVALID_PRODUCER_EPOCH',
  'CORRUPT_RECORD',
  'MESSAGE_TOO_LARGE',
  'NODE_STARTING',
  'UNSUPPORTED_REQUEST',
  'TOO_MANY_REQUESTS',
]);

/** Retries after a moved leader that keep the first backoff step before it grows as usual. */
const QUICK_LEADER_RETRIES = 15;

/** Codes after which the partition's leader may have moved: refetch its metadata before retrying. */
const REFRESH_CODES: ReadonlySet<string> = new Set([
  'NOT_LEADER_OR_FOLLOWER',
  'UNKNOWN_TOPIC_OR_PARTITION',
  'FENCED_LEADER_EPOCH',
  'UNKNOWN_LEADER_EPOCH',
  'KAFKA_STORAGE_ERROR',
  'LEADER_NOT_AVAILABLE',
  'BROKER_NOT_AVAILABLE',
  'CONNECTION_CLOSED',
]);

/** init-producer-id at connect (and after a sequence reset): Kafka's backoff, bounded. */
const INIT_RETRY = resolveRetryOptions({ ...DEFAULT_RETRY, retries: 10, maxRetryTimeMs: 1000 });

type State = 'new' | 'connecting' | 'connected' | 'disconnecting' | 'disconnected';

export class Producer {
  readonly options: ResolvedProducerOptions;
  private readonly log: Logger;
  private readonly partitioner: StickyPartitioner;
  /** Every partition queue, in creation order (the order drain visits them). */
  private readonly queues: PartitionQueue[] = [];
  /** topic -> partition -> its queue: found per record without building a key. */
  private readonly queuesByTopic = new Map<string, PartitionQueue[]>();
  /** The latest metadata seen per topic (for the sticky partitioner's choices while draining). */
  private readonly topicInfos = new Map<string, TopicInfo>();
  private readonly outstanding = new Set<ProducerBatch>();
  private state: State = 'new';
  private connecting: Promise<void> | undefined;
  private disconnecting: Promise<void> | undefined;
  private identity: ProducerIdentity | undefined;
  private identityFetch: Promise<ProducerIdentity> | undefined;
  private fatal: SkeinError | undefined;
  private readonly counters = { requests: 0, retries: 0, duplicates: 0 };
  private flushing = 0;
  /** Send calls past their first check that have not appended yet. */
  private admitting = 0;
  private admittedWaiters: Array<() => void> = [];
  private flushWaiters: Array<{ readonly markId: number; readonly resolve: () => void }> = [];
  private bufferedBytes = 0;
  private spaceWaiters: Array<() => void> = [];
  private wakeAtMs = Number.POSITIVE_INFINITY;
  private cancelWake: () => void = () => {};

  constructor(
    readonly cluster: Cluster,
    options: ProducerOptions = {},
    defaults: ProducerDefaults = {},
  ) {
    this.options = resolveProducerOptions(options, defaults);
    this.log = defaults.logger ?? debugLoggers('skein:client:producer');
    this.partitioner = new StickyPartitioner(cluster.random);
  }

  /** Counters since construction (for monitoring and tests). */
  stats(): ProducerStats {
    return { ...this.counters };
  }

  /** The producer id and epoch of an idempotent producer (after connect), else undefined. */
  get producerIdentity(): ProducerIdentity | undefined {
    return this.identity;
  }

  /** Connects to the cluster and, when idempotent, obtains a producer id. Idempotent. */
  connect(): Promise<void> {
    if (this.state === 'disconnecting' || this.state === 'disconnected') return Promise.reject(new NotConnectedError('the producer was disconnected; create a new one'));
    this.connecting ??= (async () => {
      this.state = 'connecting';
      try {
        await this.cluster.connect();
        if (this.options.idempotent) this.identity = await this.initProducerId();
        if (this.state !== 'connecting') throw new NotConnectedError('the producer was disconnected while connecting');
        this.state = 'connected';
        this.log('connected%s', this.identity === undefined ? '' : ` as producer ${this.identity.producerId} epoch ${this.identity.producerEpoch}`);
      } catch (e) {
        if (this.state === 'connecting') this.state = 'new';
        this.connecting = undefined;
        throw toSkeinError(e);
      }
    })();
    return this.connecting;
  }

  /** Sends messages to one topic; resolves per partition written. See the module header. */
  send(record: ProducerRecord, callback?: SendCallback): Promise<RecordMetadata[]> {
    const r = record as Partial<ProducerRecord> | null | undefined;
    const batch: ProducerBatchRecord =
      typeof r === 'object' && r !== null
        ? { topicMessages: [{ topic: r.topic as string, messages: r.messages as readonly Message[] }], ...(r.acks !== undefined && { acks: r.acks }), ...(r.timeout !== undefined && { timeout: r.timeout }) }
        : (r as unknown as ProducerBatchRecord);
    return this.withCallback(() => this.sendAll(batch), callback);
  }

  /** Sends messages to several topics in one call; resolves per topic-partition written. */
  sendBatch(batch: ProducerBatchRecord, callback?: SendCallback): Promise<RecordMetadata[]> {
    return this.withCallback(() => this.sendAll(batch), callback);
  }

  /** Sends every lingering batch now and resolves once every batch created before the call has settled. */
  async flush(): Promise<void> {
    const markId = ProducerBatch.lastId();
    this.flushing++;
    try {
      this.drain();
      this.schedule();
      if (this.minOutstandingId() <= markId) await new Promise<void>((resolve) => this.flushWaiters.push({ markId, resolve }));
    } finally {
      this.flushing--;
    }
  }

  /** Flushes what is lingering, waits for it to settle (at most deliveryTimeoutMs), then closes. Idempotent. */
  disconnect(): Promise<void> {
    this.disconnecting ??= (async () => {
      const wasUsable = this.state === 'connected';
      this.state = 'disconnecting';
      try {
        if (wasUsable) {
          // Calls made before disconnect() are still resolving metadata: let them append first.
          if (this.admitting > 0) await new Promise<void>((resolve) => this.admittedWaiters.push(resolve));
          await this.flush();
        }
      } finally {
        this.state = 'disconnected';
        this.cancelWake();
        this.wakeAtMs = Number.POSITIVE_INFINITY;
        // Anything still queued (a failed connect, a fatal error) fails rather than hangs.
        this.failAll(new NotConnectedError('the producer disconnected before the record was sent'));
        await this.cluster.close();
        this.log('disconnected');
      }
    })();
    return this.disconnecting;
  }

  // ---- send path ----------------------------------------------------------------------------------

  private withCallback(start: () => Promise<RecordMetadata[]>, callback: SendCallback | undefined): Promise<RecordMetadata[]> {
    if (callback !== undefined && typeof callback !== 'function') return Promise.reject(new InvalidArgumentError('the send callback must be a function'));
    const promise = start();
    if (callback !== undefined) {
      promise.then(
        (metadata) => callback(null, metadata),
        (error: unknown) => callback(toSkeinError(error)),
      );
    }
    return promise;
  }

  /**
   * Throws unless sends are accepted. A call admitted before `disconnect()` began (`admitted`) may
   * still append while the producer is disconnecting: disconnect waits for it, then flushes it.
   */
  private checkUsable(admitted = false): void {
    if (this.fatal !== undefined) throw new ProducerFencedError(`the producer can no longer send: ${this.fatal.message}`, false, { cause: this.fatal });
    if (admitted && this.state === 'disconnecting') return;
    if (this.state !== 'connected') throw new NotConnectedError(this.state === 'new' || this.state === 'connecting' ? 'the producer is not connected: await producer.connect() first' : 'the producer is disconnected');
  }

  private async sendAll(batch: ProducerBatchRecord): Promise<RecordMetadata[]> {
    this.checkUsable();
    this.admitting++;
    try {
      return await this.admit(batch);
    } finally {
      this.admitting--;
      if (this.admitting === 0) for (const wake of this.admittedWaiters.splice(0)) wake();
    }
  }

  /** Validates a call, resolves its topics, reserves buffer space and appends its records. */
  private async admit(batch: ProducerBatchRecord): Promise<RecordMetadata[]> {
    if (typeof batch !== 'object' || batch === null) throw new InvalidArgumentError('sendBatch needs { topicMessages }');
    const acks: Acks = batch.acks === undefined ? this.options.acks : parseAcks(batch.acks);
    if (this.options.idempotent && acks !== -1) throw new InvalidArgumentError(`an idempotent producer sends with acks=all (-1) only, got acks=${acks}`);
    const timeoutMs = batch.timeout ?? this.options.timeout;
    if (!(Number.isSafeInteger(timeoutMs) && timeoutMs > 0 && timeoutMs <= 0x7fff_ffff)) throw new InvalidArgumentError(`timeout must be a positive integer of ms, got ${String(batch.timeout)}`);
    if (!Array.isArray(batch.topicMessages)) throw new InvalidArgumentError('topicMessages must be an array of { topic, messages }');

    const nowWall = Date.now();
    const groups = batch.topicMessages.map((tm) => prepareTopicMessages(tm, nowWall));
    let totalBytes = 0;
    for (const g of groups) {
      for (const r of g.records) {
        if (r.sizeBytes > this.options.maxRequestSizeBytes) {
          throw new MessageTooLargeError(`a message for topic ${JSON.stringify(g.topic)} is up to ${r.sizeBytes} bytes encoded, more than maxRequestSizeBytes (${this.options.maxRequestSizeBytes})`);
        }
        totalBytes += r.sizeBytes;
      }
    }
    if (totalBytes === 0) return [];
    if (totalBytes > this.options.bufferMemoryBytes) throw new MessageTooLargeError(`the call's records take ${totalBytes} bytes, more than bufferMemoryBytes (${this.options.bufferMemoryBytes})`);

    const deadlineMs = this.cluster.clock.nowMs() + this.options.maxBlockMs;
    const topics = new Map<string, TopicInfo>();
    for (const g of groups) {
      if (g.records.length === 0 || topics.has(g.topic)) continue;
      let info = await this.topicInfo(g.topic, deadlineMs);
      const highest = Math.max(...g.records.map((r) => r.partition ?? -1));
      if (highest >= info.partitions.length) {
        // Partitions may have been added since the metadata was fetched.
        info = await this.cluster.topic(g.topic, { refresh: true });
        if (highest >= info.partitions.length) {
          throw new InvalidArgumentError(`partition ${highest} of topic ${JSON.stringify(g.topic)} does not exist: it has ${info.partitions.length} partitions`);
        }
      }
      topics.set(g.topic, info);
      this.topicInfos.set(g.topic, info);
    }
    await this.reserve(totalBytes, deadlineMs);
    try {
      this.checkUsable(true);
    } catch (e) {
      this.release(totalBytes);
      throw e;
    }
    return new Promise<RecordMetadata[]>((resolve, reject) => {
      const call = new SendCall(resolve, reject);
      for (const g of groups) {
        const info = topics.get(g.topic);
        if (info === undefined) continue; // no records
        for (const record of g.records) this.append(info, record, acks, timeoutMs, call);
      }
      call.sealed();
      this.schedule();
    });
  }

  /** The topic's metadata, retrying while it is unknown (maybe just created) until `deadlineMs`. */
  private async topicInfo(topic: string, deadlineMs: number): Promise<TopicInfo> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.cluster.topic(topic);
      } catch (e) {
        const error = toSkeinError(e);
        const leftMs = deadlineMs - this.cluster.clock.nowMs();
        if (!error.retriable || leftMs <= 0) {
          if (error instanceof UnknownTopicError) throw new UnknownTopicError(`topic ${JSON.stringify(topic)} does not exist (waited ${this.options.maxBlockMs} ms for it)`, false);
          throw error;
        }
        await sleep(this.cluster.clock, Math.min(leftMs, backoffMs(this.options.retry, attempt, this.cluster.random)));
      }
    }
  }

  /** Appends one record to its partition's open batch, opening a new batch when needed. */
  private append(info: TopicInfo, record: PreparedRecord, acks: Acks, timeoutMs: number, call: SendCall): void {
    const topic = info.name;
    const sticky = record.partition === undefined && record.keyBytes === null;
    let partition = record.partition ?? this.partitioner.partition(topic, record.keyBytes, info.partitions);
    let queue = this.queue(topic, partition);
    let batch = queue.openBatch();
    if (batch !== undefined && (batch.acks !== acks || batch.timeoutMs !== timeoutMs || !batch.fits(record.sizeBytes, this.options.batchSize))) {
      batch.closed = true;
      batch = undefined;
      if (sticky) {
        // KIP-480: a keyless record that would open a new batch moves to another partition instead.
        this.partitioner.onNewBatch(topic, partition, info.partitions);
        partition = this.partitioner.partition(topic, null, info.partitions);
        queue = this.queue(topic, partition);
        batch = queue.openBatch();
        if (batch !== undefined && (batch.acks !== acks || batch.timeoutMs !== timeoutMs || !batch.fits(record.sizeBytes, this.options.batchSize))) {
          batch.closed = true;
          batch = undefined;
        }
      }
    }
    if (batch === undefined) {
      batch = new ProducerBatch(topic, partition, acks, timeoutMs, this.cluster.clock.nowMs());
      queue.queue.push(batch);
      this.outstanding.add(batch);
    }
    batch.append(record.input, record.sizeBytes, call);
    if (batch.sizeBytes >= this.options.batchSize) {
      batch.closed = true;
      this.partitioner.onNewBatch(topic, partition, info.partitions);
    }
  }

  private queue(topic: string, partition: number): PartitionQueue {
    let byPartition = this.queuesByTopic.get(topic);
    if (byPartition === undefined) {
      byPartition = [];
      this.queuesByTopic.set(topic, byPartition);
    }
    let q = byPartition[partition];
    if (q === undefined) {
      q = new PartitionQueue(topic, partition);
      byPartition[partition] = q;
      this.queues.push(q);
    }
    return q;
  }

  // ---- buffer space -------------------------------------------------------------------------------

  private async reserve(bytes: number, deadlineMs: number): Promise<void> {
    while (this.bufferedBytes + bytes > this.options.bufferMemoryBytes) {
      const leftMs = deadlineMs - this.cluster.clock.nowMs();
      if (leftMs <= 0) throw new RequestTimedOutError(`no buffer space for ${bytes} bytes within maxBlockMs (${this.options.maxBlockMs} ms): ${this.bufferedBytes} bytes are waiting to be sent`, false);
      await new Promise<void>((resolve) => {
        const cancel = this.cluster.clock.setTimer(leftMs, () => {
          this.spaceWaiters = this.spaceWaiters.filter((w) => w !== wake);
          resolve();
        });
        const wake = (): void => {
          cancel();
          resolve();
        };
        this.spaceWaiters.push(wake);
      });
      this.checkUsable(true);
    }
    this.bufferedBytes += bytes;
  }

  private release(bytes: number): void {
    this.bufferedBytes -= bytes;
    const waiters = this.spaceWaiters;
    this.spaceWaiters = [];
    for (const wake of waiters) wake();
  }

  // ---- delivery -----------------------------------------------------------------------------------

  /** Sends what is ready, partition by partition (see the module header for the order rules). */
  private drain(): void {
    if (this.state === 'disconnected') return;
    const now = this.cluster.clock.nowMs();
    for (const q of this.queues) {
      this.expireQueued(q, now);
      if (q.reset !== undefined) {
        if (q.inflight.length === 0 && !q.resetting) void this.resetSequences(q);
        continue;
      }
      if (q.retry.length > 0) {
        if (q.inflight.length > 0) continue;
        const head = q.retry[0]!;
        if (now - head.createdAtMs >= this.options.deliveryTimeoutMs) {
          q.retry.shift();
          this.expire(q, head, head.lastError);
          continue;
        }
        if (head.retryAtMs > now) continue;
        q.retry.shift();
        void this.dispatch(q, head);
        continue;
      }
      while (q.inflight.length < this.options.maxInFlightRequests && q.queue.length > 0) {
        const batch = q.queue[0]!;
        if (!this.isReady(batch, now)) break;
        q.queue.shift();
        if (!batch.closed) {
          batch.closed = true;
          const info = this.topicInfos.get(q.topic);
          if (info !== undefined) this.partitioner.onNewBatch(q.topic, q.partition, info.partitions);
        }
        if (this.options.idempotent) {
          q.identity ??= this.identity;
          batch.seal(q.identity, q.nextSequence, Date.now());
          q.nextSequence = batch.nextSequence;
        } else batch.seal(undefined, -1, Date.now());
        void this.dispatch(q, batch);
      }
    }
  }

  private isReady(batch: ProducerBatch, nowMs: number): boolean {
    return batch.closed || this.flushing > 0 || this.state === 'disconnecting' || nowMs - batch.createdAtMs >= this.options.lingerMs;
  }

  /** Unsent batches past the delivery timeout fail (they hold no sequence yet: no gap). */
  private expireQueued(q: PartitionQueue, nowMs: number): void {
    while (q.queue.length > 0 && nowMs - q.queue[0]!.createdAtMs >= this.options.deliveryTimeoutMs) {
      const batch = q.queue.shift()!;
      this.failBatch(batch, new DeliveryTimeoutError(`${batch.recordCount} record(s) for ${q.topic}-${q.partition} were not sent within deliveryTimeoutMs (${this.options.deliveryTimeoutMs} ms)`, false, { cause: batch.lastError }));
    }
  }

  /** One attempt of one batch; never rejects. */
  private async dispatch(q: PartitionQueue, batch: ProducerBatch): Promise<void> {
    q.inflight.push(batch);
    batch.attempts++;
    let outcome: { baseOffset: number } | SkeinError;
    try {
      const info = await this.cluster.topic(q.topic);
      this.topicInfos.set(q.topic, info);
      const p = info.partitions[q.partition];
      if (p === undefined) throw new UnknownTopicError(`topic ${q.topic} has no partition ${q.partition}`);
      if (p.leader < 0) throw new LeaderNotAvailableError(`${q.topic}-${q.partition} has no leader right now`);
      this.counters.requests++;
      const records = batch.encoded;
      if (records === undefined) throw new SkeinError('UNKNOWN_CLIENT_ERROR', 'internal: dispatching an unsealed batch', false);
      const request = this.cluster.request(
        p.leader,
        'produce',
        { topicId: info.topicId, partition: q.partition, acks: batch.acks, timeoutMs: batch.timeoutMs, records },
        { timeoutMs: Math.max(this.options.requestTimeoutMs, batch.timeoutMs + 1000) },
      );
      if (batch.acks === 0) {
        // Fire and forget: nobody awaits the answer, but it must not become an unhandled rejection.
        request.then(
          (r) => {
            if ('error' in r) this.log('acks=0 batch to %s-%d failed: %s', q.topic, q.partition, r.error);
          },
          (e: unknown) => this.log('acks=0 batch to %s-%d failed: %s', q.topic, q.partition, toSkeinError(e).message),
        );
        outcome = { baseOffset: -1 };
      } else {
        const response = await request;
        if ('error' in response) outcome = partitionErrorOf(response);
        else {
          if (response.duplicate) this.counters.duplicates++;
          outcome = response;
        }
      }
    } catch (e) {
      outcome = toSkeinError(e);
    }
    q.removeInflight(batch);
    if (outcome instanceof SkeinError) this.onFailure(q, batch, outcome);
    else this.onSuccess(q, batch, outcome.baseOffset);
    this.drain();
    this.schedule();
  }

  private onSuccess(q: PartitionQueue, batch: ProducerBatch, baseOffset: number): void {
    // Answers may come back out of order (a retried batch after later ones): only move forward.
    if (batch.identity !== undefined && batch.identity === q.identity && batch.id > q.ackedBatchId) {
      q.ackedBatchId = batch.id;
      q.ackedSequence = batch.nextSequence;
    }
    this.outstanding.delete(batch);
    this.release(batch.bufferedBytes);
    batch.succeeded(baseOffset);
    this.afterSettle();
  }

  private onFailure(q: PartitionQueue, batch: ProducerBatch, error: SkeinError): void {
    batch.lastError = error;
    if (!NOT_WRITTEN_CODES.has(error.code)) batch.maybeWritten = true;
    if (this.state === 'disconnected') return this.failBatch(batch, error);
    if (this.fatal !== undefined) return this.failBatch(batch, this.fencedError());
    let retriable = error.retriable;
    if (batch.identity !== undefined) {
      if (error.code === 'INVALID_PRODUCER_EPOCH') return this.setFatal(error, batch);
      if (error.code === 'OUT_OF_ORDER_SEQUENCE') {
        if (batch.identity === q.identity && q.isHead(batch)) return this.setFatal(error, batch);
        // The echo of an earlier batch's failure: it goes again after that one.
        retriable = true;
      }
    }
    if (!retriable) {
      this.log('%s-%d: batch of %d failed: %s', q.topic, q.partition, batch.recordCount, error.message);
      this.failBatch(batch, error);
      // The broker never wrote it: later sequences would leave a gap.
      if (batch.identity !== undefined && batch.identity === q.identity) q.reset ??= 'gap';
      return;
    }
    const leaderMoved = REFRESH_CODES.has(error.code) || error instanceof ConnectionError;
    if (leaderMoved) this.cluster.invalidate(q.topic);
    const now = this.cluster.clock.nowMs();
    if (now - batch.createdAtMs >= this.options.deliveryTimeoutMs || batch.attempts > this.options.retry.retries) return this.expire(q, batch, error);
    // After the leader moved, every retry refetches metadata first and a new leader is usually a
    // second or two away: the first QUICK_LEADER_RETRIES keep the first backoff step (as Kafka's
    // producer did before KIP-580), so the batch goes out soon after the new leader is known; a longer
    // outage then backs off as usual.
    const step = leaderMoved ? Math.max(0, batch.attempts - 1 - QUICK_LEADER_RETRIES) : batch.attempts - 1;
    batch.retryAtMs = now + backoffMs(this.options.retry, step, this.cluster.random);
    this.log('%s-%d: retrying a batch of %d (attempt %d) after %s', q.topic, q.partition, batch.recordCount, batch.attempts, error.code);
    this.counters.retries++;
    q.addRetry(batch);
  }

  /** A sent batch ran out of time (or retries): it fails, and its partition's sequences restart. */
  private expire(q: PartitionQueue, batch: ProducerBatch, cause: SkeinError | undefined): void {
    const why = batch.attempts > this.options.retry.retries ? `after ${batch.attempts} attempts (retry.retries ${this.options.retry.retries})` : `within deliveryTimeoutMs (${this.options.deliveryTimeoutMs} ms)`;
    this.failBatch(batch, new DeliveryTimeoutError(`${batch.recordCount} record(s) for ${q.topic}-${q.partition} were not acknowledged ${why}${cause === undefined ? '' : `: ${cause.message}`}`, false, { cause }));
    if (batch.identity !== undefined && batch.identity === q.identity) q.reset = 'unknown';
  }

  /** Restarts a partition's sequences under a fresh producer id once nothing of it is in flight. */
  private async resetSequences(q: PartitionQueue): Promise<void> {
    q.resetting = true;
    try {
      const identity = await this.freshIdentity(q.identity);
      const reason = q.reset;
      q.identity = identity;
      q.nextSequence = 0;
      q.ackedSequence = 0;
      q.ackedBatchId = -1;
      q.reset = undefined;
      const waiting = q.retry.splice(0);
      for (const batch of waiting) {
        // A batch that may be in the log already (its answer lost, or it timed out): under a fresh
        // producer id the broker could not recognise it, so resending could write it twice.
        if (reason === 'unknown' || batch.maybeWritten) {
          const why = reason === 'unknown' ? 'an earlier batch expired with an unknown outcome' : 'an earlier batch failed and this one may have been written';
          this.failBatch(batch, new DeliveryTimeoutError(`${batch.recordCount} record(s) for ${q.topic}-${q.partition} failed: ${why}, and resending it under a new producer id could write it twice`, false, { cause: batch.lastError }));
        } else {
          batch.seal(identity, q.nextSequence, Date.now());
          q.nextSequence = batch.nextSequence;
          q.retry.push(batch);
        }
      }
      this.log('%s-%d: sequences restarted as producer %d (%s)', q.topic, q.partition, identity.producerId, reason);
    } catch (e) {
      this.setFatal(toSkeinError(e), undefined);
    } finally {
      q.resetting = false;
      this.drain();
      this.schedule();
    }
  }

  private setFatal(error: SkeinError, batch: ProducerBatch | undefined): void {
    this.log('fatal: %s', error.message);
    this.fatal ??= error;
    if (batch !== undefined) this.failBatch(batch, error);
    this.failAll(this.fencedError());
  }

  private fencedError(): SkeinError {
    const cause = this.fatal;
    return new ProducerFencedError(`the producer can no longer send${cause === undefined ? '' : `: ${cause.message}`}`, false, { cause });
  }

  /** Fails every batch not in flight (in-flight ones fail as they come back). */
  private failAll(error: SkeinError): void {
    for (const q of this.queues) {
      for (const batch of q.queue.splice(0)) this.failBatch(batch, error);
      for (const batch of q.retry.splice(0)) this.failBatch(batch, error);
    }
  }

  private failBatch(batch: ProducerBatch, error: SkeinError): void {
    if (!this.outstanding.delete(batch)) return;
    this.release(batch.bufferedBytes);
    batch.failed(error);
    this.afterSettle();
  }

  private afterSettle(): void {
    if (this.flushWaiters.length === 0) return;
    const min = this.minOutstandingId();
    const done = this.flushWaiters.filter((w) => w.markId < min);
    this.flushWaiters = this.flushWaiters.filter((w) => w.markId >= min);
    for (const w of done) w.resolve();
  }

  private minOutstandingId(): number {
    let min = Number.POSITIVE_INFINITY;
    for (const b of this.outstanding) if (b.id < min) min = b.id;
    return min;
  }

  // ---- timers -------------------------------------------------------------------------------------

  /** Arms the one wake-up timer for the earliest linger end, retry backoff or delivery deadline. */
  private schedule(): void {
    if (this.state === 'disconnected') return;
    const now = this.cluster.clock.nowMs();
    let due = Number.POSITIVE_INFINITY;
    for (const q of this.queues) {
      if (q.reset !== undefined) {
        // Due now once nothing is in flight; resetSequences drains again when done.
        if (q.inflight.length === 0 && !q.resetting) due = now;
        continue;
      }
      const first = q.queue[0];
      if (first !== undefined) due = Math.min(due, first.createdAtMs + this.options.deliveryTimeoutMs);
      if (q.retry.length > 0) {
        if (q.inflight.length === 0) due = Math.min(due, q.retry[0]!.retryAtMs, q.retry[0]!.createdAtMs + this.options.deliveryTimeoutMs);
      } else if (first !== undefined && q.inflight.length < this.options.maxInFlightRequests) {
        due = Math.min(due, this.isReady(first, now) ? now : first.createdAtMs + this.options.lingerMs);
      }
    }
    if (due === Number.POSITIVE_INFINITY || due >= this.wakeAtMs) return;
    this.cancelWake();
    this.wakeAtMs = due;
    this.cancelWake = this.cluster.clock.setTimer(Math.max(0, due - now), () => {
      this.wakeAtMs = Number.POSITIVE_INFINITY;
      this.cancelWake = () => {};
      this.drain();
      this.schedule();
    });
  }

  // ---- producer ids -------------------------------------------------------------------------------

  private async initProducerId(): Promise<ProducerIdentity> {
    return withRetry({ clock: this.cluster.clock, random: this.cluster.random }, INIT_RETRY, async () => {
      const response = await this.cluster.requestAny('init-producer-id', {});
      if ('error' in response) throw metadataErrorOf(response);
      return { producerId: response.producerId, producerEpoch: response.producerEpoch };
    });
  }

  /** A producer id newer than `used` (shared by partitions resetting at the same time). */
  private freshIdentity(used: ProducerIdentity | undefined): Promise<ProducerIdentity> {
    if (this.identity !== undefined && this.identity !== used) return Promise.resolve(this.identity);
    this.identityFetch ??= this.initProducerId().then(
      (identity) => {
        this.identity = identity;
        this.identityFetch = undefined;
        return identity;
      },
      (e: unknown) => {
        this.identityFetch = undefined;
        throw e;
      },
    );
    return this.identityFetch;
  }
}
