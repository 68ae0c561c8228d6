/**
 * A broker's side of its registration with the controller (KIP-631): register once per process start
 * (a fresh incarnation id), then heartbeat every `heartbeatIntervalMs` with the metadata offset it has
 * applied. The controller keeps it fenced until that offset has caught up, and fences it again when
 * heartbeats stop. `controlledShutdown()` asks the controller to move leadership away first.
 *
 * Requests go to the voter that last answered as the active controller; failing that, to the quorum
 * leader the broker's metadata observer knows of, else to each voter in turn. Every request has a
 * timeout, and every failure is retried after `retryBackoffMs` — except NOT_CONTROLLER, which goes to
 * the next voter at once until every voter has said it in a row (a restarted broker finds the active
 * controller without waiting a backoff per wrong guess).
 *
 * States: registering -> fenced <-> running -> shutting-down -> stopped (any -> stopped on stop()).
 */
import type { CancelTimer, Clock } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import type { ErrorResult } from './errors.js';
import type { Endpoint } from './records.js';
import type { ControllerRequest, ControllerResponse } from './rpc.js';

/** Sends one request to node `to`'s controller. Rejects on a network failure or timeout. */
export interface ControllerChannel {
  request<K extends ControllerRequest['kind']>(to: number, request: Extract<ControllerRequest, { kind: K }>): Promise<ControllerResponse<K>>;
}

export type BrokerState = 'registering' | 'fenced' | 'running' | 'shutting-down' | 'stopped';

export interface BrokerLifecycleOptions {
  readonly brokerId: number;
  readonly incarnationId: string;
  readonly endpoints: readonly Endpoint[];
  readonly rack: string;
  readonly voters: readonly number[];
  readonly channel: ControllerChannel;
  readonly clock: Clock;
  readonly logger: Logger;
  /** The quorum leader as the broker's metadata observer knows it (0: unknown). */
  readonly leaderHint: () => number;
  /** The metadata offset this broker has applied. */
  readonly appliedOffset: () => number;
  /** Default 2000 ms (Kafka's broker heartbeat interval). */
  readonly heartbeatIntervalMs?: number;
  /** Default 500 ms. */
  readonly retryBackoffMs?: number;
  /** Controlled shutdown gives up waiting for the controller after this. Default 30,000 ms. */
  readonly controlledShutdownTimeoutMs?: number;
  readonly onStateChange?: (state: BrokerState) => void;
}

export class BrokerLifecycle {
  private stateValue: BrokerState = 'registering';
  private epoch = -1;
  private nextVoter = 0;
  /** The voter whose controller answered the last request (0: none, or it has since failed). */
  private lastController = 0;
  /** NOT_CONTROLLER answers in a row. */
  private notControllerStreak = 0;
  private cancelTimer: CancelTimer = () => {};
  private wantShutdown = false;
  private readonly shutdownWaiters: Array<() => void> = [];

  constructor(private readonly options: BrokerLifecycleOptions) {}

  get state(): BrokerState {
    return this.stateValue;
  }

  /** The epoch of the current registration, or -1 before it. */
  get brokerEpoch(): number {
    return this.epoch;
  }

  start(): void {
    this.schedule(0, () => this.register());
  }

  /**
   * Resolves once the controller has moved leadership away and fenced this broker, on stop(), or
   * after `controlledShutdownTimeoutMs` (a controller that cannot be reached must not block a stop).
   */
  controlledShutdown(): Promise<void> {
    if (this.stateValue === 'stopped') return Promise.resolve();
    this.wantShutdown = true;
    return new Promise((resolve) => {
      // The bound's timer goes with the wait: a stop that finished first leaves no timer behind.
      const cancelBound = this.options.clock.setTimer(this.options.controlledShutdownTimeoutMs ?? 30_000, resolve);
      this.shutdownWaiters.push(() => {
        cancelBound();
        resolve();
      });
    });
  }

  stop(): void {
    this.setState('stopped');
    this.cancelTimer();
    this.releaseShutdownWaiters();
  }

  private releaseShutdownWaiters(): void {
    for (const resolve of this.shutdownWaiters.splice(0)) resolve();
  }

