/**
 * The client's end of a Skein connection (Node.js, `ws`): opens the WebSocket, performs the handshake
 * and hands back a ready `Connection` for requests and one-way Raft messages. Used by brokers talking
 * to controllers and peers, and by the client library.
 *
 * Contract: `openConnection` resolves only after the server answered the handshake with our protocol
 * version; it rejects with a NetError (UNSUPPORTED_VERSION, UNAUTHORIZED, CONNECTION_CLOSED,
 * REQUEST_TIMED_OUT after `connectTimeoutMs`) and leaves no socket open behind a rejection.
 * No reconnection here: a closed connection stays closed; the caller (client library, node) decides
 * when to open another.
 */
import { WebSocket } from 'ws';
import { Connection, HandlerRegistry, realClock, resolveLimits, wsMaxPayload, type ConnectionOptions, type RaftHandler } from './connection.js';
import { netError } from './errors.js';
import { PROTOCOL_VERSION } from './protocol.js';

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
}

export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

/** Opens a connection and completes the handshake. */
export function openConnection(options: ClientConnectionOptions): Promise<Connection> {
  const limits = resolveLimits(options.limits);
  const clock = options.clock ?? realClock;
  const timeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  const socket = new WebSocket(options.url, { perMessageDeflate: false, maxPayload: wsMaxPayload(limits) });
  const handlers = new HandlerRegistry();
  handlers.raft = options.onRaft;
  return new Promise<Connection>((resolve, reject) => {
    let settled = false;
    const fail = (error: Error): void => {
      if (settled) return;
      settled = true;
      cancelTimer();
      socket.terminate();
      reject(error);
    };
    const cancelTimer = clock.setTimer(timeoutMs, () => fail(netError('REQUEST_TIMED_OUT', `connecting to ${options.url} took over ${timeoutMs} ms`)));
    const onEarlyError = (err: Error): void => fail(netError('CONNECTION_CLOSED', `cannot connect to ${options.url}: ${err.message}`));
    socket.once('error', onEarlyError);
    socket.once('open', () => {
      socket.off('error', onEarlyError);
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
    });
  });
}
