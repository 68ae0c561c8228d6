/**
 * `LogFileSystem` on node:fs/promises: the production disk of partition logs. Its simulated twin is
 * `sim/sim-log-fs.ts`; both pass test/partitions/log-fs-contract.ts. The contract (what survives a
 * process crash and what a power loss) is in src/partitions/log-fs.ts.
 *
 * How each clause is met:
 * - A `LogFile` keeps one file handle open (O_RDWR, not O_APPEND: positional writes at a position the
 *   handle tracks itself, so `size` is known without a stat). Appends and truncations wait in one queue
 *   and are done in call order (contract item 1); a failed one fails every later one (item 5). Appends
 *   that queued up behind a write in progress go out together as one positional `writev` (at most
 *   1024 buffers, 8 MiB).
 * - A write of at most SYNC_WRITE_BYTES_MAX is made on the calling thread (`writeSync`): copying a few
 *   KiB into the page cache takes microseconds, while a trip through the thread pool puts two thread
 *   wake-ups on the path of every replicated append (pool thread, then the completion back on the
 *   event loop), each a scheduling delay on a busy machine. Larger writes go to the thread pool, so
 *   that copying megabytes never holds up the event loop. The trade-off: a small write waits on the
 *   event loop when the kernel throttles a writer of too many dirty pages — with flush=always (the
 *   default) dirty pages are flushed continuously and stay few. `sync` (fdatasync) always runs in the
 *   thread pool: it waits for the disk.
 * - `sync` waits for the operations queued before it, then calls `datasync` (fdatasync). It is not in
 *   the queue: appends called after it are written while the fdatasync runs, and the next sync covers
 *   them — the basis of group commit.
 * - `truncate` is ftruncate + fdatasync (fdatasync flushes the size change, which data retrieval needs).
 * - Creating a file, `remove`, `rename`, `writeFileAtomically` and creating or removing a directory end
 *   with an fsync of the parent directory, so the name change itself survives a power loss.
 *
 * Limits: one handle per file (asserted), writes and reads loop until complete; a read that finds
 * the file shorter than this handle wrote (someone else truncated it) rejects.
 */
import { constants, writeSync, writevSync } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, unlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { assert, assertNonNegativeInteger } from '../util/assert.js';
import { LogFsError, TEMP_SUFFIX, isValidLogName } from '../partitions/log-fs.js';
import type { LogDirectory, LogFile, LogFileSystem, OpenOptions } from '../partitions/log-fs.js';

function errorCode(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error ? String((error as { code: unknown }).code) : undefined;
}

function assertName(name: string, what: string): void {
  assert(isValidLogName(name), `${what}: invalid name ${JSON.stringify(name)}`);
}

