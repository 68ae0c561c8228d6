/**
 * The messages between the Raft benchmark's main thread (bench/raft.ts) and its node workers
 * (bench/raft-worker.ts). Everything here crosses a thread boundary by structured clone, so it is
 * plain data; Raft `Message`s travel as they are (their entry data are Uint8Arrays, cloned by copy).
 *
 * Each command from the main thread gets exactly one reply of the matching kind ('status' -> 'status',
 * 'load' -> 'load-done', 'stop' -> 'stopped'); 'progress', 'fatal' and 'raft' arrive unasked.
 */
import type { MessagePort } from 'node:worker_threads';
import type { RaftStatus } from '../src/raft/raft-core.js';
import type { Message, NodeId } from '../src/raft/types.js';

/**
 * How Raft messages travel between the workers: `mesh` — one MessageChannel per pair of workers, worker
 * to worker; `relay` — each worker posts to the main thread, which forwards to the addressee.
 */
export type TransportMode = 'mesh' | 'relay';

export interface WorkerInit {
  readonly id: NodeId;
  readonly voters: readonly NodeId[];
  /** LevelDB directory of this node; the main thread creates and removes it. */
  readonly dir: string;
  readonly tickMs: number;
  readonly mode: TransportMode;
  /** `mesh` only: a port to each peer (transferred to the worker). */
  readonly ports: ReadonlyArray<{ readonly peer: NodeId; readonly port: MessagePort }>;
}

export interface LoadCommand {
  readonly kind: 'load';
  /** Proposals outstanding at any time; each client proposes, awaits the commit, repeats. */
  readonly inflight: number;
  readonly durationMs: number;
  readonly payloadBytes: number;
}

export type ToWorker =
  | { readonly kind: 'status' }
  | LoadCommand
  | { readonly kind: 'stop' }
  | { readonly kind: 'raft'; readonly message: Message };

export interface LoadResult {
  readonly committed: number;
  /** From the first proposal until the last client finished (its last proposal committed). */
  readonly elapsedMs: number;
  /** Failed proposals by error code (e.g. NOT_LEADER when leadership moved mid-run). */
  readonly errors: Readonly<Record<string, number>>;
  /** Propose-to-commit latency percentiles over every committed proposal, ms. */
  readonly latencyMsP50: number;
  readonly latencyMsP99: number;
}

export type FromWorker =
  | { readonly kind: 'status'; readonly status: RaftStatus }
  | { readonly kind: 'progress'; readonly committed: number; readonly elapsedMs: number }
  | { readonly kind: 'load-done'; readonly result: LoadResult }
  | { readonly kind: 'stopped' }
  | { readonly kind: 'fatal'; readonly error: string }
  | { readonly kind: 'raft'; readonly message: Message };
