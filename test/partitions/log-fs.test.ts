/**
 * Runs the log-fs contract against node:fs (a temporary directory) and the simulated disk, then tests
 * what only one of them has: the simulated disk's faults (process crash, power loss with and without
 * torn tails, bit rot, disk full, latency, determinism) and node:fs's cleanup of temporary files.
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { NodeLogFileSystem, SYNC_WRITE_BYTES_MAX } from '../../src/node/node-log-fs.js';
import type { LogFileSystem } from '../../src/partitions/log-fs.js';
import { logFsContract } from './log-fs-contract.js';
import { bytesOf, rejection, settled, simDisk, tempDir, textOf } from './log-fs-fixtures.js';

describe('log-fs contract: node:fs', () => {
  logFsContract(async () => {
    const dir = await tempDir('skein-log-fs-');
    return {
      fs: await NodeLogFileSystem.open(dir.path),
      reopen: () => NodeLogFileSystem.open(dir.path),
      cleanup: dir.remove,
    };
  });
});

describe('log-fs contract: simulated disk', () => {
  logFsContract(async () => {
    const { clock, disk } = simDisk(7);
    return {
      fs: disk.mount(),
      reopen: async () => {
        await clock.runAll();
        disk.unmount();
        return disk.mount();
      },
      cleanup: async () => {
        await clock.runAll();
      },
    };
  });
});

describe('node log fs', () => {
  it('deletes temporary files of interrupted atomic writes when the directory is opened', async () => {
    const dir = await tempDir('skein-log-fs-');
    try {
      const fs = await NodeLogFileSystem.open(dir.path);
      const partition = await fs.directory('p-0');
      await partition.writeFileAtomically('checkpoint', bytesOf('old'));
      await writeFile(join(dir.path, 'p-0', 'checkpoint.tmp'), 'half-written');
      await fs.directory('p-0');
      expect(await partition.list()).to.deep.equal(['checkpoint']);
      expect(await readFile(join(dir.path, 'p-0', 'checkpoint'), 'utf8')).to.equal('old');
      await rejection(readFile(join(dir.path, 'p-0', 'checkpoint.tmp')));
    } finally {
      await dir.remove();
    }
  });

  it('writes appends where the operating system sees them, before any sync', async () => {
    const dir = await tempDir('skein-log-fs-');
    try {
      const fs = await NodeLogFileSystem.open(dir.path);
      const file = await (await fs.directory('p-0')).open('00.log', { create: true });
      await file.append(bytesOf('abc'));
      expect(await readFile(join(dir.path, 'p-0', '00.log'), 'utf8')).to.equal('abc');
      await file.close();
    } finally {
      await dir.remove();
    }
  });

  it('writes small appends on the event loop and large ones in the thread pool, in call order', async () => {
    const dir = await tempDir('skein-log-fs-');
    try {
      const fs = await NodeLogFileSystem.open(dir.path);
      const file = await (await fs.directory('p-0')).open('00.log', { create: true });
      const filled = (length: number, byte: number): Uint8Array => new Uint8Array(length).fill(byte);
      const appends = [
        filled(10, 1),
        filled(SYNC_WRITE_BYTES_MAX, 2),
        filled(SYNC_WRITE_BYTES_MAX + 1, 3),
        filled(7, 4),
        filled(3 * SYNC_WRITE_BYTES_MAX, 5),
        filled(5, 6),
      ];
      // A small append on an idle file completes within microtasks: no I/O callback is awaited.
      let firstDone = false;
      const first = file.append(appends[0]!).then(() => void (firstDone = true));
      for (let i = 0; i < 10; i++) await Promise.resolve();
      expect(firstDone, 'a small append completed without a thread-pool round trip').to.equal(true);
      expect(readFileSync(join(dir.path, 'p-0', '00.log')).length).to.equal(10);
      // The rest in one go: those queued behind the large write in flight are coalesced.
      await Promise.all([first, ...appends.slice(1).map((data) => file.append(data))]);
      const expected = Buffer.concat(appends);
      expect(Buffer.from(await readFile(join(dir.path, 'p-0', '00.log'))).equals(expected)).to.equal(true);
      expect(Buffer.from(await file.read(0, expected.length)).equals(expected)).to.equal(true);
      await file.close();
    } finally {
      await dir.remove();
    }
  });
});

describe('simulated log disk: faults', () => {
  async function fileWith(fs: LogFileSystem, text: string, sync: boolean): Promise<void> {
    const file = await (await fs.directory('p-0')).open('f.log', { create: true });
    await file.append(bytesOf(text));
    if (sync) await file.sync();
    await file.close();
  }

  it('a process crash keeps unsynced appends (the page cache outlives the process)', async () => {
    const { disk } = simDisk(1);
    const fs = disk.mount();
    const dir = await fs.directory('p-0');
    const file = await dir.open('f.log', { create: true });
    await file.append(bytesOf('synced '));
    await file.sync();
    await file.append(bytesOf('unsynced'));
    disk.processCrash();
    expect(disk.durableSize('p-0', 'f.log')).to.equal(7);
    const fs2 = disk.mount();
    expect(textOf(await (await fs2.directory('p-0')).readFile('f.log'))).to.equal('synced unsynced');
  });

  it('a crashed process: pending promises never settle, later calls reject', async () => {
    const { clock, disk } = simDisk(1, false);
    const fs = disk.mount();
    const dirPromise = fs.directory('p-0');
    await clock.advance(10);
    const dir = await dirPromise;
    const openPromise = dir.open('f.log', { create: true });
    await clock.advance(10);
    const file = await openPromise;
    const append = file.append(bytesOf('x'));
    disk.processCrash();
    await clock.runAll();
    expect(await settled(append)).to.equal(false);
    expect((await rejection(file.append(bytesOf('y')))).message).to.match(/crashed/);
    expect((await rejection(dir.list())).message).to.match(/crashed/);
  });

  it('of the appends in flight at a process crash, a prefix lands whole (over many seeds, several outcomes)', async () => {
    const outcomes = new Set<string>();
    for (let seed = 1; seed <= 30; seed++) {
      const { clock, disk } = simDisk(seed, false);
      const fs = disk.mount();
      const dirPromise = fs.directory('p-0');
      await clock.advance(10);
      const openPromise = (await dirPromise).open('f.log', { create: true });
      await clock.advance(10);
      const file = await openPromise;
      void file.append(bytesOf('aa'));
      void file.append(bytesOf('bbb'));
      void file.append(bytesOf('cccc'));
      disk.processCrash();
      const text = textOf(disk.cachedBytes('p-0', 'f.log'))!;
      expect(['', 'aa', 'aabbb', 'aabbbcccc']).to.include(text);
      outcomes.add(text);
    }
    expect(outcomes.size).to.be.greaterThan(1);
  });

  it('a power loss keeps exactly the synced bytes, truncations, new files and atomic writes', async () => {
    const { disk } = simDisk(2);
    const fs = disk.mount();
    const dir = await fs.directory('p-0');
    const file = await dir.open('f.log', { create: true });
    await file.append(bytesOf('0123456789'));
    await file.truncate(5);
    await file.append(bytesOf('abc'));
    await file.sync();
    await file.append(bytesOf('lost'));
    await dir.open('empty.log', { create: true });
    await dir.writeFileAtomically('checkpoint', bytesOf('v1'));
    disk.powerLoss({ torn: false });
    const dir2 = await disk.mount().directory('p-0');
    expect(await dir2.list()).to.deep.equal(['checkpoint', 'empty.log', 'f.log']);
    expect(textOf(await dir2.readFile('f.log'))).to.equal('01234abc');
    expect(textOf(await dir2.readFile('checkpoint'))).to.equal('v1');
  });

  it('an atomic write in flight at a power loss leaves the old content', async () => {
    const { clock, disk } = simDisk(3, false);
    const fs = disk.mount();
    const dirPromise = fs.directory('p-0');
    await clock.runAll();
    const dir = await dirPromise;
    const first = dir.writeFileAtomically('checkpoint', bytesOf('old'));
    await clock.runAll();
    await first;
    void dir.writeFileAtomically('checkpoint', bytesOf('new'));
    disk.powerLoss({ torn: true });
    expect(textOf(disk.durableBytes('p-0', 'checkpoint'))).to.equal('old');
  });

  it('a torn power loss keeps the synced bytes plus a prefix of the rest, only its last bytes garbled', async () => {
    const synced = 'S'.repeat(20);
    const unsynced = 'u'.repeat(40);
    const lengths = new Set<number>();
    let garbled = 0;
    for (let seed = 1; seed <= 40; seed++) {
      const { disk } = simDisk(seed);
      const fs = disk.mount();
      const file = await (await fs.directory('p-0')).open('f.log', { create: true });
      await file.append(bytesOf(synced));
      await file.sync();
      await file.append(bytesOf(unsynced));
      disk.powerLoss({ torn: true });
      const text = Buffer.from(disk.cachedBytes('p-0', 'f.log')!).toString('latin1');
      expect(text.length).to.be.within(20, 60);
      expect(text.slice(0, 20)).to.equal(synced);
      const intact = Math.max(20, text.length - 8);
      expect(text.slice(20, intact)).to.equal(unsynced.slice(0, intact - 20));
      if (text.slice(20) !== unsynced.slice(0, text.length - 20)) garbled++;
      expect(disk.durableSize('p-0', 'f.log')).to.equal(text.length);
      lengths.add(text.length);
    }
    expect(lengths.size).to.be.greaterThan(5);
    expect(garbled).to.be.greaterThan(0);
  });

  it('a sync makes durable the appends called before it, not those after', async () => {
    const { clock, disk } = simDisk(4, false);
    const fs = disk.mount();
    const dirPromise = fs.directory('p-0');
    await clock.runAll();
    const openPromise = (await dirPromise).open('f.log', { create: true });
    await clock.runAll();
    const file = await openPromise;
    void file.append(bytesOf('before'));
    const sync = file.sync();
    void file.append(bytesOf('after'));
    await clock.runAll();
    await sync;
    expect(disk.durableSize('p-0', 'f.log')).to.equal(6);
    expect(textOf(disk.cachedBytes('p-0', 'f.log'))).to.equal('beforeafter');
    expect(disk.syncCount).to.equal(1);
  });

  it('a flipped bit is seen by later reads and survives a power loss', async () => {
    const { disk } = simDisk(5);
    const fs = disk.mount();
    await fileWith(fs, 'abc', true);
    disk.flipBit('p-0', 'f.log', 1, 0);
    const file = await (await fs.directory('p-0')).open('f.log', { create: false });
    expect(textOf(await file.read(0, 3))).to.equal('acc');
    disk.powerLoss({ torn: false });
    expect(textOf(disk.durableBytes('p-0', 'f.log'))).to.equal('acc');
  });

  it('a full disk rejects appends and atomic writes, writes nothing, and leaves the handle unusable', async () => {
    const { disk } = simDisk(6);
    const fs = disk.mount();
    const dir = await fs.directory('p-0');
    await dir.writeFileAtomically('checkpoint', bytesOf('old'));
    const file = await dir.open('f.log', { create: true });
    await file.append(bytesOf('kept'));
    disk.full = true;
    expect((await rejection(file.append(bytesOf('x')))).message).to.equal('disk full');
    expect((await rejection(file.sync())).message).to.equal('disk full');
    expect((await rejection(dir.writeFileAtomically('checkpoint', bytesOf('new')))).message).to.equal('disk full');
    expect(textOf(await dir.readFile('checkpoint'))).to.equal('old');
    expect(textOf(disk.cachedBytes('p-0', 'f.log'))).to.equal('kept');
    disk.full = false;
    await file.close();
    const again = await dir.open('f.log', { create: false });
    expect(again.size).to.equal(4);
    await again.append(bytesOf('!'));
    expect(textOf(await again.read(0, 5))).to.equal('kept!');
  });

  it('operations take virtual time within the latency range, and a seed replays the same times', async () => {
    async function trace(seed: number): Promise<number[]> {
      const { clock, disk } = simDisk(seed, false);
      const times: number[] = [];
      const fs = disk.mount();
      const dirPromise = fs.directory('p-0');
      await clock.runAll();
      const openPromise = (await dirPromise).open('f.log', { create: true });
      await clock.runAll();
      const file = await openPromise;
      const start = clock.nowMs();
      const ops = [file.append(bytesOf('a')), file.append(bytesOf('b')), file.sync(), file.append(bytesOf('c'))];
      for (const op of ops) void op.then(() => times.push(clock.nowMs() - start));
      expect(await settled(ops[0]!)).to.equal(false);
      await clock.runAll();
      return times;
    }
    const first = await trace(11);
    expect(first).to.have.length(4);
    for (const t of first) expect(t).to.be.within(0, 10);
    expect(await trace(11)).to.deep.equal(first);
  });
});
