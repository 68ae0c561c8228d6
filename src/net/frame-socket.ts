/**
 * The port between a Connection (connection.ts) and the WebSocket it runs on: the little a connection
 * needs from a socket, so that one Connection serves Node's `ws` (ws-socket.ts: the server side, and
 * Node clients) and the browser's WebSocket (browser-socket.ts). One binary message is one frame.
 *
 * Contract for implementations:
 * - Events go to the one `FrameSocketEvents` given to `start`, never before it and never after
 *   `closed`; `closed` comes exactly once, last. Adapters do not catch exceptions of the handlers (the
 *   Connection guards its own).
 * - `frame` hands over the bytes of one binary message; the receiver may keep them (nothing reuses
 *   the memory). `text` reports a text message, which is never a frame.
 * - `writable` says "bufferedAmount may have dropped": at least once after bytes handed to `send`
 *   have left the buffer, while the connection has asked for it with `wantWritable` (see there).
 * - `pauseReading` / `resumeReading` stop and restart incoming `frame` events where the platform can
 *   (ws); where it cannot (browsers), they do nothing and `canPauseReading` is false.
 * - `close` starts the closing handshake; `terminate` drops the connection at once. Both may be called
 *   in any state, repeatedly.
 *
 * Dialing (client side) is a separate step, `SocketDialer`, because a connection starts only on an
 * open socket: the dialer reports exactly one of `opened` or `failed`.
 */
import type { Clock } from '../util/clock.js';

/** Close codes used by the protocol (RFC 6455 §7.4.1). */
export const CloseCode = {
  NORMAL: 1000,
  /** A protocol violation by the peer (connection.ts answers it with an Error frame first). */
  POLICY: 1008,
  /** ws closes with this by itself when a frame exceeds its `maxPayload`. */
  TOO_BIG: 1009,
  /** The server is at its connection limit. */
  TRY_AGAIN_LATER: 1013,
} as const;

export interface FrameSocketEvents {
  /** One binary message; the bytes belong to the receiver. */
  frame(bytes: Uint8Array): void;
  /** One text message (not a frame: a protocol violation). */
  text(): void;
  /** The socket may have room again; see `FrameSocket.wantWritable`. */
  writable(): void;
  /**
   * A socket error before the close. `frameTooLarge`: the peer sent a message over the socket's own
   * payload limit (ws cuts such messages off without reading them).
   */
  error(message: string, frameTooLarge: boolean): void;
  /** The socket closed (always the last event). */
  closed(code: number, reason: string): void;
}

export interface FrameSocket {
  /** Bytes handed to `send` that have not left the socket yet (WebSocket `bufferedAmount`). */
  readonly bufferedAmount: number;
  /** False where incoming messages cannot be held back (browsers): `pauseReading` then does nothing. */
  readonly canPauseReading: boolean;
  /** Attaches the connection's handlers; call once, on an open socket. */
  start(events: FrameSocketEvents): void;
  /** Sends one binary message. The caller must not mutate `bytes` afterwards. */
  send(bytes: Uint8Array): void;
  /**
   * The connection is waiting for `bufferedAmount` to drop (it has frames queued or reading paused):
   * the socket must call `writable` again after this, once its buffer has (partly) drained. ws does it
   * anyway from every send's completion; browsers have no such event, so their adapter polls.
   */
  wantWritable(): void;
  pauseReading(): void;
  resumeReading(): void;
  /** Starts the closing handshake; `reason` at most 123 bytes of UTF-8 (the adapter cuts it). */
  close(code: number, reason: string): void;
  /** Drops the connection without a closing handshake. */
  terminate(): void;
}

export interface DialOptions {
  /** Largest incoming message the socket itself accepts, where it can enforce one (ws `maxPayload`). */
  readonly maxPayloadBytes: number;
  /** For adapters that need timers (the browser adapter's drain polling). */
  readonly clock: Clock;
}

export interface DialCallbacks {
  /** The socket is open; start a Connection on it now (synchronously). */
  opened(socket: FrameSocket): void;
  /** The socket could not be opened. */
  failed(error: Error): void;
}

/**
 * Opens a WebSocket to `url` and reports exactly one of `opened` or `failed`, never before returning
 * (a URL the constructor rejects is reported from a microtask). The returned function abandons the
 * attempt, or terminates the socket if it has opened; no callback comes after it.
 */
export type SocketDialer = (url: string, options: DialOptions, callbacks: DialCallbacks) => () => void;

const encoder = new TextEncoder();

/** Cuts a close reason to what RFC 6455 allows (123 bytes of UTF-8), on a character boundary. */
export function closeReason(reason: string): string {
  if (reason.length <= 41) return reason; // a UTF-16 unit is at most 3 bytes of UTF-8
  let out = reason.slice(0, 123);
  while (encoder.encode(out).length > 123) out = out.slice(0, -1);
  return out;
}
