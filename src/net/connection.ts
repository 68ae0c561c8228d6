/**
 * One WebSocket connection speaking the Skein protocol (protocol.ts), on either side: the server's
 * end (server.ts) or the client's (client-connection.ts). It owns framing, the handshake state,
 * request/response correlation, limits and backpressure; what requests mean is up to the handlers.
 * It runs on a FrameSocket (frame-socket.ts): Node's `ws` (ws-socket.ts) or a browser's WebSocket
 * (browser-socket.ts); everything below holds on both.
 *
 * Invariants:
 * - The handshake comes first: the client's first frame is a Handshake and nothing else is sent until
 *   the server answers it. Any other first frame, a second handshake, a text message, a malformed,
 *   oversize or unknown frame, or a duplicate correlation id: the peer gets an Error frame
 *   (correlation id 0) and the connection closes (1008). No handler is called for such a frame, and
 *   nothing is thrown out of the socket's event handlers.
 * - Requests in flight are bounded both ways (`maxInFlightRequests`): an incoming request beyond the
 *   bound gets an Error frame TOO_MANY_REQUESTS and the connection stays up; an outgoing one is
 *   rejected locally with the same code.
 * - Every outgoing request settles exactly once: its response, an Error frame for it, its timeout
 *   (REQUEST_TIMED_OUT), or the connection closing (CONNECTION_CLOSED, or the peer's Error). A response
 *   arriving after its timeout is dropped.
 * - A handler's exception becomes an Error frame for that request (its NetError code if it threw one,
 *   else UNKNOWN_SERVER_ERROR); the connection stays up. A handler slower than `handlerTimeoutMs` is
 *   answered REQUEST_TIMED_OUT and its slot freed; its late result is dropped.
 * - Backpressure: while the socket's `bufferedAmount` is at or above `bufferedHighWaterBytes`, frames
 *   wait in a bounded queue and reading is paused; both resume below half the mark. The socket tells
 *   when its buffer drains (ws: every send's completion; browsers: polling on the Clock). Where reading
 *   cannot be paused (browsers), unread input is bounded by `maxInFlightRequests` instead: a client
 *   receives only answers to its own requests and connection-level frames. A full queue drops one-way
 *   Raft messages (Raft tolerates loss) and closes the connection for anything else (a peer that does
 *   not read).
 * - Idle timeout: no frame either way and nothing in flight for `idleTimeoutMs` closes the connection.
 *
 * Timers go through an injectable Clock (real timers by default: this is an adapter, DESIGN.md §2).
 */
import type { CancelTimer, Clock } from '../util/clock.js';
import { debugLoggers, type Logger } from '../util/log.js';
import type { Message } from '../raft/types.js';
import { NetError, netError } from './errors.js';
import { CloseCode, type FrameSocket, type FrameSocketEvents } from './frame-socket.js';
import {
  CORRELATION_ID_MAX,
  decodeFrame,
  encodeFrame,
  frameKind,
  PROTOCOL_VERSION,
  type ErrorBody,
  type Frame,
  type FrameBody,
  type Handshake,
  type HandshakeResponse,
  type RequestBody,
  type RequestKind,
  type RequestMap,
  type ResponseBody,
} from './protocol.js';

export const MiB = 1024 * 1024;

/** Limits and timeouts of one connection. Every field has a default (see DEFAULT_CONNECTION_LIMITS). */
export interface ConnectionLimits {
  /** Largest frame accepted or sent, in bytes (the ws `maxPayload` is this plus `oversizeGraceBytes`). */
  readonly maxPayloadBytes: number;
  /**
   * Frames up to `maxPayloadBytes + oversizeGraceBytes` are read and answered with FRAME_TOO_LARGE;
   * larger ones are cut off by ws itself (close code 1009) without reading them. (A browser's socket
   * has no such limit: there every frame over `maxPayloadBytes` is read, then answered FRAME_TOO_LARGE.)
   */
  readonly oversizeGraceBytes: number;
  /** Requests in flight per connection, each way. */
  readonly maxInFlightRequests: number;
  /** How long an outgoing request waits for its answer. */
  readonly requestTimeoutMs: number;
  /** How long an incoming request's handler may run before it is answered REQUEST_TIMED_OUT. */
  readonly handlerTimeoutMs: number;
  /** Close after this long with no frame either way and nothing in flight (Kafka: connections.max.idle.ms). */
  readonly idleTimeoutMs: number;
  /** Pause reading and queue sends while the socket buffers at least this many bytes. */
  readonly bufferedHighWaterBytes: number;
  /** Frames that may wait behind a full socket. */
  readonly sendQueueMax: number;
  /** How long a new connection may take to complete the handshake. */
  readonly handshakeTimeoutMs: number;
}

