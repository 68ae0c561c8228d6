/**
 * One Skein node, in-process: the metadata node (Raft voter or observer, controller and/or broker
 * lifecycle) and, on brokers, the replica manager, wired to real time, disk and network. It mirrors
 * the simulator's composition (sim/metadata-process.ts + sim/data-plane.ts) with real ports:
 * LevelRaftStorage at `<dataDir>/raft`, NodeLogFileSystem at `<dataDir>/partitions`, a NetServer for
 * incoming traffic and two PeerTransports for outgoing: one for Raft and controller requests, one for
 * follower fetches.
 *
 * Invariants:
 * - The data directory is formatted (meta.json) before anything else touches it; a directory of
 *   another cluster or node refuses to start. A multi-voter cluster needs its cluster id in the config
 *   to format: ids generated per node would never match.
 * - Handlers are registered right after the server binds; until the metadata node runs they answer
 *   NOT_CONTROLLER / NOT_LEADER_OR_FOLLOWER (retriable) and Raft messages are dropped (Raft tolerates it).
 * - Raft messages go out through the PeerTransport to configured voters and to brokers whose address
 *   the metadata image knows (a peer in the config's `peerUrls` is dialled at that URL instead); to a
 *   peer without an address (an observer), over the connection it opened to us, if any. Best effort
 *   throughout. Follower fetches and controller requests use the same addresses.
 * - Follower fetches travel on their own connection to each peer, apart from Raft messages and
 *   controller requests (heartbeats, AlterPartition): every followed partition keeps a long-poll fetch
 *   parked at its leader, and sharing a connection's bounded requests in flight (128) with them let a
 *   broker following a few hundred partitions starve its own heartbeats until it was fenced.
 * - Controller requests to this node's own id are served locally (a combined node does not dial itself).
 * - Clients (node id 0 in the handshake) may send only admin controller requests; any node forwards
 *   them to the active controller (KIP-590). DescribeQuorum is answered by the Raft leader, one
 *   forwarding hop at most. InitProducerId is served by brokers from controller-allocated blocks.
 * - `stop()` is idempotent and bounded: controlled shutdown (leadership moved away) for at most
 *   `controlledShutdownTimeoutMs`, Raft leadership handed over, then replica manager, partition logs
 *   (HW checkpointed, flushed, closed), server, transport and Raft storage closed. A fatal error in a
 *   core (`onFatal`) stops the node the same way; `stopped` resolves either way.
 * - Topic defaults of the config are cluster-wide defaults: an active controller on this node sets
 *   the ones the cluster config lacks (once per process start); an operator's later change wins.
 * - Brokers run the group coordinator for the `__consumer_offsets` partitions they lead, fed by a
 *   metadata listener after the replica manager's; its log is the replica manager itself
 *   (src/groups/broker-coordinator.ts). Every node answers FindCoordinator. Only brokers may create
 *   internal topics: `internal: true` in a client's CreateTopics is refused (INVALID_REQUEST).
 */
