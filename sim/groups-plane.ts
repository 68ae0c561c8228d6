/**
 * The consumer-group side on simulated brokers (the hook for a groups workload; issue 6): it wraps
 * the data plane (data-plane.ts) and gives each broker the same composition the node process uses —
 * `brokerGroups` from src/groups: the coordinator over the broker's ReplicaManager, its metadata
 * listener (after the replica manager's), and FindCoordinator with `__consumer_offsets` created
 * through the simulated controller channel. Group requests travel over the simulated network as the
 * SimRpc service `groups`: payload `{ kind, request }` with the kinds and bodies of the wire
 * protocol (src/groups/rpc.ts), answer the response body.
 *
 * A crash stops the coordinator (its timers die with the process); the restarted process loads the
 * offsets partitions it leads from its disk, as a real broker does. Virtual time is both the Clock and
 * the wall clock.
 */
import type { MetadataNode } from '../src/metadata/metadata-node.js';
import { partitionError } from '../src/partitions/errors.js';
import type { ReplicaManager } from '../src/partitions/replica-manager.js';
import { brokerGroups, type BrokerGroups } from '../src/groups/broker-coordinator.js';
import type { GroupConfig } from '../src/groups/config.js';
import type { ReplicaAccess } from '../src/groups/replica-log-port.js';
import type { RequestMap } from '../src/net/protocol.js';
import type { NodeId } from '../src/raft/types.js';
import { dataPlaneAddOn, type DataPlaneOptions } from './data-plane.js';
import type { ProcessAddOn, SimControllerChannel } from './metadata-process.js';
import type { ProcessContext } from './raft-cluster.js';
import { SimRpc } from './sim-rpc.js';

export type GroupKind = 'find-coordinator' | 'consumer-group-heartbeat' | 'offset-commit' | 'offset-fetch' | 'list-groups' | 'describe-groups' | 'delete-groups';

/** One group request over the simulated network. */
export type GroupCall = { [K in GroupKind]: { readonly kind: K; readonly request: RequestMap[K]['request'] } }[GroupKind];

export interface GroupsPlaneOptions extends DataPlaneOptions {
  readonly groups: GroupConfig;
  /** Hears each broker's group side when its process starts (checkers look at the coordinators). */
  readonly onGroupsStarted?: (id: NodeId, groups: BrokerGroups) => void;
}

/** The `addOn` for `startMetadataProcess`: the data plane plus consumer groups on brokers. */
export function groupsPlaneAddOn(options: GroupsPlaneOptions) {
  // The data plane reports each process's replica manager when it starts; the coordinator reads and
  // writes through it from then on (before that, its loads retry, as on a real broker still starting).
  const replicasOf = new Map<ProcessContext, ReplicaManager>();
  let starting: ProcessContext | undefined;
  const data = dataPlaneAddOn({
    ...options,
    onStarted: (id, replicas) => {
      if (starting !== undefined) replicasOf.set(starting, replicas);
      options.onStarted?.(id, replicas);
    },
  });
  return (ctx: ProcessContext, node: () => MetadataNode | undefined, channel: SimControllerChannel): ProcessAddOn | undefined => {
    const base = data(ctx, node, channel);
    if (base === undefined) return undefined;
    const notYet = (topicId: string, partition: number) => partitionError('NOT_LEADER_OR_FOLLOWER', `n${ctx.id} is starting (${topicId}:${partition})`);
    const replicas: ReplicaAccess = {
      produce: (topicId, partition, batch, acks, timeoutMs) => replicasOf.get(ctx)?.produce(topicId, partition, batch, acks, timeoutMs) ?? Promise.resolve(notYet(topicId, partition)),
      fetch: (topicId, partition, request) => replicasOf.get(ctx)?.fetch(topicId, partition, request) ?? Promise.resolve(notYet(topicId, partition)),
      listOffset: (topicId, partition, timestamp) => replicasOf.get(ctx)?.listOffset(topicId, partition, timestamp) ?? Promise.resolve(notYet(topicId, partition)),
    };
    let nextVoter = 0;
    const controller = (): NodeId => {
      const leader = node()?.raft.status().leader ?? 0;
      return leader !== 0 ? leader : (ctx.voters[nextVoter++ % ctx.voters.length] as NodeId);
    };
    const groupsLog = ctx.loggers('skein:groups');
    const logger = (format: string, ...args: unknown[]): void => groupsLog(`n%d ${format}`, ctx.id, ...args);
    const groups = brokerGroups({
      brokerId: ctx.id,
      replicas,
      image: () => node()?.metadata.image,
      createTopics: (request) => channel.request(controller(), request).catch((e: unknown) => ({ error: 'NOT_CONTROLLER' as const, message: String(e) })),
      clock: ctx.clock,
      wallClockMs: () => ctx.clock.nowMs(),
      config: options.groups,
      logger,
      clientEndpoint: 'client',
    });
    const rpc = new SimRpc('groups', ctx.id, ctx.send, ctx.clock, 2000);
    const serve = (call: GroupCall): Promise<unknown> => {
      const c = groups.coordinator;
      switch (call.kind) {
        case 'find-coordinator':
          return groups.finder.find(call.request.groupId);
        case 'consumer-group-heartbeat':
          return c.heartbeat(call.request);
        case 'offset-commit':
          return c.commitOffsets(call.request);
        case 'offset-fetch':
          return c.fetchOffsets(call.request);
        case 'list-groups':
          return c.listGroups();
        case 'describe-groups':
          return c.describeGroups(call.request.groupIds);
        case 'delete-groups':
          return c.deleteGroups(call.request.groupIds);
      }
    };
    return {
      listener: {
        onDelta: (delta, image) => {
          base.listener?.onDelta?.(delta, image);
          groups.listener.onDelta?.(delta, image);
        },
        onReset: (image) => {
          base.listener?.onReset?.(image);
          groups.listener.onReset?.(image);
        },
      },
      started(n) {
        starting = ctx;
        try {
          base.started?.(n);
        } finally {
          starting = undefined;
        }
        options.onGroupsStarted?.(ctx.id, groups);
      },
      receive(msg) {
        if (base.receive?.(msg) === true) return true;
        return rpc.serve(msg, (p) => serve(p as GroupCall), ctx.send);
      },
      crash() {
        groups.coordinator.stop();
        base.crash?.();
        replicasOf.delete(ctx);
      },
    };
  };
}
