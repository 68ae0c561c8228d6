/**
 * Latency samples (ms) and their percentiles, plus the small statistics the benchmarks share
 * (median of repeated runs).
 *
 * Every sample is kept (a growable Float64Array): at 50,000 records/s for 10 s that is 4 MB, and exact
 * percentiles need no bucket-width caveat. `samplesMax` bounds memory; samples past it are counted in
 * `dropped` (and the summary says so) rather than silently ignored.
 */

export interface LatencySummary {
  readonly count: number;
  readonly dropped: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly p999Ms: number;
  readonly maxMs: number;
  readonly meanMs: number;
}

export class LatencyRecorder {
  private samples: Float64Array;
  private length = 0;
  private droppedCount = 0;

  constructor(private readonly samplesMax = 20_000_000) {
    this.samples = new Float64Array(Math.min(1 << 16, samplesMax));
  }

  record(ms: number): void {
    if (this.length >= this.samplesMax) {
      this.droppedCount++;
      return;
    }
    if (this.length === this.samples.length) {
      const grown = new Float64Array(Math.min(this.samplesMax, this.samples.length * 2));
      grown.set(this.samples);
      this.samples = grown;
    }
    this.samples[this.length++] = ms;
  }

  get count(): number {
    return this.length;
  }

  summary(): LatencySummary {
    const sorted = this.samples.slice(0, this.length).sort();
    let sum = 0;
    for (const v of sorted) sum += v;
    return {
      count: this.length,
      dropped: this.droppedCount,
      p50Ms: percentile(sorted, 0.5),
      p99Ms: percentile(sorted, 0.99),
      p999Ms: percentile(sorted, 0.999),
      maxMs: this.length === 0 ? Number.NaN : (sorted[this.length - 1] as number),
      meanMs: this.length === 0 ? Number.NaN : sum / this.length,
    };
  }
}

/** The nearest-rank percentile of ascending `sorted` (q in [0, 1]); NaN when empty. */
export function percentile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank] as number;
}

/** The median of `values` (the mean of the middle two for an even count); NaN when empty. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}