import { randomUUID } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Clock, CancelTimer } from '../util/clock.js';
import { debugLoggers, type LoggerFactory } from '../util/log.js';
import type { Random } from '../util/random.js';
import type { ControllerChannel } from '../metadata/broker-lifecycle.js';
import { errorResult } from '../metadata/errors.js';
import { MetadataNode } from '../metadata/metadata-node.js';
import type { MetadataDelta, MetadataImage } from '../metadata/image.js';
import type { ControllerRequest, ControllerResponse, CreateTopicsRequest } from '../metadata/rpc.js';
import { flushPolicy, maxMessageBytes, retentionBytes, retentionMs, segmentBytes, segmentMs } from '../metadata/topic-config.js';
import { partitionError } from '../partitions/errors.js';
import { ReplicaManager } from '../partitions/replica-manager.js';
import { SegmentLog } from '../partitions/segment-log.js';
import type { Connection, ConnectionLimits } from '../net/connection.js';
import type { ControllerAnswer, DescribeQuorumResponse, MetadataResponse, MetadataTopic, QuorumReplica } from '../net/protocol.js';
import { ProducerIdAllocator } from '../metadata/producer-id-allocator.js';
import { brokerGroups, type BrokerGroups } from '../groups/broker-coordinator.js';
import type { GroupCoordinator } from '../groups/coordinator.js';
import { CoordinatorFinder } from '../groups/coordinator-finder.js';
import { groupConfig, type GroupConfig } from '../groups/config.js';
import { registerGroupHandlers } from './group-wiring.js';
import type { PeerStatus, RaftStatus } from '../raft/raft-core.js';
import { NetServer } from '../net/server.js';
import type { Message } from '../raft/types.js';
import { LevelRaftStorage } from './level-raft-storage.js';
import { NodeLogFileSystem } from './node-log-fs.js';
import { META_FILE, NodeConfigError, formatOrCheckDataDir, type NodeConfig } from './node-config.js';
import { PeerTransport } from './peer-transport.js';
import { systemClock, systemRandom } from './system-ports.js';

/** Test and embedding hooks; production uses the defaults. */
export interface NodeOverrides {
  readonly clock?: Clock;
  readonly random?: Random;
  readonly loggers?: LoggerFactory;
  readonly limits?: Partial<ConnectionLimits>;
  /** How often the controller checks sessions; default 250 ms. */
  readonly controllerTickMs?: number;
  /** Called when a core reports a fatal error (the node then stops itself). */
  readonly onFatal?: (error: unknown) => void;
  /** Group coordinator settings (offsets topic shape, heartbeat interval, session bounds, ...). */
  readonly groups?: Partial<GroupConfig>;
}

export interface RunningNode {
  readonly id: number;
  readonly config: NodeConfig;
  readonly clusterId: string;
  /** The URL clients and peers use (advertised). */
  readonly url: string;
  /** The port actually bound. */
  readonly port: number;
  readonly metadata: MetadataNode;
  /** Brokers only. */
  readonly replicas: ReplicaManager | undefined;
  /** Brokers only: the consumer-group coordinator. */
  readonly groups: GroupCoordinator | undefined;
  /** Resolves once the node has stopped (through stop() or a fatal error). */
  readonly stopped: Promise<void>;
  /** The committed metadata image this node has applied. */
  image(): MetadataImage;
  /** Controlled shutdown, then everything closed. Idempotent. */
  stop(): Promise<void>;
}

const CLIENT_ENDPOINT = 'client';

