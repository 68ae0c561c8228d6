/**
 * The request kinds clients use beyond produce/fetch: InitProducerId and DescribeQuorum survive the
 * codec exactly, including their error answers, and a bad error code is refused as MALFORMED_FRAME.
 */
import { expect } from 'chai';
import { NetError } from '../../src/net/errors.js';
import { decodeFrame, encodeFrame, type Frame, type FrameBody } from '../../src/net/protocol.js';

function roundTrip(body: FrameBody): void {
  const frame: Frame = { correlationId: 9, body };
  expect(decodeFrame(encodeFrame(frame))).to.deep.equal(frame);
}

describe('net protocol: client request kinds', () => {
  it('round-trips init-producer-id', () => {
    roundTrip({ type: 'request', kind: 'init-producer-id', request: {} });
    roundTrip({ type: 'response', kind: 'init-producer-id', response: { producerId: 2 ** 40, producerEpoch: 0 } });
    roundTrip({ type: 'response', kind: 'init-producer-id', response: { error: 'NOT_CONTROLLER', message: 'no controller' } });
  });

  it('round-trips describe-quorum', () => {
    roundTrip({ type: 'request', kind: 'describe-quorum', request: {} });
    roundTrip({
      type: 'response',
      kind: 'describe-quorum',
      response: {
        leaderId: 2,
        term: 7,
        highWatermark: 1234,
        voters: [
          { id: 1, logEndOffset: 1230, lag: 4, lastContactMs: 150 },
          { id: 2, logEndOffset: 1234, lag: 0, lastContactMs: 0 },
        ],
        observers: [{ id: 4, logEndOffset: -1, lag: 1235, lastContactMs: -1 }],
      },
    });
    roundTrip({ type: 'response', kind: 'describe-quorum', response: { error: 'NOT_CONTROLLER', message: 'no leader' } });
  });

  it('refuses an unknown metadata error code', () => {
    const bytes = encodeFrame({ correlationId: 3, body: { type: 'response', kind: 'init-producer-id', response: { error: 'NOT_CONTROLLER', message: 'x' } } });
    // Swap the code's text for one of the same length that no version knows.
    const text = new TextEncoder().encode('NOT_CONTROLLER');
    const at = Buffer.from(bytes).indexOf(Buffer.from(text));
    expect(at).to.be.greaterThan(0);
    bytes.set(new TextEncoder().encode('NOT_A_REAL_ERR'), at);
    expect(() => decodeFrame(bytes)).to.throw(NetError).with.property('code', 'MALFORMED_FRAME');
  });
});
