/**
 * A history checker for the data plane in the manner of Jepsen's Kafka checker. Every record value in
 * a simulation is unique; the checker hears every produce outcome and every consumer read, and at the
 * end is given each partition's final log. Anomalies:
 * - lost-write: acknowledged with acks=all (or read by a consumer) but missing from the final log at
 *   its offset;
 * - inconsistent-offsets: one offset holding two values across committed observations (acks=all
 *   acknowledgements, consumer reads, final logs), or two replicas disagreeing below the HW;
 * - duplicate: a value of an idempotent producer in the final log twice (an unknown outcome may be
 *   present or absent, never twice);
 * - nonmonotonic-poll: a consumer's offsets on one partition not strictly increasing;
 * - precommitted or truncated read: a consumer read a value the final log does not hold there.
 * acks=1 and acks=0 writes may be lost by design (DESIGN.md §4): they are not checked for loss.
 */

export interface FinalRecord {
  readonly offset: number;
  readonly value: string;
}

export class DataChecker {
  /** partition -> offset -> value, from committed observations only. */
  private readonly committed = new Map<string, Map<number, string>>();
  private readonly ackedAll = new Map<string, { partition: string; offset: number }>();
  private readonly idempotentValues = new Set<string>();
  private readonly lastRead = new Map<string, number>();
  readonly counts = { ackedAll: 0, ackedOne: 0, unknown: 0, reads: 0 };

  constructor(
    private readonly violations: string[],
    private readonly nowMs: () => number,
  ) {}

  private fail(message: string): void {
    if (this.violations.length < 100) this.violations.push(`t=${this.nowMs()}ms ${message}`);
  }

  private observe(partition: string, offset: number, value: string, source: string): void {
    let offsets = this.committed.get(partition);
    if (offsets === undefined) {
      offsets = new Map();
      this.committed.set(partition, offsets);
    }
    const known = offsets.get(offset);
    if (known === undefined) offsets.set(offset, value);
    else if (known !== value) this.fail(`inconsistent-offsets: ${partition} offset ${offset} holds '${known}' and '${value}' (${source})`);
  }

  /** A produce was acknowledged: `values` at offsets `baseOffset`, `baseOffset + 1`, ... */
  onAcknowledged(partition: string, baseOffset: number, values: readonly string[], acks: number, idempotent: boolean): void {
    if (idempotent) for (const v of values) this.idempotentValues.add(v);
    if (acks !== -1) {
      this.counts.ackedOne += values.length;
      return;
    }
    values.forEach((v, i) => {
      this.counts.ackedAll++;
      this.ackedAll.set(v, { partition, offset: baseOffset + i });
      this.observe(partition, baseOffset + i, v, 'acks=all acknowledgement');
    });
  }

  /** A produce failed or timed out: its values may or may not be in the log. */
  onUnknown(values: readonly string[], idempotent: boolean): void {
    this.counts.unknown += values.length;
    if (idempotent) for (const v of values) this.idempotentValues.add(v);
  }

  onRead(consumer: string, partition: string, offset: number, value: string): void {
    this.counts.reads++;
    const k = `${consumer}/${partition}`;
    const last = this.lastRead.get(k);
    if (last !== undefined && offset <= last) this.fail(`nonmonotonic-poll: ${consumer} read ${partition} offset ${offset} after ${last}`);
    this.lastRead.set(k, offset);
    this.observe(partition, offset, value, `read by ${consumer}`);
  }

  /** A consumer starts over (it restarted, or seeks back): its next offsets may repeat. */
  onConsumerReset(consumer: string, partition: string): void {
    this.lastRead.delete(`${consumer}/${partition}`);
  }

  /** Two replicas' logs below the HW (called per pair by the simulation): the same offsets, the same values. */
  compareReplicas(partition: string, a: string, b: string, recordsA: readonly FinalRecord[], recordsB: readonly FinalRecord[], below: number): void {
    const mapA = new Map(recordsA.filter((r) => r.offset < below).map((r) => [r.offset, r.value]));
    const mapB = new Map(recordsB.filter((r) => r.offset < below).map((r) => [r.offset, r.value]));
    for (const [offset, value] of mapA) {
      const other = mapB.get(offset);
      if (other === undefined) this.fail(`inconsistent-offsets: replica ${b} of ${partition} lacks offset ${offset} below the HW ${below} that ${a} holds`);
      else if (other !== value) this.fail(`inconsistent-offsets: replicas ${a} and ${b} of ${partition} differ at offset ${offset} below the HW ${below}`);
    }
    for (const offset of mapB.keys()) {
      if (!mapA.has(offset)) this.fail(`inconsistent-offsets: replica ${a} of ${partition} lacks offset ${offset} below the HW ${below} that ${b} holds`);
    }
  }

  /** A replica's final log could not be read to its end (a read error, or no progress): damage left in a converged replica. */
  unreadableReplica(partition: string, replica: string, why: string): void {
    this.fail(`unreadable-replica: replica ${replica} of ${partition} cannot be read back after convergence: ${why}`);
  }

  /** A consumer was served a record at or above the HW its fetch answer carried. */
  onReadAboveHighWatermark(consumer: string, partition: string, offset: number, highWatermark: number): void {
    this.fail(`precommitted-read: ${consumer} read ${partition} offset ${offset} at or above the HW ${highWatermark} of that answer`);
  }

  /** The end: each partition's final committed log. */
  finalCheck(finalLogs: ReadonlyMap<string, readonly FinalRecord[]>): void {
    const where = new Map<string, number>();
    for (const [partition, records] of finalLogs) {
      for (const r of records) {
        this.observe(partition, r.offset, r.value, 'final log');
        if (this.idempotentValues.has(r.value)) {
          if (where.has(r.value)) this.fail(`duplicate: '${r.value}' of an idempotent producer at offsets ${where.get(r.value)} and ${r.offset} of ${partition}`);
          where.set(r.value, r.offset);
        }
      }
    }
    for (const [partition, offsets] of this.committed) {
      const final = new Map((finalLogs.get(partition) ?? []).map((r) => [r.offset, r.value]));
      for (const [offset, value] of offsets) {
        if (final.get(offset) !== value) {
          const acked = this.ackedAll.has(value);
          this.fail(`${acked ? 'lost-write' : 'truncated read'}: ${partition} offset ${offset} '${value}' ${acked ? 'was acknowledged (acks=all)' : 'was read by a consumer'} but the final log holds '${final.get(offset) ?? 'nothing'}'`);
        }
      }
    }
  }
}