export async function startNode(config: NodeConfig, overrides: NodeOverrides = {}): Promise<RunningNode> {
  const clock = overrides.clock ?? systemClock;
  const random = overrides.random ?? systemRandom;
  const loggers = overrides.loggers ?? debugLoggers;
  const log = loggers('skein:node:process');
  const id = config.nodeId;

  // ---- The data directory ----
  if (config.clusterId === undefined && config.voters.length > 1) {
    // Only fine for a directory formatted earlier: check before generating anything.
    const exists = await stat(join(config.dataDir, META_FILE)).then(() => true, () => false);
    if (!exists) throw new NodeConfigError('clusterId', `is required to format the data directory of a ${config.voters.length}-voter cluster (every node needs the same id)`);
  }
  const meta = await formatOrCheckDataDir(config);
  const clusterId = meta.clusterId;
  log('node %d: cluster %s, data %s', id, clusterId, config.dataDir);

  // ---- Network in ----
  let node: MetadataNode | undefined;
  let replicas: ReplicaManager | undefined;
  let stopping = false;
  const incoming = new Map<number, Connection>();
  const server = await NetServer.listen({
    host: config.listen.host,
    port: config.listen.port,
    nodeId: id,
    clusterId,
    clock,
    logger: loggers('skein:node:server'),
    starting: true, // until the handlers are registered below
    ...(overrides.limits !== undefined ? { limits: overrides.limits } : {}),
  });
  const url = config.advertisedUrl ?? `ws://${config.listen.host}:${server.port}`;

  const cleanup: Array<() => Promise<void>> = [() => server.close()];
  const closeAll = async (): Promise<void> => {
    for (const fn of cleanup.splice(0).reverse()) {
      try {
        await fn();
      } catch (e) {
        log('node %d: error while closing: %O', id, e);
      }
    }
  };

  try {
    const voterUrls = new Map(config.voters.map((v) => [v.id, v.url]));
    const resolveUrl = (peer: number): string | undefined => {
      // peerUrls (a per-link override, e.g. a chaos proxy) wins over voter and advertised URLs.
      const configured = config.peerUrls.get(peer) ?? voterUrls.get(peer);
      if (configured !== undefined) return configured;
      const endpoints = node?.metadata.image.broker(peer)?.endpoints ?? [];
      return (endpoints.find((e) => e.name === CLIENT_ENDPOINT) ?? endpoints[0])?.url;
    };

    // ---- Network out ----
    const peerTransport = (logger: string): PeerTransport => {
      const t = new PeerTransport({
        selfId: id,
        clusterId,
        resolveUrl,
        clock,
        random,
        logger: loggers(logger),
        onRaft: (message) => node?.receiveRaft(message),
        ...(overrides.limits !== undefined ? { limits: overrides.limits } : {}),
      });
      cleanup.push(() => t.close());
      return t;
    };
    const transport = peerTransport('skein:node:transport');
    // Follower fetches only (see the header); Raft messages a peer sends back on it still count.
    const fetchTransport = peerTransport('skein:node:fetch-transport');

    const sendRaft = (message: Message): void => {
      const back = incoming.get(message.to);
      if (resolveUrl(message.to) === undefined && back?.isOpen === true) {
        back.sendRaft(message);
        return;
      }
      transport.sendRaft(message);
    };

    const remoteChannel = transport.controllerChannel();
    const channel: ControllerChannel = {
      request: <K extends ControllerRequest['kind']>(to: number, request: Extract<ControllerRequest, { kind: K }>): Promise<ControllerResponse<K>> => {
        if (to !== id) return remoteChannel.request(to, request);
        if (node === undefined) return Promise.resolve(errorResult('NOT_CONTROLLER') as ControllerResponse<K>);
        return node.handleControllerRequest(request);
      },
    };
    let nextVoter = 0;
    const controllerTarget = (): number => {
      const leader = node?.raft.status().leader ?? 0;
      return leader !== 0 ? leader : (config.voters[nextVoter++ % config.voters.length]?.id ?? id);
    };

    // ---- Storage ----
    const raftStorage = await LevelRaftStorage.open(join(config.dataDir, 'raft'));
    let raftStorageOwnedByNode = false;
    cleanup.push(async () => {
      if (!raftStorageOwnedByNode) await raftStorage.close();
    });

    let fatalBeforeStart: unknown;
    let stopNode: (() => Promise<void>) | undefined;
    const onFatal = (error: unknown): void => {
      log('node %d: fatal: %O', id, error);
      overrides.onFatal?.(error);
      if (stopNode !== undefined) void stopNode();
      else fatalBeforeStart ??= error;
    };

    // ---- Data plane (brokers) ----
    const openLogs = new Map<string, SegmentLog>();
    if (config.roles.broker) {
      const fs = await NodeLogFileSystem.open(join(config.dataDir, 'partitions'));
      const dirName = (topicId: string, partition: number): string => `${topicId}-${partition}`;
      const partitionsLog = loggers('skein:node:partitions');
      replicas = new ReplicaManager({
        brokerId: id,
        clock,
        wallClockMs: () => Date.now(),
        logger: partitionsLog,
        openLog: async (topicId, partition, cfg) => {
          const segmentLog = await SegmentLog.open({
            dir: await fs.directory(dirName(topicId, partition)),
            config: {
              segmentBytes: segmentBytes(cfg),
              segmentMs: segmentMs(cfg),
              retentionMs: retentionMs(cfg),
              retentionBytes: retentionBytes(cfg),
              flush: flushPolicy(cfg),
              maxMessageBytes: maxMessageBytes(cfg),
            },
            // Wall-clock time: segment roll and retention compare it with record timestamps.
            nowMs: Date.now(),
            logger: partitionsLog,
          });
          openLogs.set(dirName(topicId, partition), segmentLog);
          return segmentLog;
        },
        deleteLog: async (topicId, partition) => {
          const name = dirName(topicId, partition);
          const segmentLog = openLogs.get(name);
          openLogs.delete(name);
          await segmentLog?.close().catch(() => {});
          await fs.removeDirectory(name);
        },
        replicaFetch: (leader, request) => fetchTransport.request(leader, 'replica-fetch', request, { timeoutMs: request.maxWaitMs + 5000 }),
        alterPartition: (request) => channel.request(controllerTarget(), request),
        replicaFailed: (request) => channel.request(controllerTarget(), request),
        brokerEpoch: () => node?.broker?.brokerEpoch ?? -1,
        mayLead: () => node?.broker?.state === 'running',
        replicaLagTimeMaxMs: config.replicaLagTimeMaxMs,
        onFatal,
      });
    }
    // ---- Consumer groups: the coordinator on brokers, FindCoordinator everywhere ----
    const groupsConfig = groupConfig(overrides.groups);
    const groupsLog = loggers('skein:node:groups');
    const createTopics = async (request: CreateTopicsRequest): Promise<ControllerResponse<'create-topics'>> => {
      try {
        return await channel.request(controllerTarget(), request);
      } catch (e) {
        return errorResult('NOT_CONTROLLER', `the controller is unreachable: ${e instanceof Error ? e.message : String(e)}`);
      }
    };
    const image = (): MetadataImage | undefined => node?.metadata.image;
    const rm = replicas;
    const groupSide: BrokerGroups | undefined =
      rm === undefined
        ? undefined
        : brokerGroups({ brokerId: id, replicas: rm, image, createTopics, clock, wallClockMs: () => Date.now(), config: groupsConfig, logger: groupsLog, clientEndpoint: CLIENT_ENDPOINT });
    const groups: GroupCoordinator | undefined = groupSide?.coordinator;
    const finder = groupSide?.finder ?? new CoordinatorFinder({ image, config: groupsConfig, createTopics, logger: groupsLog, clientEndpoint: CLIENT_ENDPOINT });
    cleanup.push(async () => {
      // Before the replicas stop: no timer of the coordinator appends to a stopping log.
      groups?.stop();
      replicas?.stop();
      for (const segmentLog of openLogs.values()) {
        await segmentLog.checkpointHighWatermark().catch(() => {});
        await segmentLog.close().catch((e: unknown) => log('node %d: closing a log: %O', id, e));
      }
      openLogs.clear();
    });

    // ---- Handlers ----
    const producerIds = new ProducerIdAllocator(() =>
      channel.request(controllerTarget(), { kind: 'allocate-producer-ids', brokerId: id, brokerEpoch: node?.broker?.brokerEpoch ?? -1 }),
    );
    registerHandlers(server, {
      node: () => node,
      replicas: () => replicas,
      clusterId,
      tickMs: config.tickMs,
      onIncoming: (peerId, connection) => {
        if (peerId <= 0 || incoming.get(peerId) === connection) return;
        incoming.set(peerId, connection);
        transport.peerAlive(peerId); // a restarted peer is reached at once, not after our backoff
        fetchTransport.peerAlive(peerId);
      },
      forwardToController: async (request) => {
        const target = controllerTarget();
        try {
          return await channel.request(target, request);
        } catch (e) {
          return errorResult('NOT_CONTROLLER', `controller ${target} is unreachable: ${e instanceof Error ? e.message : String(e)}`);
        }
      },
      forwardToRaftLeader: (leader, kind) => transport.request(leader, kind, {}),
      producerIds: config.roles.broker ? producerIds : undefined,
    });
    registerGroupHandlers(server, { coordinator: groups, finder });
    server.ready();

    // ---- The metadata node ----
    const r = replicas;
    node = await MetadataNode.start({
      id,
      voters: config.voters.map((v) => v.id),
      roles: config.roles,
      clock,
      random,
      loggers,
      raftStorage,
      sendRaft,
      channel,
      incarnationId: randomUUID(),
      endpoints: [{ name: CLIENT_ENDPOINT, url }],
      rack: config.rack,
      raft: { tickMs: config.tickMs, electionTimeoutTicks: config.electionTimeoutTicks },
      controller: {
        sessionTimeoutMs: config.sessionTimeoutMs,
        disconnectedSessionTimeoutMs: config.disconnectedSessionTimeoutMs,
        // A peer's requests and Raft messages arrive on connections it opened to this node.
        brokerConnected: (brokerId) => brokerId === id || [...server.connections].some((c) => c.peer?.nodeId === brokerId),
      },
      broker: { heartbeatIntervalMs: config.heartbeatIntervalMs, controlledShutdownTimeoutMs: config.controlledShutdownTimeoutMs },
      ...(overrides.controllerTickMs !== undefined ? { controllerTickMs: overrides.controllerTickMs } : {}),
      onFatal,
      listeners: [
        ...(r === undefined ? [] : [{ onDelta: (delta: MetadataDelta, image: MetadataImage) => r.onDelta(delta, image), onReset: (image: MetadataImage) => r.onReset(image) }]),
        // After the replica manager's: the coordinator's first read waits for the replica to lead.
        ...(groupSide === undefined ? [] : [groupSide.listener]),
      ],
    });
    raftStorageOwnedByNode = true; // raft.stop() closes it
    const started = node;
    replicas?.start();

    // ---- Topic defaults ----
    let cancelSeeding: CancelTimer = () => {};
    const seedDefaults = (): void => {
      cancelSeeding = clock.setTimer(500, () => {
        if (stopping) return;
        const missing = Object.entries(config.topicDefaults).filter(([name]) => !Object.hasOwn(started.metadata.image.clusterConfig(), name));
        if (missing.length === 0) return;
        if (started.controller?.isActive !== true) return seedDefaults();
        void started
          .handleControllerRequest({ kind: 'alter-configs', resource: '', changes: missing.map(([name, value]) => ({ name, value })), validateOnly: false })
          .then(
            (answer) => {
              if ('error' in answer) {
                log('node %d: setting topic defaults: %s %s', id, answer.error, answer.message);
                seedDefaults();
              } else log('node %d: set cluster topic defaults %o', id, Object.fromEntries(missing));
            },
            () => seedDefaults(),
          );
      });
    };
    if (config.roles.controller && Object.keys(config.topicDefaults).length > 0) seedDefaults();

    // ---- Stop ----
    let stopPromise: Promise<void> | undefined;
    let resolveStopped!: () => void;
    const stopped = new Promise<void>((resolve) => (resolveStopped = resolve));
    const running: RunningNode = {
      id,
      config,
      clusterId,
      url,
      port: server.port,
      metadata: started,
      replicas,
      groups,
      stopped,
      image: () => started.metadata.image,
      stop(): Promise<void> {
        stopPromise ??= (async () => {
          stopping = true;
          cancelSeeding();
          log('node %d: stopping', id);
          const broker = started.broker;
          const cancelBound = broker !== undefined ? clock.setTimer(config.controlledShutdownTimeoutMs, () => broker.stop()) : () => {};
          try {
            await started.stop();
          } catch (e) {
            log('node %d: metadata node stop failed: %O', id, e);
          } finally {
            cancelBound();
          }
          await closeAll();
          log('node %d: stopped', id);
          resolveStopped();
        })();
        return stopPromise;
      },
    };
    stopNode = () => running.stop();
    if (fatalBeforeStart !== undefined) {
      await running.stop();
      throw fatalBeforeStart;
    }
    log('node %d: listening on %s (roles %o)', id, url, config.roles);
    return running;
  } catch (e) {
    stopping = true;
    await closeAll();
    throw e;
  }
}

