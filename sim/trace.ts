/**
 * The simulator's trace: one line per notable event, prefixed with virtual time and node. It holds no
 * wall-clock figure, so the same seed gives the same trace byte for byte. Lines are only formatted
 * when tracing is on (replaying one seed); otherwise logging costs a function call.
 */
import { format } from 'node:util';
import type { Clock } from '../src/util/clock.js';
import type { LoggerFactory } from '../src/util/log.js';

export class Trace {
  readonly lines: string[] = [];

  constructor(
    private readonly clock: Clock,
    readonly enabled: boolean,
    private readonly linesMax = 2_000_000,
  ) {}

  /** Adds a line from the simulator itself. */
  event(formatString: string, ...args: unknown[]): void {
    if (!this.enabled || this.lines.length >= this.linesMax) return;
    this.lines.push(`${formatTime(this.clock.nowMs())} ${format(formatString, ...args)}`);
  }

  /** A logger factory for one simulated node: lines carry the time and the namespace. */
  loggersFor(): LoggerFactory {
    if (!this.enabled) return () => () => {};
    return (namespace) =>
      (formatString, ...args) => this.event(`${namespace.replace(/^skein:/, '')} ${formatString}`, ...args);
  }
}

/** Virtual milliseconds as `s.mmm`, fixed width so traces line up. */
export function formatTime(ms: number): string {
  return (ms / 1000).toFixed(3).padStart(9, ' ');
}
