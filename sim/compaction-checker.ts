/**
 * The history checker of compacted topics (src/partitions/log-cleaner.ts), beside the data checker
 * (data-checker.ts), whose "every acknowledged write stays at its offset" does not hold once compaction
 * removes superseded records. Every write carries a unique id (a record header), so tombstones — whose
 * value is null — are told apart too. The checker hears every produce outcome and consumer read, and at
 * the end gets each replica's final log (below its HW) and the leader's. Anomalies:
 * - inconsistent-offsets: one offset holding two writes across committed observations (acks=all
 *   acknowledgements, consumer reads, the final log); a write found under another key or partition,
 *   or as a tombstone when it was a value (or back), or an unknown write;
 * - duplicate: one write of an idempotent producer at two offsets of a log, or found at another offset
 *   than the one it was acknowledged at (a plain producer's batch may land twice when the network
 *   duplicates its request: not an anomaly);
 * - lost-latest: a key whose latest acks=all write is at offset A, while the final log's latest record
 *   of that key lies below A — or the key is missing although its last write there was no tombstone
 *   (a tombstone may go after delete.retention.ms);
 * - nonmonotonic-poll: a consumer's offsets on one partition not strictly increasing;
 * - replicas-disagree: two replicas whose latest record of a key below the HW differ (one may lack the
 *   key only where the other's latest is a tombstone).
 * acks=1 writes may be lost by design and are not checked for loss.
 */

export interface CompactedRecord {
  readonly offset: number;
  /** null: a record without a key (the workload writes none). */
  readonly key: string | null;
  /** The write's id (the record's `w` header), or '' if it has none. */
  readonly writeId: string;
  readonly tombstone: boolean;
}

interface Write {
  readonly partition: string;
  readonly key: string;
  readonly tombstone: boolean;
  readonly idempotent: boolean;
  acks: 'all' | 'one' | 'unknown';
  offset: number | undefined;
}

export interface WriteSpec {
  readonly id: string;
  readonly key: string;
  readonly tombstone: boolean;
}

export class CompactionChecker {
  private readonly writes = new Map<string, Write>();
  private readonly lastRead = new Map<string, number>();
  /** partition -> offset -> write id, from committed observations (acks=all, consumer reads). */
  private readonly committed = new Map<string, Map<number, string>>();
  readonly counts = { ackedAll: 0, ackedOne: 0, unknown: 0, tombstones: 0, reads: 0 };

  constructor(
    private readonly violations: string[],
    private readonly nowMs: () => number,
  ) {}

  private fail(message: string): void {
    if (this.violations.length < 100) this.violations.push(`t=${this.nowMs()}ms ${message}`);
  }

  private observe(partition: string, offset: number, id: string, source: string): void {
    let offsets = this.committed.get(partition);
    if (offsets === undefined) this.committed.set(partition, (offsets = new Map()));
    const known = offsets.get(offset);
    if (known === undefined) offsets.set(offset, id);
    else if (known !== id) this.fail(`inconsistent-offsets: ${partition} offset ${offset} holds '${known}' and '${id}' (${source})`);
  }

  /** Writes about to be sent to `partition` (before any outcome). */
  onSent(partition: string, writes: readonly WriteSpec[], idempotent: boolean): void {
    for (const w of writes) {
      this.writes.set(w.id, { partition, key: w.key, tombstone: w.tombstone, idempotent, acks: 'unknown', offset: undefined });
      if (w.tombstone) this.counts.tombstones++;
    }
  }

  /** A produce was acknowledged: the writes are at baseOffset, baseOffset + 1, ... */
  onAcknowledged(baseOffset: number, ids: readonly string[], acks: number): void {
    ids.forEach((id, i) => {
      const w = this.writes.get(id);
      if (w === undefined) return;
      w.acks = acks === -1 ? 'all' : 'one';
      w.offset = baseOffset + i;
      if (acks === -1) {
        this.counts.ackedAll++;
        this.observe(w.partition, baseOffset + i, id, 'acks=all acknowledgement');
      } else this.counts.ackedOne++;
    });
  }

  onUnknown(ids: readonly string[]): void {
    this.counts.unknown += ids.length;
  }

  /** A record found at `offset` of `partition` (`source` says where): checks it against its write. */
  private checkRecord(partition: string, r: CompactedRecord, source: string): void {
    const w = this.writes.get(r.writeId);
    if (w === undefined) {
      this.fail(`inconsistent-offsets: ${source} holds an unknown write '${r.writeId}' at ${partition}/${r.offset}`);
      return;
    }
    if (w.partition !== partition || w.key !== r.key || w.tombstone !== r.tombstone) {
      this.fail(`inconsistent-offsets: ${source} holds write '${r.writeId}' at ${partition}/${r.offset} as key ${String(r.key)}${r.tombstone ? ' (tombstone)' : ''}; it was written to ${w.partition} as key ${w.key}${w.tombstone ? ' (tombstone)' : ''}`);
    }
    if (w.idempotent && w.offset !== undefined && w.offset !== r.offset) {
      this.fail(`duplicate: write '${r.writeId}' of an idempotent producer was acknowledged at ${partition}/${w.offset} but ${source} holds it at ${r.offset}`);
    }
  }

