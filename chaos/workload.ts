/**
 * The chaos workload, through the real client library (src/client) and recorded in the History:
 * - `producers` idempotent producers with acks=all, each writing unique values `p<k>-<n>` one record
 *   per send to an explicit partition (round robin over the partitions with room: at most `window`
 *   sends in flight per partition, so a partition without a leader holds up no other), paced. A send
 *   that rejects is recorded as unknown (info) unless the error proves nothing was sent (fail). A
 *   producer that turns fatal (ProducerFencedError) is replaced by a new one (a new producer id).
 * - `manualConsumers` consumers with manual assignment of every partition from the start, each
 *   recording every record with the high watermark of the fetch answer that carried it.
 * - `groupMembers` members of one consumer group (autoCommit off): they record assignments,
 *   revocations and losses, every record read, and commit their processed positions every second and
 *   on revocation, one commit at a time per member (so a member's commits never overtake each other).
 *
 * `stopProducers()` waits for every send to settle (bounded by the delivery timeout); `drain(ends)`
 * waits until every consumer has read to the given end offsets and commits them; `close()`
 * disconnects everything. Nothing here throws into the caller: client errors become history events.
 */
import { Skein } from '../src/client/skein.js';
import type { Producer } from '../src/client/producer.js';
import type { Consumer } from '../src/client/consumer.js';
import type { Batch, TopicPartitionList } from '../src/client/consumer-types.js';
import type { History } from './history.js';

const decoder = new TextDecoder();
const DEFINITE_FAILURES = new Set(['INVALID_ARGUMENT', 'NOT_CONNECTED']);
const PRODUCER_DELIVERY_TIMEOUT_MS = 15_000;

export interface WorkloadOptions {
  readonly brokers: readonly string[];
  readonly topic: string;
  readonly partitions: number;
  readonly groupId: string;
  readonly producers?: number;
  readonly manualConsumers?: number;
  readonly groupMembers?: number;
  /** Pause between two sends of one producer; default 4 ms (about 250 sends/s per producer at most). */
  readonly sendIntervalMs?: number;
  readonly window?: number;
  readonly log: (line: string) => void;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function errorText(e: unknown): string {
  const code = (e as { code?: unknown }).code;
  const message = e instanceof Error ? e.message : String(e);
  return typeof code === 'string' ? `${code}: ${message}` : message;
}

class ProducerWorker {
  private producer: Producer | undefined;
  private seq = 0;
  private running = true;
  private readonly inFlight = new Set<Promise<void>>();
  private loop: Promise<void> | undefined;
  replaced = 0;

  constructor(
    private readonly name: string,
    private readonly skein: Skein,
    private readonly history: History,
    private readonly o: WorkloadOptions,
  ) {}

  start(): void {
    this.loop = this.run();
  }

  private async fresh(): Promise<Producer> {
    for (let attempt = 0; ; attempt++) {
      const p = this.skein.producer({ acks: -1, idempotent: true, lingerMs: 2, deliveryTimeoutMs: PRODUCER_DELIVERY_TIMEOUT_MS, requestTimeoutMs: 5000, timeout: 5000 });
      try {
        await p.connect();
        return p;
      } catch (e) {
        await p.disconnect().catch(() => {});
        if (!this.running) throw e;
        if (attempt % 10 === 0) this.o.log(`${this.name}: connect failed (${errorText(e)}); retrying`);
        await sleep(250);
      }
    }
  }

  private async run(): Promise<void> {
    // Per partition: a partition whose leader is gone must not hold up the others.
    const window = this.o.window ?? 4;
    const perPartition = new Array<number>(this.o.partitions).fill(0);
    let next = 0;
    while (this.running) {
      if (this.producer === undefined) {
        try {
          this.producer = await this.fresh();
        } catch {
          return;
        }
      }
      let partition = -1;
      for (let i = 0; i < this.o.partitions && partition < 0; i++) {
        const p = (next + i) % this.o.partitions;
        if ((perPartition[p] as number) < window) partition = p;
      }
      if (partition < 0) {
        await Promise.race(this.inFlight);
        continue;
      }
      next = (partition + 1) % this.o.partitions;
      const producer = this.producer;
      const value = `${this.name}-${this.seq}`;
      this.seq++;
      perPartition[partition] = (perPartition[partition] as number) + 1;
      const p = partition;
      this.history.record({ f: 'send', type: 'invoke', process: this.name, value, partition });
      const sent = producer.send({ topic: this.o.topic, messages: [{ value, partition }] }).then(
        (result) => {
          const r = result.find((x) => x.partition === partition);
          this.history.record({ f: 'send', type: 'ok', process: this.name, value, partition, ...(r === undefined ? {} : { offset: r.baseOffset }) });
        },
        (e: unknown) => {
          const code = (e as { code?: unknown }).code;
          const definite = typeof code === 'string' && DEFINITE_FAILURES.has(code);
          this.history.record({ f: 'send', type: definite ? 'fail' : 'info', process: this.name, value, partition, error: errorText(e) });
          if (code === 'PRODUCER_FENCED' && this.producer === producer) {
            // Fatal for this producer: carry on with a new one (a new producer id).
            this.producer = undefined;
            this.replaced++;
            void producer.disconnect().catch(() => {});
          }
        },
      );
      const tracked: Promise<void> = sent.finally(() => {
        this.inFlight.delete(tracked);
        perPartition[p] = (perPartition[p] as number) - 1;
      });
      this.inFlight.add(tracked);
      await sleep(this.o.sendIntervalMs ?? 4);
    }
  }

