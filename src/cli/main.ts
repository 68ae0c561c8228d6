/**
 * The `skein` command (DESIGN.md §7). It prints to the console (the only part of src/ that may).
 * Exit codes: 0 success, 1 a failure (the error printed on stderr), 2 bad usage (the message and the
 * command's usage on stderr). Nothing is changed in the cluster when the input is rejected.
 */
import { readFileSync } from 'node:fs';
import { UsageError } from './args.js';
import { CLUSTER_UP_USAGE, clusterUp } from './cluster-up.js';
import { CLIENT_COMMANDS, CLIENT_USAGE } from './client-commands.js';
import { NODE_USAGE, nodeCommand } from './node-command.js';

const HELP = `skein — a Kafka-style replicated log

usage: skein <command> [options]

servers:
  ${NODE_USAGE.replace('usage: skein ', '')}
      run one node (controller, broker or both, as its config says)
  ${CLUSTER_UP_USAGE.replace('usage: skein ', '')}
      a local cluster of node processes (what npm start runs)

clients (every one takes --brokers ws://host:port,... or SKEIN_BROKERS; default the local cluster):
${CLIENT_USAGE}

  version                 print the version
  help                    this text`;

type Command = (argv: readonly string[]) => Promise<number>;

const COMMANDS: ReadonlyMap<string, { readonly run: Command; readonly usage: string }> = new Map([
  ['node', { run: nodeCommand, usage: NODE_USAGE }],
  ['cluster up', { run: clusterUp, usage: CLUSTER_UP_USAGE }],
  ...CLIENT_COMMANDS,
]);

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

export async function main(argv: readonly string[]): Promise<number> {
  const [first, second] = argv;
  if (first === undefined || first === 'help' || first === '--help' || first === '-h') {
    console.log(HELP);
    return 0;
  }
  if (first === 'version' || first === '--version') {
    console.log(version());
    return 0;
  }
  const two = second === undefined ? undefined : `${first} ${second}`;
  const name = two !== undefined && COMMANDS.has(two) ? two : first;
  const command = COMMANDS.get(name);
  if (command === undefined) {
    console.error(`skein: unknown command '${two ?? first}'. Run 'skein help'.`);
    return 2;
  }
  const rest = argv.slice(name.split(' ').length);
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(command.usage);
    return 0;
  }
  try {
    return await command.run(rest);
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`skein ${name}: ${e.message}\n${command.usage}`);
      return 2;
    }
    console.error(`skein ${name}: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  }
}
