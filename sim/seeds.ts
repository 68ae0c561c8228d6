/** Which simulation a seed runs: the quorum alone, the metadata plane, or (mixed) by the seed's parity. */
import { runMetadataSeed } from './run-metadata-seed.js';
import { runSeed, type SeedOptions, type SeedResult } from './run-seed.js';

export type Kind = 'raft' | 'metadata' | 'mixed';

/** Runs `seed` as the simulation its kind (and, when mixed, its parity: odd = metadata) selects. */
export function runAnySeed(seed: number, kind: Kind, options: SeedOptions = {}): Promise<SeedResult> {
  const metadata = kind === 'metadata' || (kind === 'mixed' && seed % 2 === 1);
  return metadata ? runMetadataSeed(seed, options) : runSeed(seed, options);
}
