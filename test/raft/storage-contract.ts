/**
 * The contract suite of the Raft persistence port (src/raft/storage.ts), run against every
 * implementation: LevelDB and the simulated disk (test/raft/storage.test.ts). Each test states one
 * clause of the contract and fails if an implementation breaks it.
 *
 * The fixture: `storage` is a fresh, empty storage; `reopen()` opens a new handle on the same
 * persistent state (the caller has closed the previous one); `cleanup()` closes the latest handle and
 * removes the state.
 */
import { expect } from 'chai';
import { rejection } from '../support/promises.js';
import type { RaftStorage, StoredState, StorageUpdate } from '../../src/raft/storage.js';
import { EntryType, NO_NODE } from '../../src/raft/types.js';
import type { Entry } from '../../src/raft/types.js';

export interface StorageFixture {
  readonly storage: RaftStorage;
  readonly reopen: () => Promise<RaftStorage>;
  readonly cleanup: () => Promise<void>;
}

const encoder = new TextEncoder();

export function entry(index: number, term: number, data = `${index}@${term}`, type: EntryType = EntryType.Command): Entry {
  return { index, term, type, data: encoder.encode(data) };
}

export function entries(from: number, to: number, term: number): Entry[] {
  const result: Entry[] = [];
  for (let index = from; index <= to; index++) result.push(entry(index, term));
  return result;
}

/** Entries as plain values (data as hex), so that Buffer and Uint8Array views compare equal. */
export function plainEntries(list: readonly Entry[]): Array<{ index: number; term: number; type: number; data: string }> {
  return list.map((e) => ({ index: e.index, term: e.term, type: e.type, data: Buffer.from(e.data).toString('hex') }));
}

export function plainState(state: StoredState): unknown {
  const { snapshot } = state;
  return {
    hardState: { term: state.hardState.term, vote: state.hardState.vote },
    snapshot:
      snapshot === undefined
        ? undefined
        : { index: snapshot.index, term: snapshot.term, data: Buffer.from(snapshot.data).toString('hex') },
    entries: plainEntries(state.entries),
  };
}

export { rejection };

