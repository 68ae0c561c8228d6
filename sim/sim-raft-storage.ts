/**
 * The simulated twin of `src/node/level-raft-storage.ts`: a controller machine's disk for the Raft log.
 *
 * A `SimDisk` is the machine's disk and outlives process crashes; `disk.open()` hands one process
 * incarnation a `RaftStorage`. The disk holds the ENCODED bytes of `entry-codec.ts` (key space as in
 * LevelDB: hard state, snapshot, one record per entry index), so a torn write really corrupts bytes
 * and `load` must find it by checksum, exactly as the LevelDB adapter does.
 *
 * Time and chance come only from the injected `Clock` and `Random`: every `save` and `load` completes
 * after a latency drawn from `writeLatencyMs` on the virtual clock, so a seed replays bit for bit.
 *
 * Faults:
 * - `crash({ tornWrite })`: the live handle dies. Its pending promise never settles; later calls on
 *   it reject. An in-flight save is lost, or with `tornWrite` a random non-empty prefix of its entries
 *   is written (the deletions of the entries they replace included), the last one with a flipped bit;
 *   its hard state is not written. An update that carries a snapshot is lost whole even with
 *   `tornWrite`: the snapshot is written before the entries that follow it, so entries without their
 *   snapshot would sit after log entries they do not match.
 * - `wipe()`: the disk is replaced; everything is gone (crashes the live handle first).
 * - `full = true`: a save completing while the disk is full rejects with Error('disk full') and writes
 *   nothing (the node must treat it as fatal).
 *
 * Invariant checkers read the durable state through `durableHardState`, `durableTermAt` and
 * `durableLastIndex`, which describe exactly what the next `load` would return (a torn tail is
 * already excluded), and may subscribe to `onDurable`.
 */
import type { Clock, CancelTimer } from '../src/util/clock.js';
import type { Random } from '../src/util/random.js';
import { assert } from '../src/util/assert.js';
import {
  assertValidUpdate,
  decodeEntry,
  decodeHardState,
  decodeSnapshot,
  encodeEntry,
  encodeHardState,
  encodeSnapshot,
} from '../src/raft/entry-codec.js';
import type { RaftStorage, StorageUpdate, StoredState } from '../src/raft/storage.js';
import { NO_NODE } from '../src/raft/types.js';
import type { Entry, HardState, LogIndex, Snapshot, Term } from '../src/raft/types.js';

export interface SimDiskOptions {
  readonly clock: Clock;
  readonly random: Random;
  /** Inclusive integer bounds of the latency of one `save` or `load`. */
  readonly writeLatencyMs: { readonly min: number; readonly max: number };
}

export interface CrashOptions {
  /** Tear the in-flight save (if any) instead of losing it whole. */
  readonly tornWrite: boolean;
}

/** A save encoded, validated and waiting for its completion timer. */
interface PendingSave {
  readonly update: StorageUpdate;
  readonly hardStateBytes: Uint8Array | undefined;
  readonly snapshotBytes: Uint8Array | undefined;
  readonly entryBytes: readonly Uint8Array[];
}

const EMPTY_HARD_STATE: HardState = { term: 0, vote: NO_NODE };

export class SimDisk {
  /** Set to make every save that completes from now on fail with Error('disk full'). */
  full = false;
  /** Called when an update has become durable, before its `save` promise resolves. */
  onDurable?: (update: StorageUpdate) => void;

  // The bytes on disk.
  private hardStateBytes: Uint8Array | undefined;
  private snapshotBytes: Uint8Array | undefined;
  private readonly entryBytes = new Map<LogIndex, Uint8Array>();

  // A decoded mirror of what the next load returns: never read by load itself (which decodes the bytes
  // and pair-checks the result against it), kept so that checkers need not decode.
  private hardState: HardState = EMPTY_HARD_STATE;
  private snapshotIndex: LogIndex = 0;
  private snapshotTerm: Term = 0;
  /** terms[i] is the term of the valid entry at snapshotIndex + 1 + i. */
  private terms: Term[] = [];
  /** False after a torn write until a recovery has dropped the torn tail from the bytes. */
  private clean = true;

  private live: SimRaftStorage | undefined;
  private pending: PendingSave | undefined;
  /** Cancels the in-flight save's or load's completion. */
  private cancelInFlight: CancelTimer | undefined;

  private readonly clock: Clock;
  private readonly random: Random;
  private readonly latencyMsMin: number;
  private readonly latencyMsMax: number;

  constructor(options: SimDiskOptions) {
    const { min, max } = options.writeLatencyMs;
    assert(Number.isSafeInteger(min) && Number.isSafeInteger(max) && 0 <= min && min <= max, `bad writeLatencyMs ${min}..${max}`);
    this.clock = options.clock;
    this.random = options.random;
    this.latencyMsMin = min;
    this.latencyMsMax = max;
  }

