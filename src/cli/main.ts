/**
 * The `skein` command. It prints to the console (the only part of src/ that may) and exits non-zero
 * with a clear message on any error. Commands that need the node process and the network layer are
 * listed but answer that they are not built yet, so scripts fail loudly instead of silently.
 */
import { readFileSync } from 'node:fs';

const HELP = `skein — a Kafka-style replicated log

usage: skein <command> [options]

available now:
  version                 print the version
  help                    this text

planned (DESIGN.md §7; not built yet):
  node --config FILE      run one node
  cluster up|info|quorum  a local cluster and its state
  topic ...               create, list, describe, delete, produce, consume
  group ...               consumer groups

The controller quorum and its simulator are built: see README.md (npm run sim, npm run bench -- raft).`;

const PLANNED = new Set(['node', 'cluster', 'topic', 'group']);

export function main(argv: readonly string[]): number {
  const [command] = argv;
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    console.log(HELP);
    return 0;
  }
  if (command === 'version' || command === '--version') {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
    console.log(pkg.version);
    return 0;
  }
  if (PLANNED.has(command)) {
    console.error(`skein: '${command}' is not built yet (it needs the node process and the network layer). See README.md for what works today.`);
    return 1;
  }
  console.error(`skein: unknown command '${command}'. Run 'skein help'.`);
  return 2;
}
