/**
 * The fault schedule: which faults strike when, for how long, and whom they aim at — a pure function
 * of the seed, the duration and the enabled kinds, drawn from the simulator's PRNG (SeededRandom,
 * src/util/random.ts). Same seed, same schedule. Which node a target *selector* ("the controller
 * leader", "the leader of partition 2") resolves to is decided at run time from the live cluster, so
 * the nodes hit may differ between two runs of one seed; the kinds, times, durations and selectors do
 * not.
 *
 * Layout: two lanes run side by side over the fault phase. Lane "process" takes the kill and pause
 * faults, lane "network" the partition, one-way and slow faults; within a lane faults never overlap, so
 * at most one node is down or paused at a time, and at most one network fault is in force (but a
 * network fault may hit while a node is down). Each enabled kind gets the same number of faults:
 * one per `secondsPerFault` of the phase (at least one), shuffled within its lane, with gaps stretched
 * or squeezed to fill the phase.
 */
import { SeededRandom } from '../src/util/random.js';

export const FAULT_KINDS = ['kill', 'pause', 'partition', 'one-way', 'slow'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

const PROCESS_KINDS: readonly FaultKind[] = ['kill', 'pause'];

/** Whom a fault aims at; resolved against the live cluster when the fault starts. */
export type TargetSelector = { readonly kind: 'controller-leader' } | { readonly kind: 'partition-leader'; readonly partition: number } | { readonly kind: 'node'; readonly node: number } | { readonly kind: 'all' };

export interface PlannedFault {
  readonly kind: FaultKind;
  /** From the start of the fault phase. */
  readonly atMs: number;
  readonly durationMs: number;
  readonly target: TargetSelector;
  /** partition: blackhole (packets dropped) or cut (connections reset). */
  readonly partitionStyle?: 'blackhole' | 'cut';
  /** one-way: `out` — the target cannot reach the others; `in` — the others cannot reach it. */
  readonly direction?: 'in' | 'out';
  /** slow: added latency per chunk and its jitter. */
  readonly delayMs?: number;
  readonly jitterMs?: number;
}

export interface ScheduleOptions {
  readonly seed: number;
  readonly durationMs: number;
  readonly kinds: readonly FaultKind[];
  readonly nodes: number;
  readonly partitions: number;
  /** Timing of the cluster, so a pause outlasts the broker session; default 2000. */
  readonly sessionTimeoutMs?: number;
  /** Default 12: a 120 s run gets 10 faults of each kind. */
  readonly secondsPerFault?: number;
}

/** Duration of one fault of `kind` in ms (before gaps). */
function durationOf(kind: FaultKind, random: SeededRandom, sessionTimeoutMs: number): number {
  switch (kind) {
    case 'kill':
      return 1000 + random.int(3000); // down this long, then restarted
    case 'pause':
      return Math.round(sessionTimeoutMs * 1.25) + random.int(2000); // longer than the session timeout
    case 'partition':
    case 'one-way':
      return 1500 + random.int(3500);
    case 'slow':
      return 2000 + random.int(3000);
  }
}

function targetOf(kind: FaultKind, random: SeededRandom, o: ScheduleOptions): TargetSelector {
  if (kind === 'slow' && random.int(3) === 0) return { kind: 'all' };
  const r = random.int(3);
  if (r === 0) return { kind: 'controller-leader' };
  if (r === 1) return { kind: 'partition-leader', partition: random.int(o.partitions) };
  return { kind: 'node', node: 1 + random.int(o.nodes) };
}

function shuffle<T>(items: T[], random: SeededRandom): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = random.int(i + 1);
    [items[i], items[j]] = [items[j] as T, items[i] as T];
  }
  return items;
}

/** The schedule, sorted by start time. */
export function planSchedule(o: ScheduleOptions): PlannedFault[] {
  const random = new SeededRandom(o.seed ^ 0xc4a05);
  const sessionTimeoutMs = o.sessionTimeoutMs ?? 2000;
  const perKind = Math.max(1, Math.floor(o.durationMs / 1000 / (o.secondsPerFault ?? 12)));
  const out: PlannedFault[] = [];
  for (const lane of [PROCESS_KINDS, FAULT_KINDS.filter((k) => !PROCESS_KINDS.includes(k))]) {
    const laneRandom = random.fork();
    const kinds = shuffle(
      lane.filter((k) => o.kinds.includes(k)).flatMap((k) => Array.from({ length: perKind }, () => k)),
      laneRandom,
    );
    if (kinds.length === 0) continue;
    const faults = kinds.map((kind) => {
      const durationMs = durationOf(kind, laneRandom, sessionTimeoutMs);
      const target = targetOf(kind, laneRandom, o);
      const extra =
        kind === 'partition'
          ? { partitionStyle: laneRandom.int(3) === 0 ? ('cut' as const) : ('blackhole' as const) }
          : kind === 'one-way'
            ? { direction: laneRandom.int(2) === 0 ? ('in' as const) : ('out' as const) }
            : kind === 'slow'
              ? { delayMs: 20 + laneRandom.int(280), jitterMs: laneRandom.int(50) }
              : {};
      return { kind, durationMs, target, ...extra };
    });
    // Spread: the gaps share what the faults leave of the phase, each weighted by a random factor.
    const busyMs = faults.reduce((sum, f) => sum + f.durationMs, 0);
    const weights = faults.map(() => 0.5 + laneRandom.float());
    const weightSum = weights.reduce((a, b) => a + b, 0);
    const freeMs = Math.max(faults.length * 300, o.durationMs - busyMs);
    let atMs = 0;
    faults.forEach((f, i) => {
      atMs += Math.round((freeMs * (weights[i] as number)) / weightSum);
      out.push({ ...f, atMs });
      atMs += f.durationMs;
    });
  }
  return out.sort((a, b) => a.atMs - b.atMs || a.kind.localeCompare(b.kind));
}

/** "kill controller-leader for 2.3 s" */
export function describeFault(f: PlannedFault): string {
  const target = f.target.kind === 'node' ? `node ${f.target.node}` : f.target.kind === 'partition-leader' ? `leader of partition ${f.target.partition}` : f.target.kind === 'all' ? 'every link' : 'the controller leader';
  const how = f.kind === 'partition' ? ` (${f.partitionStyle})` : f.kind === 'one-way' ? ` (${f.direction === 'out' ? 'it cannot reach the others' : 'the others cannot reach it'})` : f.kind === 'slow' ? ` (+${f.delayMs}±${f.jitterMs} ms)` : '';
  return `${f.kind} ${target}${how} for ${(f.durationMs / 1000).toFixed(1)} s`;
}
