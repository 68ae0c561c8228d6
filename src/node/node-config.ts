/**
 * The configuration of one node process (`skein node --config FILE`) and the format of its data
 * directory.
 *
 * Config file: JSON, camelCase names for the node's own settings, Kafka names for topic defaults:
 *
 *   {
 *     "nodeId": 1,                                   // >= 1 (0 is Raft's "no node")
 *     "roles": ["controller", "broker"],             // one or both
 *     "voters": [{ "id": 1, "url": "ws://127.0.0.1:9092" }, ...],
 *     "listen": { "host": "127.0.0.1", "port": 9092 },
 *     "advertisedUrl": "ws://127.0.0.1:9092",        // optional; default ws://<listen host>:<port>
 *     "peerUrls": { "2": "ws://127.0.0.1:19002" },   // optional; how this node reaches peer 2, overriding
 *                                                    // voters[].url and 2's advertised URL (chaos proxies)
 *     "dataDir": "./data/node-1",                    // relative: to `baseDir` (the config file's dir)
 *     "clusterId": "...",                            // optional; generated on first start otherwise
 *     "flush": "always",                             // optional; the cluster default of topic config `flush`
 *     "tickMs": 100, "electionTimeoutTicks": 10,     // Raft timing
 *     "sessionTimeoutMs": 9000, "heartbeatIntervalMs": 500, "replicaLagTimeMaxMs": 30000,
 *     "disconnectedSessionTimeoutMs": 1000,          // fence a broker with no connection this soon
 *     "controlledShutdownTimeoutMs": 30000,
 *     "topicDefaults": { "retention.ms": "604800000", "min.insync.replicas": "2" }
 *   }
 *
 * Invariants of a parsed `NodeConfig`: every field validated (integers in range, URLs ws:// or
 * wss://, a controller is among the voters, voter ids unique, topic defaults known Kafka names with
 * valid values); unknown fields are refused (a typo must not be silently ignored). Errors are
 * `NodeConfigError`s naming the bad field.
 *
 * Data directory: `meta.json` ({ version, clusterId, nodeId }) is written (atomically: temp file +
 * rename + directory fsync) on the first start; later starts read it and refuse a different cluster id
 * or node id, so a node never joins the wrong cluster with old data.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, writeFile } from 'node:fs/promises';
import { constants } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { TOPIC_CONFIGS, validateTopicConfigs } from '../metadata/topic-config.js';

export interface VoterConfig {
  readonly id: number;
  readonly url: string;
}

export interface NodeConfig {
  readonly nodeId: number;
  readonly roles: { readonly controller: boolean; readonly broker: boolean };
  readonly voters: readonly VoterConfig[];
  readonly listen: { readonly host: string; readonly port: number };
  /** The URL other nodes and clients use to reach this node; undefined: derived from `listen`. */
  readonly advertisedUrl: string | undefined;
  /**
   * Per peer node id, the URL this node dials to reach that peer — for Raft, requests to the controller
   * and follower fetches alike — instead of the voter URL or the peer's advertised URL. Clients are not
   * affected (they use advertised URLs). Used to route inter-node links through fault-injecting proxies
   * (chaos/); empty by default.
   */
  readonly peerUrls: ReadonlyMap<number, string>;
  /** Absolute. */
  readonly dataDir: string;
  /** undefined: take it from the data directory, or generate one on the first start. */
  readonly clusterId: string | undefined;
  readonly tickMs: number;
  readonly electionTimeoutTicks: number;
  readonly sessionTimeoutMs: number;
  readonly heartbeatIntervalMs: number;
  /** The controller fences a broker it has had no connection with (and no heartbeat from) this long. */
  readonly disconnectedSessionTimeoutMs: number;
  readonly replicaLagTimeMaxMs: number;
  /** How long a stop waits for the controller to move leadership away before stopping anyway. */
  readonly controlledShutdownTimeoutMs: number;
  /** Cluster-wide topic config defaults (Kafka names), `flush` included when configured. */
  readonly topicDefaults: Readonly<Record<string, string>>;
  readonly rack: string;
}

export class NodeConfigError extends Error {
  override readonly name = 'NodeConfigError';
  constructor(
    /** The offending field, dotted (`voters[1].url`), or '' for the whole document. */
    readonly field: string,
    message: string,
  ) {
    super(field === '' ? message : `config field ${field}: ${message}`);
  }
}

export const NODE_CONFIG_DEFAULTS = {
  host: '127.0.0.1',
  tickMs: 100,
  electionTimeoutTicks: 10,
  sessionTimeoutMs: 9000,
  heartbeatIntervalMs: 500,
  disconnectedSessionTimeoutMs: 1000,
  replicaLagTimeMaxMs: 30_000,
  controlledShutdownTimeoutMs: 30_000,
} as const;

