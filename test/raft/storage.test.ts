/**
 * Runs the RaftStorage contract against LevelDB (a temporary directory) and the simulated disk, then
 * tests what only one of them has: the simulated disk's faults (crash, torn write, wipe, disk full)
 * and LevelDB's detection of bytes corrupted behind its back.
 */
import { expect } from 'chai';
import { settle, TestClock } from '../support/test-clock.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Level } from 'level';
import { LevelRaftStorage, levelEntryKey } from '../../src/node/level-raft-storage.js';
import type { RaftStorage, StoredState, StorageUpdate } from '../../src/raft/storage.js';
import { NO_NODE } from '../../src/raft/types.js';
import { SeededRandom } from '../../src/util/random.js';
import type { Random } from '../../src/util/random.js';
import { SimDisk } from '../../sim/sim-raft-storage.js';
import { entries, entry, plainEntries, rejection, storageContract } from './storage-contract.js';


/** Always the largest value: the longest latency, the longest torn prefix, the last byte, bit 7. */
const maxRandom: Random = { int: (maxExclusive) => maxExclusive - 1, float: () => 0.999 };


/** Whether `promise` has settled by the time pending reactions have run. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  promise.then(
    () => (done = true),
    () => (done = true),
  );
  await settle();
  return done;
}

storageContract('LevelRaftStorage', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'skein-raft-storage-'));
  let latest = await LevelRaftStorage.open(dir);
  return {
    storage: latest,
    reopen: async () => (latest = await LevelRaftStorage.open(dir)),
    cleanup: async () => {
      await latest.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});

storageContract('SimDisk', async () => {
  const disk = new SimDisk({ clock: new TestClock(true), random: new SeededRandom(7), writeLatencyMs: { min: 1, max: 20 } });
  let latest = disk.open();
  return {
    storage: latest,
    reopen: async () => (latest = disk.open()),
    cleanup: async () => latest.close(),
  };
});

describe('SimDisk faults', () => {
  let clock: TestClock;

  /** Starts an operation, runs the virtual clock, and returns its result. */
  async function run<T>(promise: Promise<T>): Promise<T> {
    await clock.runAll();
    return promise;
  }

  function makeDisk(random: Random = new SeededRandom(1)): SimDisk {
    clock = new TestClock(false);
    return new SimDisk({ clock, random, writeLatencyMs: { min: 5, max: 50 } });
  }

  it('completes a save only after a latency drawn from the range, on the virtual clock', async () => {
    const disk = makeDisk();
    const storage = disk.open();
    await run(storage.load());
    const startMs = clock.nowMs();
    const saving = storage.save({ hardState: { term: 1, vote: 1 } });
    expect(await settled(saving)).to.equal(false);
    expect(disk.durableHardState().term).to.equal(0);
    await run(saving);
    expect(clock.nowMs() - startMs).to.be.within(5, 50);
    expect(disk.durableHardState()).to.deep.equal({ term: 1, vote: 1 });
  });

  it('a crash loses the in-flight save; its promise never settles and the dead handle rejects', async () => {
    const disk = makeDisk();
    const durable: StorageUpdate[] = [];
    disk.onDurable = (update) => durable.push(update);
    const storage = disk.open();
    await run(storage.load());
    const first: StorageUpdate = { hardState: { term: 1, vote: 1 }, entries: entries(1, 3, 1) };
    await run(storage.save(first));
    expect(durable).to.deep.equal([first]);

    const lost = storage.save({ hardState: { term: 2, vote: 2 }, entries: entries(4, 6, 2) });
    disk.crash({ tornWrite: false });
    await clock.runAll();
    expect(await settled(lost)).to.equal(false);
    expect(clock.pendingTimers).to.equal(0);
    expect(durable).to.have.length(1);
    await rejection(storage.load());
    await rejection(storage.save({ hardState: { term: 3, vote: NO_NODE } }));

    expect(disk.durableLastIndex()).to.equal(3);
    const restarted = disk.open();
    const state = await run(restarted.load());
    expect(state.hardState).to.deep.equal({ term: 1, vote: 1 });
    expect(plainEntries(state.entries)).to.deep.equal(plainEntries(entries(1, 3, 1)));
  });

  it('a torn write leaves a prefix whose last entry is corrupt; load drops it', async () => {
    const disk = makeDisk(maxRandom);
    const storage = disk.open();
    await run(storage.load());
    await run(storage.save({ hardState: { term: 1, vote: 1 }, entries: entries(1, 5, 1) }));
    // A new leader's entries replace 3..5; the crash tears the write after all four reached the disk.
    void storage.save({ hardState: { term: 2, vote: 2 }, entries: entries(3, 6, 2) });
    disk.crash({ tornWrite: true });

    // Entry 6 reached the disk with a flipped bit: not durable. Its hard state never landed.
    expect(disk.durableLastIndex()).to.equal(5);
    expect(disk.durableTermAt(3)).to.equal(2);
    expect(disk.durableTermAt(6)).to.equal(undefined);
    expect(disk.durableHardState()).to.deep.equal({ term: 1, vote: 1 });

    const state = await run(disk.open().load());
    expect(state.hardState).to.deep.equal({ term: 1, vote: 1 });
    expect(plainEntries(state.entries)).to.deep.equal(plainEntries([...entries(1, 2, 1), ...entries(3, 5, 2)]));
  });

  it('across seeds, a torn write keeps a prefix of the old log and the new entries, never a corrupt entry', async () => {
    const lastIndexes = new Set<number>();
    for (let seed = 1; seed <= 40; seed++) {
      const disk = makeDisk(new SeededRandom(seed));
      const storage = disk.open();
      await run(storage.load());
      await run(storage.save({ hardState: { term: 1, vote: 1 }, entries: entries(1, 3, 1) }));
      void storage.save({ hardState: { term: 1, vote: 1 }, entries: entries(4, 10, 1) });
      disk.crash({ tornWrite: true });
      const lastIndex = disk.durableLastIndex();
      expect(lastIndex).to.be.within(3, 9);
      const restarted = disk.open();
      const state = await run(restarted.load());
      expect(plainEntries(state.entries)).to.deep.equal(plainEntries(entries(1, lastIndex, 1)));
      // The corrupt entry was deleted: the log continues right after the valid prefix.
      await run(restarted.save({ entries: [entry(lastIndex + 1, 2)] }));
      await restarted.close();
      const again = await run(disk.open().load());
      expect(again.entries.at(-1)?.index).to.equal(lastIndex + 1);
      lastIndexes.add(lastIndex);
    }
    expect(lastIndexes.size).to.be.greaterThan(2);
  });

  it('a torn write of an update that carries a snapshot loses it whole', async () => {
    const disk = makeDisk(maxRandom);
    const storage = disk.open();
    await run(storage.load());
    await run(storage.save({ entries: entries(1, 5, 1) }));
    void storage.save({ snapshot: { index: 8, term: 2, data: new Uint8Array([1]) }, discardLog: true, entries: entries(9, 10, 2) });
    disk.crash({ tornWrite: true });
    const state = await run(disk.open().load());
    expect(state.snapshot).to.equal(undefined);
    expect(plainEntries(state.entries)).to.deep.equal(plainEntries(entries(1, 5, 1)));
  });

  it('the same seed tears the same way', async () => {
    async function tear(seed: number): Promise<StoredState> {
      const disk = makeDisk(new SeededRandom(seed));
      const storage = disk.open();
      await run(storage.load());
      void storage.save({ entries: entries(1, 30, 1) });
      disk.crash({ tornWrite: true });
      return run(disk.open().load());
    }
    expect(plainEntries((await tear(99)).entries)).to.deep.equal(plainEntries((await tear(99)).entries));
  });

  it('wipe loses everything and kills the live handle', async () => {
    const disk = makeDisk();
    const storage = disk.open();
    await run(storage.load());
    await run(
      storage.save({
        hardState: { term: 4, vote: 2 },
        snapshot: { index: 3, term: 2, data: new Uint8Array([9]) },
        entries: entries(4, 6, 4),
      }),
    );
    expect(disk.durableLastIndex()).to.equal(6);
    disk.wipe();
    await rejection(storage.load());
    expect(disk.durableHardState()).to.deep.equal({ term: 0, vote: NO_NODE });
    expect(disk.durableLastIndex()).to.equal(0);
    expect(disk.durableTermAt(3)).to.equal(undefined);
    const state = await run(disk.open().load());
    expect(state).to.deep.equal({ hardState: { term: 0, vote: NO_NODE }, snapshot: undefined, entries: [] });
  });

  it('a full disk rejects the save with "disk full" and writes nothing', async () => {
    const disk = makeDisk();
    const storage = disk.open();
    await run(storage.load());
    await run(storage.save({ hardState: { term: 1, vote: 1 }, entries: entries(1, 2, 1) }));
    disk.full = true;
    const error = await rejection(run(storage.save({ hardState: { term: 2, vote: 2 }, entries: entries(3, 4, 2) })));
    expect(error.message).to.equal('disk full');
    expect(disk.durableLastIndex()).to.equal(2);
    expect(disk.durableHardState()).to.deep.equal({ term: 1, vote: 1 });
    // The node crashes on it; with space freed, it restarts on the state before.
    disk.crash({ tornWrite: false });
    disk.full = false;
    const state = await run(disk.open().load());
    expect(plainEntries(state.entries)).to.deep.equal(plainEntries(entries(1, 2, 1)));
  });

  it('durableTermAt answers the snapshot term at exactly the snapshot index', async () => {
    const disk = makeDisk();
    const storage = disk.open();
    await run(storage.load());
    await run(storage.save({ entries: [...entries(1, 4, 1), ...entries(5, 7, 2)] }));
    expect([0, 1, 4, 5, 7, 8].map((i) => disk.durableTermAt(i))).to.deep.equal([undefined, 1, 1, 2, 2, undefined]);
    await run(storage.save({ snapshot: { index: 5, term: 2, data: new Uint8Array() } }));
    expect([4, 5, 6, 7, 8].map((i) => disk.durableTermAt(i))).to.deep.equal([undefined, 2, 2, 2, undefined]);
    expect(disk.durableLastIndex()).to.equal(7);
    await run(storage.save({ snapshot: { index: 9, term: 3, data: new Uint8Array() }, discardLog: true }));
    expect(disk.durableLastIndex()).to.equal(9);
    expect([7, 9, 10].map((i) => disk.durableTermAt(i))).to.deep.equal([undefined, 3, undefined]);
  });

  it('allows one handle at a time', async () => {
    const disk = makeDisk();
    const storage: RaftStorage = disk.open();
    expect(() => disk.open()).to.throw(/still open/);
    await storage.close();
    await run(disk.open().load());
  });
});

