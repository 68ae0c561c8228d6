/**
 * A broker's source of producer ids for idempotent producers (Kafka's ProducerIdManager, KIP-730):
 * the controller hands out disjoint blocks through the metadata log (`allocate-producer-ids`), and the
 * broker gives ids out of its current block, one per InitProducerId request.
 *
 * Invariants:
 * - An id is handed out at most once cluster-wide: blocks are disjoint (the controller's image
 *   guarantees it) and within a block `next` only grows. A block is never reused after a restart (a
 *   new process asks for a new block).
 * - At most one block request is in flight; concurrent callers wait for it. A failed block request
 *   fails those callers with its ErrorResult (the client retries) and leaves nothing half-taken.
 * - Fresh ids start at producer epoch 0 (no transactions, so epochs are never bumped here).
 */
import { assert } from '../util/assert.js';
import type { ErrorResult } from './errors.js';
import type { AllocateProducerIdsResponse } from './rpc.js';

export interface ProducerIdentity {
  readonly producerId: number;
  readonly producerEpoch: number;
}

export class ProducerIdAllocator {
  private next = 0;
  private end = 0;
  private refill: Promise<ErrorResult | undefined> | undefined;

  /** `allocateBlock` asks the active controller for a block (rejects on a network failure). */
  constructor(private readonly allocateBlock: () => Promise<AllocateProducerIdsResponse>) {}

  /** A new producer id, or the controller's error (retriable ones: try again later). Rejects on a network failure. */
  async take(): Promise<ProducerIdentity | ErrorResult> {
    for (;;) {
      if (this.next < this.end) return { producerId: this.next++, producerEpoch: 0 };
      this.refill ??= this.fetchBlock().finally(() => (this.refill = undefined));
      const failed = await this.refill;
      if (failed !== undefined) return failed;
    }
  }

  private async fetchBlock(): Promise<ErrorResult | undefined> {
    const answer = await this.allocateBlock();
    if ('error' in answer) return answer;
    assert(answer.count > 0, `an empty producer-id block at ${answer.firstProducerId}`);
    this.next = answer.firstProducerId;
    this.end = answer.firstProducerId + answer.count;
    return undefined;
  }
}