const KNOWN_FIELDS = new Set([
  'nodeId',
  'roles',
  'voters',
  'listen',
  'advertisedUrl',
  'peerUrls',
  'dataDir',
  'clusterId',
  'flush',
  'tickMs',
  'electionTimeoutTicks',
  'sessionTimeoutMs',
  'heartbeatIntervalMs',
  'disconnectedSessionTimeoutMs',
  'replicaLagTimeMaxMs',
  'controlledShutdownTimeoutMs',
  'topicDefaults',
  'rack',
]);

const CLUSTER_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
const INT32_MAX = 0x7fff_ffff;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function int(value: unknown, field: string, min: number, max: number): number {
  if (!(typeof value === 'number' && Number.isSafeInteger(value) && value >= min && value <= max)) {
    throw new NodeConfigError(field, `must be an integer in [${min}, ${max}], got ${JSON.stringify(value)}`);
  }
  return value;
}

function optInt(obj: Record<string, unknown>, field: string, dflt: number, min: number, max: number): number {
  return obj[field] === undefined ? dflt : int(obj[field], field, min, max);
}

function str(value: unknown, field: string): string {
  if (typeof value !== 'string' || value === '') throw new NodeConfigError(field, `must be a non-empty string, got ${JSON.stringify(value)}`);
  return value;
}

function wsUrl(value: unknown, field: string): string {
  const s = str(value, field);
  let url: URL;
  try {
    url = new URL(s);
  } catch {
    throw new NodeConfigError(field, `is not a URL: ${JSON.stringify(s)}`);
  }
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:') throw new NodeConfigError(field, `must be a ws:// or wss:// URL, got ${JSON.stringify(s)}`);
  return s;
}

export interface ParseOptions {
  /** Relative `dataDir`s resolve against this (the config file's directory); default process.cwd(). */
  readonly baseDir?: string;
}