export const DEFAULT_CONNECTION_LIMITS: ConnectionLimits = {
  maxPayloadBytes: 16 * MiB,
  oversizeGraceBytes: 1 * MiB,
  maxInFlightRequests: 128,
  requestTimeoutMs: 30_000,
  handlerTimeoutMs: 60_000,
  idleTimeoutMs: 540_000,
  bufferedHighWaterBytes: 8 * MiB,
  sendQueueMax: 1024,
  handshakeTimeoutMs: 10_000,
};

export interface ConnectionOptions {
  readonly limits?: Partial<ConnectionLimits>;
  readonly clock?: Clock;
  readonly logger?: Logger;
}

/** Real timers, for when no Clock is injected. */
export const realClock: Clock = {
  nowMs: () => performance.now(),
  setTimer(delayMs, fn) {
    const handle = setTimeout(fn, delayMs);
    return () => clearTimeout(handle);
  },
};

export function resolveLimits(partial: Partial<ConnectionLimits> | undefined): ConnectionLimits {
  const limits = { ...DEFAULT_CONNECTION_LIMITS, ...partial };
  for (const [name, value] of Object.entries(limits)) {
    if (!(Number.isSafeInteger(value) && value >= 0)) throw new RangeError(`connection limit ${name} must be a non-negative integer, got ${value}`);
  }
  if (limits.maxInFlightRequests < 1) throw new RangeError('maxInFlightRequests must be at least 1');
  return limits;
}

/** What a handler knows about the request's connection. */
export interface RequestContext {
  readonly connection: Connection;
  /** The client's handshake. */
  readonly peer: Handshake;
}

export type RequestHandler<K extends RequestKind> = (request: RequestMap[K]['request'], context: RequestContext) => Promise<RequestMap[K]['response']>;
export type RaftHandler = (message: Message, connection: Connection) => void;

/** The handlers a connection dispatches to; the server shares one registry among its connections. */
export class HandlerRegistry {
  private readonly requests = new Map<RequestKind, RequestHandler<RequestKind>>();
  raft: RaftHandler | undefined;
  /** While true, a request of a kind without a handler gets NODE_STARTING (retriable), not UNSUPPORTED_REQUEST. */
  starting = false;

  /** Registers the handler of one request kind (one per kind). */
  handle<K extends RequestKind>(kind: K, handler: RequestHandler<K>): void {
    if (this.requests.has(kind)) throw new Error(`a handler for ${kind} is already registered`);
    this.requests.set(kind, handler as unknown as RequestHandler<RequestKind>);
  }

  get(kind: RequestKind): RequestHandler<RequestKind> | undefined {
    return this.requests.get(kind);
  }
}

interface Pending {
  readonly kind: RequestKind;
  readonly resolve: (response: unknown) => void;
  readonly reject: (error: NetError) => void;
  readonly cancelTimer: CancelTimer;
}

type State = 'handshaking' | 'open' | 'closing' | 'closed';

const { NORMAL: CLOSE_NORMAL, POLICY: CLOSE_POLICY, TOO_BIG: CLOSE_TOO_BIG } = CloseCode;

export type ConnectionRole =
  | {
      readonly side: 'server';
      /** Answers a valid-version handshake: the response, or an Error (e.g. UNAUTHORIZED) that closes. */
      readonly accept: (handshake: Handshake) => HandshakeResponse | ErrorBody;
    }
  | { readonly side: 'client'; readonly handshake: Handshake };

