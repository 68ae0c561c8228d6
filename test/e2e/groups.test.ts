/**
 * Consumer groups end to end with real processes (`skein cluster up`, `skein topic consume --group`,
 * real sockets and disks) — issue 6's "done means":
 * - two `skein topic consume T --group G` processes split the partitions and together print every
 *   record exactly once; after they stop (Ctrl-C: commit, leave), `skein group describe G` shows lag 0
 *   on every partition;
 * - a consumer killed with kill -9 mid-stream and a new one started in its place: the new one starts
 *   exactly at the offsets the group had committed (so it re-prints at most what the dead one printed
 *   after its last commit) and nothing is skipped; lag 0 again at the end;
 * - `group reset-offsets` moves the offsets of the empty group and refuses while it has a member;
 *   `group delete` removes it.
 *
 * Nothing asserts on timing; waits are bounded polls.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { expect } from 'chai';
import { ClusterProcesses, SKEIN_BIN, runSkein } from './cluster-processes.js';
import { waitFor } from '../support/test-nodes.js';

/** A long-running `skein topic consume ... --group` process and the lines it printed so far. */
class ConsumeProcess {
  readonly lines: string[] = [];
  private partial = '';
  stderr = '';
  readonly exited: Promise<number | null>;
  private readonly child: ChildProcess;