  onRead(consumer: string, partition: string, r: CompactedRecord): void {
    this.counts.reads++;
    const k = `${consumer}/${partition}`;
    const last = this.lastRead.get(k);
    if (last !== undefined && r.offset <= last) this.fail(`nonmonotonic-poll: ${consumer} read ${partition} offset ${r.offset} after ${last}`);
    this.lastRead.set(k, r.offset);
    this.checkRecord(partition, r, `a read by ${consumer}`);
    this.observe(partition, r.offset, r.writeId, `read by ${consumer}`);
  }

  /** A consumer starts over (it restarted): its next offsets may repeat. */
  onConsumerReset(consumer: string, partition: string): void {
    this.lastRead.delete(`${consumer}/${partition}`);
  }

  /** Two replicas' logs below the HW: the same latest record per key (see the module header). */
  compareReplicas(partition: string, a: string, b: string, recordsA: readonly CompactedRecord[], recordsB: readonly CompactedRecord[], below: number): void {
    const latestA = latestByKey(recordsA.filter((r) => r.offset < below));
    const latestB = latestByKey(recordsB.filter((r) => r.offset < below));
    for (const key of new Set([...latestA.keys(), ...latestB.keys()])) {
      const ra = latestA.get(key);
      const rb = latestB.get(key);
      if (ra !== undefined && rb !== undefined && ra.offset === rb.offset && ra.writeId === rb.writeId) continue;
      if (ra === undefined && rb?.tombstone === true) continue;
      if (rb === undefined && ra?.tombstone === true) continue;
      this.fail(`replicas-disagree: below the HW ${below} of ${partition}, the latest record of ${key} is ${describe(ra)} on ${a} and ${describe(rb)} on ${b}`);
    }
  }

  /** The end: each partition's final log (the leader's, below its HW = log end after convergence). */
  finalCheck(finalLogs: ReadonlyMap<string, readonly CompactedRecord[]>): void {
    for (const [partition, records] of finalLogs) {
      const seen = new Map<string, number>();
      let previous = -1;
      for (const r of records) {
        if (r.offset <= previous) this.fail(`moved-offset: the final log of ${partition} holds offset ${r.offset} after ${previous}`);
        previous = r.offset;
        this.checkRecord(partition, r, 'the final log');
        // An offset compacted away since it was observed is fine; another write there is not.
        this.observe(partition, r.offset, r.writeId, 'final log');
        const at = seen.get(r.writeId);
        if (at !== undefined && this.writes.get(r.writeId)?.idempotent === true) this.fail(`duplicate: write '${r.writeId}' of an idempotent producer at offsets ${at} and ${r.offset} of ${partition}`);
        seen.set(r.writeId, r.offset);
      }
      this.checkLatest(partition, latestByKey(records));
    }
  }

  private checkLatest(partition: string, latest: ReadonlyMap<string, CompactedRecord>): void {
    const lastAcked = new Map<string, { id: string; offset: number; tombstone: boolean }>();
    /** Tombstones not acknowledged with acks=all, by key: their offsets (undefined: unknown outcome). */
    const otherTombstones = new Map<string, Array<number | undefined>>();
    for (const [id, w] of this.writes) {
      if (w.partition !== partition) continue;
      if (w.acks === 'all' && w.offset !== undefined) {
        const known = lastAcked.get(w.key);
        if (known === undefined || w.offset > known.offset) lastAcked.set(w.key, { id, offset: w.offset, tombstone: w.tombstone });
      } else if (w.tombstone) {
        const offsets = otherTombstones.get(w.key) ?? [];
        offsets.push(w.offset);
        otherTombstones.set(w.key, offsets);
      }
    }
    for (const [key, acked] of lastAcked) {
      const found = latest.get(key);
      if (found === undefined) {
        // Gone is right only if the key's last write may have been a tombstone (since expired).
        const laterTombstone = (otherTombstones.get(key) ?? []).some((offset) => offset === undefined || offset > acked.offset);
        if (acked.tombstone || laterTombstone) continue;
        this.fail(`lost-latest: ${partition} key ${key} was last written with acks=all at offset ${acked.offset} ('${acked.id}') but the final log has no record of it`);
      } else if (found.offset < acked.offset) {
        this.fail(`lost-latest: ${partition} key ${key} was written with acks=all at offset ${acked.offset} ('${acked.id}') but the final log's latest record of it is '${found.writeId}' at ${found.offset}`);
      }
    }
  }
}

function latestByKey(records: readonly CompactedRecord[]): Map<string, CompactedRecord> {
  const latest = new Map<string, CompactedRecord>();
  for (const r of records) if (r.key !== null) latest.set(r.key, r);
  return latest;
}

function describe(r: CompactedRecord | undefined): string {
  return r === undefined ? 'absent' : `'${r.writeId}' at ${r.offset}${r.tombstone ? ' (tombstone)' : ''}`;
}
