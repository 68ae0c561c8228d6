/**
 * FindCoordinator, answered by any node from its own metadata image: the leader of the group's
 * `__consumer_offsets` partition and that broker's client URL. While the topic does not exist, the
 * finder asks the active controller to create it (`offsetsTopicSpec`, `internal: true`; at most one
 * request in flight per node) and answers COORDINATOR_NOT_AVAILABLE (retriable) meanwhile; a
 * partition without a live leader answers the same. Deterministic: the image and the controller
 * come in as ports.
 */
import type { Logger } from '../util/log.js';
import type { MetadataImage } from '../metadata/image.js';
import type { ControllerResponse, CreateTopicsRequest } from '../metadata/rpc.js';
import type { GroupConfig } from './config.js';
import { validateGroupId } from './coordinator.js';
import { OFFSETS_TOPIC, offsetsPartitionFor } from './coordinator-key.js';
import { groupError } from './errors.js';
import { offsetsTopicSpec } from './offsets-topic.js';
import type { FindCoordinatorResponse } from './rpc.js';

export interface CoordinatorFinderOptions {
  readonly image: () => MetadataImage | undefined;
  readonly config: GroupConfig;
  /** Sends a CreateTopics to the active controller as this broker; never rejects. */
  readonly createTopics: (request: CreateTopicsRequest) => Promise<ControllerResponse<'create-topics'>>;
  readonly logger: Logger;
  /** The name of the endpoint clients use (the first endpoint otherwise). */
  readonly clientEndpoint: string;
}

export class CoordinatorFinder {
  private creating: Promise<void> | undefined;

  constructor(private readonly options: CoordinatorFinderOptions) {}

  async find(groupId: string): Promise<FindCoordinatorResponse> {
    const invalid = validateGroupId(groupId);
    if (invalid !== undefined) return invalid;
    const image = this.options.image();
    if (image === undefined) return groupError('COORDINATOR_NOT_AVAILABLE', 'this node is starting');
    const topic = image.topic(OFFSETS_TOPIC);
    if (topic === undefined || topic.partitions.size === 0) {
      await this.ensureOffsetsTopic(image);
      return groupError('COORDINATOR_NOT_AVAILABLE', `creating ${OFFSETS_TOPIC}`);
    }
    const partition = offsetsPartitionFor(groupId, topic.partitions.size);
    const leader = topic.partitions.get(partition)?.leader ?? -1;
    const broker = leader === -1 ? undefined : image.broker(leader);
    if (broker === undefined || broker.fenced) return groupError('COORDINATOR_NOT_AVAILABLE', `${OFFSETS_TOPIC}-${partition} has no leader`);
    const url = (broker.endpoints.find((e) => e.name === this.options.clientEndpoint) ?? broker.endpoints[0])?.url;
    if (url === undefined) return groupError('COORDINATOR_NOT_AVAILABLE', `broker ${leader} has no endpoint`);
    return { nodeId: leader, url };
  }

  /** Asks the controller for the offsets topic, once at a time; the caller answers "not yet" either way. */
  private async ensureOffsetsTopic(image: MetadataImage): Promise<void> {
    this.creating ??= (async () => {
      const live = image.brokers().filter((b) => !b.fenced && !b.inControlledShutdown).length;
      const spec = offsetsTopicSpec(this.options.config, live);
      const answer = await this.options.createTopics({ kind: 'create-topics', topics: [spec], validateOnly: false, internal: true });
      const result = 'topics' in answer ? answer.topics[0] : answer;
      if (result !== undefined && 'error' in result) this.options.logger('creating %s: %s %s', OFFSETS_TOPIC, result.error, result.message);
      else this.options.logger('created %s (%d partitions, replication factor %d)', OFFSETS_TOPIC, spec.numPartitions, spec.replicationFactor);
    })().finally(() => (this.creating = undefined));
    await this.creating;
  }
}
