/**
 * The data plane on simulated brokers: each broker process gets a `ReplicaManager` whose partition
 * logs live on that machine's simulated log disk (sim-log-fs.ts), whose follower fetches and
 * client requests travel over the simulated network (`SimRpc` services `replica-fetch`, `fetch` and
 * `produce`), and whose AlterPartition requests go to the controller like any broker's. The disk outlives the
 * process: a process crash keeps the page cache, a power loss keeps only what was fsynced.
 */
import type { MetadataNode } from '../src/metadata/metadata-node.js';
import type { PartitionErrorResult } from '../src/partitions/errors.js';
import { ReplicaManager } from '../src/partitions/replica-manager.js';
import type { Acks, FetchRequest, ProduceResult } from '../src/partitions/replica.js';
import type { ReplicaFetchRequest, ReplicaFetchResponse } from '../src/partitions/replica-fetch.js';
import { SegmentLog } from '../src/partitions/segment-log.js';
import { flushPolicy, maxMessageBytes, retentionBytes, retentionMs } from '../src/metadata/topic-config.js';
import type { NodeId } from '../src/raft/types.js';
import type { ProcessAddOn, SimControllerChannel } from './metadata-process.js';
import type { ProcessContext } from './raft-cluster.js';
import type { SimLogDisk } from './sim-log-fs.js';
import { SimRpc } from './sim-rpc.js';

/** A consumer's fetch of one partition (followers send replica-fetch). */
export interface FetchCall {
  readonly topicId: string;
  readonly partition: number;
  readonly request: FetchRequest;
}

export interface ProduceCall {
  readonly topicId: string;
  readonly partition: number;
  readonly batch: Uint8Array;
  readonly acks: Acks;
  readonly timeoutMs: number;
}

export type ProduceAnswer = ProduceResult | PartitionErrorResult;

export interface DataPlaneOptions {
  readonly disks: ReadonlyMap<NodeId, SimLogDisk>;
  readonly isBroker: (id: NodeId) => boolean;
  /** Small segments so that rolls and recovery of several segments happen in short runs. */
  readonly segmentBytes: number;
  readonly replicaLagTimeMaxMs: number;
  /** Hears each broker's replica manager when its process starts. */
  readonly onStarted?: (id: NodeId, replicas: ReplicaManager) => void;
}

/** The `addOn` for `startMetadataProcess` that gives brokers their data plane. */
export function dataPlaneAddOn(options: DataPlaneOptions) {
  return (ctx: ProcessContext, node: () => MetadataNode | undefined, channel: SimControllerChannel): ProcessAddOn | undefined => {
    if (!options.isBroker(ctx.id)) return undefined;
    const disk = options.disks.get(ctx.id);
    if (disk === undefined) throw new Error(`no log disk for n${ctx.id}`);
    const fs = disk.mount();
    const fetchRpc = new SimRpc('fetch', ctx.id, ctx.send, ctx.clock, 2000);
    const replicaFetchRpc = new SimRpc('replica-fetch', ctx.id, ctx.send, ctx.clock, 2000);
    const produceRpc = new SimRpc('produce', ctx.id, ctx.send, ctx.clock, 2000);
    const base = ctx.loggers('skein:partitions');
    const logger = (format: string, ...args: unknown[]): void => base(`n%d ${format}`, ctx.id, ...args);
    const dirName = (topicId: string, partition: number): string => `${topicId}-${partition}`;
    let nextVoter = 0;
    const controller = (): NodeId => {
      const leader = node()?.raft.status().leader ?? 0;
      return leader !== 0 ? leader : (ctx.voters[nextVoter++ % ctx.voters.length] as NodeId);
    };
    const replicas = new ReplicaManager({
      brokerId: ctx.id,
      clock: ctx.clock,
      logger,
      openLog: async (topicId, partition, config) =>
        SegmentLog.open({
          dir: await fs.directory(dirName(topicId, partition)),
          config: {
            segmentBytes: options.segmentBytes,
            segmentMs: 7 * 24 * 3600 * 1000,
            retentionMs: retentionMs(config),
            retentionBytes: retentionBytes(config),
            flush: flushPolicy(config),
            maxMessageBytes: maxMessageBytes(config),
          },
          nowMs: ctx.clock.nowMs(),
          logger,
        }),
      deleteLog: (topicId, partition) => fs.removeDirectory(dirName(topicId, partition)),
      replicaFetch: (leader, request) => replicaFetchRpc.call(leader, request) as Promise<ReplicaFetchResponse>,
      alterPartition: (request) => channel.request(controller(), request),
      replicaFailed: (request) => channel.request(controller(), request),
      brokerEpoch: () => node()?.broker?.brokerEpoch ?? -1,
      mayLead: () => node()?.broker?.state === 'running',
      replicaLagTimeMaxMs: options.replicaLagTimeMaxMs,
      onFatal: ctx.raft.onFatal,
    });
    return {
      listener: {
        onDelta: (delta, image) => replicas.onDelta(delta, image),
        onReset: (image) => replicas.onReset(image),
      },
      started() {
        replicas.start();
        options.onStarted?.(ctx.id, replicas);
      },
      receive(msg) {
        if (replicaFetchRpc.onMessage(msg)) return true;
        if (replicaFetchRpc.serve(msg, (p) => replicas.replicaFetch(p as ReplicaFetchRequest), ctx.send)) return true;
        if (fetchRpc.serve(msg, (p) => {
          const call = p as FetchCall;
          return replicas.fetch(call.topicId, call.partition, call.request);
        }, ctx.send)) return true;
        return produceRpc.serve(msg, (p) => {
          const call = p as ProduceCall;
          return replicas.produce(call.topicId, call.partition, call.batch, call.acks, call.timeoutMs);
        }, ctx.send);
      },
      crash() {
        replicas.stop();
        replicaFetchRpc.abandon();
      },
    };
  };
}