/** fsync of a directory: makes the creation, removal or renaming of its entries durable. */
async function syncDirectory(path: string): Promise<void> {
  const handle = await open(path, constants.O_RDONLY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** A plain Uint8Array over a Buffer's bytes (callers compare with Uint8Array; Buffer is a subclass). */
function plain(buffer: Buffer): Uint8Array {
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

export class NodeLogFileSystem implements LogFileSystem {
  private constructor(readonly root: string) {}

  /** The file system rooted at `root` (created, with its parents, if missing). */
  static async open(root: string): Promise<NodeLogFileSystem> {
    await mkdir(root, { recursive: true });
    return new NodeLogFileSystem(root);
  }

  async directory(path: string): Promise<LogDirectory> {
    assertName(path, 'directory');
    const full = join(this.root, path);
    try {
      await mkdir(full);
      await syncDirectory(this.root);
    } catch (error) {
      if (errorCode(error) !== 'EEXIST') throw error;
    }
    // Temporary files of interrupted atomic writes: the rename never happened, so they are garbage.
    let removed = false;
    for (const name of await readdir(full)) {
      if (name.endsWith(TEMP_SUFFIX)) {
        await unlink(join(full, name));
        removed = true;
      }
    }
    if (removed) await syncDirectory(full);
    return new NodeLogDirectory(path, full);
  }

  async removeDirectory(path: string): Promise<void> {
    assertName(path, 'removeDirectory');
    await rm(join(this.root, path), { recursive: true, force: true });
    await syncDirectory(this.root);
  }

  async listDirectories(): Promise<string[]> {
    const entries = await readdir(this.root, { withFileTypes: true });
    return entries
      .filter((entry) => entry.isDirectory() && isValidLogName(entry.name))
      .map((entry) => entry.name)
      .sort();
  }
}

class NodeLogDirectory implements LogDirectory {
  private readonly openFiles = new Set<string>();

  constructor(
    readonly path: string,
    private readonly fullPath: string,
  ) {}

  async list(): Promise<string[]> {
    const entries = await readdir(this.fullPath, { withFileTypes: true });
    return entries
      .filter((entry) => entry.isFile() && isValidLogName(entry.name))
      .map((entry) => entry.name)
      .sort();
  }

  async open(name: string, options: OpenOptions): Promise<LogFile> {
    assertName(name, 'open');
    assert(!this.openFiles.has(name), `open: ${this.path}/${name} is already open`);
    const path = join(this.fullPath, name);
    let handle: FileHandle;
    try {
      handle = await open(path, constants.O_RDWR);
    } catch (error) {
      if (errorCode(error) !== 'ENOENT') throw error;
      if (!options.create) throw new LogFsError('NOT_FOUND', `${this.path}/${name} does not exist`);
      handle = await open(path, constants.O_RDWR | constants.O_CREAT | constants.O_EXCL, 0o644);
      try {
        await syncDirectory(this.fullPath);
      } catch (syncError) {
        await handle.close();
        throw syncError;
      }
    }
    let size: number;
    try {
      size = (await handle.stat()).size;
    } catch (error) {
      await handle.close();
      throw error;
    }
    this.openFiles.add(name);
    return new NodeLogFile(name, handle, size, () => this.openFiles.delete(name));
  }

  async remove(name: string): Promise<void> {
    assertName(name, 'remove');
    assert(!this.openFiles.has(name), `remove: ${this.path}/${name} is open`);
    try {
      await unlink(join(this.fullPath, name));
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return;
      throw error;
    }
    await syncDirectory(this.fullPath);
  }

  async rename(from: string, to: string): Promise<void> {
    assertName(from, 'rename');
    assertName(to, 'rename');
    assert(!this.openFiles.has(from) && !this.openFiles.has(to), `rename: ${this.path}/${from} or ${to} is open`);
    try {
      await rename(join(this.fullPath, from), join(this.fullPath, to));
    } catch (error) {
      if (errorCode(error) === 'ENOENT') throw new LogFsError('NOT_FOUND', `${this.path}/${from} does not exist`);
      throw error;
    }
    await syncDirectory(this.fullPath);
  }

  async readFile(name: string): Promise<Uint8Array | undefined> {
    assertName(name, 'readFile');
    try {
      return plain(await readFile(join(this.fullPath, name)));
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return undefined;
      throw error;
    }
  }

  async writeFileAtomically(name: string, data: Uint8Array): Promise<void> {
    assertName(name, 'writeFileAtomically');
    assert(!this.openFiles.has(name), `writeFileAtomically: ${this.path}/${name} is open`);
    const temp = join(this.fullPath, name + TEMP_SUFFIX);
    const handle = await open(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC, 0o644);
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, join(this.fullPath, name));
    await syncDirectory(this.fullPath);
  }
}

/** An append or truncation waiting in a file's queue. */
type QueuedOp =
  | { readonly kind: 'append'; readonly data: Uint8Array; readonly position: number; readonly resolve: () => void; readonly reject: (error: Error) => void }
  | { readonly kind: 'truncate'; readonly size: number; readonly resolve: () => void; readonly reject: (error: Error) => void };

/** Bounds of one coalesced write: buffers (IOV_MAX on Linux is 1024) and bytes. */
const COALESCE_BUFFERS_MAX = 1024;
const COALESCE_BYTES_MAX = 8 * 1024 * 1024;
/** Writes up to this size are made on the calling thread, larger ones in the thread pool (see the header). */
export const SYNC_WRITE_BYTES_MAX = 128 * 1024;

class NodeLogFile implements LogFile {
  /** Bytes counting every append called; appends write at this position. */
  size: number;
  /** Bytes of appends that have resolved (reads below it need not wait). */
  private writtenSize: number;
  /** Appends and truncations not yet done, in call order; one pump works through them. */
  private readonly queue: QueuedOp[] = [];
  private pumping = false;
  /** Operations queued and operations done since the handle opened: a sync waits for its ticket. */
  private enqueued = 0;
  private completed = 0;
  private waiters: Array<{ readonly ticket: number; readonly resolve: () => void; readonly reject: (error: Error) => void }> = [];
  private readonly syncsInFlight = new Set<Promise<void>>();
  private failure: Error | undefined;
  private closed = false;

  constructor(
    readonly name: string,
    private readonly handle: FileHandle,
    size: number,
    private readonly release: () => void,
  ) {
    this.size = size;
    this.writtenSize = size;
  }

  // async: a failed assertion or an unusable handle rejects rather than throws; the part before the
  // first await (reserving the position) still runs at the call.
  async append(data: Uint8Array): Promise<void> {
    const early = this.unusable();
    if (early !== undefined) return early;
    const position = this.size;
    this.size += data.length;
    return new Promise<void>((resolve, reject) => this.enqueue({ kind: 'append', data, position, resolve, reject }));
  }

  async read(position: number, length: number): Promise<Uint8Array> {
    assertNonNegativeInteger(position, 'read position');
    assertNonNegativeInteger(length, 'read length');
    assert(position + length <= this.size, `read ${position}+${length} beyond the end ${this.size} of ${this.name}`);
    assert(!this.closed, `read: ${this.name} is closed`);
    if (position + length > this.writtenSize) await this.whenCompleted(this.enqueued);
    const buffer = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const { bytesRead } = await this.handle.read(buffer, done, length - done, position + done);
      if (bytesRead === 0) throw new Error(`${this.name}: short read at ${position + done} (the file shrank behind this handle)`);
      done += bytesRead;
    }
    return buffer;
  }

  async sync(): Promise<void> {
    const early = this.unusable();
    if (early !== undefined) return early;
    // Not queued: it waits for the operations queued before it, while later appends keep going.
    const sync = this.whenCompleted(this.enqueued).then(async () => {
      try {
        await this.handle.datasync();
      } catch (error) {
        throw this.fail('sync', error);
      }
    });
    const tracked = sync.then(
      () => void this.syncsInFlight.delete(tracked),
      () => void this.syncsInFlight.delete(tracked),
    );
    this.syncsInFlight.add(tracked);
    return sync;
  }

  async truncate(size: number): Promise<void> {
    const early = this.unusable();
    if (early !== undefined) return early;
    assertNonNegativeInteger(size, 'truncate size');
    assert(size <= this.size, `truncate ${this.name} to ${size}: beyond its size ${this.size}`);
    this.size = size;
    return new Promise<void>((resolve, reject) => this.enqueue({ kind: 'truncate', size, resolve, reject }));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.whenCompleted(this.enqueued).catch(() => {});
    await Promise.all([...this.syncsInFlight]);
    this.release();
    await this.handle.close();
  }

  private enqueue(op: QueuedOp): void {
    this.queue.push(op);
    this.enqueued++;
    if (!this.pumping) void this.pump();
  }

  /**
   * Works through the queue: a truncation alone, or every append queued behind the previous write
   * (up to the coalescing bounds) in one positional writev. Never rejects: failures go to the ops.
   */
  private async pump(): Promise<void> {
    this.pumping = true;
    while (this.queue.length > 0) {
      if (this.failure !== undefined) {
        for (const op of this.queue.splice(0)) op.reject(this.failure);
        break;
      }
      const head = this.queue[0]!;
      if (head.kind === 'truncate') {
        this.queue.shift();
        try {
          await this.handle.truncate(head.size);
          await this.handle.datasync();
        } catch (error) {
          head.reject(this.fail('truncate', error));
          continue;
        }
        this.writtenSize = Math.min(this.writtenSize, head.size);
        this.done([head]);
        continue;
      }
      const group: Array<Extract<QueuedOp, { kind: 'append' }>> = [];
      let bytes = 0;
      while (group.length < COALESCE_BUFFERS_MAX && bytes < COALESCE_BYTES_MAX) {
        const next = this.queue[0];
        if (next === undefined || next.kind !== 'append') break;
        this.queue.shift();
        group.push(next);
        bytes += next.data.length;
      }
      try {
        const buffers = group.map((op) => op.data);
        if (bytes <= SYNC_WRITE_BYTES_MAX) writeAllAtNow(this.handle.fd, buffers, head.position);
        else await writeAllAt(this.handle, buffers, head.position);
      } catch (error) {
        const failure = this.fail('append', error);
        for (const op of group) op.reject(failure);
        continue;
      }
      const last = group[group.length - 1]!;
      this.writtenSize = last.position + last.data.length;
      this.done(group);
    }
    this.pumping = false;
    if (this.failure !== undefined) {
      for (const waiter of this.waiters.splice(0)) waiter.reject(this.failure);
    }
  }

  private done(ops: ReadonlyArray<QueuedOp>): void {
    this.completed += ops.length;
    for (const op of ops) op.resolve();
    if (this.waiters.length === 0) return;
    const ready = this.waiters.filter((waiter) => waiter.ticket <= this.completed);
    this.waiters = this.waiters.filter((waiter) => waiter.ticket > this.completed);
    for (const waiter of ready) waiter.resolve();
  }

  /** Resolves once `ticket` operations are done; rejects once the handle has failed. */
  private whenCompleted(ticket: number): Promise<void> {
    if (this.completed >= ticket) return Promise.resolve();
    if (this.failure !== undefined) return Promise.reject(this.failure);
    return new Promise<void>((resolve, reject) => this.waiters.push({ ticket, resolve, reject }));
  }

  private unusable(): Promise<never> | undefined {
    if (this.closed) return Promise.reject(new Error(`${this.name} is closed`));
    if (this.failure !== undefined) return Promise.reject(this.failure);
    return undefined;
  }

  private fail(what: string, error: unknown): Error {
    if (this.failure === undefined) {
      this.failure = new Error(`${this.name}: ${what} failed: ${String(error)}`, { cause: error });
    }
    return this.failure;
  }
}

/** Writes `buffers` back to back at `position` in the thread pool, looping over partial writes. */
async function writeAllAt(handle: FileHandle, buffers: Uint8Array[], position: number): Promise<void> {
  let pending = buffers;
  let at = position;
  while (pending.length > 0) {
    const { bytesWritten } = pending.length === 1 ? await handle.write(pending[0]!, 0, pending[0]!.length, at) : await handle.writev(pending, at);
    at += bytesWritten;
    pending = unwritten(pending, bytesWritten);
  }
}

/** `writeAllAt` on the calling thread. */
function writeAllAtNow(fd: number, buffers: Uint8Array[], position: number): void {
  let pending = buffers;
  let at = position;
  while (pending.length > 0) {
    const bytesWritten = pending.length === 1 ? writeSync(fd, pending[0]!, 0, pending[0]!.length, at) : writevSync(fd, pending, at);
    at += bytesWritten;
    pending = unwritten(pending, bytesWritten);
  }
}

/** What is left of `buffers` once their first `written` bytes are written. */
function unwritten(buffers: Uint8Array[], written: number): Uint8Array[] {
  let skip = written;
  const rest: Uint8Array[] = [];
  for (const buffer of buffers) {
    if (skip >= buffer.length) {
      skip -= buffer.length;
      continue;
    }
    rest.push(skip === 0 ? buffer : buffer.subarray(skip));
    skip = 0;
  }
  return rest;
}