export class Connection {
  readonly limits: ConnectionLimits;
  private readonly clock: Clock;
  private readonly log: Logger;
  private state: State = 'handshaking';
  private peerHandshake: Handshake | undefined;
  private serverHandshake: HandshakeResponse | undefined;
  private readonly pending = new Map<number, Pending>();
  private readonly incoming = new Set<number>();
  private nextCorrelationId = 1;
  private readonly sendQueue: Uint8Array[] = [];
  private readingPaused = false;
  private lastActivityMs: number;
  private cancelIdle: CancelTimer | undefined;
  private readonly cancelHandshakeTimer: CancelTimer;
  private closeError: NetError | undefined;
  private readonly closedPromise: Promise<NetError | undefined>;
  private resolveClosed!: (error: NetError | undefined) => void;
  private handshakeWaiter: { resolve: (h: HandshakeResponse) => void; reject: (e: NetError) => void } | undefined;

  constructor(
    private readonly socket: FrameSocket,
    private readonly role: ConnectionRole,
    private readonly handlers: HandlerRegistry,
    options: ConnectionOptions = {},
  ) {
    this.limits = resolveLimits(options.limits);
    this.clock = options.clock ?? realClock;
    this.log = options.logger ?? debugLoggers('skein:net:connection');
    this.lastActivityMs = this.clock.nowMs();
    this.closedPromise = new Promise((resolve) => (this.resolveClosed = resolve));
    // The frame and writable handlers are the hot path: plain try/catch, no closure per event.
    const events: FrameSocketEvents = {
      frame: (bytes) => {
        try {
          this.onFrame(bytes);
        } catch (e) {
          this.bug(e);
        }
      },
      writable: () => {
        try {
          this.drain();
        } catch (e) {
          this.bug(e);
        }
      },
      text: () => this.guard(() => this.onText()),
      error: (message, frameTooLarge) => this.guard(() => this.onSocketError(message, frameTooLarge)),
      closed: (code, reason) => this.guard(() => this.onClose(code, reason)),
    };
    socket.start(events);
    this.scheduleIdleCheck(this.limits.idleTimeoutMs);
    this.cancelHandshakeTimer = this.clock.setTimer(this.limits.handshakeTimeoutMs, () =>
      this.guard(() => {
        if (this.state === 'handshaking') this.violation(netError(this.role.side === 'server' ? 'HANDSHAKE_REQUIRED' : 'REQUEST_TIMED_OUT', `no handshake within ${this.limits.handshakeTimeoutMs} ms`));
      }),
    );
  }

  /** The client's handshake (server side), once received. */
  get peer(): Handshake | undefined {
    return this.peerHandshake;
  }

  /** The server's handshake answer (client side), once received. */
  get server(): HandshakeResponse | undefined {
    return this.serverHandshake;
  }

  get isOpen(): boolean {
    return this.state === 'open';
  }

  /** Requests of ours awaiting an answer. */
  get inFlightRequests(): number {
    return this.pending.size;
  }

  /** Resolves once the socket has closed: with the error that closed it, or undefined for a normal close. */
  get closed(): Promise<NetError | undefined> {
    return this.closedPromise;
  }

  // ---- Handshake (client side) ---------------------------------------------------------------------

  /** Client side: sends the handshake and resolves with the server's answer. Call once, when the socket is open. */
  startHandshake(): Promise<HandshakeResponse> {
    if (this.role.side !== 'client' || this.state !== 'handshaking' || this.handshakeWaiter !== undefined) {
      return Promise.reject(netError('UNEXPECTED_FRAME', 'startHandshake is for a new client connection, once'));
    }
    const handshake = this.role.handshake;
    return new Promise((resolve, reject) => {
      this.handshakeWaiter = { resolve, reject };
      this.sendFrame({ correlationId: 0, body: { type: 'handshake', handshake } }, false);
    });
  }

  // ---- Outgoing ------------------------------------------------------------------------------------

