/**
 * Idempotent producer state survives a broker restart: it is rebuilt from the log's batch headers
 * (replica-manager.ts, rebuildProducerState), so a retry sent after the restart is still answered as
 * a duplicate.
 */
import { expect } from 'chai';
import { rebuildProducerState } from '../../src/partitions/replica-manager.js';
import { encodeRecordBatch } from '../../src/partitions/record-batch.js';
import { FakeReplicaLog } from './fake-replica-log.js';

function batch(producerId: number, baseSequence: number, count: number): Uint8Array {
  const records = Array.from({ length: count }, (_, i) => ({ key: null, value: new TextEncoder().encode(`v${baseSequence + i}`) }));
  return encodeRecordBatch(records, { timestampMs: 1000, producerId, producerEpoch: 0, baseSequence });
}

describe('producer state rebuilt after a restart', () => {
  it('recognises a retry of a batch appended before the restart, and expects the next sequence', async () => {
    const log = new FakeReplicaLog();
    log.assignEpoch(0, 0);
    const first = await log.appendAsLeader(batch(7, 0, 3), 0, 0);
    const second = await log.appendAsLeader(batch(7, 3, 2), 0, 0);
    await log.appendAsLeader(batch(-1, -1, 1), 0, 0); // a plain producer's batch is skipped
    expect('error' in first || 'error' in second).to.equal(false);

    const rebuilt = await rebuildProducerState(log);
    expect(rebuilt.check({ producerId: 7, producerEpoch: 0, baseSequence: 3, lastSequence: 4 })).to.deep.equal({ kind: 'duplicate', baseOffset: 3, lastOffset: 4 });
    expect(rebuilt.check({ producerId: 7, producerEpoch: 0, baseSequence: 5, lastSequence: 5 })).to.deep.equal({ kind: 'append' });
    expect(rebuilt.check({ producerId: 7, producerEpoch: 0, baseSequence: 9, lastSequence: 9 }).kind).to.equal('error');
    expect(rebuilt.size).to.equal(1);
  });

  it('an empty log gives an empty table', async () => {
    expect((await rebuildProducerState(new FakeReplicaLog())).size).to.equal(0);
  });
});
