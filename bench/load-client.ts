/**
 * The benchmark's handle on one load worker process (bench/load-worker.ts): fork, one command at a
 * time with a deadline, progress lines passed to a callback, and a close that always ends the process.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ConsumeCommand, ConsumeResult, FromLoadWorker, PacedCommand, PacedResult, ProduceCommand, ProduceResult, ToLoadWorker } from './load-protocol.js';

const WORKER_PATH = fileURLToPath(new URL('./load-worker.js', import.meta.url));
const READY_WAIT_MS_MAX = 30_000;

type ResultOf<C extends ToLoadWorker> = C extends ProduceCommand ? ProduceResult : C extends PacedCommand ? PacedResult : C extends ConsumeCommand ? ConsumeResult : never;

export class LoadClient {
  private pending: { resolve: (result: unknown) => void; reject: (error: Error) => void } | undefined;
  private exited: Error | undefined;
  onProgress: (text: string) => void = () => {};

  private constructor(
    readonly name: string,
    private readonly child: ChildProcess,
  ) {
    child.on('message', (m: FromLoadWorker) => {
      if (m.kind === 'progress') this.onProgress(m.text);
      else if (m.kind === 'done') this.settle((p) => p.resolve(m.result));
      else if (m.kind === 'failed') this.settle((p) => p.reject(new Error(`${name}: ${m.error}`)));
    });
    child.once('exit', (code, signal) => {
      this.exited = new Error(`${name}: the load worker exited (${signal ?? code})`);
      this.settle((p) => p.reject(this.exited as Error));
    });
  }

  /** Forks a worker; `execArgv` adds Node flags (e.g. --cpu-prof), `env` environment variables. */
  static async start(name: string, execArgv: readonly string[] = [], env: Readonly<Record<string, string>> = {}): Promise<LoadClient> {
    const child = fork(WORKER_PATH, [], { execArgv: [...process.execArgv, ...execArgv], env: { ...process.env, ...env }, stdio: ['ignore', 2, 2, 'ipc'] });
    const client = new LoadClient(name, child);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${name}: not ready within ${READY_WAIT_MS_MAX} ms`)), READY_WAIT_MS_MAX);
      child.once('message', () => {
        clearTimeout(timer);
        resolve();
      });
      child.once('exit', () => {
        clearTimeout(timer);
        reject(new Error(`${name}: the load worker exited before it was ready`));
      });
    });
    return client;
  }

  /** Runs one command; rejects if it fails, the worker dies, or nothing comes back within `timeoutMs`. */
  run<C extends ProduceCommand | PacedCommand | ConsumeCommand>(command: C, timeoutMs: number): Promise<ResultOf<C>> {
    if (this.exited !== undefined) return Promise.reject(this.exited);
    if (this.pending !== undefined) return Promise.reject(new Error(`${this.name}: a command is already running`));
    return new Promise<ResultOf<C>>((resolve, reject) => {
      const timer = setTimeout(() => this.settle((p) => p.reject(new Error(`${this.name}: ${command.kind} did not finish within ${timeoutMs} ms`))), timeoutMs);
      this.pending = {
        resolve: (r) => {
          clearTimeout(timer);
          resolve(r as ResultOf<C>);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      this.child.send(command);
    });
  }

  /** The worker's pid (to signal it, e.g. SIGUSR2 for bench/cpu-prof-preload.ts). */
  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Asks a running paced command to stop issuing records (it still answers once drained). */
  stopPaced(): void {
    if (this.exited === undefined) this.child.send({ kind: 'stop' } satisfies ToLoadWorker);
  }

  /** Disconnects (the worker exits on its own, writing a --cpu-prof profile), SIGKILL after `graceMs`. */
  async close(graceMs = 10_000): Promise<void> {
    if (this.exited !== undefined) return;
    const gone = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    if (this.child.connected) this.child.disconnect();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([gone, new Promise<void>((r) => (timer = setTimeout(r, graceMs)))]);
    clearTimeout(timer);
    if (this.exited === undefined) this.child.kill('SIGKILL');
  }

  private settle(action: (pending: { resolve: (result: unknown) => void; reject: (error: Error) => void }) => void): void {
    const p = this.pending;
    this.pending = undefined;
    if (p !== undefined) action(p);
  }
}