/** Validates a config document (JSON text or an already parsed value). Throws NodeConfigError. */
export function parseNodeConfig(json: unknown, options: ParseOptions = {}): NodeConfig {
  let doc = json;
  if (typeof json === 'string') {
    try {
      doc = JSON.parse(json);
    } catch (e) {
      throw new NodeConfigError('', `the config is not valid JSON: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  if (!isObject(doc)) throw new NodeConfigError('', 'the config must be a JSON object');
  for (const key of Object.keys(doc)) if (!KNOWN_FIELDS.has(key)) throw new NodeConfigError(key, `unknown field (known: ${[...KNOWN_FIELDS].join(', ')})`);

  const nodeId = int(doc['nodeId'], 'nodeId', 1, INT32_MAX);

  const rolesRaw = doc['roles'];
  if (!Array.isArray(rolesRaw) || rolesRaw.length === 0) throw new NodeConfigError('roles', 'must be a non-empty array of "controller" and/or "broker"');
  for (const [i, r] of rolesRaw.entries()) {
    if (r !== 'controller' && r !== 'broker') throw new NodeConfigError(`roles[${i}]`, `must be "controller" or "broker", got ${JSON.stringify(r)}`);
  }
  const roles = { controller: rolesRaw.includes('controller'), broker: rolesRaw.includes('broker') };

  const votersRaw = doc['voters'];
  if (!Array.isArray(votersRaw) || votersRaw.length === 0) throw new NodeConfigError('voters', 'must be a non-empty array of { id, url }');
  const voters: VoterConfig[] = [];
  for (const [i, v] of votersRaw.entries()) {
    const at = `voters[${i}]`;
    if (!isObject(v)) throw new NodeConfigError(at, 'must be an object { id, url }');
    for (const key of Object.keys(v)) if (key !== 'id' && key !== 'url') throw new NodeConfigError(`${at}.${key}`, 'unknown field');
    const id = int(v['id'], `${at}.id`, 1, INT32_MAX);
    if (voters.some((x) => x.id === id)) throw new NodeConfigError(`${at}.id`, `voter ${id} is listed twice`);
    voters.push({ id, url: wsUrl(v['url'], `${at}.url`) });
  }
  if (roles.controller && !voters.some((v) => v.id === nodeId)) throw new NodeConfigError('voters', `node ${nodeId} has the controller role but is not among the voters`);
  if (!roles.controller && voters.some((v) => v.id === nodeId)) throw new NodeConfigError('roles', `node ${nodeId} is a voter but lacks the controller role`);

  const listenRaw = doc['listen'];
  if (!isObject(listenRaw)) throw new NodeConfigError('listen', 'must be an object { host, port }');
  for (const key of Object.keys(listenRaw)) if (key !== 'host' && key !== 'port') throw new NodeConfigError(`listen.${key}`, 'unknown field');
  const listen = {
    host: listenRaw['host'] === undefined ? NODE_CONFIG_DEFAULTS.host : str(listenRaw['host'], 'listen.host'),
    port: int(listenRaw['port'], 'listen.port', 0, 65535),
  };

  const advertisedUrl = doc['advertisedUrl'] === undefined ? undefined : wsUrl(doc['advertisedUrl'], 'advertisedUrl');
  if (advertisedUrl === undefined && (listen.host === '0.0.0.0' || listen.host === '::')) {
    throw new NodeConfigError('advertisedUrl', `is required when listening on the wildcard address ${listen.host}`);
  }

  const peerUrls = new Map<number, string>();
  const peerUrlsRaw = doc['peerUrls'];
  if (peerUrlsRaw !== undefined) {
    if (!isObject(peerUrlsRaw)) throw new NodeConfigError('peerUrls', 'must be an object of node id to ws:// URL, e.g. { "2": "ws://127.0.0.1:19002" }');
    for (const [key, value] of Object.entries(peerUrlsRaw)) {
      const at = `peerUrls.${key}`;
      if (!/^[1-9][0-9]*$/.test(key)) throw new NodeConfigError(at, `the key must be a node id (an integer >= 1), got ${JSON.stringify(key)}`);
      const peer = int(Number(key), at, 1, INT32_MAX);
      if (peer === nodeId) throw new NodeConfigError(at, `is this node's own id: a node never dials itself`);
      peerUrls.set(peer, wsUrl(value, at));
    }
  }

  const dataDirRaw = str(doc['dataDir'], 'dataDir');
  const dataDir = isAbsolute(dataDirRaw) ? dataDirRaw : resolve(options.baseDir ?? process.cwd(), dataDirRaw);

  let clusterId: string | undefined;
  if (doc['clusterId'] !== undefined) {
    clusterId = str(doc['clusterId'], 'clusterId');
    if (!CLUSTER_ID_PATTERN.test(clusterId)) throw new NodeConfigError('clusterId', `must match ${CLUSTER_ID_PATTERN.source}, got ${JSON.stringify(clusterId)}`);
  }

  const tickMs = optInt(doc, 'tickMs', NODE_CONFIG_DEFAULTS.tickMs, 1, 60_000);
  const electionTimeoutTicks = optInt(doc, 'electionTimeoutTicks', NODE_CONFIG_DEFAULTS.electionTimeoutTicks, 2, 10_000);
  const sessionTimeoutMs = optInt(doc, 'sessionTimeoutMs', NODE_CONFIG_DEFAULTS.sessionTimeoutMs, 1, INT32_MAX);
  const heartbeatIntervalMs = optInt(doc, 'heartbeatIntervalMs', NODE_CONFIG_DEFAULTS.heartbeatIntervalMs, 1, INT32_MAX);
  if (heartbeatIntervalMs >= sessionTimeoutMs) {
    throw new NodeConfigError('heartbeatIntervalMs', `must be below sessionTimeoutMs (${sessionTimeoutMs}), got ${heartbeatIntervalMs}`);
  }
  const disconnectedSessionTimeoutMs = optInt(doc, 'disconnectedSessionTimeoutMs', NODE_CONFIG_DEFAULTS.disconnectedSessionTimeoutMs, 1, INT32_MAX);
  if (disconnectedSessionTimeoutMs <= heartbeatIntervalMs || disconnectedSessionTimeoutMs > sessionTimeoutMs) {
    throw new NodeConfigError(
      'disconnectedSessionTimeoutMs',
      `must be above heartbeatIntervalMs (${heartbeatIntervalMs}) and at most sessionTimeoutMs (${sessionTimeoutMs}), got ${disconnectedSessionTimeoutMs}`,
    );
  }
  const replicaLagTimeMaxMs = optInt(doc, 'replicaLagTimeMaxMs', NODE_CONFIG_DEFAULTS.replicaLagTimeMaxMs, 1, INT32_MAX);

  const controlledShutdownTimeoutMs = optInt(doc, 'controlledShutdownTimeoutMs', NODE_CONFIG_DEFAULTS.controlledShutdownTimeoutMs, 0, INT32_MAX);

  const topicDefaults: Record<string, string> = {};
  const defaultsRaw = doc['topicDefaults'];
  if (defaultsRaw !== undefined) {
    if (!isObject(defaultsRaw)) throw new NodeConfigError('topicDefaults', 'must be an object of Kafka topic config names to string values');
    for (const [name, value] of Object.entries(defaultsRaw)) {
      const at = `topicDefaults.${name}`;
      if (!TOPIC_CONFIGS.has(name)) throw new NodeConfigError(at, `unknown topic config (known: ${[...TOPIC_CONFIGS.keys()].join(', ')})`);
      const text = typeof value === 'number' || typeof value === 'boolean' ? String(value) : value;
      if (typeof text !== 'string') throw new NodeConfigError(at, `must be a string, got ${JSON.stringify(value)}`);
      topicDefaults[name] = text;
    }
  }
  if (doc['flush'] !== undefined) {
    const flush = doc['flush'];
    if (flush !== 'always' && flush !== 'os') throw new NodeConfigError('flush', `must be "always" or "os", got ${JSON.stringify(flush)}`);
    if (topicDefaults['flush'] !== undefined && topicDefaults['flush'] !== flush) throw new NodeConfigError('flush', `contradicts topicDefaults.flush (${topicDefaults['flush']})`);
    topicDefaults['flush'] = flush;
  }
  for (const [name, value] of Object.entries(topicDefaults)) {
    const invalid = validateTopicConfigs({ [name]: value }, { replicationFactor: INT32_MAX });
    if (invalid !== undefined) throw new NodeConfigError(`topicDefaults.${name}`, invalid.message);
  }

  const rackRaw = doc['rack'] ?? '';
  if (typeof rackRaw !== 'string') throw new NodeConfigError('rack', `must be a string, got ${JSON.stringify(rackRaw)}`);
  const rack = rackRaw;

  return { nodeId, roles, voters, listen, advertisedUrl, peerUrls, dataDir, clusterId, tickMs, electionTimeoutTicks, sessionTimeoutMs, heartbeatIntervalMs, disconnectedSessionTimeoutMs, replicaLagTimeMaxMs, controlledShutdownTimeoutMs, topicDefaults, rack };
}

/** Reads and parses a config file; relative paths inside resolve against the file's directory. */
export async function loadNodeConfig(path: string): Promise<NodeConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new NodeConfigError('', `cannot read config file ${path}: ${e instanceof Error ? e.message : String(e)}`);
  }
  return parseNodeConfig(text, { baseDir: resolve(path, '..') });
}

