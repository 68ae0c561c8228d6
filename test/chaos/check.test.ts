/**
 * The chaos checker is the simulator's: a history replayed through chaos/check.ts reaches
 * sim/data-checker.ts and sim/groups-checker.ts. Each case is a small history with one planted
 * anomaly (or none), and the verdict must name it — lost-write, duplicate, inconsistent-offsets,
 * nonmonotonic-poll, precommitted-read, truncated read, poll-skip, commit-backwards, double-owner.
 */
import { expect } from 'chai';
import { checkHistory } from '../../chaos/check.js';
import type { HistoryEvent } from '../../chaos/history.js';

type E = HistoryEvent;
let t = 0;
const at = <T extends Omit<E, 't'>>(e: T): E => ({ t: ++t, ...e }) as unknown as E;
const send = (value: string, partition: number, offset: number | undefined, type: 'ok' | 'info' | 'fail' = 'ok'): E[] => [
  at({ f: 'send', type: 'invoke', process: 'p1', value, partition }),
  at({ f: 'send', type, process: 'p1', value, partition, ...(offset === undefined ? {} : { offset }) }),
];
const poll = (process: string, partition: number, offset: number, value: string, hw = 1000): E => at({ f: 'poll', type: 'ok', process, partition, offset, value, hw });
const final = (partition: number, values: string[]): E => at({ f: 'final', partition, records: values.map((v, i): [number, string] => [i, v]) });

/** Two partitions, four acknowledged values, read by m1; the final logs hold them. */
function clean(): E[] {
  return [...send('a', 0, 0), ...send('b', 0, 1), ...send('c', 1, 0), ...send('d', 1, 1), poll('m1', 0, 0, 'a'), poll('m1', 0, 1, 'b'), poll('m1', 1, 0, 'c'), at({ f: 'fault', type: 'start', kind: 'kill', desc: 'kill node 1', nodes: [1] })];
}

describe('chaos checker wiring (the simulator checkers on a chaos history)', () => {
  it('a clean history has no anomaly, and its counts add up', () => {
    const r = checkHistory([...clean(), final(0, ['a', 'b']), final(1, ['c', 'd'])]);
    expect(r.violations).to.deep.equal([]);
    expect(r).to.deep.include({ acknowledged: 4, lost: 0, duplicates: 0, anomalies: 0, faults: 1, reads: 3, finalRecords: 4 });
    expect(r.faultsByKind).to.deep.equal({ kill: 1 });
  });

  it('an acknowledged record missing from the final log is a lost write', () => {
    const r = checkHistory([...clean(), final(0, ['a', 'b']), final(1, ['c'])]);
    expect(r.lost).to.equal(1);
    expect(r.violations.join('\n')).to.match(/lost-write: 1 offset 1 'd'/);
  });

  it('an unknown outcome may be present once or absent, never twice', () => {
    const once = checkHistory([...clean(), ...send('u', 1, undefined, 'info'), ...send('v', 1, undefined, 'info'), final(0, ['a', 'b']), final(1, ['c', 'd', 'u'])]);
    expect(once.violations).to.deep.equal([]);
    expect(once).to.deep.include({ unknown: 2, unknownPresent: 1 });
    const twice = checkHistory([...clean(), ...send('u', 1, undefined, 'info'), final(0, ['a', 'b']), final(1, ['c', 'd', 'u', 'u'])]);
    expect(twice.duplicates).to.equal(1);
    expect(twice.violations.join('\n')).to.contain("duplicate: 'u'");
  });

  it('a send still in flight at the end counts as unknown', () => {
    const r = checkHistory([...clean(), at({ f: 'send', type: 'invoke', process: 'p1', value: 'w', partition: 0 }), final(0, ['a', 'b', 'w']), final(1, ['c', 'd'])]);
    expect(r.violations).to.deep.equal([]);
    expect(r.unknown).to.equal(1);
  });

  it('a read of a value the final log holds elsewhere is inconsistent; one above the answer\'s HW is precommitted', () => {
    const r = checkHistory([...clean(), poll('m2', 0, 1, 'x'), poll('m2', 1, 5, 'd', 5), final(0, ['a', 'b']), final(1, ['c', 'd'])]);
    const text = r.violations.join('\n');
    expect(text).to.contain('inconsistent-offsets: 0 offset 1');
    expect(text).to.contain('precommitted-read: m2 read 1 offset 5 at or above the HW 5');
    expect(r.anomalies).to.be.at.least(2);
  });

  it('a consumer going back without a reset is a nonmonotonic poll; after a reset it is not', () => {
    const bad = checkHistory([...clean(), poll('m1', 0, 0, 'a'), final(0, ['a', 'b']), final(1, ['c', 'd'])]);
    expect(bad.violations.join('\n')).to.contain('nonmonotonic-poll: m1 read 0 offset 0 after 1');
    const ok = checkHistory([...clean(), at({ f: 'reset', process: 'm1', partition: 0, why: 'test' }), poll('m1', 0, 0, 'a'), final(0, ['a', 'b']), final(1, ['c', 'd'])]);
    expect(ok.violations).to.deep.equal([]);
  });

  it('group members: skips, reads of a partition not owned, commits going backwards', () => {
    const group = (events: E[]): string =>
      checkHistory([...clean(), at({ f: 'assign', process: 'g1', partition: 0, offset: 0 }), ...events, final(0, ['a', 'b']), final(1, ['c', 'd'])]).violations.join('\n');
    expect(group([poll('g1', 0, 0, 'a'), poll('g1', 0, 1, 'b'), at({ f: 'final-commit', partition: 0, offset: 2 })])).to.equal('');
    expect(group([poll('g1', 0, 1, 'b')])).to.contain('poll-skip: g1 read p0 offset 1, expected 0');
    expect(group([poll('g2', 0, 0, 'a')])).to.contain('double-owner: g2 read p0 offset 0 while not owning it');
    expect(
      group([
        poll('g1', 0, 0, 'a'),
        poll('g1', 0, 1, 'b'),
        at({ f: 'commit', type: 'ok', process: 'g1', partition: 0, offset: 2, sentAt: 0 }),
        at({ f: 'final-commit', partition: 0, offset: 1 }),
      ]),
    ).to.contain('commit-backwards: final committed offset of p0 is 1, below 2');
  });

  it('anomalies the run itself saw (a crashed node, no convergence) fail the check', () => {
    const r = checkHistory([...clean(), at({ f: 'anomaly', message: 'crash: node 2 exited on its own' }), final(0, ['a', 'b']), final(1, ['c', 'd'])]);
    expect(r.anomalies).to.equal(1);
    expect(r.violations[0]).to.contain('crash: node 2');
  });

  it('without final logs there is no verdict of success', () => {
    expect(checkHistory(clean()).anomalies).to.equal(1);
  });
});
