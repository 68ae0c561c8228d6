/**
 * Replica-fetch, the leader's side: one request from a follower for every partition it follows from
 * this broker (Kafka's Fetch with many partitions, as its ReplicaFetcherThread sends it), answered
 * with one response per partition in the request's order. Each partition is served exactly as a fetch
 * of its own (PartitionReplica.fetch: epoch checks, KIP-320 divergence, the follower's progress, the
 * HW), so the rules of replication do not depend on how many partitions share a request.
 *
 * Invariants:
 * - Long poll over the whole request: it is answered at once when any partition has records, a
 *   divergence or an error for the follower; otherwise it parks until one does (PartitionReplica
 *   .onFetchable tells of each change, .hasNewsFor judges it without a read) or `maxWaitMs` passes. Every answer reads every
 *   partition afresh, so each partition's progress is recorded when the request arrives and its
 *   records are current when it leaves.
 * - At most one parked request per fetcher of a follower broker: a newer one from the same fetcher
 *   that may wait (its partition set grew, replica-fetcher.ts) answers the parked one at once, so
 *   requests never pile up behind long polls. One with `maxWaitMs` 0 is answered at once and leaves the parked one alone.
 * - Records in the response stay within `maxBytes` (Kafka's replica.fetch.response.max.bytes) plus
 *   at most one batch: each partition may read what is left of the budget, and a read returns at
 *   least one whole batch; partitions past the budget are answered without records (their progress
 *   still counts). The follower rotates the order of its partitions, so none starves.
 */
import type { Clock } from '../util/clock.js';
import type { FetchRequest, FetchResponse, PartitionReplica } from './replica.js';

/** One partition of a replica-fetch: a follower fetch (FetchRequest) and the partition it is for. */
export interface PartitionFetch extends FetchRequest {
  readonly topicId: string;
  readonly partition: number;
}

export interface ReplicaFetchRequest {
  /** The fetching broker. */
  readonly replicaId: number;
  /** Which of that broker's fetchers for this leader sent it (replica-fetcher.ts). */
  readonly fetcherId: number;
  readonly maxWaitMs: number;
  /** Budget of record bytes for the whole response (see the module header). */
  readonly maxBytes: number;
  /** Each partition's own maxWaitMs is ignored: the request's counts. */
  readonly partitions: readonly PartitionFetch[];
}

/** One response per requested partition, in the request's order. */
export interface ReplicaFetchResponse {
  readonly partitions: readonly FetchResponse[];
}

export interface ReplicaFetchSessionsDeps {
  readonly clock: Clock;
  /** A fetch of one partition that is answered at once (maxWaitMs 0), as ReplicaManager.fetch. */
  readonly fetchNow: (topicId: string, partition: number, request: FetchRequest) => Promise<FetchResponse>;
  /** The hosted replica, to park on; undefined when this broker has none. */
  readonly replica: (topicId: string, partition: number) => PartitionReplica | undefined;
}

/** Whether a fetch response is worth sending back now (records, a divergence or an error). */
function hasNews(response: FetchResponse): boolean {
  return 'error' in response || 'divergingEpoch' in response || response.records.length > 0;
}

export class ReplicaFetchSessions {
  /** The parked request of each follower broker's fetcher: calling it answers that request at once. */
  private readonly parked = new Map<string, () => void>();

  constructor(private readonly deps: ReplicaFetchSessionsDeps) {}

  fetch(request: ReplicaFetchRequest): Promise<ReplicaFetchResponse> {
    // No wait: answered now, and it leaves a parked request alone.
    if (request.maxWaitMs <= 0) return this.readAll(request).then((partitions) => ({ partitions }));
    const session = `${request.replicaId}:${request.fetcherId}`;
    this.parked.get(session)?.(); // a newer request from that fetcher supersedes its parked one
    return new Promise<ReplicaFetchResponse>((resolve, reject) => {
      // Listening starts before the first read, so a change during it is not missed.
      let phase: 'reading' | 'parked' | 'answered' = 'reading';
      let superseded = false;
      let changedWhileReading = false;
      let cancelTimer = (): void => {};
      const unsubscribe: (() => void)[] = [];
      const done = (): void => {
        phase = 'answered';
        cancelTimer();
        for (const u of unsubscribe) u();
        if (this.parked.get(session) === answer) this.parked.delete(session);
      };
      const answer = (): void => {
        if (phase === 'reading') superseded = true;
        if (phase !== 'parked') return;
        done();
        this.readAll(request).then((partitions) => resolve({ partitions }), reject);
      };
      this.parked.set(session, answer);
      const watched: [PartitionReplica, PartitionFetch][] = [];
      for (const p of request.partitions) {
        const replica = this.deps.replica(p.topicId, p.partition);
        if (replica === undefined) continue; // answered with an error by the first read
        watched.push([replica, p]);
        unsubscribe.push(
          replica.onFetchable(() => {
            if (phase === 'parked' && replica.hasNewsFor(p)) answer();
            else if (phase === 'reading') changedWhileReading = true;
          }),
        );
      }
      this.readAll(request).then((first) => {
        if (superseded || first.some(hasNews)) {
          done();
          resolve({ partitions: first });
          return;
        }
        phase = 'parked';
        cancelTimer = this.deps.clock.setTimer(request.maxWaitMs, answer);
        if (changedWhileReading && watched.some(([replica, p]) => replica.hasNewsFor(p))) answer();
      }, (error: unknown) => {
        done();
        reject(error);
      });
    });
  }

  /** Every partition read now, in order, within the response's byte budget. */
  private async readAll(request: ReplicaFetchRequest): Promise<FetchResponse[]> {
    const out: FetchResponse[] = [];
    let budget = request.maxBytes;
    for (const p of request.partitions) {
      const maxBytes = Math.max(0, Math.min(p.maxBytes, budget));
      const response = await this.deps.fetchNow(p.topicId, p.partition, { ...p, maxBytes, maxWaitMs: 0 });
      if ('records' in response) budget -= response.records.length;
      out.push(response);
    }
    return out;
  }
}
