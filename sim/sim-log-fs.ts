/**
 * The simulated twin of `src/node/node-log-fs.ts`: one broker machine's data disk for partition logs,
 * on virtual time. The contract it keeps (and the faults it injects within it) is in
 * src/partitions/log-fs.ts; both implementations pass test/partitions/log-fs-contract.ts.
 *
 * A `SimLogDisk` is the machine's disk and outlives process crashes; `disk.mount()` hands one process
 * incarnation a `LogFileSystem`. Each file is its bytes as a process reads them (the page cache) plus
 * `durableLength`: the bytes that survive a power loss are exactly the first `durableLength` of them.
 * (Files are only appended to and cut: a sync moves `durableLength` up, a truncation makes the whole
 * file durable, so the durable content is always a prefix of the cached content.)
 *
 * Time and chance come only from the injected `Clock` and `Random`: every operation completes after a
 * latency drawn from `latencyMs` (reads, appends, listings, opening an existing file) or `syncLatencyMs`
 * (sync, truncate, create, remove, rename, atomic writes, directories), so a seed replays bit for bit.
 * Appends and truncations of one file complete in call order (each no earlier than the previous);
 * a sync completes no earlier than the appends called before it and does not hold back later ones.
 * An operation takes effect when it completes, not when it is called.
 *
 * Faults:
 * - `processCrash()`: the live mount dies; its pending promises never settle and later calls reject.
 *   Everything completed survives — unsynced appends included: the page cache outlives the process.
 *   Of the appends still in flight on each file, a random prefix (in call order, stopping at the
 *   first non-append) lands whole; every other in-flight operation never happens.
 * - `powerLoss({ torn })`: the machine loses power (crashes the live mount first, in-flight operations
 *   never happen). Every file keeps only its durable bytes — or, with `torn`, its durable bytes plus a
 *   random prefix of the unsynced ones, of which the last up to 8 bytes may be garbled.
 * - `flipBit(path, name, position, bit)`: bit rot in place (both the medium and the cache).
 * - `full = true`: appends and atomic writes that complete while set reject with Error('disk full')
 *   and write nothing; the file handle is then unusable (contract item 5).
 *
 * Checker views: `durableSize`, `durableBytes` (what survives a power loss now), `cachedBytes` (what
 * a read returns now), `syncCount` (fdatasyncs issued, for group-commit tests), `fileNames`,
 * `directoryNames`.
 */
import { assert, assertNonNegativeInteger } from '../src/util/assert.js';
import type { CancelTimer, Clock } from '../src/util/clock.js';
import type { Random } from '../src/util/random.js';
import { LogFsError, isValidLogName } from '../src/partitions/log-fs.js';
import type { LogDirectory, LogFile, LogFileSystem, OpenOptions } from '../src/partitions/log-fs.js';

export interface LatencyRangeMs {
  /** Inclusive integer bounds. */
  readonly min: number;
  readonly max: number;
}

export interface SimLogDiskOptions {
  readonly clock: Clock;
  readonly random: Random;
  readonly latencyMs: LatencyRangeMs;
  /** Default: `latencyMs`. */
  readonly syncLatencyMs?: LatencyRangeMs;
}

export interface PowerLossOptions {
  /** Keep a random prefix of each file's unsynced bytes, its last bytes possibly garbled. */
  readonly torn: boolean;
}

/** How many trailing bytes of a torn prefix may be garbled. */
const TORN_GARBLE_BYTES_MAX = 8;

/** One file on the disk: its bytes (the cache view) and how many of them are durable. */
class SimFile {
  private buffer = new Uint8Array(0);
  length = 0;
  durableLength = 0;
  /** Bumped by every truncation: a sync called before one has nothing left to make durable. */
  generation = 0;

  bytes(from = 0, to = this.length): Uint8Array {
    return this.buffer.slice(from, to);
  }

  append(data: Uint8Array): void {
    const needed = this.length + data.length;
    if (needed > this.buffer.length) {
      const grown = new Uint8Array(Math.max(needed, this.buffer.length * 2, 4096));
      grown.set(this.buffer.subarray(0, this.length));
      this.buffer = grown;
    }
    this.buffer.set(data, this.length);
    this.length = needed;
  }