  private setState(state: BrokerState): void {
    if (this.stateValue === state || this.stateValue === 'stopped') return;
    this.options.logger('broker %d: %s -> %s', this.options.brokerId, this.stateValue, state);
    this.stateValue = state;
    this.options.onStateChange?.(state);
  }

  private schedule(delayMs: number, fn: () => Promise<void>): void {
    this.cancelTimer();
    this.cancelTimer = this.options.clock.setTimer(delayMs, () => {
      if (this.stateValue !== 'stopped') void fn();
    });
  }

  private target(): number {
    if (this.lastController !== 0) return this.lastController;
    const hint = this.options.leaderHint();
    // After a NOT_CONTROLLER the hint may be what misled us: go round the voters instead.
    if (this.notControllerStreak === 0 && hint !== 0 && this.options.voters.includes(hint)) return hint;
    const voters = this.options.voters;
    return voters[this.nextVoter++ % voters.length] as number;
  }

  private retry(fn: () => Promise<void>, error: ErrorResult | string, to: number): void {
    const text = typeof error === 'string' ? error : `${error.error}: ${error.message}`;
    this.options.logger('broker %d: %s; retrying', this.options.brokerId, text);
    this.lastController = 0;
    const notController = typeof error !== 'string' && error.error === 'NOT_CONTROLLER';
    this.notControllerStreak = notController ? this.notControllerStreak + 1 : 0;
    // The walk goes on after the voter that said it, so a round asks each voter once.
    if (notController) this.nextVoter = this.options.voters.indexOf(to) + 1;
    const askNextNow = notController && this.notControllerStreak % this.options.voters.length !== 0;
    this.schedule(askNextNow ? 0 : (this.options.retryBackoffMs ?? 500), fn);
  }

  private async register(): Promise<void> {
    const o = this.options;
    const to = this.target();
    let response;
    try {
      response = await o.channel.request(to, {
        kind: 'register-broker',
        brokerId: o.brokerId,
        incarnationId: o.incarnationId,
        endpoints: o.endpoints,
        rack: o.rack,
      });
    } catch (error) {
      this.retry(() => this.register(), error instanceof Error ? error.message : String(error), to);
      return;
    }
    if (this.stateValue === 'stopped') return;
    if ('error' in response) {
      this.retry(() => this.register(), response, to);
      return;
    }
    this.lastController = to;
    this.notControllerStreak = 0;
    this.epoch = response.brokerEpoch;
    o.logger('broker %d: registered with epoch %d', o.brokerId, this.epoch);
    this.setState('fenced');
    this.schedule(0, () => this.heartbeat());
  }

  private async heartbeat(): Promise<void> {
    const o = this.options;
    const to = this.target();
    let response;
    try {
      response = await o.channel.request(to, {
        kind: 'broker-heartbeat',
        brokerId: o.brokerId,
        brokerEpoch: this.epoch,
        metadataOffset: o.appliedOffset(),
        wantShutdown: this.wantShutdown,
      });
    } catch (error) {
      this.retry(() => this.heartbeat(), error instanceof Error ? error.message : String(error), to);
      return;
    }
    if (this.stateValue === 'stopped') return;
    if ('error' in response) {
      if (response.error === 'STALE_BROKER_EPOCH' || response.error === 'BROKER_NOT_REGISTERED') {
        this.setState('registering');
        this.retry(() => this.register(), response, to);
      } else {
        this.retry(() => this.heartbeat(), response, to);
      }
      return;
    }
    this.lastController = to;
    this.notControllerStreak = 0;
    if (response.shouldShutdown) {
      this.setState('stopped');
      this.releaseShutdownWaiters();
      return;
    }
    this.setState(this.wantShutdown ? 'shutting-down' : response.fenced ? 'fenced' : 'running');
    // While fenced or shutting down, ask again soon; otherwise at the heartbeat interval.
    const interval = o.heartbeatIntervalMs ?? 2000;
    this.schedule(response.fenced || this.wantShutdown ? Math.min(interval, 200) : interval, () => this.heartbeat());
  }
}
