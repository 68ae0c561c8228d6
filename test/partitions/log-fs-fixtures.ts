/**
 * Shared fixtures of the log tests: a small virtual clock, a simulated disk on it, temporary real
 * directories, helpers to await rejections and settle promises, and a segment log configuration.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { settle, TestClock } from '../support/test-clock.js';
import { SeededRandom } from '../../src/util/random.js';
import { SimLogDisk, type LatencyRangeMs } from '../../sim/sim-log-fs.js';
import type { SegmentLogConfig } from '../../src/partitions/segment-log.js';

/** A segment log's configuration for tests: 1 MiB segments, no retention, flush=always. */
export const BASE_CONFIG: SegmentLogConfig = {
  segmentBytes: 1024 * 1024,
  segmentMs: 7 * 24 * 3600 * 1000,
  retentionMs: -1,
  retentionBytes: -1,
  flush: 'always',
  maxMessageBytes: 1024 * 1024,
};

export { settle, TestClock };


/** Whether `promise` has settled once pending reactions have run. */
export async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  promise.then(
    () => (done = true),
    () => (done = true),
  );
  await settle();
  return done;
}

export { rejection } from '../support/promises.js';

export interface SimDiskSetup {
  readonly clock: TestClock;
  readonly disk: SimLogDisk;
}

export interface SimLatency {
  readonly latencyMs: LatencyRangeMs;
  readonly syncLatencyMs: LatencyRangeMs;
}

/** A simulated disk on a virtual clock (by default auto-running; latencies 0..3 ms, syncs 1..5 ms). */
export function simDisk(seed = 1, auto = true, latency: SimLatency = { latencyMs: { min: 0, max: 3 }, syncLatencyMs: { min: 1, max: 5 } }): SimDiskSetup {
  const clock = new TestClock(auto);
  const disk = new SimLogDisk({ clock, random: new SeededRandom(seed), ...latency });
  return { clock, disk };
}

/** A fresh temporary directory and its removal. */
export async function tempDir(prefix: string): Promise<{ path: string; remove: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

export function bytesOf(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

export function textOf(bytes: Uint8Array | undefined): string | undefined {
  return bytes === undefined ? undefined : new TextDecoder().decode(bytes);
}
