/**
 * The disk port of partition logs (DESIGN.md §2, §3): the only way `src/partitions` touches files.
 * Two implementations pass one contract suite (test/partitions/log-fs-contract.ts): node:fs/promises
 * (`src/node/node-log-fs.ts`) and a simulated twin on virtual time (`sim/sim-log-fs.ts`) that can
 * crash the process, cut the power, tear unsynced appends and rot bits.
 *
 * Shape: a `LogFileSystem` is rooted at one data directory and holds one flat `LogDirectory` per
 * partition (`orders-3`); a directory holds flat files (`00000000000000000000.log`). Names match
 * `NAME_PATTERN` (no separators, no `.` or `..`, at most `NAME_BYTES_MAX` characters). Names ending in
 * `.tmp` are reserved for `writeFileAtomically`: the port never lists them, rejects them as arguments,
 * and `directory()` deletes any a crash left behind.
 *
 * Durability contract — what survives what:
 * 1. `LogFile.append` resolves once the bytes are in the operating system (the page cache): they
 *    survive a PROCESS crash, not a POWER loss. Appends to one file land in call order, so after any
 *    crash the surviving bytes of a file are a prefix of what was appended (power loss may also garble
 *    the last unsynced bytes that survive: "torn"; readers must checksum).
 * 2. `LogFile.sync` (fdatasync) resolves once every append CALLED before it is durable: those bytes
 *    survive a power loss. It does not wait for, nor necessarily cover, appends called after it, and
 *    appends may proceed while a sync is in flight (this is what lets callers group-commit).
 * 3. Everything else is durable when it resolves: `open` with `create` (the new name is in the
 *    directory), `truncate` (the new size; like a sync it also makes every earlier append durable),
 *    `remove`, `rename` (atomic: after any crash `to` names the old or the new file, `from` is gone or
 *    still there, never both gone), `writeFileAtomically` (after any crash the file holds the old or the
 *    new content in full, never a mix), `directory` (creating it), `removeDirectory`.
 * 4. An operation still in flight at a crash may or may not have happened (appends: a prefix of the
 *    in-flight ones, in order). Promises of a crashed process never settle.
 * 5. Any rejected write (`append`, `sync`, `truncate`; e.g. Error('disk full')) leaves the file's state
 *    unknown: the handle becomes unusable (every later call rejects) and the caller must treat it as
 *    fatal for the log (STYLE.md: a failing disk write is never swallowed).
 *
 * Ownership: the port never keeps or mutates a buffer it is given after the call's promise settles
 * (the simulated twin copies at the call), and every buffer it returns is fresh and owned by the caller.
 * A file is open through at most one handle at a time; `remove` and `rename` take closed files.
 */

/** File and directory names: letters, digits, `.`, `_`, `-`; not `.`/`..`; no separators. */
export const NAME_PATTERN = /^(?!\.{1,2}$)[A-Za-z0-9._-]+$/;
export const NAME_BYTES_MAX = 255;
/** The suffix of `writeFileAtomically`'s temporary files; reserved. */
export const TEMP_SUFFIX = '.tmp';

/** Whether `name` may name a file or a directory through this port. */
export function isValidLogName(name: string): boolean {
  return name.length <= NAME_BYTES_MAX && NAME_PATTERN.test(name) && !name.endsWith(TEMP_SUFFIX);
}

/**
 * An expected condition of the port, as opposed to a failing disk: a missing file or directory.
 * Programmer errors (bad names, reading past the end, using a closed handle) are assertions.
 */
export class LogFsError extends Error {
  override readonly name = 'LogFsError';
  constructor(
    readonly code: 'NOT_FOUND',
    message: string,
  ) {
    super(message);
  }
}

export interface OpenOptions {
  /** Create the file (empty) if it does not exist; without it a missing file rejects with NOT_FOUND. */
  readonly create: boolean;
}

/** One open file, written only at its end. */
export interface LogFile {
  readonly name: string;
  /** Bytes, counting every append already called (even if not yet resolved or synced). */
  readonly size: number;
  /** Appends `data` at the end (contract items 1, 5). `size` grows by `data.length` at the call. */
  append(data: Uint8Array): Promise<void>;
  /**
   * Reads `length` bytes at `position`; the range must lie within `size` (assertion). Bytes of
   * appends not yet resolved are waited for. Returns a fresh buffer owned by the caller.
   */
  read(position: number, length: number): Promise<Uint8Array>;
  /** fdatasync: every append called before it is durable when it resolves (contract item 2). */
  sync(): Promise<void>;
  /** Cuts the file to `size` bytes (`size <= this.size`), after every earlier append; durable on resolve. */
  truncate(size: number): Promise<void>;
  /** Waits for operations in flight, then releases the handle. Does not sync. Idempotent. */
  close(): Promise<void>;
}

/** One partition's directory. */
export interface LogDirectory {
  /** The directory's name within its `LogFileSystem`. */
  readonly path: string;
  /** The names of the files in the directory, sorted, without reserved temporary files. */
  list(): Promise<string[]>;
  /** Opens a file for appending and reading; rejects with `LogFsError('NOT_FOUND')` if missing and not `create`. */
  open(name: string, options: OpenOptions): Promise<LogFile>;
  /** Deletes a closed file; durable on resolve. A missing file is not an error. */
  remove(name: string): Promise<void>;
  /** Atomically renames a closed file, replacing `to`; durable on resolve. Rejects with NOT_FOUND if `from` is missing. */
  rename(from: string, to: string): Promise<void>;
  /** The whole content of a file (unsynced appends included), or `undefined` if it does not exist. */
  readFile(name: string): Promise<Uint8Array | undefined>;
  /**
   * Replaces the file's content: writes `<name>.tmp`, syncs it, renames it over `name`, syncs the
   * directory. For checkpoints. The file must not be open.
   */
  writeFileAtomically(name: string, data: Uint8Array): Promise<void>;
}

/** The partition directories under one data directory. */
export interface LogFileSystem {
  /** The directory `path` (one flat name), created if missing (durable on resolve). */
  directory(path: string): Promise<LogDirectory>;
  /** Deletes the directory and everything in it; durable on resolve. Files in it must be closed. Missing: no error. */
  removeDirectory(path: string): Promise<void>;
  /** The names of the directories, sorted. */
  listDirectories(): Promise<string[]>;
}
