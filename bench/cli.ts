/**
 * `npm run bench [-- NAME...] [--quick] [--json] [--repeat N] [--peers DIR] [--transport mesh|relay]`:
 * runs the named benchmarks — by default `cluster`, the suite of issue 7 (a 3-node cluster of real
 * processes: produce, consume, latency, failover, restart recovery, the controller quorum, and this
 * machine's ceilings); also `latency` (the suite's latency run alone, on a fresh cluster), `raft`,
 * `record-batch`, `log` (components alone) and `profile` (one produce run under --cpu-prof,
 * summarised). Without --json it prints a table on stdout; with --json exactly one JSON object on
 * stdout, the figures of every benchmark run. Progress goes to stderr.
 * Exit code 2 on bad arguments, 1 when a benchmark fails.
 */
import { availableParallelism, loadavg } from 'node:os';
import { formatCount, type Bench, type BenchResult } from './bench-result.js';
import { clusterBench } from './cluster.js';
import { latencyBench } from './latency.js';
import { ProgressLine } from './progress.js';
import { logBench } from './log.js';
import { profileBench } from './profile.js';
import { raftBench } from './raft.js';
import { benchRecordBatch } from './record-batch.js';

const BENCHES: ReadonlyMap<string, Bench> = new Map([
  ['cluster', clusterBench],
  ['latency', latencyBench],
  ['raft', raftBench],
  ['record-batch', benchRecordBatch],
  ['log', logBench],
  ['profile', profileBench],
]);
const DEFAULT_BENCHES = ['cluster'];
/** Options that take a value, passed to every benchmark. */
const VALUE_OPTIONS = new Set(['transport', 'repeat', 'peers', 'dir', 'seconds', 'acks']);

interface Args {
  readonly names: string[];
  json: boolean;
  quick: boolean;
  readonly options: Map<string, string>;
}

function usage(problem: string): never {
  console.error(`bench: ${problem}\nusage: npm run bench -- [${[...BENCHES.keys()].join('|')}]... [--quick] [--json] [--repeat N] [--peers DIR] [--transport mesh|relay] [profile: --seconds N --acks all|1 --dir DIR]`);
  process.exit(2);
}

function parseArgs(argv: readonly string[]): Args {
  const args: Args = { names: [], json: false, quick: false, options: new Map() };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--json') args.json = true;
    else if (arg === '--quick') args.quick = true;
    else if (arg.startsWith('--') && VALUE_OPTIONS.has(arg.slice(2))) {
      const value = argv[++i];
      if (value === undefined) usage(`${arg} needs a value`);
      args.options.set(arg.slice(2), value);
    } else if (BENCHES.has(arg)) {
      if (!args.names.includes(arg)) args.names.push(arg);
    } else usage(`unknown argument ${arg}`);
  }
  if (args.names.length === 0) args.names.push(...DEFAULT_BENCHES);
  return args;
}

function printTable(results: ReadonlyArray<readonly [string, BenchResult]>): void {
  const lines: string[][] = [['bench', 'figure', 'value', 'notes']];
  for (const [name, result] of results) for (const row of result.rows) lines.push([name, row.what, row.value, row.note ?? '']);
  const widths = [0, 1, 2].map((c) => Math.max(...lines.map((l) => (l[c] as string).length)));
  for (const l of lines) {
    const [name, what, value, note] = l as [string, string, string, string];
    console.log(`${name.padEnd(widths[0] as number)}  ${what.padEnd(widths[1] as number)}  ${value.padStart(widths[2] as number)}  ${note}`.trimEnd());
  }
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const progress = new ProgressLine();
  const results: Array<[string, BenchResult]> = [];
  const startMs = performance.now();
  // Other work on the machine skews every figure here: say how busy it was.
  const loadAtStart = loadavg()[0] ?? 0;
  for (const name of args.names) {
    const bench = BENCHES.get(name) as Bench;
    try {
      results.push([name, await bench({ progress, options: args.options, quick: args.quick })]);
    } catch (error) {
      progress.clear();
      console.error(`bench ${name} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      process.exitCode = 1;
    }
  }
  progress.clear();
  if (args.json) {
    console.log(JSON.stringify(Object.assign({}, ...results.map(([, r]) => r.figures)) as Record<string, number>));
  } else {
    printTable(results);
    const cores = availableParallelism();
    console.log(
      `bench: ${results.length} of ${args.names.length} benchmarks done in ${formatCount((performance.now() - startMs) / 1000)} s; ` +
        `${cores} cores, 1-min load average ${loadAtStart.toFixed(1)} at start, ${(loadavg()[0] ?? 0).toFixed(1)} at end`,
    );
  }
}

await main();
