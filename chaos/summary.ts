/**
 * The readable end of a chaos run: what ran, what struck, what the checker found, where the history
 * is, and the last line `chaos: F faults, A acknowledged, L lost, D duplicates, X anomalies` (X: every
 * anomaly other than lost writes and duplicates). Pure formatting.
 */
import type { CheckResult } from './check.js';
import { FAULT_KINDS } from './schedule.js';

export interface RunFacts {
  readonly seed: number;
  readonly durationS: number;
  readonly flush: string;
  readonly commit: string;
  readonly workload: string;
  readonly historyPath: string | undefined;
  readonly logsDir: string | undefined;
  readonly wallS: number;
}

const n = (x: number): string => x.toLocaleString('en-US');

export function lastLine(c: CheckResult): string {
  return `chaos: ${c.faults} faults, ${c.acknowledged} acknowledged, ${c.lost} lost, ${c.duplicates} duplicates, ${c.anomalies} anomalies`;
}

export function formatSummary(c: CheckResult, facts: RunFacts): string {
  const kinds = [...FAULT_KINDS, ...Object.keys(c.faultsByKind).filter((k) => !(FAULT_KINDS as readonly string[]).includes(k))];
  const byKind = kinds.map((k) => `${k} ${c.faultsByKind[k] ?? 0}`).join(', ');
  const lines = [
    `chaos run: seed ${facts.seed}, ${facts.durationS} s of faults, flush=${facts.flush}, commit ${facts.commit}, ${facts.wallS.toFixed(0)} s wall`,
    `workload: ${facts.workload}`,
    `faults: ${c.faults} (${byKind})`,
    `sends: ${n(c.acknowledged)} acknowledged, ${n(c.unknown)} unknown (${n(c.unknownPresent)} of them in the final logs), ${n(c.failed)} failed before sending`,
    `reads: ${n(c.reads)} records polled by the consumers; ${n(c.commits)} group commits acknowledged`,
    `final logs: ${n(c.finalRecords)} records read from the start after healing`,
  ];
  if (c.violations.length === 0) lines.push('checker: no anomalies (lost-write, duplicate, inconsistent-offsets, nonmonotonic-poll, precommitted-read, truncated read, double-owner, commit-backwards, poll-skip)');
  else {
    lines.push(`checker: ${c.violations.length} anomalies${c.violations.length > 30 ? ' (first 30)' : ''}:`);
    for (const v of c.violations.slice(0, 30)) lines.push(`  ${v}`);
    lines.push(`reproduce the schedule with: npm run chaos -- --duration ${facts.durationS} --seed ${facts.seed}`);
  }
  if (facts.historyPath !== undefined) lines.push(`history: ${facts.historyPath} (re-check with: npm run chaos -- --check ${facts.historyPath})`);
  if (facts.logsDir !== undefined) lines.push(`node logs: ${facts.logsDir}`);
  lines.push(lastLine(c));
  return lines.join('\n');
}
