/**
 * A group member's offset commits: one at a time, in order, with the member's id and epoch.
 *
 * Contract:
 * - Commits are serialized: a commit starts only once the one before it settled, so an older offset
 *   never lands after a newer one. What a commit sends is chosen when its turn comes (`select`), from
 *   the positions at that moment — never from a snapshot that may have gone stale while it waited.
 * - Only entries whose offset differs from the last one known committed for that partition are sent
 *   (unless `force`); "known committed" is what this member committed or fetched.
 * - STALE_MEMBER_EPOCH (the member's epoch moved on): heartbeat, then commit again with the new epoch.
 *   UNKNOWN_MEMBER_ID / FENCED_MEMBER_EPOCH: the member is told (`fenced`) and the commit rejects with
 *   FencedMemberError — nothing is retried: the partitions may already belong to someone else.
 *   Coordinator errors and lost connections are retried with backoff until the commit's deadline.
 * - Without a member epoch (not joined, or fenced) nothing is sent: the commit rejects with
 *   FencedMemberError('UNKNOWN_MEMBER_ID') when entries were asked for.
 *
 * Browser-safe.
 */
import type { Logger } from '../util/log.js';
import { SkeinError, toSkeinError } from './errors.js';
import type { GroupCoordinator } from './group-coordinator.js';
import { FencedMemberError, StaleMemberEpochError, groupErrorOf } from './group-errors.js';
import { partitionKey } from './group-partitions.js';
import type { CommitOffsetEntry } from './group-wire.js';

/** One offset to commit: `offset` is the next one to read (Kafka's convention). */
export interface CommitEntry {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  /** The leader epoch of the last record consumed, -1 when unknown. */
  readonly leaderEpoch: number;
  readonly metadata?: string;
}

export interface CommitMember {
  readonly memberId: string;
  readonly memberEpoch: number;
}

export interface CommitterDeps {
  readonly coordinator: GroupCoordinator;
  readonly groupId: string;
  /** The member's id and epoch now; undefined while it has none (joining, fenced, left). */
  member(): CommitMember | undefined;
  /** Sends a heartbeat now; resolves once it was answered (or failed). */
  heartbeatNow(): Promise<void>;
  /** The coordinator says this member is gone: it must drop its partitions and rejoin. */
  fenced(error: FencedMemberError): void;
  /** A commit succeeded: what was committed, with the epoch it carried. */
  committed(entries: readonly CommitEntry[], member: CommitMember): void;
  readonly nowMs: () => number;
  readonly log: Logger;
}

/** STALE_MEMBER_EPOCH answers in a row after which a commit gives up. */
const STALE_RETRIES_MAX = 5;

export class OffsetCommitter {
  private readonly known = new Map<string, number>();
  private tail: Promise<unknown> = Promise.resolve();

  constructor(private readonly deps: CommitterDeps) {}

  /** The offset known committed for a partition, if any. */
  committedOffset(topic: string, partition: number): number | undefined {
    return this.known.get(partitionKey(topic, partition));
  }

  /** Records an offset known committed (fetched from the coordinator). */
  remember(topic: string, partition: number, offset: number): void {
    this.known.set(partitionKey(topic, partition), offset);
  }

  forget(topic: string, partition: number): void {
    this.known.delete(partitionKey(topic, partition));
  }

  /**
   * Commits what `select()` returns when this commit's turn comes. Resolves with what was sent
   * (empty when nothing had changed); rejects with FencedMemberError, a non-retriable group error, or
   * the last retriable error once `timeoutMs` passed.
   */
  commit(select: () => readonly CommitEntry[], options: { readonly force?: boolean; readonly timeoutMs: number }): Promise<CommitEntry[]> {
    const run = this.tail.then(() => this.commitNow(select, options));
    this.tail = run.catch(() => undefined);
    return run;
  }

  private async commitNow(select: () => readonly CommitEntry[], options: { readonly force?: boolean; readonly timeoutMs: number }): Promise<CommitEntry[]> {
    const deadline = this.deps.nowMs() + options.timeoutMs;
    for (let stale = 0; ; stale++) {
      const entries = select().filter((e) => options.force === true || this.known.get(partitionKey(e.topic, e.partition)) !== e.offset);
      if (entries.length === 0) return [];
      const member = this.deps.member();
      if (member === undefined) throw new FencedMemberError('UNKNOWN_MEMBER_ID', `group ${this.deps.groupId}: not a member right now (joining or fenced): nothing committed`);
      const offsets: CommitOffsetEntry[] = entries.map((e) => ({ topic: e.topic, partition: e.partition, offset: e.offset, leaderEpoch: e.leaderEpoch, metadata: e.metadata ?? '' }));
      const answer = await this.deps.coordinator.sendWithRetry(
        'offset-commit',
        { groupId: this.deps.groupId, memberId: member.memberId, memberEpoch: member.memberEpoch, offsets },
        { timeoutMs: Math.max(1, deadline - this.deps.nowMs()) },
      );
      const failure = 'error' in answer ? groupErrorOf(answer) : firstFailure(answer.results);
      if (failure === undefined) {
        for (const e of entries) this.known.set(partitionKey(e.topic, e.partition), e.offset);
        this.deps.committed(entries, member);
        return entries;
      }
      if (failure instanceof FencedMemberError) {
        this.deps.fenced(failure);
        throw failure;
      }
      if (failure instanceof StaleMemberEpochError && stale < STALE_RETRIES_MAX && this.deps.nowMs() < deadline) {
        this.deps.log('group %s: commit with stale epoch %d; heartbeating first', this.deps.groupId, member.memberEpoch);
        await this.deps.heartbeatNow();
        continue;
      }
      // Some partitions may have been committed: forget what we knew so the next commit sends them all again.
      for (const e of entries) this.known.delete(partitionKey(e.topic, e.partition));
      throw failure;
    }
  }
}

/** The first per-partition failure of a commit answer (fencing first: it outranks everything). */
function firstFailure(results: ReadonlyArray<{ readonly error?: string; readonly message?: string }>): SkeinError | undefined {
  const failed = results.filter((r) => r.error !== undefined && r.error !== '');
  if (failed.length === 0) return undefined;
  const errors = failed.map((r) => groupErrorOf({ error: r.error ?? '', message: r.message ?? '' }));
  return errors.find((e) => e instanceof FencedMemberError) ?? errors.find((e) => e instanceof StaleMemberEpochError) ?? errors[0] ?? toSkeinError('INVALID_REQUEST');
}
