/**
 * The network layer's public face: the protocol (frames and their codec), the connection, the
 * server and the client connection, and the socket port with its two adapters (`ws` in Node.js, the
 * WebSocket API in browsers). The client library imports the protocol and the client side only (they
 * bundle for browsers); the node process wires the server's handlers to its cores.
 */
export { NetError, NetErrorCode, netError, isNetErrorCode } from './errors.js';
export * from './protocol.js';
export { Connection, HandlerRegistry, DEFAULT_CONNECTION_LIMITS, realClock, wsMaxPayload } from './connection.js';
export type { ConnectionLimits, ConnectionOptions, ConnectionRole, RequestContext, RequestHandler, RaftHandler } from './connection.js';
export { CloseCode, closeReason } from './frame-socket.js';
export type { DialCallbacks, DialOptions, FrameSocket, FrameSocketEvents, SocketDialer } from './frame-socket.js';
export { WsFrameSocket, dialWs } from './ws-socket.js';
export { BrowserFrameSocket, DEFAULT_DRAIN_POLL_MS, browserCloseCode, browserDialer, globalWebSocket } from './browser-socket.js';
export type { WebSocketConstructor, WebSocketLike } from './browser-socket.js';
export { NetServer, DEFAULT_MAX_CONNECTIONS } from './server.js';
export type { ServerOptions } from './server.js';
export { openConnection, defaultSocketDialer, isNodeJs, DEFAULT_CONNECT_TIMEOUT_MS } from './client-connection.js';
export type { ClientConnectionOptions } from './client-connection.js';
