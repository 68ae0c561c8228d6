/**
 * The metadata image: the cluster state reached by applying committed metadata records in log order.
 * Deterministic — the same records give the same image, and `toRecords()` lists them in one canonical
 * order, so an image rebuilt from a snapshot plus the log equals the original (`digest()` compares).
 *
 * Records reach the image only after the controller validated them, so a record that does not fit
 * (a change to an unknown partition, a leader outside the replicas) is a bug: it fails an assertion.
 *
 * Invariants (asserted on apply): ISR ⊆ replicas; the leader is in the ISR or is NO_LEADER; leader
 * epoch and partition epoch never go down; broker epochs only grow.
 */
import { assert } from '../util/assert.js';
import { ConfigResource, NO_LEADER, type Endpoint, type MetadataRecord, type PartitionFields } from './records.js';

export interface BrokerRegistration {
  readonly id: number;
  readonly incarnationId: string;
  readonly epoch: number;
  readonly endpoints: readonly Endpoint[];
  readonly rack: string;
  readonly fenced: boolean;
  readonly inControlledShutdown: boolean;
}

/** A partition's state in the image (the fields of its Partition record). */
export type PartitionState = PartitionFields;

export interface TopicImage {
  readonly id: string;
  readonly name: string;
  readonly partitions: ReadonlyMap<number, PartitionState>;
}

/** What one batch changed: what the broker's partition layer needs to react to. */
export interface MetadataDelta {
  readonly offset: number;
  readonly brokers: Set<number>;
  /** Partitions created or changed: key `${topicId}:${partition}`. */
  readonly partitions: Map<string, { readonly before: PartitionState | undefined; readonly after: PartitionState }>;
  readonly removedTopics: TopicImage[];
  readonly configs: Set<string>;
}

interface MutableTopic {
  readonly id: string;
  readonly name: string;
  readonly partitions: Map<number, PartitionState>;
}

function newDelta(offset: number): MetadataDelta {
  return { offset, brokers: new Set(), partitions: new Map(), removedTopics: [], configs: new Set() };
}

export class MetadataImage {
  /** Raft index of the last applied batch (or snapshot). */
  offset = 0;
  /** The next broker epoch the controller hands out: above every epoch ever registered. */
  nextBrokerEpoch = 1;
  /** The first producer id not yet handed out in a block. */
  nextProducerId = 0;
  private readonly brokersById = new Map<number, BrokerRegistration>();
  private readonly topicsById = new Map<string, MutableTopic>();
  private readonly topicIdsByName = new Map<string, string>();
  private readonly topicConfigs = new Map<string, Map<string, string>>();
  private readonly clusterConfigs = new Map<string, string>();

  // ---- Reading ------------------------------------------------------------------------------------

  broker(id: number): BrokerRegistration | undefined {
    return this.brokersById.get(id);
  }

  /** All registered brokers, by id. */
  brokers(): BrokerRegistration[] {
    return [...this.brokersById.values()].sort((a, b) => a.id - b.id);
  }

  topic(name: string): TopicImage | undefined {
    const id = this.topicIdsByName.get(name);
    return id === undefined ? undefined : this.topicsById.get(id);
  }

  topicById(id: string): TopicImage | undefined {
    return this.topicsById.get(id);
  }

