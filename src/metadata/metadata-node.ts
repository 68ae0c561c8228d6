/**
 * One node of the metadata plane: a Raft member (a voter when it is a controller, an observer when it
 * is only a broker) running the metadata state machine, plus the roles on top — the quorum controller
 * on voters, the broker's registration and heartbeats on brokers. A combined node (KRaft's
 * `process.roles=broker,controller`) has both.
 *
 * Everything reaches the world through the injected ports (Clock, Random, RaftStorage, the Raft
 * message sender, the controller channel), so the simulator composes exactly this.
 */
import type { Clock, CancelTimer } from '../util/clock.js';
import type { LoggerFactory } from '../util/log.js';
import type { Random } from '../util/random.js';
import { RaftNode, type RaftNodeOptions } from '../raft/raft-node.js';
import type { RaftStorage } from '../raft/storage.js';
import type { Message } from '../raft/types.js';
import { BrokerLifecycle, type BrokerLifecycleOptions, type ControllerChannel } from './broker-lifecycle.js';
import { QuorumController, type ControllerOptions } from './controller.js';
import { errorResult } from './errors.js';
import { MetadataStateMachine, type MetadataListener } from './metadata-state-machine.js';
import type { Endpoint } from './records.js';
import type { ControllerRequest, ControllerResponse } from './rpc.js';

export interface MetadataNodeOptions {
  readonly id: number;
  readonly voters: readonly number[];
  readonly roles: { readonly controller: boolean; readonly broker: boolean };
  readonly clock: Clock;
  readonly random: Random;
  readonly loggers: LoggerFactory;
  readonly raftStorage: RaftStorage;
  readonly sendRaft: (message: Message) => void;
  /** Brokers reach the controller through this. */
  readonly channel: ControllerChannel;
  /** A fresh random id per process start (brokers). */
  readonly incarnationId: string;
  readonly endpoints?: readonly Endpoint[];
  readonly rack?: string;
  /** Raft tuning (tick, snapshots, ...). */
  readonly raft?: Partial<Pick<RaftNodeOptions, 'tickMs' | 'electionTimeoutTicks' | 'snapshotEntries' | 'snapshotTrailingEntries' | 'recovering' | 'createCore'>>;
  readonly controller?: Partial<Omit<ControllerOptions, 'nodeId' | 'quorum' | 'clock' | 'random' | 'logger'>>;
  readonly broker?: Partial<Pick<BrokerLifecycleOptions, 'heartbeatIntervalMs' | 'retryBackoffMs' | 'controlledShutdownTimeoutMs' | 'onStateChange'>>;
  /** How often the controller checks sessions. Default 250 ms. */
  readonly controllerTickMs?: number;
  readonly onFatal?: (error: unknown) => void;
  /** Hear every applied batch from the very first (including a snapshot restored at start). */
  readonly listeners?: readonly MetadataListener[];
}

export class MetadataNode {
  readonly metadata = new MetadataStateMachine();
  controller: QuorumController | undefined;
  broker: BrokerLifecycle | undefined;
  private raftNode: RaftNode | undefined;
  private cancelTick: CancelTimer = () => {};
  private stopped = false;

  private constructor(readonly options: MetadataNodeOptions) {}

  get raft(): RaftNode {
    if (this.raftNode === undefined) throw new Error('the raft node has not started');
    return this.raftNode;
  }

  static async start(options: MetadataNodeOptions): Promise<MetadataNode> {
    const node = new MetadataNode(options);
    const isVoter = options.voters.includes(options.id);
    if (options.roles.controller && !isVoter) throw new Error(`node ${options.id} has the controller role but is not a voter`);
    for (const l of options.listeners ?? []) node.metadata.listen(l);
    const logger = options.loggers('skein:metadata:controller');
    if (options.roles.controller) {
      const controller = new QuorumController({
        ...options.controller,
        nodeId: options.id,
        quorum: {
          propose: (data) => node.raft.propose(data),
          leadership: () => {
            const s = node.raft.status();
            return { isLeader: s.role === 'leader', lastIndex: s.lastIndex };
          },
          committed: () => node.metadata.image,
        },
        clock: options.clock,
        random: options.random,
        logger,
      });
      node.controller = controller;
      node.metadata.listen({ onApplied: (image) => controller.maybeActivate(image) });
    }
    node.raftNode = await RaftNode.start({
      ...options.raft,
      id: options.id,
      voters: options.voters,
      random: options.random,
      clock: options.clock,
      storage: options.raftStorage,
      send: options.sendRaft,
      stateMachine: node.metadata,
      loggers: options.loggers,
      onRoleChange: (s) => {
        if (node.controller === undefined) return;
        if (s.role === 'leader') node.controller.becameLeader(node.raft.status().lastIndex, node.metadata.image);
        else node.controller.resigned();
      },
      ...(options.onFatal !== undefined ? { onFatal: options.onFatal } : {}),
    });
    if (node.controller !== undefined) node.scheduleControllerTick();
    if (options.roles.broker) {
      node.broker = new BrokerLifecycle({
        ...options.broker,
        brokerId: options.id,
        incarnationId: options.incarnationId,
        endpoints: options.endpoints ?? [],
        rack: options.rack ?? '',
        voters: options.voters,
        channel: options.channel,
        clock: options.clock,
        logger: options.loggers('skein:metadata:broker'),
        leaderHint: () => node.raft.status().leader,
        appliedOffset: () => node.metadata.image.offset,
      });
      node.broker.start();
    }
    return node;
  }

  /** Delivers a Raft message. */
  receiveRaft(message: Message): void {
    if (!this.stopped) this.raftNode?.receive(message);
  }

  /** Serves a controller request (NOT_CONTROLLER unless this node's controller is active). */
  async handleControllerRequest<K extends ControllerRequest['kind']>(request: Extract<ControllerRequest, { kind: K }>): Promise<ControllerResponse<K>> {
    if (this.stopped || this.controller === undefined) return errorResult('NOT_CONTROLLER') as ControllerResponse<K>;
    return this.controller.handle(request);
  }

  /**
   * Controlled shutdown: the broker role first (leaderships moved away, bounded by
   * `broker.controlledShutdownTimeoutMs`), then Raft leadership handed to a caught-up voter (bounded
   * by two election timeouts), then the node stops. A broker that the committed image shows as the
   * last one running skips the first step: there is nowhere to move leadership to, and the quorum it
   * would need may already be gone (the last node of a cluster being stopped).
   */
  async stop(): Promise<void> {
    if (this.stopped) return;
    const othersRunning = this.metadata.image.brokers().some((b) => b.id !== this.options.id && !b.fenced && !b.inControlledShutdown);
    if (this.broker !== undefined && othersRunning) await this.broker.controlledShutdown();
    this.broker?.stop();
    const raft = this.raftNode;
    if (raft !== undefined) {
      const electionTimeoutMs = (this.options.raft?.tickMs ?? 100) * (this.options.raft?.electionTimeoutTicks ?? 10);
      await raft.resignLeadership(2 * electionTimeoutMs);
    }
    this.stopped = true;
    this.cancelTick();
    await raft?.stop();
  }

  /** Simulated crash: everything stops at once. */
  crash(): void {
    this.stopped = true;
    this.cancelTick();
    this.broker?.stop();
    this.controller?.resigned();
    this.raftNode?.crash();
  }

  private scheduleControllerTick(): void {
    this.cancelTick = this.options.clock.setTimer(this.options.controllerTickMs ?? 250, () => {
      if (this.stopped) return;
      this.controller?.tick();
      this.scheduleControllerTick();
    });
  }
}
