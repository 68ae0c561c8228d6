/**
 * `npm run chaos -- [--duration SECONDS] [--seed N] [--faults LIST] ...`: one chaos run (run.ts) with
 * progress lines, the summary, and the last line `chaos: F faults, A acknowledged, L lost,
 * D duplicates, X anomalies`. Exit codes: 0 no anomaly, 1 anomalies (or the run failed), 2 bad
 * arguments, 130 interrupted. Ctrl-C (SIGINT) or SIGTERM stops every node process and removes the
 * cluster directory before exiting; a process 'exit' hook SIGKILLs anything still running.
 *
 * `--check FILE` checks a saved history instead of running a cluster.
 */
import { CHAOS_USAGE, ChaosUsageError, parseChaosArgs, type ChaosOptions } from './args.js';
import { checkHistory } from './check.js';
import { History } from './history.js';
import { ChaosRun } from './run.js';
import { lastLine } from './summary.js';

async function main(argv: readonly string[]): Promise<number> {
  let options: ChaosOptions;
  try {
    options = parseChaosArgs(argv);
  } catch (e) {
    if (e instanceof ChaosUsageError) {
      console.error(`chaos: ${e.message}\n${CHAOS_USAGE}`);
      return 2;
    }
    throw e;
  }
  if (options.help) {
    console.log(CHAOS_USAGE);
    return 0;
  }
  if (options.check !== undefined) {
    const result = checkHistory(History.read(options.check));
    for (const v of result.violations.slice(0, 50)) console.log(`  ${v}`);
    console.log(lastLine(result));
    return result.violations.length > 0 || result.lost > 0 || result.duplicates > 0 ? 1 : 0;
  }

  const run = new ChaosRun(options, (line) => console.log(line));
  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (interrupted) return;
    interrupted = true;
    console.log(`chaos: ${signal}: stopping every node and removing the cluster directory`);
    void run.abort().finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('exit', () => run.killAllSync());
  try {
    const result = await run.run();
    console.log(result.summary);
    return result.exitCode;
  } catch (e) {
    if (interrupted) return 130;
    console.error(`chaos: the run failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    await run.abort().catch(() => {});
    console.log('chaos: 0 faults, 0 acknowledged, 0 lost, 0 duplicates, 1 anomalies');
    return 1;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
