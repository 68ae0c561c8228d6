/**
 * Compaction seeds the simulator once failed, replayed whole (sim/run-compaction-seed.ts). Each names
 * what went wrong so the regression is readable without the trace.
 */
import { expect } from 'chai';
import { runCompactionSeed } from '../../sim/run-compaction-seed.js';

describe('compaction seeds that once failed', function () {
  this.timeout(120_000);

  // Seed 940013 (a liveness failure): n3, leader of compacted-1, asked to add n1 back to the ISR
  // (partition epoch 3). The answer was lost; the retry was refused INVALID_UPDATE_VERSION ("partition
  // epoch is 4") by a controller that had appended that change but never committed it. The leader
  // then waited for metadata with epoch 4, which never came, so its ISR change stayed pending and n1
  // stayed out of the ISR for good. A stale-epoch refusal is now retried like a lost answer. With
  // follower fetches of many partitions per request the seed plays the same story on compacted-0 (n2
  // is refused ISR 2,1,3 at 22.7 s and asks again until answered); without the retry it fails with
  // the same liveness violation (checked).
  it('940013: an ISR change refused by an uncommitted partition epoch is asked again', async () => {
    const r = await runCompactionSeed(940013, { trace: true });
    expect(r.violations).to.deep.equal([]);
    expect(r.trace.some((l) => /compacted-0: ISR 2,1,3 refused \(INVALID_UPDATE_VERSION\)/.test(l)), 'the refusal happened').to.equal(true);
  });
});