  /** A storage handle for a new process incarnation. The previous one must be closed or crashed. */
  open(): RaftStorage {
    assert(this.live === undefined, 'SimDisk.open: the previous handle is still open (close or crash it)');
    assert(this.cancelInFlight === undefined, 'SimDisk.open: the closed handle still has an operation in flight');
    const handle = new SimRaftStorage(this);
    this.live = handle;
    return handle;
  }

  /** The process dies: see the module header. Does nothing to the bytes when no save is in flight. */
  crash(options: CrashOptions): void {
    const handle = this.live;
    if (handle !== undefined) handle.kill();
    this.live = undefined;
    this.cancelInFlight?.();
    this.cancelInFlight = undefined;
    const pending = this.pending;
    this.pending = undefined;
    if (pending === undefined) return;
    if (options.tornWrite && pending.entryBytes.length > 0 && pending.update.snapshot === undefined) {
      this.writeTorn(pending);
    }
  }

  /** The disk is replaced by an empty one. A live handle crashes first (its in-flight save is lost). */
  wipe(): void {
    this.crash({ tornWrite: false });
    this.hardStateBytes = undefined;
    this.snapshotBytes = undefined;
    this.entryBytes.clear();
    this.hardState = EMPTY_HARD_STATE;
    this.snapshotIndex = 0;
    this.snapshotTerm = 0;
    this.terms = [];
    this.clean = true;
  }

  /** The hard state the next load returns. */
  durableHardState(): HardState {
    return this.hardState;
  }

  /**
   * The term of the durable entry at `index`; the snapshot's term at exactly the snapshot index;
   * `undefined` for anything else (not stored, compacted, torn, or index 0).
   */
  durableTermAt(index: LogIndex): Term | undefined {
    if (index === this.snapshotIndex) return index === 0 ? undefined : this.snapshotTerm;
    if (index < this.snapshotIndex) return undefined;
    return this.terms[index - this.snapshotIndex - 1];
  }

  /** The last durable index: of the last valid entry, else the snapshot's, else 0. */
  durableLastIndex(): LogIndex {
    return this.snapshotIndex + this.terms.length;
  }

  // ---- For SimRaftStorage ----

  /** @internal Marks a handle closed: the disk can be opened again once its operation completes. */
  release(handle: SimRaftStorage): void {
    if (this.live === handle) this.live = undefined;
  }

  /** @internal */
  startLoad(done: (state: StoredState) => void): void {
    assert(this.cancelInFlight === undefined, 'load while a save or load is in flight (storage contract item 2)');
    this.cancelInFlight = this.clock.setTimer(this.drawLatencyMs(), () => {
      this.cancelInFlight = undefined;
      done(this.recover());
    });
  }

  /**
   * @internal Validates and encodes now (a programmer error throws at the call), writes on completion.
   * `done` receives the error when the disk is full.
   */
  startSave(update: StorageUpdate, done: (error: Error | undefined) => void): void {
    assert(this.cancelInFlight === undefined, 'two saves in flight (storage contract item 2)');
    if (!this.clean) this.recover();
    assertValidUpdate(update, {
      hardState: this.hardState,
      snapshotIndex: this.snapshotIndex,
      lastIndex: this.durableLastIndex(),
    });
    this.pending = {
      update,
      hardStateBytes: update.hardState === undefined ? undefined : encodeHardState(update.hardState),
      snapshotBytes: update.snapshot === undefined ? undefined : encodeSnapshot(update.snapshot),
      entryBytes: (update.entries ?? []).map(encodeEntry),
    };
    this.cancelInFlight = this.clock.setTimer(this.drawLatencyMs(), () => {
      const pending = this.pending;
      assert(pending !== undefined && pending.update === update, 'the completing save is the pending one');
      this.pending = undefined;
      this.cancelInFlight = undefined;
      if (this.full) {
        done(new Error('disk full'));
        return;
      }
      this.writeWhole(pending);
      this.onDurable?.(update);
      done(undefined);
    });
  }

  private drawLatencyMs(): number {
    return this.latencyMsMin + this.random.int(this.latencyMsMax - this.latencyMsMin + 1);
  }

  /** Applies a validated update in full, to the bytes and to the mirror. */
  private writeWhole(pending: PendingSave): void {
    const { update } = pending;
    assert(this.clean, 'saves start on a recovered disk');
    if (update.snapshot !== undefined) {
      const snapshot = update.snapshot;
      const coveredTo = update.discardLog === true ? this.durableLastIndex() : Math.min(this.durableLastIndex(), snapshot.index);
      for (let index = this.snapshotIndex + 1; index <= coveredTo; index++) this.entryBytes.delete(index);
      this.terms = update.discardLog === true ? [] : this.terms.slice(Math.min(this.terms.length, snapshot.index - this.snapshotIndex));
      this.snapshotBytes = pending.snapshotBytes;
      this.snapshotIndex = snapshot.index;
      this.snapshotTerm = snapshot.term;
    }
    const entries = update.entries ?? [];
    if (entries.length > 0) {
      this.truncateFrom(entries[0]!.index);
      entries.forEach((entry, i) => {
        this.entryBytes.set(entry.index, pending.entryBytes[i]!);
        this.terms.push(entry.term);
      });
    }
    if (update.hardState !== undefined) {
      this.hardStateBytes = pending.hardStateBytes;
      this.hardState = update.hardState;
    }
    assert(this.entryBytes.size === this.terms.length, 'every stored entry is mirrored');
  }

