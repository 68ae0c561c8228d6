/**
 * The WebSocket server and client connection over real sockets on 127.0.0.1: handshake, correlation,
 * timeouts, bounds, handler failures, idle close, and hostile input (raw `ws` sockets sending what a
 * Skein client never would). Waits are bounded and generous; nothing asserts on timing.
 *
 * The suite runs twice, once per client socket adapter: `ws` (Node) and the browser adapter
 * (browser-socket.ts) over ws's WHATWG-style WebSocket interface — the same code path a browser takes,
 * on a real socket. The server side is always ws.
 */
import { expect } from 'chai';
import { WebSocket } from 'ws';
import type { Connection, ConnectionLimits } from '../../src/net/connection.js';
import { browserDialer, type WebSocketConstructor } from '../../src/net/browser-socket.js';
import { openConnection, type ClientConnectionOptions } from '../../src/net/client-connection.js';
import { NetError } from '../../src/net/errors.js';
import type { SocketDialer } from '../../src/net/frame-socket.js';
import { decodeFrame, encodeFrame, PROTOCOL_VERSION, type Frame, type MetadataResponse } from '../../src/net/protocol.js';
import { NetServer, type ServerOptions } from '../../src/net/server.js';
import type { Message } from '../../src/raft/types.js';

const META: MetadataResponse = { clusterId: 'test-cluster', controllerId: 1, brokers: [], topics: [] };

function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function rejection(promise: Promise<unknown>): Promise<NetError> {
  try {
    await within(promise, 10_000, 'a rejection');
  } catch (e) {
    expect(e).to.be.instanceOf(NetError);
    return e as NetError;
  }
  throw new Error('expected a rejection');
}

function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** A raw socket that records what the server sends and how it closes. */
class RawPeer {
  readonly frames: Frame[] = [];
  readonly closed: Promise<number>;
  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => this.frames.push(decodeFrame(data as Buffer)));
    this.closed = new Promise((resolve) => ws.on('close', (code) => resolve(code)));
    ws.on('error', () => {});
  }
  static async open(url: string): Promise<RawPeer> {
    const ws = new WebSocket(url, { perMessageDeflate: false, maxPayload: 64 * 1024 * 1024 });
    await within(new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject)), 10_000, 'open');
    return new RawPeer(ws);
  }
  send(frame: Frame): void {
    this.ws.send(encodeFrame(frame));
  }
  async handshake(): Promise<void> {
    this.send({ correlationId: 0, body: { type: 'handshake', handshake: { protocolVersion: PROTOCOL_VERSION, clientId: 'raw', nodeId: 0, credentials: new Uint8Array(0) } } });
    await within(
      (async () => {
        while (this.frames.length === 0) await new Promise((r) => setTimeout(r, 5));
      })(),
      10_000,
      'handshake answer',
    );
    expect(this.frames.shift()?.body.type).to.equal('handshake-response');
  }
  /** Waits for the close and returns the one error frame the server sent before it. */
  async closedWithError(): Promise<{ code: string; closeCode: number }> {
    const closeCode = await within(this.closed, 10_000, 'close');
    const errors = this.frames.filter((f) => f.body.type === 'error');
    expect(errors, 'one error frame').to.have.length(1);
    const f = errors[0] as Frame;
    if (f.body.type !== 'error') throw new Error('unreachable');
    expect(f.correlationId).to.equal(0);
    return { code: f.body.error.code, closeCode };
  }
}

/** The client socket adapters every test below runs with (undefined: openConnection's default, ws). */
const CLIENT_SOCKETS: ReadonlyArray<readonly [string, SocketDialer | undefined]> = [
  ['ws', undefined],
  ['the browser WebSocket API', browserDialer(WebSocket as unknown as WebSocketConstructor)],
];

