/**
 * Checks a chaos history with the simulator's own checkers: the history is replayed, event by event,
 * into sim/data-checker.ts (lost-write, inconsistent-offsets, duplicate, nonmonotonic-poll,
 * precommitted-read, truncated read) and sim/groups-checker.ts (double-owner, commit-backwards,
 * poll-skip) — the same classes, the same rules as in `npm run sim`.
 *
 * Mapping: an acknowledged send is an acks=all acknowledgement of an idempotent producer; a send that
 * failed or whose outcome is unknown is an unknown outcome (it may be in the log, but never twice); a
 * send still in flight at the end is unknown too. A poll is a consumer read (and, for group members, a
 * group read); a record served at or above the high watermark of its fetch answer is a
 * precommitted read. The final logs are the partitions read from the start after healing.
 *
 * Pure: no I/O. Also counts, independently of the checkers' capped violation lists, how many
 * acknowledged records are missing from the final logs and how many values appear twice.
 */
import { DataChecker, type FinalRecord } from '../sim/data-checker.js';
import { GroupsChecker } from '../sim/groups-checker.js';
import type { HistoryEvent } from './history.js';

export interface CheckResult {
  /** Every violation the checkers reported (each checker keeps at most 100), plus the run's own anomalies. */
  readonly violations: string[];
  readonly faults: number;
  readonly faultsByKind: Record<string, number>;
  readonly acknowledged: number;
  readonly unknown: number;
  /** Unknown outcomes found in the final logs. */
  readonly unknownPresent: number;
  readonly failed: number;
  readonly reads: number;
  readonly commits: number;
  /** Acknowledged records not at their offset in the final logs. */
  readonly lost: number;
  /** Values present more than once in the final logs. */
  readonly duplicates: number;
  /** Violations other than lost writes and duplicates. */
  readonly anomalies: number;
  readonly finalRecords: number;
}

export function checkHistory(events: readonly HistoryEvent[]): CheckResult {
  let now = 0;
  const violations: string[] = [];
  const groupViolations: string[] = [];
  const data = new DataChecker(violations, () => now);
  const groups = new GroupsChecker(groupViolations, () => now);
  const pending = new Map<string, { partition: number }>();
  const acked = new Map<string, { partition: number; offset: number }>();
  const unknown = new Set<string>();
  const finalLogs = new Map<string, FinalRecord[]>();
  const finalCommitted = new Map<number, number>();
  const faultsByKind: Record<string, number> = {};
  const own: string[] = [];
  let failed = 0;
  let reads = 0;
  let commits = 0;
  let groupEvents = false;

  for (const e of events) {
    now = e.t;
    switch (e.f) {
      case 'send':
        if (e.type === 'invoke') pending.set(e.value, { partition: e.partition });
        else {
          pending.delete(e.value);
          if (e.type === 'ok') {
            if (e.offset === undefined) own.push(`history: acknowledged send of '${e.value}' without an offset`);
            else {
              acked.set(e.value, { partition: e.partition, offset: e.offset });
              data.onAcknowledged(`${e.partition}`, e.offset, [e.value], -1, true);
            }
          } else {
            if (e.type === 'fail') failed++;
            unknown.add(e.value);
            data.onUnknown([e.value], true);
          }
        }
        break;
      case 'poll':
        reads++;
        if (e.offset >= e.hw) data.onReadAboveHighWatermark(e.process, `${e.partition}`, e.offset, e.hw);
        data.onRead(e.process, `${e.partition}`, e.offset, e.value);
        if (e.process.startsWith('g')) groups.onRead(e.process, e.partition, e.offset);
        break;
      case 'reset':
        data.onConsumerReset(e.process, `${e.partition}`);
        break;
      case 'assign':
        groupEvents = true;
        data.onConsumerReset(e.process, `${e.partition}`);
        groups.onStartReading(e.process, e.partition, e.offset);
        break;
      case 'revoke':
      case 'lost':
        groups.onStopReading(e.process, e.partition);
        break;
      case 'commit':
        if (e.type === 'ok') {
          commits++;
          groups.onCommitAcknowledged(e.process, e.partition, e.offset, e.sentAt ?? e.t);
        }
        break;
      case 'fault':
        if (e.type === 'start') faultsByKind[e.kind] = (faultsByKind[e.kind] ?? 0) + 1;
        break;
      case 'final':
        finalLogs.set(
          `${e.partition}`,
          e.records.map(([offset, value]) => ({ offset, value })),
        );
        break;
      case 'final-commit':
        finalCommitted.set(e.partition, e.offset);
        break;
      case 'anomaly':
        own.push(e.message);
        break;
    }
  }
  for (const value of pending.keys()) {
    unknown.add(value);
    data.onUnknown([value], true);
  }
  if (finalLogs.size === 0) own.push('no final logs: the run ended before the final read');
  else data.finalCheck(finalLogs);
  if (groupEvents) groups.finalCheck(finalCommitted);

  // Independent counts (the checkers cap their lists).
  const where = new Map<string, string>();
  let duplicates = 0;
  let finalRecords = 0;
  for (const [partition, records] of finalLogs) {
    for (const r of records) {
      finalRecords++;
      if (where.has(r.value)) duplicates++;
      where.set(r.value, `${partition}/${r.offset}`);
    }
  }
  let lost = 0;
  for (const [value, at] of acked) if (where.get(value) !== `${at.partition}/${at.offset}` && finalLogs.size > 0) lost++;
  let unknownPresent = 0;
  for (const value of unknown) if (where.has(value)) unknownPresent++;

  const all = [...own, ...violations, ...groupViolations];
  const lostOrDup = all.filter((v) => /\b(lost-write|duplicate):/.test(v)).length;
  return {
    violations: all,
    faults: Object.values(faultsByKind).reduce((a, b) => a + b, 0),
    faultsByKind,
    acknowledged: acked.size,
    unknown: unknown.size,
    unknownPresent,
    failed,
    reads,
    commits,
    lost,
    duplicates,
    anomalies: all.length - lostOrDup,
    finalRecords,
  };
}
