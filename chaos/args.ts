/**
 * The command line of `npm run chaos -- [options]`. Pure: parses argv into options or throws a
 * ChaosUsageError (the CLI prints it with the usage and exits 2).
 */
import { FAULT_KINDS, type FaultKind } from './schedule.js';

export const CHAOS_USAGE = `usage: npm run chaos -- [--duration SECONDS] [--seed N] [--faults LIST] [--flush always|os] [--out DIR] [--keep]
  --duration SECONDS  length of the fault phase (default 120; 5..86400)
  --seed N            seeds the fault schedule (default: random; printed so a run can be repeated)
  --faults LIST       comma-separated fault kinds: ${FAULT_KINDS.join(',')} (default: all)
  --flush always|os   the topic's flush policy (default always)
  --out DIR           where to write history.jsonl and summary.txt (default: a new chaos-<seed>-* directory under the OS temp dir)
  --keep              keep the cluster's data directory (node logs and data) instead of removing it
  --check FILE        do not run: check an existing history file and print the verdict
  --help              this text`;

export class ChaosUsageError extends Error {
  override readonly name = 'ChaosUsageError';
}

export interface ChaosOptions {
  readonly durationS: number;
  readonly seed: number;
  readonly faults: readonly FaultKind[];
  readonly flush: 'always' | 'os';
  readonly outDir: string | undefined;
  readonly keep: boolean;
  readonly check: string | undefined;
  readonly help: boolean;
}

function integer(flag: string, text: string | undefined, min: number, max: number): number {
  if (text === undefined || !/^-?\d+$/.test(text)) throw new ChaosUsageError(`${flag} needs an integer, got ${text === undefined ? 'nothing' : JSON.stringify(text)}`);
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new ChaosUsageError(`${flag} must be in [${min}, ${max}], got ${text}`);
  return n;
}

/** `argv` without node and the script. `randomSeed` is used when --seed is absent. */
export function parseChaosArgs(argv: readonly string[], randomSeed: () => number = () => Math.floor(Math.random() * 1_000_000)): ChaosOptions {
  let durationS = 120;
  let seed: number | undefined;
  let faults: FaultKind[] = [...FAULT_KINDS];
  let flush: 'always' | 'os' = 'always';
  let outDir: string | undefined;
  let keep = false;
  let check: string | undefined;
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const eq = arg.indexOf('=');
    const flag = arg.startsWith('--') && eq > 0 ? arg.slice(0, eq) : arg;
    const inline = arg.startsWith('--') && eq > 0 ? arg.slice(eq + 1) : undefined;
    const value = (): string => {
      if (inline !== undefined) return inline;
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('--')) throw new ChaosUsageError(`${flag} needs a value`);
      i++;
      return next;
    };
    switch (flag) {
      case '--duration':
        durationS = integer(flag, value(), 5, 86_400);
        break;
      case '--seed':
        seed = integer(flag, value(), 0, 0xffff_ffff);
        break;
      case '--faults': {
        const list = value()
          .split(',')
          .map((s) => s.trim())
          .filter((s) => s !== '');
        if (list.length === 0) throw new ChaosUsageError('--faults needs at least one kind');
        for (const k of list) if (!(FAULT_KINDS as readonly string[]).includes(k)) throw new ChaosUsageError(`unknown fault kind ${JSON.stringify(k)} (known: ${FAULT_KINDS.join(', ')})`);
        faults = [...new Set(list as FaultKind[])];
        break;
      }
      case '--flush': {
        const f = value();
        if (f !== 'always' && f !== 'os') throw new ChaosUsageError(`--flush must be always or os, got ${JSON.stringify(f)}`);
        flush = f;
        break;
      }
      case '--out':
        outDir = value();
        break;
      case '--keep':
        keep = true;
        break;
      case '--check':
        check = value();
        break;
      case '--help':
      case '-h':
        help = true;
        break;
      default:
        throw new ChaosUsageError(`unknown argument ${JSON.stringify(arg)}`);
    }
  }
  return { durationS, seed: seed ?? randomSeed(), faults, flush, outDir, keep, check, help };
}
