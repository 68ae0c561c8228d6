/**
 * What every named benchmark returns to bench/cli.ts: machine-readable figures (merged into the one
 * JSON object of `--json`) and human-readable rows for the table.
 */
import type { ProgressLine } from './progress.js';

export interface BenchRow {
  readonly what: string;
  readonly value: string;
  readonly note?: string;
}

export interface BenchResult {
  /** Keys are stable names with their unit last (`raft_commits_per_s`); values are plain numbers. */
  readonly figures: Readonly<Record<string, number>>;
  readonly rows: readonly BenchRow[];
}

export interface BenchContext {
  readonly progress: ProgressLine;
  /** Benchmark-specific options from the command line (`--transport relay`), as given. */
  readonly options: ReadonlyMap<string, string>;
  /** `--quick`: shorter runs and less data (the cluster benchmark finishes within 3 minutes). */
  readonly quick: boolean;
}

export type Bench = (context: BenchContext) => Promise<BenchResult>;

/** 24380 -> "24,380". */
export function formatCount(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}