  /** Stops sending and waits for every send in flight to settle. */
  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
    await Promise.all(this.inFlight);
  }

  async close(): Promise<void> {
    await this.producer?.disconnect().catch(() => {});
  }
}

/** A manual-assignment consumer reading every partition from the start. */
class ManualReader {
  readonly positions = new Map<number, number>();
  private consumer: Consumer | undefined;

  constructor(
    readonly name: string,
    private readonly skein: Skein,
    private readonly history: History,
    private readonly o: WorkloadOptions,
  ) {}

  async start(): Promise<void> {
    const c = this.skein.consumer({ maxWaitTimeInMs: 500 });
    this.consumer = c;
    c.on(c.events.OFFSET_RESET, ({ payload }) => this.history.record({ f: 'reset', process: this.name, partition: payload.partition, why: `offset reset from ${payload.fromOffset} (${payload.policy})` }));
    c.on(c.events.TRUNCATION, ({ payload }) => this.history.record({ f: 'reset', process: this.name, partition: payload.partition, why: `truncation from ${payload.fromOffset} to ${payload.toOffset}` }));
    c.on(c.events.CRASH, ({ payload }) => {
      this.history.record({ f: 'anomaly', message: `consumer ${this.name} crashed: ${errorText(payload.error)}` });
    });
    await c.connect();
    await c.assign([{ topic: this.o.topic, fromBeginning: true }]);
    await c.run({ eachBatch: async ({ batch }) => this.onBatch(batch) });
  }

  private onBatch(batch: Batch): void {
    for (const m of batch.messages) {
      this.history.record({ f: 'poll', type: 'ok', process: this.name, partition: batch.partition, offset: m.offset, value: decoder.decode(m.value ?? new Uint8Array()), hw: batch.highWatermark });
      this.positions.set(batch.partition, m.offset + 1);
    }
  }

  async close(): Promise<void> {
    await this.consumer?.disconnect().catch(() => {});
  }
}

