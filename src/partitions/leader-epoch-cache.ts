/**
 * The leader-epoch cache of one partition log (KIP-101, KIP-279): for each leader epoch that has
 * data in the log, the offset of its first batch. Followers truncate by it instead of by their HW
 * (KIP-101), and OffsetsForLeaderEpoch / diverging-epoch answers (KIP-320) are computed from it.
 * Pure and in memory; the segment log persists it as the `leader-epoch-checkpoint` file (`encode`,
 * `decodeLeaderEpochCheckpoint`), in Kafka's text format: a version line `0`, a count line, then one
 * `<epoch> <startOffset>` line per entry.
 *
 * Invariants: entries are sorted with epochs AND start offsets strictly increasing; epochs are int32
 * >= 0, offsets non-negative safe integers. One entry per epoch with data in the retained log, so the
 * size is bounded by the number of leader changes the retained log saw.
 *
 * Semantics follow Kafka's LeaderEpochFileCache:
 * - `assign(epoch, start)` does nothing when `epoch` is the latest epoch and `start` is not below its
 *   start; otherwise it first removes every entry from the end whose epoch >= `epoch` or whose start
 *   >= `start` (they conflict with the new one), then appends.
 * - `endOffsetFor(requested, logEndOffset)`: the largest epoch <= requested and the start offset of
 *   the first epoch above it — or the log end offset when `requested` is the latest epoch. An epoch
 *   below every entry gives (requested, first entry's start); an epoch above every entry (or an empty
 *   cache, or requested = -1) gives (-1, -1): UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET.
 */
import { assert, assertNonNegativeInteger } from '../util/assert.js';

export const UNDEFINED_EPOCH = -1;
export const UNDEFINED_EPOCH_OFFSET = -1;
const INT32_MAX = 0x7fff_ffff;
const CHECKPOINT_VERSION = 0;

export interface EpochEntry {
  readonly epoch: number;
  /** Offset of the first batch written in this epoch. */
  readonly startOffset: number;
}

export interface EpochEndOffset {
  readonly epoch: number;
  readonly endOffset: number;
}

function assertEntry(epoch: number, startOffset: number): void {
  assert(Number.isInteger(epoch) && epoch >= 0 && epoch <= INT32_MAX, `leader epoch must be an int32 >= 0, got ${epoch}`);
  assertNonNegativeInteger(startOffset, 'epoch start offset');
}

export class LeaderEpochCache {
  private list: EpochEntry[] = [];

  /** A cache holding `entries` (which must satisfy the invariants: asserted). */
  constructor(entries: readonly EpochEntry[] = []) {
    for (const entry of entries) {
      assertEntry(entry.epoch, entry.startOffset);
      const last = this.list[this.list.length - 1];
      assert(last === undefined || (entry.epoch > last.epoch && entry.startOffset > last.startOffset), 'epoch entries must strictly increase');
      this.list.push({ epoch: entry.epoch, startOffset: entry.startOffset });
    }
  }

  /** The entries, oldest first (a copy). */
  entries(): EpochEntry[] {
    return [...this.list];
  }

  get size(): number {
    return this.list.length;
  }

  /** The epoch of the newest entry, or `undefined` when empty. */
  get latestEpoch(): number | undefined {
    return this.list[this.list.length - 1]?.epoch;
  }

  get latestEntry(): EpochEntry | undefined {
    return this.list[this.list.length - 1];
  }

  /** Records that `epoch` starts at `startOffset` (see the module header). Returns whether anything changed. */
  assign(epoch: number, startOffset: number): boolean {
    assertEntry(epoch, startOffset);
    const latest = this.latestEntry;
    if (latest !== undefined && latest.epoch === epoch && startOffset >= latest.startOffset) return false;
    while (this.list.length > 0) {
      const last = this.list[this.list.length - 1]!;
      if (last.epoch < epoch && last.startOffset < startOffset) break;
      this.list.pop();
    }
    this.list.push({ epoch, startOffset });
    return true;
  }

