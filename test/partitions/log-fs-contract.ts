/**
 * The contract suite of the partition-log disk port (src/partitions/log-fs.ts), run against every
 * implementation: node:fs and the simulated disk (test/partitions/log-fs.test.ts). Each test states
 * one clause of the contract and fails if an implementation breaks it. What survives a crash is
 * tested where a crash can be made: in the simulated disk's own tests.
 *
 * The fixture: `fs` is a fresh, empty file system; `reopen()` is the same disk seen by a new process
 * after a clean exit (every handle closed by the test first); `cleanup()` removes everything.
 */
import { expect } from 'chai';
import { AssertionError } from '../../src/util/assert.js';
import { LogFsError } from '../../src/partitions/log-fs.js';
import type { LogFileSystem } from '../../src/partitions/log-fs.js';
import { bytesOf, rejection, textOf } from './log-fs-fixtures.js';

export interface LogFsFixture {
  readonly fs: LogFileSystem;
  readonly reopen: () => Promise<LogFileSystem>;
  readonly cleanup: () => Promise<void>;
}

export function logFsContract(makeFixture: () => Promise<LogFsFixture>): void {
  let fixture: LogFsFixture;
  let fs: LogFileSystem;

  beforeEach(async () => {
    fixture = await makeFixture();
    fs = fixture.fs;
  });

  afterEach(async () => {
    await fixture.cleanup();
  });

  it('creates directories on demand, lists them sorted and removes them with their files', async () => {
    expect(await fs.listDirectories()).to.deep.equal([]);
    const b = await fs.directory('orders-1');
    await fs.directory('orders-0');
    const file = await b.open('a.log', { create: true });
    await file.append(bytesOf('x'));
    await file.close();
    expect(await fs.listDirectories()).to.deep.equal(['orders-0', 'orders-1']);
    await fs.removeDirectory('orders-1');
    await fs.removeDirectory('missing');
    expect(await fs.listDirectories()).to.deep.equal(['orders-0']);
    const again = await fs.directory('orders-1');
    expect(await again.list()).to.deep.equal([]);
  });

  it('opens a missing file only with create, and lists files sorted', async () => {
    const dir = await fs.directory('p-0');
    const missing = await rejection(dir.open('b.log', { create: false }));
    expect(missing).to.be.instanceOf(LogFsError);
    expect((missing as LogFsError).code).to.equal('NOT_FOUND');
    const b = await dir.open('b.log', { create: true });
    const a = await dir.open('a.log', { create: true });
    expect(b.size).to.equal(0);
    expect(await dir.list()).to.deep.equal(['a.log', 'b.log']);
    await a.close();
    await b.close();
  });

  it('appends land in call order; size counts them at the call; reads wait for them', async () => {
    const dir = await fs.directory('p-0');
    const file = await dir.open('f.log', { create: true });
    const writes = [file.append(bytesOf('hello ')), file.append(bytesOf('log ')), file.append(bytesOf('world'))];
    expect(file.size).to.equal(15);
    // The range includes bytes of appends that may not have resolved yet.
    expect(textOf(await file.read(0, 15))).to.equal('hello log world');
    await Promise.all(writes);
    expect(textOf(await file.read(6, 3))).to.equal('log');
    expect(textOf(await file.read(15, 0))).to.equal('');
    await file.close();
    expect(textOf(await dir.readFile('f.log'))).to.equal('hello log world');
  });

  it('never shares buffers with the caller', async () => {
    const dir = await fs.directory('p-0');
    const file = await dir.open('f.log', { create: true });
    const input = bytesOf('abc');
    await file.append(input);
    input[0] = 0x7a;
    const read = await file.read(0, 3);
    read[1] = 0x7a;
    expect(textOf(await file.read(0, 3))).to.equal('abc');
    await file.close();
  });

  it('rejects reads beyond the end as programmer errors', async () => {
    const dir = await fs.directory('p-0');
    const file = await dir.open('f.log', { create: true });
    await file.append(bytesOf('abc'));
    expect(await rejection(file.read(2, 2))).to.be.instanceOf(AssertionError);
    await file.close();
  });

  it('truncates to a size, and later appends continue there', async () => {
    const dir = await fs.directory('p-0');
    const file = await dir.open('f.log', { create: true });
    await file.append(bytesOf('0123456789'));
    await file.truncate(4);
    expect(file.size).to.equal(4);
    await file.append(bytesOf('ab'));
    expect(textOf(await file.read(0, 6))).to.equal('0123ab');
    expect(await rejection(file.truncate(7))).to.be.instanceOf(AssertionError);
    await file.close();
    expect(textOf(await dir.readFile('f.log'))).to.equal('0123ab');
  });

  it('keeps appended, synced and truncated content across a reopen, and appends continue at the end', async () => {
    const dir = await fs.directory('p-0');
    const file = await dir.open('f.log', { create: true });
    await file.append(bytesOf('abc'));
    await file.sync();
    await file.append(bytesOf('def'));
    await file.close();
    const fs2 = await fixture.reopen();
    const dir2 = await fs2.directory('p-0');
    const again = await dir2.open('f.log', { create: false });
    expect(again.size).to.equal(6);
    await again.append(bytesOf('g'));
    expect(textOf(await again.read(0, 7))).to.equal('abcdefg');
    await again.close();
  });

  it('sync covers the appends called before it and lets later appends proceed', async () => {
    const dir = await fs.directory('p-0');
    const file = await dir.open('f.log', { create: true });
    void file.append(bytesOf('a'));
    const sync = file.sync();
    const later = file.append(bytesOf('b'));
    await Promise.all([sync, later, file.sync()]);
    expect(textOf(await file.read(0, 2))).to.equal('ab');
    await file.close();
  });

  it('removes closed files (a missing one is no error) and rejects removing an open one', async () => {
    const dir = await fs.directory('p-0');
    const file = await dir.open('f.log', { create: true });
    expect(await rejection(dir.remove('f.log'))).to.be.instanceOf(AssertionError);
    await file.close();
    await dir.remove('f.log');
    await dir.remove('f.log');
    expect(await dir.list()).to.deep.equal([]);
    expect(await dir.readFile('f.log')).to.equal(undefined);
  });

  it('renames atomically, replacing the target; a missing source is NOT_FOUND', async () => {
    const dir = await fs.directory('p-0');
    await dir.writeFileAtomically('a', bytesOf('A'));
    await dir.writeFileAtomically('b', bytesOf('B'));
    await dir.rename('a', 'b');
    expect(await dir.list()).to.deep.equal(['b']);
    expect(textOf(await dir.readFile('b'))).to.equal('A');
    const missing = await rejection(dir.rename('a', 'c'));
    expect((missing as LogFsError).code).to.equal('NOT_FOUND');
  });

  it('writes whole files atomically, replacing the old content, and never lists temporary files', async () => {
    const dir = await fs.directory('p-0');
    await dir.writeFileAtomically('checkpoint', bytesOf('one'));
    await dir.writeFileAtomically('checkpoint', bytesOf('second'));
    expect(textOf(await dir.readFile('checkpoint'))).to.equal('second');
    expect(await dir.list()).to.deep.equal(['checkpoint']);
    const fs2 = await fixture.reopen();
    expect(textOf(await (await fs2.directory('p-0')).readFile('checkpoint'))).to.equal('second');
  });

  it('keeps directories apart', async () => {
    const a = await fs.directory('t-0');
    const b = await fs.directory('t-1');
    await a.writeFileAtomically('x', bytesOf('in a'));
    expect(await b.readFile('x')).to.equal(undefined);
    expect(await b.list()).to.deep.equal([]);
  });

  it('asserts on invalid or reserved names and on a second handle to one file', async () => {
    const dir = await fs.directory('p-0');
    for (const name of ['', '.', '..', 'a/b', 'x.tmp', 'a b']) {
      expect(await rejection(dir.open(name, { create: true })), name).to.be.instanceOf(AssertionError);
    }
    expect(await rejection(fs.directory('a/b'))).to.be.instanceOf(AssertionError);
    const file = await dir.open('f.log', { create: true });
    expect(await rejection(dir.open('f.log', { create: true }))).to.be.instanceOf(AssertionError);
    await file.close();
    const again = await dir.open('f.log', { create: false });
    await again.close();
  });

  it('rejects every call on a closed handle but reads, which assert', async () => {
    const dir = await fs.directory('p-0');
    const file = await dir.open('f.log', { create: true });
    await file.close();
    await file.close();
    await rejection(file.append(bytesOf('x')));
    await rejection(file.sync());
    await rejection(file.truncate(0));
  });
}
