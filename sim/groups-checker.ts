/**
 * A history checker for consumer groups (issue 6). The simulated members (groups-workload.ts) report
 * what they themselves believe and do; the checker never looks inside the coordinator. Anomalies:
 *
 * - double-owner: two members reading one partition at the same time. A member "owns" (reads) a
 *   partition from when it starts reading it (after the coordinator assigned it and it fetched the
 *   committed offset) until it stops: revoked, fenced, crashed, or its lease lapsed. The lease: a
 *   member that had no heartbeat answered within its session timeout (measured from the heartbeat's
 *   send) stops reading — the coordinator may have expired it since — so its ownership ends at the
 *   lease's end even when it only notices later (a paused process). Checked over the whole history
 *   at the end, interval against interval.
 * - commit-backwards: an offset commit acknowledged to a member lower than one acknowledged before
 *   the commit was sent, or an offset fetch that returns less than what was acknowledged before the
 *   fetch was sent (an acknowledged commit may never be lost or overtaken), or the final committed
 *   offset below the last acknowledged one. Exception: a member that rewinds on purpose (`seek`)
 *   reports it with `onRewind` and the partition's baseline restarts; the workload never does.
 * - poll-skip: a member that starts reading at committed offset C must then read C, C+1, ... with no
 *   gap (the topic is neither compacted nor transactional, so its offsets are contiguous); and at the
 *   end every offset below the final committed offset was read by some member.
 */

interface Ownership {
  readonly member: string;
  readonly partition: number;
  readonly fromMs: number;
  untilMs: number | undefined;
  /** The next offset this reading session must read. */
  next: number;
}

export class GroupsChecker {
  private readonly owners: Ownership[] = [];
  private readonly open = new Map<string, Ownership>();
  /** partition -> highest commit acknowledged, and when. */
  private readonly acked = new Map<number, { offset: number; atMs: number }>();
  private readonly ackedHistory = new Map<number, Array<{ offset: number; atMs: number }>>();
  private readonly read = new Map<number, Set<number>>();
  readonly counts = { sessions: 0, reads: 0, commitsAcked: 0, fetches: 0 };

  constructor(
    private readonly violations: string[],
    private readonly nowMs: () => number,
  ) {}

  private fail(message: string): void {
    if (this.violations.length < 100) this.violations.push(`t=${this.nowMs()}ms ${message}`);
  }

  /** `member` starts reading `partition` at `offset` (the committed offset, or the earliest). */
  onStartReading(member: string, partition: number, offset: number): void {
    const key = `${member}/${partition}`;
    if (this.open.has(key)) this.fail(`workload bug: ${member} starts reading p${partition} twice`);
    const o: Ownership = { member, partition, fromMs: this.nowMs(), untilMs: undefined, next: offset };
    this.open.set(key, o);
    this.owners.push(o);
    this.counts.sessions++;
  }

  /** `member` stopped reading `partition`; `atMs` (default now) is when its right to read ended. */
  onStopReading(member: string, partition: number, atMs = this.nowMs()): void {
    const key = `${member}/${partition}`;
    const o = this.open.get(key);
    if (o === undefined) return;
    o.untilMs = Math.max(o.fromMs, atMs);
    this.open.delete(key);
  }

  /** `member` processed the record at `offset` of `partition`. */
  onRead(member: string, partition: number, offset: number): void {
    this.counts.reads++;
    const o = this.open.get(`${member}/${partition}`);
    if (o === undefined) {
      this.fail(`double-owner: ${member} read p${partition} offset ${offset} while not owning it`);
      return;
    }
    if (offset !== o.next) this.fail(`poll-skip: ${member} read p${partition} offset ${offset}, expected ${o.next} (${offset > o.next ? `offsets ${o.next}..${offset - 1} skipped` : 'went back'})`);
    o.next = Math.max(o.next, offset + 1);
    let offsets = this.read.get(partition);
    if (offsets === undefined) this.read.set(partition, (offsets = new Set()));
    offsets.add(offset);
  }