  /**
   * Sends a request and resolves with its response. Rejects with a NetError: TOO_MANY_REQUESTS
   * (local bound), FRAME_TOO_LARGE, REQUEST_TIMED_OUT, CONNECTION_CLOSED, or the peer's Error frame.
   */
  request<K extends RequestKind>(kind: K, request: RequestMap[K]['request'], options: { readonly timeoutMs?: number } = {}): Promise<RequestMap[K]['response']> {
    if (this.state !== 'open') return Promise.reject(this.closeError ?? netError('CONNECTION_CLOSED', `connection is ${this.state}`));
    if (this.pending.size >= this.limits.maxInFlightRequests) return Promise.reject(netError('TOO_MANY_REQUESTS', `${this.pending.size} requests in flight`));
    const correlationId = this.takeCorrelationId();
    let bytes: Uint8Array;
    try {
      bytes = encodeFrame({ correlationId, body: { type: 'request', kind, request } as RequestBody });
    } catch (e) {
      return Promise.reject(e);
    }
    if (bytes.length > this.limits.maxPayloadBytes) return Promise.reject(netError('FRAME_TOO_LARGE', `${kind} request of ${bytes.length} bytes`));
    const timeoutMs = options.timeoutMs ?? this.limits.requestTimeoutMs;
    return new Promise((resolve, reject) => {
      const cancelTimer = this.clock.setTimer(timeoutMs, () => {
        if (this.pending.delete(correlationId)) reject(netError('REQUEST_TIMED_OUT', `${kind} request ${correlationId} after ${timeoutMs} ms`));
      });
      this.pending.set(correlationId, { kind, resolve: resolve as (r: unknown) => void, reject, cancelTimer });
      this.sendBytes(bytes, false);
    });
  }

  /** Sends a one-way Raft message. False when it was not sent: the connection is not open, or its send queue is full. */
  sendRaft(message: Message): boolean {
    if (this.state !== 'open') return false;
    return this.sendFrame({ correlationId: 0, body: { type: 'raft', message } }, true);
  }

  /** Closes the connection normally; requests in flight reject with CONNECTION_CLOSED. */
  close(reason = 'closed'): void {
    this.shutdown(undefined, CLOSE_NORMAL, reason);
  }

  // ---- Incoming ------------------------------------------------------------------------------------

