/**
 * Whole metadata nodes (src/metadata/metadata-node.ts) as simulated processes: controllers and brokers
 * over the simulated network. Controller requests travel as `app:controller-request` /
 * `app:controller-response` messages with correlation ids and a virtual-time timeout, so partitions,
 * loss and crashes hit them exactly as they hit Raft traffic.
 */
import type { Clock, CancelTimer } from '../src/util/clock.js';
import type { ControllerChannel } from '../src/metadata/broker-lifecycle.js';
import { MetadataNode, type MetadataNodeOptions } from '../src/metadata/metadata-node.js';
import type { MetadataListener } from '../src/metadata/metadata-state-machine.js';
import type { ControllerRequest, ControllerResponse } from '../src/metadata/rpc.js';
import type { Message, NodeId } from '../src/raft/types.js';
import type { ProcessContext, SimMessage, SimProcess } from './raft-cluster.js';

export interface ControllerRequestMessage {
  readonly type: 'app:controller-request';
  readonly from: NodeId;
  readonly to: NodeId;
  readonly id: number;
  readonly request: ControllerRequest;
}

export interface ControllerResponseMessage {
  readonly type: 'app:controller-response';
  readonly from: NodeId;
  readonly to: NodeId;
  readonly id: number;
  readonly response: unknown;
}

function isRaft(msg: SimMessage): msg is Message {
  return !msg.type.startsWith('app:');
}

/** Request/response over the simulated network, for brokers and admin clients alike. */
export class SimControllerChannel implements ControllerChannel {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (r: unknown) => void; reject: (e: Error) => void; cancel: CancelTimer }>();

  constructor(
    private readonly self: NodeId,
    private readonly send: (message: SimMessage) => void,
    private readonly clock: Clock,
    private readonly timeoutMs = 1000,
  ) {}

  request<K extends ControllerRequest['kind']>(to: number, request: Extract<ControllerRequest, { kind: K }>): Promise<ControllerResponse<K>> {
    const id = this.nextId++;
    return new Promise<ControllerResponse<K>>((resolve, reject) => {
      const cancel = this.clock.setTimer(this.timeoutMs, () => {
        this.pending.delete(id);
        reject(new Error(`request ${request.kind} to n${to} timed out`));
      });
      this.pending.set(id, { resolve: resolve as (r: unknown) => void, reject, cancel });
      const message: ControllerRequestMessage = { type: 'app:controller-request', from: this.self, to, id, request };
      this.send(message);
    });
  }

  onResponse(message: ControllerResponseMessage): void {
    const p = this.pending.get(message.id);
    if (p === undefined) return;
    this.pending.delete(message.id);
    p.cancel();
    p.resolve(message.response);
  }

  /** The process died: its outstanding requests never complete. */
  abandon(): void {
    for (const p of this.pending.values()) p.cancel();
    this.pending.clear();
  }
}

export interface MetadataProcessOptions {
  readonly isBroker: (id: NodeId) => boolean;
  readonly controller?: MetadataNodeOptions['controller'];
  readonly broker?: MetadataNodeOptions['broker'];
  /** Attached to the node's metadata state machine before it applies anything. */
  readonly listener?: (id: NodeId) => MetadataListener;
  /** Called once the node is up. */
  readonly onStarted?: (node: MetadataNode, channel: SimControllerChannel) => void;
}

export interface MetadataProcess extends SimProcess {
  readonly node: MetadataNode;
  readonly channel: SimControllerChannel;
}

/** Starts one metadata node on a simulated machine. */
export async function startMetadataProcess(ctx: ProcessContext, options: MetadataProcessOptions): Promise<MetadataProcess> {
  const channel = new SimControllerChannel(ctx.id, ctx.send, ctx.clock);
  const isVoter = ctx.voters.includes(ctx.id);
  const { onFatal, ...raft } = ctx.raft;
  const node = await MetadataNode.start({
    id: ctx.id,
    voters: ctx.voters,
    roles: { controller: isVoter, broker: options.isBroker(ctx.id) },
    clock: ctx.clock,
    random: ctx.random,
    loggers: ctx.loggers,
    raftStorage: ctx.storage,
    sendRaft: ctx.send,
    channel,
    incarnationId: `n${ctx.id}-${ctx.random.next32().toString(16)}`,
    endpoints: [{ name: 'client', url: `ws://10.0.0.${ctx.id}:9092` }],
    raft,
    onFatal,
    ...(options.controller !== undefined ? { controller: options.controller } : {}),
    ...(options.broker !== undefined ? { broker: options.broker } : {}),
    ...(options.listener !== undefined ? { listeners: [options.listener(ctx.id)] } : {}),
  });
  options.onStarted?.(node, channel);
  return {
    node,
    channel,
    raft: node.raft,
    receive(msg) {
      if (isRaft(msg)) {
        node.receiveRaft(msg);
      } else if (msg.type === 'app:controller-request') {
        const req = msg as ControllerRequestMessage;
        void node.handleControllerRequest(req.request).then((response) => {
          const answer: ControllerResponseMessage = { type: 'app:controller-response', from: ctx.id, to: req.from, id: req.id, response };
          ctx.send(answer);
        });
      } else if (msg.type === 'app:controller-response') {
        channel.onResponse(msg as ControllerResponseMessage);
      }
    },
    crash() {
      node.crash();
      channel.abandon();
    },
  };
}
