/**
 * A node's outgoing connections to the other nodes of its cluster: Raft messages (best effort), the
 * broker's requests to the controller (`ControllerChannel`), and follower fetches. One connection per
 * peer, opened on first use with this node's id in the handshake, reopened after a failure with capped
 * exponential backoff and jitter (from the injected Random).
 *
 * Invariants:
 * - A connection is used only once its handshake answered with the expected node id and our cluster
 *   id; any other answer closes it and counts as a failed attempt (a node never talks to the wrong
 *   cluster, e.g. after a port was reused).
 * - Bounded: per peer at most `raftQueueMax` Raft messages wait for a connection (the oldest is
 *   dropped: Raft tolerates loss and a newer message supersedes older ones), and at most
 *   `requestQueueMax` requests wait for it (one more rejects TOO_MANY_REQUESTS at once). During a
 *   backoff, requests reject at once with CONNECTION_CLOSED (the callers have their own retry loops);
 *   nothing waits unboundedly: a waiting request also fails when the connection attempt fails.
 * - Backoff: attempt n (n >= 1 failures) waits min(maxMs, initialMs * 2^(n-1)) scaled by a factor
 *   in [0.5, 1) drawn from `random`; a successful handshake resets it, and so does `peerAlive` (the
 *   peer just connected to us: it is back, so waiting out the backoff would only delay it). Reconnection
 *   is lazy: only when something is to be sent (a quiet peer is not polled).
 * - Every promise settles: `close()` rejects waiters with CONNECTION_CLOSED and closes connections;
 *   after it, sends are dropped and requests reject.
 * - Peer addresses come from `resolveUrl` at each attempt (configured voters, or brokers' endpoints
 *   from the metadata image); a peer without a known address fails fast.
 */
import type { Clock, CancelTimer } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import type { Random } from '../util/random.js';
import type { ControllerChannel } from '../metadata/broker-lifecycle.js';
import type { ControllerRequest, ControllerResponse } from '../metadata/rpc.js';
import type { Message } from '../raft/types.js';
import { openConnection } from '../net/client-connection.js';
import type { Connection, ConnectionLimits } from '../net/connection.js';
import { NetError, netError } from '../net/errors.js';
import type { RequestKind, RequestMap } from '../net/protocol.js';

export interface PeerTransportOptions {
  readonly selfId: number;
  readonly clusterId: string;
  /** The peer's `ws://` URL, or undefined when it is not known (yet). */
  readonly resolveUrl: (nodeId: number) => string | undefined;
  readonly clock: Clock;
  readonly random: Random;
  readonly logger: Logger;
  /** Raft messages a peer sends back on our connection. */
  readonly onRaft: (message: Message) => void;
  /** Default 100 ms. */
  readonly backoffInitialMs?: number;
  /** Default 5000 ms. */
  readonly backoffMaxMs?: number;
  /** Default 3000 ms. */
  readonly connectTimeoutMs?: number;
  /** Default 256. */
  readonly raftQueueMax?: number;
  /** Default 256. */
  readonly requestQueueMax?: number;
  readonly limits?: Partial<ConnectionLimits>;
}

interface Waiter {
  readonly resolve: (connection: Connection) => void;
  readonly reject: (error: Error) => void;
}

interface Peer {
  readonly id: number;
  connection: Connection | undefined;
  connecting: boolean;
  failures: number;
  /** While set, no attempt is made; cancelled by close(). */
  backoffUntilMs: number;
  cancelBackoff: CancelTimer | undefined;
  readonly raftQueue: Message[];
  readonly waiters: Waiter[];
}

export class PeerTransport {
  private readonly peers = new Map<number, Peer>();
  private closed = false;
  private droppedRaft = 0;

  constructor(private readonly options: PeerTransportOptions) {}

  /** Raft messages dropped (queue full, no address, closed) since start: for tests and logs. */
  get droppedRaftMessages(): number {
    return this.droppedRaft;
  }

  /** Best effort: sends now if connected, else queues (bounded) and connects. */
  sendRaft(message: Message): void {
    if (this.closed) return;
    const peer = this.peer(message.to);
    if (peer.connection?.isOpen === true && peer.connection.sendRaft(message)) return;
    const max = this.options.raftQueueMax ?? 256;
    if (peer.raftQueue.length >= max) {
      peer.raftQueue.shift();
      this.droppedRaft++;
    }
    peer.raftQueue.push(message);
    this.connect(peer);
  }

  /** Node `id` opened a connection to this node: a backoff towards it ends now. */
  peerAlive(id: number): void {
    const peer = this.peers.get(id);
    if (this.closed || peer === undefined || peer.cancelBackoff === undefined) return;
    peer.cancelBackoff();
    peer.cancelBackoff = undefined;
    peer.backoffUntilMs = 0;
    peer.failures = 0;
    if (peer.raftQueue.length > 0) this.connect(peer);
  }

  /** One request to node `to`; rejects with a NetError on any network failure or timeout. */
  async request<K extends RequestKind>(to: number, kind: K, request: RequestMap[K]['request'], options: { readonly timeoutMs?: number } = {}): Promise<RequestMap[K]['response']> {
    const connection = await this.connection(to);
    return connection.request(kind, request, options);
  }

  /** A ControllerChannel over this transport: answers are the controller's, errors included. */
  controllerChannel(timeoutMs = 5000): ControllerChannel {
    return {
      request: async <K extends ControllerRequest['kind']>(to: number, request: Extract<ControllerRequest, { kind: K }>): Promise<ControllerResponse<K>> => {
        const answer = await this.request(to, 'controller', request, { timeoutMs });
        if (answer.kind !== request.kind) throw netError('UNKNOWN_SERVER_ERROR', `a ${answer.kind} answer to a ${request.kind} request`);
        return answer.response as ControllerResponse<K>;
      },
    };
  }

