/**
 * `npm run bench [-- NAME...] [--json] [--transport mesh|relay]`: runs the named benchmarks (all when
 * none is named: `raft`, `record-batch`, `log`). Without --json it prints a table on stdout; with --json
 * exactly one JSON object on stdout, the figures of every benchmark run. Progress goes to stderr.
 * Exit code 2 on bad arguments, 1 when a benchmark fails.
 */
import { availableParallelism, loadavg } from 'node:os';
import { formatCount, type Bench, type BenchResult } from './bench-result.js';
import { ProgressLine } from './progress.js';
import { logBench } from './log.js';
import { raftBench } from './raft.js';
import { benchRecordBatch } from './record-batch.js';

const BENCHES: ReadonlyMap<string, Bench> = new Map([
  ['raft', raftBench],
  ['record-batch', benchRecordBatch],
  ['log', logBench],
]);
/** Options that take a value, passed to every benchmark. */
const VALUE_OPTIONS = new Set(['transport']);

interface Args {
  readonly names: string[];
  json: boolean;
  readonly options: Map<string, string>;
}

function usage(problem: string): never {
  console.error(`bench: ${problem}\nusage: npm run bench -- [${[...BENCHES.keys()].join('|')}]... [--json] [--transport mesh|relay]`);
  process.exit(2);
}

function parseArgs(argv: readonly string[]): Args {
  const args: Args = { names: [], json: false, options: new Map() };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--json') args.json = true;
    else if (arg.startsWith('--') && VALUE_OPTIONS.has(arg.slice(2))) {
      const value = argv[++i];
      if (value === undefined) usage(`${arg} needs a value`);
      args.options.set(arg.slice(2), value);
    } else if (BENCHES.has(arg)) {
      if (!args.names.includes(arg)) args.names.push(arg);
    } else usage(`unknown argument ${arg}`);
  }
  if (args.names.length === 0) args.names.push(...BENCHES.keys());
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
      results.push([name, await bench({ progress, options: args.options })]);
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
