/**
 * Error codes of the wire layer itself (DESIGN.md §6): conditions about frames and connections, not
 * about partitions or metadata (those travel inside responses with the codes of
 * partitions/errors.ts and metadata/errors.ts). A whole-frame `Error` frame carries one of these
 * codes — or, from a newer peer, a code this build does not know, which is why `NetError.code` is a
 * string.
 *
 * `NetError` is what this layer throws and rejects with: match on `code` (or `instanceof`), never on
 * the message text.
 */

export const NetErrorCode = {
  /** The first frame of a connection must be a Handshake. */
  HANDSHAKE_REQUIRED: { retriable: false, text: 'the first frame of a connection must be a handshake' },
  UNSUPPORTED_VERSION: { retriable: false, text: 'unsupported protocol version' },
  /** Reserved for authentication (the handshake's credentials). */
  UNAUTHORIZED: { retriable: false, text: 'not authorized' },
  MALFORMED_FRAME: { retriable: false, text: 'the frame is not a valid protobuf Frame' },
  FRAME_TOO_LARGE: { retriable: false, text: 'the frame is larger than the connection allows' },
  UNKNOWN_FRAME: { retriable: false, text: 'the frame carries no known request or response' },
  /** A valid frame in the wrong place: a second handshake, a response nobody asked for on the server. */
  UNEXPECTED_FRAME: { retriable: false, text: 'the frame is not allowed here' },
  UNSUPPORTED_REQUEST: { retriable: false, text: 'this node does not serve that request kind' },
  /** The node listens but is still opening its storage: nothing was done; ask again shortly. */
  NODE_STARTING: { retriable: true, text: 'the node is starting and does not serve requests yet' },
  TOO_MANY_REQUESTS: { retriable: true, text: 'too many requests in flight on this connection' },
  REQUEST_TIMED_OUT: { retriable: true, text: 'the request timed out; its outcome is unknown' },
  CONNECTION_CLOSED: { retriable: true, text: 'the connection closed; the outcome of requests in flight is unknown' },
  IDLE_TIMEOUT: { retriable: true, text: 'the connection was idle for too long' },
  UNKNOWN_SERVER_ERROR: { retriable: false, text: 'the handler failed' },
} as const;

export type NetErrorCode = keyof typeof NetErrorCode;

export function isNetErrorCode(code: string): code is NetErrorCode {
  return Object.hasOwn(NetErrorCode, code);
}

/** A wire-layer failure: a local condition (timeout, closed) or a peer's Error frame. */
export class NetError extends Error {
  override readonly name = 'NetError';
  constructor(
    /** A NetErrorCode, or a code from a newer peer. */
    readonly code: string,
    message: string,
    readonly retriable: boolean,
  ) {
    super(message);
  }
}

/** A NetError for one of our codes; `detail` is appended to the standard text. */
export function netError(code: NetErrorCode, detail?: string): NetError {
  const spec = NetErrorCode[code];
  return new NetError(code, detail === undefined ? spec.text : `${spec.text}: ${detail}`, spec.retriable);
}
