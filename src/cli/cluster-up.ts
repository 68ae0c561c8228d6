/**
 * `skein cluster up [--nodes 3] [--data DIR] [--port 9092]` (what `npm start` runs): a local cluster
 * of N node processes, each controller+broker, on ws://127.0.0.1:<port>, <port+1>, ...
 *
 * Contract:
 * - Layout: `DIR/node-<id>/config.json` (a complete `skein node` config: any node can be stopped and
 *   started again by hand with `skein node --config DIR/node-<id>/config.json`), the node's data in
 *   the same directory, its pid in `DIR/node-<id>/pid` (written by the node) and its output in
 *   `DIR/node-<id>/node.log`. The first run writes the configs with one new cluster id; later runs reuse
 *   them, so data and cluster id survive (`--nodes`/`--port` must then match, or it refuses).
 * - A node that is still running (its pid file names a live process) is not started twice: refused.
 * - Prints `cluster ready` once a controller leader exists and every broker is registered and
 *   unfenced; afterwards, one line per change it sees (controller moved, broker fenced or back, a
 *   node process exited), so failover can be watched.
 * - Ctrl-C (SIGINT) or SIGTERM: every node (the ones it started and any restarted by hand, found by
 *   pid file) gets SIGTERM for a controlled shutdown, one at a time, the controller last; one that
 *   takes longer than `STOP_GRACE_MS` gets SIGKILL, and so does every node on a second Ctrl-C.
 *   It exits once all are gone. It also exits (1) when every node has exited on its own, before or
 *   after the cluster was ready.
 * - `cluster ready` needs the cluster id of this directory: another cluster already on these ports
 *   (ours then fails to bind) never looks ready.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, openSync, closeSync, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateClusterId, loadNodeConfig, writeNodeConfigFile } from '../node/node-config.js';
import { intOption, parse, stringOption, UsageError } from './args.js';
import { probeCluster, type ClusterView } from './cluster-probe.js';
import { shown } from './format.js';
import { pidFileOf } from './node-command.js';
import { nodeProcessArgs, nodeV8Flags } from './node-flags.js';

export const CLUSTER_UP_USAGE = 'usage: skein cluster up [--nodes 3] [--data ./data] [--port 9092]';

const READY_POLL_MS = 250;
const WATCH_POLL_MS = 1000;
const STOP_GRACE_MS = 45_000;

interface NodePlan {
  readonly id: number;
  readonly dir: string;
  readonly configPath: string;
  readonly url: string;
}

/** The config documents of a fresh N-node local cluster. */
export function localClusterConfigs(nodes: number, port: number, clusterId: string): Record<string, unknown>[] {
  const voters = Array.from({ length: nodes }, (_, i) => ({ id: i + 1, url: `ws://127.0.0.1:${port + i}` }));
  return voters.map((v, i) => ({
    nodeId: v.id,
    roles: ['controller', 'broker'],
    voters,
    listen: { host: '127.0.0.1', port: port + i },
    dataDir: '.',
    clusterId,
    flush: 'always',
    // Safe defaults for a 3-node cluster: a write acknowledged with acks=all is on two replicas.
    topicDefaults: nodes >= 3 ? { 'min.insync.replicas': '2' } : {},
  }));
}

async function planCluster(root: string, nodes: number, port: number): Promise<NodePlan[]> {
  const existing = Array.from({ length: 64 }, (_, i) => i + 1).filter((id) => existsSync(join(root, `node-${id}`, 'config.json')));
  const plans: NodePlan[] = [];
  if (existing.length > 0) {
    if (existing.length !== nodes || existing.some((id, i) => id !== i + 1)) {
      throw new UsageError(`${shown(root)} holds the configs of nodes ${existing.join(', ')}; start it with --nodes ${existing.length}, or use another --data directory`);
    }
    for (const id of existing) {
      const configPath = join(root, `node-${id}`, 'config.json');
      const config = await loadNodeConfig(configPath);
      if (config.listen.port !== port + id - 1) throw new UsageError(`${configPath} listens on port ${config.listen.port}, not ${port + id - 1}: use --port ${config.listen.port - id + 1}`);
      plans.push({ id, dir: join(root, `node-${id}`), configPath, url: config.advertisedUrl ?? `ws://${config.listen.host}:${config.listen.port}` });
    }
    return plans;
  }
  const docs = localClusterConfigs(nodes, port, generateClusterId());
  for (const doc of docs) {
    const id = doc['nodeId'] as number;
    const dir = join(root, `node-${id}`);
    await mkdir(dir, { recursive: true });
    const configPath = join(dir, 'config.json');
    await writeNodeConfigFile(configPath, doc);
    plans.push({ id, dir, configPath, url: `ws://127.0.0.1:${port + id - 1}` });
  }
  return plans;
}

/** The pid in a node's pid file if that process is alive. */
function livePid(dir: string): number | undefined {
  let pid: number;
  try {
    pid = Number(readFileSync(pidFileOf(dir), 'utf8').trim());
  } catch {
    return undefined;
  }
  if (!Number.isSafeInteger(pid) || pid <= 0) return undefined;
  try {
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined;
  }
}

function spawnNode(plan: NodePlan): ChildProcess {
  const bin = fileURLToPath(new URL('../../../bin/skein.js', import.meta.url));
  const log = openSync(join(plan.dir, 'node.log'), 'a');
  try {
    // detached: a node gets its own process group, so a Ctrl-C in the terminal reaches only this
    // process, which then asks every node for a controlled shutdown (once).
    return spawn(process.execPath, nodeProcessArgs(bin, plan.configPath), { stdio: ['ignore', log, log], env: process.env, detached: true });
  } finally {
    closeSync(log);
  }
}

