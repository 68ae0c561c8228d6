/**
 * A broker's whole consumer-group side, composed from its replica manager and metadata: the
 * coordinator over `replicaLogPort`, the metadata listener that feeds it, and the FindCoordinator
 * finder. The node process (src/node) and the simulator compose exactly this; only the ports differ
 * (real or virtual clock, real or simulated controller channel).
 */
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import type { MetadataImage } from '../metadata/image.js';
import type { MetadataListener } from '../metadata/metadata-state-machine.js';
import type { ControllerResponse, CreateTopicsRequest } from '../metadata/rpc.js';
import type { GroupConfig } from './config.js';
import { GroupCoordinator } from './coordinator.js';
import { CoordinatorFinder } from './coordinator-finder.js';
import { OFFSETS_TOPIC } from './coordinator-key.js';
import { coordinatorListener } from './metadata-feed.js';
import { replicaLogPort, type ReplicaAccess } from './replica-log-port.js';

export interface BrokerGroupsOptions {
  readonly brokerId: number;
  readonly replicas: ReplicaAccess;
  /** The committed metadata image of this node (undefined while it starts). */
  readonly image: () => MetadataImage | undefined;
  readonly createTopics: (request: CreateTopicsRequest) => Promise<ControllerResponse<'create-topics'>>;
  readonly clock: Clock;
  /** Wall-clock ms since the epoch (record and commit timestamps). */
  readonly wallClockMs: () => number;
  readonly config: GroupConfig;
  readonly logger: Logger;
  readonly clientEndpoint: string;
}

export interface BrokerGroups {
  readonly coordinator: GroupCoordinator;
  /** Register after the replica manager's listener. */
  readonly listener: MetadataListener;
  readonly finder: CoordinatorFinder;
}

export function brokerGroups(o: BrokerGroupsOptions): BrokerGroups {
  const coordinator = new GroupCoordinator({
    brokerId: o.brokerId,
    log: replicaLogPort({ replicas: o.replicas, topicId: () => o.image()?.topic(OFFSETS_TOPIC)?.id, appendTimeoutMs: o.config.appendTimeoutMs, wallClockMs: o.wallClockMs }),
    topics: { partitionCount: (topic) => o.image()?.topic(topic)?.partitions.size },
    clock: o.clock,
    wallClockMs: o.wallClockMs,
    config: o.config,
    logger: o.logger,
  });
  return {
    coordinator,
    listener: coordinatorListener(coordinator, o.brokerId),
    finder: new CoordinatorFinder({ image: o.image, config: o.config, createTopics: o.createTopics, logger: o.logger, clientEndpoint: o.clientEndpoint }),
  };
}