  cut(size: number): void {
    assert(size <= this.length, 'cut within the file');
    this.length = size;
    this.durableLength = Math.min(this.durableLength, size);
  }

  replace(data: Uint8Array): void {
    this.buffer = data.slice();
    this.length = data.length;
    this.durableLength = data.length;
    this.generation++;
  }

  flip(position: number, bit: number): void {
    assert(position < this.length, `flipBit at ${position} beyond the file's ${this.length} bytes`);
    this.buffer[position] = this.buffer[position]! ^ (1 << bit);
  }

  garble(position: number, value: number): void {
    this.buffer[position] = value;
  }
}

/** An append or truncation waiting for its completion, in a file's call-order queue. */
interface QueuedWrite {
  readonly kind: 'append' | 'truncate';
  readonly data: Uint8Array | undefined;
}

export class SimLogDisk {
  /** Set to make every append and atomic write that completes from now on fail with Error('disk full'). */
  full = false;
  /** fdatasyncs issued so far (`LogFile.sync` calls that reached the disk). */
  syncCount = 0;

  private readonly directories = new Map<string, Map<string, SimFile>>();
  private live: SimMount | undefined;

  private readonly clock: Clock;
  private readonly random: Random;
  private readonly latency: LatencyRangeMs;
  private readonly syncLatency: LatencyRangeMs;

  constructor(options: SimLogDiskOptions) {
    this.clock = options.clock;
    this.random = options.random;
    this.latency = checkRange(options.latencyMs, 'latencyMs');
    this.syncLatency = checkRange(options.syncLatencyMs ?? options.latencyMs, 'syncLatencyMs');
  }

  /** The file system of a new process incarnation. The previous one must have crashed or been released. */
  mount(): LogFileSystem {
    assert(this.live === undefined, 'SimLogDisk.mount: the previous process still has the disk mounted (crash or unmount it)');
    const mount = new SimMount(this);
    this.live = mount;
    return mount;
  }

  /** The live process lets go of the disk (a clean exit): its operations must have completed. */
  unmount(): void {
    const mount = this.live;
    if (mount === undefined) return;
    assert(mount.pendingCount() === 0, 'SimLogDisk.unmount with operations in flight');
    mount.kill();
    this.live = undefined;
  }

  /** The process dies; see the module header. */
  processCrash(): void {
    const mount = this.live;
    this.live = undefined;
    if (mount === undefined) return;
    mount.kill();
    for (const handle of mount.handles()) {
      const queue = handle.takeQueue();
      let leadingAppends = 0;
      while (leadingAppends < queue.length && queue[leadingAppends]!.kind === 'append') leadingAppends++;
      const landed = this.random.int(leadingAppends + 1);
      for (let i = 0; i < landed; i++) handle.file.append(queue[i]!.data!);
    }
    mount.cancelAll();
  }

  /** The machine loses power; see the module header. */
  powerLoss(options: PowerLossOptions): void {
    const mount = this.live;
    this.live = undefined;
    if (mount !== undefined) {
      mount.kill();
      for (const handle of mount.handles()) handle.takeQueue();
      mount.cancelAll();
    }
    for (const files of this.directories.values()) {
      for (const file of files.values()) {
        const unsynced = file.length - file.durableLength;
        if (!options.torn || unsynced === 0) {
          file.cut(file.durableLength);
          continue;
        }
        const kept = this.random.int(unsynced + 1);
        const newLength = file.durableLength + kept;
        file.length = newLength;
        const garbled = Math.min(kept, this.random.int(TORN_GARBLE_BYTES_MAX + 1));
        for (let i = newLength - garbled; i < newLength; i++) file.garble(i, this.random.int(256));
        // What survived is now on the medium.
        file.durableLength = newLength;
        file.generation++;
      }
    }
  }

  /** Flips bit `bit` (0..7) of byte `position` of a file: bit rot, seen by every later read. */
  flipBit(path: string, name: string, position: number, bit = 0): void {
    assert(Number.isInteger(bit) && bit >= 0 && bit < 8, `flipBit: bit ${bit} out of 0..7`);
    this.file(path, name).flip(position, bit);
  }

  durableSize(path: string, name: string): number | undefined {
    return this.directories.get(path)?.get(name)?.durableLength;
  }

