/**
 * The WebSocket server of a Skein node: accepts connections, runs the handshake (connection.ts) and
 * dispatches requests to the handlers registered per request kind, and one-way Raft messages to the
 * Raft handler.
 *
 * Invariants and limits:
 * - `perMessageDeflate` is off (record batches are the payload and compress per batch, if at all);
 *   ws's `maxPayload` is the connection limit plus its grace (connection.ts: `wsMaxPayload`).
 * - At most `maxConnections` connections (default 1024); one more is closed at once with 1013 (try
 *   again later) before any frame.
 * - A bad connection never affects another: every failure is contained in its Connection.
 * - `close()` closes every connection (requests in flight on the client fail CONNECTION_CLOSED) and
 *   resolves when the listening socket is closed.
 * - A server listened with `starting: true` answers requests it has no handler for with NODE_STARTING
 *   (retriable) until `ready()`: a node binds its port first, then opens its storage and registers its
 *   handlers, and a client must not take that moment for a request kind the node does not serve.
 */
import { WebSocketServer, type WebSocket } from 'ws';
import type { AddressInfo } from 'node:net';
import { debugLoggers, type Logger } from '../util/log.js';
import { Connection, HandlerRegistry, resolveLimits, wsMaxPayload, type ConnectionOptions, type RaftHandler, type RequestHandler } from './connection.js';
import { CloseCode } from './frame-socket.js';
import { PROTOCOL_VERSION, type ErrorBody, type Handshake, type HandshakeResponse, type RequestKind } from './protocol.js';
import { WsFrameSocket } from './ws-socket.js';

export interface ServerOptions extends ConnectionOptions {
  /** Listen address; default 127.0.0.1. */
  readonly host?: string;
  /** Default 0: any free port (read it from `port`). */
  readonly port?: number;
  /** This node's id, told to every client in the handshake answer. */
  readonly nodeId: number;
  readonly clusterId: string;
  readonly maxConnections?: number;
  /** Answer NODE_STARTING for request kinds without a handler until `ready()`. Default false. */
  readonly starting?: boolean;
  /**
   * Decides on a handshake of the right version (authentication goes here): undefined accepts, an
   * ErrorBody refuses and closes. Default: accept all.
   */
  readonly authorize?: (handshake: Handshake) => ErrorBody | undefined;
}

export const DEFAULT_MAX_CONNECTIONS = 1024;

export class NetServer {
  private readonly handlers = new HandlerRegistry();
  private readonly open = new Set<Connection>();
  private readonly log: Logger;

  private constructor(
    private readonly wss: WebSocketServer,
    private readonly options: ServerOptions,
    /** The port listened on (the real one when 0 was asked for). */
    readonly port: number,
  ) {
    this.log = options.logger ?? debugLoggers('skein:net:server');
    this.handlers.starting = options.starting === true;
    wss.on('connection', (socket) => this.onConnection(socket));
  }

  /** Starts listening; resolves once the port is bound. */
  static listen(options: ServerOptions): Promise<NetServer> {
    const limits = resolveLimits(options.limits);
    return new Promise((resolve, reject) => {
      const wss = new WebSocketServer({ host: options.host ?? '127.0.0.1', port: options.port ?? 0, perMessageDeflate: false, maxPayload: wsMaxPayload(limits), clientTracking: false });
      const onError = (err: Error): void => reject(err);
      wss.once('error', onError);
      wss.once('listening', () => {
        wss.off('error', onError);
        // Later listener errors are logged; the server keeps serving the connections it has.
        const server = new NetServer(wss, options, (wss.address() as AddressInfo).port);
        wss.on('error', (err) => server.log('server error: %s', err.message));
        resolve(server);
      });
    });
  }

  /** `ws://host:port` of this server. */
  get url(): string {
    return `ws://${this.options.host ?? '127.0.0.1'}:${this.port}`;
  }

  /** Connections currently open (including those still handshaking). */
  get connections(): ReadonlySet<Connection> {
    return this.open;
  }

  /** Registers the handler for one request kind; a request of a kind without a handler gets UNSUPPORTED_REQUEST. */
  handle<K extends RequestKind>(kind: K, handler: RequestHandler<K>): void {
    this.handlers.handle(kind, handler);
  }

  /** Every handler is registered: from now on a request of a kind without one gets UNSUPPORTED_REQUEST. */
  ready(): void {
    this.handlers.starting = false;
  }

  /** Registers the receiver of one-way Raft messages (which must not throw; exceptions are logged). */
  onRaft(handler: RaftHandler): void {
    this.handlers.raft = handler;
  }

  /** Closes every connection and the listening socket. */
  async close(): Promise<void> {
    const closing = [...this.open].map((c) => {
      c.close('server shutting down');
      return c.closed;
    });
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    // ws's closing handshake waits for the peer; don't let a silent peer hold shutdown beyond its own timeout.
    await Promise.all(closing);
  }

  private onConnection(socket: WebSocket): void {
    const max = this.options.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
    if (this.open.size >= max) {
      this.log('refused a connection: %d open', this.open.size);
      socket.close(CloseCode.TRY_AGAIN_LATER, 'too many connections');
      return;
    }
    const accept = (handshake: Handshake): HandshakeResponse | ErrorBody =>
      this.options.authorize?.(handshake) ?? { protocolVersion: PROTOCOL_VERSION, nodeId: this.options.nodeId, clusterId: this.options.clusterId };
    const connection = new Connection(new WsFrameSocket(socket), { side: 'server', accept }, this.handlers, this.options);
    this.open.add(connection);
    void connection.closed.then(() => this.open.delete(connection));
  }
}
