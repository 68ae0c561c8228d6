/**
 * A consumer's membership in a group, KIP-848 style (the coordinator computes assignments; the member
 * heartbeats what it owns and reconciles toward what it is given, incrementally): the heartbeat loop,
 * the member id and epoch, and the reconciliation driver. What reconciling means for the partitions
 * (fetch, commit, stop) is the host's job (`MembershipHost`, group-session.ts).
 *
 * Invariants:
 * - One heartbeat in flight at a time. A heartbeat carries `subscribedTopics` on join, after a change
 *   and after any failed heartbeat; `ownedPartitions` the same way and after every reconciliation step
 *   (absent = unchanged, per the contract), so the coordinator always ends up with what we own.
 * - Reconciliation is ordered: partitions to give up are revoked first (the host stops them, waits for
 *   their running callback and commits what was processed), the smaller owned set is reported at
 *   once, and only then are new partitions started. A partition is reported released only after the
 *   host's `revoke` resolved for it.
 * - Fencing (UNKNOWN_MEMBER_ID / FENCED_MEMBER_EPOCH from a heartbeat or a commit, or no successful
 *   heartbeat for a whole session timeout): the running reconciliation is abandoned, every partition is
 *   dropped without a commit (`host.loseAll`), and the member rejoins with epoch 0 and the same id.
 * - Retriable failures (coordinator moved, loading, lost connection, timeout) are retried with backoff;
 *   the member keeps its partitions meanwhile (its session lives on the coordinator for
 *   sessionTimeoutMs). Other errors are fatal: `host.fatal` and the loop ends.
 *
 * Browser-safe; time through the cluster's Clock.
 */
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import type { Random } from '../util/random.js';
import { Signal } from './consumer-sync.js';
import { SkeinError, toSkeinError } from './errors.js';
import type { GroupCoordinator } from './group-coordinator.js';
import { FencedMemberError, groupErrorOf } from './group-errors.js';
import { keysOf, listOf, minus, parseKey, sameKeys, type TopicPartition } from './group-partitions.js';
import { MemberEpoch, type HeartbeatRequest } from './group-wire.js';
import { backoffMs, type ResolvedRetryOptions } from './retry.js';

export interface MembershipHost {
  /** Starts consuming `partitions` (committed offsets first). Returns early once `current()` is false. */
  assign(partitions: readonly TopicPartition[], current: () => boolean): Promise<void>;
  /** Stops `partitions`, waits for their callbacks, commits what was processed (unless `current()` turned false). */
  revoke(partitions: readonly TopicPartition[], current: () => boolean): Promise<void>;
  /** Drops every partition without committing: they may belong to another member already. */
  loseAll(reason: string): Promise<void>;
  /** A membership event for the consumer's listeners. */
  event(event: MembershipEvent): void;
  /** The membership cannot go on (e.g. UNRELEASED_INSTANCE_ID): the run must stop with `error`. */
  fatal(error: SkeinError): void;
}

export type MembershipEvent =
  | { readonly type: 'heartbeat'; readonly memberId: string; readonly memberEpoch: number }
  | { readonly type: 'rebalancing'; readonly memberId: string; readonly memberEpoch: number }
  | { readonly type: 'joined'; readonly memberId: string; readonly memberEpoch: number; readonly assignment: ReturnType<typeof listOf> };

export interface MembershipOptions {
  readonly groupId: string;
  readonly memberId: string;
  /** '' for a dynamic member. */
  readonly instanceId: string;
  readonly clientId: string;
  readonly sessionTimeoutMs: number;
  readonly rebalanceTimeoutMs: number;
  /** Until the coordinator says otherwise. */
  readonly heartbeatIntervalMs: number;
  /** '' = the group's current. */
  readonly assignor: string;
  readonly subscribedTopics: readonly string[];
  readonly retry: ResolvedRetryOptions;
}

export interface MembershipDeps {
  readonly coordinator: GroupCoordinator;
  readonly host: MembershipHost;
  readonly clock: Clock;
  readonly random: Random;
  readonly requestTimeoutMs: number;
  readonly log: Logger;
}

