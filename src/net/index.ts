/**
 * The network layer's public face: the protocol (frames and their codec), the connection, the
 * server and the client connection. The client library imports the protocol and the client side
 * only; the node process wires the server's handlers to its cores.
 */
export { NetError, NetErrorCode, netError, isNetErrorCode } from './errors.js';
export * from './protocol.js';
export { Connection, HandlerRegistry, DEFAULT_CONNECTION_LIMITS, realClock, wsMaxPayload } from './connection.js';
export type { ConnectionLimits, ConnectionOptions, ConnectionRole, RequestContext, RequestHandler, RaftHandler } from './connection.js';
export { NetServer, DEFAULT_MAX_CONNECTIONS } from './server.js';
export type { ServerOptions } from './server.js';
export { openConnection, DEFAULT_CONNECT_TIMEOUT_MS } from './client-connection.js';
export type { ClientConnectionOptions } from './client-connection.js';