  /**
   * A crash mid-write of an update without a snapshot: the replaced entries are gone and a non-empty
   * prefix of the new ones lands, the last with a flipped bit (CRC-32C detects every 1-bit error).
   */
  private writeTorn(pending: PendingSave): void {
    const entries = pending.update.entries ?? [];
    assert(this.clean && entries.length > 0 && pending.update.snapshot === undefined, 'tearable save');
    const count = 1 + this.random.int(entries.length);
    // Validated at save: the entries continue the stored log, so the valid prefix joins the mirror.
    this.truncateFrom(entries[0]!.index);
    for (let i = 0; i < count; i++) {
      const entry = entries[i]!;
      let bytes = pending.entryBytes[i]!;
      if (i === count - 1) {
        bytes = bytes.slice();
        const at = this.random.int(bytes.length);
        bytes[at] = bytes[at]! ^ (1 << this.random.int(8));
      } else {
        this.terms.push(entry.term);
      }
      this.entryBytes.set(entry.index, bytes);
    }
    this.clean = false;
  }

  /** Deletes the stored entries from `index` on, from the bytes and the mirror (on a clean disk). */
  private truncateFrom(index: LogIndex): void {
    const last = this.durableLastIndex();
    for (let i = Math.max(index, this.snapshotIndex + 1); i <= last; i++) this.entryBytes.delete(i);
    this.terms.length = Math.max(0, Math.min(this.terms.length, index - this.snapshotIndex - 1));
  }

  /**
   * What LevelRaftStorage's recovery does, on the bytes: decode and check every record, drop (and
   * delete) the first corrupt or non-contiguous entry and all after it. Pair-checks the mirror.
   */
  private recover(): StoredState {
    let hardState = EMPTY_HARD_STATE;
    if (this.hardStateBytes !== undefined) {
      const decoded = decodeHardState(this.hardStateBytes);
      assert(decoded !== undefined, 'the simulated disk never corrupts the hard state');
      hardState = decoded;
    }
    let snapshot: Snapshot | undefined;
    if (this.snapshotBytes !== undefined) {
      snapshot = decodeSnapshot(this.snapshotBytes);
      assert(snapshot !== undefined, 'the simulated disk never corrupts the snapshot');
    }
    const snapshotIndex = snapshot?.index ?? 0;
    const entries: Entry[] = [];
    let torn = false;
    for (const index of [...this.entryBytes.keys()].sort((a, b) => a - b)) {
      if (!torn && index <= snapshotIndex) {
        this.entryBytes.delete(index); // covered by the snapshot
        continue;
      }
      const entry = torn ? undefined : decodeEntry(this.entryBytes.get(index)!);
      if (entry === undefined || entry.index !== index || index !== snapshotIndex + entries.length + 1) {
        torn = true;
        this.entryBytes.delete(index);
        continue;
      }
      entries.push(entry);
    }
    // Pair check: the bytes say what the mirror says.
    assert(hardState.term === this.hardState.term && hardState.vote === this.hardState.vote, 'hard state mirror');
    assert(snapshotIndex === this.snapshotIndex && (snapshot?.term ?? 0) === this.snapshotTerm, 'snapshot mirror');
    assert(
      entries.length === this.terms.length && entries.every((entry, i) => entry.term === this.terms[i]),
      'entry mirror',
    );
    this.clean = true;
    return { hardState, snapshot, entries };
  }
}

/** One process incarnation's view of a `SimDisk`. */
class SimRaftStorage implements RaftStorage {
  crashed = false;
  private closed = false;

  constructor(private readonly disk: SimDisk) {}

  /** @internal The process died: pending promises never settle, later calls reject. */
  kill(): void {
    this.crashed = true;
  }

  // A throw inside a promise executor (checkUsable, an assertion) rejects the returned promise.
  load(): Promise<StoredState> {
    return new Promise((resolve) => {
      this.checkUsable();
      this.disk.startLoad((state) => {
        if (!this.crashed) resolve(state);
      });
    });
  }

  save(update: StorageUpdate): Promise<void> {
    return new Promise((resolve, reject) => {
      this.checkUsable();
      this.disk.startSave(update, (error) => {
        if (this.crashed) return;
        if (error === undefined) resolve();
        else reject(error);
      });
    });
  }

  async close(): Promise<void> {
    if (this.closed || this.crashed) return;
    this.closed = true;
    this.disk.release(this);
  }

  private checkUsable(): void {
    if (this.crashed) throw new Error('raft storage: the process crashed');
    if (this.closed) throw new Error('raft storage is closed');
  }
}
