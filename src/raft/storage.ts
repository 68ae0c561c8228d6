/**
 * The persistence port of a Raft node. Two implementations share one contract suite
 * (test/raft/storage-contract.ts): LevelDB (`src/node/level-raft-storage.ts`) for production and an in-memory twin
 * (`sim/sim-raft-storage.ts`) that can lose unsynced writes and tear the last one on a simulated crash.
 *
 * Contract:
 * 1. `save` is atomic and durable when its promise resolves: after a crash, `load` returns either the
 *    state before the update or after it — except that a torn write may leave a prefix of the update's
 *    entries, with the last one corrupt; `load` detects the corruption by checksum and drops it and
 *    everything after it. Nothing that any resolved `save` wrote is ever lost.
 * 2. Updates apply in call order; the caller never has two `save`s in flight (the node loop is serial).
 * 3. `entries` replace the stored log from `entries[0].index` on: stored entries at that index and
 *    above are deleted first. Entries are contiguous.
 * 4. `snapshot` replaces the stored snapshot. With `snapshot` the stored entries at or below its index
 *    are deleted; with `discardLog` every stored entry is deleted (a follower installing a leader's
 *    snapshot that its log does not match).
 * 5. The storage never mutates the arrays it is given or returns.
 */
import type { Entry, HardState, Snapshot } from './types.js';

export interface StorageUpdate {
  readonly hardState?: HardState;
  readonly snapshot?: Snapshot;
  /** With `snapshot`: delete every stored entry, not only those the snapshot covers. */
  readonly discardLog?: boolean;
  readonly entries?: readonly Entry[];
}

export interface StoredState {
  /** `{ term: 0, vote: NO_NODE }` on first start. */
  readonly hardState: HardState;
  readonly snapshot: Snapshot | undefined;
  /** Contiguous, starting right after the snapshot's index (or at 1 without a snapshot). */
  readonly entries: readonly Entry[];
}

export interface RaftStorage {
  load(): Promise<StoredState>;
  save(update: StorageUpdate): Promise<void>;
  close(): Promise<void>;
}
