/**
 * Load for the metadata simulation:
 * - an admin client (its own network endpoint) that creates, deletes and grows topics and alters
 *   configs — valid requests and deliberately invalid ones, whose specific errors it checks;
 * - on every broker, a stand-in for the partition layer that asks the controller to shrink and expand
 *   the ISRs of partitions it leads (AlterPartition with the epochs from its own image) and allocates
 *   producer-id blocks, so the controller's validation meets real races.
 * Everything is bounded (one admin request in flight, one ISR change per broker at a time).
 */
import type { Random } from '../src/util/random.js';
import type { MetadataNode } from '../src/metadata/metadata-node.js';
import { isError, type ControllerRequest } from '../src/metadata/rpc.js';
import type { NodeId } from '../src/raft/types.js';
import type { MetadataChecker } from './metadata-checker.js';
import { SimControllerChannel } from './metadata-process.js';
import type { RaftCluster } from './raft-cluster.js';

export const ADMIN_CLIENT_ID = 900;

export interface AdminStats {
  requests: number;
  ok: number;
  expectedErrors: number;
  failures: number;
}

export class MetadataWorkload {
  readonly stats: AdminStats = { requests: 0, ok: 0, expectedErrors: 0, failures: 0 };
  private running = false;
  private readonly channel: SimControllerChannel;
  private controllerHint = 0;
  private unique = 0;

  constructor(
    private readonly cluster: RaftCluster,
    private readonly checker: MetadataChecker,
    private readonly random: Random,
  ) {
    this.channel = new SimControllerChannel(ADMIN_CLIENT_ID, (m) => cluster.network.send(m), cluster.scheduler, 1000);
    cluster.addClient(ADMIN_CLIENT_ID, (m) => this.channel.onMessage(m));
  }

  start(): void {
    this.running = true;
    this.next();
  }

  stop(): void {
    this.running = false;
  }

  private next(): void {
    if (!this.running) return;
    this.cluster.scheduler.setTimer(50 + this.random.int(300), () => {
      if (this.running) void this.oneRequest().then(() => this.next());
    });
  }

  private target(): NodeId {
    const voters = this.cluster.voterIds;
    return this.controllerHint !== 0 ? this.controllerHint : (voters[this.random.int(voters.length)] as NodeId);
  }

  /** Sends `request`; returns the answer, or undefined after a timeout or NOT_CONTROLLER. */
  private async send(request: ControllerRequest): Promise<unknown> {
    this.stats.requests++;
    const to = this.target();
    try {
      const response = (await this.channel.request(to, request)) as object;
      if (isError(response) && (response.error === 'NOT_CONTROLLER' || response.error === 'REQUEST_TIMED_OUT')) {
        this.controllerHint = 0;
        this.stats.failures++;
        return undefined;
      }
      this.controllerHint = to;
      return response;
    } catch {
      this.controllerHint = 0;
      this.stats.failures++;
      return undefined;
    }
  }

  private expectError(what: string, response: unknown, code: string, topic: string): void {
    if (response === undefined) return;
    const entries = (response as { topics?: Array<{ name: string; error?: string }> }).topics;
    const got = entries?.find((t) => t.name === topic)?.error ?? (response as { error?: string }).error;
    if (got === code) this.stats.expectedErrors++;
    else this.cluster.checker.violations.push(`t=${this.cluster.scheduler.nowMs()}ms ${what}: expected ${code}, got ${JSON.stringify(response)}`);
  }