  /** The bytes that survive a power loss now (a copy), or `undefined` if there is no such file. */
  durableBytes(path: string, name: string): Uint8Array | undefined {
    const file = this.directories.get(path)?.get(name);
    return file?.bytes(0, file.durableLength);
  }

  /** What a read returns now (a copy), or `undefined` if there is no such file. */
  cachedBytes(path: string, name: string): Uint8Array | undefined {
    return this.directories.get(path)?.get(name)?.bytes();
  }

  directoryNames(): string[] {
    return [...this.directories.keys()].sort();
  }

  fileNames(path: string): string[] {
    return [...(this.directories.get(path)?.keys() ?? [])].sort();
  }

  // ---- For SimMount and SimFileHandle ----

  /** @internal */
  file(path: string, name: string): SimFile {
    const file = this.directories.get(path)?.get(name);
    assert(file !== undefined, `no file ${path}/${name}`);
    return file;
  }

  /** @internal */
  dirs(): Map<string, Map<string, SimFile>> {
    return this.directories;
  }

  /** @internal */
  newFile(): SimFile {
    return new SimFile();
  }

  /** @internal */
  drawMs(kind: 'data' | 'sync'): number {
    const { min, max } = kind === 'data' ? this.latency : this.syncLatency;
    return min + this.random.int(max - min + 1);
  }

  /** @internal */
  get clockNowMs(): number {
    return this.clock.nowMs();
  }

  /** @internal */
  setTimer(delayMs: number, fn: () => void): CancelTimer {
    return this.clock.setTimer(delayMs, fn);
  }
}

function checkRange(range: LatencyRangeMs, what: string): LatencyRangeMs {
  const { min, max } = range;
  assert(Number.isSafeInteger(min) && Number.isSafeInteger(max) && 0 <= min && min <= max, `bad ${what} ${min}..${max}`);
  return range;
}

function assertName(name: string, what: string): void {
  assert(isValidLogName(name), `${what}: invalid name ${JSON.stringify(name)}`);
}

/** One process incarnation's view of the disk. */
class SimMount implements LogFileSystem {
  private dead = false;
  private readonly timers = new Set<CancelTimer>();
  /** Open handles by `path/name`. */
  private readonly open = new Map<string, SimFileHandle>();

  constructor(readonly disk: SimLogDisk) {}

  kill(): void {
    this.dead = true;
  }

  get isDead(): boolean {
    return this.dead;
  }

  handles(): SimFileHandle[] {
    return [...this.open.values()];
  }

  pendingCount(): number {
    return this.timers.size;
  }

  cancelAll(): void {
    for (const cancel of this.timers) cancel();
    this.timers.clear();
    this.open.clear();
  }

  isOpen(path: string, name: string): boolean {
    return this.open.has(`${path}/${name}`);
  }

  registerHandle(path: string, handle: SimFileHandle): void {
    this.open.set(`${path}/${handle.name}`, handle);
  }

  releaseHandle(path: string, handle: SimFileHandle): void {
    if (this.open.get(`${path}/${handle.name}`) === handle) this.open.delete(`${path}/${handle.name}`);
  }

  /**
   * Runs `effect` after `delayMs` of virtual time unless the process dies first; settles the returned
   * promise with its result (or its error). Never settles for a dead process.
   */
  after<T>(delayMs: number, effect: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.dead) {
        reject(new Error('log fs: the process crashed'));
        return;
      }
      const cancel = this.disk.setTimer(delayMs, () => {
        this.timers.delete(cancel);
        if (this.dead) return;
        let result: T;
        try {
          result = effect();
        } catch (error) {
          reject(error);
          return;
        }
        resolve(result);
      });
      this.timers.add(cancel);
    });
  }

  /** Throws (a rejection, inside async callers) once the process has crashed. */
  checkAlive(): void {
    if (this.dead) throw new Error('log fs: the process crashed');
  }

  async directory(path: string): Promise<LogDirectory> {
    assertName(path, 'directory');
    this.checkAlive();
    const dirs = this.disk.dirs();
    const exists = dirs.has(path);
    await this.after(this.disk.drawMs(exists ? 'data' : 'sync'), () => {
      if (!dirs.has(path)) dirs.set(path, new Map());
    });
    return new SimDirectory(this, path);
  }

  async removeDirectory(path: string): Promise<void> {
    assertName(path, 'removeDirectory');
    this.checkAlive();
    for (const key of this.open.keys()) assert(!key.startsWith(`${path}/`), `removeDirectory: ${key} is open`);
    await this.after(this.disk.drawMs('sync'), () => {
      this.disk.dirs().delete(path);
    });
  }

  async listDirectories(): Promise<string[]> {
    this.checkAlive();
    return this.after(this.disk.drawMs('data'), () => [...this.disk.dirs().keys()].sort());
  }
}

