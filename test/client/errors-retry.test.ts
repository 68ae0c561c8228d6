/**
 * Client errors and retries: every wire code maps to its class with `code` and `retriable`
 * (NetErrors keep their flag; a metadata-plane answer uses that plane's flag), unknown codes survive;
 * backoff grows exponentially within the jitter band and is capped; withRetry retries retriable
 * errors only, up to `retries`, and sleeps through the injected clock.
 */
import { expect } from 'chai';
import {
  ConnectionError,
  InvalidProducerEpochError,
  NotControllerError,
  NotLeaderError,
  OutOfOrderSequenceError,
  RequestTimedOutError,
  SkeinError,
  TopicAlreadyExistsError,
  UnknownTopicError,
  metadataErrorOf,
  partitionErrorOf,
  toSkeinError,
} from '../../src/client/errors.js';
import { backoffMs, resolveRetryOptions, withRetry } from '../../src/client/retry.js';
import { netError } from '../../src/net/errors.js';
import { PartitionError } from '../../src/partitions/errors.js';
import { MetadataError } from '../../src/metadata/errors.js';
import { SeededRandom } from '../../src/util/random.js';
import { TestClock } from '../support/test-clock.js';
import { rejection } from '../support/promises.js';

describe('client errors', () => {
  it('maps every data-plane and metadata-plane code with its retriable flag', () => {
    for (const [code, spec] of Object.entries(PartitionError)) {
      const e = toSkeinError(code, 'm');
      expect(e, code).to.be.instanceOf(SkeinError);
      expect(e.code).to.equal(code);
      expect(e.retriable, code).to.equal(spec.retriable);
    }
    for (const [code, spec] of Object.entries(MetadataError)) {
      const e = metadataErrorOf({ error: code, message: 'm' });
      expect(e.code).to.equal(code);
      expect(e.retriable, code).to.equal(spec.retriable);
    }
    expect(partitionErrorOf({ error: 'NOT_LEADER_OR_FOLLOWER', message: 'x' })).to.be.instanceOf(NotLeaderError);
    expect(partitionErrorOf({ error: 'OUT_OF_ORDER_SEQUENCE', message: 'x' })).to.be.instanceOf(OutOfOrderSequenceError);
    expect(partitionErrorOf({ error: 'INVALID_PRODUCER_EPOCH', message: 'x' })).to.be.instanceOf(InvalidProducerEpochError);
    expect(metadataErrorOf({ error: 'NOT_CONTROLLER', message: 'x' })).to.be.instanceOf(NotControllerError);
    expect(metadataErrorOf({ error: 'TOPIC_ALREADY_EXISTS', message: 'x' })).to.be.instanceOf(TopicAlreadyExistsError);
    // UNKNOWN_TOPIC_OR_PARTITION: retriable from a partition leader (metadata may lag), final from the controller.
    const fromData = partitionErrorOf({ error: 'UNKNOWN_TOPIC_OR_PARTITION', message: 'x' });
    const fromController = metadataErrorOf({ error: 'UNKNOWN_TOPIC_OR_PARTITION', message: 'x' });
    expect(fromData).to.be.instanceOf(UnknownTopicError);
    expect(fromController).to.be.instanceOf(UnknownTopicError);
    expect([fromData.retriable, fromController.retriable]).to.deep.equal([true, false]);
  });

  it('maps NetErrors, keeps unknown codes, and wraps anything else as non-retriable', () => {
    const closed = toSkeinError(netError('CONNECTION_CLOSED', 'gone'));
    expect(closed).to.be.instanceOf(ConnectionError);
    expect(closed.retriable).to.equal(true);
    expect(closed.cause).to.be.instanceOf(Error);
    expect(toSkeinError(netError('IDLE_TIMEOUT'))).to.be.instanceOf(ConnectionError);
    const timedOut = toSkeinError(netError('REQUEST_TIMED_OUT'));
    expect(timedOut).to.be.instanceOf(RequestTimedOutError);
    expect(timedOut.retriable).to.equal(true);
    const future = toSkeinError('SOME_FUTURE_CODE', 'from a newer server', true);
    expect(future.constructor).to.equal(SkeinError);
    expect([future.code, future.retriable, future.message]).to.deep.equal(['SOME_FUTURE_CODE', true, 'from a newer server']);
    const bug = toSkeinError(new TypeError('oops'));
    expect([bug.code, bug.retriable]).to.deep.equal(['UNKNOWN_CLIENT_ERROR', false]);
    const same = new NotLeaderError('x');
    expect(toSkeinError(same)).to.equal(same);
    expect(same.name).to.equal('NotLeaderError');
    expect(String(same)).to.equal('NotLeaderError: x');
  });
});

describe('client retry', () => {
  it('backs off exponentially within the jitter band, capped at maxRetryTimeMs', () => {
    const options = resolveRetryOptions({ initialRetryTimeMs: 100, multiplier: 2, maxRetryTimeMs: 1000, factor: 0.2 });
    const random = new SeededRandom(3);
    for (let attempt = 0; attempt < 8; attempt++) {
      const base = Math.min(1000, 100 * 2 ** attempt);
      for (let i = 0; i < 50; i++) {
        const ms = backoffMs(options, attempt, random);
        expect(ms).to.be.within(Math.round(base * 0.8), Math.min(1000, Math.round(base * 1.2)));
      }
    }
    expect(backoffMs(options, 2, { float: () => 0, int: () => 0 })).to.equal(320);
    expect(backoffMs(options, 2, { float: () => 0.5, int: () => 0 })).to.equal(400);
    expect(() => resolveRetryOptions({ retries: -1 })).to.throw(SkeinError, /retries/);
    expect(() => resolveRetryOptions({ factor: 2 })).to.throw(SkeinError, /factor/);
  });

  it('retries retriable errors up to `retries`, then throws the last; never retries a final error', async () => {
    const clock = new TestClock(true);
    const deps = { clock, random: new SeededRandom(1) };
    const options = resolveRetryOptions({ retries: 3, initialRetryTimeMs: 10 });

    let calls = 0;
    const ok = await withRetry(deps, options, async ({ attempt }) => {
      calls++;
      if (attempt < 2) throw new NotLeaderError('moved');
      return 'done';
    });
    expect([ok, calls]).to.deep.equal(['done', 3]);
    expect(clock.nowMs()).to.be.greaterThan(0); // slept through the injected clock

    calls = 0;
    const exhausted = await rejection(withRetry(deps, options, async () => {
      calls++;
      throw new NotLeaderError(`attempt ${calls}`);
    }));
    expect(exhausted).to.be.instanceOf(NotLeaderError);
    expect(exhausted.message).to.equal('attempt 4');

    calls = 0;
    const final = await rejection(withRetry(deps, options, async () => {
      calls++;
      throw new TopicAlreadyExistsError('t');
    }));
    expect(final).to.be.instanceOf(TopicAlreadyExistsError);
    expect(calls).to.equal(1);
  });
});
