/**
 * `RaftStorage` on LevelDB (the `level` package): the production persistence of a controller's Raft
 * log, hard state and snapshot. Its simulated twin is `sim/sim-raft-storage.ts`; both pass
 * test/raft/storage-contract.ts.
 *
 * Keys (utf8): `h` the hard state, `s` the snapshot, `e/<index as 16 hex digits>` one entry, so that
 * entries sort by index. Values are the checksummed encodings of `entry-codec.ts`.
 *
 * Invariants (after recovery): stored entries are exactly `snapshotIndex + 1 .. lastIndex`, each key
 * holds a valid entry with that index — except that entries a local snapshot covers are deleted in
 * the background after the snapshot is durable (recovery deletes any it finds). `save` is one chained
 * batch written with `sync: true`: LevelDB applies a batch atomically and fsyncs its write-ahead log
 * before resolving, which is contract item 1. (A chained batch, not `db.batch(array)`: the array form
 * copies and validates every operation and blocks the thread about 2 ms per 200 entries.)
 * Recovery (the first `load`, or the first `save` if it comes first) drops the first corrupt or
 * non-contiguous entry and everything after it — a torn tail — and deletes them. A corrupt hard state
 * or snapshot is not a torn tail (they are overwritten whole, never appended): recovery throws,
 * because silently forgetting a vote or a snapshot could break Raft's safety.
 *
 * Any failed write makes the handle unusable: the in-memory bounds may no longer match the disk, and
 * a failing disk write is fatal to the node (STYLE.md).
 */
import { Level } from 'level';
import { assert } from '../util/assert.js';
import {
  assertValidUpdate,
  decodeEntry,
  decodeHardState,
  decodeSnapshot,
  encodeEntry,
  encodeHardState,
  encodeSnapshot,
} from '../raft/entry-codec.js';
import type { StoredBounds } from '../raft/entry-codec.js';
import type { RaftStorage, StorageUpdate, StoredState } from '../raft/storage.js';
import { NO_NODE } from '../raft/types.js';
import type { Entry, LogIndex, Snapshot } from '../raft/types.js';

type Db = Level<string, Uint8Array>;
type BatchOp = { type: 'put'; key: string; value: Uint8Array } | { type: 'del'; key: string };

const HARD_STATE_KEY = 'h';
const SNAPSHOT_KEY = 's';
const ENTRY_PREFIX = 'e/';
/** Just past every entry key: '0' (0x30) follows '/' (0x2f). */
const ENTRY_KEYS_END = 'e0';
const INDEX_HEX_DIGITS = 16;
const ENTRY_KEY_PATTERN = /^e\/[0-9a-f]{16}$/;

/** The key of the entry at `index`; exported for tests that tamper with the database. */
export function levelEntryKey(index: LogIndex): string {
  return ENTRY_PREFIX + index.toString(16).padStart(INDEX_HEX_DIGITS, '0');
}

export class LevelRaftStorage implements RaftStorage {
  /** Known after recovery; `undefined` before it. */
  private bounds: StoredBounds | undefined;
  private saving = false;
  /** Set by a failed write or by `close`: every later call rejects with it. */
  private unusable: Error | undefined;
  /** Background deletion of entries compacted by a snapshot; `close` waits for it. */
  private clearing: Promise<void> = Promise.resolve();

  private constructor(private readonly db: Db) {}

  /** Opens (creating if needed) the database in directory `dir`. */
  static async open(dir: string): Promise<LevelRaftStorage> {
    const db: Db = new Level<string, Uint8Array>(dir, { keyEncoding: 'utf8', valueEncoding: 'view' });
    await db.open();
    return new LevelRaftStorage(db);
  }

  async load(): Promise<StoredState> {
    this.checkUsable();
    assert(!this.saving, 'load while a save is in flight');
    return this.recover();
  }

  async save(update: StorageUpdate): Promise<void> {
    this.checkUsable();
    assert(!this.saving, 'two saves in flight (storage contract item 2)');
    this.saving = true;
    try {
      if (this.bounds === undefined) await this.recover();
      const before = this.bounds;
      assert(before !== undefined, 'recovery sets the bounds');
      const after = assertValidUpdate(update, before);
      // A local compaction (a snapshot alone) deletes the covered entries after the snapshot is
      // durable, off the critical path: there may be thousands, and they are never read again.
      const compaction = update.snapshot !== undefined && update.discardLog !== true && (update.entries?.length ?? 0) === 0;
      const ops = planBatch(update, before, !compaction);
      if (ops.length === 0) return;
      try {
        const batch = this.db.batch();
        for (const op of ops) {
          if (op.type === 'put') batch.put(op.key, op.value);
          else batch.del(op.key);
        }
        await batch.write({ sync: true });
      } catch (error) {
        this.unusable = new Error(`raft storage write failed: ${String(error)}`, { cause: error });
        throw error;
      }
      this.bounds = after;
      if (compaction && after.snapshotIndex > before.snapshotIndex) {
        this.clearBehind(before.snapshotIndex + 1, Math.min(before.lastIndex, after.snapshotIndex));
      }
    } finally {
      this.saving = false;
    }
  }