class SimDirectory implements LogDirectory {
  constructor(
    private readonly mount: SimMount,
    readonly path: string,
  ) {}

  private files(): Map<string, SimFile> {
    const files = this.mount.disk.dirs().get(this.path);
    assert(files !== undefined, `directory ${this.path} was removed`);
    return files;
  }

  async list(): Promise<string[]> {
    this.mount.checkAlive();
    return this.mount.after(this.mount.disk.drawMs('data'), () => [...this.files().keys()].sort());
  }

  async open(name: string, options: OpenOptions): Promise<LogFile> {
    assertName(name, 'open');
    this.mount.checkAlive();
    assert(!this.mount.isOpen(this.path, name), `open: ${this.path}/${name} is already open`);
    const exists = this.files().has(name);
    if (!exists && !options.create) {
      await this.mount.after(this.mount.disk.drawMs('data'), () => undefined);
      throw new LogFsError('NOT_FOUND', `${this.path}/${name} does not exist`);
    }
    const file = await this.mount.after(this.mount.disk.drawMs(exists ? 'data' : 'sync'), () => {
      const files = this.files();
      let found = files.get(name);
      if (found === undefined) {
        found = this.mount.disk.newFile();
        files.set(name, found);
      }
      return found;
    });
    assert(!this.mount.isOpen(this.path, name), `open: ${this.path}/${name} was opened twice concurrently`);
    const handle = new SimFileHandle(this.mount, this.path, name, file);
    this.mount.registerHandle(this.path, handle);
    return handle;
  }

  async remove(name: string): Promise<void> {
    assertName(name, 'remove');
    this.mount.checkAlive();
    assert(!this.mount.isOpen(this.path, name), `remove: ${this.path}/${name} is open`);
    await this.mount.after(this.mount.disk.drawMs('sync'), () => {
      this.files().delete(name);
    });
  }

  async rename(from: string, to: string): Promise<void> {
    assertName(from, 'rename');
    assertName(to, 'rename');
    this.mount.checkAlive();
    assert(!this.mount.isOpen(this.path, from) && !this.mount.isOpen(this.path, to), `rename: ${from} or ${to} is open`);
    await this.mount.after(this.mount.disk.drawMs('sync'), () => {
      const files = this.files();
      const file = files.get(from);
      if (file === undefined) throw new LogFsError('NOT_FOUND', `${this.path}/${from} does not exist`);
      files.delete(from);
      files.set(to, file);
    });
  }

  async readFile(name: string): Promise<Uint8Array | undefined> {
    assertName(name, 'readFile');
    this.mount.checkAlive();
    return this.mount.after(this.mount.disk.drawMs('data'), () => this.files().get(name)?.bytes());
  }

  async writeFileAtomically(name: string, data: Uint8Array): Promise<void> {
    assertName(name, 'writeFileAtomically');
    this.mount.checkAlive();
    assert(!this.mount.isOpen(this.path, name), `writeFileAtomically: ${this.path}/${name} is open`);
    const copy = data.slice();
    await this.mount.after(this.mount.disk.drawMs('sync'), () => {
      if (this.mount.disk.full) throw new Error('disk full');
      const files = this.files();
      let file = files.get(name);
      if (file === undefined) {
        file = this.mount.disk.newFile();
        files.set(name, file);
      }
      file.replace(copy);
    });
  }
}

class SimFileHandle implements LogFile {
  size: number;
  /** Appends and truncations not yet completed, in call order. */
  private queue: QueuedWrite[] = [];
  /** Virtual time at which the last queued append or truncation completes. */
  private queueDoneAtMs = 0;
  private failure: Error | undefined;
  private closed = false;

  constructor(
    private readonly mount: SimMount,
    private readonly path: string,
    readonly name: string,
    readonly file: SimFile,
  ) {
    this.size = file.length;
  }

