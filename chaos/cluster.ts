/**
 * The chaos cluster: N real `skein node` processes (each controller and broker) in a temporary
 * directory, every inter-node link through its own LinkProxy, and the process faults — kill -9 and
 * restart, SIGSTOP and SIGCONT.
 *
 * Topology: node i listens on 127.0.0.1:<port i>; for every other node j there is a proxy "i->j"
 * forwarding to j's port, and node i's config lists it in `peerUrls`, so every Raft message, controller
 * request and follower fetch from i to j crosses that proxy (and j's answers come back through it).
 * Clients reach the nodes directly (advertised URLs): they are never partitioned.
 *
 * Timing: the chaos cluster shortens the node defaults so that a 2-minute run fits tens of faults
 * (see CHAOS_TIMING and docs/guarantees.md). Everything else is the production default.
 *
 * Invariants: every process started is tracked; `stop()` SIGKILLs them all (after SIGCONT), waits for
 * their exit, closes the proxies and removes the directory unless asked to keep it. A node process
 * that exits without having been killed here is recorded in `unexpectedExits` (a crash is a finding).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nodeProcessArgs } from '../src/cli/node-flags.js';
import { generateClusterId, writeNodeConfigFile } from '../src/node/node-config.js';
import { freePorts } from './harness.js';
import { LinkProxy, type LinkMode } from './link-proxy.js';

/** bin/skein.js, from dist/chaos/ (where this file runs compiled). */
export const SKEIN_BIN = fileURLToPath(new URL('../../bin/skein.js', import.meta.url));

/** The node timing of a chaos cluster (production defaults in parentheses, docs/operations.md). */
export const CHAOS_TIMING = {
  tickMs: 50, // (100) Raft tick: elections after 0.5-1 s of silence instead of 1-2 s
  electionTimeoutTicks: 10,
  sessionTimeoutMs: 2000, // (9000) a broker silent this long is fenced
  heartbeatIntervalMs: 250, // (500)
  disconnectedSessionTimeoutMs: 1000, // (1000)
  replicaLagTimeMaxMs: 2000, // (30000) a follower behind this long leaves the ISR
  controlledShutdownTimeoutMs: 5000, // (30000)
} as const;

const LISTEN_WAIT_MS_MAX = 60_000;
const EXIT_WAIT_MS_MAX = 10_000;

export type NodeState = 'up' | 'killed' | 'paused' | 'starting';

interface NodeHandle {
  readonly id: number;
  readonly port: number;
  readonly dir: string;
  readonly configPath: string;
  child: ChildProcess | undefined;
  state: NodeState;
  /** Set just before we signal it, so its exit is expected. */
  expectExit: boolean;
  readonly log: WriteStream;
}

export interface ChaosClusterOptions {
  readonly dir: string;
  readonly nodes?: number;
  readonly flush: 'always' | 'os';
  /** Added to every node's environment. */
  readonly env?: Readonly<Record<string, string>>;
  /** Called once the node processes are spawned, before they listen. */
  readonly onSpawned?: (cluster: ChaosCluster) => void;
}

export class ChaosCluster {
  readonly unexpectedExits: string[] = [];
  private readonly handles = new Map<number, NodeHandle>();
  /** "i->j" -> proxy */
  readonly links = new Map<string, LinkProxy>();
  private stopped = false;

  private constructor(
    readonly dir: string,
    private readonly env: Readonly<Record<string, string>>,
  ) {}

  /** Writes the configs, starts the proxies and the node processes; resolves once every node listens. */
  static async start(o: ChaosClusterOptions): Promise<ChaosCluster> {
    const n = o.nodes ?? 3;
    const cluster = new ChaosCluster(o.dir, o.env ?? {});
    try {
      const ports = await freePorts(n);
      const portOf = (id: number): number => ports[id - 1] as number;
      for (let i = 1; i <= n; i++) {
        for (let j = 1; j <= n; j++) if (i !== j) cluster.links.set(`${i}->${j}`, await LinkProxy.start({ targetPort: portOf(j), name: `${i}->${j}`, avoidPorts: ports }));
      }
      const clusterId = generateClusterId();
      const voters = Array.from({ length: n }, (_, k) => ({ id: k + 1, url: `ws://127.0.0.1:${portOf(k + 1)}` }));
      for (let id = 1; id <= n; id++) {
        const dir = join(o.dir, `node-${id}`);
        await mkdir(dir, { recursive: true });
        const peerUrls: Record<string, string> = {};
        for (let j = 1; j <= n; j++) if (j !== id) peerUrls[String(j)] = (cluster.links.get(`${id}->${j}`) as LinkProxy).url;
        const configPath = join(dir, 'config.json');
        await writeNodeConfigFile(configPath, {
          nodeId: id,
          roles: ['controller', 'broker'],
          voters,
          listen: { host: '127.0.0.1', port: portOf(id) },
          peerUrls,
          dataDir: '.',
          clusterId,
          flush: o.flush,
          ...CHAOS_TIMING,
          topicDefaults: { 'min.insync.replicas': '2' },
        });
        cluster.handles.set(id, { id, port: portOf(id), dir, configPath, child: undefined, state: 'killed', expectExit: false, log: createWriteStream(join(dir, 'node.log'), { flags: 'a' }) });
      }
      const listening = Promise.all([...cluster.handles.keys()].map((id) => cluster.startNode(id)));
      o.onSpawned?.(cluster); // every process exists now: an interrupt can stop them before they listen
      await listening;
    } catch (e) {
      await cluster.stop({ keep: false });
      throw e;
    }
    return cluster;
  }

