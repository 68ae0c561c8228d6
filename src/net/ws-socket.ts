/**
 * The FrameSocket (frame-socket.ts) on Node's `ws`: the server's sockets and Node clients. This is
 * the hot path of the whole system (every produce, fetch and Raft message crosses it), so it adds
 * nothing per frame: messages arrive as ws's own Buffers (binaryType 'nodebuffer', which ws already
 * concatenates — no copy here), and every send shares one completion callback and one options object.
 *
 * Backpressure is ws's: `pauseReading` is `pause()` (ws stops reading the TCP socket), and every
 * send's completion callback reports `writable`, so `wantWritable` needs nothing more.
 *
 * In a browser bundle `ws` resolves to its stub (its package.json "browser" field), which throws if
 * called; `dialWs` is never chosen there (client-connection.ts picks the browser dialer).
 */
import { WebSocket, type RawData } from 'ws';
import { closeReason, type DialCallbacks, type DialOptions, type FrameSocket, type FrameSocketEvents } from './frame-socket.js';

const BINARY = { binary: true } as const;
const utf8 = new TextDecoder();

/** Ignores events until `start`: a socket is started synchronously on open, so nothing is lost. */
const NO_EVENTS: FrameSocketEvents = { frame() {}, text() {}, writable() {}, error() {}, closed() {} };

export class WsFrameSocket implements FrameSocket {
  readonly canPauseReading = true;
  private events = NO_EVENTS;
  /** One callback for every send: an error means the socket is closing, and its close event follows. */
  private readonly sent = (err?: Error | null): void => {
    if (err === undefined || err === null) this.events.writable();
  };

  constructor(private readonly socket: WebSocket) {
    socket.binaryType = 'nodebuffer';
  }

  get bufferedAmount(): number {
    return this.socket.bufferedAmount;
  }

  start(events: FrameSocketEvents): void {
    this.events = events;
    const socket = this.socket;
    socket.on('message', (data: RawData, isBinary: boolean) => (isBinary ? events.frame(asBytes(data)) : events.text()));
    socket.on('close', (code: number, reason: Uint8Array) => events.closed(code, utf8.decode(reason)));
    // ws reports protocol errors (oversize, bad opcode) here and closes the socket itself.
    socket.on('error', (err: Error & { code?: string }) => events.error(err.message, err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH'));
  }

  send(bytes: Uint8Array): void {
    this.socket.send(bytes, BINARY, this.sent);
  }

  wantWritable(): void {
    // Every send's completion calls `writable` already.
  }

  pauseReading(): void {
    this.socket.pause();
  }

  resumeReading(): void {
    this.socket.resume();
  }

  close(code: number, reason: string): void {
    this.socket.close(code, closeReason(reason));
  }

  terminate(): void {
    this.socket.terminate();
  }
}

/**
 * With binaryType 'nodebuffer' ws hands over one Buffer (a Uint8Array) per message; the other RawData
 * shapes come only with other binary types, and are converted without Node's Buffer for completeness.
 */
function asBytes(data: RawData): Uint8Array {
  if (data instanceof Uint8Array) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  const out = new Uint8Array(data.reduce((n, part) => n + part.length, 0));
  let at = 0;
  for (const part of data) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** Dials with `ws` (Node): permessage-deflate off, ws's `maxPayload` as given. */
export function dialWs(url: string, options: DialOptions, callbacks: DialCallbacks): () => void {
  let done = false;
  let socket: WebSocket;
  try {
    socket = new WebSocket(url, { perMessageDeflate: false, maxPayload: options.maxPayloadBytes });
  } catch (e) {
    // A malformed URL: reported like any failure, after the caller has the abort function.
    queueMicrotask(() => {
      if (!done) callbacks.failed(e instanceof Error ? e : new Error(String(e)));
    });
    return () => {
      done = true;
    };
  }
  // Stays attached until open: ws may emit more than one error while an attempt is torn down.
  const onError = (err: Error): void => {
    if (done) return;
    done = true;
    callbacks.failed(err);
  };
  socket.on('error', onError);
  socket.once('open', () => {
    if (done) return;
    done = true;
    socket.off('error', onError);
    callbacks.opened(new WsFrameSocket(socket));
  });
  return () => {
    done = true;
    socket.terminate();
  };
}
