/**
 * Replica-fetch between two replica managers on simulated disks and virtual time: broker 2 follows
 * every partition from broker 1 with one request at a time (replica-fetcher.ts), broker 1 long-polls
 * it over all of them, answers a superseded request at once, and keeps each answer within its byte
 * budget (replica-fetch.ts).
 */
import { expect } from 'chai';
import { MetadataImage } from '../../src/metadata/image.js';
import type { MetadataRecord } from '../../src/metadata/records.js';
import { encodeRecordBatch } from '../../src/partitions/record-batch.js';
import type { ReplicaFetchRequest, ReplicaFetchResponse } from '../../src/partitions/replica-fetch.js';
import { ReplicaManager, type ReplicaManagerOptions } from '../../src/partitions/replica-manager.js';
import { SeededRandom } from '../../src/util/random.js';
import { Scheduler } from '../../sim/scheduler.js';
import { SimLogDisk } from '../../sim/sim-log-fs.js';
import { simLogs } from './sim-logs.js';

interface Sent {
  readonly atMs: number;
  readonly request: ReplicaFetchRequest;
  answeredAtMs?: number;
  response?: ReplicaFetchResponse;
}

const WAIT_MS = 500;

class TwoBrokers {
  readonly scheduler = new Scheduler();
  readonly managers = new Map<number, ReplicaManager>();
  private readonly images = new Map<number, MetadataImage>();
  /** Every replica-fetch broker 2 sent to broker 1. */
  readonly sent: Sent[] = [];
  private offset = 0;

  constructor(follower: Partial<ReplicaManagerOptions> = {}) {
    for (const id of [1, 2]) {
      const fs = new SimLogDisk({ clock: this.scheduler, random: new SeededRandom(id), latencyMs: { min: 0, max: 1 } }).mount();
      const manager = new ReplicaManager({
        brokerId: id,
        clock: this.scheduler,
        logger: () => {},
        ...simLogs(fs),
        replicaFetch: async (leader, request) => {
          const entry: Sent = { atMs: this.scheduler.nowMs(), request };
          this.sent.push(entry);
          const response = await (this.managers.get(leader) as ReplicaManager).replicaFetch(request);
          entry.answeredAtMs = this.scheduler.nowMs();
          entry.response = response;
          return response;
        },
        alterPartition: () => new Promise(() => {}), // the ISR stays as created
        brokerEpoch: () => 1,
        mayLead: () => true,
        replicaFetchWaitMaxMs: WAIT_MS,
        replicaFetchers: 1,
        ...(id === 2 ? follower : {}),
      });
      this.managers.set(id, manager);
      this.images.set(id, new MetadataImage());
      manager.start();
    }
  }

  get now(): number {
    return this.scheduler.nowMs();
  }

  async apply(records: MetadataRecord[]): Promise<void> {
    this.offset++;
    for (const [id, manager] of this.managers) {
      const image = this.images.get(id) as MetadataImage;
      manager.onDelta(image.applyBatch(records, this.offset), image);
    }
    await this.run(20);
  }

  /** Runs `ms` of virtual time, letting the promise jobs between events run. */
  async run(ms: number): Promise<void> {
    const until = this.now + ms;
    while (this.now < until) {
      await new Promise((resolve) => setImmediate(resolve));
      await this.scheduler.runUntil({ untilMs: Math.min(until, this.now + 5) });
    }
  }

  async createTopic(topicId: string, partitions: number): Promise<void> {
    const records: MetadataRecord[] = [{ type: 'topic', name: topicId.toLowerCase(), topicId }];
    for (let p = 0; p < partitions; p++) records.push({ type: 'partition', topicId, partition: p, replicas: [1, 2], isr: [1, 2], leader: 1, leaderEpoch: 0, partitionEpoch: 0 });
    await this.apply(records);
  }

  /** Produces one record to broker 1 and runs virtual time until it is answered. */
  async produce(topicId: string, partition: number, value: string, acks: -1 | 1 = -1): Promise<{ result: unknown; tookMs: number }> {
    const batch = encodeRecordBatch([{ key: null, value: new TextEncoder().encode(value) }], { timestampMs: 1_700_000_000_000 });
    const start = this.now;
    let result: unknown;
    void (this.managers.get(1) as ReplicaManager).produce(topicId, partition, batch, acks, 5000).then((r) => {
      result = r;
    });
    while (result === undefined && this.now - start < 6000) await this.run(1);
    return { result, tookMs: this.now - start };
  }

  logEnd(broker: number, topicId: string, partition: number): number {
    return this.managers.get(broker)?.replica(topicId, partition)?.log.logEndOffset ?? -1;
  }

  stop(): void {
    for (const m of this.managers.values()) m.stop();
  }
}

const keys = (r: ReplicaFetchRequest): string[] => r.partitions.map((p) => `${p.topicId}:${p.partition}`).sort();

async function started(follower: Partial<ReplicaManagerOptions> = {}): Promise<TwoBrokers> {
  const c = new TwoBrokers(follower);
  await c.apply([
    { type: 'register-broker', brokerId: 1, incarnationId: 'a', brokerEpoch: 1, endpoints: [], rack: '' },
    { type: 'register-broker', brokerId: 2, incarnationId: 'b', brokerEpoch: 1, endpoints: [], rack: '' },
    { type: 'broker-registration-change', brokerId: 1, brokerEpoch: 1, fenced: false },
    { type: 'broker-registration-change', brokerId: 2, brokerEpoch: 1, fenced: false },
  ]);
  return c;
}