  private async oneRequest(): Promise<void> {
    const r = this.random;
    const name = `t${r.int(8)}`;
    switch (r.int(8)) {
      case 0:
      case 1: {
        const res = await this.send({
          kind: 'create-topics',
          topics: [{ name, numPartitions: 1 + r.int(4), replicationFactor: 1 + r.int(3), configs: r.int(3) === 0 ? { 'retention.ms': String(1000 * (1 + r.int(100))) } : {} }],
          validateOnly: false,
        });
        if (res !== undefined) this.stats.ok++;
        break;
      }
      case 2: {
        if ((await this.send({ kind: 'delete-topics', names: [name] })) !== undefined) this.stats.ok++;
        break;
      }
      case 3: {
        if ((await this.send({ kind: 'create-partitions', topics: [{ name, count: 2 + r.int(5) }], validateOnly: false })) !== undefined) this.stats.ok++;
        break;
      }
      case 4: {
        const value = String(1 + r.int(3));
        if ((await this.send({ kind: 'alter-configs', resource: name, changes: [{ name: 'min.insync.replicas', value }], validateOnly: false })) !== undefined) this.stats.ok++;
        break;
      }
      case 5: {
        // Invalid name: refused, and never created.
        const bad = `bad name ${++this.unique}!`;
        this.checker.forbidTopic(bad);
        this.expectError('create with an invalid name', await this.send({ kind: 'create-topics', topics: [{ name: bad, numPartitions: 1, replicationFactor: 1 }], validateOnly: false }), 'INVALID_TOPIC_NAME', bad);
        break;
      }
      case 6: {
        // Unknown config, or validate-only: nothing may be written.
        const topic = `never-${++this.unique}`;
        this.checker.forbidTopic(topic);
        if (r.int(2) === 0) {
          this.expectError('create with an unknown config', await this.send({ kind: 'create-topics', topics: [{ name: topic, numPartitions: 1, replicationFactor: 1, configs: { 'no.such.config': '1' } }], validateOnly: false }), 'INVALID_CONFIG', topic);
        } else {
          await this.send({ kind: 'create-topics', topics: [{ name: topic, numPartitions: 2, replicationFactor: 1 }], validateOnly: true });
        }
        break;
      }
      case 7: {
        // More replicas than brokers exist.
        const topic = `toowide-${++this.unique}`;
        this.checker.forbidTopic(topic);
        this.expectError('create with too many replicas', await this.send({ kind: 'create-topics', topics: [{ name: topic, numPartitions: 1, replicationFactor: 50 }], validateOnly: false }), 'INVALID_REPLICATION_FACTOR', topic);
        break;
      }
    }
  }
}

/**
 * On a broker: a stand-in for the partition layer's ISR management and producer-id allocation.
 * Returns a function that stops it.
 */
export function startBrokerChurn(node: MetadataNode, channel: SimControllerChannel, random: Random, checker: MetadataChecker): void {
  const clock = node.options.clock;
  const id = node.options.id;
  let allocated = false;
  const controller = (): NodeId => {
    const leader = node.raft.status().leader;
    const voters = node.options.voters;
    return leader !== 0 ? leader : (voters[random.int(voters.length)] as NodeId);
  };
  const step = async (): Promise<void> => {
    const broker = node.broker;
    if (broker === undefined || broker.state === 'stopped') return;
    const epoch = broker.brokerEpoch;
    const image = node.metadata.image;
    if (broker.state === 'running' && !allocated) {
      try {
        const res = await channel.request(controller(), { kind: 'allocate-producer-ids', brokerId: id, brokerEpoch: epoch });
        if (!isError(res)) {
          allocated = true;
          checker.onProducerIds(res.firstProducerId, res.count);
        }
      } catch {
        // retried at the next step
      }
    }
    const led = image.topics().flatMap((t) => [...t.partitions.values()]).filter((p) => p.leader === id);
    if (led.length === 0 || broker.state !== 'running') return;
    const p = led[random.int(led.length)];
    if (p === undefined) return;
    let isr = [...p.isr];
    if (isr.length > 1 && random.int(2) === 0) {
      const followers = isr.filter((r) => r !== id);
      const drop = followers[random.int(followers.length)];
      isr = isr.filter((r) => r !== drop);
    } else {
      const outside = p.replicas.filter((r) => !isr.includes(r) && image.broker(r)?.fenced === false);
      const add = outside[random.int(Math.max(1, outside.length))];
      if (add === undefined) return;
      isr.push(add);
    }
    try {
      await channel.request(controller(), {
        kind: 'alter-partition',
        brokerId: id,
        brokerEpoch: epoch,
        topicId: p.topicId,
        partition: p.partition,
        leaderEpoch: p.leaderEpoch,
        partitionEpoch: p.partitionEpoch,
        newIsr: isr.map((r) => ({ brokerId: r, brokerEpoch: image.broker(r)?.epoch ?? -1 })),
      });
    } catch {
      // a timeout: the next step retries with fresh epochs
    }
  };
  const loop = (): void => {
    clock.setTimer(300 + random.int(1200), () => {
      if (node.broker?.state === 'stopped') return;
      void step().then(loop);
    });
  };
  loop();
}