  constructor(args: readonly string[]) {
    this.child = spawn(process.execPath, [SKEIN_BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout?.on('data', (d: Buffer) => {
      const text = this.partial + d.toString();
      const parts = text.split('\n');
      this.partial = parts.pop() ?? '';
      this.lines.push(...parts);
    });
    this.child.stderr?.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.exited = new Promise((resolve) => this.child.once('exit', (code, signal) => resolve(signal === null ? code : -1)));
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Ctrl-C: the consumer commits what it printed, leaves the group and exits. */
  async interrupt(): Promise<number | null> {
    this.child.kill('SIGINT');
    return this.exited;
  }

  kill9(): Promise<number | null> {
    this.child.kill('SIGKILL');
    return this.exited;
  }
}

interface DescribedGroup {
  readonly members: ReadonlyArray<{ readonly assignment: ReadonlyArray<{ readonly partitions: readonly number[] }> }>;
  readonly partitions: ReadonlyArray<{ readonly partition: number; readonly offset: number; readonly logEndOffset: number; readonly lag: number | null }>;
}

describe('end to end: consumer groups with real processes', function () {
  this.timeout(300_000);
  let cluster: ClusterProcesses;
  let brokers: string;
  const consumers: ConsumeProcess[] = [];

  before(async () => {
    cluster = await ClusterProcesses.start(3);
    brokers = cluster.brokers.join(',');
  });

  after(async () => {
    for (const c of consumers) if (c.running) await c.kill9();
    await cluster?.stop();
  });

  function consume(group: string, topic: string): ConsumeProcess {
    const c = new ConsumeProcess(['topic', 'consume', topic, '--group', group, '--from-beginning', '--session-timeout-ms', '6000', '--brokers', brokers]);
    consumers.push(c);
    return c;
  }

  async function produce(topic: string, partition: number, values: readonly string[]): Promise<void> {
    const r = await runSkein(['topic', 'produce', topic, '--partition', String(partition), '--brokers', brokers], { stdin: `${values.join('\n')}\n` });
    expect(r.code, r.stderr).to.equal(0);
  }

  async function describe(group: string): Promise<DescribedGroup> {
    const r = await runSkein(['group', 'describe', group, '--json', '--brokers', brokers]);
    if (r.code !== 0) throw new Error(`group describe: ${r.stderr}`);
    return JSON.parse(r.stdout) as DescribedGroup;
  }

  function values(partition: number, from: number, to: number): string[] {
    return Array.from({ length: to - from }, (_, i) => `p${partition}-${from + i}`);
  }

  it('two consumers split the partitions and print every record once; then describe shows lag 0; a consumer killed with kill -9 is replaced without a skip', async () => {
    const created = await runSkein(['topic', 'create', 'clicks', '-p', '4', '-r', '3', '--brokers', brokers]);
    expect(created.code, created.stderr).to.equal(0);

    const a = consume('workers', 'clicks');
    const b = consume('workers', 'clicks');
    await waitFor('both consumers own partitions', 90_000, async () => {
      const g = await describe('workers');
      const owned = g.members.map((m) => m.assignment.flatMap((t) => t.partitions));
      return g.members.length === 2 && owned.every((p) => p.length > 0) && owned.flat().length === 4 ? true : undefined;
    });
    for (let p = 0; p < 4; p++) await produce('clicks', p, values(p, 0, 250));
    await waitFor('1000 records printed', 60_000, () => (a.lines.length + b.lines.length >= 1000 ? true : undefined));
    expect([...a.lines, ...b.lines].sort()).to.deep.equal([0, 1, 2, 3].flatMap((p) => values(p, 0, 250)).sort());
    expect(a.lines.length, 'the first consumer printed some').to.be.greaterThan(0);
    expect(b.lines.length, 'the second consumer printed some').to.be.greaterThan(0);
    expect(await a.interrupt(), a.stderr).to.equal(0);
    expect(await b.interrupt(), b.stderr).to.equal(0);

    const done = await describe('workers');
    expect(done.members).to.have.length(0);
    expect(done.partitions.map((p) => [p.partition, p.offset, p.logEndOffset, p.lag])).to.deep.equal([0, 1, 2, 3].map((p) => [p, 250, 250, 0]));
    const text = await runSkein(['group', 'describe', 'workers', '--brokers', brokers]);
    expect(text.code).to.equal(0);
    expect(text.stdout).to.match(/LAG/);
    const list = await runSkein(['group', 'list', '--brokers', brokers]);
    expect(list.stdout).to.match(/workers\s+empty\s+0/);

    // kill -9 mid-stream, then a new consumer in its place.
    const c = consume('workers', 'clicks');
    for (let p = 0; p < 4; p++) await produce('clicks', p, values(p, 250, 2250));
    await waitFor('the consumer printing', 60_000, () => (c.lines.length >= 1000 ? true : undefined));
    await c.kill9();
    const printedByC = [...c.lines];
    // What the group had committed when the consumer died: where its successor must start.
    const committed = new Map((await describe('workers')).partitions.map((p) => [p.partition, p.offset]));
    for (let p = 0; p < 4; p++) await produce('clicks', p, values(p, 2250, 2300));
    const d = consume('workers', 'clicks');
    await waitFor('the successor at the end of every partition', 90_000, () => ([0, 1, 2, 3].every((p) => d.lines.includes(`p${p}-2299`)) ? true : undefined));
    expect(await d.interrupt(), d.stderr).to.equal(0);

    for (let p = 0; p < 4; p++) {
      const prefix = `p${p}-`;
      const byC = printedByC.filter((l) => l.startsWith(prefix)).map((l) => Number(l.slice(prefix.length)));
      const byD = d.lines.filter((l) => l.startsWith(prefix)).map((l) => Number(l.slice(prefix.length)));
      const at = committed.get(p)!;
      // The successor starts exactly at the committed offset and reads on in order...
      expect(byD, `partition ${p}`).to.deep.equal(Array.from({ length: 2300 - at }, (_, i) => at + i));
      // ...which is at most where the dead one got to: re-printed only what it printed after its last commit.
      expect(at, `partition ${p}: committed`).to.be.at.most(byC.length === 0 ? 250 : Math.max(...byC) + 1);
      // Never a skip: from 250 on, every record was printed by one of them.
      const all = new Set([...byC, ...byD]);
      for (let i = 250; i < 2300; i++) if (!all.has(i)) expect.fail(`partition ${p}: record ${i} was never printed`);
    }
    const end = await describe('workers');
    expect(end.partitions.map((p) => p.lag)).to.deep.equal([0, 0, 0, 0]);

    // Offsets of the (now empty) group can be moved, and the group deleted; not while it has a member.
    const reset = await runSkein(['group', 'reset-offsets', 'workers', '--topic', 'clicks', '--to-earliest', '--brokers', brokers]);
    expect(reset.code, reset.stderr).to.equal(0);
    const one = await runSkein(['group', 'reset-offsets', 'workers', '--topic', 'clicks', '--to-offset', '7', '--partition', '1', '--brokers', brokers]);
    expect(one.code, one.stderr).to.equal(0);
    expect((await describe('workers')).partitions.map((p) => p.offset)).to.deep.equal([0, 7, 0, 0]);
    const live = consume('workers', 'clicks');
    await waitFor('a member in the group', 60_000, async () => ((await describe('workers')).members.length === 1 ? true : undefined));
    const refused = await runSkein(['group', 'reset-offsets', 'workers', '--topic', 'clicks', '--to-latest', '--brokers', brokers]);
    expect(refused.code).to.equal(1);
    expect(refused.stderr).to.match(/active member/);
    expect(await live.interrupt(), live.stderr).to.equal(0);
    const deleted = await runSkein(['group', 'delete', 'workers', '--brokers', brokers]);
    expect(deleted.code, deleted.stderr).to.equal(0);
    const gone = await runSkein(['group', 'describe', 'workers', '--brokers', brokers]);
    expect(gone.code).to.equal(1);
    expect(gone.stderr).to.contain('group workers does not exist');
  });
});
