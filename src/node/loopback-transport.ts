/**
 * An in-process transport for Raft nodes that share one event loop: end-to-end tests and benchmarks
 * that run real `RaftNode`s (real clock, real disk) without sockets.
 *
 * Contract: `send` never calls back synchronously — every message is delivered from a `setImmediate`
 * callback, so a node may send from inside its own Ready loop (RaftNodeOptions.send). Messages between
 * one pair of nodes arrive in send order; a message to an unregistered or disconnected node is dropped
 * (best effort, like a network). Message objects are passed by reference, not copied: Raft treats
 * them as immutable, and entry data is never mutated once the entry exists (types.ts).
 * A disconnected node neither sends nor receives until it is registered again.
 *
 * The queue is bounded (`queuedMessagesMax`); beyond it messages are dropped, which Raft tolerates.
 */
import type { Message, NodeId } from '../raft/types.js';

export type Receive = (message: Message) => void;

export interface LoopbackTransportOptions {
  /** Messages waiting for delivery, all nodes together; more are dropped. Default 100,000. */
  readonly queuedMessagesMax?: number;
}

export class LoopbackTransport {
  private readonly receivers = new Map<NodeId, Receive>();
  private queue: Message[] = [];
  private flushScheduled = false;
  private readonly queuedMessagesMax: number;
  /** Messages dropped: to an unknown or disconnected node, or over the queue bound. */
  dropped = 0;

  constructor(options: LoopbackTransportOptions = {}) {
    this.queuedMessagesMax = options.queuedMessagesMax ?? 100_000;
  }

  /** Attaches node `id`; messages addressed to it go to `receive` from now on. */
  register(id: NodeId, receive: Receive): void {
    this.receivers.set(id, receive);
  }

  /** Detaches node `id`: messages from it and to it are dropped (a crashed or stopped process). */
  disconnect(id: NodeId): void {
    this.receivers.delete(id);
  }

  /** Queues `message` for asynchronous delivery to `message.to`. */
  send(message: Message): void {
    if (!this.receivers.has(message.from) || this.queue.length >= this.queuedMessagesMax) {
      this.dropped++;
      return;
    }
    this.queue.push(message);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /** Delivers everything queued before this turn; what the receivers send meanwhile waits for the next turn. */
  private flush(): void {
    this.flushScheduled = false;
    const batch = this.queue;
    this.queue = [];
    for (const message of batch) {
      const receive = this.receivers.get(message.to);
      if (receive === undefined) {
        this.dropped++;
        continue;
      }
      receive(message);
    }
  }
}