  /** Closes every connection; waiting requests reject, later calls fail. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const closing: Promise<unknown>[] = [];
    for (const peer of this.peers.values()) {
      peer.cancelBackoff?.();
      peer.raftQueue.length = 0;
      this.failWaiters(peer, netError('CONNECTION_CLOSED', 'the node is shutting down'));
      if (peer.connection !== undefined) {
        peer.connection.close('node shutting down');
        closing.push(peer.connection.closed);
      }
    }
    await Promise.all(closing);
  }

  private peer(id: number): Peer {
    let peer = this.peers.get(id);
    if (peer === undefined) {
      peer = { id, connection: undefined, connecting: false, failures: 0, backoffUntilMs: 0, cancelBackoff: undefined, raftQueue: [], waiters: [] };
      this.peers.set(id, peer);
    }
    return peer;
  }

  private connection(to: number): Promise<Connection> {
    if (this.closed) return Promise.reject(netError('CONNECTION_CLOSED', 'the node is shutting down'));
    if (to === this.options.selfId) return Promise.reject(netError('UNEXPECTED_FRAME', `node ${to} is this node`));
    const peer = this.peer(to);
    if (peer.connection?.isOpen === true) return Promise.resolve(peer.connection);
    const now = this.options.clock.nowMs();
    if (!peer.connecting && now < peer.backoffUntilMs) {
      return Promise.reject(netError('CONNECTION_CLOSED', `node ${to} is unreachable; next attempt in ${Math.ceil(peer.backoffUntilMs - now)} ms`));
    }
    if (peer.waiters.length >= (this.options.requestQueueMax ?? 256)) {
      return Promise.reject(netError('TOO_MANY_REQUESTS', `${peer.waiters.length} requests wait for node ${to}`));
    }
    return new Promise((resolve, reject) => {
      peer.waiters.push({ resolve, reject });
      this.connect(peer);
    });
  }

  private connect(peer: Peer): void {
    if (this.closed || peer.connecting || peer.connection?.isOpen === true) return;
    if (this.options.clock.nowMs() < peer.backoffUntilMs) return; // the backoff timer reconnects
    const url = this.options.resolveUrl(peer.id);
    if (url === undefined) {
      this.failed(peer, netError('CONNECTION_CLOSED', `no address known for node ${peer.id}`));
      return;
    }
    peer.connecting = true;
    const o = this.options;
    openConnection({
      url,
      clientId: `skein-node-${o.selfId}`,
      nodeId: o.selfId,
      connectTimeoutMs: o.connectTimeoutMs ?? 3000,
      onRaft: (message) => o.onRaft(message),
      clock: o.clock,
      logger: o.logger,
      ...(o.limits !== undefined ? { limits: o.limits } : {}),
    }).then(
      (connection) => {
        peer.connecting = false;
        const server = connection.server;
        if (this.closed) {
          connection.close('node shutting down');
          return;
        }
        if (server === undefined || server.nodeId !== peer.id || server.clusterId !== o.clusterId) {
          connection.close('wrong peer');
          this.failed(peer, netError('CONNECTION_CLOSED', `${url} answered as node ${server?.nodeId} of cluster ${server?.clusterId}, expected node ${peer.id} of cluster ${o.clusterId}`));
          return;
        }
        o.logger('connected to node %d at %s', peer.id, url);
        peer.connection = connection;
        peer.failures = 0;
        void connection.closed.then((error) => {
          if (peer.connection === connection) peer.connection = undefined;
          o.logger('connection to node %d closed%s', peer.id, error === undefined ? '' : `: ${error.code} ${error.message}`);
          // Lazy: reconnect only if something is waiting.
          if (peer.raftQueue.length > 0 || peer.waiters.length > 0) this.connect(peer);
        });
        for (const w of peer.waiters.splice(0)) w.resolve(connection);
        for (const m of peer.raftQueue.splice(0)) if (!connection.sendRaft(m)) this.droppedRaft++;
      },
      (error: unknown) => {
        peer.connecting = false;
        this.failed(peer, error instanceof NetError ? error : netError('CONNECTION_CLOSED', error instanceof Error ? error.message : String(error)));
      },
    );
  }

  private failed(peer: Peer, error: NetError): void {
    peer.failures++;
    const initial = this.options.backoffInitialMs ?? 100;
    const max = this.options.backoffMaxMs ?? 5000;
    const base = Math.min(max, initial * 2 ** Math.min(peer.failures - 1, 30));
    const delay = Math.max(1, Math.round(base * (0.5 + this.options.random.float() * 0.5)));
    peer.backoffUntilMs = this.options.clock.nowMs() + delay;
    if (peer.failures === 1 || peer.failures % 10 === 0) this.options.logger('node %d unreachable (%d failures): %s; retry in %d ms', peer.id, peer.failures, error.message, delay);
    this.failWaiters(peer, error);
    peer.cancelBackoff?.();
    peer.cancelBackoff = this.options.clock.setTimer(delay, () => {
      peer.cancelBackoff = undefined;
      peer.backoffUntilMs = 0;
      if (peer.raftQueue.length > 0) this.connect(peer);
    });
  }

  private failWaiters(peer: Peer, error: Error): void {
    for (const w of peer.waiters.splice(0)) w.reject(error);
  }
}
