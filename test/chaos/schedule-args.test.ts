/**
 * The chaos fault schedule is a pure function of its seed (same seed, same schedule; another seed,
 * another one), gives every enabled kind the same number of faults (10 each in 120 s), keeps each lane
 * free of overlaps, and pauses outlast the session timeout. The command line refuses bad arguments.
 */
import { expect } from 'chai';
import { CHAOS_USAGE, ChaosUsageError, parseChaosArgs } from '../../chaos/args.js';
import { FAULT_KINDS, planSchedule, type PlannedFault } from '../../chaos/schedule.js';

const base = { durationMs: 120_000, kinds: FAULT_KINDS, nodes: 3, partitions: 4, sessionTimeoutMs: 2000 };

describe('chaos schedule', () => {
  it('same seed, same schedule; another seed, another schedule', () => {
    expect(planSchedule({ ...base, seed: 7 })).to.deep.equal(planSchedule({ ...base, seed: 7 }));
    expect(planSchedule({ ...base, seed: 7 })).to.not.deep.equal(planSchedule({ ...base, seed: 8 }));
  });

  for (const seed of [1, 2, 3, 42, 1234]) {
    it(`seed ${seed}: 10 faults of each kind in 120 s, lanes without overlap, within the phase`, () => {
      const s = planSchedule({ ...base, seed });
      for (const kind of FAULT_KINDS) expect(s.filter((f) => f.kind === kind), kind).to.have.length(10);
      const lanes: PlannedFault[][] = [s.filter((f) => f.kind === 'kill' || f.kind === 'pause'), s.filter((f) => f.kind !== 'kill' && f.kind !== 'pause')];
      for (const lane of lanes) {
        for (let i = 1; i < lane.length; i++) {
          const prev = lane[i - 1] as PlannedFault;
          expect((lane[i] as PlannedFault).atMs, `fault ${i} starts after the previous one ended`).to.be.at.least(prev.atMs + prev.durationMs);
        }
        const last = lane[lane.length - 1] as PlannedFault;
        expect(last.atMs + last.durationMs).to.be.at.most(base.durationMs + 50);
      }
      for (const f of s.filter((x) => x.kind === 'pause')) expect(f.durationMs).to.be.greaterThan(2000);
      for (const f of s) if (f.target.kind === 'partition-leader') expect(f.target.partition).to.be.within(0, 3);
      expect(s.some((f) => f.target.kind === 'controller-leader')).to.equal(true);
    });
  }

  it('only the enabled kinds, at least one each in a short run', () => {
    const s = planSchedule({ ...base, seed: 5, durationMs: 10_000, kinds: ['kill', 'slow'] });
    expect([...new Set(s.map((f) => f.kind))].sort()).to.deep.equal(['kill', 'slow']);
  });
});

describe('chaos command line', () => {
  it('has defaults, and takes every option in both spellings', () => {
    const d = parseChaosArgs([], () => 99);
    expect(d).to.deep.include({ durationS: 120, seed: 99, flush: 'always', keep: false, outDir: undefined, check: undefined });
    expect(d.faults).to.deep.equal([...FAULT_KINDS]);
    const o = parseChaosArgs(['--duration', '60', '--seed=3', '--faults', 'kill,pause', '--flush', 'os', '--out', '/tmp/x', '--keep']);
    expect(o).to.deep.include({ durationS: 60, seed: 3, flush: 'os', keep: true, outDir: '/tmp/x' });
    expect(o.faults).to.deep.equal(['kill', 'pause']);
  });

  for (const [argv, message] of [
    [['--duration'], '--duration needs a value'],
    [['--duration', 'ten'], 'needs an integer'],
    [['--duration', '2'], 'must be in [5, 86400]'],
    [['--seed', '-1'], 'must be in [0, 4294967295]'],
    [['--faults', 'kill,meteor'], 'unknown fault kind "meteor"'],
    [['--faults', ','], 'at least one kind'],
    [['--flush', 'never'], '--flush must be always or os'],
    [['--what'], 'unknown argument "--what"'],
  ] as const) {
    it(`refuses ${argv.join(' ')}`, () => {
      expect(() => parseChaosArgs(argv)).to.throw(ChaosUsageError, message);
    });
  }

  it('the usage names every fault kind', () => {
    for (const kind of FAULT_KINDS) expect(CHAOS_USAGE).to.contain(kind);
  });
});