  async close(): Promise<void> {
    await this.clearing;
    if (this.unusable === undefined) this.unusable = new Error('raft storage is closed');
    await this.db.close();
  }

  private clearBehind(from: LogIndex, to: LogIndex): void {
    if (from > to) return;
    this.clearing = this.clearing
      .then(() => this.db.clear({ gte: levelEntryKey(from), lte: levelEntryKey(to) }))
      .catch((error: unknown) => {
        this.unusable = new Error(`raft storage compaction failed: ${String(error)}`, { cause: error });
      });
  }

  private checkUsable(): void {
    if (this.unusable !== undefined) throw this.unusable;
  }

  /** Reads everything, drops a torn log tail (and any entry the snapshot covers), sets `bounds`. */
  private async recover(): Promise<StoredState> {
    const [hardStateBytes, snapshotBytes] = await this.db.getMany([HARD_STATE_KEY, SNAPSHOT_KEY]);
    let hardState = { term: 0, vote: NO_NODE };
    if (hardStateBytes !== undefined) {
      const decoded = decodeHardState(hardStateBytes);
      if (decoded === undefined) throw new Error('raft storage: the stored hard state is corrupt');
      hardState = decoded;
    }
    let snapshot: Snapshot | undefined;
    if (snapshotBytes !== undefined) {
      snapshot = decodeSnapshot(snapshotBytes);
      if (snapshot === undefined) throw new Error('raft storage: the stored snapshot is corrupt');
    }
    const snapshotIndex = snapshot?.index ?? 0;

    const entries: Entry[] = [];
    const deletes: BatchOp[] = [];
    let torn = false;
    for await (const [key, value] of this.db.iterator({ gte: ENTRY_PREFIX, lt: ENTRY_KEYS_END })) {
      const index = ENTRY_KEY_PATTERN.test(key) ? Number.parseInt(key.slice(ENTRY_PREFIX.length), 16) : NaN;
      if (!torn && index <= snapshotIndex) {
        // Compacted by the snapshot; only left behind by a crash of an older format or a bug.
        deletes.push({ type: 'del', key });
        continue;
      }
      const entry = torn ? undefined : decodeEntry(value);
      if (entry === undefined || entry.index !== index || index !== snapshotIndex + entries.length + 1) {
        torn = true;
        deletes.push({ type: 'del', key });
        continue;
      }
      entries.push(entry);
    }
    if (deletes.length > 0) await this.db.batch(deletes, { sync: true });
    const lastIndex = snapshotIndex + entries.length;
    this.bounds = { hardState, snapshotIndex, lastIndex };
    return { hardState, snapshot, entries };
  }
}

/**
 * The batch that turns the stored state `before` into the state after `update` (already validated).
 * Without `deleteCovered`, entries the snapshot covers are left for the caller to delete.
 */
function planBatch(update: StorageUpdate, before: StoredBounds, deleteCovered: boolean): BatchOp[] {
  const ops: BatchOp[] = [];
  const deleteRange = (from: LogIndex, to: LogIndex): void => {
    for (let index = from; index <= to; index++) ops.push({ type: 'del', key: levelEntryKey(index) });
  };
  // The stored entries are exactly firstIndex..lastIndex.
  let firstIndex = before.snapshotIndex + 1;
  const lastIndex = before.lastIndex;
  if (update.snapshot !== undefined) {
    const snapshot = update.snapshot;
    ops.push({ type: 'put', key: SNAPSHOT_KEY, value: encodeSnapshot(snapshot) });
    const coveredTo = update.discardLog === true ? lastIndex : Math.min(lastIndex, snapshot.index);
    if (deleteCovered) deleteRange(firstIndex, coveredTo);
    firstIndex = coveredTo + 1;
  }
  const entries = update.entries;
  if (entries !== undefined && entries.length > 0) {
    const newLast = entries[entries.length - 1]!.index;
    // Keys from entries[0].index to newLast are overwritten by the puts; only the rest must go.
    deleteRange(Math.max(firstIndex, newLast + 1), lastIndex);
    for (const entry of entries) ops.push({ type: 'put', key: levelEntryKey(entry.index), value: encodeEntry(entry) });
  }
  if (update.hardState !== undefined) {
    ops.push({ type: 'put', key: HARD_STATE_KEY, value: encodeHardState(update.hardState) });
  }
  return ops;
}
