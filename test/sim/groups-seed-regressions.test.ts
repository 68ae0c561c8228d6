/**
 * Groups seeds the simulator once failed, replayed whole (sim/run-groups-seed.ts). Each names what
 * went wrong so the regression is readable without the trace.
 */
import { expect } from 'chai';
import { runGroupsSeed } from '../../sim/run-groups-seed.js';

describe('groups seeds that once failed', function () {
  this.timeout(120_000);

  // Seed 930014 (a simulated member's report, not the coordinator): m1.0 owns p1 from 31.8 s, its last
  // heartbeat answered was sent at 31.79 s (lease to 35.79 s); the coordinator n101 crashes at 31.95 s,
  // m1.0's next heartbeat times out and it sets off a commit, finding the coordinator again, and is
  // paused at 35.34 s for 5.6 s inside that call. Its reading loop stops at the lease's end. The new
  // coordinator n102 (loaded at 35.88 s, sessions start afresh) expires m1.0 at 39.88 s and gives p1 to
  // m3.3 at 40.37 s. m1.0 wakes at 40.92 s, its commit is answered UNKNOWN_MEMBER_ID, and it reported
  // its ownership as ended then (40.92 s), not at the lease's end (35.79 s): a false double-owner.
  // Every stop of reading now reports min(now, lease end), as a crash already did.
  it('930014: a member fenced after a pause past its lease stopped reading when the lease ended', async () => {
    const r = await runGroupsSeed(930014, { trace: true });
    expect(r.violations).to.deep.equal([]);
    expect(r.trace.some((l) => /m1\.0 paused for 5574 ms/.test(l)), 'm1.0 was paused past its lease').to.equal(true);
    expect(r.trace.some((l) => /member m1\.0 removed \(session timeout\)/.test(l)), 'the coordinator expired m1.0').to.equal(true);
    expect(r.trace.some((l) => /m3\.3 owns 1 at epoch/.test(l)), 'p1 moved to m3.3').to.equal(true);
    expect(r.trace.some((l) => /m1\.0 drops 1 \(commit: UNKNOWN_MEMBER_ID\)/.test(l)), 'm1.0 learned it was fenced from its commit').to.equal(true);
  });
});
