/**
 * Which simulation a seed runs: the quorum alone (`raft`), the metadata plane (`metadata`), the data
 * plane with producers and consumers on top (`data`), a compacted topic under faults (`compaction`),
 * consumer groups under coordinator and member faults (`groups`), or `mixed` — the seed modulo 3 picks one of the first three.
 */
import { runCompactionSeed } from './run-compaction-seed.js';
import { runDataSeed } from './run-data-seed.js';
import { runGroupsSeed } from './run-groups-seed.js';
import { runMetadataSeed } from './run-metadata-seed.js';
import { runSeed, type SeedOptions, type SeedResult } from './run-seed.js';

export type Kind = 'raft' | 'metadata' | 'data' | 'compaction' | 'groups' | 'mixed';
export const KINDS: readonly Kind[] = ['raft', 'metadata', 'data', 'compaction', 'groups', 'mixed'];

/** Runs `seed` as the simulation its kind (and, when mixed, its remainder modulo 3) selects. */
export function runAnySeed(seed: number, kind: Kind, options: SeedOptions = {}): Promise<SeedResult> {
  const chosen = kind === 'mixed' ? (['raft', 'metadata', 'data'] as const)[seed % 3] : kind;
  if (chosen === 'metadata') return runMetadataSeed(seed, options);
  if (chosen === 'data') return runDataSeed(seed, options);
  if (chosen === 'compaction') return runCompactionSeed(seed, options);
  if (chosen === 'groups') return runGroupsSeed(seed, options);
  return runSeed(seed, options);
}
