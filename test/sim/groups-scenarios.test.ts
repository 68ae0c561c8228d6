/**
 * Consumer groups in the deterministic simulator (issue 6): fixed seeds of `--kind groups` — the
 * coordinator crashed on purpose, members crashing and pausing past their session timeout, network
 * partitions and machine crashes — must finish with no violation from the groups checker (exclusive
 * reading, committed offsets never going back, no poll skip) nor from the Raft, metadata and data
 * checkers, and replay identically. The checker itself is fed broken histories and must flag each.
 */
import { expect } from 'chai';
import { GroupsChecker } from '../../sim/groups-checker.js';
import { runGroupsSeed } from '../../sim/run-groups-seed.js';

describe('sim: consumer groups under faults', function () {
  this.timeout(120_000);

  for (const seed of [3, 5, 14]) {
    it(`seed ${seed}: coordinator crashes, member crashes and pauses, partitions — 0 violations`, async () => {
      const r = await runGroupsSeed(seed);
      expect(r.violations).to.deep.equal([]);
      const faults = r.faults as ReadonlyMap<string, number>;
      expect(faults.get('coordinator-crash') ?? 0).to.be.greaterThan(0);
      expect(faults.get('member-crash') ?? 0).to.be.greaterThan(0);
      expect(faults.get('member-pause') ?? 0).to.be.greaterThan(0);
      expect((faults.get('partition') ?? 0) + (faults.get('isolate-leader') ?? 0) + (faults.get('asymmetric-leader') ?? 0)).to.be.greaterThan(0);
      // The group did real work: reads, commits, and rebalances (several reading sessions).
      expect(r.shape).to.match(/; [1-9]\d* reads, [1-9]\d* reading sessions, [1-9]\d* commits acknowledged/);
    });
  }

  it('replays a seed exactly (same seed, same trace)', async () => {
    const a = await runGroupsSeed(14, { trace: true, faultPhaseMs: 10_000 });
    const b = await runGroupsSeed(14, { trace: true, faultPhaseMs: 10_000 });
    expect(a.trace.length).to.be.greaterThan(100);
    expect(b.trace).to.deep.equal(a.trace);
    expect(b.violations).to.deep.equal(a.violations);
  });
});

describe('sim: the groups checker catches broken histories', () => {
  let now = 0;
  let violations: string[] = [];
  let checker: GroupsChecker;
  beforeEach(() => {
    now = 0;
    violations = [];
    checker = new GroupsChecker(violations, () => now);
  });

  it('is quiet on a correct handover', () => {
    checker.onStartReading('a', 0, 0);
    now = 10;
    checker.onRead('a', 0, 0);
    checker.onRead('a', 0, 1);
    checker.onCommitAcknowledged('a', 0, 2, 10);
    now = 20;
    checker.onStopReading('a', 0);
    now = 30;
    checker.onFetched('b', 0, 2, 25);
    checker.onStartReading('b', 0, 2);
    checker.onRead('b', 0, 2);
    checker.onCommitAcknowledged('b', 0, 3, 30);
    checker.finalCheck(new Map([[0, 3]]));
    expect(violations).to.deep.equal([]);
  });

  it('flags two members reading one partition at once', () => {
    checker.onStartReading('a', 0, 0);
    now = 10;
    checker.onStartReading('b', 0, 0);
    now = 20;
    checker.onStopReading('a', 0);
    checker.finalCheck(new Map());
    expect(violations.join('\n')).to.match(/double-owner: p0 read by a .* and b/);
  });

  it('counts a lapsed lease as the end of ownership, and flags a read by a non-owner', () => {
    checker.onStartReading('a', 0, 0);
    now = 50;
    checker.onStartReading('b', 0, 0); // a's lease ended at 40, it noticed at 60
    now = 60;
    checker.onStopReading('a', 0, 40);
    checker.onRead('a', 0, 0);
    checker.finalCheck(new Map());
    expect(violations).to.have.length(1);
    expect(violations[0]).to.match(/double-owner: a read p0 offset 0 while not owning it/);
  });

  it('flags an acknowledged commit that goes backwards, and a fetch below an acknowledged commit', () => {
    checker.onCommitAcknowledged('a', 1, 50, 0);
    now = 10;
    checker.onCommitAcknowledged('b', 1, 40, 5);
    now = 20;
    checker.onFetched('c', 1, 45, 15);
    checker.finalCheck(new Map([[1, 30]]));
    const text = violations.join('\n');
    expect(text).to.match(/commit-backwards: b had 40 acknowledged for p1/);
    expect(text).to.match(/commit-backwards: c fetched 45 for p1, but 50 was acknowledged/);
    expect(text).to.match(/commit-backwards: final committed offset of p1 is 30, below 50/);
  });

  it('flags a poll skip inside a reading session and a committed record nobody read', () => {
    checker.onStartReading('a', 2, 5);
    checker.onRead('a', 2, 5);
    checker.onRead('a', 2, 7);
    checker.finalCheck(new Map([[2, 8]]));
    const text = violations.join('\n');
    expect(text).to.match(/poll-skip: a read p2 offset 7, expected 6 \(offsets 6..6 skipped\)/);
    expect(text).to.match(/poll-skip: p2 committed up to 8 but offsets 0, 1, 2, 3, 4, 6 \(6\) were never read/);
  });
});
