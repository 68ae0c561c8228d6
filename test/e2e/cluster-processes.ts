/**
 * Real node processes for end-to-end tests: `skein cluster up` in a temporary directory on free
 * ports, `skein node --config` to restart one node, kill -9 by pid file, and a teardown that always
 * leaves nothing running and nothing on disk.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const SKEIN_BIN = fileURLToPath(new URL('../../../bin/skein.js', import.meta.url));

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

export class ClusterProcesses {
  private up: ChildProcess | undefined;
  private output = '';
  private readonly extra: ChildProcess[] = [];

  private constructor(
    readonly dir: string,
    readonly basePort: number,
    readonly nodes: number,
  ) {}

  /** Starts `skein cluster up` and resolves once it printed `cluster ready`. */
  static async start(nodes = 3): Promise<ClusterProcesses> {
    const dir = await mkdtemp(join(tmpdir(), 'skein-e2e-'));
    const cluster = new ClusterProcesses(dir, await freePortRange(nodes), nodes);
    await cluster.launch();
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

  /** Starts one node again by hand, as the README says: `skein node --config DIR/node-<id>/config.json`. */
  async restart(id: number): Promise<void> {
    const child = spawn(process.execPath, [SKEIN_BIN, 'node', '--config', join(this.nodeDir(id), 'config.json')], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    this.extra.push(child);
    let out = '';
    await new Promise<void>((resolve, reject) => {
      child.stdout?.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('listening on')) resolve();
      });
      child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
      child.once('exit', (code) => reject(new Error(`node ${id} exited with ${code}: ${out}`)));
    });
  }

  /** Ctrl-C to `cluster up` (which stops every node, restarted ones included), then SIGKILL for anything left, then the directory goes. */
  async stop(): Promise<void> {
    const up = this.up;
    if (up !== undefined && up.exitCode === null && up.signalCode === null) {
      const exited = new Promise<void>((resolve) => up.once('exit', () => resolve()));
      up.kill('SIGINT');
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([exited, new Promise((r) => (timer = setTimeout(r, 60_000)))]);
      clearTimeout(timer);
    }
    for (let id = 1; id <= this.nodes; id++) {
      try {
        process.kill(this.pidOf(id), 'SIGKILL');
      } catch {
        // not running
      }
    }
    for (const child of [up, ...this.extra]) child?.kill('SIGKILL');
    await rm(this.dir, { recursive: true, force: true });
  }

  private launch(): Promise<void> {
    const up = spawn(process.execPath, [SKEIN_BIN, 'cluster', 'up', '--nodes', String(this.nodes), '--data', join(this.dir, 'data'), '--port', String(this.basePort)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.up = up;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no 'cluster ready' within 60 s:\n${this.output}`)), 60_000);
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
