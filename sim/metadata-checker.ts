/**
 * The metadata plane's invariants, checked at every applied batch on every node (in addition to the
 * Raft checks that run underneath):
 * - at most one leader per partition per leader epoch, cluster-wide and over all time;
 * - a partition's new leader is a registered, unfenced broker (a fenced broker never becomes leader);
 * - leader in ISR, ISR within replicas, leader and partition epochs only grow (the image asserts
 *   these on apply; a failed assertion crashes the node and is reported as a violation);
 * - every node's image at a given offset is identical to every other node's at that offset, so
 *   brokers converge to the controllers' image;
 * - producer-id blocks handed out never overlap;
 * - requests that had to fail wrote nothing: the topic names they used never appear in any image.
 */
import type { MetadataImage, MetadataDelta } from '../src/metadata/image.js';
import type { MetadataListener } from '../src/metadata/metadata-state-machine.js';
import { NO_LEADER } from '../src/metadata/records.js';
import type { NodeId } from '../src/raft/types.js';

export class MetadataChecker {
  private readonly leaderOfEpoch = new Map<string, number>();
  private readonly digestAt = new Map<number, { digest: string; node: NodeId }>();
  private readonly producerIdBlocks: Array<{ first: number; end: number }> = [];
  private readonly forbiddenTopics = new Set<string>();
  /** Per node, the last offset whose digest was compared. */
  private readonly lastChecked = new Map<NodeId, number>();

  constructor(
    private readonly violations: string[],
    private readonly nowMs: () => number,
  ) {}

  private fail(message: string): void {
    if (this.violations.length < 100) this.violations.push(`t=${this.nowMs()}ms ${message}`);
  }

  listenerFor(id: NodeId): MetadataListener {
    return {
      onDelta: (delta, image) => this.checkDelta(id, delta, image),
      onReset: (image) => this.checkImage(id, image),
      onApplied: (image) => this.checkImage(id, image),
    };
  }

  /** A request that had to fail used this topic name: it must never exist. */
  forbidTopic(name: string): void {
    this.forbiddenTopics.add(name);
  }

  onProducerIds(first: number, count: number): void {
    const end = first + count;
    for (const b of this.producerIdBlocks) {
      if (first < b.end && b.first < end) this.fail(`producer id blocks overlap: [${first}, ${end}) and [${b.first}, ${b.end})`);
    }
    this.producerIdBlocks.push({ first, end });
  }

  private checkDelta(id: NodeId, delta: MetadataDelta, image: MetadataImage): void {
    for (const { before, after } of delta.partitions.values()) {
      const where = `${after.topicId}:${after.partition}`;
      if (after.leader === NO_LEADER) continue;
      const key = `${where}:${after.leaderEpoch}`;
      const known = this.leaderOfEpoch.get(key);
      if (known === undefined) this.leaderOfEpoch.set(key, after.leader);
      else if (known !== after.leader) this.fail(`two leaders of ${where} in leader epoch ${after.leaderEpoch}: ${known} and ${after.leader} (seen on n${id})`);
      const changed = before === undefined || before.leader !== after.leader || before.leaderEpoch !== after.leaderEpoch;
      const broker = image.broker(after.leader);
      if (changed && (broker === undefined || broker.fenced)) {
        this.fail(`n${id} at offset ${delta.offset}: ${where} got leader ${after.leader}, which is ${broker === undefined ? 'not registered' : 'fenced'}`);
      }
    }
    for (const t of image.topics()) if (this.forbiddenTopics.has(t.name)) this.fail(`topic '${t.name}' exists although its creation was refused`);
  }

  private checkImage(id: NodeId, image: MetadataImage): void {
    if (this.lastChecked.get(id) === image.offset) return;
    this.lastChecked.set(id, image.offset);
    const digest = image.digest();
    const other = this.digestAt.get(image.offset);
    if (other === undefined) {
      this.digestAt.set(image.offset, { digest, node: id });
      if (this.digestAt.size > 20_000) this.digestAt.delete(this.digestAt.keys().next().value as number);
    } else if (other.digest !== digest) {
      this.fail(`images differ at offset ${image.offset}: n${id} and n${other.node}`);
    }
  }
}