  get nodeIds(): number[] {
    return [...this.handles.keys()];
  }

  /** Client URLs: straight to the nodes, never through a proxy. */
  get brokers(): string[] {
    return [...this.handles.values()].map((h) => `ws://127.0.0.1:${h.port}`);
  }

  state(id: number): NodeState {
    return this.handle(id).state;
  }

  /** kill -9; the node stays down until `restart`. */
  async kill9(id: number): Promise<void> {
    const h = this.handle(id);
    const child = h.child;
    if (child === undefined || h.state === 'killed') return;
    h.expectExit = true;
    const exited = this.exitOf(child);
    child.kill('SIGKILL');
    await exited;
    h.state = 'killed';
  }

  async restart(id: number): Promise<void> {
    const h = this.handle(id);
    if (h.state !== 'killed') return;
    await this.startNode(id);
  }

  pause(id: number): void {
    const h = this.handle(id);
    if (h.state !== 'up' || h.child === undefined) return;
    h.child.kill('SIGSTOP');
    h.state = 'paused';
  }

  resume(id: number): void {
    const h = this.handle(id);
    if (h.state !== 'paused' || h.child === undefined) return;
    h.child.kill('SIGCONT');
    h.state = 'up';
  }

  /** Sets the mode of the links `from->to` for each pair. */
  setLinks(pairs: ReadonlyArray<readonly [number, number]>, mode: LinkMode): void {
    for (const [from, to] of pairs) this.links.get(`${from}->${to}`)?.setMode(mode);
  }

  /** Every link back to pass, every paused node continued, every killed node restarted. */
  async healAll(): Promise<void> {
    for (const link of this.links.values()) link.setMode({ kind: 'pass' });
    for (const id of this.nodeIds) this.resume(id);
    await Promise.all(this.nodeIds.map((id) => this.restart(id)));
  }

  /** SIGKILL everything (paused ones continued first), proxies closed, directory removed unless `keep`. */
  async stop(options: { readonly keep: boolean }): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    const exits: Promise<void>[] = [];
    for (const h of this.handles.values()) {
      const child = h.child;
      if (child === undefined || child.exitCode !== null || child.signalCode !== null) continue;
      h.expectExit = true;
      exits.push(this.exitOf(child));
      child.kill('SIGCONT');
      child.kill('SIGKILL');
    }
    await Promise.race([Promise.all(exits), new Promise((r) => setTimeout(r, EXIT_WAIT_MS_MAX).unref())]);
    await Promise.all([...this.links.values()].map((l) => l.close()));
    await Promise.all([...this.handles.values()].map((h) => new Promise<void>((resolve) => h.log.end(() => resolve()))));
    if (!options.keep) await rm(this.dir, { recursive: true, force: true });
  }

  /** Synchronous last resort (process 'exit' handler): SIGKILL whatever still runs. */
  killAllSync(): void {
    for (const h of this.handles.values()) {
      try {
        h.child?.kill('SIGCONT');
        h.child?.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
  }

  private handle(id: number): NodeHandle {
    const h = this.handles.get(id);
    if (h === undefined) throw new Error(`no node ${id}`);
    return h;
  }

  private exitOf(child: ChildProcess): Promise<void> {
    if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => child.once('exit', () => resolve()));
  }

  private startNode(id: number): Promise<void> {
    if (this.stopped) return Promise.reject(new Error(`node ${id} not started: the cluster is stopped`));
    const h = this.handle(id);
    h.state = 'starting';
    h.expectExit = false;
    // With the node flags: the child is the node itself (no relaunch), so signals to it reach the node.
    const env = { ...process.env, ...this.env };
    const child = spawn(process.execPath, nodeProcessArgs(SKEIN_BIN, h.configPath, env), { stdio: ['ignore', 'pipe', 'pipe'], env });
    h.child = child;
    h.log.write(`---- chaos: starting node ${id} (pid ${child.pid}) at ${new Date().toISOString()}\n`);
    let out = '';
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`node ${id}: not listening within ${LISTEN_WAIT_MS_MAX} ms`)), LISTEN_WAIT_MS_MAX);
      const onData = (d: Buffer): void => {
        h.log.write(d);
        if (out.length < 100_000) out += d.toString();
        if (h.state === 'starting' && out.includes('listening on')) {
          h.state = 'up';
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout?.on('data', onData);
      child.stderr?.on('data', onData);
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        h.log.write(`---- chaos: node ${id} exited (${signal ?? `code ${code}`})\n`);
        if (!h.expectExit && !this.stopped) {
          this.unexpectedExits.push(`node ${id} (pid ${child.pid}) exited on its own with ${signal ?? `code ${code}`}; see ${join(h.dir, 'node.log')}`);
          h.state = 'killed'; // restarted by the next heal
        }
        reject(new Error(`node ${id} exited with ${signal ?? code} before listening`));
      });
    });
  }
}