  /** All topics, by name. */
  topics(): TopicImage[] {
    return [...this.topicsById.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  partition(topicId: string, partition: number): PartitionState | undefined {
    return this.topicsById.get(topicId)?.partitions.get(partition);
  }

  /** The overrides set on a topic (not the defaults). */
  topicConfig(name: string): Readonly<Record<string, string>> {
    return Object.fromEntries(this.topicConfigs.get(name) ?? []);
  }

  clusterConfig(): Readonly<Record<string, string>> {
    return Object.fromEntries(this.clusterConfigs);
  }

  // ---- Applying -----------------------------------------------------------------------------------

  /** Applies one committed batch at Raft index `offset`; returns what changed. */
  applyBatch(records: readonly MetadataRecord[], offset: number): MetadataDelta {
    assert(offset > this.offset, `batch at ${offset} is not after ${this.offset}`);
    const delta = newDelta(offset);
    for (const r of records) this.apply(r, delta);
    this.offset = offset;
    return delta;
  }

  /** Applies one record. Use `applyBatch` for committed entries; this is also how snapshots load. */
  apply(r: MetadataRecord, delta: MetadataDelta = newDelta(this.offset)): void {
    switch (r.type) {
      case 'register-broker': {
        const before = this.brokersById.get(r.brokerId);
        assert(before === undefined || r.brokerEpoch > before.epoch, `broker ${r.brokerId} epoch ${r.brokerEpoch} does not grow`);
        // A (re-)registered broker starts fenced: it must catch up with the metadata log first.
        this.brokersById.set(r.brokerId, {
          id: r.brokerId,
          incarnationId: r.incarnationId,
          epoch: r.brokerEpoch,
          endpoints: r.endpoints,
          rack: r.rack,
          fenced: true,
          inControlledShutdown: false,
        });
        this.nextBrokerEpoch = Math.max(this.nextBrokerEpoch, r.brokerEpoch + 1);
        delta.brokers.add(r.brokerId);
        break;
      }
      case 'broker-registration-change': {
        const b = this.brokersById.get(r.brokerId);
        assert(b !== undefined && b.epoch === r.brokerEpoch, `registration change for broker ${r.brokerId} epoch ${r.brokerEpoch} does not match`);
        this.brokersById.set(r.brokerId, {
          ...b,
          fenced: r.fenced ?? b.fenced,
          inControlledShutdown: r.inControlledShutdown ?? b.inControlledShutdown,
        });
        delta.brokers.add(r.brokerId);
        break;
      }
      case 'topic': {
        assert(!this.topicIdsByName.has(r.name) && !this.topicsById.has(r.topicId), `topic ${r.name} exists`);
        this.topicsById.set(r.topicId, { id: r.topicId, name: r.name, partitions: new Map() });
        this.topicIdsByName.set(r.name, r.topicId);
        break;
      }
      case 'partition': {
        const topic = this.topicsById.get(r.topicId);
        assert(topic !== undefined, `partition of unknown topic ${r.topicId}`);
        const before = topic.partitions.get(r.partition);
        const after: PartitionState = {
          topicId: r.topicId,
          partition: r.partition,
          replicas: r.replicas,
          isr: r.isr,
          leader: r.leader,
          leaderEpoch: r.leaderEpoch,
          partitionEpoch: r.partitionEpoch,
        };
        this.checkPartition(after, before);
        topic.partitions.set(r.partition, after);
        delta.partitions.set(`${r.topicId}:${r.partition}`, { before, after });
        break;
      }
      case 'partition-change': {
        const topic = this.topicsById.get(r.topicId);
        const before = topic?.partitions.get(r.partition);
        assert(topic !== undefined && before !== undefined, `change of unknown partition ${r.topicId}:${r.partition}`);
        const leaderChanged = r.leader !== undefined && r.leader !== before.leader;
        const after: PartitionState = {
          ...before,
          leader: r.leader ?? before.leader,
          isr: r.isr ?? before.isr,
          leaderEpoch: leaderChanged ? before.leaderEpoch + 1 : before.leaderEpoch,
          partitionEpoch: before.partitionEpoch + 1,
        };
        this.checkPartition(after, before);
        topic.partitions.set(r.partition, after);
        const key = `${r.topicId}:${r.partition}`;
        // Created earlier in this batch: it stays "created" (before undefined).
        const earlier = delta.partitions.get(key);
        delta.partitions.set(key, { before: earlier !== undefined ? earlier.before : before, after });
        break;
      }
      case 'remove-topic': {
        const topic = this.topicsById.get(r.topicId);
        assert(topic !== undefined, `removal of unknown topic ${r.topicId}`);
        this.topicsById.delete(r.topicId);
        this.topicIdsByName.delete(topic.name);
        this.topicConfigs.delete(topic.name);
        for (const p of topic.partitions.keys()) delta.partitions.delete(`${r.topicId}:${p}`);
        delta.removedTopics.push(topic);
        break;
      }
      case 'config': {
        let target: Map<string, string>;
        if (r.resourceType === ConfigResource.Cluster) {
          target = this.clusterConfigs;
        } else {
          target = this.topicConfigs.get(r.resourceName) ?? new Map<string, string>();
          this.topicConfigs.set(r.resourceName, target);
        }
        if (r.value === undefined) target.delete(r.name);
        else target.set(r.name, r.value);
        if (r.resourceType === ConfigResource.Topic && target.size === 0) this.topicConfigs.delete(r.resourceName);
        delta.configs.add(r.resourceType === ConfigResource.Cluster ? '' : r.resourceName);
        break;
      }
      case 'producer-ids': {
        assert(r.nextProducerId > this.nextProducerId, `producer ids go back from ${this.nextProducerId} to ${r.nextProducerId}`);
        this.nextProducerId = r.nextProducerId;
        break;
      }
      case 'no-op':
        break;
    }
  }

  private checkPartition(p: PartitionState, before: PartitionState | undefined): void {
    const where = `${p.topicId}:${p.partition}`;
    assert(new Set(p.replicas).size === p.replicas.length && p.replicas.length > 0, `${where}: bad replicas ${p.replicas.join(',')}`);
    assert(p.isr.every((r) => p.replicas.includes(r)), `${where}: ISR ${p.isr.join(',')} not within replicas ${p.replicas.join(',')}`);
    assert(p.leader === NO_LEADER || p.isr.includes(p.leader), `${where}: leader ${p.leader} not in ISR ${p.isr.join(',')}`);
    if (before !== undefined) {
      assert(p.leaderEpoch >= before.leaderEpoch && p.partitionEpoch >= before.partitionEpoch, `${where}: epochs went back`);
    }
  }

  // ---- Snapshots ----------------------------------------------------------------------------------

  /** Records that rebuild this image, in canonical order (brokers, topics by name, configs, producer ids). */
  toRecords(): MetadataRecord[] {
    const out: MetadataRecord[] = [];
    for (const b of this.brokers()) {
      out.push({ type: 'register-broker', brokerId: b.id, incarnationId: b.incarnationId, brokerEpoch: b.epoch, endpoints: b.endpoints, rack: b.rack });
      out.push({ type: 'broker-registration-change', brokerId: b.id, brokerEpoch: b.epoch, fenced: b.fenced, inControlledShutdown: b.inControlledShutdown });
    }
    for (const t of this.topics()) {
      out.push({ type: 'topic', name: t.name, topicId: t.id });
      for (const p of [...t.partitions.values()].sort((a, b) => a.partition - b.partition)) out.push({ type: 'partition', ...p });
    }
    for (const [name, value] of [...this.clusterConfigs].sort()) {
      out.push({ type: 'config', resourceType: ConfigResource.Cluster, resourceName: '', name, value });
    }
    for (const resourceName of [...this.topicConfigs.keys()].sort()) {
      for (const [name, value] of [...(this.topicConfigs.get(resourceName) as Map<string, string>)].sort()) {
        out.push({ type: 'config', resourceType: ConfigResource.Topic, resourceName, name, value });
      }
    }
    if (this.nextProducerId > 0) out.push({ type: 'producer-ids', brokerId: -1, brokerEpoch: 0, nextProducerId: this.nextProducerId });
    return out;
  }

  /** An image equal to the one whose `toRecords()` these are, at `offset`. */
  static fromRecords(records: readonly MetadataRecord[], offset: number): MetadataImage {
    const image = new MetadataImage();
    for (const r of records) image.apply(r);
    image.offset = offset;
    return image;
  }

  clone(): MetadataImage {
    return MetadataImage.fromRecords(this.toRecords(), this.offset);
  }

  /** A canonical text of the whole image: equal images have equal digests. */
  digest(): string {
    return JSON.stringify([this.offset, this.toRecords()]);
  }
}
