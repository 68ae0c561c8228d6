/**
 * Whole metadata nodes (src/metadata/metadata-node.ts) as simulated processes: controllers and brokers
 * over the simulated network. Controller requests travel through `SimRpc` (service `controller`), so
 * partitions, loss and crashes hit them exactly as they hit Raft traffic.
 */
import type { Clock } from '../src/util/clock.js';
import type { ControllerChannel } from '../src/metadata/broker-lifecycle.js';
import { MetadataNode, type MetadataNodeOptions } from '../src/metadata/metadata-node.js';
import type { MetadataListener } from '../src/metadata/metadata-state-machine.js';
import type { ControllerRequest, ControllerResponse } from '../src/metadata/rpc.js';
import type { NodeId } from '../src/raft/types.js';
import { isRaftMessage, type ProcessContext, type SimMessage, type SimProcess } from './raft-cluster.js';
import { SimRpc } from './sim-rpc.js';

/** The controller channel over the simulated network, for brokers and admin clients alike. */
export class SimControllerChannel extends SimRpc implements ControllerChannel {
  constructor(self: NodeId, send: (message: SimMessage) => void, clock: Clock, timeoutMs = 1000) {
    super('controller', self, send, clock, timeoutMs);
  }

  request<K extends ControllerRequest['kind']>(to: number, request: Extract<ControllerRequest, { kind: K }>): Promise<ControllerResponse<K>> {
    return this.call(to, request, request.kind) as Promise<ControllerResponse<K>>;
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
  /** More roles on the same process (the data plane), made before the node starts. */
  readonly addOn?: (ctx: ProcessContext, node: () => MetadataNode | undefined, channel: SimControllerChannel) => ProcessAddOn | undefined;
}

/** A role added to a metadata process: it hears the metadata log, its own messages and the crash. */
export interface ProcessAddOn {
  readonly listener?: MetadataListener;
  started?(node: MetadataNode): void;
  /** Returns true when the message was its own. */
  receive?(message: SimMessage): boolean;
  crash?(): void;
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
  let started: MetadataNode | undefined;
  const addOn = options.addOn?.(ctx, () => started, channel);
  const listeners = [...(options.listener !== undefined ? [options.listener(ctx.id)] : []), ...(addOn?.listener !== undefined ? [addOn.listener] : [])];
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
    listeners,
  });
  started = node;
  options.onStarted?.(node, channel);
  addOn?.started?.(node);
  return {
    node,
    channel,
    raft: node.raft,
    receive(msg) {
      if (isRaftMessage(msg)) node.receiveRaft(msg);
      else if (addOn?.receive?.(msg) === true) return;
      else if (!channel.onMessage(msg)) channel.serve(msg, (request) => node.handleControllerRequest(request as ControllerRequest), ctx.send);
    },
    crash() {
      node.crash();
      channel.abandon();
      addOn?.crash?.();
    },
  };
}
