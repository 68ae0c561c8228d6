/**
 * A local cluster of real node processes for benchmarks and end-to-end tests: `skein cluster up` in a
 * temporary directory on free ports, kill -9 of one node by its pid file, a restart by hand
 * (`skein node --config DIR/node-<id>/config.json`, as the README says), and a teardown that always
 * leaves nothing running and nothing on disk.
 *
 * Invariants: every process it starts is tracked and SIGKILLed at the latest by `stop()`; the data
 * directory is removed by `stop()`. Waits are bounded (60 s for `cluster ready` and for a restart).
 * `env` is added to the environment of `cluster up` and so of every node it starts (the benchmarks
 * pass NODE_OPTIONS=--cpu-prof through it); a restarted node gets it too.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** bin/skein.js, from dist/bench/ (where this file runs compiled). */
export const SKEIN_BIN = fileURLToPath(new URL('../../bin/skein.js', import.meta.url));

const READY_WAIT_MS_MAX = 60_000;
const STOP_WAIT_MS_MAX = 60_000;

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** A base port with `count` consecutive free ports after it. */
export async function freePortRange(count: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 30_000);
    const free = await Promise.all(Array.from({ length: count }, (_, i) => portFree(base + i)));
    if (free.every(Boolean)) return base;
  }
  throw new Error(`no ${count} consecutive free ports found`);
}

/** Runs `skein ARGS` to completion; stdin is written and closed first. */
export function runSkein(args: readonly string[], options: { readonly stdin?: string; readonly env?: NodeJS.ProcessEnv } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SKEIN_BIN, ...args], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...options.env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(options.stdin ?? '');
  });
}

export interface LocalClusterOptions {
  readonly nodes?: number;
  /** Added to the environment of every process started (e.g. NODE_OPTIONS). */
  readonly env?: Readonly<Record<string, string>>;
  /** Prefix of the temporary directory's name; default 'skein-e2e-'. */
  readonly prefix?: string;
}

export class LocalCluster {
  private up: ChildProcess | undefined;
  private output = '';
  private readonly extra: ChildProcess[] = [];

  private constructor(
    readonly dir: string,
    readonly basePort: number,
    readonly nodes: number,
    private readonly env: Readonly<Record<string, string>>,
  ) {}

  /** Starts `skein cluster up` and resolves once it printed `cluster ready`. */
  static async start(options: LocalClusterOptions | number = {}): Promise<LocalCluster> {
    const o: LocalClusterOptions = typeof options === 'number' ? { nodes: options } : options;
    const nodes = o.nodes ?? 3;
    const dir = await mkdtemp(join(tmpdir(), o.prefix ?? 'skein-e2e-'));
    const cluster = new LocalCluster(dir, await freePortRange(nodes), nodes, o.env ?? {});
    try {
      await cluster.launch();
    } catch (e) {
      await cluster.stop();
      throw e;
    }
    return cluster;
  }

  get brokers(): string[] {
    return Array.from({ length: this.nodes }, (_, i) => `ws://127.0.0.1:${this.basePort + i}`);
  }

  /** What `cluster up` printed so far. */
  get log(): string {
    return this.output;
  }

  nodeDir(id: number): string {
    return join(this.dir, 'data', `node-${id}`);
  }

  pidOf(id: number): number {
    return Number(readFileSync(join(this.nodeDir(id), 'pid'), 'utf8').trim());
  }

  /** kill -9 of one node process. */
  kill9(id: number): void {
    process.kill(this.pidOf(id), 'SIGKILL');
  }

  /**
   * Starts one node again by hand, as the README says: `skein node --config DIR/node-<id>/config.json`
   * (without the node flags, so the command relaunches itself with them, as it does for a user).
   */
  async restart(id: number): Promise<void> {
    await this.restartTimed(id);
  }

  /** `restart`, resolving once the node printed `listening on` (it serves requests) with the ms from spawn to then. */
  async restartTimed(id: number): Promise<{ listeningMs: number }> {
    const startMs = performance.now();
    const child = spawn(process.execPath, [SKEIN_BIN, 'node', '--config', join(this.nodeDir(id), 'config.json')], {
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
      env: { ...process.env, ...this.env },
    });
    this.extra.push(child);
    let out = '';
    let timer: NodeJS.Timeout | undefined;
    try {
      return await new Promise<{ listeningMs: number }>((resolve, reject) => {
        timer = setTimeout(() => reject(new Error(`node ${id}: not listening within ${READY_WAIT_MS_MAX} ms: ${out}`)), READY_WAIT_MS_MAX);
        child.stdout?.on('data', (d: Buffer) => {
          out += d.toString();
          if (out.includes('listening on')) resolve({ listeningMs: performance.now() - startMs });
        });
        child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
        child.once('exit', (code) => reject(new Error(`node ${id} exited with ${code}: ${out}`)));
      });
    } finally {
      clearTimeout(timer);
    }
  }

  /** Ctrl-C to `cluster up`; resolves with its exit code once it exited (null: killed by a signal). */
  async interrupt(): Promise<number | null> {
    const up = this.up;
    if (up === undefined) throw new Error('cluster up is not running');
    if (up.exitCode !== null || up.signalCode !== null) return up.exitCode;
    const exited = new Promise<number | null>((resolve) => up.once('exit', (code) => resolve(code)));
    up.kill('SIGINT');
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`cluster up did not exit within ${STOP_WAIT_MS_MAX} ms of SIGINT`)), STOP_WAIT_MS_MAX)));
    try {
      return await Promise.race([exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** `cluster up` again on the same directory and ports (after `interrupt`): it reuses the data. */
  async relaunch(): Promise<void> {
    const up = this.up;
    if (up !== undefined && up.exitCode === null && up.signalCode === null) throw new Error('cluster up is still running: interrupt() it first');
    await this.launch();
  }

  /** Ctrl-C to `cluster up` (which stops every node, restarted ones included), then SIGKILL for anything left, then the directory goes. */
  async stop(): Promise<void> {
    const up = this.up;
    if (up !== undefined && up.exitCode === null && up.signalCode === null) {
      const exited = new Promise<void>((resolve) => up.once('exit', () => resolve()));
      up.kill('SIGINT');
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([exited, new Promise((r) => (timer = setTimeout(r, STOP_WAIT_MS_MAX)))]);
      clearTimeout(timer);
    }
    for (let id = 1; id <= this.nodes; id++) {
      try {
        process.kill(this.pidOf(id), 'SIGKILL');
      } catch {
        // not running, or no pid file
      }
    }
    for (const child of [up, ...this.extra]) child?.kill('SIGKILL');
    await rm(this.dir, { recursive: true, force: true });
  }

  private launch(): Promise<void> {
    this.output = '';
    const up = spawn(process.execPath, [SKEIN_BIN, 'cluster', 'up', '--nodes', String(this.nodes), '--data', join(this.dir, 'data'), '--port', String(this.basePort)], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...this.env },
    });
    this.up = up;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no 'cluster ready' within ${READY_WAIT_MS_MAX / 1000} s:\n${this.output}`)), READY_WAIT_MS_MAX);
      const onData = (d: Buffer): void => {
        this.output += d.toString();
        if (this.output.includes('cluster ready')) {
          clearTimeout(timer);
          resolve();
        }
      };
      up.stdout.on('data', onData);
      up.stderr.on('data', onData);
      up.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`cluster up exited with ${code}:\n${this.output}`));
      });
    });
  }
}