describe('LevelRaftStorage recovery', () => {
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'skein-raft-level-'));
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** Opens the database behind the storage's back. */
  async function tamper(fn: (db: Level<string, Uint8Array>) => Promise<void>): Promise<void> {
    const db = new Level<string, Uint8Array>(dir, { keyEncoding: 'utf8', valueEncoding: 'view' });
    await db.open();
    try {
      await fn(db);
    } finally {
      await db.close();
    }
  }

  async function entryKeys(): Promise<string[]> {
    let keys: string[] = [];
    await tamper(async (db) => {
      keys = await db.keys({ gte: 'e/', lt: 'e0' }).all();
    });
    return keys;
  }

  async function seed(): Promise<void> {
    const storage = await LevelRaftStorage.open(dir);
    await storage.load();
    await storage.save({ hardState: { term: 1, vote: 1 }, entries: entries(1, 5, 1) });
    await storage.close();
  }

  it('detects a corrupted byte in a stored entry and drops it and everything after', async () => {
    await seed();
    await tamper(async (db) => {
      const value = await db.get(levelEntryKey(3));
      expect(value).to.not.equal(undefined);
      const corrupt = Uint8Array.from(value!);
      corrupt[corrupt.length - 1]! ^= 0x10;
      await db.put(levelEntryKey(3), corrupt);
    });
    const storage = await LevelRaftStorage.open(dir);
    const state = await storage.load();
    expect(state.hardState).to.deep.equal({ term: 1, vote: 1 });
    expect(plainEntries(state.entries)).to.deep.equal(plainEntries(entries(1, 2, 1)));
    // The log continues at 3.
    await storage.save({ entries: [entry(3, 2)] });
    await storage.close();
    expect(await entryKeys()).to.deep.equal([1, 2, 3].map(levelEntryKey));
  });

  it('drops the entries after a missing one (not contiguous) and deletes them', async () => {
    await seed();
    await tamper((db) => db.del(levelEntryKey(3)));
    const storage = await LevelRaftStorage.open(dir);
    expect(plainEntries((await storage.load()).entries)).to.deep.equal(plainEntries(entries(1, 2, 1)));
    await storage.close();
    expect(await entryKeys()).to.deep.equal([1, 2].map(levelEntryKey));
  });

  it('drops an entry stored under the wrong key', async () => {
    await seed();
    await tamper(async (db) => {
      const value = await db.get(levelEntryKey(5));
      await db.put(levelEntryKey(4), value!);
    });
    const storage = await LevelRaftStorage.open(dir);
    expect((await storage.load()).entries.map((e) => e.index)).to.deep.equal([1, 2, 3]);
    await storage.close();
  });

  it('refuses to load a corrupt hard state instead of forgetting a vote', async () => {
    await seed();
    await tamper(async (db) => {
      const value = Uint8Array.from((await db.get('h'))!);
      value[5]! ^= 1;
      await db.put('h', value);
    });
    const storage = await LevelRaftStorage.open(dir);
    expect((await rejection(storage.load())).message).to.match(/hard state is corrupt/);
    await storage.close();
  });
});
