/**
 * The browser WebSocket adapter (browser-socket.ts) under a Connection, with a fake WebSocket and a
 * virtual clock: the drain/backpressure logic that replaces ws's send callbacks and pause() (polling
 * `bufferedAmount` on the Clock), close-code mapping, and dialing failures. No network, no real timers.
 * The same adapter over a real socket runs in connection.test.ts (the "WebSocket API" pass).
 */
import { expect } from 'chai';
import type { Connection, ConnectionLimits } from '../../src/net/connection.js';
import { openConnection } from '../../src/net/client-connection.js';
import { browserCloseCode, browserDialer, type WebSocketLike } from '../../src/net/browser-socket.js';
import { NetError } from '../../src/net/errors.js';
import { closeReason } from '../../src/net/frame-socket.js';
import { decodeFrame, encodeFrame, PROTOCOL_VERSION, type Frame, type ProduceResponse } from '../../src/net/protocol.js';
import type { CancelTimer, Clock } from '../../src/util/clock.js';
import { TestClock } from '../support/test-clock.js';

const POLL_MS = 7;

/** A WHATWG WebSocket stand-in: records what is sent, lets the test set `bufferedAmount` and deliver frames. */
class FakeWebSocket implements WebSocketLike {
  static last: FakeWebSocket | undefined;
  binaryType = 'blob';
  bufferedAmount = 0;
  onopen: ((event: unknown) => void) | null = null;
  onmessage: ((event: { readonly data: unknown }) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;
  onclose: ((event: { readonly code: number; readonly reason: string }) => void) | null = null;
  readonly sent: Frame[] = [];
  readonly closeCalls: Array<{ code: number | undefined; reason: string | undefined }> = [];

  constructor(readonly url: string) {
    FakeWebSocket.last = this;
  }

  send(data: Uint8Array): void {
    this.bufferedAmount += data.length;
    this.sent.push(decodeFrame(data.slice()));
  }

  close(code?: number, reason?: string): void {
    if (code !== undefined && code !== 1000 && !(code >= 3000 && code <= 4999)) throw new Error(`InvalidAccessError: close code ${code}`);
    if (reason !== undefined && new TextEncoder().encode(reason).length > 123) throw new Error('SyntaxError: close reason over 123 bytes');
    this.closeCalls.push({ code, reason });
    // The closing handshake completes a little later, as in a browser.
    queueMicrotask(() => this.onclose?.({ code: code ?? 1005, reason: reason ?? '' }));
  }

  /** The bytes leave the socket. */
  flush(): void {
    this.bufferedAmount = 0;
  }

  deliver(frame: Frame): void {
    const bytes = encodeFrame(frame);
    this.onmessage?.({ data: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) });
  }
}

/** The TestClock, counting the adapter's drain polls (the only timers of POLL_MS). */
class CountingClock implements Clock {
  polls = 0;
  constructor(readonly inner: TestClock) {}
  nowMs(): number {
    return this.inner.nowMs();
  }
  setTimer(delayMs: number, fn: () => void): CancelTimer {
    if (delayMs === POLL_MS) this.polls++;
    return this.inner.setTimer(delayMs, fn);
  }
}

async function settleMicrotasks(): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve));
}

/** Opens a Connection on a fake socket and answers its handshake. */
async function connect(limits: Partial<ConnectionLimits>): Promise<{ connection: Connection; ws: FakeWebSocket; clock: CountingClock; testClock: TestClock }> {
  const testClock = new TestClock(false);
  const clock = new CountingClock(testClock);
  FakeWebSocket.last = undefined;
  const opening = openConnection({ url: 'ws://fake:1', clientId: 'fake-test', clock, limits, createSocket: browserDialer(FakeWebSocket, POLL_MS) });
  const ws = FakeWebSocket.last as FakeWebSocket | undefined;
  if (ws === undefined) throw new Error('no socket was created');
  expect(ws.url).to.equal('ws://fake:1');
  ws.onopen?.({});
  expect(ws.binaryType).to.equal('arraybuffer');
  const handshake = ws.sent.shift();
  expect(handshake?.body.type).to.equal('handshake');
  ws.deliver({ correlationId: 0, body: { type: 'handshake-response', handshake: { protocolVersion: PROTOCOL_VERSION, nodeId: 1, clusterId: 'c' } } });
  const connection = await opening;
  ws.flush();
  return { connection, ws, clock, testClock };
}

