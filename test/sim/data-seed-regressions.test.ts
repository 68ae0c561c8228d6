/**
 * Data-plane seeds the simulator once failed, replayed whole (sim/run-data-seed.ts). Each names what
 * went wrong so the regression is readable without the trace.
 */
import { expect } from 'chai';
import { runDataSeed } from '../../sim/run-data-seed.js';

describe('data seeds that once failed', function () {
  this.timeout(120_000);

  // Seed 900036 (flush=always, bit rot): a bit flips at 7.5 s in a sealed segment of n102's replica of
  // partition 2; n102 loses power at 28.2 s and restarts, but gets the metadata (and so opens its logs)
  // only at 33.2 s — after the post-healing scrub at 32.8 s had scrubbed its empty set of hosted
  // replicas. The undetected damage then surfaced in the final replica comparison as "n102 lacks
  // offset 0..." below the HW. The scrub now runs once the cluster has converged (every assigned
  // replica hosted and in sync), finds both flipped replicas, and they rebuild.
  it('900036: a broker whose logs open after healing is still scrubbed; its damaged replica rebuilds', async () => {
    const r = await runDataSeed(900036, { trace: true });
    expect(r.violations).to.deep.equal([]);
    expect(r.shape).to.contain('with bit rot');
    const scrub = r.trace.find((l) => l.includes('scrubbed after'));
    expect(scrub, 'the scrub ran and found both damaged replicas').to.match(/scrubbed after 2 bit flips: 2 damaged replicas found/);
    expect(r.trace.some((l) => /n102 events-2: rebuilding the damaged log/.test(l)), 'n102 rebuilt partition 2').to.equal(true);
  });
});