interface HandlerDeps {
  readonly node: () => MetadataNode | undefined;
  readonly replicas: () => ReplicaManager | undefined;
  readonly clusterId: string;
  readonly tickMs: number;
  readonly onIncoming: (peerId: number, connection: Connection) => void;
  /** A client's admin request, to the active controller wherever it is (KIP-590 forwarding). */
  readonly forwardToController: (request: ControllerRequest) => Promise<ControllerResponse<ControllerRequest['kind']>>;
  readonly forwardToRaftLeader: (leader: number, kind: 'describe-quorum') => Promise<DescribeQuorumResponse>;
  /** Brokers only. */
  readonly producerIds: ProducerIdAllocator | undefined;
}

/** What clients (node id 0 in the handshake) may ask the controller; the rest is for brokers. */
const CLIENT_CONTROLLER_KINDS: ReadonlySet<ControllerRequest['kind']> = new Set(['create-topics', 'delete-topics', 'create-partitions', 'describe-configs', 'alter-configs']);

function registerHandlers(server: NetServer, deps: HandlerDeps): void {
  const notHere = (topicId: string, partition: number) => partitionError('NOT_LEADER_OR_FOLLOWER', `this node hosts no replica of ${topicId}:${partition}`);

  server.onRaft((message, connection) => {
    // A Raft message speaks for the node that shook hands on this connection, never for another:
    // a client (node id 0) or a peer cannot inject votes or entries in someone else's name.
    const peer = connection.peer?.nodeId ?? 0;
    if (peer <= 0 || message.from !== peer) return;
    deps.onIncoming(peer, connection);
    deps.node()?.receiveRaft(message);
  });

  server.handle('controller', async (request, context) => {
    const node = deps.node();
    if (context.peer.nodeId > 0) {
      deps.onIncoming(context.peer.nodeId, context.connection);
      const response = node === undefined ? errorResult('NOT_CONTROLLER') : await node.handleControllerRequest(request);
      return { kind: request.kind, response } as ControllerAnswer;
    }
    if (!CLIENT_CONTROLLER_KINDS.has(request.kind)) {
      return { kind: request.kind, response: errorResult('INVALID_REQUEST', `clients may not send ${request.kind}`) } as ControllerAnswer;
    }
    if (request.kind === 'create-topics' && request.internal === true) {
      return { kind: request.kind, response: errorResult('INVALID_REQUEST', 'only brokers may create internal topics') } as ControllerAnswer;
    }
    const local = node?.controller?.isActive === true;
    const response = local ? await node.handleControllerRequest(request) : await deps.forwardToController(request);
    return { kind: request.kind, response } as ControllerAnswer;
  });

  server.handle('describe-quorum', async (_request, context) => {
    const node = deps.node();
    if (node === undefined) return errorResult('NOT_CONTROLLER', 'this node is starting');
    const status = node.raft.status();
    if (status.role === 'leader') return describeQuorum(status, deps.tickMs);
    // Forward a client's question once; a node asking us is answered plainly (no forwarding loops).
    if (status.leader === 0 || context.peer.nodeId > 0) return errorResult('NOT_CONTROLLER', 'no Raft leader known here');
    try {
      return await deps.forwardToRaftLeader(status.leader, 'describe-quorum');
    } catch (e) {
      return errorResult('NOT_CONTROLLER', `the Raft leader ${status.leader} is unreachable: ${e instanceof Error ? e.message : String(e)}`);
    }
  });

  server.handle('init-producer-id', async () => {
    if (deps.producerIds === undefined) return errorResult('INVALID_REQUEST', 'this node is not a broker');
    try {
      return await deps.producerIds.take();
    } catch (e) {
      return errorResult('NOT_CONTROLLER', `the controller is unreachable: ${e instanceof Error ? e.message : String(e)}`);
    }
  });

  server.handle('fetch', async (request) => {
    const replicas = deps.replicas();
    if (replicas === undefined) return notHere(request.topicId, request.partition);
    return replicas.fetch(request.topicId, request.partition, request);
  });

  server.handle('replica-fetch', async (request) => {
    const replicas = deps.replicas();
    if (replicas === undefined) return { partitions: request.partitions.map((p) => notHere(p.topicId, p.partition)) };
    return replicas.replicaFetch(request);
  });

  server.handle('produce', async (request) => {
    const replicas = deps.replicas();
    if (replicas === undefined) return notHere(request.topicId, request.partition);
    return replicas.produce(request.topicId, request.partition, request.records, request.acks, request.timeoutMs);
  });

  server.handle('list-offsets', async (request) => {
    const replicas = deps.replicas();
    if (replicas === undefined) return notHere(request.topicId, request.partition);
    return replicas.listOffset(request.topicId, request.partition, request.timestamp);
  });

  server.handle('metadata', async (request) => {
    const node = deps.node();
    if (node === undefined) return { clusterId: deps.clusterId, controllerId: -1, brokers: [], topics: [] };
    return metadataResponse(deps.clusterId, node, request.topics);
  });
}

