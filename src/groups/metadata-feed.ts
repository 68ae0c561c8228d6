/**
 * What the coordinator learns from the metadata image: which `__consumer_offsets` partitions this
 * broker leads, in which leader epochs, and whether topics came or went (subscriptions then need new
 * targets). `coordinatorListener` is the metadata listener that feeds a coordinator after every
 * applied batch (and after a snapshot replaced the image); the node and the simulator register it
 * after the replica manager's listener, so the replicas hear of a leadership first.
 */
import type { MetadataDelta, MetadataImage } from '../metadata/image.js';
import type { MetadataListener } from '../metadata/metadata-state-machine.js';
import type { GroupCoordinator } from './coordinator.js';
import { OFFSETS_TOPIC } from './coordinator-key.js';

/** The offsets partitions `brokerId` leads in `image` (partition → leader epoch), and the topic's partition count (0: none). */
export function offsetsLeadership(image: MetadataImage, brokerId: number): { readonly led: Map<number, number>; readonly partitions: number } {
  const topic = image.topic(OFFSETS_TOPIC);
  const led = new Map<number, number>();
  if (topic === undefined) return { led, partitions: 0 };
  for (const p of topic.partitions.values()) if (p.leader === brokerId) led.set(p.partition, p.leaderEpoch);
  return { led, partitions: topic.partitions.size };
}

/** Whether a delta changes which topics exist or how many partitions one has. */
export function topicsChanged(delta: MetadataDelta): boolean {
  if (delta.removedTopics.length > 0) return true;
  for (const { before } of delta.partitions.values()) if (before === undefined) return true;
  return false;
}

/** The metadata listener that drives a coordinator on broker `brokerId`. */
export function coordinatorListener(coordinator: GroupCoordinator, brokerId: number): MetadataListener {
  const feed = (image: MetadataImage, changedTopics: boolean): void => {
    const { led, partitions } = offsetsLeadership(image, brokerId);
    coordinator.onLeadership(led, partitions);
    if (changedTopics) coordinator.onTopicsChanged();
  };
  return { onDelta: (delta, image) => feed(image, topicsChanged(delta)), onReset: (image) => feed(image, true) };
}