function describeView(view: ClusterView): string {
  const brokers = view.brokers.map((b) => `${b.id}${b.fenced ? ' (fenced)' : ''}`).join(', ');
  return `controller ${view.controllerId === -1 ? 'none' : view.controllerId}, brokers ${brokers === '' ? 'none' : brokers}`;
}

function isReady(view: ClusterView | undefined, clusterId: string | undefined, ids: readonly number[]): boolean {
  // Another cluster on the same ports (ours then failed to bind) must not look ready.
  if (view === undefined || view.clusterId !== clusterId || view.controllerId === -1) return false;
  return ids.every((id) => view.brokers.some((b) => b.id === id && !b.fenced));
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Stops every node, one at a time so that each controlled shutdown finds a controller quorum to move
 * its leaderships (the last node standing skips it: nowhere to move them). The controller goes last.
 */
async function stopAll(plans: readonly NodePlan[], children: ReadonlyMap<number, ChildProcess>): Promise<void> {
  const controllerId = (await probeCluster(plans.map((p) => p.url)))?.controllerId ?? -1;
  const order = [...plans].sort((a, b) => Number(a.id === controllerId) - Number(b.id === controllerId));
  for (const plan of order) {
    const pid = children.get(plan.id)?.pid ?? livePid(plan.dir);
    if (pid === undefined || !isAlive(pid)) continue;
    console.log(`node ${plan.id}: stopping (pid ${pid})`);
    process.kill(pid, 'SIGTERM');
    const deadline = Date.now() + STOP_GRACE_MS;
    while (isAlive(pid) && Date.now() < deadline) await sleep(50);
    if (isAlive(pid)) {
      console.log(`node ${plan.id} did not stop in ${STOP_GRACE_MS / 1000} s: SIGKILL`);
      process.kill(pid, 'SIGKILL');
    }
  }
}

export async function clusterUp(argv: readonly string[]): Promise<number> {
  const parsed = parse(argv, { nodes: { type: 'string' }, data: { type: 'string' }, port: { type: 'string' } }, 0);
  const nodes = intOption(parsed, 'nodes', 3, 1, 9);
  const port = intOption(parsed, 'port', 9092, 1024, 65535 - nodes);
  const root = resolve(stringOption(parsed, 'data') ?? 'data');
  nodeV8Flags(); // a bad SKEIN_NODE_V8_FLAGS fails here, before any node starts
  const plans = await planCluster(root, nodes, port);
  const running = plans.filter((p) => livePid(p.dir) !== undefined);
  if (running.length > 0) {
    throw new UsageError(`node ${running.map((p) => `${p.id} (pid ${livePid(p.dir)})`).join(', ')} of ${shown(root)} is already running; stop it first`);
  }

  const { clusterId } = await loadNodeConfig(plans[0]!.configPath).then((c) => ({ clusterId: c.clusterId }));
  console.log(`starting ${nodes} node${nodes === 1 ? '' : 's'} in ${shown(root)} (cluster ${clusterId})`);
  const children = new Map<number, ChildProcess>();
  let stopping = false;
  for (const plan of plans) {
    const child = spawnNode(plan);
    children.set(plan.id, child);
    console.log(`node ${plan.id}: pid ${child.pid}, ${plan.url}, log ${shown(join(plan.dir, 'node.log'))}`);
    child.on('exit', (code, signal) => {
      children.delete(plan.id);
      if (!stopping) console.log(`node ${plan.id} exited (${signal ?? `code ${code}`}); restart it with: npx skein node --config ${shown(plan.configPath)}`);
    });
  }

  const done = new Promise<number>((resolveDone) => {
    const stop = (signal: string): void => {
      if (stopping) {
        // A second Ctrl-C: the user does not want to wait for controlled shutdowns.
        console.log(`${signal} again: killing every node`);
        for (const plan of plans) {
          const pid = children.get(plan.id)?.pid ?? livePid(plan.dir);
          if (pid !== undefined && isAlive(pid)) process.kill(pid, 'SIGKILL');
        }
        resolveDone(1);
        return;
      }
      stopping = true;
      console.log(`${signal}: stopping the nodes one by one (controlled shutdown), the controller last`);
      void stopAll(plans, children).then(() => {
        console.log('cluster stopped');
        resolveDone(0);
      });
    };
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGTERM', () => stop('SIGTERM'));

    void (async () => {
      const urls = plans.map((p) => p.url);
      const ids = plans.map((p) => p.id);
      const startedMs = Date.now();
      let view: ClusterView | undefined;
      while (!stopping && !isReady(view, clusterId, ids)) {
        await sleep(READY_POLL_MS);
        if (children.size === 0) {
          console.log(`every node exited before the cluster was ready; see the node logs in ${shown(root)}`);
          resolveDone(1);
          return;
        }
        view = await probeCluster(urls);
      }
      if (stopping || view === undefined) return;
      console.log(`cluster ready in ${((Date.now() - startedMs) / 1000).toFixed(1)} s: ${describeView(view)}; clients connect to ${urls.join(',')}`);
      let last = describeView(view);
      while (!stopping) {
        await sleep(WATCH_POLL_MS);
        const nodesAlive = plans.filter((p) => children.has(p.id) || livePid(p.dir) !== undefined);
        if (nodesAlive.length === 0 && !stopping) {
          console.log('every node has exited');
          resolveDone(1);
          return;
        }
        const next = await probeCluster(urls);
        if (next === undefined) continue;
        const line = describeView(next);
        if (line !== last) console.log(line);
        last = line;
      }
    })();
  });
  return done;
}