/** The quorum as a Raft leader sees it (Kafka's DescribeQuorum): voters and observers with their lag. */
export function describeQuorum(status: RaftStatus, tickMs: number): DescribeQuorumResponse {
  const self: QuorumReplica = { id: status.id, logEndOffset: status.lastIndex, lag: 0, lastContactMs: 0 };
  const replica = (p: PeerStatus): QuorumReplica => ({ id: p.id, logEndOffset: p.matchIndex, lag: p.lag, lastContactMs: p.idleTicks * tickMs });
  const byId = (a: QuorumReplica, b: QuorumReplica): number => a.id - b.id;
  const peers = status.peers.filter((p) => p.id !== status.id);
  return {
    leaderId: status.id,
    term: status.term,
    highWatermark: status.commitIndex,
    voters: [self, ...peers.filter((p) => p.isVoter).map(replica)].sort(byId),
    observers: peers.filter((p) => !p.isVoter).map(replica).sort(byId),
  };
}

/** The metadata answer from this node's committed image; the controller id is the Raft leader. */
export function metadataResponse(clusterId: string, node: MetadataNode, names: readonly string[] | undefined): MetadataResponse {
  const image = node.metadata.image;
  const leader = node.raft.status().leader;
  const topicImages = names === undefined ? image.topics() : names.map((name) => image.topic(name) ?? name);
  const topics = topicImages.map((t): MetadataTopic => {
    if (typeof t === 'string') return { name: t, ...partitionError('UNKNOWN_TOPIC_OR_PARTITION', `no topic ${t}`) };
    return {
      name: t.name,
      topicId: t.id,
      partitions: [...t.partitions.values()]
        .sort((a, b) => a.partition - b.partition)
        .map((p) => ({ partition: p.partition, leader: p.leader, leaderEpoch: p.leaderEpoch, replicas: p.replicas, isr: p.isr })),
    };
  });
  return {
    clusterId,
    controllerId: leader === 0 ? -1 : leader,
    brokers: image.brokers().map((b) => ({ id: b.id, endpoints: b.endpoints, rack: b.rack, fenced: b.fenced })),
    topics,
  };
}
