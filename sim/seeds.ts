/**
 * Which simulation a seed runs: the quorum alone (`raft`), the metadata plane (`metadata`), the data
 * plane with producers and consumers on top (`data`), or `mixed` — the seed modulo 3 picks one.
 */
import { runDataSeed } from './run-data-seed.js';
import { runMetadataSeed } from './run-metadata-seed.js';
import { runSeed, type SeedOptions, type SeedResult } from './run-seed.js';

export type Kind = 'raft' | 'metadata' | 'data' | 'mixed';
export const KINDS: readonly Kind[] = ['raft', 'metadata', 'data', 'mixed'];

/** Runs `seed` as the simulation its kind (and, when mixed, its remainder modulo 3) selects. */
export function runAnySeed(seed: number, kind: Kind, options: SeedOptions = {}): Promise<SeedResult> {
  const chosen = kind === 'mixed' ? (['raft', 'metadata', 'data'] as const)[seed % 3] : kind;
  if (chosen === 'metadata') return runMetadataSeed(seed, options);
  if (chosen === 'data') return runDataSeed(seed, options);
  return runSeed(seed, options);
}
