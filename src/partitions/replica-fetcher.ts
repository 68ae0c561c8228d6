/**
 * Replica-fetch, the follower's side: a fetcher (Kafka's ReplicaFetcherThread) sends one request for
 * all of its partitions of one leader broker (replica-fetch.ts), hands each partition's answer to its
 * replica, and fetches again once all of them are handled (appended and, with flush=always, fsynced,
 * so that the next fetch reports a durable offset). A broker pair needs as many fetches in flight as
 * the follower has fetchers for that leader (ReplicaManager keeps a few), not one per partition.
 *
 * Invariants:
 * - A partition belongs to the fetcher of the leader its replica names; at each round the fetcher
 *   drops partitions that moved, stopped being followers or are no longer hosted. Answers to a
 *   request sent before a move are ignored by the replica (PartitionReplica.handleFetchResponse
 *   checks the leader epoch and the fetch offset), so a partition briefly in two fetchers is safe.
 * - When the set of partitions to fetch grows while a request is parked at the leader (a partition
 *   added, or back from a backoff), the fetcher sends a new request for all of them at once and
 *   drops the old one's answer; the leader answers the old one at once. So a new partition never
 *   waits behind the long poll of the others.
 * - A partition whose answer is an error backs off alone; a failed request (the network) backs off
 *   the whole fetcher. A failed assertion while handling an answer is a bug: `onFatal`, and the
 *   fetcher stops.
 * - The fetcher stops when no partition is left to fetch; ReplicaManager starts it again with `add`.
 */
import type { Clock } from '../util/clock.js';
import { AssertionError } from '../util/assert.js';
import type { PartitionFetch, ReplicaFetchRequest, ReplicaFetchResponse } from './replica-fetch.js';
import type { FetchRequest, PartitionReplica } from './replica.js';

export interface ReplicaFetcherDeps {
  readonly leader: number;
  /** This fetcher's number among this broker's fetchers for `leader`. */
  readonly fetcherId: number;
  readonly brokerId: number;
  readonly clock: Clock;
  /** Sends a replica-fetch to the leader. Rejects on a network failure or timeout. */
  readonly send: (leader: number, request: ReplicaFetchRequest) => Promise<ReplicaFetchResponse>;
  /** Whether the replica manager still hosts this replica (it was not removed or replaced). */
  readonly isHosted: (replica: PartitionReplica) => boolean;
  readonly stopped: () => boolean;
  readonly maxWaitMs: number;
  /** Per partition (Kafka's replica.fetch.max.bytes) and for the whole response. */
  readonly partitionMaxBytes: number;
  readonly responseMaxBytes: number;
  readonly backoffMs: number;
  readonly onFatal?: (error: unknown) => void;
  /** The fetcher stopped with no partitions left. */
  readonly onIdle: () => void;
}

interface Member {
  readonly topicId: string;
  readonly partition: number;
  /** Clock time before which this partition is not fetched (after an error). */
  backoffUntil: number;
}

export class ReplicaFetcher {
  private readonly members = new Map<PartitionReplica, Member>();
  private running = false;
  /** While a request is in flight: drops it and starts a new round. */
  private supersede: (() => void) | undefined;
  private round = 0;

  constructor(private readonly deps: ReplicaFetcherDeps) {}

  /** How many partitions this fetcher fetches (or fetched last round). */
  get size(): number {
    return this.members.size;
  }

  has(replica: PartitionReplica): boolean {
    return this.members.has(replica);
  }

  /** Fetches `replica` from this leader from now on (a no-op if it already does). */
  add(replica: PartitionReplica): void {
    if (!this.members.has(replica)) {
      this.members.set(replica, { topicId: replica.state.topicId, partition: replica.state.partition, backoffUntil: 0 });
      this.supersede?.();
    }
    if (!this.running) {
      this.running = true;
      void this.loop().finally(() => {
        this.running = false;
        if (this.members.size === 0) this.deps.onIdle();
      });
    }
  }