  /** @internal The in-flight appends and truncations, in call order; the queue is emptied. */
  takeQueue(): QueuedWrite[] {
    const queue = this.queue;
    this.queue = [];
    return queue;
  }

  // async: a failed assertion or an unusable handle rejects rather than throws; the part before the
  // first await (reserving the position) still runs at the call.
  async append(data: Uint8Array): Promise<void> {
    const early = this.unusable();
    if (early !== undefined) return early;
    const copy = data.slice();
    this.size += copy.length;
    return this.enqueue('append', copy, () => {
      if (this.mount.disk.full) throw this.fail(new Error('disk full'));
      this.file.append(copy);
    });
  }

  async read(position: number, length: number): Promise<Uint8Array> {
    assertNonNegativeInteger(position, 'read position');
    assertNonNegativeInteger(length, 'read length');
    assert(position + length <= this.size, `read ${position}+${length} beyond the end ${this.size} of ${this.name}`);
    assert(!this.closed, `read: ${this.name} is closed`);
    this.mount.checkAlive();
    // Bytes of appends still queued are there once the queue has drained that far.
    const waitMs = position + length > this.file.length ? Math.max(0, this.queueDoneAtMs - this.mount.disk.clockNowMs) : 0;
    return this.mount.after(Math.max(waitMs, this.mount.disk.drawMs('data')), () => {
      if (position + length > this.file.length) throw new Error(`${this.name}: short read at ${position} (the file shrank behind this handle)`);
      return this.file.bytes(position, position + length);
    });
  }

  async sync(): Promise<void> {
    const early = this.unusable();
    if (early !== undefined) return early;
    this.mount.disk.syncCount++;
    const target = this.size;
    const generation = this.file.generation;
    const nowMs = this.mount.disk.clockNowMs;
    const delayMs = Math.max(this.mount.disk.drawMs('sync'), this.queueDoneAtMs - nowMs);
    return this.mount.after(delayMs, () => {
      if (this.failure !== undefined) throw this.failure;
      // A truncation since the call made everything before it durable; nothing more to do.
      if (this.file.generation !== generation) return;
      this.file.durableLength = Math.max(this.file.durableLength, Math.min(target, this.file.length));
    });
  }

  async truncate(size: number): Promise<void> {
    const early = this.unusable();
    if (early !== undefined) return early;
    assertNonNegativeInteger(size, 'truncate size');
    assert(size <= this.size, `truncate ${this.name} to ${size}: beyond its size ${this.size}`);
    this.size = size;
    return this.enqueue('truncate', undefined, () => {
      this.file.cut(size);
      this.file.durableLength = size;
      this.file.generation++;
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.mount.isDead) return;
    // Wait for the queue to drain (in virtual time), then let go.
    const waitMs = Math.max(0, this.queueDoneAtMs - this.mount.disk.clockNowMs);
    if (waitMs > 0 || this.queue.length > 0) await this.mount.after(waitMs, () => undefined).catch(() => {});
    this.mount.releaseHandle(this.path, this);
  }

  private enqueue(kind: QueuedWrite['kind'], data: Uint8Array | undefined, effect: () => void): Promise<void> {
    this.mount.checkAlive();
    const nowMs = this.mount.disk.clockNowMs;
    const doneAtMs = Math.max(nowMs + this.mount.disk.drawMs(kind === 'append' ? 'data' : 'sync'), this.queueDoneAtMs);
    this.queueDoneAtMs = doneAtMs;
    let entry: QueuedWrite | undefined;
    const promise = this.mount.after(doneAtMs - nowMs, () => {
      assert(this.queue[0] === entry, 'queued writes complete in call order');
      this.queue.shift();
      if (this.failure !== undefined) throw this.failure;
      effect();
    });
    entry = { kind, data };
    this.queue.push(entry);
    return promise;
  }

  private unusable(): Promise<never> | undefined {
    if (this.mount.isDead) return Promise.reject(new Error('log fs: the process crashed'));
    if (this.closed) return Promise.reject(new Error(`${this.name} is closed`));
    if (this.failure !== undefined) return Promise.reject(this.failure);
    return undefined;
  }

  private fail(error: Error): Error {
    if (this.failure === undefined) this.failure = error;
    return this.failure;
  }
}
