/**
 * Request/response over the simulated network: correlation ids, a virtual-time timeout per request,
 * and a service name in the message type (`app:<service>-request` / `app:<service>-response`), so
 * partitions, loss and crashes hit requests exactly as they hit Raft traffic. A crashed endpoint
 * `abandon`s its outstanding requests: they never complete, as in a dead process.
 */
import type { CancelTimer, Clock } from '../src/util/clock.js';
import type { NodeId } from '../src/raft/types.js';
import type { SimMessage } from './raft-cluster.js';

export interface RpcRequestMessage<P = unknown> {
  readonly type: `app:${string}-request`;
  readonly from: NodeId;
  readonly to: NodeId;
  readonly id: number;
  readonly payload: P;
}

export interface RpcResponseMessage<R = unknown> {
  readonly type: `app:${string}-response`;
  readonly from: NodeId;
  readonly to: NodeId;
  readonly id: number;
  readonly payload: R;
}

export class SimRpc {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (r: unknown) => void; cancel: CancelTimer }>();

  constructor(
    readonly service: string,
    private readonly self: NodeId,
    private readonly send: (message: SimMessage) => void,
    private readonly clock: Clock,
    private readonly timeoutMs = 1000,
  ) {}

  get requestType(): `app:${string}-request` {
    return `app:${this.service}-request`;
  }

  get responseType(): `app:${string}-response` {
    return `app:${this.service}-response`;
  }

  /** Sends `payload` to `to`; resolves with the answer, rejects after the timeout. */
  call(to: NodeId, payload: unknown, what = this.service): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const cancel = this.clock.setTimer(this.timeoutMs, () => {
        this.pending.delete(id);
        reject(new Error(`request ${what} to n${to} timed out`));
      });
      this.pending.set(id, { resolve, cancel });
      const message: RpcRequestMessage = { type: this.requestType, from: this.self, to, id, payload };
      this.send(message);
    });
  }

  /** Feeds a message to this endpoint; returns false when it is not one of its responses. */
  onMessage(message: SimMessage): boolean {
    if (message.type !== this.responseType) return false;
    const r = message as RpcResponseMessage;
    const p = this.pending.get(r.id);
    if (p !== undefined) {
      this.pending.delete(r.id);
      p.cancel();
      p.resolve(r.payload);
    }
    return true;
  }

  /** Answers a request message of this service with `handle`'s result. Returns false for other messages. */
  serve(message: SimMessage, handle: (payload: unknown, from: NodeId) => Promise<unknown>, send: (message: SimMessage) => void): boolean {
    if (message.type !== this.requestType) return false;
    const req = message as RpcRequestMessage;
    void handle(req.payload, req.from).then((payload) => {
      const answer: RpcResponseMessage = { type: this.responseType, from: req.to, to: req.from, id: req.id, payload };
      send(answer);
    });
    return true;
  }

  abandon(): void {
    for (const p of this.pending.values()) p.cancel();
    this.pending.clear();
  }
}
