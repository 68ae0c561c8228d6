/**
 * The way to one group's coordinator: find it (find-coordinator to any broker), send it requests, and
 * find it again when it moved (Kafka's FindCoordinator + the consumer's coordinator handling).
 *
 * Contract:
 * - `send` makes one attempt: it finds the coordinator if it is not known (single-flight), sends the
 *   request there and returns the answer. It rejects with a retriable SkeinError, after forgetting the
 *   coordinator, when the answer is NOT_COORDINATOR or COORDINATOR_NOT_AVAILABLE, when the connection
 *   to it is lost, it cannot be reached or the request times out; COORDINATOR_LOAD_IN_PROGRESS rejects
 *   (retriable) but keeps it. Every other answer — errors included — is returned as a value.
 * - `sendWithRetry` repeats `send` with backoff (`retry`, jittered) while the failure is retriable and
 *   the deadline has not passed or `cancelled()` says stop; it rejects with the last error.
 * - A coordinator answer from find-coordinator is only a hint: the first request tells whether it holds.
 *
 * Browser-safe.
 */
import type { Logger } from '../util/log.js';
import { ConnectionError, SkeinError, toSkeinError } from './errors.js';
import { groupErrorOf, isCoordinatorError, isCoordinatorMoved } from './group-errors.js';
import { groupRequest, groupRequestAny, type GroupCluster, type GroupRequestKind, type GroupRequestMap } from './group-wire.js';
import { backoffMs, sleep, type ResolvedRetryOptions } from './retry.js';

/** The requests that go to a group's coordinator (find-coordinator and list-groups go anywhere). */
export type CoordinatedKind = Exclude<GroupRequestKind, 'find-coordinator' | 'list-groups'>;

export interface SendRetryOptions {
  /** Give up once this much time passed (ms); default the cluster's request timeout. */
  readonly timeoutMs?: number;
  /** Checked before each attempt and after each backoff: true stops with the last error. */
  readonly cancelled?: () => boolean;
}

/** Whether a failure means the coordinator may be elsewhere now. */
function lostCoordinator(error: SkeinError): boolean {
  return error instanceof ConnectionError || error.code === 'REQUEST_TIMED_OUT' || error.code === 'BROKER_NOT_AVAILABLE';
}

export class GroupCoordinator {
  private nodeId: number | undefined;
  private finding: Promise<number> | undefined;

  constructor(
    private readonly cluster: GroupCluster,
    readonly groupId: string,
    private readonly retry: ResolvedRetryOptions,
    private readonly log: Logger,
  ) {}

  /** The coordinator's node id, if known. */
  get coordinatorId(): number | undefined {
    return this.nodeId;
  }

  /** Forgets the coordinator: the next request finds it again. */
  forget(): void {
    this.nodeId = undefined;
  }

  /** One attempt (see the module header). */
  async send<K extends CoordinatedKind>(kind: K, body: GroupRequestMap[K]['request'], options: { readonly timeoutMs?: number } = {}): Promise<GroupRequestMap[K]['response']> {
    const nodeId = await this.find();
    let answer: GroupRequestMap[K]['response'];
    try {
      answer = await groupRequest(this.cluster, nodeId, kind, body, options);
    } catch (e) {
      const error = toSkeinError(e);
      if (lostCoordinator(error) && this.nodeId === nodeId) this.forget();
      throw error;
    }
    const code = wholeRequestError(answer);
    if (code !== undefined && isCoordinatorError(code.error)) {
      if (isCoordinatorMoved(code.error) && this.nodeId === nodeId) this.forget();
      throw groupErrorOf(code);
    }
    return answer;
  }

  /** `send`, repeated with backoff while retriable (see the module header). */
  async sendWithRetry<K extends CoordinatedKind>(kind: K, body: GroupRequestMap[K]['request'], options: SendRetryOptions = {}): Promise<GroupRequestMap[K]['response']> {
    const deadline = this.cluster.clock.nowMs() + (options.timeoutMs ?? this.cluster.requestTimeoutMs);
    for (let attempt = 0; ; attempt++) {
      try {
        const left = deadline - this.cluster.clock.nowMs();
        return await this.send(kind, body, { timeoutMs: Math.max(1, Math.min(this.cluster.requestTimeoutMs, left)) });
      } catch (e) {
        const error = toSkeinError(e);
        const delayMs = backoffMs(this.retry, Math.min(attempt, 30), this.cluster.random);
        if (!error.retriable || options.cancelled?.() === true || this.cluster.clock.nowMs() + delayMs >= deadline) throw error;
        this.log('group %s: %s %s; again in %d ms', this.groupId, kind, error.message, delayMs);
        await sleep(this.cluster.clock, delayMs);
        if (options.cancelled?.() === true) throw error;
      }
    }
  }

  /** The coordinator's node id, asking any broker when it is not known. Single-flight. */
  private find(): Promise<number> {
    if (this.nodeId !== undefined) return Promise.resolve(this.nodeId);
    if (this.finding !== undefined) return this.finding;
    const finding = (async () => {
      try {
        const answer = await groupRequestAny(this.cluster, 'find-coordinator', { groupId: this.groupId });
        if ('error' in answer) throw groupErrorOf(answer);
        this.log('group %s: coordinator is node %d (%s)', this.groupId, answer.nodeId, answer.url);
        this.nodeId = answer.nodeId;
        return answer.nodeId;
      } finally {
        this.finding = undefined;
      }
    })();
    this.finding = finding;
    return finding;
  }
}

/**
 * The error an answer carries for the whole request: a top-level `{ error }`, or a coordinator error
 * on one of its items (offset-commit results, describe-groups and delete-groups entries): a
 * coordinator that moved says so for each item. (The admin sends one group per request, so a
 * per-group coordinator error is the request's.)
 */
function wholeRequestError(answer: unknown): { error: string; message: string } | undefined {
  if (typeof answer !== 'object' || answer === null) return undefined;
  const a = answer as { error?: unknown; message?: unknown; results?: unknown; groups?: unknown };
  if (typeof a.error === 'string') return { error: a.error, message: typeof a.message === 'string' ? a.message : '' };
  const items = Array.isArray(a.results) ? a.results : Array.isArray(a.groups) ? a.groups : [];
  for (const r of items as Array<{ error?: unknown; message?: unknown }>) {
    if (typeof r.error === 'string' && isCoordinatorError(r.error)) return { error: r.error, message: typeof r.message === 'string' ? r.message : '' };
  }
  return undefined;
}
