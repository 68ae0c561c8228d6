/**
 * `skein node --config FILE`: one node process for as long as it runs.
 *
 * Contract:
 * - The config is validated first; a bad one exits 2 with the offending field named, touching no data.
 * - The process writes its pid to `<dataDir>/pid` once it serves, and removes it on a clean stop, so
 *   scripts (and `skein cluster up`) can find and signal a node however it was started.
 * - SIGTERM or SIGINT: controlled shutdown (leadership moved away, logs flushed and closed), then exit
 *   0. A second signal exits at once (1). A fatal error inside the node (a failed disk write) stops it
 *   and exits 1.
 * - Lines on stdout: one when listening, one when stopping, one when stopped. Detailed logs are
 *   `debug` namespaces (`DEBUG=skein:* skein node ...`).
 * - A node runs with the node V8 flags (node-flags.ts): started without them, the command runs the
 *   node in a child process that has them (node-relaunch.ts), with the same contract.
 */
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadNodeConfig, NodeConfigError } from '../node/node-config.js';
import { startNode } from '../node/node-process.js';
import { parse, stringOption, UsageError } from './args.js';
import { shown } from './format.js';
import { missingNodeFlags, relaunchWithFlags } from './node-relaunch.js';

export const NODE_USAGE = 'usage: skein node --config FILE';

/** The pid file of a node, inside its data directory. */
export function pidFileOf(dataDir: string): string {
  return join(dataDir, 'pid');
}

export async function nodeCommand(argv: readonly string[]): Promise<number> {
  const missing = missingNodeFlags();
  if (missing.length > 0) return relaunchWithFlags(missing);
  const parsed = parse(argv, { config: { type: 'string' } }, 0);
  const path = stringOption(parsed, 'config');
  if (path === undefined) throw new UsageError('missing --config FILE');
  let fatal = false;
  let node;
  let config;
  try {
    config = await loadNodeConfig(path);
    node = await startNode(config, { onFatal: () => (fatal = true) });
  } catch (e) {
    if (e instanceof NodeConfigError) throw new UsageError(`${path}: ${e.message}`);
    if ((e as NodeJS.ErrnoException).code === 'EADDRINUSE') throw new Error(`${path}: the listen address is in use (${(e as Error).message}); is this node already running?`);
    throw e;
  }
  const pidFile = pidFileOf(config.dataDir);
  await writeFile(pidFile, `${process.pid}\n`);
  const roles = [config.roles.controller ? 'controller' : '', config.roles.broker ? 'broker' : ''].filter((r) => r !== '').join('+');
  console.log(`node ${node.id} listening on ${node.url} (${roles}, cluster ${node.clusterId}, data ${shown(config.dataDir)})`);

  let signals = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    signals++;
    if (signals > 1) {
      console.log(`node ${node.id}: ${signal} again, exiting now`);
      process.exit(1);
    }
    console.log(`node ${node.id}: ${signal}, controlled shutdown`);
    void node.stop();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  await node.stopped;
  await rm(pidFile, { force: true });
  process.off('SIGTERM', onSignal);
  process.off('SIGINT', onSignal);
  console.log(`node ${node.id} stopped${fatal ? ' after a fatal error (see its log)' : ''}`);
  return fatal ? 1 : 0;
}
