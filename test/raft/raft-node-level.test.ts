/**
 * End to end through the real disk: three production `RaftNode`s on LevelDB (`LevelRaftStorage`) in
 * temporary directories, the system clock and randomness, joined by the in-process loopback transport
 * (asynchronous delivery). Ticks are 20 ms so elections take a few hundred milliseconds.
 *
 * What would fail if a feature broke: election, replication and apply order (identical command lists
 * on every node); leader hints; recovery from snapshot + log after a full restart with the term never
 * going back; fail-over after the leader stops; leadership transfer. Waits poll the nodes' status
 * against a deadline; nothing asserts on timing. Every test stops its nodes and removes its
 * directories in afterEach.
 */
import { expect } from 'chai';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NotLeaderError } from '../../src/raft/errors.js';
import { LevelRaftStorage } from '../../src/node/level-raft-storage.js';
import { LoopbackTransport } from '../../src/node/loopback-transport.js';
import { RaftNode, type Committed, type StateMachine } from '../../src/raft/raft-node.js';
import { EntryType, type Entry, type NodeId, type Snapshot } from '../../src/raft/types.js';
import { systemClock, systemRandom } from '../../src/node/system-ports.js';
import { debugLoggers } from '../../src/util/log.js';

const TICK_MS = 20;
const WAIT_MS_MAX = 10_000;
const POLL_MS = 10;
const VOTERS: readonly NodeId[] = [1, 2, 3];
const encoder = new TextEncoder();
const decoder = new TextDecoder();

interface AppliedCommand {
  readonly index: number;
  readonly term: number;
  readonly text: string;
}

/** Records every applied command entry; its snapshot is the whole record, as JSON. */
class RecordingStateMachine implements StateMachine {
  commands: AppliedCommand[] = [];
  /** Commands that came from the last restored snapshot, and commands applied since. */
  restoredCount = 0;
  appliedSinceRestore = 0;

  apply(entry: Entry): void {
    if (entry.type !== EntryType.Command) return;
    this.commands.push({ index: entry.index, term: entry.term, text: decoder.decode(entry.data) });
    this.appliedSinceRestore++;
  }

  snapshot(): Uint8Array {
    return encoder.encode(JSON.stringify(this.commands));
  }

  restore(snapshot: Snapshot): void {
    this.commands = JSON.parse(decoder.decode(snapshot.data)) as AppliedCommand[];
    this.restoredCount = this.commands.length;
    this.appliedSinceRestore = 0;
  }
}

