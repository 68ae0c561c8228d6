/**
 * The idempotent-producer rules of ProducerStateTable (src/partitions/producer-state.ts), after
 * Kafka's ProducerStateManager: epochs fence zombies, sequences must follow (wrapping at 2^31 - 1),
 * the last BATCHES_KEPT batches answer retries with their original offsets.
 */
import { expect } from 'chai';
import { BATCHES_KEPT, nextSequence, ProducerStateTable, type BatchIdentity } from '../../src/partitions/producer-state.js';

const SEQUENCE_MAX = 2 ** 31 - 1;

function id(producerId: number, producerEpoch: number, baseSequence: number, count = 1): BatchIdentity {
  const last = baseSequence + count - 1;
  return { producerId, producerEpoch, baseSequence, lastSequence: last > SEQUENCE_MAX ? last - SEQUENCE_MAX - 1 : last };
}

describe('ProducerStateTable', () => {
  it('does not check batches without a producer id', () => {
    const t = new ProducerStateTable();
    expect(t.check({ producerId: -1, producerEpoch: -1, baseSequence: -1, lastSequence: -1 })).to.deep.equal({ kind: 'append' });
    t.record({ producerId: -1, producerEpoch: -1, baseSequence: -1, lastSequence: -1 }, 0, 0);
    expect(t.size).to.equal(0);
  });

  it('makes an unknown producer start at sequence 0', () => {
    const t = new ProducerStateTable();
    expect(t.check(id(7, 0, 0, 3)).kind).to.equal('append');
    const bad = t.check(id(7, 0, 5));
    expect(bad.kind).to.equal('error');
    expect(bad.kind === 'error' && bad.code).to.equal('OUT_OF_ORDER_SEQUENCE');
  });

  it('accepts the next sequence and rejects a gap or a step back with OUT_OF_ORDER_SEQUENCE', () => {
    const t = new ProducerStateTable();
    t.record(id(7, 0, 0, 3), 10, 12); // sequences 0..2
    expect(t.check(id(7, 0, 3, 2)).kind).to.equal('append');
    for (const seq of [4, 2, 1]) {
      const r = t.check(id(7, 0, seq, 1));
      expect(r.kind === 'error' && r.code, `sequence ${seq}`).to.equal('OUT_OF_ORDER_SEQUENCE');
    }
  });

  it('answers a retry of a batch with its original offsets (duplicate), any of the last five', () => {
    const t = new ProducerStateTable();
    let seq = 0;
    for (let i = 0; i < BATCHES_KEPT; i++) {
      t.record(id(7, 0, seq, 2), 100 + 2 * i, 101 + 2 * i);
      seq += 2;
    }
    expect(t.check(id(7, 0, 0, 2))).to.deep.equal({ kind: 'duplicate', baseOffset: 100, lastOffset: 101 });
    expect(t.check(id(7, 0, 4, 2))).to.deep.equal({ kind: 'duplicate', baseOffset: 104, lastOffset: 105 });
    // Same first sequence, different length: not the same batch.
    expect(t.check(id(7, 0, 4, 1)).kind).to.equal('error');
  });

  it('keeps only the last five batches: an older retry is out of order, not a duplicate', () => {
    const t = new ProducerStateTable();
    for (let i = 0; i <= BATCHES_KEPT; i++) t.record(id(7, 0, i), i, i); // six batches, sequences 0..5
    const oldest = t.check(id(7, 0, 0));
    expect(oldest.kind === 'error' && oldest.code).to.equal('OUT_OF_ORDER_SEQUENCE');
    expect(t.check(id(7, 0, 1))).to.deep.equal({ kind: 'duplicate', baseOffset: 1, lastOffset: 1 });
    expect(t.check(id(7, 0, 6)).kind).to.equal('append');
  });

  it('fences an older producer epoch with INVALID_PRODUCER_EPOCH', () => {
    const t = new ProducerStateTable();
    t.record(id(7, 3, 0), 0, 0);
    const r = t.check(id(7, 2, 1));
    expect(r.kind === 'error' && r.code).to.equal('INVALID_PRODUCER_EPOCH');
    // Even a retry of a batch it may have sent before: the epoch is checked first.
    const retry = t.check(id(7, 2, 0));
    expect(retry.kind === 'error' && retry.code).to.equal('INVALID_PRODUCER_EPOCH');
  });

  it('starts a new session on a newer epoch: sequence 0 only, and the old batches are forgotten', () => {
    const t = new ProducerStateTable();
    t.record(id(7, 0, 0, 5), 0, 4);
    const mid = t.check(id(7, 1, 5));
    expect(mid.kind === 'error' && mid.code).to.equal('OUT_OF_ORDER_SEQUENCE');
    expect(t.check(id(7, 1, 0)).kind).to.equal('append');
    t.record(id(7, 1, 0, 1), 5, 5);
    // The epoch-0 batch is no longer a duplicate, and epoch 0 is now fenced.
    const old = t.check(id(7, 0, 0, 5));
    expect(old.kind === 'error' && old.code).to.equal('INVALID_PRODUCER_EPOCH');
    expect(t.check(id(7, 1, 0))).to.deep.equal({ kind: 'duplicate', baseOffset: 5, lastOffset: 5 });
    expect(t.check(id(7, 1, 1)).kind).to.equal('append');
  });

  it('ignores a recorded batch of an older epoch (keeps the newer session)', () => {
    const t = new ProducerStateTable();
    t.record(id(7, 2, 0), 0, 0);
    t.record(id(7, 1, 1), 1, 1);
    expect(t.check(id(7, 2, 1)).kind).to.equal('append');
    expect(t.check(id(7, 1, 1)).kind).to.equal('error');
  });

  it('wraps sequences from 2^31 - 1 to 0', () => {
    expect(nextSequence(SEQUENCE_MAX)).to.equal(0);
    expect(nextSequence(41)).to.equal(42);
    const t = new ProducerStateTable();
    t.record(id(7, 0, 0), 0, 0);
    // Jump the producer to the top of the range through a restore (as a long-lived producer would be).
    const table = ProducerStateTable.restore(new TextEncoder().encode(JSON.stringify([[7, 0, [[SEQUENCE_MAX - 2, SEQUENCE_MAX, 10, 12]]]])));
    expect(table.check(id(7, 0, 0)).kind).to.equal('append');
    const past = table.check(id(7, 0, SEQUENCE_MAX));
    expect(past.kind === 'error' && past.code).to.equal('OUT_OF_ORDER_SEQUENCE');
    // A batch that straddles the wrap: sequences 2^31-1, 0, 1; the next starts at 2.
    const straddle = ProducerStateTable.restore(new TextEncoder().encode(JSON.stringify([[7, 0, [[SEQUENCE_MAX - 1, SEQUENCE_MAX - 1, 10, 10]]]])));
    const b = id(7, 0, SEQUENCE_MAX, 3);
    expect(b.lastSequence).to.equal(1);
    expect(straddle.check(b).kind).to.equal('append');
    straddle.record(b, 11, 13);
    expect(straddle.check(id(7, 0, 2)).kind).to.equal('append');
    expect(straddle.check(b)).to.deep.equal({ kind: 'duplicate', baseOffset: 11, lastOffset: 13 });
  });

  it('truncateTo forgets batches at or after the offset and producers left with none', () => {
    const t = new ProducerStateTable();
    t.record(id(7, 0, 0, 2), 0, 1);
    t.record(id(8, 0, 0, 1), 2, 2);
    t.record(id(7, 0, 2, 2), 3, 4);
    t.truncateTo(2);
    expect(t.size).to.equal(1);
    // Producer 7's second batch is gone: its retry is appended again, not answered as a duplicate.
    expect(t.check(id(7, 0, 2, 2)).kind).to.equal('append');
    expect(t.check(id(7, 0, 0, 2))).to.deep.equal({ kind: 'duplicate', baseOffset: 0, lastOffset: 1 });
    // Producer 8 is forgotten entirely: it must start at sequence 0 again.
    expect(t.check(id(8, 0, 0)).kind).to.equal('append');
    expect(t.check(id(8, 0, 1)).kind).to.equal('error');
  });

  it('snapshot/restore round-trips and answers the same', () => {
    const t = new ProducerStateTable();
    t.record(id(9, 1, 0, 3), 0, 2);
    t.record(id(7, 0, 0, 1), 3, 3);
    t.record(id(9, 1, 3, 2), 4, 5);
    const bytes = t.snapshot();
    const r = ProducerStateTable.restore(bytes);
    expect(r.size).to.equal(2);
    expect(Buffer.from(r.snapshot()).equals(Buffer.from(bytes))).to.equal(true);
    for (const probe of [id(9, 1, 0, 3), id(9, 1, 3, 2), id(9, 1, 5), id(9, 1, 6), id(9, 0, 6), id(7, 0, 0), id(7, 0, 1), id(7, 0, 2)]) {
      expect(r.check(probe), JSON.stringify(probe)).to.deep.equal(t.check(probe));
    }
    expect(r.check(id(9, 1, 3, 2))).to.deep.equal({ kind: 'duplicate', baseOffset: 4, lastOffset: 5 });
    // Deterministic: producers ordered by id whatever the insertion order.
    const u = new ProducerStateTable();
    u.record(id(7, 0, 0, 1), 3, 3);
    u.record(id(9, 1, 0, 3), 0, 2);
    u.record(id(9, 1, 3, 2), 4, 5);
    expect(new TextDecoder().decode(u.snapshot())).to.equal(new TextDecoder().decode(bytes));
  });

  it('clear forgets every producer', () => {
    const t = new ProducerStateTable();
    t.record(id(7, 0, 0), 0, 0);
    t.clear();
    expect(t.size).to.equal(0);
    expect(t.check(id(7, 0, 1)).kind).to.equal('error');
  });
});
