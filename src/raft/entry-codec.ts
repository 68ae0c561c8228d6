/**
 * The stored byte format of the Raft log, shared by the LevelDB adapter and its simulated twin, plus
 * the validation both apply to a `StorageUpdate` before writing it (so the two cannot drift apart).
 *
 * Layouts (big-endian; every u64 holds a safe integer, written as two u32):
 *   entry      crc32c u32 | term u64 | index u64 | type u8 | data...
 *   hard state crc32c u32 | term u64 | vote u64 | flags u8 (bit 0: recovering)
 *   snapshot   crc32c u32 | index u64 | term u64 | data...
 * The CRC-32C covers every byte after itself. Decoders return `undefined` for anything that is too
 * short, fails its checksum or holds an impossible value: that is a torn or corrupted record, which
 * the caller handles (Raft storage drops a torn log tail; DESIGN.md §3).
 *
 * Ownership: encoders return a fresh buffer. Decoded `data` is a plain `Uint8Array` view into the
 * given bytes (no copy): the caller must not mutate those bytes afterwards.
 */
import { crc32c } from '../util/crc32c.js';
import { assert, assertNonNegativeInteger } from '../util/assert.js';
import { EntryType, NO_NODE } from './types.js';
import type { Entry, HardState, LogIndex, Snapshot } from './types.js';
import type { StorageUpdate } from './storage.js';

const CRC_BYTES = 4;
/** crc | term | index | type */
export const ENTRY_HEADER_BYTES = CRC_BYTES + 8 + 8 + 1;
/** crc | term | vote | flags */
export const HARD_STATE_BYTES = CRC_BYTES + 8 + 8 + 1;
const HARD_STATE_RECOVERING = 1;
/** crc | index | term */
export const SNAPSHOT_HEADER_BYTES = CRC_BYTES + 8 + 8;

const TWO_POW_32 = 0x1_0000_0000;

function setU64(view: DataView, offset: number, value: number, what: string): void {
  assertNonNegativeInteger(value, what);
  view.setUint32(offset, Math.floor(value / TWO_POW_32));
  view.setUint32(offset + 4, value >>> 0);
}

/** The u64 at `offset`, or `undefined` when it is not a safe integer (only corruption produces one). */
function getU64(view: DataView, offset: number): number | undefined {
  const value = view.getUint32(offset) * TWO_POW_32 + view.getUint32(offset + 4);
  return Number.isSafeInteger(value) ? value : undefined;
}

function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function sealCrc(bytes: Uint8Array): Uint8Array {
  viewOf(bytes).setUint32(0, crc32c(bytes.subarray(CRC_BYTES)));
  return bytes;
}

function crcMatches(bytes: Uint8Array, view: DataView): boolean {
  return view.getUint32(0) === crc32c(bytes.subarray(CRC_BYTES));
}

/** A plain Uint8Array view of `bytes` from `start` on (also when `bytes` is a Node.js Buffer). */
function tailView(bytes: Uint8Array, start: number): Uint8Array {
  return new Uint8Array(bytes.buffer, bytes.byteOffset + start, bytes.byteLength - start);
}

function isEntryType(value: number): value is EntryType {
  return value === EntryType.Command || value === EntryType.LeaderChange;
}

export function encodeEntry(entry: Entry): Uint8Array {
  assert(entry.index >= 1, `entry index must be >= 1, got ${entry.index}`);
  assert(isEntryType(entry.type), `unknown entry type ${entry.type}`);
  const bytes = new Uint8Array(ENTRY_HEADER_BYTES + entry.data.length);
  const view = viewOf(bytes);
  setU64(view, 4, entry.term, 'entry term');
  setU64(view, 12, entry.index, 'entry index');
  view.setUint8(20, entry.type);
  bytes.set(entry.data, ENTRY_HEADER_BYTES);
  return sealCrc(bytes);
}

/** The entry in `bytes`, or `undefined` when they are torn or corrupt. */
export function decodeEntry(bytes: Uint8Array): Entry | undefined {
  if (bytes.length < ENTRY_HEADER_BYTES) return undefined;
  const view = viewOf(bytes);
  if (!crcMatches(bytes, view)) return undefined;
  const term = getU64(view, 4);
  const index = getU64(view, 12);
  const type = view.getUint8(20);
  if (term === undefined || index === undefined || index < 1 || !isEntryType(type)) return undefined;
  return { term, index, type, data: tailView(bytes, ENTRY_HEADER_BYTES) };
}

export function encodeHardState(hardState: HardState): Uint8Array {
  const bytes = new Uint8Array(HARD_STATE_BYTES);
  const view = viewOf(bytes);
  setU64(view, 4, hardState.term, 'hard state term');
  setU64(view, 12, hardState.vote, 'hard state vote');
  view.setUint8(20, hardState.recovering === true ? HARD_STATE_RECOVERING : 0);
  return sealCrc(bytes);
}