/** Polls `condition` every POLL_MS until it holds; fails with `what` after WAIT_MS_MAX. */
async function waitFor(what: string, condition: () => boolean): Promise<void> {
  const deadline = performance.now() + WAIT_MS_MAX;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out after ${WAIT_MS_MAX} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/** Three nodes, each with its own directory; nodes can be stopped and started again on it. */
class LevelCluster {
  readonly transport = new LoopbackTransport();
  readonly nodes = new Map<NodeId, RaftNode>();
  readonly stateMachines = new Map<NodeId, RecordingStateMachine>();
  readonly fatalErrors: unknown[] = [];

  private constructor(readonly dirs: ReadonlyMap<NodeId, string>) {}

  static async create(): Promise<LevelCluster> {
    const dirs = new Map<NodeId, string>();
    for (const id of VOTERS) dirs.set(id, await mkdtemp(join(tmpdir(), `skein-raft-level-n${id}-`)));
    return new LevelCluster(dirs);
  }

  async start(id: NodeId, snapshotEntries: number): Promise<RaftNode> {
    expect(this.nodes.has(id), `n${id} already running`).to.equal(false);
    const storage = await LevelRaftStorage.open(this.dirs.get(id) as string);
    const stateMachine = new RecordingStateMachine();
    const node = await RaftNode.start({
      id,
      voters: VOTERS,
      random: systemRandom,
      clock: systemClock,
      storage,
      send: (m) => this.transport.send(m),
      stateMachine,
      loggers: debugLoggers,
      tickMs: TICK_MS,
      snapshotEntries,
      onFatal: (error) => this.fatalErrors.push(error),
    });
    this.nodes.set(id, node);
    this.stateMachines.set(id, stateMachine);
    this.transport.register(id, (m) => node.receive(m));
    return node;
  }

  async startAll(snapshotEntries = 10_000): Promise<void> {
    for (const id of VOTERS) await this.start(id, snapshotEntries);
  }

  async stop(id: NodeId): Promise<void> {
    const node = this.nodes.get(id);
    if (node === undefined) return;
    this.transport.disconnect(id);
    this.nodes.delete(id);
    await node.stop();
  }

  async stopAll(): Promise<void> {
    for (const id of [...this.nodes.keys()]) await this.stop(id);
  }

  async destroy(): Promise<void> {
    await this.stopAll();
    for (const dir of this.dirs.values()) await rm(dir, { recursive: true, force: true });
  }

  node(id: NodeId): RaftNode {
    const node = this.nodes.get(id);
    expect(node, `n${id} is not running`).to.not.equal(undefined);
    return node as RaftNode;
  }

  commands(id: NodeId): AppliedCommand[] {
    return (this.stateMachines.get(id) as RecordingStateMachine).commands;
  }

  /**
   * A leader every running node agrees on: it leads in the highest term any running node has seen, and
   * every running node names it. Returns its id.
   */
  stableLeader(): NodeId | undefined {
    const statuses = [...this.nodes.values()].map((n) => n.status());
    const termMax = Math.max(...statuses.map((s) => s.term));
    const leaders = statuses.filter((s) => s.role === 'leader' && s.term === termMax);
    if (leaders.length !== 1) return undefined;
    const leader = (leaders[0] as { id: NodeId }).id;
    return statuses.every((s) => s.term === termMax && s.leader === leader) ? leader : undefined;
  }

  async waitForLeader(): Promise<NodeId> {
    let leader: NodeId | undefined;
    await waitFor('a leader all running nodes agree on', () => (leader = this.stableLeader()) !== undefined);
    return leader as NodeId;
  }

  /** Waits until every running node has applied everything the leader has committed so far. */
  async waitForApplied(leader: NodeId): Promise<void> {
    const commitIndex = this.node(leader).status().commitIndex;
    await waitFor(`every node to apply up to ${commitIndex}`, () =>
      [...this.nodes.values()].every((n) => n.status().appliedIndex >= commitIndex),
    );
  }

  /** Proposes `count` commands at once on `leader`; resolves when all are committed there. */
  proposeMany(leader: NodeId, prefix: string, count: number): Promise<Committed[]> {
    const node = this.node(leader);
    return Promise.all(Array.from({ length: count }, (_, i) => node.propose(encoder.encode(`${prefix}-${i}`))));
  }
}

/** The command texts in log order. */
function texts(commands: readonly AppliedCommand[]): string[] {
  return commands.map((c) => c.text);
}

describe('RaftNode on LevelDB, three nodes in one process', function () {
  this.timeout(30_000);
  let cluster: LevelCluster;

  beforeEach(async () => {
    cluster = await LevelCluster.create();
  });

  afterEach(async () => {
    await cluster.destroy();
    expect(cluster.fatalErrors, 'fatal node errors').to.deep.equal([]);
  });

  it('elects a leader, commits 100 proposals and applies them identically on all three', async () => {
    await cluster.startAll();
    const leader = await cluster.waitForLeader();
    const committed = await cluster.proposeMany(leader, 'cmd', 100);

    // Proposals of one turn get consecutive indexes in proposal order.
    const indexes = committed.map((c) => c.index);
    for (let i = 1; i < indexes.length; i++) expect(indexes[i]).to.equal((indexes[i - 1] as number) + 1);
    await cluster.waitForApplied(leader);
    const expected = Array.from({ length: 100 }, (_, i) => `cmd-${i}`);
    for (const id of VOTERS) {
      expect(texts(cluster.commands(id)), `n${id} applied`).to.deep.equal(expected);
      expect(cluster.commands(id).map((c) => c.index), `n${id} indexes`).to.deep.equal(indexes);
    }
  });

  it('rejects proposals to a follower with NotLeaderError naming the leader', async () => {
    await cluster.startAll();
    const leader = await cluster.waitForLeader();
    for (const id of VOTERS.filter((v) => v !== leader)) {
      let error: unknown;
      try {
        await cluster.node(id).propose(encoder.encode('to a follower'));
      } catch (e) {
        error = e;
      }
      expect(error, `n${id}`).to.be.instanceOf(NotLeaderError);
      expect((error as NotLeaderError).leaderHint).to.equal(leader);
      expect((error as NotLeaderError).code).to.equal('NOT_LEADER');
      expect((error as NotLeaderError).retriable).to.equal(true);
    }
    // Nothing was appended on the followers' behalf.
    await cluster.proposeMany(leader, 'after', 1);
    await cluster.waitForApplied(leader);
    for (const id of VOTERS) expect(texts(cluster.commands(id))).to.deep.equal(['after-0']);
  });

  it('after all three restart, re-applies every committed entry in order from snapshot + log; terms never go back', async () => {
    const snapshotEntries = 30;
    await cluster.startAll(snapshotEntries);
    const leader = await cluster.waitForLeader();
    await cluster.proposeMany(leader, 'batch', 100);
    // A few more, one at a time, so that every node's log holds entries past its snapshot.
    for (let i = 0; i < 10; i++) await cluster.proposeMany(leader, `seq${i}`, 1);
    await cluster.waitForApplied(leader);

    const before = new Map<NodeId, { term: number; commitIndex: number; commands: AppliedCommand[] }>();
    for (const id of VOTERS) {
      const status = cluster.node(id).status();
      expect(status.snapshotIndex, `n${id} took a snapshot`).to.be.greaterThan(0);
      expect(status.snapshotIndex, `n${id} has entries past its snapshot`).to.be.lessThan(status.commitIndex);
      before.set(id, { term: status.term, commitIndex: status.commitIndex, commands: [...cluster.commands(id)] });
    }
    const leaderTermBefore = (before.get(leader) as { term: number }).term;
    expect(texts(cluster.commands(leader))).to.have.length(110);

    await cluster.stopAll();
    await cluster.startAll(snapshotEntries);
    for (const id of VOTERS) {
      // Loaded from disk before any election: the same term, not an earlier one.
      expect(cluster.node(id).status().term, `n${id} term after reopening`).to.be.at.least((before.get(id) as { term: number }).term);
    }

    const newLeader = await cluster.waitForLeader();
    expect(cluster.node(newLeader).status().term).to.be.greaterThan(leaderTermBefore);
    const commitBefore = Math.max(...[...before.values()].map((b) => b.commitIndex));
    await waitFor(`every node to re-apply up to ${commitBefore}`, () =>
      VOTERS.every((id) => cluster.node(id).status().appliedIndex >= commitBefore),
    );
    for (const id of VOTERS) {
      const sm = cluster.stateMachines.get(id) as RecordingStateMachine;
      expect(sm.commands, `n${id} re-applied`).to.deep.equal((before.get(leader) as { commands: AppliedCommand[] }).commands);
      expect(sm.restoredCount, `n${id} commands from its snapshot`).to.be.greaterThan(0);
      expect(sm.appliedSinceRestore, `n${id} commands replayed from its log`).to.be.greaterThan(0);
    }
  });

  it('after the leader stops, the other two elect a new leader and keep committing', async () => {
    await cluster.startAll();
    const oldLeader = await cluster.waitForLeader();
    const oldTerm = cluster.node(oldLeader).status().term;
    await cluster.proposeMany(oldLeader, 'before', 20);
    await cluster.stop(oldLeader);

    const newLeader = await cluster.waitForLeader();
    expect(newLeader).to.not.equal(oldLeader);
    expect(cluster.node(newLeader).status().term).to.be.greaterThan(oldTerm);
    await cluster.proposeMany(newLeader, 'after', 20);
    await cluster.waitForApplied(newLeader);
    const expected = [...Array.from({ length: 20 }, (_, i) => `before-${i}`), ...Array.from({ length: 20 }, (_, i) => `after-${i}`)];
    for (const id of cluster.nodes.keys()) expect(texts(cluster.commands(id)), `n${id} applied`).to.deep.equal(expected);
  });

  it('transferLeadership() hands leadership to another node, which then commits', async () => {
    await cluster.startAll();
    const oldLeader = await cluster.waitForLeader();
    await cluster.proposeMany(oldLeader, 'before', 10);
    const target = cluster.node(oldLeader).transferLeadership();
    expect(target).to.be.oneOf(VOTERS.filter((v) => v !== oldLeader));

    await waitFor(`n${target} to lead`, () => cluster.stableLeader() === target);
    let error: unknown;
    try {
      await cluster.node(oldLeader).propose(encoder.encode('to the old leader'));
    } catch (e) {
      error = e;
    }
    expect(error).to.be.instanceOf(NotLeaderError);
    expect((error as NotLeaderError).leaderHint).to.equal(target);

    await cluster.proposeMany(target, 'after', 10);
    await cluster.waitForApplied(target);
    const expected = [...Array.from({ length: 10 }, (_, i) => `before-${i}`), ...Array.from({ length: 10 }, (_, i) => `after-${i}`)];
    for (const id of VOTERS) expect(texts(cluster.commands(id)), `n${id} applied`).to.deep.equal(expected);
  });
});