  /** Kafka's OffsetsForLeaderEpoch answer for `requestedEpoch` (see the module header). */
  endOffsetFor(requestedEpoch: number, logEndOffset: number): EpochEndOffset {
    if (requestedEpoch === UNDEFINED_EPOCH) return { epoch: UNDEFINED_EPOCH, endOffset: UNDEFINED_EPOCH_OFFSET };
    if (this.latestEpoch === requestedEpoch) return { epoch: requestedEpoch, endOffset: logEndOffset };
    // The first entry with a larger epoch, and the one before it (the largest epoch <= requested).
    const higher = this.list.findIndex((entry) => entry.epoch > requestedEpoch);
    if (higher === -1) return { epoch: UNDEFINED_EPOCH, endOffset: UNDEFINED_EPOCH_OFFSET };
    const next = this.list[higher]!;
    const floor = this.list[higher - 1];
    return { epoch: floor === undefined ? requestedEpoch : floor.epoch, endOffset: next.startOffset };
  }

  /** The epoch of the batch at `offset` as far as the cache knows, or `undefined` below its first entry. */
  epochForOffset(offset: number): number | undefined {
    let epoch: number | undefined;
    for (const entry of this.list) {
      if (entry.startOffset > offset) break;
      epoch = entry.epoch;
    }
    return epoch;
  }

  /** Removes every entry starting at or after `endOffset` (the log was truncated there). Returns whether anything changed. */
  truncateFromEnd(endOffset: number): boolean {
    assertNonNegativeInteger(endOffset, 'endOffset');
    const before = this.list.length;
    while (this.list.length > 0 && this.list[this.list.length - 1]!.startOffset >= endOffset) this.list.pop();
    return this.list.length !== before;
  }

  /**
   * The log now starts at `startOffset`: entries starting at or below it collapse into one, the last of
   * them, moved to start at `startOffset` (so the epoch of the first retained batch stays known).
   */
  truncateFromStart(startOffset: number): boolean {
    assertNonNegativeInteger(startOffset, 'startOffset');
    let covered = 0;
    while (covered < this.list.length && this.list[covered]!.startOffset <= startOffset) covered++;
    if (covered === 0) return false;
    const kept = this.list[covered - 1]!;
    if (covered === 1 && kept.startOffset === startOffset) return false;
    this.list.splice(0, covered, { epoch: kept.epoch, startOffset });
    return true;
  }

  /** Removes every entry. Returns whether anything changed. */
  clear(): boolean {
    const changed = this.list.length > 0;
    this.list = [];
    return changed;
  }

  /** The checkpoint file's bytes. */
  encode(): Uint8Array {
    const lines = [String(CHECKPOINT_VERSION), String(this.list.length), ...this.list.map((e) => `${e.epoch} ${e.startOffset}`)];
    return new TextEncoder().encode(lines.join('\n') + '\n');
  }
}

/**
 * Parses a checkpoint written by `encode`. Returns `undefined` for anything malformed (wrong version,
 * count, syntax, or entries that break the invariants): the caller decides how to rebuild.
 */
export function decodeLeaderEpochCheckpoint(bytes: Uint8Array): EpochEntry[] | undefined {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
  const lines = text.split('\n');
  if (lines[lines.length - 1] !== '') return undefined;
  lines.pop();
  if (lines[0] !== String(CHECKPOINT_VERSION) || lines[1] === undefined || !/^\d+$/.test(lines[1])) return undefined;
  const count = Number(lines[1]);
  if (lines.length !== count + 2) return undefined;
  const entries: EpochEntry[] = [];
  for (const line of lines.slice(2)) {
    const match = /^(\d{1,10}) (\d{1,16})$/.exec(line);
    if (match === null) return undefined;
    const epoch = Number(match[1]);
    const startOffset = Number(match[2]);
    if (epoch > INT32_MAX || !Number.isSafeInteger(startOffset)) return undefined;
    const last = entries[entries.length - 1];
    if (last !== undefined && (epoch <= last.epoch || startOffset <= last.startOffset)) return undefined;
    entries.push({ epoch, startOffset });
  }
  return entries;
}