export class GroupMembership {
  readonly memberId: string;
  private epoch: number = MemberEpoch.JOIN;
  private readonly owned = new Set<string>();
  /** Bumped whenever `owned` changes: a heartbeat clears `sendOwned` only if what it carried is still current. */
  private ownedVersion = 0;
  /** The latest assignment not yet reconciled. */
  private target: Set<string> | undefined;
  private reconciling: Promise<void> | undefined;
  /** Bumped to abandon the running reconciliation (fencing, stop). */
  private reconcileGeneration = 0;
  private sendSubscription = true;
  private sendOwned = true;
  private announced = false;
  private intervalMs: number;
  private lastOkMs: number;
  private failures = 0;
  private stopped = false;
  private started = false;
  private everSent = false;
  private fenceReason: string | undefined;
  private rejoining = false;
  /** Ended on a fatal answer (e.g. UNRELEASED_INSTANCE_ID): no goodbye, it could only do harm. */
  private fatalError = false;
  private loop: Promise<void> | undefined;
  private readonly wakeSignal = new Signal();
  /** Resolved after the next heartbeat attempt settles. */
  private heartbeatDone = new Signal();

  constructor(
    private readonly options: MembershipOptions,
    private readonly deps: MembershipDeps,
  ) {
    this.memberId = options.memberId;
    this.intervalMs = options.heartbeatIntervalMs;
    this.lastOkMs = deps.clock.nowMs();
  }

  /** The member epoch, or undefined while the member has none (not joined yet, fenced, stopped). */
  get memberEpoch(): number | undefined {
    return !this.stopped && this.epoch > 0 ? this.epoch : undefined;
  }

  /** The partitions this member owns (reconciled), sorted. */
  ownedPartitions(): ReturnType<typeof listOf> {
    return listOf(this.owned);
  }