  /** Nothing may escape a socket event handler: an exception here is a bug, logged and closing the connection. */
  private guard(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.bug(e);
    }
  }

  private bug(e: unknown): void {
    this.log('bug in connection handler: %O', e);
    this.shutdown(netError('UNKNOWN_SERVER_ERROR', 'internal error'), CLOSE_POLICY, 'internal error');
  }

  private onText(): void {
    if (this.state === 'closing' || this.state === 'closed') return;
    this.lastActivityMs = this.clock.nowMs();
    this.violation(netError('MALFORMED_FRAME', 'text messages are not frames'));
  }

  private onFrame(bytes: Uint8Array): void {
    if (this.state === 'closing' || this.state === 'closed') return;
    this.lastActivityMs = this.clock.nowMs();
    if (bytes.length > this.limits.maxPayloadBytes) return this.violation(netError('FRAME_TOO_LARGE', `${bytes.length} bytes, at most ${this.limits.maxPayloadBytes}`));
    let frame: Frame;
    try {
      frame = decodeFrame(bytes);
    } catch (e) {
      return this.violation(e instanceof NetError ? e : netError('MALFORMED_FRAME', String(e)));
    }
    if (this.state === 'handshaking') return this.onHandshakeFrame(frame);
    this.dispatch(frame);
  }

  private onHandshakeFrame(frame: Frame): void {
    const body = frame.body;
    if (this.role.side === 'server') {
      if (this.peerHandshake !== undefined) return this.violation(netError('UNEXPECTED_FRAME', 'a frame before the handshake was answered'));
      if (body.type !== 'handshake') return this.violation(netError('HANDSHAKE_REQUIRED', `got ${frameKind(body)}`));
      const h = body.handshake;
      if (h.protocolVersion !== PROTOCOL_VERSION) {
        return this.violation(netError('UNSUPPORTED_VERSION', `client ${JSON.stringify(h.clientId)} speaks protocol version ${h.protocolVersion}, this server speaks ${PROTOCOL_VERSION}`));
      }
      this.peerHandshake = h;
      const answer = this.role.accept(h);
      if ('code' in answer) return this.violation(new NetError(answer.code, answer.message, answer.retriable));
      this.state = 'open';
      this.sendFrame({ correlationId: frame.correlationId, body: { type: 'handshake-response', handshake: answer } }, false);
      this.log('accepted %s (node %d)', h.clientId, h.nodeId);
      return;
    }
    const waiter = this.handshakeWaiter;
    if (body.type === 'error') {
      const error = new NetError(body.error.code, body.error.message, body.error.retriable);
      this.handshakeWaiter = undefined;
      waiter?.reject(error);
      return this.shutdown(error, CLOSE_NORMAL, 'handshake refused');
    }
    if (body.type !== 'handshake-response' || waiter === undefined) return this.violation(netError('UNEXPECTED_FRAME', `got ${frameKind(body)} before the handshake answer`));
    if (body.handshake.protocolVersion !== PROTOCOL_VERSION) {
      const error = netError('UNSUPPORTED_VERSION', `server speaks protocol version ${body.handshake.protocolVersion}, this client ${PROTOCOL_VERSION}`);
      this.handshakeWaiter = undefined;
      waiter.reject(error);
      return this.violation(error);
    }
    this.serverHandshake = body.handshake;
    this.state = 'open';
    this.handshakeWaiter = undefined;
    waiter.resolve(body.handshake);
  }

  private dispatch(frame: Frame): void {
    const body = frame.body;
    switch (body.type) {
      case 'handshake':
      case 'handshake-response':
        return this.violation(netError('UNEXPECTED_FRAME', `${body.type} after the handshake`));
      case 'error': {
        const error = new NetError(body.error.code, body.error.message, body.error.retriable);
        if (frame.correlationId === 0) {
          // The peer is closing the connection; requests in flight fail with its reason.
          this.closeError = error;
          this.log('peer error: %s %s', error.code, error.message);
          return;
        }
        const p = this.pending.get(frame.correlationId);
        if (p === undefined) return this.log('error for unknown request %d (timed out?)', frame.correlationId);
        this.settle(frame.correlationId, p);
        p.reject(error);
        return;
      }
      case 'raft': {
        const handler = this.handlers.raft;
        if (handler === undefined) return this.log('dropped a raft message: no handler');
        try {
          handler(body.message, this);
        } catch (e) {
          this.log('raft handler failed: %O', e);
        }
        return;
      }
      case 'request':
        return this.onRequest(frame.correlationId, body);
      case 'response': {
        const p = this.pending.get(frame.correlationId);
        if (p === undefined) return this.log('response to unknown request %d (timed out?)', frame.correlationId);
        if (p.kind !== body.kind) return this.violation(netError('UNEXPECTED_FRAME', `a ${body.kind} response to a ${p.kind} request`));
        this.settle(frame.correlationId, p);
        p.resolve(body.response);
        return;
      }
    }
  }

  private settle(correlationId: number, p: Pending): void {
    this.pending.delete(correlationId);
    p.cancelTimer();
  }

  private onRequest(correlationId: number, body: RequestBody): void {
    if (correlationId === 0) return this.violation(netError('UNEXPECTED_FRAME', 'a request needs a correlation id'));
    if (this.incoming.has(correlationId)) return this.violation(netError('UNEXPECTED_FRAME', `correlation id ${correlationId} is already in flight`));
    const handler = this.handlers.get(body.kind);
    if (handler === undefined) return this.sendError(correlationId, netError(this.handlers.starting ? 'NODE_STARTING' : 'UNSUPPORTED_REQUEST', body.kind));
    if (this.incoming.size >= this.limits.maxInFlightRequests) return this.sendError(correlationId, netError('TOO_MANY_REQUESTS', `at most ${this.limits.maxInFlightRequests}`));
    const peer = this.peerHandshake ?? { protocolVersion: PROTOCOL_VERSION, clientId: '', nodeId: 0, credentials: new Uint8Array(0) };
    this.incoming.add(correlationId);
    let done = false;
    const finish = (): boolean => {
      if (done) return false;
      done = true;
      cancelTimer();
      this.incoming.delete(correlationId);
      return this.state === 'open';
    };
    const cancelTimer = this.clock.setTimer(this.limits.handlerTimeoutMs, () => {
      if (finish()) this.sendError(correlationId, netError('REQUEST_TIMED_OUT', `the ${body.kind} handler took over ${this.limits.handlerTimeoutMs} ms`));
    });
    // Promise.resolve().then: a handler that throws synchronously is handled like one that rejects.
    Promise.resolve()
      .then(() => handler(body.request, { connection: this, peer }))
      .then(
        (response) => {
          if (!finish()) return;
          let bytes: Uint8Array;
          try {
            bytes = encodeFrame({ correlationId, body: { type: 'response', kind: body.kind, response } as ResponseBody });
          } catch (e) {
            this.log('%s handler returned an unencodable response: %O', body.kind, e);
            return this.sendError(correlationId, netError('UNKNOWN_SERVER_ERROR', `the ${body.kind} response could not be encoded`));
          }
          if (bytes.length > this.limits.maxPayloadBytes) return this.sendError(correlationId, netError('FRAME_TOO_LARGE', `${body.kind} response of ${bytes.length} bytes`));
          this.sendBytes(bytes, false);
        },
        (e: unknown) => {
          if (!finish()) return;
          this.log('%s handler failed: %O', body.kind, e);
          const error = e instanceof NetError ? e : netError('UNKNOWN_SERVER_ERROR', e instanceof Error ? e.message : String(e));
          this.sendError(correlationId, error);
        },
      )
      .catch((e: unknown) => this.log('bug answering %s: %O', body.kind, e));
  }

  // ---- Sending and backpressure --------------------------------------------------------------------

  private takeCorrelationId(): number {
    // Bounded: at most maxInFlightRequests ids are taken, so this finds a free one quickly.
    for (;;) {
      const id = this.nextCorrelationId;
      this.nextCorrelationId = id >= CORRELATION_ID_MAX ? 1 : id + 1;
      if (!this.pending.has(id)) return id;
    }
  }

  private sendError(correlationId: number, error: NetError): void {
    const body: FrameBody = { type: 'error', error: { code: error.code, message: error.message, retriable: error.retriable } };
    this.sendFrame({ correlationId, body }, false);
  }

  private sendFrame(frame: Frame, droppable: boolean): boolean {
    return this.sendBytes(encodeFrame(frame), droppable);
  }

  private sendBytes(bytes: Uint8Array, droppable: boolean): boolean {
    if (this.state === 'closing' || this.state === 'closed') return false;
    this.lastActivityMs = this.clock.nowMs();
    if (this.sendQueue.length > 0 || this.socket.bufferedAmount >= this.limits.bufferedHighWaterBytes) {
      if (this.sendQueue.length >= this.limits.sendQueueMax) {
        if (droppable) return false;
        this.shutdown(netError('CONNECTION_CLOSED', 'the peer does not read'), CLOSE_POLICY, 'send queue full');
        return false;
      }
      this.sendQueue.push(bytes);
      this.pauseReading();
      return true;
    }
    this.writeToSocket(bytes);
    return true;
  }

  private writeToSocket(bytes: Uint8Array): void {
    this.socket.send(bytes);
    if (this.socket.bufferedAmount >= this.limits.bufferedHighWaterBytes) this.pauseReading();
  }

  /** The socket may have room again: send what waits, and resume reading once below half the mark. */
  private drain(): void {
    if (this.state === 'closing' || this.state === 'closed') return;
    while (this.sendQueue.length > 0 && this.socket.bufferedAmount < this.limits.bufferedHighWaterBytes) {
      this.writeToSocket(this.sendQueue.shift() as Uint8Array);
    }
    if (this.sendQueue.length === 0 && this.socket.bufferedAmount < this.limits.bufferedHighWaterBytes / 2) this.resumeReading();
    // Still waiting (frames queued, or reading paused above half the mark): ask to be told again.
    else if (this.readingPaused) this.socket.wantWritable();
  }

  /** Entered whenever frames queue or the buffer reaches the mark; left only by drain(). */
  private pauseReading(): void {
    if (this.readingPaused) return;
    this.readingPaused = true;
    this.socket.pauseReading();
    this.socket.wantWritable();
    this.log('paused %s: %d bytes buffered, %d frames queued', this.socket.canPauseReading ? 'reading' : 'sending', this.socket.bufferedAmount, this.sendQueue.length);
  }

  private resumeReading(): void {
    if (!this.readingPaused) return;
    this.readingPaused = false;
    this.socket.resumeReading();
  }

  // ---- Closing -------------------------------------------------------------------------------------

  /** A protocol violation: an Error frame (correlation id 0), then close. */
  private violation(error: NetError): void {
    this.log('closing: %s %s', error.code, error.message);
    if (this.state === 'closing' || this.state === 'closed') return;
    // Straight to the socket, ahead of anything queued: the connection ends here.
    try {
      this.socket.send(encodeFrame({ correlationId: 0, body: { type: 'error', error: { code: error.code, message: error.message, retriable: error.retriable } } }));
    } catch {
      // the socket is already closing
    }
    this.shutdown(error, CLOSE_POLICY, error.code);
  }

  private shutdown(error: NetError | undefined, code: number, reason: string): void {
    if (this.state === 'closing' || this.state === 'closed') return;
    this.state = 'closing';
    if (error !== undefined) this.closeError ??= error;
    this.sendQueue.length = 0;
    this.socket.close(code, reason); // the socket cuts the reason to RFC 6455's 123 bytes
  }

  private onSocketError(message: string, frameTooLarge: boolean): void {
    this.log('socket error: %s', message);
    if (frameTooLarge) this.closeError ??= netError('FRAME_TOO_LARGE', message);
  }

  private onClose(code: number, reason: string): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.cancelIdle?.();
    this.cancelHandshakeTimer();
    this.sendQueue.length = 0;
    if (this.closeError === undefined && code === CLOSE_TOO_BIG) this.closeError = netError('FRAME_TOO_LARGE', `peer closed: ${reason}`);
    const error = this.closeError ?? netError('CONNECTION_CLOSED', `code ${code}${reason === '' ? '' : ` (${reason})`}`);
    const waiter = this.handshakeWaiter;
    this.handshakeWaiter = undefined;
    waiter?.reject(error);
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const p of pending) {
      p.cancelTimer();
      p.reject(error);
    }
    this.log('closed: %d %s', code, reason);
    this.resolveClosed(this.closeError);
  }

  // ---- Idle ----------------------------------------------------------------------------------------

  private scheduleIdleCheck(delayMs: number): void {
    if (this.limits.idleTimeoutMs === 0) return; // 0: no idle timeout
    this.cancelIdle = this.clock.setTimer(delayMs, () => this.guard(() => this.checkIdle()));
  }

  private checkIdle(): void {
    if (this.state === 'closing' || this.state === 'closed') return;
    const idleMs = this.clock.nowMs() - this.lastActivityMs;
    const busy = this.pending.size > 0 || this.incoming.size > 0;
    if (!busy && idleMs >= this.limits.idleTimeoutMs) {
      const error = netError('IDLE_TIMEOUT', `idle for ${Math.round(idleMs)} ms`);
      if (this.state === 'open') this.sendError(0, error);
      return this.shutdown(error, CLOSE_NORMAL, 'idle');
    }
    this.scheduleIdleCheck(busy ? this.limits.idleTimeoutMs : Math.max(1, this.limits.idleTimeoutMs - idleMs));
  }
}

/** The ws `maxPayload` for given limits: frames a little over the limit still get a FRAME_TOO_LARGE answer. */
export function wsMaxPayload(limits: ConnectionLimits): number {
  return limits.maxPayloadBytes + limits.oversizeGraceBytes;
}