describe('replica-fetch: one request per leader for all followed partitions', () => {
  it('long-polls all partitions in one request, and an append to any of them answers it at once', async () => {
    const c = await started();
    await c.createTopic('T', 3);
    await c.run(2000);
    const idle = c.sent.filter((s) => s.atMs >= 1000);
    expect(idle.length, 'idle: about one long poll per 500 ms').to.be.within(2, 4);
    for (const s of idle) expect(keys(s.request)).to.deep.equal(['T:0', 'T:1', 'T:2']);
    for (const s of idle.slice(0, -1)) expect((s.answeredAtMs as number) - s.atMs, 'an idle poll waits out maxWait').to.equal(WAIT_MS);

    const { result, tookMs } = await c.produce('T', 1, 'a');
    expect(result).to.deep.include({ baseOffset: 0, lastOffset: 0 });
    expect(tookMs, 'acknowledged without waiting for the long poll to time out').to.be.lessThan(WAIT_MS);
    expect(c.logEnd(2, 'T', 1)).to.equal(1);
    const carrying = c.sent.find((s) => s.response?.partitions.some((r) => 'records' in r && r.records.length > 0));
    expect(carrying, 'the records came in a request for all three partitions').to.not.equal(undefined);
    expect(keys((carrying as Sent).request)).to.deep.equal(['T:0', 'T:1', 'T:2']);
    const carried = carrying as Sent;
    expect((carried.answeredAtMs as number) - carried.atMs, 'the parked poll was answered by the append, not by its timeout').to.be.lessThan(WAIT_MS);
    c.stop();
  });

  it('a partition added while a request is parked is fetched at once: a new request for all, the old one answered', async () => {
    const c = await started();
    await c.createTopic('T', 2);
    await c.run(1200);
    const parked = c.sent[c.sent.length - 1] as Sent;
    expect(parked.answeredAtMs, 'a long poll is parked').to.equal(undefined);
    await c.createTopic('U', 1);
    const after = c.sent.filter((s) => s.atMs > parked.atMs);
    const withU = after.find((s) => keys(s.request).includes('U:0'));
    expect(withU, 'a request carries the new partition').to.not.equal(undefined);
    expect(keys((withU as Sent).request)).to.deep.equal(['T:0', 'T:1', 'U:0']);
    expect(parked.answeredAtMs, 'the superseded request was answered at once, not after maxWait').to.be.lessThan(parked.atMs + WAIT_MS);
    const { result, tookMs } = await c.produce('U', 0, 'u');
    expect(result).to.deep.include({ baseOffset: 0 });
    expect(tookMs).to.be.lessThan(WAIT_MS);
    c.stop();
  });

  it('spreads a leader\'s partitions over replicaFetchers requests, each parked on its own', async () => {
    const c = await started({ replicaFetchers: 2 });
    await c.createTopic('T', 3);
    await c.run(2000);
    const idle = c.sent.filter((s) => s.atMs >= 1000);
    const byFetcher = new Map<number, string[]>();
    for (const s of idle) byFetcher.set(s.request.fetcherId, keys(s.request));
    expect([...byFetcher.keys()].sort()).to.deep.equal([0, 1]);
    expect([...byFetcher.values()].flat().sort(), 'every partition in exactly one fetcher').to.deep.equal(['T:0', 'T:1', 'T:2']);
    for (const s of idle.filter((x) => x.answeredAtMs !== undefined)) expect((s.answeredAtMs as number) - s.atMs, 'neither fetcher supersedes the other').to.equal(WAIT_MS);
    for (const p of [0, 1, 2]) {
      const { result, tookMs } = await c.produce('T', p, `v${p}`);
      expect(result).to.deep.include({ baseOffset: 0 });
      expect(tookMs).to.be.lessThan(WAIT_MS);
    }
    c.stop();
  });

  it('keeps each answer within its byte budget; partitions past it still advance the HW and catch up in turn', async () => {
    const c = await started({ replicaFetchResponseMaxBytes: 1 });
    await c.createTopic('T', 3);
    await c.run(1000);
    // acks=1: all three leaders' logs grow before the follower has fetched any of it.
    for (let i = 0; i < 5; i++) for (const p of [0, 1, 2]) await c.produce('T', p, `v${i}`, 1);
    await c.run(2000);
    for (const p of [0, 1, 2]) expect(c.logEnd(2, 'T', p), `partition ${p} caught up`).to.equal(5);
    for (const s of c.sent) {
      const withRecords = s.response?.partitions.filter((r) => 'records' in r && r.records.length > 0) ?? [];
      expect(withRecords.length, 'one partition per answer with a budget of 1 byte').to.be.at.most(1);
    }
    for (const p of [0, 1, 2]) expect(c.managers.get(1)?.replica('T', p)?.log.highWatermark, `HW of ${p}`).to.equal(5);
    const { result } = await c.produce('T', 2, 'last');
    expect(result, 'acks=all still works').to.deep.include({ baseOffset: 5 });
    c.stop();
  });
});