  /** Starts heartbeating: the first heartbeat joins. */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.lastOkMs = this.deps.clock.nowMs();
    this.loop = this.heartbeatLoop().catch((e: unknown) => {
      this.stopped = true;
      this.deps.host.fatal(toSkeinError(e));
    });
  }

  /** Heartbeats now; resolves once that heartbeat was answered or failed (at once when stopped). */
  heartbeatNow(): Promise<void> {
    // While dropping everything to rejoin there is no epoch to wait for (and the rejoin may be
    // waiting for the very commit that asks).
    if (this.stopped || !this.started || this.rejoining || this.fenceReason !== undefined) return Promise.resolve();
    const done = new Promise<void>((resolve) => this.heartbeatDone.subscribe(resolve));
    this.wake();
    return done;
  }

  /** A commit was answered UNKNOWN_MEMBER_ID / FENCED_MEMBER_EPOCH: drop everything and rejoin. */
  fenced(error: FencedMemberError): void {
    if (this.stopped) return;
    this.fenceReason ??= error.message;
    this.wake();
  }

  /**
   * Stops heartbeating and abandons a running reconciliation (not awaited: it may be waiting for a
   * callback — unless a rejoin is under way, which waits for it). Then `leave` says goodbye.
   */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.reconcileGeneration++;
    this.wake();
    this.heartbeatDone.fire();
    await this.loop;
  }

  /**
   * Leaves the group (memberEpoch -1; a static member -2 so its assignment waits for it for the
   * session timeout), retried through coordinator moves for up to the request timeout; errors are
   * only logged. Call after `stop` and after committing.
   */
  async leave(): Promise<void> {
    if (!this.everSent || this.fatalError) return;
    const epoch = this.options.instanceId === '' ? MemberEpoch.LEAVE : MemberEpoch.LEAVE_STATIC;
    try {
      const answer = await this.deps.coordinator.sendWithRetry('consumer-group-heartbeat', this.request(epoch, true), { timeoutMs: this.deps.requestTimeoutMs });
      if ('error' in answer) this.deps.log('group %s: leaving: %s', this.options.groupId, answer.message);
      else this.deps.log('group %s: member %s left', this.options.groupId, this.memberId);
    } catch (e) {
      this.deps.log('group %s: leaving: %s', this.options.groupId, toSkeinError(e).message);
    }
    this.epoch = MemberEpoch.JOIN;
  }

  // ---- The heartbeat loop -------------------------------------------------------------------------

  private wake(): void {
    this.wakeSignal.fire();
  }

  private async heartbeatLoop(): Promise<void> {
    while (!this.stopped) {
      if (this.fenceReason !== undefined) {
        await this.rejoin(this.fenceReason);
        continue;
      }
      const ok = await this.heartbeat();
      const done = this.heartbeatDone;
      this.heartbeatDone = new Signal();
      done.fire();
      if (this.stopped || this.fenceReason !== undefined) continue;
      const delayMs = ok ? this.intervalMs : backoffMs(this.options.retry, Math.min(this.failures - 1, 30), this.deps.random);
      await this.sleep(delayMs);
    }
  }

  /** Waits `ms`, or less when woken (a reconciliation step to report, a heartbeatNow, a stop). */
  private sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = (): void => {
        off();
        cancel();
        resolve();
      };
      const off = this.wakeSignal.subscribe(done);
      const cancel = this.deps.clock.setTimer(ms, done);
    });
  }

  private request(epoch: number, full: boolean): HeartbeatRequest {
    const o = this.options;
    return {
      groupId: o.groupId,
      memberId: this.memberId,
      memberEpoch: epoch,
      instanceId: o.instanceId,
      clientId: o.clientId,
      rebalanceTimeoutMs: o.rebalanceTimeoutMs,
      sessionTimeoutMs: o.sessionTimeoutMs,
      assignor: o.assignor,
      ...((full || this.sendSubscription) && { subscribedTopics: [...o.subscribedTopics] }),
      ...((full || this.sendOwned) && { ownedPartitions: listOf(this.owned) }),
    };
  }

  /** One heartbeat; true when answered without error. */
  private async heartbeat(): Promise<boolean> {
    const joining = this.epoch === MemberEpoch.JOIN;
    const body = this.request(this.epoch, joining);
    const ownedVersion = this.ownedVersion;
    this.everSent = true;
    let answer;
    try {
      const timeoutMs = Math.min(this.deps.requestTimeoutMs, this.options.sessionTimeoutMs);
      answer = await this.deps.coordinator.send('consumer-group-heartbeat', body, { timeoutMs });
    } catch (e) {
      return this.failed(toSkeinError(e));
    }
    if (this.stopped) return false;
    if ('error' in answer) return this.failed(groupErrorOf(answer));
    this.failures = 0;
    this.lastOkMs = this.deps.clock.nowMs();
    if (body.subscribedTopics !== undefined) this.sendSubscription = false;
    if (body.ownedPartitions !== undefined && ownedVersion === this.ownedVersion) this.sendOwned = false;
    if (answer.memberId !== '' && answer.memberId !== this.memberId) this.deps.log('group %s: the coordinator calls member %s %s', this.options.groupId, this.memberId, answer.memberId);
    if (answer.memberEpoch !== this.epoch) this.deps.log('group %s: member %s epoch %d -> %d', this.options.groupId, this.memberId, this.epoch, answer.memberEpoch);
    this.epoch = answer.memberEpoch;
    if (answer.heartbeatIntervalMs > 0) this.intervalMs = answer.heartbeatIntervalMs;
    this.deps.host.event({ type: 'heartbeat', memberId: this.memberId, memberEpoch: this.epoch });
    if (answer.assignment !== undefined) this.setTarget(keysOf(answer.assignment));
    else if (joining && !this.announced && this.reconciling === undefined) this.setTarget(new Set(this.owned));
    return true;
  }

  private failed(error: SkeinError): boolean {
    this.failures++;
    // The coordinator may not have seen what we sent (or may be a new one): say everything again.
    this.sendSubscription = true;
    this.sendOwned = true;
    if (error instanceof FencedMemberError) {
      this.deps.log('group %s: member %s fenced (%s): rejoining', this.options.groupId, this.memberId, error.code);
      this.fenceReason ??= `${error.code}: ${error.message}`;
      return false;
    }
    if (error.code === 'NOT_CONNECTED') {
      // The consumer was closed under us: nothing to do any more.
      this.stopped = true;
      return false;
    }
    if (!error.retriable) {
      this.stopped = true;
      this.fatalError = true;
      this.reconcileGeneration++;
      this.deps.host.fatal(error);
      return false;
    }
    const silentMs = this.deps.clock.nowMs() - this.lastOkMs;
    this.deps.log('group %s: heartbeat failed (%s), %d ms since the last good one', this.options.groupId, error.message, silentMs);
    if (silentMs >= this.options.sessionTimeoutMs && this.epoch !== MemberEpoch.JOIN) {
      // The coordinator has surely expired our session and handed our partitions to others.
      this.fenceReason ??= `no heartbeat answered for ${silentMs} ms (session timeout ${this.options.sessionTimeoutMs} ms)`;
    }
    return false;
  }

  /** Drops everything without committing and starts over with epoch 0 (same member id). */
  private async rejoin(reason: string): Promise<void> {
    this.fenceReason = undefined;
    this.rejoining = true;
    this.reconcileGeneration++;
    // No epoch from here on: a commit in progress fails fast instead of committing for partitions
    // that may be someone else's now, and whoever waits for a heartbeat stops waiting.
    this.epoch = MemberEpoch.JOIN;
    this.heartbeatDone.fire();
    try {
      const running = this.reconciling;
      if (running !== undefined) await running;
      await this.deps.host.loseAll(reason);
    } finally {
      this.rejoining = false;
    }
    this.owned.clear();
    this.ownedVersion++;
    this.target = undefined;
    this.sendSubscription = true;
    this.sendOwned = true;
    this.announced = false;
    this.lastOkMs = this.deps.clock.nowMs();
  }

  // ---- Reconciliation -----------------------------------------------------------------------------

  private setTarget(target: Set<string>): void {
    this.target = target;
    if (this.reconciling !== undefined) return;
    const generation = this.reconcileGeneration;
    const current = (): boolean => generation === this.reconcileGeneration && !this.stopped;
    const running = this.reconcile(current).then(
      () => undefined,
      (e: unknown) => {
        const error = toSkeinError(e);
        if (error instanceof FencedMemberError) this.fenced(error);
        else if (current()) {
          this.stopped = true;
          this.deps.host.fatal(error);
          this.wake();
        }
      },
    );
    this.reconciling = running;
    void running.finally(() => {
      if (this.reconciling === running) this.reconciling = undefined;
      // An assignment that came while abandoning this one waits for the next heartbeat's answer.
    });
  }

  private async reconcile(current: () => boolean): Promise<void> {
    while (current() && this.target !== undefined) {
      const target = this.target;
      this.target = undefined;
      const revoke = minus(this.owned, target);
      const add = minus(target, this.owned);
      if (revoke.size > 0 || add.size > 0) {
        this.deps.host.event({ type: 'rebalancing', memberId: this.memberId, memberEpoch: this.epoch });
        this.deps.log('group %s: member %s reconciles: revoke %o, assign %o', this.options.groupId, this.memberId, listOf(revoke), listOf(add));
      }
      if (revoke.size > 0) {
        await this.deps.host.revoke([...revoke].map(parseKey), current);
        if (!current()) return;
        for (const k of revoke) this.owned.delete(k);
        this.ownedVersion++;
        this.sendOwned = true;
        // Report the release at once: the coordinator hands these partitions over only after it.
        this.wake();
      }
      if (add.size > 0) {
        await this.deps.host.assign([...add].map(parseKey), current);
        if (!current()) return;
        for (const k of add) this.owned.add(k);
        this.ownedVersion++;
        this.sendOwned = true;
        this.wake();
      }
      if (revoke.size > 0 || add.size > 0 || !this.announced) {
        this.announced = true;
        if (sameKeys(this.owned, target)) this.deps.host.event({ type: 'joined', memberId: this.memberId, memberEpoch: this.epoch, assignment: listOf(this.owned) });
      }
    }
  }
}