for (const [socketName, createSocket] of CLIENT_SOCKETS) {
  const dial = createSocket === undefined ? {} : { createSocket };
  describe(`net: server and client connection (client on ${socketName})`, function () {
    this.timeout(20_000);
    let servers: NetServer[] = [];
    let clients: Connection[] = [];
    let raws: RawPeer[] = [];
    let handled = 0;

    async function server(options: Partial<ServerOptions> = {}): Promise<NetServer> {
      const s = await NetServer.listen({ nodeId: 1, clusterId: 'test-cluster', ...options });
      s.handle('metadata', async () => {
        handled++;
        return META;
      });
      servers.push(s);
      return s;
    }
    async function client(s: NetServer, options: Partial<ClientConnectionOptions> = {}): Promise<Connection> {
      const c = await openConnection({ url: s.url, clientId: 'test', ...dial, ...options });
      clients.push(c);
      return c;
    }
    async function raw(s: NetServer): Promise<RawPeer> {
      const r = await RawPeer.open(s.url);
      raws.push(r);
      return r;
    }
    async function stillServes(s: NetServer): Promise<void> {
      const c = await client(s);
      expect(await within(c.request('metadata', {}), 10_000, 'metadata')).to.deep.equal(META);
    }

    beforeEach(() => {
      handled = 0;
    });
    afterEach(async () => {
      for (const c of clients) c.close();
      for (const r of raws) r.ws.terminate();
      await Promise.all(servers.map((s) => s.close()));
      servers = [];
      clients = [];
      raws = [];
    });

    it('handshakes and answers a request', async () => {
      const s = await server();
      const c = await client(s, { nodeId: 0 });
      expect(c.server).to.deep.equal({ protocolVersion: PROTOCOL_VERSION, nodeId: 1, clusterId: 'test-cluster' });
      expect(await c.request('metadata', {})).to.deep.equal(META);
      expect([...s.connections][0]?.peer?.clientId).to.equal('test');
    });

    it('requires the handshake first: Error frame, close, no handler call', async () => {
      const s = await server();
      const r = await raw(s);
      r.send({ correlationId: 1, body: { type: 'request', kind: 'metadata', request: {} } });
      const { code, closeCode } = await r.closedWithError();
      expect(code).to.equal('HANDSHAKE_REQUIRED');
      expect(closeCode).to.equal(1008);
      expect(handled).to.equal(0);
      await stillServes(s);
    });

    it('refuses another protocol version with a clear error', async () => {
      const s = await server();
      const e = await rejection(openConnection({ url: s.url, clientId: 'future', protocolVersion: PROTOCOL_VERSION + 1, ...dial }));
      expect(e.code).to.equal('UNSUPPORTED_VERSION');
      expect(e.retriable).to.equal(false);
      expect(e.message).to.contain(`protocol version ${PROTOCOL_VERSION + 1}`).and.to.contain(`speaks ${PROTOCOL_VERSION}`);
      await stillServes(s);
    });

    it('refuses a second handshake', async () => {
      const s = await server();
      const r = await raw(s);
      await r.handshake();
      r.send({ correlationId: 0, body: { type: 'handshake', handshake: { protocolVersion: PROTOCOL_VERSION, clientId: 'again', nodeId: 0, credentials: new Uint8Array(0) } } });
      expect((await r.closedWithError()).code).to.equal('UNEXPECTED_FRAME');
    });

    const hostile: Array<[string, (r: RawPeer) => void, string]> = [
      ['malformed bytes', (r) => r.ws.send(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x0f, 1, 2, 3])), 'MALFORMED_FRAME'],
      ['a text message', (r) => r.ws.send('hello'), 'MALFORMED_FRAME'],
      ['an unknown oneof member', (r) => r.ws.send(new Uint8Array([0x08, 0x05, 0x9a, 0x06, 0x02, 0x00, 0x00])), 'UNKNOWN_FRAME'],
      ['an empty frame', (r) => r.ws.send(new Uint8Array(0)), 'UNKNOWN_FRAME'],
      // Frame { correlation_id: 1, list_offsets (12) { timestamp (3): 2^53 } }
      ['an int64 beyond 2^53', (r) => r.ws.send(new Uint8Array([0x08, 0x01, 0x62, 0x09, 0x18, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10])), 'MALFORMED_FRAME'],
      ['a frame over maxPayload', (r) => r.ws.send(new Uint8Array(64 * 1024 + 1)), 'FRAME_TOO_LARGE'],
      ['a response nobody asked for', (r) => r.send({ correlationId: 5, body: { type: 'handshake-response', handshake: { protocolVersion: 1, nodeId: 0, clusterId: '' } } }), 'UNEXPECTED_FRAME'],
    ];
    for (const [what, send, expected] of hostile) {
      it(`answers ${what} with ${expected} and a close, and keeps serving`, async () => {
        const s = await server({ limits: { maxPayloadBytes: 64 * 1024 } });
        const bystander = await client(s);
        const r = await raw(s);
        await r.handshake();
        send(r);
        const { code, closeCode } = await r.closedWithError();
        expect(code).to.equal(expected);
        expect(closeCode).to.equal(1008);
        expect(handled).to.equal(0);
        expect(await bystander.request('metadata', {})).to.deep.equal(META);
        await stillServes(s);
      });
    }

    it('cuts off a frame far over the limit without reading it (ws close 1009), and keeps serving', async () => {
      const s = await server({ limits: { maxPayloadBytes: 64 * 1024, oversizeGraceBytes: 1024 } });
      const r = await raw(s);
      await r.handshake();
      r.ws.send(new Uint8Array(1024 * 1024));
      expect(await within(r.closed, 10_000, 'close')).to.equal(1009);
      expect(handled).to.equal(0);
      await stillServes(s);
    });

    it('correlates concurrent requests answered out of order', async () => {
      const s = await NetServer.listen({ nodeId: 1, clusterId: 'c' });
      servers.push(s);
      const order: number[] = [];
      s.handle('list-offsets', async (req) => {
        // Later requests answer first.
        await new Promise((r) => setTimeout(r, (20 - req.partition) * 10));
        order.push(req.partition);
        return { offset: req.partition * 100, timestamp: req.timestamp };
      });
      const c = await client(s);
      const answers = await within(Promise.all(Array.from({ length: 20 }, (_, i) => c.request('list-offsets', { topicId: 't', partition: i, timestamp: i }))), 10_000, 'answers');
      answers.forEach((a, i) => expect(a).to.deep.equal({ offset: i * 100, timestamp: i }));
      expect(order[0]).to.equal(19);
      expect(c.inFlightRequests).to.equal(0);
    });

    it('times a request out and drops its late answer; the connection stays usable', async () => {
      const s = await server();
      const release = deferred<void>();
      s.handle('list-offsets', async () => {
        await release.promise;
        return { offset: 1, timestamp: -1 };
      });
      const c = await client(s, { limits: { requestTimeoutMs: 100 } });
      const e = await rejection(c.request('list-offsets', { topicId: 't', partition: 0, timestamp: -1 }));
      expect(e.code).to.equal('REQUEST_TIMED_OUT');
      expect(e.retriable).to.equal(true);
      expect(c.inFlightRequests).to.equal(0);
      release.resolve();
      expect(await c.request('metadata', {})).to.deep.equal(META);
      expect(c.isOpen).to.equal(true);
    });

    it('bounds requests in flight: one over the bound gets TOO_MANY_REQUESTS, the rest complete', async () => {
      const s = await server({ limits: { maxInFlightRequests: 2 } });
      const release = deferred<void>();
      let started = 0;
      s.handle('list-offsets', async (req) => {
        started++;
        await release.promise;
        return { offset: req.partition, timestamp: -1 };
      });
      const c = await client(s, { limits: { maxInFlightRequests: 10 } });
      const first = c.request('list-offsets', { topicId: 't', partition: 0, timestamp: -1 });
      const second = c.request('list-offsets', { topicId: 't', partition: 1, timestamp: -1 });
      const e = await rejection(c.request('list-offsets', { topicId: 't', partition: 2, timestamp: -1 }));
      expect(e.code).to.equal('TOO_MANY_REQUESTS');
      expect(e.retriable).to.equal(true);
      expect(started).to.equal(2);
      release.resolve();
      expect(await first).to.deep.equal({ offset: 0, timestamp: -1 });
      expect(await second).to.deep.equal({ offset: 1, timestamp: -1 });
      // The slots are free again.
      expect(await c.request('list-offsets', { topicId: 't', partition: 3, timestamp: -1 })).to.deep.equal({ offset: 3, timestamp: -1 });
    });

    it('bounds its own requests in flight locally', async () => {
      const s = await server();
      const release = deferred<void>();
      s.handle('list-offsets', async () => {
        await release.promise;
        return { offset: 0, timestamp: -1 };
      });
      const c = await client(s, { limits: { maxInFlightRequests: 1 } });
      const first = c.request('list-offsets', { topicId: 't', partition: 0, timestamp: -1 });
      expect((await rejection(c.request('metadata', {}))).code).to.equal('TOO_MANY_REQUESTS');
      release.resolve();
      await first;
    });

    it('turns a handler exception into an Error frame and keeps the connection', async () => {
      const s = await server();
      let calls = 0;
      s.handle('list-offsets', (req) => {
        calls++;
        if (req.partition === 0) throw new Error('boom (sync)');
        if (req.partition === 1) return Promise.reject(new Error('boom (async)'));
        return Promise.reject(new NetError('UNAUTHORIZED', 'no access to t', false));
      });
      const c = await client(s);
      const sync = await rejection(c.request('list-offsets', { topicId: 't', partition: 0, timestamp: -1 }));
      expect(sync.code).to.equal('UNKNOWN_SERVER_ERROR');
      expect(sync.message).to.contain('boom (sync)');
      const async = await rejection(c.request('list-offsets', { topicId: 't', partition: 1, timestamp: -1 }));
      expect(async.message).to.contain('boom (async)');
      const typed = await rejection(c.request('list-offsets', { topicId: 't', partition: 2, timestamp: -1 }));
      expect(typed.code).to.equal('UNAUTHORIZED');
      expect(calls).to.equal(3);
      expect(await c.request('metadata', {})).to.deep.equal(META);
    });

    it('answers a request kind without a handler with UNSUPPORTED_REQUEST', async () => {
      const s = await server();
      const c = await client(s);
      expect((await rejection(c.request('fetch', { topicId: 't', partition: 0, replicaId: -1, brokerEpoch: -1, sequence: -1, fetchOffset: 0, lastFetchedEpoch: -1, currentLeaderEpoch: -1, maxBytes: 1, minBytes: 1, maxWaitMs: 0 }))).code).to.equal('UNSUPPORTED_REQUEST');
      expect(await c.request('metadata', {})).to.deep.equal(META);
    });

    it('while starting, answers a kind without a handler with retriable NODE_STARTING; after ready(), UNSUPPORTED_REQUEST', async () => {
      const s = await server({ starting: true });
      const c = await client(s);
      const listOffsets = (): Promise<unknown> => c.request('list-offsets', { topicId: 't', partition: 0, timestamp: -1 });
      const early = await rejection(listOffsets());
      expect([early.code, early.retriable]).to.deep.equal(['NODE_STARTING', true]);
      expect(await c.request('metadata', {}), 'registered kinds are served meanwhile').to.deep.equal(META);
      s.ready();
      const late = await rejection(listOffsets());
      expect([late.code, late.retriable]).to.deep.equal(['UNSUPPORTED_REQUEST', false]);
    });

    it('closes an idle connection', async () => {
      const s = await server({ limits: { idleTimeoutMs: 200 } });
      const c = await client(s);
      expect(await c.request('metadata', {})).to.deep.equal(META);
      const error = await within(c.closed, 10_000, 'idle close');
      expect(error?.code).to.equal('IDLE_TIMEOUT');
      expect(c.isOpen).to.equal(false);
      expect((await rejection(c.request('metadata', {}))).code).to.equal('IDLE_TIMEOUT');
    });

    it('does not count a long-running request as idle', async () => {
      const s = await server({ limits: { idleTimeoutMs: 100 } });
      s.handle('list-offsets', async () => {
        await new Promise((r) => setTimeout(r, 500));
        return { offset: 9, timestamp: -1 };
      });
      const c = await client(s);
      expect(await c.request('list-offsets', { topicId: 't', partition: 0, timestamp: -1 })).to.deep.equal({ offset: 9, timestamp: -1 });
    });

    it('closes a connection that never handshakes', async () => {
      const s = await server({ limits: { handshakeTimeoutMs: 100 } });
      const r = await raw(s);
      expect((await r.closedWithError()).code).to.equal('HANDSHAKE_REQUIRED');
    });

    it('carries one-way Raft messages both ways', async () => {
      const s = await server();
      const atServer = deferred<Message>();
      s.onRaft((m, conn) => {
        atServer.resolve(m);
        conn.sendRaft({ from: 2, to: 1, term: 3, type: 'vote-response', granted: true });
      });
      const atClient = deferred<Message>();
      const c = await client(s, { nodeId: 1, onRaft: (m) => atClient.resolve(m) });
      const sent: Message = { from: 1, to: 2, term: 3, type: 'append', prevIndex: 4, prevTerm: 2, commitIndex: 4, entries: [{ term: 3, index: 5, type: 0, data: new Uint8Array([1, 2, 3]) }] };
      expect(c.sendRaft(sent)).to.equal(true);
      expect(await within(atServer.promise, 10_000, 'raft at server')).to.deep.equal(sent);
      expect(await within(atClient.promise, 10_000, 'raft at client')).to.deep.equal({ from: 2, to: 1, term: 3, type: 'vote-response', granted: true });
    });

    it('fails requests in flight with CONNECTION_CLOSED when the server goes away', async () => {
      const s = await server();
      s.handle('list-offsets', () => new Promise(() => {}));
      const c = await client(s);
      const failed = rejection(c.request('list-offsets', { topicId: 't', partition: 0, timestamp: -1 }));
      await new Promise((r) => setTimeout(r, 50));
      await s.close();
      servers = [];
      const e = await failed;
      expect(e.code).to.equal('CONNECTION_CLOSED');
      expect(e.retriable).to.equal(true);
    });

    it('moves many large frames correctly through a small high-water mark (backpressure)', async () => {
      const limits: Partial<ConnectionLimits> = { bufferedHighWaterBytes: 64 * 1024, maxInFlightRequests: 64 };
      const s = await server({ limits });
      s.handle('produce', async (req) => ({ baseOffset: req.records.length, lastOffset: req.records[req.records.length - 1] ?? -1, duplicate: false }));
      const c = await client(s, { limits });
      const n = 40;
      const answers = await within(
        Promise.all(
          Array.from({ length: n }, (_, i) => {
            const records = new Uint8Array(512 * 1024 + i).fill(i);
            return c.request('produce', { topicId: 't', partition: 0, acks: 1, timeoutMs: 1000, records });
          }),
        ),
        15_000,
        'produce answers',
      );
      answers.forEach((a, i) => expect(a).to.deep.equal({ baseOffset: 512 * 1024 + i, lastOffset: i, duplicate: false }));
    });

    it('fails to connect to a closed port with CONNECTION_CLOSED', async () => {
      const s = await server();
      const url = s.url;
      await s.close();
      servers = [];
      expect((await rejection(openConnection({ url, clientId: 'x', ...dial }))).code).to.equal('CONNECTION_CLOSED');
    });
  });
}