/** A member of the consumer group, committing by hand. */
class GroupMember {
  /** partition -> the offset after the last record processed, while owned. */
  readonly processed = new Map<number, number>();
  private readonly committed = new Map<number, number>();
  private consumer: Consumer | undefined;
  private commitChain: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    readonly name: string,
    private readonly skein: Skein,
    private readonly history: History,
    private readonly o: WorkloadOptions,
  ) {}

  async start(): Promise<void> {
    const c = this.skein.consumer({
      groupId: this.o.groupId,
      sessionTimeoutMs: 6000,
      heartbeatIntervalMs: 500,
      autoCommit: false,
      maxWaitTimeInMs: 500,
      rebalanceListener: {
        onPartitionsAssigned: (lists) => {
          for (const p of this.partitionsOf(lists)) {
            const offset = c.position({ topic: this.o.topic, partition: p }) ?? 0;
            this.processed.set(p, offset);
            this.committed.set(p, offset);
            this.history.record({ f: 'assign', process: this.name, partition: p, offset });
          }
        },
        onPartitionsRevoked: async (lists) => {
          const ps = this.partitionsOf(lists);
          await this.commit(ps);
          for (const p of ps) {
            this.history.record({ f: 'revoke', process: this.name, partition: p });
            this.processed.delete(p);
            this.committed.delete(p);
          }
        },
        onPartitionsLost: (lists) => {
          for (const p of this.partitionsOf(lists)) {
            this.history.record({ f: 'lost', process: this.name, partition: p });
            this.processed.delete(p);
            this.committed.delete(p);
          }
        },
      },
    });
    this.consumer = c;
    c.on(c.events.CRASH, ({ payload }) => this.history.record({ f: 'anomaly', message: `group member ${this.name} crashed: ${errorText(payload.error)}` }));
    c.on(c.events.OFFSET_RESET, ({ payload }) => this.history.record({ f: 'reset', process: this.name, partition: payload.partition, why: `offset reset from ${payload.fromOffset} (${payload.policy})` }));
    await c.connect();
    await c.subscribe({ topics: [this.o.topic], fromBeginning: true });
    await c.run({ eachBatch: async ({ batch }) => this.onBatch(batch) });
    const tick = (): void => {
      this.timer = setTimeout(() => {
        void this.commit([...this.processed.keys()]).finally(tick);
      }, 1000);
    };
    tick();
  }

  private partitionsOf(lists: readonly TopicPartitionList[]): number[] {
    return lists.filter((l) => l.topic === this.o.topic).flatMap((l) => l.partitions);
  }

  private onBatch(batch: Batch): void {
    // Recorded even for a partition the member does not own (the checker reports such a read); only
    // owned partitions' positions are committed.
    const owned = this.processed.has(batch.partition);
    for (const m of batch.messages) {
      this.history.record({ f: 'poll', type: 'ok', process: this.name, partition: batch.partition, offset: m.offset, value: decoder.decode(m.value ?? new Uint8Array()), hw: batch.highWatermark });
      if (owned) this.processed.set(batch.partition, m.offset + 1);
    }
  }

  /** Commits the processed positions of `partitions` that moved; one commit at a time per member. */
  commit(partitions: readonly number[]): Promise<void> {
    const next = this.commitChain.then(async () => {
      const c = this.consumer;
      const entries = partitions.flatMap((p) => {
        const offset = this.processed.get(p);
        return offset !== undefined && offset > (this.committed.get(p) ?? -1) ? [{ topic: this.o.topic, partition: p, offset }] : [];
      });
      if (c === undefined || entries.length === 0) return;
      const sentAt = this.history.nowMs();
      for (const e of entries) this.history.record({ f: 'commit', type: 'invoke', process: this.name, partition: e.partition, offset: e.offset });
      try {
        await c.commitOffsets(entries);
        for (const e of entries) {
          this.history.record({ f: 'commit', type: 'ok', process: this.name, partition: e.partition, offset: e.offset, sentAt });
          if (this.committed.has(e.partition)) this.committed.set(e.partition, e.offset);
        }
      } catch (err) {
        for (const e of entries) this.history.record({ f: 'commit', type: 'fail', process: this.name, partition: e.partition, offset: e.offset, error: errorText(err) });
      }
    });
    this.commitChain = next.catch(() => {});
    return this.commitChain;
  }

  async close(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.commitChain;
    await this.consumer?.disconnect().catch(() => {});
  }
}

export class Workload {
  private readonly skein: Skein;
  readonly producers: ProducerWorker[];
  readonly readers: ManualReader[];
  readonly members: GroupMember[];

  constructor(history: History, o: WorkloadOptions) {
    this.skein = new Skein({ brokers: [...o.brokers], clientId: 'chaos', connectTimeoutMs: 3000, requestTimeoutMs: 10_000 });
    this.producers = Array.from({ length: o.producers ?? 3 }, (_, i) => new ProducerWorker(`p${i + 1}`, this.skein, history, o));
    this.readers = Array.from({ length: o.manualConsumers ?? 2 }, (_, i) => new ManualReader(`m${i + 1}`, this.skein, history, o));
    this.members = Array.from({ length: o.groupMembers ?? 3 }, (_, i) => new GroupMember(`g${i + 1}`, this.skein, history, o));
  }

  async start(): Promise<void> {
    await Promise.all([...this.readers.map((r) => r.start()), ...this.members.map((m) => m.start())]);
    for (const p of this.producers) p.start();
  }

  async stopProducers(): Promise<void> {
    await Promise.all(this.producers.map((p) => p.stop()));
  }

  /**
   * Waits (at most `timeoutMs`) until every manual consumer has read each partition to `ends` and the
   * group members together have; then commits every member's positions. Returns what is still behind
   * ('' when nothing).
   */
  async drain(ends: ReadonlyMap<number, number>, timeoutMs: number): Promise<string> {
    const behind = (): string => {
      const out: string[] = [];
      for (const [p, end] of ends) {
        for (const r of this.readers) if ((r.positions.get(p) ?? 0) < end) out.push(`${r.name} p${p} at ${r.positions.get(p) ?? 0}/${end}`);
        const group = Math.max(0, ...this.members.map((m) => m.processed.get(p) ?? 0));
        if (end > 0 && group < end) out.push(`group p${p} at ${group}/${end}`);
      }
      return out.join(', ');
    };
    const deadline = Date.now() + timeoutMs;
    while (behind() !== '' && Date.now() < deadline) await sleep(200);
    await Promise.all(this.members.map((m) => m.commit([...m.processed.keys()])));
    return behind();
  }

  async close(): Promise<void> {
    await Promise.all([...this.members.map((m) => m.close()), ...this.readers.map((r) => r.close()), ...this.producers.map((p) => p.close())]);
  }
}
