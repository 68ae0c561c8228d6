/**
 * The client's end of a Skein connection: opens the WebSocket, performs the handshake and hands back
 * a ready `Connection` for requests and one-way Raft messages. Used by brokers talking to controllers
 * and peers, and by the client library — in Node.js and, bundled, in browsers.
 *
 * The socket comes from a `SocketDialer` (frame-socket.ts): `createSocket` when given, else the
 * environment's: Node.js (detected by `process.versions.node`) dials with `ws` (with bufferutil, and
 * ws's own `maxPayload`); anywhere else `globalThis.WebSocket` (browser-socket.ts). Nothing here needs
 * a Node built-in, so the module bundles for browsers, where `ws` resolves to its never-called stub.
 *
 * Contract: `openConnection` resolves only after the server answered the handshake with our protocol
 * version; it rejects with a NetError (UNSUPPORTED_VERSION, UNAUTHORIZED, CONNECTION_CLOSED,
 * REQUEST_TIMED_OUT after `connectTimeoutMs`) and leaves no socket open behind a rejection. (Only an
 * environment without any WebSocket rejects with a plain Error: retrying cannot help there.)
 * No reconnection here: a closed connection stays closed; the caller (client library, node) decides
 * when to open another.
 */
import { Connection, HandlerRegistry, realClock, resolveLimits, wsMaxPayload, type ConnectionLimits, type ConnectionOptions, type RaftHandler } from './connection.js';
import { browserDialer, globalWebSocket } from './browser-socket.js';
import { netError } from './errors.js';
import type { FrameSocket, SocketDialer } from './frame-socket.js';
import { PROTOCOL_VERSION } from './protocol.js';
import { dialWs } from './ws-socket.js';

export interface ClientConnectionOptions extends ConnectionOptions {
  /** `ws://host:port`. */
  readonly url: string;
  readonly clientId: string;
  /** The connecting node's id, 0 (the default) for clients. */
  readonly nodeId?: number;
  /** Reserved for authentication. */
  readonly credentials?: Uint8Array;
  /** Socket open plus handshake; default 10 s. */
  readonly connectTimeoutMs?: number;
  /** Receiver of Raft messages the server sends on this connection. */
  readonly onRaft?: RaftHandler;
  /** Test hook: the protocol version to announce (default PROTOCOL_VERSION). */
  readonly protocolVersion?: number;
  /** How to open the WebSocket; default: `ws` in Node.js, `globalThis.WebSocket` elsewhere. */
  readonly createSocket?: SocketDialer;
}

export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

/** True in Node.js (and runtimes that present themselves as it), where `ws` is available. */
export function isNodeJs(): boolean {
  const process = (globalThis as { process?: { versions?: { node?: unknown } } }).process;
  return typeof process?.versions?.node === 'string';
}

/** The dialer of this environment, or undefined where there is no WebSocket at all. */
export function defaultSocketDialer(): SocketDialer | undefined {
  if (isNodeJs()) return dialWs;
  return globalWebSocket() === undefined ? undefined : browserDialer();
}

/** Opens a connection and completes the handshake. */
export function openConnection(options: ClientConnectionOptions): Promise<Connection> {
  let limits: ConnectionLimits;
  try {
    limits = resolveLimits(options.limits);
  } catch (e) {
    return Promise.reject(e);
  }
  const dial = options.createSocket ?? defaultSocketDialer();
  if (dial === undefined) return Promise.reject(new Error('openConnection: this environment has neither Node.js (ws) nor a global WebSocket'));
  const clock = options.clock ?? realClock;
  const timeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  const handlers = new HandlerRegistry();
  handlers.raft = options.onRaft;
  return new Promise<Connection>((resolve, reject) => {
    let settled = false;
    let abort: (() => void) | undefined;
    const fail = (error: Error): void => {
      if (settled) return;
      settled = true;
      cancelTimer();
      abort?.();
      reject(error);
    };
    const cancelTimer = clock.setTimer(timeoutMs, () => fail(netError('REQUEST_TIMED_OUT', `connecting to ${options.url} took over ${timeoutMs} ms`)));
    const opened = (socket: FrameSocket): void => {
      const connection = new Connection(
        socket,
        {
          side: 'client',
          handshake: {
            protocolVersion: options.protocolVersion ?? PROTOCOL_VERSION,
            clientId: options.clientId,
            nodeId: options.nodeId ?? 0,
            credentials: options.credentials ?? new Uint8Array(0),
          },
        },
        handlers,
        options,
      );
      connection.startHandshake().then(
        () => {
          if (settled) return connection.close('connect timed out');
          settled = true;
          cancelTimer();
          resolve(connection);
        },
        (error: Error) => fail(error),
      );
    };
    abort = dial(options.url, { maxPayloadBytes: wsMaxPayload(limits), clock }, {
      opened,
      failed: (err) => fail(netError('CONNECTION_CLOSED', `cannot connect to ${options.url}: ${err.message}`)),
    });
    // Dialers call back only after returning (frame-socket.ts); should one fail at once anyway, drop its socket.
    if (settled) abort();
  });
}