function produce(connection: Connection, size: number, fill: number): Promise<ProduceResponse> {
  return connection.request('produce', { topicId: 't', partition: 0, acks: 1, timeoutMs: 1000, records: new Uint8Array(size).fill(fill) });
}

function answerProduce(ws: FakeWebSocket, frame: Frame | undefined, offset: number): void {
  if (frame === undefined || frame.body.type !== 'request') throw new Error('expected a request frame');
  ws.deliver({ correlationId: frame.correlationId, body: { type: 'response', kind: 'produce', response: { baseOffset: offset, lastOffset: offset, duplicate: false } } });
}

function records(frame: Frame | undefined): Uint8Array {
  if (frame?.body.type !== 'request' || frame.body.kind !== 'produce') throw new Error('expected a produce request');
  return frame.body.request.records;
}

describe('net: browser WebSocket adapter (fake socket, virtual clock)', () => {
  it('queues frames above the high-water mark and drains them in order by polling bufferedAmount', async () => {
    const { connection, ws, clock, testClock } = await connect({ bufferedHighWaterBytes: 1000, sendQueueMax: 10 });
    expect(clock.polls).to.equal(0);
    const answers = [0, 1, 2, 3, 4].map((i) => produce(connection, 600, i));
    // Two frames fit below the mark (the second crosses it); three wait in the queue.
    expect(ws.sent.map((f) => records(f)[0])).to.deep.equal([0, 1]);
    expect(clock.polls).to.equal(1);

    // Nothing drained yet: the poll finds the buffer still full and asks again (one timer at a time).
    await testClock.advance(POLL_MS);
    expect(ws.sent).to.have.length(2);
    expect(clock.polls).to.equal(2);

    // Reading cannot be paused in a browser: an answer arrives and settles while frames wait.
    answerProduce(ws, ws.sent[0], 100);
    expect(await answers[0]).to.deep.equal({ baseOffset: 100, lastOffset: 100, duplicate: false });

    ws.flush();
    await testClock.advance(POLL_MS);
    expect(ws.sent.map((f) => records(f)[0])).to.deep.equal([0, 1, 2, 3]);
    ws.flush();
    await testClock.advance(POLL_MS);
    expect(ws.sent.map((f) => records(f)[0])).to.deep.equal([0, 1, 2, 3, 4]);
    // Queue empty but 600 bytes buffered, above half the mark: still waiting.
    const pollsBeforeIdle = clock.polls;
    ws.flush();
    await testClock.advance(POLL_MS);
    // Below half the mark with nothing queued: the poll stops.
    const pollsAtRest = clock.polls;
    expect(pollsAtRest).to.equal(pollsBeforeIdle);
    await testClock.advance(10 * POLL_MS);
    expect(clock.polls).to.equal(pollsAtRest);

    ws.sent.forEach((f, i) => i > 0 && answerProduce(ws, f, 100 + i));
    expect(await Promise.all(answers.slice(1))).to.deep.equal([1, 2, 3, 4].map((i) => ({ baseOffset: 100 + i, lastOffset: 100 + i, duplicate: false })));
    expect(ws.sent.map((f) => f.correlationId)).to.deep.equal([1, 2, 3, 4, 5]);
    expect(connection.isOpen).to.equal(true);
    connection.close();
  });

  it('closes a connection whose peer does not read once the send queue is full (4008 in a browser)', async () => {
    const { connection, ws, clock, testClock } = await connect({ bufferedHighWaterBytes: 100, sendQueueMax: 2 });
    const answers = [0, 1, 2, 3].map((i) => produce(connection, 200, i).catch((e: unknown) => e));
    // One sent (over the mark), two queued, the fourth overflows the queue.
    expect(ws.sent).to.have.length(1);
    expect(ws.closeCalls).to.deep.equal([{ code: 4008, reason: 'send queue full' }]);
    await settleMicrotasks();
    for (const a of await Promise.all(answers)) {
      expect(a).to.be.instanceOf(NetError);
      expect((a as NetError).code).to.equal('CONNECTION_CLOSED');
    }
    expect(await connection.closed).to.be.instanceOf(NetError);
    // Closed: no more polling, and nothing else is sent.
    const polls = clock.polls;
    ws.flush();
    await testClock.advance(10 * POLL_MS);
    expect(clock.polls).to.equal(polls);
    expect(ws.sent).to.have.length(1);
  });

  it('answers a text message and an oversize frame with an Error frame and a browser-legal close', async () => {
    for (const [send, code] of [
      [(ws: FakeWebSocket) => ws.onmessage?.({ data: 'hello' }), 'MALFORMED_FRAME'],
      [(ws: FakeWebSocket) => ws.onmessage?.({ data: new ArrayBuffer(2048) }), 'FRAME_TOO_LARGE'],
    ] as const) {
      const { connection, ws } = await connect({ maxPayloadBytes: 1024 });
      const pending = connection.request('metadata', {}).catch((e: unknown) => e);
      send(ws);
      const error = ws.sent.find((f) => f.body.type === 'error');
      expect(error?.correlationId).to.equal(0);
      expect(error?.body.type === 'error' && error.body.error.code).to.equal(code);
      expect(ws.closeCalls).to.have.length(1);
      expect(ws.closeCalls[0]?.code).to.equal(4008);
      expect(((await pending) as NetError).code).to.equal(code);
      expect(connection.isOpen).to.equal(false);
    }
  });

  it('fails to connect on an error before open, and on a timeout, leaving no socket open', async () => {
    const clock = new TestClock(false);
    const refused = openConnection({ url: 'ws://fake:2', clientId: 'x', clock, createSocket: browserDialer(FakeWebSocket, POLL_MS) }).catch((e: unknown) => e);
    const ws1 = FakeWebSocket.last as FakeWebSocket;
    ws1.onerror?.({});
    ws1.onclose?.({ code: 1006, reason: '' });
    const e1 = (await refused) as NetError;
    expect(e1.code).to.equal('CONNECTION_CLOSED');
    expect(e1.message).to.contain('ws://fake:2');
    expect(ws1.closeCalls).to.have.length(1);

    const slow = openConnection({ url: 'ws://fake:3', clientId: 'x', clock, connectTimeoutMs: 500, createSocket: browserDialer(FakeWebSocket, POLL_MS) }).catch((e: unknown) => e);
    const ws2 = FakeWebSocket.last as FakeWebSocket;
    await clock.advance(500);
    expect(((await slow) as NetError).code).to.equal('REQUEST_TIMED_OUT');
    expect(ws2.closeCalls).to.have.length(1);
    expect(ws2.onopen).to.equal(null); // a late open is ignored
  });

  it('rejects a malformed URL like any connection failure (not synchronously)', async () => {
    class Throwing extends FakeWebSocket {
      constructor(url: string) {
        super(url);
        throw new Error(`SyntaxError: ${url} is not a valid URL`);
      }
    }
    const e = (await openConnection({ url: 'nonsense', clientId: 'x', clock: new TestClock(false), createSocket: browserDialer(Throwing) }).catch((x: unknown) => x)) as NetError;
    expect(e.code).to.equal('CONNECTION_CLOSED');
    expect(e.message).to.contain('not a valid URL');
  });

  it('maps close codes and reasons to what browsers accept', () => {
    expect(browserCloseCode(1000)).to.equal(1000);
    expect(browserCloseCode(1008)).to.equal(4008);
    expect(browserCloseCode(1013)).to.equal(4013);
    expect(browserCloseCode(4321)).to.equal(4321);
    expect(browserCloseCode(2500)).to.equal(1000);
    expect(closeReason('short')).to.equal('short');
    const long = closeReason('é'.repeat(200));
    expect(new TextEncoder().encode(long).length).to.be.at.most(123);
    expect(long.length).to.equal(61);
  });
});
