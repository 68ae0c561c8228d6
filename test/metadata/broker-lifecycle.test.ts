/**
 * The broker's registration and heartbeats (broker-lifecycle.ts) against a scripted controller
 * channel and a virtual clock: which voter each request goes to, and when.
 */
import { expect } from 'chai';
import { BrokerLifecycle, type ControllerChannel } from '../../src/metadata/broker-lifecycle.js';
import { errorResult } from '../../src/metadata/errors.js';
import type { ControllerRequest } from '../../src/metadata/rpc.js';
import type { CancelTimer, Clock } from '../../src/util/clock.js';

const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

class VirtualClock implements Clock {
  private now = 0;
  private timers: Array<{ atMs: number; fn: () => void; cancelled: boolean }> = [];

  nowMs(): number {
    return this.now;
  }

  setTimer(delayMs: number, fn: () => void): CancelTimer {
    const timer = { atMs: this.now + delayMs, fn, cancelled: false };
    this.timers.push(timer);
    return () => {
      timer.cancelled = true;
    };
  }

  /** Runs every timer due up to now + ms, in time order, letting promises settle after each. */
  async advance(ms: number): Promise<void> {
    const until = this.now + ms;
    for (;;) {
      await settle();
      this.timers = this.timers.filter((t) => !t.cancelled);
      const next = [...this.timers].sort((a, b) => a.atMs - b.atMs)[0];
      if (next === undefined || next.atMs > until) break;
      this.timers = this.timers.filter((t) => t !== next);
      this.now = next.atMs;
      next.fn();
    }
    this.now = until;
  }
}

/** Voter `controllerId`'s controller answers; the others say NOT_CONTROLLER. Logs [time, voter, kind]. */
function channelFor(clock: VirtualClock, controller: { id: number }, sent: Array<[number, number, string]>): ControllerChannel {
  return {
    request: async (to: number, request: ControllerRequest) => {
      sent.push([clock.nowMs(), to, request.kind]);
      if (to !== controller.id) return errorResult('NOT_CONTROLLER', `node ${to} is not the active controller`);
      if (request.kind === 'register-broker') return { brokerEpoch: 7 };
      return { fenced: false, inControlledShutdown: false, shouldShutdown: false };
    },
  } as ControllerChannel;
}

function lifecycle(clock: VirtualClock, channel: ControllerChannel, leaderHint: () => number): BrokerLifecycle {
  return new BrokerLifecycle({
    brokerId: 1,
    incarnationId: 'inc',
    endpoints: [],
    rack: '',
    voters: [1, 2, 3],
    channel,
    clock,
    logger: () => {},
    leaderHint,
    appliedOffset: () => 0,
    heartbeatIntervalMs: 500,
    retryBackoffMs: 500,
  });
}

describe('broker lifecycle', () => {
  it('after a NOT_CONTROLLER (a stale leader hint) asks the other voters at once, then sticks to the one that answered', async () => {
    const clock = new VirtualClock();
    const sent: Array<[number, number, string]> = [];
    const broker = lifecycle(clock, channelFor(clock, { id: 2 }, sent), () => 3);
    broker.start();
    await clock.advance(0);
    expect(broker.state).to.equal('running');
    expect(sent.map(([at, to]) => [at, to]), 'the hint, then round the voters without a backoff').to.deep.equal([
      [0, 3],
      [0, 1],
      [0, 2],
      [0, 2],
    ]);
    sent.length = 0;
    await clock.advance(1000);
    expect(sent, 'heartbeats go where the controller answered, not to the stale hint').to.deep.equal([
      [500, 2, 'broker-heartbeat'],
      [1000, 2, 'broker-heartbeat'],
    ]);
    broker.stop();
  });

  it('asks each voter once per round, whichever voter the stale hint named', async () => {
    const clock = new VirtualClock();
    const sent: Array<[number, number, string]> = [];
    const broker = lifecycle(clock, channelFor(clock, { id: 3 }, sent), () => 1);
    broker.start();
    await clock.advance(0);
    expect(sent.slice(0, 3).map(([at, to]) => [at, to])).to.deep.equal([
      [0, 1],
      [0, 2],
      [0, 3],
    ]);
    expect(broker.state).to.equal('running');
    broker.stop();
  });

  it('backs off once every voter said NOT_CONTROLLER in a row (no controller: an election)', async () => {
    const clock = new VirtualClock();
    const sent: Array<[number, number, string]> = [];
    const controller = { id: 0 };
    const broker = lifecycle(clock, channelFor(clock, controller, sent), () => 0);
    broker.start();
    await clock.advance(0);
    expect(sent.map(([at]) => at), 'one round at once').to.deep.equal([0, 0, 0]);
    await clock.advance(499);
    expect(sent).to.have.length(3);
    controller.id = 3; // elected
    await clock.advance(1);
    expect(broker.state, 'registered after one backoff').to.equal('running');
    expect(sent.slice(3).map(([at, to]) => [at, to])).to.deep.equal([
      [500, 1],
      [500, 2],
      [500, 3],
      [500, 3],
    ]);
    broker.stop();
  });
});
