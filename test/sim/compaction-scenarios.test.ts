/**
 * A compacted topic on a whole simulated cluster under faults (sim/run-compaction-seed.ts): keyed
 * writes and tombstones from idempotent and plain producers, every broker compacting its replicas
 * from its replica manager's tick, while processes crash, machines lose power (flush=always seeds),
 * the network partitions, drops and duplicates, and nodes pause. After healing, the compaction checker
 * (sim/compaction-checker.ts) requires the latest acks=all value of every key to be readable, no write
 * at another offset, and the replicas to agree on the latest record of every key — alongside the Raft
 * and metadata checkers. Fixed seeds; virtual time; each replays bit for bit.
 */
import { expect } from 'chai';
import { runCompactionSeed } from '../../sim/run-compaction-seed.js';

describe('compaction under faults (simulated cluster)', function () {
  this.timeout(300_000);

  // Seeds of both flush policies, with crashes, power losses, partitions and a lossy network among them.
  // 125 and 142: a lagging replica copied a log after its tombstone was dropped (the tombstone bound).
  // 391: a lost AlterPartition answer cleared the leader's pending ISR, so its HW moved over the old
  // ISR while the controller had committed the expansion; a follower below that HW was then elected.
  for (const seed of [1, 2, 3, 5, 8, 13, 125, 142, 391]) {
    it(`seed ${seed}: the latest acknowledged value of every key survives compaction and faults`, async () => {
      const result = await runCompactionSeed(seed);
      expect(result.violations, `${result.shape}; replay with runCompactionSeed(${seed}, { trace: true }) from sim/run-compaction-seed.ts`).to.deep.equal([]);
      expect(result.offsetsCompacted, `compaction ran: ${result.shape}`).to.be.greaterThan(100);
      expect([...result.faults.values()].reduce((a, b) => a + b, 0), 'faults were injected').to.be.greaterThan(5);
    });
  }
});
