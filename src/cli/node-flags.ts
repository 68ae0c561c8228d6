/**
 * The V8 flags a node process runs with, as Kafka's start scripts pick the JVM's collector.
 *
 * Default: `--single-threaded-gc`. A node's JavaScript heap stays small (about 12 MB: record data
 * lives in Buffers outside it), but those Buffers are allocated at the data rate, and V8 answers with a
 * full mark-compact every few tens of milliseconds under load. V8's default hands each one to helper
 * threads (concurrent marking and sweeping), which on a small machine compete with the nodes' main
 * threads, each wake-up a context switch; marking 12 MB on the main thread costs less. Figures:
 * docs/benchmarks.md, "Single-threaded GC". The price: a major collection pauses the node for its
 * whole length; a node whose heap grows large may prefer V8's default (`SKEIN_NODE_V8_FLAGS=`).
 *
 * `SKEIN_NODE_V8_FLAGS` (space-separated `--flags`) replaces the default; empty means none.
 * Invariant: every way Skein starts a node (`skein cluster up`, `skein node` by hand — which
 * relaunches itself with the flags, node-relaunch.ts — and the chaos and benchmark harnesses) runs it
 * with `nodeV8Flags()`.
 */
import { UsageError } from './args.js';

export const DEFAULT_NODE_V8_FLAGS: readonly string[] = ['--single-threaded-gc'];
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