/** The hard state in `bytes`, or `undefined` when they are torn or corrupt. */
export function decodeHardState(bytes: Uint8Array): HardState | undefined {
  if (bytes.length !== HARD_STATE_BYTES) return undefined;
  const view = viewOf(bytes);
  if (!crcMatches(bytes, view)) return undefined;
  const term = getU64(view, 4);
  const vote = getU64(view, 12);
  const flags = view.getUint8(20);
  if (term === undefined || vote === undefined || (flags & ~HARD_STATE_RECOVERING) !== 0) return undefined;
  return flags & HARD_STATE_RECOVERING ? { term, vote, recovering: true } : { term, vote };
}

export function encodeSnapshot(snapshot: Snapshot): Uint8Array {
  const bytes = new Uint8Array(SNAPSHOT_HEADER_BYTES + snapshot.data.length);
  const view = viewOf(bytes);
  setU64(view, 4, snapshot.index, 'snapshot index');
  setU64(view, 12, snapshot.term, 'snapshot term');
  bytes.set(snapshot.data, SNAPSHOT_HEADER_BYTES);
  return sealCrc(bytes);
}

/** The snapshot in `bytes`, or `undefined` when they are torn or corrupt. */
export function decodeSnapshot(bytes: Uint8Array): Snapshot | undefined {
  if (bytes.length < SNAPSHOT_HEADER_BYTES) return undefined;
  const view = viewOf(bytes);
  if (!crcMatches(bytes, view)) return undefined;
  const index = getU64(view, 4);
  const term = getU64(view, 12);
  if (index === undefined || term === undefined) return undefined;
  return { index, term, data: tailView(bytes, SNAPSHOT_HEADER_BYTES) };
}

/** What a storage knows about its durable state, enough to validate the next update. */
export interface StoredBounds {
  readonly hardState: HardState;
  /** 0 without a snapshot. */
  readonly snapshotIndex: LogIndex;
  /** The last stored entry's index, or `snapshotIndex` when no entry is stored. */
  readonly lastIndex: LogIndex;
}

/**
 * Asserts that `update` is one a correct Raft node can ask for, given what is stored (the
 * `storage.ts` contract plus Raft's durable-state rules). A failure is a programmer error in the
 * caller; nothing has been written. Returns the bounds after the update.
 *
 * - Hard state: the term never decreases, and a vote cast in a term never changes (Raft §5.2).
 * - Snapshot: never older than the stored one; `discardLog` only together with a snapshot.
 * - Entries: contiguous, terms non-decreasing, all above the snapshot index (after this update's
 *   snapshot), and the first at most one past the last stored index — no gaps (contract item 3).
 */
export function assertValidUpdate(update: StorageUpdate, stored: StoredBounds): StoredBounds {
  let { hardState, snapshotIndex, lastIndex } = stored;
  if (update.hardState !== undefined) {
    const next = update.hardState;
    assertNonNegativeInteger(next.term, 'hard state term');
    assertNonNegativeInteger(next.vote, 'hard state vote');
    assert(next.term >= hardState.term, `hard state term went back from ${hardState.term} to ${next.term}`);
    assert(
      next.term > hardState.term || hardState.vote === NO_NODE || next.vote === hardState.vote,
      `vote in term ${next.term} changed from ${hardState.vote} to ${next.vote}`,
    );
    hardState = next;
  }
  if (update.snapshot !== undefined) {
    const snapshot = update.snapshot;
    assertNonNegativeInteger(snapshot.index, 'snapshot index');
    assertNonNegativeInteger(snapshot.term, 'snapshot term');
    assert(snapshot.index >= snapshotIndex, `snapshot at ${snapshot.index} is older than the stored one at ${snapshotIndex}`);
    lastIndex = update.discardLog === true ? snapshot.index : Math.max(lastIndex, snapshot.index);
    snapshotIndex = snapshot.index;
  } else {
    assert(update.discardLog !== true, 'discardLog needs a snapshot');
  }
  const entries = update.entries;
  if (entries !== undefined && entries.length > 0) {
    const first = entries[0]!;
    assertNonNegativeInteger(first.index, 'entry index');
    assert(first.index > snapshotIndex, `entry ${first.index} is covered by the snapshot at ${snapshotIndex}`);
    assert(first.index <= lastIndex + 1, `entry ${first.index} leaves a gap after the last stored index ${lastIndex}`);
    let previous: Entry | undefined;
    for (const entry of entries) {
      assertNonNegativeInteger(entry.term, 'entry term');
      if (previous !== undefined) {
        assert(entry.index === previous.index + 1, `entries not contiguous: ${previous.index} then ${entry.index}`);
        assert(entry.term >= previous.term, `entry terms go back: ${previous.term} then ${entry.term} at ${entry.index}`);
      }
      previous = entry;
    }
    lastIndex = previous!.index;
  }
  return { hardState, snapshotIndex, lastIndex };
}
