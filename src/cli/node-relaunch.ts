/**
 * `skein node` started without the node V8 flags (node-flags.ts) — by hand, `npx skein node --config
 * FILE` — runs the node in a child Node.js process that has them, and stays as a thin parent.
 *
 * Contract (the parent):
 * - The child is the node: it writes the pid file, so `kill` / `kill -9` of that pid reach the node.
 * - The child has its own process group, so a Ctrl-C in the terminal reaches only the parent, which
 *   passes each SIGINT / SIGTERM it gets on once: the first asks for a controlled shutdown, a second
 *   exits at once, exactly as for a node started with the flags.
 * - The parent exits with the child's exit code, or 128 + the signal's number if a signal ended it.
 * - The child runs with SKEIN_NODE_RELAUNCHED=1 and never relaunches again.
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { nodeV8Flags } from './node-flags.js';

const RELAUNCHED_ENV = 'SKEIN_NODE_RELAUNCHED';

/** The flags this process lacks, or none when it has them all (or is already a relaunched child). */
export function missingNodeFlags(execArgv: readonly string[] = process.execArgv, env: NodeJS.ProcessEnv = process.env): readonly string[] {
  if (env[RELAUNCHED_ENV] === '1') return [];
  return nodeV8Flags(env).filter((f) => !execArgv.includes(f));
}

/** Runs this same command in a child with `flags` added; resolves with the exit code to return. */
export function relaunchWithFlags(flags: readonly string[]): Promise<number> {
  const script = process.argv[1] as string;
  const child = spawn(process.execPath, [...process.execArgv, ...flags, script, ...process.argv.slice(2)], {
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, [RELAUNCHED_ENV]: '1' },
    detached: true,
  });
  const forward = (signal: NodeJS.Signals): void => {
    child.kill(signal);
  };
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  return new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      process.off('SIGINT', forward);
      process.off('SIGTERM', forward);
      resolve(code ?? 128 + (signal === null ? 0 : constants.signals[signal]));
    });
  });
}
