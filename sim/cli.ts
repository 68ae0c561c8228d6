/**
 * `npm run sim -- --seeds N [--start S] [--kind raft|metadata|data|compaction|groups|mixed]` runs N seeds;
 * `npm run sim -- --seed S` replays one seed and prints its trace. The last line is always
 * `sim: <N> seeds, <V> violations`; the exit code is 1 when V > 0. Each failing seed prints how to
 * replay it.
 *
 * Kinds (sim/seeds.ts): `raft` runs the quorum alone; `metadata` runs controllers and brokers;
 * `data` adds partition replicas, producers and consumers; `groups` adds consumer groups (members
 * that crash and pause, the coordinator crashed on purpose); `mixed` (the default) picks by seed % 3.
 */
import { execSync } from 'node:child_process';
import type { SeedResult } from './run-seed.js';
import { KINDS, runAnySeed, type Kind } from './seeds.js';

interface Args {
  seeds: number;
  start: number;
  seed: number | undefined;
  quiet: boolean;
  kind: Kind;
}


function parseArgs(argv: readonly string[]): Args {
  const args: Args = { seeds: 20, start: Date.now() % 1_000_000_000, seed: undefined, quiet: false, kind: 'mixed' };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = (): number => {
      const v = Number(argv[++i]);
      if (!Number.isSafeInteger(v) || v < 0) usage(`${flag} needs a non-negative integer`);
      return v;
    };
    if (flag === '--seeds') args.seeds = value();
    else if (flag === '--start') args.start = value();
    else if (flag === '--seed') args.seed = value();
    else if (flag === '--quiet') args.quiet = true;
    else if (flag === '--kind') {
      const kind = argv[++i] as Kind;
      if (!KINDS.includes(kind)) usage(`--kind takes ${KINDS.join(', ')}`);
      args.kind = kind;
    }
    else usage(`unknown argument ${flag}`);
  }
  return args;
}

function usage(problem: string): never {
  console.error(`sim: ${problem}\nusage: npm run sim -- [--seeds N] [--start S] [--kind raft|metadata|data|compaction|groups|mixed] [--quiet] | --seed S [--kind K]`);
  process.exit(2);
}

function commit(): string {
  try {
    return execSync('git rev-parse --short HEAD', { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  } catch {
    return 'unknown';
  }
}

function summary(r: SeedResult): string {
  const faults = [...r.faults].map(([k, n]) => `${k}:${n}`).join(' ');
  return `seed ${r.seed}: ${r.shape}; ${r.events} events, ${(r.virtualMs / 1000).toFixed(1)} s simulated, ${r.committed} entries committed; faults ${faults || 'none'}`;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (args.seed !== undefined) {
    const r = await runAnySeed(args.seed, args.kind, { trace: true });
    for (const line of r.trace) console.log(line);
    console.log(summary(r));
    for (const v of r.violations) console.log(`VIOLATION ${v}`);
    console.log(`sim: 1 seeds, ${r.violations.length} violations`);
    process.exitCode = r.violations.length > 0 ? 1 : 0;
    return;
  }
  const wallStart = performance.now();
  let violations = 0;
  let simulatedMs = 0;
  for (let i = 0; i < args.seeds; i++) {
    const seed = args.start + i;
    const r = await runAnySeed(seed, args.kind);
    simulatedMs += r.virtualMs;
    if (r.violations.length > 0) {
      violations += r.violations.length;
      console.log(`FAIL ${summary(r)}`);
      for (const v of r.violations.slice(0, 10)) console.log(`  ${v}`);
      const kind = args.kind === 'mixed' ? '' : ` --kind ${args.kind}`;
      console.log(`  reproduce with seed=${seed} (commit ${commit()}): npm run sim -- --seed ${seed}${kind}`);
    } else if (!args.quiet) {
      console.log(`ok   ${summary(r)}`);
    }
  }
  const wallS = (performance.now() - wallStart) / 1000;
  console.log(`${(simulatedMs / 1000).toFixed(0)} simulated seconds in ${wallS.toFixed(1)} wall seconds (${(simulatedMs / 1000 / wallS).toFixed(0)}x)`);
  console.log(`sim: ${args.seeds} seeds, ${violations} violations`);
  process.exitCode = violations > 0 ? 1 : 0;
}

await main();