export function storageContract(name: string, make: () => Promise<StorageFixture>): void {
  describe(`RaftStorage contract: ${name}`, () => {
    let fixture: StorageFixture;
    let storage: RaftStorage;

    beforeEach(async () => {
      fixture = await make();
      storage = fixture.storage;
    });

    afterEach(async () => {
      await fixture.cleanup();
    });

    /** Closes the current handle, opens a new one on the same state and loads it. */
    async function reopenAndLoad(): Promise<StoredState> {
      await storage.close();
      storage = await fixture.reopen();
      return storage.load();
    }

    async function saveAll(...updates: StorageUpdate[]): Promise<void> {
      for (const update of updates) await storage.save(update);
    }

    it('loads an empty state on first start', async () => {
      const state = await storage.load();
      expect(state.hardState).to.deep.equal({ term: 0, vote: NO_NODE });
      expect(state.snapshot).to.equal(undefined);
      expect(state.entries).to.deep.equal([]);
    });

    it('round-trips the hard state; the latest save wins', async () => {
      await storage.load();
      await saveAll({ hardState: { term: 1, vote: NO_NODE } }, { hardState: { term: 1, vote: 2 } });
      expect((await storage.load()).hardState).to.deep.equal({ term: 1, vote: 2 });
      await storage.save({ hardState: { term: 3, vote: NO_NODE } });
      expect((await reopenAndLoad()).hardState).to.deep.equal({ term: 3, vote: NO_NODE });
    });

    it('appends entries, then replaces the suffix from a lower index', async () => {
      await storage.load();
      await storage.save({ entries: entries(1, 5, 1) });
      expect(plainEntries((await storage.load()).entries)).to.deep.equal(plainEntries(entries(1, 5, 1)));

      // A new leader's entries conflict from index 3: 3..5 go, 3..4 of term 2 come (Raft §5.3).
      await storage.save({ entries: entries(3, 4, 2), hardState: { term: 2, vote: 1 } });
      const expected = [...entries(1, 2, 1), ...entries(3, 4, 2)];
      expect(plainEntries((await storage.load()).entries)).to.deep.equal(plainEntries(expected));
      expect(plainEntries((await reopenAndLoad()).entries)).to.deep.equal(plainEntries(expected));

      // And the log grows again from its new end.
      await storage.save({ entries: [entry(5, 2)] });
      expect(plainEntries((await reopenAndLoad()).entries)).to.deep.equal(plainEntries([...expected, entry(5, 2)]));
    });

    it('a snapshot compacts the entries it covers and keeps the later ones', async () => {
      await storage.load();
      await storage.save({ entries: entries(1, 10, 1) });
      const snapshot = { index: 4, term: 1, data: encoder.encode('image@4') };
      await storage.save({ snapshot });
      for (const state of [await storage.load(), await reopenAndLoad()]) {
        expect(plainState(state)).to.deep.equal(
          plainState({ hardState: { term: 0, vote: NO_NODE }, snapshot, entries: entries(5, 10, 1) }),
        );
      }
      // A snapshot at the last index leaves no entries; the log continues right after it.
      await storage.save({ snapshot: { index: 10, term: 1, data: encoder.encode('image@10') } });
      expect((await storage.load()).entries).to.deep.equal([]);
      await storage.save({ entries: [entry(11, 2)] });
      const state = await reopenAndLoad();
      expect(state.snapshot?.index).to.equal(10);
      expect(Buffer.from(state.snapshot?.data ?? []).toString()).to.equal('image@10');
      expect(plainEntries(state.entries)).to.deep.equal(plainEntries([entry(11, 2)]));
    });

    it('a snapshot with discardLog drops every stored entry', async () => {
      await storage.load();
      await storage.save({ entries: entries(1, 10, 1) });
      // A follower installs a leader's snapshot at 6 (term 3) that its own log does not match.
      const snapshot = { index: 6, term: 3, data: encoder.encode('leader image') };
      await storage.save({ snapshot, discardLog: true, hardState: { term: 3, vote: NO_NODE } });
      let state = await storage.load();
      expect(state.entries).to.deep.equal([]);
      expect(state.snapshot?.index).to.equal(6);
      expect(state.snapshot?.term).to.equal(3);
      // Entries continue right after the snapshot; those after it in the discarded log stay gone.
      await storage.save({ entries: entries(7, 8, 3) });
      state = await reopenAndLoad();
      expect(plainEntries(state.entries)).to.deep.equal(plainEntries(entries(7, 8, 3)));

      // Snapshot, discardLog and entries in one update.
      await storage.save({ snapshot: { index: 20, term: 4, data: new Uint8Array() }, discardLog: true, entries: entries(21, 22, 4) });
      state = await reopenAndLoad();
      expect(state.snapshot?.index).to.equal(20);
      expect(plainEntries(state.entries)).to.deep.equal(plainEntries(entries(21, 22, 4)));
    });

    it('after close and reopen, load returns exactly what was saved', async () => {
      await storage.load();
      const big = new Uint8Array(70_000).map((_, i) => (i * 31) & 0xff);
      const log: Entry[] = [
        { index: 1, term: 1, type: EntryType.LeaderChange, data: new Uint8Array() },
        { index: 2, term: 1, type: EntryType.Command, data: big },
        entry(3, 1, 'x'),
        entry(4, 2, 'y'),
      ];
      await storage.save({ hardState: { term: 2, vote: 3 }, entries: log });
      await storage.save({ snapshot: { index: 2, term: 1, data: encoder.encode('two') } });
      const before = await storage.load();
      const expected = {
        hardState: { term: 2, vote: 3 },
        snapshot: { index: 2, term: 1, data: encoder.encode('two') },
        entries: log.slice(2),
      };
      expect(plainState(before)).to.deep.equal(plainState(expected));
      expect(plainState(await reopenAndLoad())).to.deep.equal(plainState(expected));
      // Twice, to be sure that recovery itself changed nothing.
      expect(plainState(await reopenAndLoad())).to.deep.equal(plainState(expected));
    });

    it('recovers on a save that comes before any load', async () => {
      await storage.load();
      await storage.save({ entries: entries(1, 3, 1), hardState: { term: 1, vote: 1 } });
      await storage.close();
      storage = await fixture.reopen();
      await storage.save({ entries: entries(3, 4, 2), hardState: { term: 2, vote: NO_NODE } });
      const state = await reopenAndLoad();
      expect(state.hardState).to.deep.equal({ term: 2, vote: NO_NODE });
      expect(plainEntries(state.entries)).to.deep.equal(plainEntries([...entries(1, 2, 1), ...entries(3, 4, 2)]));
    });

    it('rejects updates that would leave a gap or break the log, and stays usable', async () => {
      await storage.load();
      expect((await rejection(storage.save({ entries: [entry(2, 1)] }))).message).to.match(/gap/);
      await storage.save({ entries: entries(1, 3, 1) });
      expect((await rejection(storage.save({ entries: [entry(5, 1)] }))).message).to.match(/gap/);
      expect((await rejection(storage.save({ entries: [entry(4, 1), entry(6, 1)] }))).message).to.match(/contiguous/);
      expect((await rejection(storage.save({ entries: [entry(4, 2), entry(5, 1)] }))).message).to.match(/terms go back/);
      await storage.save({ snapshot: { index: 2, term: 1, data: new Uint8Array() } });
      expect((await rejection(storage.save({ entries: [entry(2, 2)] }))).message).to.match(/covered by the snapshot/);
      expect((await rejection(storage.save({ snapshot: { index: 1, term: 1, data: new Uint8Array() } }))).message).to.match(
        /older/,
      );
      // Nothing of the rejected updates was written.
      await storage.save({ entries: [entry(4, 1)] });
      const state = await reopenAndLoad();
      expect(state.snapshot?.index).to.equal(2);
      expect(plainEntries(state.entries)).to.deep.equal(plainEntries([entry(3, 1), entry(4, 1)]));
    });

    it('rejects a hard state whose term goes back or whose vote changes within a term', async () => {
      await storage.load();
      await storage.save({ hardState: { term: 5, vote: 2 } });
      expect((await rejection(storage.save({ hardState: { term: 4, vote: 2 } }))).message).to.match(/term went back/);
      expect((await rejection(storage.save({ hardState: { term: 5, vote: 3 } }))).message).to.match(/vote in term 5/);
      expect((await rejection(storage.save({ hardState: { term: 5, vote: NO_NODE } }))).message).to.match(/vote in term 5/);
      await storage.save({ hardState: { term: 6, vote: 3 } });
      expect((await reopenAndLoad()).hardState).to.deep.equal({ term: 6, vote: 3 });
    });

    it('never mutates the arrays it is given or returns', async () => {
      await storage.load();
      const given = Object.freeze(entries(1, 3, 1));
      await storage.save({ entries: given });
      expect(plainEntries(given)).to.deep.equal(plainEntries(entries(1, 3, 1)));
      const first = await storage.load();
      (first.entries as Entry[]).pop();
      const second = await storage.load();
      expect(second.entries).to.have.length(3);
    });

    it('rejects calls on a closed handle', async () => {
      await storage.load();
      await storage.close();
      await rejection(storage.load());
      await rejection(storage.save({ hardState: { term: 1, vote: NO_NODE } }));
      storage = await fixture.reopen();
      expect((await storage.load()).hardState.term).to.equal(0);
    });
  });
}