  /**
   * A commit of `offset` for `partition`, sent at `sentAtMs`, was acknowledged to `member`. Compared
   * with what was acknowledged before it was sent: the order acknowledgements are *processed* in is
   * not the order commits took effect (a paused member handles an answer seconds late).
   */
  onCommitAcknowledged(member: string, partition: number, offset: number, sentAtMs: number): void {
    this.counts.commitsAcked++;
    const before = this.ackedBefore(partition, sentAtMs);
    if (before !== undefined && offset < before.offset) this.fail(`commit-backwards: ${member} had ${offset} acknowledged for p${partition} (sent at t=${sentAtMs}ms) after ${before.offset} was acknowledged at t=${before.atMs}ms`);
    const last = this.acked.get(partition);
    if (last === undefined || offset >= last.offset) this.acked.set(partition, { offset, atMs: this.nowMs() });
    let h = this.ackedHistory.get(partition);
    if (h === undefined) this.ackedHistory.set(partition, (h = []));
    h.push({ offset, atMs: this.nowMs() });
  }

  /** The highest commit of `partition` acknowledged strictly before `ms`. */
  private ackedBefore(partition: number, ms: number): { offset: number; atMs: number } | undefined {
    let best: { offset: number; atMs: number } | undefined;
    for (const a of this.ackedHistory.get(partition) ?? []) if (a.atMs < ms && (best === undefined || a.offset > best.offset)) best = a;
    return best;
  }

  /** An offset fetch sent at `sentAtMs` returned `offset` (-1: none) for `partition`. */
  onFetched(who: string, partition: number, offset: number, sentAtMs: number): void {
    this.counts.fetches++;
    const before = this.ackedBefore(partition, sentAtMs)?.offset ?? -1;
    if (offset < before) this.fail(`commit-backwards: ${who} fetched ${offset} for p${partition}, but ${before} was acknowledged before the fetch was sent (t=${sentAtMs}ms)`);
  }

  /** A deliberate rewind (seek backwards) of `partition`: its commits may go back from here. */
  onRewind(partition: number): void {
    this.acked.delete(partition);
    this.ackedHistory.delete(partition);
  }

  /** The end: each partition's final committed offset (-1: none). Also checks ownership overlaps. */
  finalCheck(finalCommitted: ReadonlyMap<number, number>): void {
    const now = this.nowMs();
    for (const [partition, final] of finalCommitted) {
      const last = this.acked.get(partition);
      if (last !== undefined && final < last.offset) this.fail(`commit-backwards: final committed offset of p${partition} is ${final}, below ${last.offset} acknowledged at t=${last.atMs}ms`);
      const offsets = this.read.get(partition) ?? new Set<number>();
      const missed: number[] = [];
      for (let o = 0; o < final; o++) if (!offsets.has(o)) missed.push(o);
      if (missed.length > 0) this.fail(`poll-skip: p${partition} committed up to ${final} but offsets ${missed.slice(0, 10).join(', ')}${missed.length > 10 ? ', ...' : ''} (${missed.length}) were never read by any member`);
    }
    const byPartition = new Map<number, Ownership[]>();
    for (const o of this.owners) {
      let list = byPartition.get(o.partition);
      if (list === undefined) byPartition.set(o.partition, (list = []));
      list.push(o);
    }
    for (const [partition, list] of byPartition) {
      const sorted = [...list].sort((a, b) => a.fromMs - b.fromMs);
      let latest: Ownership | undefined;
      for (const o of sorted) {
        if (latest !== undefined && latest.member !== o.member && o.fromMs < (latest.untilMs ?? now)) {
          this.fail(`double-owner: p${partition} read by ${latest.member} (t=${latest.fromMs}..${latest.untilMs ?? 'end'}ms) and ${o.member} (from t=${o.fromMs}ms) at once`);
        }
        if (latest === undefined || (o.untilMs ?? now) >= (latest.untilMs ?? now)) latest = o;
      }
    }
  }
}