  private async loop(): Promise<void> {
    const d = this.deps;
    while (!d.stopped()) {
      const batch = this.nextBatch();
      if (batch.length === 0) {
        const waitMs = this.earliestBackoffEnd() - d.clock.nowMs();
        if (!Number.isFinite(waitMs)) return; // nothing to fetch (no members, or none can fetch now)
        await this.sleep(Math.max(0, waitMs));
        continue;
      }
      const request: ReplicaFetchRequest = { replicaId: d.brokerId, fetcherId: d.fetcherId, maxWaitMs: d.maxWaitMs, maxBytes: d.responseMaxBytes, partitions: batch.map((b) => b.fetch) };
      const sent = d.send(d.leader, request);
      sent.catch(() => {}); // a superseded request's failure is nobody's concern
      const superseded = new Promise<undefined>((resolve) => {
        this.supersede = () => resolve(undefined);
      });
      let response: ReplicaFetchResponse | undefined;
      try {
        response = await Promise.race([sent, superseded]);
        if (response === undefined) continue;
      } catch {
        await this.sleep(d.backoffMs); // the network: try again
        continue;
      } finally {
        this.supersede = undefined;
      }
      if (response.partitions.length !== batch.length) {
        await this.sleep(d.backoffMs); // not an answer to this request
        continue;
      }
      const answers = response.partitions;
      const fatal = await Promise.all(batch.map((b, i) => this.handle(b.replica, b.fetch, answers[i] as ReplicaFetchResponse['partitions'][number])));
      if (fatal.some((f) => f)) return;
    }
  }

  /** The partitions to fetch this round, rotated so that none is always last in the byte budget. */
  private nextBatch(): { replica: PartitionReplica; fetch: PartitionFetch }[] {
    const d = this.deps;
    const now = d.clock.nowMs();
    const batch: { replica: PartitionReplica; fetch: PartitionFetch }[] = [];
    for (const [replica, m] of this.members) {
      if (!d.isHosted(replica) || replica.role !== 'follower' || replica.state.leader !== d.leader) {
        this.members.delete(replica);
        continue;
      }
      if (m.backoffUntil > now) continue;
      const next = replica.nextFetch(d.partitionMaxBytes, d.maxWaitMs);
      if (next === undefined || next.leader !== d.leader) continue; // damaged and rebuilding: not now
      batch.push({ replica, fetch: { ...next.request, topicId: m.topicId, partition: m.partition } });
    }
    if (batch.length === 0) return batch;
    const shift = this.round++ % batch.length;
    return [...batch.slice(shift), ...batch.slice(0, shift)];
  }

  /** Hands one partition's answer to its replica; true on a failed assertion (a bug: stop). */
  private async handle(replica: PartitionReplica, request: FetchRequest, answer: ReplicaFetchResponse['partitions'][number]): Promise<boolean> {
    let backoff: boolean;
    try {
      backoff = (await replica.handleFetchResponse(request, answer)) !== undefined;
    } catch (error) {
      // A failed assertion (truncation below the HW, say) is a bug, never retried silently.
      if (error instanceof AssertionError) {
        this.deps.onFatal?.(error);
        return true;
      }
      backoff = true;
    }
    const member = this.members.get(replica);
    if (backoff && member !== undefined) {
      member.backoffUntil = this.deps.clock.nowMs() + this.deps.backoffMs;
      this.deps.clock.setTimer(this.deps.backoffMs, () => this.supersede?.());
    }
    return false;
  }

  private earliestBackoffEnd(): number {
    let earliest = Number.POSITIVE_INFINITY;
    for (const m of this.members.values()) if (m.backoffUntil > this.deps.clock.nowMs()) earliest = Math.min(earliest, m.backoffUntil);
    return earliest;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.deps.clock.setTimer(ms, resolve));
  }
}
