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
  // stayed out of the ISR for good. A stale-epoch refusal is now retried like a lost answer. Since
  // followers fetch all their partitions from a leader in one request, 940013's timing no longer
  // reaches the refusal; seed 940039 plays the same story (n102, leader of compacted-1, is refused
  // ISR 102,101,103 at 11.1 s and asks again until answered), and without the retry it fails with
  // the same liveness violation (checked).
  it('940039: an ISR change refused by an uncommitted partition epoch is asked again', async () => {
    const r = await runCompactionSeed(940039, { trace: true });
    expect(r.violations).to.deep.equal([]);
    expect(r.trace.some((l) => /compacted-1: ISR 102,101,103 refused \(INVALID_UPDATE_VERSION\)/.test(l)), 'the refusal happened').to.equal(true);
  });
});