// ---- The data directory ------------------------------------------------------------------------------

export const META_FILE = 'meta.json';
export const META_VERSION = 1;

export interface DataDirMeta {
  readonly version: number;
  readonly clusterId: string;
  readonly nodeId: number;
}

/** A fresh cluster id: 16 random bytes, base64url (Kafka's format is the same length). */
export function generateClusterId(): string {
  return randomBytes(16).toString('base64url');
}

async function fsyncDir(path: string): Promise<void> {
  const handle = await open(path, constants.O_RDONLY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Formats the data directory on the first start, or checks it on later ones. Returns the cluster id.
 * Throws NodeConfigError('clusterId' | 'nodeId', ...) when the directory belongs to another cluster
 * or node, or '' when meta.json is unreadable.
 */
export async function formatOrCheckDataDir(config: Pick<NodeConfig, 'dataDir' | 'nodeId' | 'clusterId'>): Promise<DataDirMeta> {
  await mkdir(config.dataDir, { recursive: true });
  const path = join(config.dataDir, META_FILE);
  let text: string | undefined;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as { code?: unknown }).code !== 'ENOENT') throw e;
  }
  if (text === undefined) {
    const meta: DataDirMeta = { version: META_VERSION, clusterId: config.clusterId ?? generateClusterId(), nodeId: config.nodeId };
    const temp = `${path}.tmp`;
    const handle = await open(temp, 'w');
    try {
      await handle.writeFile(`${JSON.stringify(meta, null, 2)}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
    await fsyncDir(config.dataDir);
    return meta;
  }
  let meta: unknown;
  try {
    meta = JSON.parse(text);
  } catch {
    throw new NodeConfigError('', `${path} is not valid JSON: the data directory is damaged`);
  }
  if (!isObject(meta) || meta['version'] !== META_VERSION || typeof meta['clusterId'] !== 'string' || typeof meta['nodeId'] !== 'number') {
    throw new NodeConfigError('', `${path} is not a version ${META_VERSION} meta file`);
  }
  const stored: DataDirMeta = { version: META_VERSION, clusterId: meta['clusterId'], nodeId: meta['nodeId'] };
  if (config.clusterId !== undefined && config.clusterId !== stored.clusterId) {
    throw new NodeConfigError('clusterId', `is ${config.clusterId}, but data directory ${config.dataDir} belongs to cluster ${stored.clusterId}`);
  }
  if (stored.nodeId !== config.nodeId) throw new NodeConfigError('nodeId', `is ${config.nodeId}, but data directory ${config.dataDir} belongs to node ${stored.nodeId}`);
  return stored;
}

/** Writes a config document (for tooling and tests); the inverse of parseNodeConfig for its fields. */
export async function writeNodeConfigFile(path: string, doc: Readonly<Record<string, unknown>>): Promise<void> {
  await writeFile(path, `${JSON.stringify(doc, null, 2)}\n`);
}
