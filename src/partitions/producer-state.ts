/**
 * Idempotent producers' state for one partition (after Kafka's ProducerStateManager): per producer id,
 * its epoch and the metadata of its last `BATCHES_KEPT` batches (sequence range and offsets), so that
 * a retry of a batch already in the log is answered with its original offsets instead of being
 * appended twice.
 *
 * Rules, checked before a leader appends (`check`):
 * - producer id -1: not idempotent, nothing to check;
 * - an epoch below the producer's current one: INVALID_PRODUCER_EPOCH (a zombie producer);
 * - an epoch above it: a new producer session; its first batch must start at sequence 0;
 * - the same epoch: a batch equal to one of the last five is a duplicate; otherwise its first
 *   sequence must follow the last one (int32 sequences wrap to 0), else OUT_OF_ORDER_SEQUENCE;
 * - an unknown producer must start at sequence 0.
 * Every replica — leader and followers — `record`s every idempotent batch it appends, so the state
 * survives a leader change; `snapshot`/`restore` and `rebuild` let it survive restarts and truncation.
 */
export const BATCHES_KEPT = 5;
const SEQUENCE_MAX = 2 ** 31 - 1;

export interface ProducerBatch {
  readonly firstSequence: number;
  readonly lastSequence: number;
  readonly baseOffset: number;
  readonly lastOffset: number;
}

interface ProducerEntry {
  epoch: number;
  /** Oldest first, at most BATCHES_KEPT. */
  batches: ProducerBatch[];
}

export type SequenceCheck =
  | { readonly kind: 'append' }
  | { readonly kind: 'duplicate'; readonly baseOffset: number; readonly lastOffset: number }
  | { readonly kind: 'error'; readonly code: 'OUT_OF_ORDER_SEQUENCE' | 'INVALID_PRODUCER_EPOCH'; readonly message: string };

/** The idempotence fields of one batch (from its header). */
export interface BatchIdentity {
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly baseSequence: number;
  /** baseSequence + recordCount - 1, wrapped. */
  readonly lastSequence: number;
}

export function nextSequence(sequence: number): number {
  return sequence === SEQUENCE_MAX ? 0 : sequence + 1;
}

export class ProducerStateTable {
  private readonly producers = new Map<number, ProducerEntry>();

  get size(): number {
    return this.producers.size;
  }

  /** What a leader must do with a batch before appending it. */
  check(b: BatchIdentity): SequenceCheck {
    if (b.producerId < 0) return { kind: 'append' };
    const entry = this.producers.get(b.producerId);
    if (entry !== undefined && b.producerEpoch < entry.epoch) {
      return { kind: 'error', code: 'INVALID_PRODUCER_EPOCH', message: `producer ${b.producerId} epoch ${b.producerEpoch} is older than its current epoch ${entry.epoch}` };
    }
    if (entry === undefined || b.producerEpoch > entry.epoch) {
      if (b.baseSequence === 0) return { kind: 'append' };
      return { kind: 'error', code: 'OUT_OF_ORDER_SEQUENCE', message: `producer ${b.producerId} epoch ${b.producerEpoch} must start at sequence 0, not ${b.baseSequence}` };
    }
    for (const prior of entry.batches) {
      if (prior.firstSequence === b.baseSequence && prior.lastSequence === b.lastSequence) {
        return { kind: 'duplicate', baseOffset: prior.baseOffset, lastOffset: prior.lastOffset };
      }
    }
    const last = entry.batches[entry.batches.length - 1];
    if (last === undefined || b.baseSequence === nextSequence(last.lastSequence)) return { kind: 'append' };
    return {
      kind: 'error',
      code: 'OUT_OF_ORDER_SEQUENCE',
      message: `producer ${b.producerId} sent sequence ${b.baseSequence}, expected ${last === undefined ? 0 : nextSequence(last.lastSequence)}`,
    };
  }

  /** Records an appended batch (leader and follower alike). */
  record(b: BatchIdentity, baseOffset: number, lastOffset: number): void {
    if (b.producerId < 0) return;
    let entry = this.producers.get(b.producerId);
    if (entry === undefined || b.producerEpoch > entry.epoch) {
      entry = { epoch: b.producerEpoch, batches: [] };
      this.producers.set(b.producerId, entry);
    }
    if (b.producerEpoch < entry.epoch) return; // the leader validated it against older state; keep the newer session
    entry.batches.push({ firstSequence: b.baseSequence, lastSequence: b.lastSequence, baseOffset, lastOffset });
    if (entry.batches.length > BATCHES_KEPT) entry.batches.shift();
  }

  /** Forgets every batch at or after `offset` (log truncation); producers left without batches are dropped. */
  truncateTo(offset: number): void {
    for (const [id, entry] of this.producers) {
      entry.batches = entry.batches.filter((b) => b.lastOffset < offset);
      if (entry.batches.length === 0) this.producers.delete(id);
    }
  }

  clear(): void {
    this.producers.clear();
  }

  /** A compact, deterministic encoding (JSON, producers by id). */
  snapshot(): Uint8Array {
    const rows = [...this.producers].sort((a, b) => a[0] - b[0]).map(([id, e]) => [id, e.epoch, e.batches.map((b) => [b.firstSequence, b.lastSequence, b.baseOffset, b.lastOffset])]);
    return new TextEncoder().encode(JSON.stringify(rows));
  }

  static restore(bytes: Uint8Array): ProducerStateTable {
    const table = new ProducerStateTable();
    const rows = JSON.parse(new TextDecoder().decode(bytes)) as Array<[number, number, Array<[number, number, number, number]>]>;
    for (const [id, epoch, batches] of rows) {
      table.producers.set(id, {
        epoch,
        batches: batches.map(([firstSequence, lastSequence, baseOffset, lastOffset]) => ({ firstSequence, lastSequence, baseOffset, lastOffset })),
      });
    }
    return table;
  }
}
