/**
 * The V8 flags a node process runs with, as Kafka's start scripts pick the JVM's collector.
 *
 * Default: `--single-threaded-gc --no-incremental-marking`. A node's JavaScript heap stays small
 * (about 12 MB: record data lives in Buffers outside it), but those Buffers are allocated at the data
 * rate, and how V8 answers that decides a good part of a node's CPU (figures: docs/benchmarks.md,
 * "Single-threaded GC" and "No incremental marking"):
 * - With incremental marking (V8's default), each 64 MB of new Buffers starts a mark-compact: marking
 *   in steps while the node runs, about every 100 ms under a produce load, each cycle 15–30 ms of
 *   steps. Without it, the same pressure is answered by scavenges (about 1 ms; most Buffers die
 *   young), and a full mark-compact comes about every 600 ms, 20–40 ms in one pause.
 * - V8's default hands marking and sweeping to helper threads, which on a small machine compete with
 *   the nodes' main threads, each wake-up a context switch; marking 12 MB on the main thread costs
 *   less.
 * The price: a major collection pauses the node for its whole length, 20–40 ms at 12 MB. A node whose
 * heap grows large (many thousands of partitions) may prefer V8's default (`SKEIN_NODE_V8_FLAGS=`).
 *
 * `SKEIN_NODE_V8_FLAGS` (space-separated `--flags`) replaces the default; empty means none.
 * Invariant: every way Skein starts a node (`skein cluster up`, `skein node` by hand — which
 * relaunches itself with the flags, node-relaunch.ts — and the chaos and benchmark harnesses) runs it
 * with `nodeV8Flags()`.
 */
import { UsageError } from './args.js';

export const DEFAULT_NODE_V8_FLAGS: readonly string[] = ['--single-threaded-gc', '--no-incremental-marking'];
export const NODE_V8_FLAGS_ENV = 'SKEIN_NODE_V8_FLAGS';

/** The flags for node processes; throws UsageError for an override that is not a list of `--flags`. */
export function nodeV8Flags(env: NodeJS.ProcessEnv = process.env): readonly string[] {
  const override = env[NODE_V8_FLAGS_ENV];
  if (override === undefined) return DEFAULT_NODE_V8_FLAGS;
  const flags = override.split(/\s+/).filter((f) => f !== '');
  const bad = flags.find((f) => !/^--[a-z0-9][a-z0-9_-]*(=\S+)?$/i.test(f));
  if (bad !== undefined) throw new UsageError(`${NODE_V8_FLAGS_ENV}: '${bad}' is not a --flag (give space-separated V8 flags such as --single-threaded-gc, or nothing)`);
  return flags;
}

/** The arguments after the Node.js executable that start a node: the flags, the skein script, `node --config FILE`. */
export function nodeProcessArgs(skeinScript: string, configPath: string, env: NodeJS.ProcessEnv = process.env): string[] {
  return [...nodeV8Flags(env), skeinScript, 'node', '--config', configPath];
}
