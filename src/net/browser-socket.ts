/**
 * The FrameSocket (frame-socket.ts) on the browser's WebSocket API (also any WHATWG WebSocket, e.g.
 * Node's global one): what the client library runs on once bundled for browsers. No Node built-ins.
 *
 * The browser API differs from ws in four ways this adapter absorbs:
 * - Binary messages arrive as ArrayBuffers (binaryType 'arraybuffer'); each becomes a Uint8Array view,
 *   not a copy.
 * - `send` has no completion callback: while the connection waits for `bufferedAmount` to drop
 *   (`wantWritable`), this adapter re-checks it on a timer of the injected Clock every `drainPollMs`
 *   and reports `writable` (one timer at a time; none while nobody waits, none after the close).
 * - Reading cannot be paused (`canPauseReading` false). What bounds unread input then is the
 *   connection's in-flight request limit: a client receives answers to its own requests (at most
 *   `maxInFlightRequests` of them, each at most `maxPayloadBytes`) plus rare connection-level frames.
 * - `close` accepts only 1000 and 3000–4999: other protocol codes (1008 for a violation) are sent as
 *   their mirror in the private range, 4000 + (code − 1000), e.g. 4008. There is no `terminate`:
 *   it closes with 1000 and stops listening.
 */
import type { CancelTimer, Clock } from '../util/clock.js';
import { closeReason, type DialCallbacks, type DialOptions, type FrameSocket, type FrameSocketEvents, type SocketDialer } from './frame-socket.js';

/** The part of the WHATWG WebSocket this adapter uses (the DOM types are not in this build's lib). */
export interface WebSocketLike {
  binaryType: string;
  readonly bufferedAmount: number;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { readonly data: unknown }) => void) | null;
  onerror: ((event: unknown) => void) | null;
  onclose: ((event: { readonly code: number; readonly reason: string }) => void) | null;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
}

export type WebSocketConstructor = new (url: string) => WebSocketLike;

/** How often a waiting connection re-checks `bufferedAmount`. */
export const DEFAULT_DRAIN_POLL_MS = 10;

export class BrowserFrameSocket implements FrameSocket {
  readonly canPauseReading = false;
  private events: FrameSocketEvents | undefined;
  private cancelPoll: CancelTimer | undefined;
  private isClosed = false;

  constructor(
    private readonly socket: WebSocketLike,
    private readonly clock: Clock,
    private readonly drainPollMs = DEFAULT_DRAIN_POLL_MS,
  ) {
    socket.binaryType = 'arraybuffer';
  }

  get bufferedAmount(): number {
    return this.socket.bufferedAmount;
  }

  start(events: FrameSocketEvents): void {
    const socket = this.socket;
    socket.onmessage = (event) => {
      const data = event.data;
      if (data instanceof ArrayBuffer) events.frame(new Uint8Array(data));
      else events.text();
    };
    // The browser says nothing about the cause; the close event with its code follows.
    socket.onerror = () => events.error('WebSocket error', false);
    socket.onclose = (event) => {
      this.stop();
      events.closed(event.code, event.reason);
    };
    this.events = events;
  }

  send(bytes: Uint8Array): void {
    this.socket.send(bytes);
  }

  wantWritable(): void {
    if (this.cancelPoll !== undefined || this.isClosed) return;
    this.cancelPoll = this.clock.setTimer(this.drainPollMs, () => {
      this.cancelPoll = undefined;
      if (!this.isClosed) this.events?.writable();
    });
  }

  pauseReading(): void {
    // Browsers cannot hold back incoming messages; see the module header for what bounds them.
  }

  resumeReading(): void {}

  close(code: number, reason: string): void {
    this.socket.close(browserCloseCode(code), closeReason(reason));
  }

  terminate(): void {
    this.stop();
    this.socket.close(1000);
  }

  private stop(): void {
    this.isClosed = true;
    this.cancelPoll?.();
    this.cancelPoll = undefined;
  }
}

/** Browsers throw on close codes other than 1000 and 3000–4999; protocol codes map to 4000 + (code − 1000). */
export function browserCloseCode(code: number): number {
  if (code === 1000 || (code >= 3000 && code <= 4999)) return code;
  return code > 1000 && code < 2000 ? 4000 + (code - 1000) : 1000;
}

/** The environment's WebSocket constructor (globalThis.WebSocket), if there is one. */
export function globalWebSocket(): WebSocketConstructor | undefined {
  const candidate = (globalThis as { WebSocket?: unknown }).WebSocket;
  return typeof candidate === 'function' ? (candidate as WebSocketConstructor) : undefined;
}

/** A dialer on a WHATWG WebSocket constructor: `globalThis.WebSocket` unless one is given (tests). */
export function browserDialer(WebSocketImpl?: WebSocketConstructor, drainPollMs = DEFAULT_DRAIN_POLL_MS): SocketDialer {
  return (url: string, options: DialOptions, callbacks: DialCallbacks): (() => void) => {
    let done = false;
    const fail = (error: Error): void => {
      if (done) return;
      done = true;
      callbacks.failed(error);
    };
    let socket: WebSocketLike;
    try {
      const Impl = WebSocketImpl ?? globalWebSocket();
      if (Impl === undefined) throw new Error('this environment has no WebSocket');
      socket = new Impl(url);
    } catch (e) {
      // A malformed URL or no WebSocket: reported like any failure, after the caller has the abort function.
      queueMicrotask(() => fail(e instanceof Error ? e : new Error(String(e))));
      return () => {
        done = true;
      };
    }
    socket.binaryType = 'arraybuffer';
    socket.onerror = () => fail(new Error('WebSocket error'));
    socket.onclose = (event) => fail(new Error(`closed before opening (code ${event.code})`));
    socket.onopen = () => {
      if (done) return;
      done = true;
      socket.onopen = socket.onerror = socket.onclose = null;
      callbacks.opened(new BrowserFrameSocket(socket, options.clock, drainPollMs));
    };
    return () => {
      if (!done) socket.onopen = socket.onerror = socket.onclose = null;
      done = true;
      socket.close(1000);
    };
  };
}
